"""The refusal decision's hard rules and signals, on real articles and the real assistant."""

from __future__ import annotations

from qa.answer.extractive import ExtractiveAnswerer
from qa.answer.refusal import RefusalPolicy, other_year
from qa.models import Hit


def _doc_hits(corpus, number: str, n: int = 3) -> list[Hit]:
    docs = {d.doc_id: d for d in corpus.documents}
    chunks = [c for c in corpus.chunks if docs[c.doc_id].number == number][:n]
    assert chunks, number
    return [Hit(chunk=c, document=docs[c.doc_id], score=1.0, rank=i + 1) for i, c in enumerate(chunks)]


def test_other_year_names_the_year_and_the_document_found(corpus):
    hits = _doc_hits(corpus, "招政办字〔2022〕10号")  # 招远市2022年居民养老保险征缴工作实施方案
    year, title = other_year("招远2024年居民养老保险什么时候开始交？", hits)
    assert year == "2024" and "2022年居民养老保险" in title
    assert other_year("招远2022年居民养老保险什么时候开始交？", hits) is None  # the year it covers
    assert other_year("招远居民养老保险什么时候开始交？", hits) is None  # no year asked
    assert other_year("招远2024年居民养老保险什么时候开始交？", []) is None


def test_other_year_accepts_a_year_the_text_mentions(corpus):
    # the 2022 plan of 兰山区 sets targets "到2025年"; its titles carry no 2025
    docs = {d.doc_id: d for d in corpus.documents}
    c = next(c for c in corpus.chunks if "2025年" in c.text_simplified and "2025" not in docs[c.doc_id].title)
    hits = [Hit(chunk=c, document=docs[c.doc_id], score=1.0, rank=1)]
    assert other_year("到2025年要达到多少？", hits) is None


def test_naming_an_indexed_document_lowers_the_refusal_score(corpus):
    hits = _doc_hits(corpus, "招政发〔2022〕8号")
    picks = ExtractiveAnswerer().score_sentences("招政发〔2022〕8号对研发投入怎么补贴？", hits)
    policy = RefusalPolicy()
    assert policy.score(hits, picks, named_document=True) < policy.score(hits, picks, named_document=False)


def test_assistant_declines_another_years_question_and_says_why(assistant):
    ans = assistant.ask("招远2024年居民养老保险什么时候开始交？")
    assert ans.refused and not ans.citations
    assert "2024年" in ans.text and "2022年居民养老保险征缴工作实施方案" in ans.text
    ok = assistant.ask("招远2022年居民养老保险集中缴费到哪天结束？")
    assert not ok.refused and "6 月 15 日" in ok.text.replace("6月15日", "6 月 15 日")


def test_policy_from_settings_file_and_threshold(tmp_path):
    import json

    import pytest

    from qa.config import load_settings

    default = RefusalPolicy()
    assert RefusalPolicy.from_settings(load_settings()) == default
    f = tmp_path / "refusal.json"
    f.write_text(json.dumps({"weights": [-1, -1, -1, -1, -1], "bias": 2.0, "threshold": 0.5}), encoding="utf-8")
    p = RefusalPolicy.from_settings(load_settings(refusal_calibration=str(f)))
    assert p.weights == (-1.0,) * 5 and p.bias == 2.0 and p.threshold == 0.5
    p = RefusalPolicy.from_settings(load_settings(refusal_calibration=str(f), refusal_threshold=-2.0))
    assert p.threshold == -2.0 and p.bias == 2.0  # the operator's threshold wins
    f.write_text(json.dumps({"weights": [1, 2], "bias": 0, "threshold": 0}), encoding="utf-8")
    with pytest.raises(ValueError, match="2 weights"):
        RefusalPolicy.from_settings(load_settings(refusal_calibration=str(f)))
    with pytest.raises(ValueError, match="calibration file"):
        RefusalPolicy.from_settings(load_settings(refusal_calibration=str(tmp_path / "missing.json")))


def test_threshold_from_environment(monkeypatch):
    from qa.config import load_settings

    monkeypatch.setenv("QA_REFUSAL_THRESHOLD", "-0.5")
    assert load_settings().refusal_threshold == -0.5
    monkeypatch.setenv("QA_REFUSAL_THRESHOLD", "")
    assert load_settings().refusal_threshold is None
