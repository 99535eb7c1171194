"""Validity in answers, filters, the CLI and the HTTP API, over the real seed index.

招政发〔2022〕8号 (黄金深加工扶持意见) ran 2022-02-07 — 2025-02-06: on 2023-06-01 it is in
force, on 2026-12-01 it has expired, and every answer resting on it must say so.
"""

from __future__ import annotations

import json
from datetime import date

import pytest

from qa.models import Answer, Filters

pytestmark = pytest.mark.slow

GOLD_Q = "新上黄金深加工项目，设备投资能补多少？"
GOLD_DOC = "招政发〔2022〕8号"
WARNING = "有效期至2025年2月6日，截至2026年12月1日已过有效期，现行政策请向招远市工业和信息化局咨询。"


@pytest.fixture(scope="module")
def index_settings(seed_index):
    return seed_index.with_overrides(rerank=False)


@pytest.fixture(scope="module")
def retriever(assistant):
    return assistant.retriever


def _cited(answer, number=GOLD_DOC):
    return [c for c in answer.citations if c.doc_number == number]


def test_as_of_decides_status_and_warning(assistant):
    then = assistant.ask(GOLD_Q, filters=Filters(as_of="2023-06-01"))
    now = assistant.ask(GOLD_Q, filters=Filters(as_of="2026-12-01"))
    assert _cited(then) and _cited(now)
    assert {c.validity["status"] for c in _cited(then)} == {"in_force"}
    assert {c.validity["status"] for c in _cited(now)} == {"expired"}
    assert _cited(now)[0].validity == {
        "status": "expired", "effective_date": "2022-02-07", "expiry_date": "2025-02-06", "repealed_by": None, "as_of": "2026-12-01"
    }
    assert "注意" not in then.text and WARNING not in then.text
    markers = "".join(f"[{c.marker}]" for c in _cited(now))
    assert f"注意：该意见{markers}{WARNING}" in now.text
    assert then.filters.as_of == "2023-06-01" and now.filters.as_of == "2026-12-01"
    # the answer itself (figures, citations) is the same; only the validity differs
    assert [c.chunk_id for c in then.citations] == [c.chunk_id for c in now.citations]


def test_default_as_of_is_today(assistant):
    a = assistant.ask(GOLD_Q)
    assert a.citations and all(c.validity["as_of"] == date.today().isoformat() for c in a.citations)
    expired_today = date.today().isoformat() > "2025-02-06"
    assert (WARNING.split("，截至")[0] in a.text) == expired_today


def test_streamed_text_carries_the_warning(assistant):
    pieces, answer = [], None
    for item in assistant.stream(GOLD_Q, filters=Filters(as_of="2026-12-01")):
        if isinstance(item, Answer):
            answer = item
        else:
            pieces.append(item)
    assert answer is not None and "".join(pieces) == answer.text
    assert WARNING in pieces[-1]


def test_in_force_filter(retriever):
    now = retriever.run(GOLD_Q, k=8, filters=Filters(in_force=True, as_of="2026-12-01"))
    assert now.hits and GOLD_DOC not in {h.document.number for h in now.hits}
    assert now.filters.in_force and now.filters.as_of == "2026-12-01"
    then = retriever.run(GOLD_Q, k=8, filters=Filters(in_force=True, as_of="2023-06-01"))
    assert then.hits[0].document.number == GOLD_DOC
    # documents stating no term are kept (in force until repealed); expired ones never come back
    from qa.ingest.validity import status

    assert all(status(h.document, "2026-12-01") in ("in_force", "unknown") for h in now.hits)
    region = retriever.run("兰山区政府投资项目变更要走什么程序？", k=8, filters=Filters(in_force=True, as_of="2026-12-01"))
    assert "临兰政办发〔2022〕11号" not in {h.document.number for h in region.hits}  # expired 2025-09-30


def test_validity_questions_are_answered_with_status_dates_and_article(assistant):
    a = assistant.ask("招远那个黄金深加工扶持意见现在还能申请吗？", filters=Filters(as_of="2026-12-01"))
    assert _cited(a)
    assert WARNING in a.text and "“本意见自公布之日起实施，有效期三年。”" in a.text
    b = assistant.ask("招远那个黄金深加工扶持意见现在还能申请吗？", filters=Filters(as_of="2023-06-01"))
    assert "截至2023年6月1日仍在有效期内" in b.text
    c = assistant.ask("青岛活禽交易管理办法有没有到期时间？", filters=Filters(as_of="2026-12-01"))
    assert _cited(c, "青岛市人民政府令第279号")
    assert "自2020年11月1日起施行，文件未规定有效期" in c.text and "第十七条" in c.text


