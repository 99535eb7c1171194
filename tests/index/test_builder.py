"""IndexBuilder end to end on real seed documents: incremental re-indexing through the cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.embed import EmbeddingCache
from qa.index import IndexBuilder, IndexStore, NothingToIndex
from qa.index.sentences import sentence_texts
from qa.index.store import POINTER


def test_build_edit_add_remove(tmp_path: Path, doc_texts, e5, make_settings) -> None:  # noqa: ANN001
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "c.txt").write_text(doc_texts["c.txt"], encoding="utf-8")  # the smallest document: cheap to embed
    settings = make_settings(tmp_path)
    logs: list[str] = []
    builder = IndexBuilder(settings, embedder=e5, log=logs.append)

    # 1. cold build: every distinct chunk text is embedded
    r1 = builder.run([corpus], progress=False)
    store = IndexStore.load(settings.index_dir, expected_embedder_id=e5.id, expected_chunker_version=r1.chunker_version)
    distinct = len({c.embed_text() for c in store.chunks})
    by_id = {d.doc_id: d for d in store.documents}
    sentences = {s for c in store.chunks for s in sentence_texts(c, by_id[c.doc_id])}
    assert r1.rebuilt and r1.files == 1 and r1.documents == 1
    assert r1.chunks == len(store.chunks) > 5 and r1.embedded == distinct and r1.reused == r1.chunks - distinct
    assert r1.generation == store.path and r1.dense_kind == "flat" and logs == []  # nothing to replace, no message
    with EmbeddingCache(settings.cache_dir) as cache:
        assert len(cache) == distinct + len(sentences - {c.embed_text() for c in store.chunks})  # articles and their sentences

    # 2. unchanged corpus: nothing embedded, same content
    r2 = builder.run([corpus], progress=False)
    again = IndexStore.load(settings.index_dir)
    assert (r2.embedded, r2.reused, r2.rebuilt) == (0, r2.chunks, False)
    assert again.manifest["corpus_hash"] == store.manifest["corpus_hash"] and again.path != store.path

    # 3. edit one article: exactly that chunk is re-embedded
    text = doc_texts["c.txt"]
    old, new = "办公室设在区综合行政执法局", "办公室设在区城市管理局"
    assert text.count(old) == 1
    (corpus / "c.txt").write_text(text.replace(old, new), encoding="utf-8")
    r3 = builder.run([corpus], progress=False)
    assert r3.embedded == 1 and r3.chunks == r1.chunks
    edited = IndexStore.load(settings.index_dir)
    ids, _ = edited.bm25.retrieve("领导小组办公室设在哪里 城市管理局", k=1)
    assert "区城市管理局" in edited.chunks[ids[0]].text and edited.chunks[ids[0]].locator.startswith("三、")

    # 4. add a document: only its chunks are embedded
    (corpus / "b.txt").write_text(doc_texts["b.txt"], encoding="utf-8")
    r4 = builder.run([corpus], progress=False)
    b_chunks = [c for c in IndexStore.load(settings.index_dir).chunks if c.doc_id != edited.chunks[0].doc_id]
    assert r4.files == 2 and r4.documents == 2 and r4.chunks == r1.chunks + len(b_chunks)
    assert r4.embedded == len({c.embed_text() for c in b_chunks}) > 0

    # 5. remove it again: nothing embedded, its chunks are gone from the index
    (corpus / "b.txt").unlink()
    r5 = builder.run([corpus], progress=False)
    final = IndexStore.load(settings.index_dir)
    assert r5.embedded == 0 and r5.chunks == r1.chunks and len(final.documents) == 1
    assert final.manifest["corpus_hash"] == edited.manifest["corpus_hash"]
    gens = [p for p in settings.index_dir.iterdir() if p.name.startswith("gen-")]
    assert gens == [final.path] and (settings.index_dir / "cache").is_dir()  # cache survives the swaps


def test_incompatible_index_is_rebuilt_with_message(built, tmp_path: Path, e5, make_settings) -> None:  # noqa: ANN001
    settings = make_settings(tmp_path, cache_dir=built.settings.cache_dir)
    logs: list[str] = []
    IndexBuilder(settings, embedder=e5, log=logs.append).run([built.corpus], progress=False)
    r = IndexBuilder(settings, embedder=e5, chunker_version="future-chunker", log=logs.append).run(
        [built.corpus], progress=False
    )
    assert r.rebuilt and "chunker" in r.reason and len(logs) == 1 and "rebuilding" in logs[0]
    assert r.embedded == 0  # same embedder: vectors still come from the cache
    assert IndexStore.load(settings.index_dir, expected_chunker_version="future-chunker").chunker_version == "future-chunker"
    # a damaged index is also replaced, with a message
    (settings.index_dir / POINTER).write_text("garbage\n", encoding="utf-8")
    r2 = IndexBuilder(settings, embedder=e5, chunker_version="future-chunker", log=logs.append).run(
        [built.corpus], progress=False
    )
    assert r2.rebuilt and "damaged" in r2.reason and IndexStore.load(settings.index_dir).path == r2.generation


def test_nothing_to_index_keeps_previous(built, tmp_path: Path, e5, make_settings) -> None:  # noqa: ANN001
    settings = make_settings(tmp_path, cache_dir=built.settings.cache_dir)
    IndexBuilder(settings, embedder=e5, log=lambda m: None).run([built.corpus], progress=False)
    before = IndexStore.load(settings.index_dir).path
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "blank.txt").write_text("", encoding="utf-8")
    with pytest.raises(NothingToIndex, match="nothing to index"):
        IndexBuilder(settings, embedder=e5, log=lambda m: None).run([empty], progress=False)
    assert IndexStore.load(settings.index_dir).path == before


def test_report_serialises(built) -> None:  # noqa: ANN001
    d = built.report.to_dict()
    assert d["chunks"] == built.report.chunks and d["index_dir"] == str(built.settings.index_dir)
    assert {r["path"] for r in d["reports"]} == {"a.txt", "b.txt"} and all(r["ok"] for r in d["reports"])
    assert "indexed 2 files" in built.report.summary()
    assert set(built.report.timings) == {"ingest", "embed", "embed_sentences", "terms", "dense", "bm25", "save"}  # terms: shared by both stores
