"""Security of the real server, and a short load test.

* bind: loopback by default; on another address without protection a loud warning (and it binds);
* auth: API key on /api and /v1 (incl. streaming chat), chat password on every Gradio route
  (tests/app/test_server_api.py covers /api/ask, /v1/models, /api/documents, /config and the
  gradio_client login; this adds the rest);
* limits: request bodies over 4 MB → 413 (declared or chunked), per-client rate limit → 429;
* no endpoint reads arbitrary paths: Gradio file routes, static routes, the evaluator tab's
  gold-file path box and crafted upload references (Gradio does not check FileData paths in
  a mounted app — see docs/RELIABILITY.md);
* no secret (API key, LLM key, password in the LLM URL, chat password) ever appears in a
  response or in the server log, including on failing requests;
* 8 concurrent clients for ~10 s (JSON API and Gradio API): no errors, no mixed-up answers.
"""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from qa.serving import ServeError, ServeProcess, free_port, server_env
from support import ROOT

pytestmark = pytest.mark.slow

LLM_USER = "llm-url-user"
SECRETS = {
    "QA_API_KEY": "apikey-SECRET-7c1d93e0",
    "QA_LLM_API_KEY": "llmkey-SECRET-4be8f215",
    "url password": "urlpw-SECRET-90a3c6d7",
    "chat password": "uipw-SECRET-2f6b8e41",
}
API_KEY = SECRETS["QA_API_KEY"]
Q = "新上黄金深加工项目，设备投资能补多少？"
RATE = 30  # requests per client per minute on the secrets server (the page's API and /login count too)


def _listening(port: int) -> set[str]:
    """Local addresses a socket on `port` listens on, from /proc/net/tcp{,6} (Linux)."""
    out = set()
    for name in ("tcp", "tcp6"):
        try:
            rows = Path(f"/proc/net/{name}").read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            local, state = row.split()[1], row.split()[3]
            addr, hexport = local.split(":")
            if state == "0A" and int(hexport, 16) == port:  # 0A = LISTEN
                if name == "tcp":
                    out.add(socket.inet_ntoa(bytes.fromhex(addr)[::-1]))
                else:
                    out.add("::" if set(addr) == {"0"} else addr)
    return out


def start_cli_server(index_dir: Path, log: Path, args: list[str], env: dict[str, str], timeout: float = 240) -> ServeProcess:
    """The real `python -m qa.cli serve --port N --no-build …` (no --host unless in `args`; default log
    level: access logs included)."""
    full = server_env(index_dir, os.environ.get("QA_TEST_EMBED_CACHE", ""), **env)
    p = ServeProcess(full, ["--no-build", *args], host=None, log=log, start_timeout=timeout, poll=0.3)
    try:
        return p.start()
    except ServeError as exc:
        pytest.fail(str(exc))


def from_address(source: str, **kw) -> httpx.Client:  # noqa: ANN003
    """A client connecting from another loopback address: another client for the rate limit."""
    return httpx.Client(transport=httpx.HTTPTransport(local_address=source), timeout=60, **kw)


# --- bind address -------------------------------------------------------------------------------


def test_exposed_bind_warns_loudly_and_still_binds(server, app_index_dir: Path, tmp_path: Path) -> None:  # noqa: ANN001
    p = start_cli_server(app_index_dir, tmp_path / "exposed.log", ["--host", "0.0.0.0"], {})
    try:
        assert _listening(p.port) == {"0.0.0.0"}
        out = p.output()
        assert "警告 / WARNING" in out and "reachable from other machines" in out
        assert "NO password" in out and "QA_AUTH" in out and "NO API key" in out and "QA_API_KEY" in out
    finally:
        p.stop()  # right away: nothing should stay exposed


