"""FAISS dense index: exact flat search on real e5 vectors, HNSW above the threshold."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from qa.embed import EmbeddingCache, embed_with_cache
from qa.index import DenseIndex, IndexStore


@pytest.fixture(scope="module")
def real(built, e5, shared_cache):  # noqa: ANN001, ANN201
    """Chunks of the built test corpus and their e5 vectors (from the shared cache: nothing re-embedded)."""
    store = IndexStore.load(built.settings.index_dir)
    with EmbeddingCache(shared_cache) as cache:
        vecs, computed = embed_with_cache(e5, [c.embed_text() for c in store.chunks], cache)
    assert computed == 0
    return store.chunks, vecs


def test_flat_literal_query_and_exactness(real, e5) -> None:  # noqa: ANN001
    chunks, vecs = real
    dense = DenseIndex().index(vecs)
    assert dense.kind == "flat" and dense.size == len(chunks) and dense.dim == 384
    q = e5.embed_query_vec("骗取专项扶持资金的项目单位会受到什么处理？")
    ids, scores = dense.retrieve(q, k=3)
    assert "第七条" in [chunks[i].locator for i in ids], [chunks[i].locator for i in ids]
    # exact: identical to a brute-force scan
    brute = np.argsort(-(vecs @ q), kind="stable")[:3]
    assert np.array_equal(ids, brute) and np.allclose(scores, (vecs @ q)[brute], atol=1e-5)


def test_flat_filtered_search_is_exact(real, e5) -> None:  # noqa: ANN001
    chunks, vecs = real
    dense = DenseIndex().index(vecs)
    q = e5.embed_query_vec("移民人口核减条件")
    doc_b = chunks[-1].doc_id
    mask = np.array([c.doc_id != doc_b for c in chunks])  # only the other document
    ids, scores = dense.retrieve(q, k=5, allowed=mask)
    assert len(ids) == 5 and mask[ids].all()
    allowed = np.flatnonzero(mask)
    brute = allowed[np.argsort(-(vecs[allowed] @ q), kind="stable")[:5]]
    assert np.array_equal(ids, brute)
    ids2, _ = dense.retrieve(q, k=5, allowed=allowed)  # id subset form
    assert np.array_equal(ids, ids2)
    few = allowed[:2]
    assert set(dense.retrieve(q, k=10, allowed=few)[0]) == set(few)  # k larger than the subset
    assert dense.retrieve(q, k=5, allowed=np.zeros(len(chunks), dtype=bool))[0].size == 0


def test_flat_save_load_roundtrip(real, e5, tmp_path: Path) -> None:  # noqa: ANN001
    _, vecs = real
    dense = DenseIndex().index(vecs)
    dense.save(tmp_path)
    loaded = DenseIndex.load(tmp_path)
    assert loaded.kind == "flat" and loaded.size == dense.size
    for text in ["资金拨付程序", "公示时间不少于几天", "本办法由哪个部门解释"]:
        q = e5.embed_query_vec(text)
        a, sa = dense.retrieve(q, k=5)
        b, sb = loaded.retrieve(q, k=5)
        assert np.array_equal(a, b) and np.array_equal(sa, sb)
    with pytest.raises(ValueError):
        dense.retrieve(np.ones(10, dtype=np.float32), k=3)


def _clustered(n: int, d: int, centers: int, seed: int) -> np.ndarray:
    """Normalised vectors around fixed random centres (topics): closer to real embeddings than uniform noise."""
    c = np.random.default_rng(0).standard_normal((centers, d)).astype(np.float32)  # shared by corpus and queries
    rng = np.random.default_rng(seed)
    x = c[rng.integers(0, centers, n)] + 0.6 * rng.standard_normal((n, d)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def test_hnsw_above_threshold_recall(tmp_path: Path) -> None:
    x = _clustered(10_000, 64, 100, seed=1)
    queries = _clustered(200, 64, 100, seed=2)
    flat = DenseIndex().index(x)  # default threshold 200k: exact
    hnsw = DenseIndex(hnsw_threshold=5_000).index(x)  # default HNSW parameters otherwise
    assert flat.kind == "flat" and hnsw.kind == "hnsw"
    assert DenseIndex(hnsw_threshold=10_000).index(x[:100]).kind == "flat"

    def recall(index: DenseIndex, allowed: np.ndarray | None = None) -> float:
        hits = 0
        for q in queries:
            truth = set(flat.retrieve(q, k=10, allowed=allowed)[0])
            hits += len(truth & set(index.retrieve(q, k=10, allowed=allowed)[0]))
        return hits / (10 * len(queries))

    r = recall(hnsw)
    assert r >= 0.95, f"HNSW recall@10 {r:.3f}"
    print(f"HNSW recall@10 vs flat: {r:.3f}")

    # filtered HNSW: a big subset goes through the selector, a small one is scored exactly
    big = np.arange(len(x)) % 2 == 0
    small = np.flatnonzero(np.arange(len(x)) % 50 == 0)
    for q in queries[:20]:
        ids, _ = hnsw.retrieve(q, k=10, allowed=big)
        assert len(ids) == 10 and big[ids].all()
        ids, _ = hnsw.retrieve(q, k=10, allowed=small)
        assert set(ids) <= set(small)
    assert recall(hnsw, big) >= 0.9
    assert recall(hnsw, np.isin(np.arange(len(x)), small)) == 1.0  # exact path

    hnsw.save(tmp_path)
    loaded = DenseIndex.load(tmp_path)
    assert loaded.kind == "hnsw" and loaded.size == len(x)
    for q in queries[:10]:
        assert np.array_equal(loaded.retrieve(q, k=10)[0], hnsw.retrieve(q, k=10)[0])
