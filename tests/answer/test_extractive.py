"""The offline extractive answerer, on real articles from the seeds."""

from __future__ import annotations

import re

import pytest

from qa.answer.extractive import ExtractiveAnswerer, content_grams
from qa.answer.refusal import RefusalPolicy
from qa.models import Hit


def _hits(corpus, *wanted):
    docs = {d.doc_id: d for d in corpus.documents}
    out = []
    for number, locator in wanted:
        c = next(c for c in corpus.chunks if docs[c.doc_id].number == number and c.locator == locator)
        out.append(Hit(chunk=c, document=docs[c.doc_id], score=1.0 / (len(out) + 1), rank=len(out) + 1))
    return out


def test_numeric_answer_quotes_the_figure(corpus):
    hits = _hits(corpus, ("招政发〔2022〕8号", "三、（三）10."), ("招政发〔2022〕8号", "三、（三）8."))
    text, cits = ExtractiveAnswerer().run("黄金珠宝企业设备更新升级能补贴多少？", hits)
    assert "20%" in text.replace(" ", "") and "100万元" in text.replace(" ", "")
    assert cits and cits[0].locator == "三、（三）10." and cits[0].doc_number == "招政发〔2022〕8号"
    # every answer sentence carries a marker that points to a citation
    markers = {int(m) for m in re.findall(r"\[(\d+)\]", text)}
    assert markers == {c.marker for c in cits}
    # and every quote is verbatim from its passage
    for c in cits:
        assert c.quote and c.quote in c.passage


def test_regions_are_named_when_documents_differ(corpus):
    # 兰山区 and 周村区 both cut the 防空地下室易地建设费, from different starting figures
    hits = _hits(corpus, ("临兰政办字〔2022〕47号", "二、（十八）6."), (None, "一、第13项（三）1."))
    text, cits = ExtractiveAnswerer().run("防空地下室易地建设费降到多少？", hits)
    assert len(cits) == 2
    assert "临沂市兰山区" in text and "淄博市周村区" in text
    assert "1800" in text


def test_refusal_policy_declines_unrelated_evidence(corpus):
    hits = _hits(corpus, ("青岛市人民政府令第279号", "第十四条"))
    ans = ExtractiveAnswerer()
    unrelated = ans.score_sentences("北京市出租车起步价是多少钱？", hits)
    related = ans.score_sentences("在禁止活禽交易的区域卖活禽罚多少？", hits)
    policy = RefusalPolicy()
    assert policy.score(hits, unrelated) > policy.score(hits, related)
    assert policy.run("北京市出租车起步价是多少钱？", hits, unrelated, "青岛市活禽交易").refuse
    decision = policy.run("济南市历下区禁止卖活禽吗？", hits, related, "青岛市活禽交易")
    assert decision.refuse and "历下" in decision.reason


@pytest.mark.parametrize("q", ["我家狗要办证吗？", "請問活禽交易罰款多少", "ＡＢＣ１２３"])
def test_content_grams_never_empty_for_real_questions(q):
    assert content_grams(q)