def test_a_port_taken_before_the_server_binds_it_is_picked_again(server, app_index_dir: Path, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    # free_port() answers a port that was free a moment ago; another process may listen on it before the
    # server binds (seen once in CI: "address already in use"). The server is started on a new port.
    import socket

    import qa.serving

    taken = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    taken.bind(("0.0.0.0", 0))
    taken.listen()
    busy = taken.getsockname()[1]
    ports = iter([busy])
    real = qa.serving.free_port
    monkeypatch.setattr(qa.serving, "free_port", lambda host=qa.serving.LOOPBACK: next(ports, None) or real(host))
    try:
        p = start_cli_server(app_index_dir, tmp_path / "retry.log", ["--host", "0.0.0.0"], {})
        try:
            assert p.port != busy and _listening(p.port) == {"0.0.0.0"}
        finally:
            p.stop()
    finally:
        taken.close()


# --- a server with every secret configured ---------------------------------------------------------


@pytest.fixture(scope="module")
def locked(server, app_index_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:  # noqa: ANN001
    """API key, chat password, an LLM key and a password in an unreachable LLM URL, a low rate limit."""
    env = {
        "QA_API_KEY": API_KEY,
        "QA_LLM_API_KEY": SECRETS["QA_LLM_API_KEY"],
        "QA_LLM_BASE_URL": f"http://{LLM_USER}:{SECRETS['url password']}@127.0.0.1:{free_port()}/v1",  # closed port
        "QA_LLM_MODEL": "m",
        "QA_AUTH": f"reader:{SECRETS['chat password']}",
        "QA_RATE_LIMIT_PER_MINUTE": str(RATE),
    }
    p = start_cli_server(app_index_dir, tmp_path_factory.mktemp("logs") / "secrets.log", [], env)  # default host
    yield p
    p.stop()


def test_default_bind_is_loopback(locked: ServeProcess) -> None:
    assert _listening(locked.port) == {"127.0.0.1"}
    assert f"http://127.0.0.1:{locked.port}" in locked.output() and "WARNING" not in locked.output()


def _login(url: str, password: str) -> httpx.Client:
    c = httpx.Client(base_url=url, timeout=60)
    r = c.post("/login", data={"username": "reader", "password": password})
    assert r.status_code == (200 if password == SECRETS["chat password"] else 400), r.text
    return c


def test_api_key_on_streaming_chat_and_every_route(locked: ServeProcess) -> None:
    u = locked.url
    body = {"model": "policy-qa", "messages": [{"role": "user", "content": Q}]}
    for kw in ({}, {"headers": {"Authorization": "Bearer wrong"}}, {"headers": {"X-API-Key": ""}},
               {"headers": {"Authorization": f"Basic {API_KEY}"}}, {"params": {"api_key": "wrong"}}):  # fmt: skip
        r = httpx.post(u + "/v1/chat/completions", json=body, timeout=30, **kw)
        assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key", (kw, r.text)
        with httpx.stream("POST", u + "/v1/chat/completions", json={**body, "stream": True}, timeout=30, **kw) as s:
            assert s.status_code == 401 and "data:" not in s.read().decode()
    for method, path in (("GET", "/api/documents"), ("POST", "/api/ask"), ("GET", "/v1/models")):
        assert httpx.request(method, u + path, headers={"X-API-Key": API_KEY[:-1]}, timeout=30).status_code == 401


def test_chat_password_on_every_gradio_route(locked: ServeProcess) -> None:
    u = locked.url
    anonymous = [("GET", "/config"), ("GET", "/gradio_api/info"), ("POST", "/gradio_api/call/ask"),
                 ("POST", "/gradio_api/queue/join"), ("POST", "/gradio_api/upload"), ("POST", "/gradio_api/run/ask")]  # fmt: skip
    for method, path in anonymous:
        r = httpx.request(method, u + path, json={"data": [Q], "fn_index": 0, "session_hash": "x"}, timeout=30)
        assert r.status_code == 401, (path, r.status_code, r.text[:200])
    _login(u, "wrong-password").close()
    with closing(_login(u, SECRETS["chat password"])) as c:
        assert c.get("/config").status_code == 200


# --- request size and rate limit --------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/ask", "/v1/chat/completions"])
def test_five_megabyte_body_is_refused_quickly(server, path: str) -> None:  # noqa: ANN001
    big = json.dumps({"question": "狗" * (5 * 1024 * 1024 // 3), "messages": [{"role": "user", "content": "狗"}]}).encode()
    t0 = time.monotonic()
    r = httpx.post(server.url + path, content=big, headers={"content-type": "application/json"}, timeout=30)
    assert r.status_code == 413 and r.json()["error"]["code"] == "request_too_large", r.text[:300]
    assert "4 MB" in r.json()["error"]["message"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit must count the streamed bytes
        for i in range(0, len(big), 256 * 1024):
            yield big[i : i + 256 * 1024]

    r = httpx.post(server.url + path, content=chunks(), headers={"content-type": "application/json"}, timeout=30)
    assert r.status_code == 413, r.text[:300]
    assert time.monotonic() - t0 < 10
    assert httpx.get(server.url + "/api/health", timeout=10).status_code == 200


def test_rate_limit_returns_429_per_client(locked: ServeProcess) -> None:
    headers = {"X-API-Key": API_KEY}
    with from_address("127.0.0.2", base_url=locked.url, headers=headers) as one:
        # invalid questions count too (hammering with bad requests is still hammering); they are quick
        for _ in range(RATE - 1):
            assert one.post("/api/ask", json={"question": "  "}).status_code == 422
        assert one.post("/api/ask", json={"question": Q, "with_hits": False}).status_code == 200
        limited = one.post("/api/ask", json={"question": Q})
        assert limited.status_code == 429, limited.text
        err = limited.json()["error"]
        assert err["code"] == "rate_limited" and "rate limit" in err["message"]
        assert 1 <= int(limited.headers["Retry-After"]) <= 61
        chat = one.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": Q}]})
        assert chat.status_code == 429  # one budget per client across both APIs
        assert one.get("/api/health").status_code == 200  # monitoring is never limited
    with from_address("127.0.0.3", base_url=locked.url, headers=headers) as other:
        assert other.post("/api/ask", json={"question": Q, "with_hits": False}).status_code == 200


# --- no arbitrary paths -------------------------------------------------------------------------

TRAVERSAL = [
    "/file=../../etc/passwd", "/file=/etc/passwd", "/gradio_api/file=/etc/passwd", "/gradio_api/file=%2Fetc%2Fpasswd",
    "/gradio_api/file=..%2F..%2F..%2Fetc%2Fpasswd", "/gradio_api/file=../../../../etc/passwd",
    "/gradio_api/file=/proc/self/environ", "/gradio_api/file=pyproject.toml", "/gradio_api/file={root}/pyproject.toml",
    "/gradio_api/file={root}/seeds/000_3ea1e19526f9a4bf.txt", "/gradio_api/file={index}/CURRENT",
    "/static/../../pyproject.toml", "/static/%2e%2e/%2e%2e/pyproject.toml", "/assets/../../../etc/passwd",
    "/gradio_api/static/../../../../etc/passwd", "/gradio_api/assets/..%2f..%2f..%2fpyproject.toml",
    "/..%2f..%2f..%2fetc%2fpasswd", "/api/..%2f..%2fpyproject.toml", "/v1/../../etc/passwd",
    "/gradio_api/file=%252e%252e%252fpyproject.toml", "/gradio_api/file=\\..\\..\\pyproject.toml",
    "/gradio_api/proxy=file:///etc/passwd", "/favicon.ico/../../pyproject.toml",
]  # fmt: skip
LEAKS = ["root:x:0:0", "[build-system]", "policy-qa-index", "QA_INDEX_DIR=", "招远市人民政府关于印发", "gen-20"]


def _raw_get(port: int, path: str) -> tuple[int, bytes]:
    import http.client

    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("GET", path)  # sent as is: no client-side normalisation of ../ or %2e
    r = c.getresponse()
    return r.status, r.read()


@pytest.mark.parametrize("template", TRAVERSAL)
def test_no_path_traversal(server, app_index_dir: Path, template: str) -> None:  # noqa: ANN001
    path = template.format(root=ROOT, index=app_index_dir)
    status, body = _raw_get(int(server.url.rsplit(":", 1)[1]), path)
    text = body.decode("utf-8", errors="replace")
    assert not any(leak in text for leak in LEAKS), (path, status, text[:200])
    if status == 200:  # only the chat page itself may answer (a SPA fallback), never a file
        assert text.lstrip().lower().startswith(("<!doctype html", "<html", "<svg")), (path, text[:200])


def _queue_call(c: httpx.Client, fn_index: int, data: list) -> str:
    """Call a Gradio event the way the browser does (queue/join + SSE), return the raw event text."""
    session = uuid.uuid4().hex[:12]
    r = c.post("/gradio_api/queue/join", json={"data": data, "fn_index": fn_index, "session_hash": session})
    assert r.status_code == 200, r.text
    out = []
    with c.stream("GET", "/gradio_api/queue/data", params={"session_hash": session}) as s:
        for line in s.iter_lines():
            out.append(line)
            if "process_completed" in line:
                break
    return "\n".join(out)


def _evaluator_fn(c: httpx.Client) -> int:
    """fn_index of the 评测 tab's run event (a private event: no api_name, but the browser calls it)."""
    cfg = c.get("/config").json()
    labels = {x["id"]: str(x.get("props", {}).get("label", "")) for x in cfg["components"]}
    return next(d["id"] for d in cfg["dependencies"] if d["inputs"] and "上传评测集" in labels.get(d["inputs"][0], ""))


def test_evaluator_tab_reads_no_arbitrary_file(locked: ServeProcess, tmp_path: Path) -> None:
    """The 评测 tab takes a typed path or an uploaded file: neither may point anywhere on the server."""
    planted = tmp_path / "secret.jsonl"  # a valid gold file outside eval/, with recognisable content
    item = {"id": "S1", "persona": "citizen", "type": "fact", "question": "PLANTED-QUESTION-5d2a?",
            "answer": "PLANTED-ANSWER", "key_points": [], "evidence": [], "source": None}  # fmt: skip
    planted.write_text(json.dumps(item) + "\n", encoding="utf-8")
    with closing(_login(locked.url, SECRETS["chat password"])) as c:
        fn = _evaluator_fn(c)
        for upload, typed in [
            (None, str(planted)),
            (None, "/etc/passwd"),
            (None, "eval/../pyproject.toml"),
            ({"path": str(planted), "meta": {"_type": "gradio.FileData"}}, ""),  # a crafted upload reference
        ]:
            events = _queue_call(c, fn, [upload, typed, 1])
            assert "PLANTED" not in events and "root:x" not in events and "[build-system]" not in events, events[-500:]
            # a typed path: our message; a crafted reference: Gradio's own check rejects the event
            assert ("只能读取" in events) if upload is None else ('"success":false' in events), events[-500:]
        # the intended uses still work: the project's gold file (first question only)
        events = _queue_call(c, fn, [None, "eval/gold.jsonl", 1])
        assert "已载入" in events and "只能读取" not in events, events[-500:]


# --- secrets ------------------------------------------------------------------------------------


def test_secrets_never_in_responses_or_logs(locked: ServeProcess) -> None:
    u = locked.url
    seen: list[str] = []

    def keep(r: httpx.Response) -> httpx.Response:
        seen.append(f"{r.status_code} {dict(r.headers)} {r.text}")
        return r

    keep(httpx.get(u + "/api/health", timeout=30))
    keep(httpx.get(u + "/openapi.json", timeout=30))
    keep(httpx.get(u + "/docs", timeout=30))
    keep(httpx.post(u + "/api/ask", json={"question": Q}, timeout=60))  # 401
    keep(httpx.post(u + "/api/ask", json={"question": Q}, headers={"Authorization": f"Bearer {API_KEY}x"}, timeout=60))
    ok = keep(httpx.post(u + "/api/ask", json={"question": Q}, headers={"X-API-Key": API_KEY}, timeout=60))
    assert ok.status_code == 200
    answer = ok.json()
    # the LLM is unreachable: the offline answer says so, naming the endpoint without its password
    assert answer["mode"] == "extractive" and "离线摘录" in answer["notice"] and "127.0.0.1" in answer["notice"]
    keep(httpx.post(u + "/api/ask", json={"question": ""}, headers={"X-API-Key": API_KEY}, timeout=60))  # 422
    with httpx.stream("POST", u + "/v1/chat/completions", headers={"X-API-Key": API_KEY}, timeout=60,
                      json={"stream": True, "messages": [{"role": "user", "content": Q}]}) as s:  # fmt: skip
        seen.append(s.read().decode())
    keep(httpx.post(u + "/v1/chat/completions", json={"messages": []}, headers={"X-API-Key": API_KEY}, timeout=60))
    keep(httpx.get(u + "/v1/nope", headers={"X-API-Key": API_KEY}, timeout=30))
    keep(httpx.post(u + "/login", data={"username": "reader", "password": "wrong"}, timeout=30))
    with closing(_login(u, SECRETS["chat password"])) as c:
        keep(c.get("/config"))
        keep(c.get("/gradio_api/info"))
        seen.append(_queue_call(c, _evaluator_fn(c), [None, "/nonexistent/gold.jsonl", 1]))
    from gradio_client import Client

    client = Client(u + "/", auth=("reader", SECRETS["chat password"]), verbose=False, analytics_enabled=False,
                    download_files=False)  # fmt: skip
    seen.append(repr(client.predict(Q, api_name="/ask")))
    client.close()

    time.sleep(0.5)  # let the access log flush
    everything = "\n".join(seen)
    log = locked.output()
    assert "GET /api/health" in log  # the access log is on, so requests were logged
    for name, secret in SECRETS.items():
        assert secret not in everything, f"{name} leaked in a response"
        assert secret not in log, f"{name} leaked in the server log"
    # the LLM URL's user name is stripped too (a name of its own: the page has a 文件管理 "admin" tab)
    assert LLM_USER not in everything


# --- short load test (the long one is eval/loadtest.py) ---------------------------------------------


def _loadtest():  # noqa: ANN202
    spec = importlib.util.spec_from_file_location("qa_loadtest", ROOT / "eval" / "loadtest.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules["qa_loadtest"] = mod  # dataclasses look their module up while the class is built
    spec.loader.exec_module(mod)
    return mod


def test_short_load_no_errors_no_mixups(server) -> None:  # noqa: ANN001
    lt = _loadtest()
    expected = lt.baseline(server.url, lt.load_questions(ROOT / "eval" / "gold.jsonl", 24, seed=3))
    # the mix-up check can fail: an answer to another question is caught
    a, b = list(expected.values())[:2]
    fake = {"question": a.question, "standalone_question": a.standalone, "answer": b.text,
            "citations": [{"chunk_id": x} for x in b.chunk_ids]}  # fmt: skip
    assert lt._check_api(fake, a) and not lt._check_api(
        {"question": a.question, "standalone_question": a.standalone, "answer": a.text,
         "citations": [{"chunk_id": x} for x in a.chunk_ids]}, a)  # fmt: skip
    # each API client from its own loopback address: 8 users, each under the default per-client limit
    result = lt.run_load(server.url, expected, clients=8, seconds=10, gradio_clients=2, distinct_sources=True)
    assert result.errors == 0, result.error_examples
    assert result.mixups == 0, result.mixup_examples
    assert result.per_channel["api"] >= 12 and result.per_channel["gradio"] >= 2, result
    assert 9 <= result.seconds < 60 and result.min_per_client >= 1  # every client ran, nothing hung
    assert httpx.get(server.url + "/api/health", timeout=10).status_code == 200
