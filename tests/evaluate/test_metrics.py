"""Metrics on small hand-made hits and answers."""

from __future__ import annotations

import pytest

from qa.evaluate.gold import GoldItem
from qa.evaluate.metrics import (
    QuestionScores,
    aggregate,
    all_evidence_found,
    answer_length,
    breakdown,
    citation_precision,
    cited_sentence_share,
    evidence_recall_at_k,
    evidence_recall_in_context,
    key_point_coverage,
    latency_summary,
    percentile,
    ranked_context,
    reciprocal_rank,
    score_question,
    span_ranks,
    split_sentences,
    strip_markers,
    summarize,
)

SPAN_A = "按照新升级设备改造投资总额的 20% 给予资金扶持，最多不超过 100 万元"
SPAN_B = "2000 平方米以上的，每平方米每年补贴 50 元"
HITS = [
    "第一条 为了规范管理，制定本办法。",
    "三、（三）10. 技术升级：项目建成投用后，按照新升级设备改造投资总额的20%给予资金扶持，最多不超过100万元。",
    "其他无关内容，关于养犬登记的规定。",
    "租赁厂房的，2000平方米以上的，每平方米每年补贴50元。",
]


def item(**kw) -> GoldItem:
    base = dict(
        id="T1", persona="enterprise", type="numeric", question="q", answer="a",
        key_points=["20%", "100万元"], evidence=[SPAN_A], source={"file": "x", "doc_title": "t", "doc_number": None, "locator": "1"},
    )
    base.update(kw)
    return GoldItem(**base)


# ---------------------------------------------------------------- retrieval


def test_span_ranks_ignore_spaces_and_find_first_hit():
    assert span_ranks([SPAN_A, SPAN_B, "完全不存在的一段证据文字内容"], HITS) == [2, 4, None]


def test_matching_is_insensitive_to_traditional_and_full_width():
    hits = ["按照新升級設備改造投資總額的２０％給予資金扶持，最多不超過１００萬元。"]
    assert span_ranks([SPAN_A], hits) == [1]


def test_recall_at_k():
    ev = [SPAN_A, SPAN_B]
    assert evidence_recall_at_k(ev, HITS, 1) == 0.0
    assert evidence_recall_at_k(ev, HITS, 3) == 0.5
    assert evidence_recall_at_k(ev, HITS, 4) == 1.0
    assert evidence_recall_at_k([], HITS, 5) is None


def test_recall_in_context_cuts_at_characters():
    ev = [SPAN_A]
    # the span ends ~60 characters into the second hit
    assert evidence_recall_in_context(ev, HITS, 40) == 0.0
    assert evidence_recall_in_context(ev, HITS, 200) == 1.0
    assert ranked_context(HITS, 30) == (HITS[0] + HITS[1])[:30]
    cut = len(HITS[0]) + HITS[1].index("100万元") + len("100万元")
    assert evidence_recall_in_context(ev, HITS, cut) == 1.0
    assert evidence_recall_in_context(ev, HITS, cut - 1) == 0.0


def test_all_evidence_only_for_multi_span_questions():
    assert all_evidence_found([SPAN_A], HITS) is None
    assert all_evidence_found([SPAN_A, SPAN_B], HITS) is True
    assert all_evidence_found([SPAN_A, SPAN_B], HITS, k=3) is False


def test_reciprocal_rank():
    assert reciprocal_rank([SPAN_A], HITS) == 0.5
    assert reciprocal_rank([SPAN_B, SPAN_A], HITS) == 0.5  # first hit with *any* span
    assert reciprocal_rank([SPAN_B], HITS) == 0.25
    assert reciprocal_rank([SPAN_A], HITS[2:]) == 0.0
    assert reciprocal_rank([], HITS) is None
    assert reciprocal_rank([SPAN_B], HITS, k=3) == 0.0  # MRR@k: rank 4 is outside the top 3


# ---------------------------------------------------------------- answers


def test_strip_markers_and_length():
    assert strip_markers("补贴20%[1]，最多100万元[2][3]。见［4］[1,2]") == "补贴20%，最多100万元。见"
    assert answer_length("  补贴[1]。 ") == 3


def test_key_point_coverage_uses_answer_text_only():
    assert key_point_coverage(["20%", "100万元"], "按投资额的２０％[1]扶持。") == 0.5
    assert key_point_coverage(["20%", "100万元"], "按20%扶持，最多100 万元[1]") == 1.0
    assert key_point_coverage([], "x") is None
    # a marker between the number and the unit must not hide the key point
    assert key_point_coverage(["100万元"], "最多100万[1]元") == 1.0


def test_citation_precision():
    passages = [HITS[1], HITS[2], "另有规定：最多不超过100万元。"]
    # HITS[1] has the span, HITS[2] nothing, the third a key point
    assert citation_precision(passages, [SPAN_A], ["100万元"]) == pytest.approx(2 / 3)
    assert citation_precision([], [SPAN_A], ["x"]) is None
    assert citation_precision(passages, [], []) is None


def test_split_sentences_keeps_marker_after_full_stop():
    text = "根据规定：\n补贴20%。[1]最多100万元[2]！没有出处的一句。\n- [3]"
    assert split_sentences(text) == ["根据规定：", "补贴20%[1]。", "最多100万元[2]！", "没有出处的一句。"]


