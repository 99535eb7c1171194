"""Persisted index: roundtrip, damage detection, mismatch detection, atomic replacement."""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from qa.index import (
    BM25Index,
    DenseIndex,
    IndexCorrupt,
    IndexMismatch,
    IndexMissing,
    IndexStore,
    IndexStoreError,
    corpus_hash,
)
from qa.index.store import POINTER
from support import ROOT

QUERIES = ["投资强度达到280万元/亩以上的补助比例", "水库移民每年进行几次人口核查", "骗取专项扶持资金如何处理", "本办法由哪个部门负责解释"]


_QVECS: dict[str, np.ndarray] = {}


def _results(store: IndexStore, e5) -> list:  # noqa: ANN001
    out = []
    for q in QUERIES:
        if q not in _QVECS:
            _QVECS[q] = e5.embed_query_vec(q)
        d_ids, d_sc = store.dense.retrieve(_QVECS[q], k=5)
        b_ids, b_sc = store.bm25.retrieve(q, k=5)
        out.append((d_ids.tolist(), np.round(d_sc, 6).tolist(), b_ids.tolist(), np.round(b_sc, 6).tolist()))
    return out


def test_load_built_index_and_literal_queries(built, e5) -> None:  # noqa: ANN001
    store = IndexStore.load(built.settings.index_dir, expected_embedder_id=e5.id)
    assert len(store.chunks) == built.report.chunks and len(store.documents) == 2
    assert store.manifest["chunk_count"] == len(store.chunks)
    assert store.manifest["corpus_hash"] == corpus_hash(store.chunks)
    assert store.manifest["embedder_dim"] == 384 and store.manifest["dense_kind"] == "flat"
    for q, locator in [(QUERIES[0], "第三条2."), (QUERIES[1], "二、")]:
        b_ids, _ = store.bm25.retrieve(q, k=3)
        d_ids, _ = store.dense.retrieve(e5.embed_query_vec(q), k=3)
        assert store.chunks[b_ids[0]].locator == locator
        assert locator in [store.chunks[i].locator for i in d_ids]
    # helpers used by retrieval
    c = store.chunks[0]
    assert store.document_of(c).doc_id == c.doc_id and store.row_of[c.chunk_id] == 0
    mask = store.mask_for_docs([c.doc_id])
    assert mask.sum() == sum(1 for x in store.chunks if x.doc_id == c.doc_id) and mask[0]


def test_roundtrip_identical(built, e5, tmp_path: Path) -> None:  # noqa: ANN001
    store = IndexStore.load(built.settings.index_dir)
    # rebuild in memory from the loaded records + stored vectors, save elsewhere, load again
    vecs = store.dense.vectors(np.arange(len(store.chunks)))
    fresh = IndexStore(
        documents=store.documents,
        chunks=store.chunks,
        dense=DenseIndex().index(vecs),
        bm25=BM25Index().index([c.embed_text() for c in store.chunks]),
        embedder_id=store.embedder_id,
        chunker_version=store.chunker_version,
    )
    gen = fresh.save(tmp_path / "idx", extra={"note": "copy"})
    again = IndexStore.load(tmp_path / "idx", expected_embedder_id=e5.id, expected_chunker_version=store.chunker_version)
    assert again.path == gen and again.manifest["extra"] == {"note": "copy"}
    assert [d.to_dict() for d in again.documents] == [d.to_dict() for d in store.documents]
    assert [c.to_dict() for c in again.chunks] == [c.to_dict() for c in store.chunks]
    assert _results(again, e5) == _results(store, e5) == _results(fresh, e5)
    # a generation dir can also be loaded directly
    assert len(IndexStore.load(gen).chunks) == len(store.chunks)


def test_missing_index(tmp_path: Path) -> None:
    for where in [tmp_path / "nope", tmp_path]:
        with pytest.raises(IndexMissing, match="qa index"):
            IndexStore.load(where)


def _gen(index_dir: Path) -> Path:
    return index_dir / (index_dir / POINTER).read_text().strip()


@pytest.mark.parametrize("name", ["chunks.json", "dense/dense.faiss", "bm25/bm25_meta.json", "manifest.json"])
def test_missing_file(index_copy: Path, name: str) -> None:
    (_gen(index_copy) / name).unlink()
    with pytest.raises(IndexCorrupt, match="qa index"):
        IndexStore.load(index_copy)


@pytest.mark.parametrize("name", ["chunks.json", "documents.json", "dense/dense.faiss"])
def test_truncated_file(index_copy: Path, name: str) -> None:
    p = _gen(index_copy) / name
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(IndexCorrupt, match="truncated"):
        IndexStore.load(index_copy)


