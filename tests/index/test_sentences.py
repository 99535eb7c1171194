"""Sentence vectors: built with the index into the embedding cache, read back by retrieval, and the
cosine of each hit's closest sentence on the hit (Hit.scores["sentence"]) for the answer stage."""

from __future__ import annotations

import numpy as np

from qa.index.sentences import load_sentence_vectors, sentence_texts
from qa.index.store import load_index
from qa.retrieve.hybrid import Retriever


def test_the_build_puts_every_sentence_in_the_cache(built, e5):  # noqa: ANN001
    store = load_index(built.settings, e5)
    sv = load_sentence_vectors(store.chunks, store.documents, e5, built.settings.cache_dir)
    assert sv is not None and len(sv.offsets) == len(store.chunks) + 1
    sizes = np.diff(sv.offsets)
    by_id = {d.doc_id: d for d in store.documents}
    assert list(sizes) == [len(sentence_texts(c, by_id[c.doc_id])) for c in store.chunks]
    assert np.allclose(np.linalg.norm(sv.vectors, axis=1), 1.0, atol=1e-3)


def test_the_closest_sentence_is_the_one_that_answers(built, e5):  # noqa: ANN001
    store = load_index(built.settings, e5)
    sv = load_sentence_vectors(store.chunks, store.documents, e5, built.settings.cache_dir)
    assert sv is not None
    by_id = {d.doc_id: d for d in store.documents}
    row = max(range(len(store.chunks)), key=lambda r: int(sv.offsets[r + 1] - sv.offsets[r]))
    texts = sentence_texts(store.chunks[row], by_id[store.chunks[row].doc_id])
    target = max(texts, key=len)
    q = e5.embed_query_vec(target)
    own = sv.vectors[sv.offsets[row] : sv.offsets[row + 1]] @ q
    assert texts[int(np.argmax(own))] == target
    assert sv.closest(row, q) == float(own.max())


def test_an_article_whose_sentences_are_not_cached_has_none(built, e5, tmp_path):  # noqa: ANN001
    store = load_index(built.settings, e5)
    assert load_sentence_vectors(store.chunks, store.documents, e5, tmp_path / "empty-cache") is None


def test_a_sentence_names_its_own_document_as_this_document(built, e5):  # noqa: ANN001
    store = load_index(built.settings, e5)
    doc = store.documents[0]
    titled = [c for c in store.chunks if c.doc_id == doc.doc_id and doc.title in c.text_simplified]
    assert titled, "the covering notice names its document"
    for c in titled:
        assert all(doc.title not in s for s in sentence_texts(c, doc))
        assert any("本文件" in s for s in sentence_texts(c, doc))


def test_hits_carry_the_closest_sentence(built):  # noqa: ANN001
    r = Retriever.load(built.settings)
    res = r.run("重点项目专项扶持资金怎么申报", k=5)
    assert res.hits and all(0.5 < h.scores["sentence"] <= 1.0 for h in res.hits)
    assert all("sentence" not in h.scores for h in r.run("重点项目专项扶持资金怎么申报", k=5, mode="bm25").hits)
