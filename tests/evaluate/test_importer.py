"""Gold sets as evaluators write them (qa/evaluate/importer.py) and runs with judgements (qa/evaluate/runs.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa.evaluate.gold import load_gold
from qa.evaluate.importer import GoldImportError, figures_of, import_gold, write_xlsx
from qa.evaluate.runs import RunStore, auto_verdict, compare_runs, failure_tags, human_metrics, save_judgement
from support import ROOT

GOLD = ROOT / "eval" / "gold.jsonl"


def test_csv_with_question_and_answer_only_chinese_headers_and_bom(tmp_path: Path) -> None:
    f = tmp_path / "gold.csv"
    f.write_text("\ufeff问题,参考答案\n设备投资能补多少？,按投资总额的20%扶持，最多100万元。\n狗要办证吗？,要。\n", encoding="utf-8")
    imp = import_gold(f)
    assert [it.question for it in imp.items] == ["设备投资能补多少？", "狗要办证吗？"]
    assert imp.items[0].id == "Q001" and imp.items[0].type == "fact" and imp.items[0].evidence == []
    assert imp.items[0].key_points == ["20%", "100万元"] and imp.auto_key_points == {"Q001"}
    notes = " ".join(imp.notes)
    assert "不计算检索召回率" in notes and "人群" in notes and "类型" in notes and "有效性" in notes


def test_english_headers_key_points_split_and_gbk(tmp_path: Path) -> None:
    f = tmp_path / "gold.csv"
    f.write_bytes("id,question,answer,key_points,type,persona\nA1,问,答,8‰；500万元;引荐人,numeric,企业\n".encode("gb18030"))
    it = import_gold(f).items[0]
    assert (it.id, it.key_points, it.type, it.persona) == ("A1", ["8‰", "500万元", "引荐人"], "numeric", "enterprise")


def test_xlsx_and_jsonl(tmp_path: Path) -> None:
    x = write_xlsx(tmp_path / "gold.xlsx", [["问题", "参考答案", "要点", "证据"], ["问一", "答一", "a;b", "一段证据原文"]])
    it = import_gold(x).items[0]
    assert (it.question, it.key_points, it.evidence) == ("问一", ["a", "b"], ["一段证据原文"])
    j = tmp_path / "gold.jsonl"
    j.write_text(json.dumps({"question": "问", "answer": "答"}, ensure_ascii=False) + "\n", encoding="utf-8")
    assert import_gold(j).items[0].question == "问"
    # a full eval/gold.jsonl imports to the same items as the strict loader
    assert import_gold(GOLD).items == load_gold(GOLD)


@pytest.mark.parametrize("content, suffix, words", [
    ("答案\n只有答案\n", ".csv", "找不到“问题”列"),
    ("", ".csv", "空的"),
    ("问题,类型\n问,奇怪\n", ".csv", "未知的类型"),
    ("{broken\n", ".jsonl", "不是有效的 JSON"),
    ("not a zip", ".xlsx", "不是有效的 Excel"),
    ("x", ".pdf", "不支持的文件类型"),
])
def test_errors_are_chinese_and_name_the_problem(tmp_path: Path, content: str, suffix: str, words: str) -> None:
    f = tmp_path / f"gold{suffix}"
    f.write_text(content, encoding="utf-8")
    with pytest.raises(GoldImportError, match=words):
        import_gold(f)


def test_figures_of() -> None:
    assert figures_of("按 20% 扶持，最多不超过 100 万元，3个工作日内") == ["20%", "100万元", "3个工作日"]


def _record(qid: str, kp: float | None, refused: bool = False, expected: str = "full", cited: float = 1.0) -> dict:
    return {"config": "hybrid", "id": qid, "type": "fact", "persona": "citizen", "question": f"问题{qid}", "reference": "答",
            "answer": {"answer": "回答", "citations": []}, "error": None, "retrieval": {"hits": []},
            "scores": {"kp_coverage": kp, "refused": refused, "expected_coverage": expected, "cited_sentences": cited,
                       "answerable": expected != "none", "recall_at": {}, "timings": {}}}


def test_runs_judgements_human_metrics_and_compare(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs")
    from qa.evaluate.metrics import summarize

    recs = [_record("Q1", 1.0), _record("Q2", 0.5), _record("Q3", 0.0), _record("Q4", None, refused=True, expected="none")]
    metrics = {"hybrid": summarize([])}
    a = store.save(store.new_id("gold.csv"), metrics, recs, {"gold_name": "gold.csv", "questions": 4})
    assert [auto_verdict(r) for r in recs] == ["correct", "partly", "wrong", "correct"]
    assert failure_tags(recs[2]) == ["kp"] and failure_tags(recs[0]) == []
    save_judgement(a.path, "Q1", "correct", "好")
    save_judgement(a.path, "Q2", "wrong", "漏了上限")
    save_judgement(a.path, "Q3", "wrong")
    a = store.load(a.run_id)  # reloaded with the run
    assert a.judgements["Q2"]["comment"] == "漏了上限"
    h = human_metrics(a.main_records(), a.judgements)
    assert h["n_judged"] == 3 and h["accuracy"] == pytest.approx(1 / 3) and h["agreement"] == pytest.approx(2 / 3)
    recs_b = [_record("Q1", 0.0), _record("Q2", 1.0), _record("Q3", 0.0), _record("Q4", None, refused=True, expected="none")]
    b = store.save(store.new_id("gold.csv"), metrics, recs_b, {"gold_name": "gold.csv", "questions": 4})
    c = compare_runs(a, b)
    assert c["counts"]["worse"] == 1 and c["counts"]["better"] == 1 and c["counts"]["same"] == 2
    assert c["rows"][0]["id"] == "Q1" and c["rows"][0]["change"] == "worse"
    assert [rid for _, rid in store.choices()] == [b.run_id, a.run_id]
    assert store.path("../etc") is None


def test_feedback_store_and_drafts(tmp_path: Path) -> None:
    from qa.app.feedback import FeedbackFull, FeedbackStore

    fb = FeedbackStore(tmp_path / "feedback.sqlite", max_rows=2)
    fid = fb.add("not_useful", "问？", "答[1]。", [{"doc_title": "某办法", "locator": "第一条", "quote": "一段足够长的引用原文，超过十五个字符。"}],
                 "full", {"regions": []}, "v1")
    fb.update(fid, comment="没说清楚")
    item = fb.get(fid)
    assert item["comment"] == "没说清楚" and item["citations"][0]["doc_title"] == "某办法" and item["index_version"] == "v1"
    draft = fb.to_draft(fid)
    assert draft["question"] == "问？" and draft["answer"] == "" and draft["feedback"]["comment"] == "没说清楚"
    assert fb.get(fid)["status"] == "drafted" and fb.drafts()[0]["id"] == f"FB{fid:04d}"
    assert import_gold(fb.drafts_path).items[0].question == "问？"  # the draft set runs in the workbench
    fb.add("useful", "问2", "答2", [], "full", {}, "v1")
    with pytest.raises(FeedbackFull):
        fb.add("useful", "问3", "答3", [], "full", {}, "v1")