def test_cited_sentence_share_skips_lead_in_lines():
    text = "根据《办法》的规定：\n补贴20%。[1]最多100万元[2]。没有出处的一句。"
    assert cited_sentence_share(text) == pytest.approx(2 / 3)
    assert cited_sentence_share("") is None
    assert cited_sentence_share("一句有出处[1]") == 1.0


# ---------------------------------------------------------------- one question and aggregation


def test_score_question_answerable():
    s = score_question(
        item(),
        HITS,
        "按照设备改造投资总额的20%给予扶持[1]。",
        citation_passages=[HITS[1], HITS[2]],
        citation_quotes=["最多不超过100万元"],
        timings={"retrieve": 0.01, "total": 0.05},
    )
    assert s.recall_at == {1: 0.0, 3: 1.0, 5: 1.0, 10: 1.0}
    assert s.reciprocal_rank == 0.5
    assert s.kp_coverage == 0.5
    assert s.kp_coverage_with_quotes == 1.0
    assert s.citation_precision == 0.5
    assert s.cited_sentences == 1.0
    assert s.all_evidence is None
    assert QuestionScores.from_dict(s.to_dict()) == s


def test_score_question_unanswerable_has_no_retrieval_scores():
    s = score_question(item(type="unanswerable", key_points=[], evidence=[], source=None), HITS, "抱歉，没有找到。", refused=True)
    assert s.recall_at == {} and s.kp_coverage is None and s.citation_precision is None
    assert s.cited_sentences is None  # a refusal is not scored for citations
    assert s.refused


def _scores() -> list[QuestionScores]:
    ok = score_question(item(id="A"), HITS, "20%，最多100万元[1]。", [HITS[1]], timings={"total": 0.1})
    miss = score_question(item(id="B", persona="citizen", evidence=[SPAN_B], key_points=["50元"]), HITS[:2], "抱歉。", refused=True, timings={"total": 0.3})
    un_declined = score_question(item(id="C", type="unanswerable", key_points=[], evidence=[], source=None), HITS, "抱歉。", refused=True, timings={"total": 0.2})
    un_answered = score_question(item(id="D", type="unanswerable", persona="citizen", key_points=[], evidence=[], source=None), HITS, "可以[1]。", [HITS[0]], timings={"total": 0.4})
    return [ok, miss, un_declined, un_answered]


def test_aggregate_rates_and_means():
    a = aggregate(_scores())
    assert (a["n"], a["n_answerable"], a["n_unanswerable"]) == (4, 2, 2)
    assert a["recall_at"]["3"] == 0.5  # A found at rank 2, B not retrieved at all
    assert a["mrr"] == pytest.approx(0.25)
    assert a["kp_coverage"] == 0.5
    assert a["declined_unanswerable"] == 0.5
    assert a["wrongly_declined"] == 0.5
    assert a["citation_precision"] == 1.0  # only A has citations and an evidence span
    assert a["latency_ms"]["total"]["p50"] == pytest.approx(250.0)


def test_recall_is_pooled_over_spans():
    two = score_question(item(id="M", type="multi", evidence=[SPAN_A, SPAN_B]), HITS[:3], "x")  # 1 of 2 spans
    one = score_question(item(id="S", evidence=[SPAN_B]), HITS[:3], "x")  # 0 of 1
    assert two.recall_at[5] == 0.5 and one.recall_at[5] == 0.0
    a = aggregate([two, one])
    assert a["recall_at"]["5"] == pytest.approx(1 / 3)  # micro: 1 span found of 3, not mean(0.5, 0) = 0.25
    assert a["all_evidence"] == 0.0 and a["n_multi_evidence"] == 1


def test_breakdown_and_summarize_group_correctly():
    by_persona = breakdown(_scores(), lambda s: s.persona)
    assert list(by_persona) == ["enterprise", "citizen"]
    assert by_persona["citizen"]["n"] == 2
    assert by_persona["citizen"]["wrongly_declined"] == 1.0
    assert by_persona["enterprise"]["declined_unanswerable"] == 1.0
    s = summarize(_scores())
    assert s["by_type"]["unanswerable"]["n_answerable"] == 0
    assert s["by_type"]["unanswerable"]["recall_at"] == {}


def test_percentile_and_latency_summary():
    assert percentile([], 50) is None
    assert percentile([3.0], 95) == 3.0
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile(list(range(101)), 95) == 95.0
    lat = latency_summary([{"a": 0.1}, {"a": 0.3, "b": 1.0}])
    assert lat["a"]["p50"] == pytest.approx(200.0) and lat["a"]["n"] == 2
    assert lat["b"]["n"] == 1


def test_verdict_wrong_compares_the_opening_verdict_with_the_reference():
    from qa.evaluate.metrics import verdict_wrong

    assert verdict_wrong("不行。城区禁放区域内不得设销售网点。", "可以。招远市：……") is True
    assert verdict_wrong("不行。城区禁放区域内不得设销售网点。", "不可以。招远市：……") is False
    assert verdict_wrong("能。1-2级重度残疾人可申请提前领取。", "可以。……") is False
    assert verdict_wrong("不必。已经委托他人处理的，可以不自行建设。", "需要。……") is True
    assert verdict_wrong("不行。", "《办法》第七条规定：……") is None  # no verdict given
    assert verdict_wrong("禁放区域为普照路以北……", "可以。……") is None  # the reference opens with none
