"""An article split at the token limit is still one article: the piece that says what is asked is
quoted beside the piece retrieval found (qa.answer.library.pieces, EvidenceScorer.with_pieces)."""

from __future__ import annotations

from qa.answer.coverage import Coverage
from qa.models import Hit
from qa.retrieve.intent import classify


def _pension_article(assistant):  # noqa: ANN001, ANN202
    lib = assistant.library
    doc = next(d for d in lib.by_id.values() if "居民养老保险征缴" in d.title)
    first = next(c for c in lib.chunks(doc.doc_id) if c.locator == "三、（二）1.")
    return lib, doc, lib.pieces(first)


def test_pieces_are_the_adjacent_chunks_of_one_article(assistant):
    lib, doc, pieces = _pension_article(assistant)
    assert len(pieces) >= 3
    assert len({(p.locator, tuple(p.heading_path)) for p in pieces}) == 1
    assert all(a.end <= b.start for a, b in zip(pieces, pieces[1:]))
    assert all(lib.pieces(p) == pieces for p in pieces)  # the same article from any of its pieces
    whole = next(c for c in lib.chunks(doc.doc_id) if c.locator != "三、（二）1.")
    assert lib.pieces(whole) == [whole]


def test_the_piece_that_answers_is_quoted_beside_the_one_retrieved(assistant):
    lib, doc, pieces = _pension_article(assistant)
    tiers = next(p for p in pieces if "13000" in p.text)
    subsidy = next(p for p in pieces if "每人每年 80 元" in p.text)
    question = "选择800元以上缴费档次的，市财政每人每年给多少缴费补贴？"
    intent = classify(question)
    hits = [Hit(tiers, doc, 1.0, rank=1)]  # retrieval found only the piece with the tiers
    evidence = assistant.scorer.run(question, intent, hits, [], [])
    cited = assistant.scorer.with_pieces(question, intent, evidence, hits, [], [])
    assert [e.hit.chunk.chunk_id for e in cited] == [tiers.chunk_id, subsidy.chunk_id]
    composed = assistant.answerer.run(question, intent, evidence, Coverage("full"), [], [], cited=cited)
    assert "该条还规定：" in composed.text and "80 元" in composed.text
    # one article, one citation: both lines carry its marker; its passage is the two pieces quoted
    assert [c.chunk_id for c in composed.citations] == [tiers.chunk_id]
    assert composed.text.count("[1]") == 2 and "[2]" not in composed.text
    c = composed.citations[0]
    assert c.passage == "\n".join(p.text for p in pieces if p in (tiers, subsidy))
    assert any(part in subsidy.text for part in c.quote.split("……"))
    assert all(part in c.passage for part in c.quote.split("……"))


def test_a_piece_that_says_less_than_the_one_retrieved_is_left_out(assistant):
    lib, doc, pieces = _pension_article(assistant)
    tiers = next(p for p in pieces if "13000" in p.text)
    question = "居民养老保险符合条件的年补交最高标准是多少？"
    intent = classify(question)
    hits = [Hit(tiers, doc, 1.0, rank=1)]
    evidence = assistant.scorer.run(question, intent, hits, [], [])
    assert [e.hit.chunk.chunk_id for e in assistant.scorer.with_pieces(question, intent, evidence, hits, [], [])] == [tiers.chunk_id]