def test_cli_ask_and_search(monkeypatch, index_settings, capsys):
    from typer.testing import CliRunner

    from qa.cli import app
    from qa.retrieve.cli import search_command

    monkeypatch.setenv("QA_INDEX_DIR", str(index_settings.index_dir))
    monkeypatch.setenv("QA_CACHE_DIR", str(index_settings.cache_dir))
    runner = CliRunner()
    r = runner.invoke(app, ["ask", GOLD_Q, "--as-of", "2026-12-01"])
    assert r.exit_code == 0, r.output
    assert WARNING in r.output and "〔已过有效期 2022-02-07—2025-02-06，截至2026-12-01〕" in r.output
    r = runner.invoke(app, ["ask", GOLD_Q, "--as-of", "2023-06-01", "--json"])
    data = json.loads(r.output)
    assert {c["validity"]["status"] for c in data["citations"] if c["doc_number"] == GOLD_DOC} == {"in_force"}
    assert data["filters"]["as_of"] == "2023-06-01"
    r = runner.invoke(app, ["ask", GOLD_Q, "--as-of", "2023-13-01"])
    assert r.exit_code == 2 and "--as-of" in r.output

    search_command(GOLD_Q, k=5, as_json=False, mode="hybrid", in_force=True, as_of="2026-12-01")
    out = capsys.readouterr().out
    assert "只看现行有效（2026-12-01）" in out and GOLD_DOC not in out
    search_command(GOLD_Q, k=3, as_json=True, mode="hybrid", as_of="2026-12-01")
    hits = json.loads(capsys.readouterr().out)["hits"]
    assert hits[0]["doc_number"] == GOLD_DOC and hits[0]["validity"]["status"] == "expired"


@pytest.fixture(scope="module")
def client(assistant, index_settings):
    from fastapi.testclient import TestClient

    from qa.app.api import create_api
    from qa.app.service import SharedAssistant

    return TestClient(create_api(SharedAssistant(assistant), index_settings.with_overrides(rate_limit_per_minute=0)))


def test_api_ask_as_of_and_in_force(client):
    now = client.post("/api/ask", json={"question": GOLD_Q, "as_of": "2026-12-01", "with_hits": False}).json()
    cited = [c for c in now["citations"] if c["doc_number"] == GOLD_DOC]
    assert cited and {c["validity"]["status"] for c in cited} == {"expired"} and WARNING in now["answer"]
    then = client.post("/api/ask", json={"question": GOLD_Q, "as_of": "2023-06-01", "with_hits": False}).json()
    assert {c["validity"]["status"] for c in then["citations"] if c["doc_number"] == GOLD_DOC} == {"in_force"}
    only = client.post("/api/ask", json={"question": GOLD_Q, "as_of": "2026-12-01", "filters": {"in_force": True}}).json()
    assert only["filters"]["in_force"] is True
    assert GOLD_DOC not in {c["doc_number"] for c in only["citations"]} | {h["doc_number"] for h in only["hits"]}
    bad = client.post("/api/ask", json={"question": GOLD_Q, "as_of": "2023-02-30"})
    assert bad.status_code == 422 and bad.json()["error"]["param"].startswith("as_of")


def test_api_openai_sources_carry_validity(client):
    body = {"messages": [{"role": "user", "content": GOLD_Q}], "as_of": "2026-12-01"}
    r = client.post("/v1/chat/completions", json=body).json()
    assert WARNING in r["choices"][0]["message"]["content"]
    assert {s["validity"]["status"] for s in r["sources"] if s["doc_number"] == GOLD_DOC} == {"expired"}


def test_api_documents_list_status_and_dates(client):
    docs = {d["number"]: d for d in client.get("/api/documents", params={"as_of": "2026-12-01"}).json()["documents"]}
    d = docs[GOLD_DOC]
    assert (d["status"], d["status_label"], d["effective_date"], d["expiry_date"], d["as_of"]) == (
        "expired", "已过有效期", "2022-02-07", "2025-02-06", "2026-12-01"
    )
    assert d["validity"]["interpreter"] == "招远市工业和信息化局"
    then = {d["number"]: d for d in client.get("/api/documents", params={"as_of": "2023-06-01"}).json()["documents"]}
    assert then[GOLD_DOC]["status"] == "in_force"
    statuses = [x["status"] for x in docs.values()]
    assert statuses.count("expired") == 8 and statuses.count("in_force") == 6


def test_eval_runner_asks_once_per_date_and_scores_validity(assistant):
    from qa.evaluate.gold import load_gold
    from qa.evaluate.runner import EvalRunner, RunConfig

    items = {i.id: i for i in load_gold("eval/gold_validity.jsonl")}
    runner = EvalRunner(assistant, RunConfig("hybrid", "hybrid"), progress=False, warmup=False)
    rec = runner.run_one(items["V06"])  # 兰山 政府投资项目变更: not yet effective, in force, expired
    observed = rec["validity"]["observed"]
    assert list(observed) == ["2022-09-01", "2024-06-01", "2026-12-01"]
    assert [o["validity"][0]["status"] for o in observed.values()] == ["not_yet_effective", "in_force", "expired"]
    assert rec["scores"]["validity_accuracy"] == 1.0 and rec["scores"]["validity_dates"] is True
    assert "validity" not in runner.run_one(items["V11"])  # unanswerable: no validity block
