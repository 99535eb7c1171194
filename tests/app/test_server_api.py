"""The real server over HTTP: JSON API, OpenAI-compatible API, gradio_client, API key."""

from __future__ import annotations

import json

import httpx
import pytest

from qa.app.ui import BUSINESS_EXAMPLES, CITIZEN_EXAMPLES

pytestmark = pytest.mark.slow

# Each example question on the page → a word of the document it must be answered from.
# Mechanism tests below use one plainly worded question whose answer is a single document.
Q = "兰山区政府投资项目变更要走什么程序？"
Q_DOC = "政府投资项目变更"

EXPECTED_DOC = {
    "我家狗要办证吗？": "养犬",
    "青岛哪些地方不能卖活禽？": "活禽",
    "养的狗没打狂犬疫苗找哪个部门？": "养犬",
    "在禁止区域卖活禽会被罚多少钱？": "活禽",
    "新上黄金深加工项目，设备投资能补多少？": "黄金",
    "兰山区政府投资项目变更要走什么程序？": "政府投资项目变更",
    "招远市对新引进的生物医药企业有什么扶持？": "生物医药",
}


def _ask(server, payload, **kw) -> httpx.Response:
    return httpx.post(server.url + "/api/ask", json=payload, timeout=120, **kw)


def _assert_error(r: httpx.Response, status: int) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert "Traceback" not in r.text
    return body["error"]


def test_health(server):
    h = httpx.get(server.url + "/api/health", timeout=10).json()
    assert h["status"] == "ok"
    assert h["documents"] >= 70 and h["chunks"] > h["documents"]
    assert h["mode"] == "extractive" and "离线" in h["mode_label"]
    assert "临沂市兰山区" in h["regions"] and "青岛市" in h["regions"]
    assert h["index"]["embedder_id"] and h["index"]["chunk_count"] == h["chunks"]
    assert h["api_key_required"] is False


def test_examples_are_answered_from_their_documents(server):
    assert set(CITIZEN_EXAMPLES + BUSINESS_EXAMPLES) == set(EXPECTED_DOC)
    wrong = {}
    for question, word in EXPECTED_DOC.items():
        a = _ask(server, {"question": question, "with_hits": False}).json()
        assert "hits" not in a
        titles = [c["doc_title"] for c in a["citations"]]
        if a["refused"] or not any(word in t for t in titles):
            wrong[question] = a["answer"][:120] if a["refused"] else titles
            continue
        c = a["citations"][0]
        assert f"[{c['marker']}]" in a["answer"] and c["quote"] and c["passage"] and c["locator"]
    assert not wrong, f"example questions on the page not answered from their documents: {wrong}"


def test_ask_with_history_and_filters(server):
    first = _ask(server, {"question": "兰山区政府投资项目变更要走什么程序？"}).json()
    assert first["hits"] and first["hits"][0]["doc_title"]
    follow = _ask(
        server,
        {
            "question": "那青岛呢？",
            "history": [
                {"role": "user", "content": "兰山区政府投资项目变更要走什么程序？"},
                {"role": "assistant", "content": first["answer"]},
            ],
        },
    ).json()
    assert follow["standalone_question"] != "那青岛呢？"  # rewritten with the earlier turn
    assert "青岛" in follow["standalone_question"]

    docs = httpx.get(server.url + "/api/documents", timeout=10).json()["documents"]
    qd = next(d for d in docs if d["region"] == "青岛市" and "活禽" in d["title"])
    scoped = _ask(server, {"question": "哪些地方不能卖活禽？", "filters": {"doc_ids": [qd["doc_id"]]}}).json()
    assert scoped["filters"]["doc_ids"] == [qd["doc_id"]]
    assert scoped["hits"] and all(h["doc_id"] == qd["doc_id"] for h in scoped["hits"])

    region = _ask(server, {"question": "政府投资项目变更程序", "filters": {"regions": ["青岛市"], "date_from": "2020-01-01"}}).json()
    assert all(h["region"] == "青岛市" for h in region["hits"])
    assert all(h["date"] >= "2020-01-01" for h in region["hits"] if h["date"])


@pytest.mark.parametrize(
    ("payload", "param"),
    [
        ({"question": ""}, "question"),
        ({"question": "   "}, "question"),
        ({"question": "狗" * 2001}, "question"),
        ({"question": 123}, "question"),
        ({}, "question"),
        ({"question": "狗", "history": "not a list"}, "history"),
        ({"question": "狗", "history": [{"role": "robot", "content": "x"}]}, "history.0.role"),
        ({"question": "狗", "filters": {"doc_ids": ["no-such-doc"]}}, "filters.doc_ids"),
        ({"question": "狗", "filters": {"date_from": "2022-01-01", "date_to": "2020-01-01"}}, "filters"),
        ({"question": "狗", "filters": {"date_from": "昨天"}}, "filters.date_from"),
        ({"question": "狗", "questoin": "typo"}, "questoin"),
    ],
)
def test_bad_requests_get_clear_json_errors(server, payload, param):
    err = _assert_error(_ask(server, payload), 422)
    assert err["param"] == param, err


