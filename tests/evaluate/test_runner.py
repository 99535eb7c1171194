"""`qa eval` end to end on a few real gold questions against a real index built in tmp; the evaluator tab logic."""

from __future__ import annotations

import csv
import json

import pytest

from qa.config import load_settings
from qa.evaluate.cli import eval_command
from qa.evaluate.gold import load_gold
from qa.evaluate.metrics import evidence_recall_at_k, key_point_coverage
from qa.evaluate.runner import EvalError, parse_config, parse_llm, run_eval, select_items, settings_for
from support import ROOT

GOLD = ROOT / "eval" / "gold.jsonl"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def eval_settings(seed_index):
    """The shared real index of seeds/ (tests/conftest.py), answered offline."""
    return seed_index.with_overrides(llm_base_url="")


@pytest.fixture(scope="session")
def items():
    picked = select_items(load_gold(GOLD), 8)
    assert {it.type for it in picked} >= {"unanswerable"}, "the round-robin pick must include an unanswerable question"
    return picked


@pytest.fixture(scope="session")
def report_dir(eval_settings, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    code = eval_command(GOLD, out, ["hybrid", "bm25"], None, None, 8, settings=eval_settings, progress=False)
    assert code == 0
    return out


def test_select_items_round_robin_over_types():
    gold = load_gold(GOLD)
    picked = select_items(gold, 7)
    assert len(picked) == 7
    assert len({it.type for it in picked}) == min(7, len({it.type for it in gold}))
    assert [gold.index(it) for it in picked] == sorted(gold.index(it) for it in picked)  # file order kept
    assert select_items(gold, None) == gold


def test_parse_config_and_llm():
    base = load_settings()
    cfg = parse_config("hybrid:rerank=false,top_k=5", base)
    assert (cfg.mode, cfg.overrides) == ("hybrid", {"rerank": False, "top_k": 5})
    s = settings_for(base, cfg, "qwen2.5@http://127.0.0.1:9/v1")
    assert (s.retrieval_mode, s.rerank, s.top_k, s.llm_base_url, s.llm_model) == ("hybrid", False, 5, "http://127.0.0.1:9/v1", "qwen2.5")
    assert parse_llm("http://127.0.0.1:8080/v1/qwen2.5-7b") == ("http://127.0.0.1:8080/v1", "qwen2.5-7b")
    assert parse_llm("http://127.0.0.1:8080/v1") == ("http://127.0.0.1:8080/v1", "")
    for bad in ("sparse", "bm25:nosuchfield=1", "bm25:top_k=many", "bm25:rerank"):
        with pytest.raises(EvalError):
            parse_config(bad, base)
    with pytest.raises(EvalError):
        parse_llm("not a url")


def test_check_reports_problems_and_exit_code(tmp_path, capsys):
    bad = tmp_path / "gold.jsonl"
    bad.write_text('{"id": "X1", "persona": "citizen", "type": "fact", "question": "q"}\n', encoding="utf-8")
    assert eval_command(None, None, None, None, bad, None) == 1
    out = capsys.readouterr().out
    assert "line 1" in out and "missing field" in out
    assert eval_command(None, None, None, None, None, None) == 2
    assert eval_command(tmp_path / "nope.jsonl", tmp_path / "r", ["hybrid"], None, None, 3) == 2


def test_bad_config_is_a_clear_error(eval_settings, capsys):
    assert eval_command(GOLD, None, ["sparse"], None, None, 2, settings=eval_settings, progress=False) == 2
    assert "unknown config" in capsys.readouterr().err


def test_report_files(report_dir, items):
    for name in ("metrics.json", "per_question.jsonl", "report.md", "report.html"):
        assert (report_dir / name).stat().st_size > 500, name
    metrics = json.loads((report_dir / "metrics.json").read_text(encoding="utf-8"))["configs"]
    assert list(metrics) == ["hybrid", "bm25", "quote-top2"]  # the baseline is added to every report
    assert "quote-top2" in (report_dir / "report.md").read_text(encoding="utf-8").split("## Headline")[1].split("##")[0]
    for name, m in metrics.items():
        o = m["overall"]
        assert o["n"] == 8 and o["n_unanswerable"] == sum(not it.answerable for it in items)
        assert set(m["by_type"]) == {it.type for it in items}
        assert set(m["by_persona"]) == {it.persona for it in items}
        assert sum(g["n"] for g in m["by_type"].values()) == 8
        assert o["errors"] == 0
        assert set(o["recall_at"]) == {"1", "3", "5", "10"} and {"1000", "2500"} <= set(o["recall_chars"])
        assert 0.0 <= o["recall_at"]["1"] <= o["recall_at"]["5"] <= o["recall_at"]["10"] <= 1.0
        assert o["recall_at"]["10"] > 0.3, f"{name}: the retriever finds almost no evidence"
        assert o["latency_ms"]["wall"]["p50"] > 0
        assert m["config"]["mode"] == ("hybrid" if name == "quote-top2" else name)  # the baseline retrieves hybrid
    md = (report_dir / "report.md").read_text(encoding="utf-8")
    assert "| hybrid |" in md and "| bm25 |" in md and "## By question type" in md and "Worst failures" in md
    page = (report_dir / "report.html").read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == 5
    assert "src=\"http" not in page and "<script" not in page  # opens offline


def test_per_question_records_are_consistent(report_dir, items):
    recs = [json.loads(ln) for ln in (report_dir / "per_question.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(recs) == 24  # 8 questions × (hybrid, bm25, the quote-top2 baseline)
    by_id = {it.id: it for it in items}
    for r in recs:
        it = by_id[r["id"]]
        assert r["question"] == it.question and r["reference"] == it.answer
        hits = r["retrieval"]["hits"]
        assert 10 <= len(hits) <= 30 and all(h["text"] for h in hits)
        assert [h["rank"] for h in hits] == sorted(h["rank"] for h in hits)
        assert r["answer"]["answer"] and isinstance(r["answer"]["refused"], bool)
        s = r["scores"]
        # the stored scores follow from the stored hits and answer
        texts = [h["text"] for h in hits]
        assert s["recall_at"].get("10") == evidence_recall_at_k(it.evidence, texts, 10)
        assert s["kp_coverage"] == key_point_coverage(it.key_points, r["answer"]["answer"])
        assert s["refused"] == r["answer"]["refused"]
        if it.answerable:
            assert all(set(h["evidence"]) <= set(range(len(it.evidence))) for h in hits)


def test_only_the_question_text_reaches_the_assistant(eval_settings, items):
    from qa.answer.pipeline import Assistant

    asked: list[tuple] = []

    class Recording(Assistant):
        def ask(self, question, history=None, filters=None):  # noqa: ANN001
            asked.append((question, history, filters))
            return super().ask(question, history, filters)

    metrics, records = run_eval(items[:3], ["dense"], eval_settings, assistant_factory=Recording, progress=False)
    # one warm-up call (kept out of the latency figures), then each question once, text only
    assert asked == [(items[0].question, None, None)] + [(it.question, None, None) for it in items[:3]]
    assert metrics["dense"]["overall"]["n"] == 3 and len(records) == 3


# ---------------------------------------------------------------- evaluator tab logic


# `assistant` is the shared session fixture of tests/conftest.py (real index, offline mode).


def test_evaluator_tab_flow(assistant, items, tmp_path):
    from qa.app.evaluator import COLUMNS, evaluate_items, export, load_items, set_judgement, summary, table_rows

    loaded, msg = load_items(None, str(GOLD))
    assert len(loaded) == len(load_gold(GOLD)) and str(len(loaded)) in msg
    empty, msg = load_items(None, str(tmp_path / "missing.jsonl"))
    assert empty == [] and "not found" in msg

    progress: list[tuple[int, int]] = []
    rows = evaluate_items(assistant, items[:4], lambda i, n: progress.append((i, n)))
    assert progress[0] == (0, 4) and progress[-1] == (4, 4)
    assert [r.id for r in rows] == [it.id for it in items[:4]]
    assert all(r.answer and r.error is None for r in rows)
    table = table_rows(rows)
    assert len(table) == 4 and all(len(row) == len(COLUMNS) for row in table)
    assert table[0][3] == items[0].answer  # reference beside the system answer

    rows, msg = set_judgement(rows, rows[1].id, "部分正确 partly", "  漏了上限 ")
    assert rows[1].judgement == "partly" and rows[1].comment == "漏了上限" and "已保存" in msg
    rows, msg = set_judgement(rows, rows[0].id, "wrong", "")
    rows, msg = set_judgement(rows, "NOPE", "correct", "")
    assert "NOPE" in msg
    rows, msg = set_judgement(rows, rows[0].id, "maybe", "")
    assert rows[0].judgement == "wrong" and "无效的评价" in msg
    assert "部分正确 1" in summary(rows) and "错误 1" in summary(rows)

    csv_path, json_path = export(rows, tmp_path / "out")
    with csv_path.open(encoding="utf-8-sig", newline="") as fh:
        got = list(csv.DictReader(fh))
    assert [g["id"] for g in got] == [r.id for r in rows]
    assert got[1]["judgement"] == "partly" and got[1]["comment"] == "漏了上限"
    assert got[0]["question"] == items[0].question
    data = json.loads(json_path.read_text(encoding="utf-8"))
    assert [d["judgement"] for d in data["rows"]] == ["wrong", "partly", "", ""]


def test_evaluator_tab_builds_inside_blocks(assistant):
    import gradio as gr

    from qa.app.evaluator import build_evaluator_tab

    with gr.Blocks() as demo:
        with gr.Tab("评测"):
            build_evaluator_tab(assistant)
    kinds = {type(b).__name__ for b in demo.blocks.values()}
    assert {"Dataframe", "File", "Radio", "Dropdown", "Button"} <= kinds
