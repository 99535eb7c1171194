"""Vectors deferred (first run, a new upload): a generation saved with the articles whose vectors are not
cached yet as zero rows. Keyword search covers them at once, dense search never returns them, and the
full build that follows fills them in (qa.manage.jobs runs the two steps)."""

from __future__ import annotations

import shutil

import numpy as np

from qa.index import IndexBuilder
from qa.manage.jobs import _live_keyword_step
from qa.retrieve.hybrid import Retriever

QUESTION = "兰山区生活垃圾分类工作领导小组由谁担任组长？"  # about c.txt, the document not yet embedded


def _docs(result) -> set[str]:  # noqa: ANN001
    return {h.document.title for h in result.hits}


def test_keyword_first_then_hybrid(built, doc_texts, e5, tmp_path, make_settings, shared_cache) -> None:  # noqa: ANN001
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("a.txt", "b.txt", "c.txt"):
        (corpus / name).write_text(doc_texts[name], encoding="utf-8")
    cache = tmp_path / "cache"
    shutil.copytree(shared_cache, cache)  # a.txt and b.txt embedded already, c.txt not
    settings = make_settings(tmp_path, cache_dir=cache)
    c_title = "关于成立兰山区生活垃圾分类工作领导小组的通知"

    quick = IndexBuilder(settings, embedder=e5, log=lambda m: None).run(
        [corpus], progress=False, defer_dense=True, extra={"collection_version": 3})
    assert quick.pending > 0 and quick.embedded == 0 and quick.reused == quick.chunks - quick.pending
    assert _live_keyword_step(settings, 3).pending == quick.pending  # the worker only adds the vectors
    assert _live_keyword_step(settings, 4) is None  # the collection changed since: keyword step again

    r = Retriever.load(settings)
    rows = [i for i, c in enumerate(r.chunks) if r.store.doc_by_id[c.doc_id].title == c_title]
    assert r.dense_ready is not None and not r.dense_ready[rows].any() and r.dense_waiting == len(rows) == quick.pending
    assert np.count_nonzero(r.dense_ready) == quick.chunks - quick.pending
    assert c_title not in _docs(r.run(QUESTION, mode="dense", k=20))  # zero rows never come from dense search
    assert c_title in _docs(r.run(QUESTION, mode="bm25"))
    assert c_title in _docs(r.run(QUESTION, mode="hybrid"))  # keyword search covers it at once

    assert quick.sentences_pending > 0  # c.txt's sentences are not embedded either

    # qa.manage: hybrid first (article vectors), then the sentence vectors in a last generation
    hybrid = IndexBuilder(settings, embedder=e5, log=lambda m: None).run([corpus], progress=False, sentences=False)
    assert hybrid.pending == 0 and hybrid.embedded == quick.pending and hybrid.sentences_pending == quick.sentences_pending
    r = Retriever.load(settings)
    assert r.dense_ready is None
    hits = r.run(QUESTION, k=20).hits
    assert c_title in _docs(r.run(QUESTION, mode="dense", k=20))
    # an article whose sentences are not embedded yet has no sentence score (the answer stage takes it as neutral)
    assert all(("sentence" in h.scores) == (h.document.title != c_title) for h in hits)

    full = IndexBuilder(settings, embedder=e5, log=lambda m: None).run([corpus], progress=False)
    assert full.embedded == 0 and full.sentences_pending == 0 and "embed_sentences" in full.timings
    r = Retriever.load(settings)
    assert all("sentence" in h.scores for h in r.run(QUESTION, k=20).hits)