def test_malformed_body_and_unknown_route(server):
    r = httpx.post(server.url + "/api/ask", content=b"{not json", headers={"content-type": "application/json"}, timeout=10)
    _assert_error(r, 422)
    _assert_error(httpx.get(server.url + "/api/nope", timeout=10), 404)
    _assert_error(httpx.get(server.url + "/api/ask", timeout=10), 405)


def test_openapi_schema(server):
    spec = httpx.get(server.url + "/openapi.json", timeout=10).json()
    for path in ("/api/ask", "/api/health", "/v1/chat/completions", "/v1/models"):
        assert path in spec["paths"], path
    assert "AskRequest" in spec["components"]["schemas"]


def test_openai_client(server):
    from openai import OpenAI

    client = OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0, timeout=120)
    assert [m.id for m in client.models.list().data] == ["policy-qa"]

    messages = [{"role": "system", "content": "ignored"}, {"role": "user", "content": Q}]
    done = client.chat.completions.create(model="policy-qa", messages=messages)
    content = done.choices[0].message.content
    sources = done.model_extra["sources"]
    assert done.choices[0].finish_reason == "stop"
    assert sources and any(Q_DOC in s["doc_title"] for s in sources)
    assert "参考来源：" in content and f"[1] 《{sources[0]['doc_title']}》" in content
    assert done.model_extra["refused"] is False

    chunks = list(client.chat.completions.create(model="policy-qa", messages=messages, stream=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    final = chunks[-1]
    assert final.choices[0].finish_reason == "stop"
    assert final.model_extra["sources"] == sources  # same answer, same sources
    assert content.startswith(final.model_extra["answer"])
    assert text == content  # streamed deltas add up to the non-streamed message

    with pytest.raises(Exception) as err:  # last message from the assistant is a client error
        client.chat.completions.create(model="policy-qa", messages=[{"role": "assistant", "content": "hi"}])
    assert getattr(err.value, "status_code", None) == 400


def test_sse_ends_with_done(server):
    body = {"model": "policy-qa", "stream": True, "messages": [{"role": "user", "content": Q}]}
    with httpx.stream("POST", server.url + "/v1/chat/completions", json=body, timeout=120) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        lines = [ln for ln in r.iter_lines() if ln]
    assert lines[-1] == "data: [DONE]"
    last = json.loads(lines[-2][len("data: "):])
    assert last["object"] == "chat.completion.chunk" and last["choices"][0]["finish_reason"] == "stop"
    assert any(Q_DOC in s["doc_title"] for s in last["sources"])


def test_gradio_client(server):
    from gradio_client import Client

    client = Client(server.url + "/", verbose=False)
    assert "/ask" in client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    text, sources_json = client.predict("新上黄金深加工项目，设备投资能补多少？", api_name="/ask")
    sources = json.loads(sources_json)
    assert sources and "[1]" in text
    assert any("黄金" in s["doc_title"] for s in sources)
    # with a filter that excludes the gold documents, the gold policy is not cited
    _, scoped = client.predict("新上黄金深加工项目，设备投资能补多少？", "青岛市", api_name="/ask")
    assert all(s["region"] == "青岛市" for s in json.loads(scoped))
    with pytest.raises(Exception, match="不能为空"):
        client.predict("  ", api_name="/ask")


def test_api_key_is_enforced(locked_server):
    url, key = locked_server.url, locked_server.api_key
    q = {"question": Q, "with_hits": False}
    assert httpx.get(url + "/api/health", timeout=10).json()["api_key_required"] is True  # health stays open
    err = _assert_error(httpx.post(url + "/api/ask", json=q, timeout=60), 401)
    assert err["code"] == "invalid_api_key"
    _assert_error(httpx.post(url + "/api/ask", json=q, headers={"Authorization": "Bearer wrong"}, timeout=60), 401)
    _assert_error(httpx.get(url + "/v1/models", timeout=10), 401)
    _assert_error(httpx.get(url + "/api/documents", timeout=10), 401)
    ok = httpx.post(url + "/api/ask", json=q, headers={"Authorization": f"Bearer {key}"}, timeout=60)
    assert ok.status_code == 200 and ok.json()["citations"]
    assert httpx.post(url + "/api/ask", json=q, headers={"X-API-Key": key}, timeout=60).status_code == 200

    from openai import AuthenticationError, OpenAI

    with pytest.raises(AuthenticationError):
        OpenAI(base_url=url + "/v1", api_key="wrong", max_retries=0).models.list()
    good = OpenAI(base_url=url + "/v1", api_key=key, max_retries=0, timeout=120)
    assert good.chat.completions.create(model="policy-qa", messages=[{"role": "user", "content": Q}]).model_extra["sources"]


def test_chat_password_is_enforced(locked_server):
    from gradio_client import Client

    assert httpx.get(locked_server.url + "/config", timeout=10).status_code == 401
    with pytest.raises(Exception):
        Client(locked_server.url + "/", verbose=False)
    client = Client(locked_server.url + "/", auth=locked_server.auth, verbose=False)
    text, sources = client.predict(Q, api_name="/ask")
    assert "[1]" in text and json.loads(sources)