@pytest.mark.parametrize("name", ["chunks.json", "dense/dense.faiss"])
def test_flipped_byte_same_size(index_copy: Path, name: str) -> None:
    p = _gen(index_copy) / name
    data = bytearray(p.read_bytes())
    data[len(data) // 2] ^= 0x01
    p.write_bytes(bytes(data))
    with pytest.raises(IndexCorrupt, match="checksum"):
        IndexStore.load(index_copy)


def test_garbage_manifest_and_pointer(index_copy: Path) -> None:
    gen = _gen(index_copy)
    (gen / "manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(IndexCorrupt):
        IndexStore.load(index_copy)
    (index_copy / POINTER).write_text("../../etc\n", encoding="utf-8")
    with pytest.raises(IndexCorrupt, match="pointer"):
        IndexStore.load(index_copy)
    (index_copy / POINTER).write_text("gen-20990101T000000Z-abcdef\n", encoding="utf-8")
    with pytest.raises(IndexCorrupt, match="missing"):
        IndexStore.load(index_copy)


def _edit_manifest(index_dir: Path, **changes: object) -> None:
    p = _gen(index_dir) / "manifest.json"
    m = json.loads(p.read_text(encoding="utf-8"))
    m.update(changes)
    p.write_text(json.dumps(m), encoding="utf-8")


def test_other_embedder_chunker_or_format(index_copy: Path, e5) -> None:  # noqa: ANN001
    store = IndexStore.load(index_copy, expected_embedder_id=e5.id)
    with pytest.raises(IndexMismatch, match="embedder"):
        IndexStore.load(index_copy, expected_embedder_id="st-6.0:other-model:abc")
    with pytest.raises(IndexMismatch, match="chunker"):
        IndexStore.load(index_copy, expected_chunker_version=store.chunker_version + "-next")
    _edit_manifest(index_copy, embedder_id="st-6.0:other-model:abc")
    with pytest.raises(IndexMismatch, match="other-model"):
        IndexStore.load(index_copy, expected_embedder_id=e5.id)
    _edit_manifest(index_copy, format_version=999)
    with pytest.raises(IndexMismatch, match="format"):
        IndexStore.load(index_copy)
    assert issubclass(IndexMismatch, IndexStoreError) and not issubclass(IndexStoreError, IndexError)


def test_changed_record_schema_is_a_mismatch(index_copy: Path) -> None:
    """A consistent index written by another code version (records with unknown fields)."""
    gen = _gen(index_copy)
    p = gen / "chunks.json"
    rows = json.loads(p.read_text(encoding="utf-8"))
    rows[0]["field_from_the_future"] = 1
    p.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(IndexCorrupt):  # first: the manifest no longer matches the file
        IndexStore.load(index_copy)
    m = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
    m["files"]["chunks.json"] = {"sha256": hashlib.sha256(p.read_bytes()).hexdigest(), "bytes": p.stat().st_size}
    (gen / "manifest.json").write_text(json.dumps(m), encoding="utf-8")
    with pytest.raises(IndexMismatch, match="field_from_the_future"):
        IndexStore.load(index_copy)


def test_resave_keeps_one_generation_and_cleans_leftovers(index_copy: Path) -> None:
    store = IndexStore.load(index_copy)
    old = store.path
    leftover = index_copy / ".tmp-gen-20000101T000000Z-000000"  # what a killed save leaves
    leftover.mkdir()
    (leftover / "chunks.json").write_text("[", encoding="utf-8")
    assert IndexStore.load(index_copy).path == old  # ignored by load
    new = store.save(index_copy)
    assert new != old and not old.exists() and not leftover.exists()
    gens = sorted(p.name for p in index_copy.iterdir() if p.name.startswith(("gen-", ".tmp-gen-")))
    assert gens == [new.name]
    assert IndexStore.load(index_copy).path == new


_SAVER = """
import sys, time
from pathlib import Path
from qa.index import IndexStore
store = IndexStore.load(Path(sys.argv[1]))
i = 0
while True:  # save forever, reporting each completed save; the parent kills us at a random moment
    i += 1
    t = time.perf_counter()
    store.save(Path(sys.argv[2]), extra={"i": i})
    print(i, time.perf_counter() - t, flush=True)
"""


def test_sigkill_during_save_leaves_a_loadable_index(index_copy: Path, tmp_path: Path) -> None:
    """Kill a process while it saves, at random points; the index must always load, complete."""
    target = tmp_path / "live"
    original = IndexStore.load(index_copy)
    original.save(target, extra={"i": 0})
    want_hash = original.manifest["corpus_hash"]
    rng = random.Random(1234)
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    for _ in range(5):
        proc = subprocess.Popen(
            [sys.executable, "-c", _SAVER, str(index_copy), str(target)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )
        assert proc.stdout is not None
        first = proc.stdout.readline().split()  # the first save has completed
        assert first and first[0] == "1", proc.stderr.read() if proc.stderr else ""
        time.sleep(rng.uniform(0.0, 2.0) * float(first[1]))  # somewhere inside the next save or two
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        store = IndexStore.load(target)  # never raises, whatever moment the kill hit
        assert store.manifest["corpus_hash"] == want_hash and len(store.chunks) == len(original.chunks)
        assert store.manifest["extra"]["i"] >= 1  # the child's saves did replace the index
        proc.stdout.close()
        proc.stderr.close()


def test_load_index_checks_configured_embedder_and_current_chunker(built, index_copy: Path, e5) -> None:  # noqa: ANN001
    from qa.index import load_index

    assert len(load_index(built.settings, embedder=e5).chunks) == built.report.chunks
    assert load_index(built.settings).embedder_id == e5.id  # builds the configured embedder itself
    settings = built.settings.with_overrides(index_dir=index_copy)
    _edit_manifest(index_copy, chunker_version="0.0-old")
    with pytest.raises(IndexMismatch, match="0.0-old"):
        load_index(settings, embedder=e5)
