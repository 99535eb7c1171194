"""Hostile and careless clients against real `qa serve` processes (issue 16, docs/RELIABILITY.md).

Every attack runs while a `Watch` keeps asking an ordinary question from another client
(another loopback address) and polling /api/health. Each attack asserts:

* the ordinary question is answered (200, a cited answer) within ORDINARY_S every time;
* /api/health answers within HEALTH_S every time (both × the machine's slowness, measured once);
* the server's resident memory grows less than the attack's stated bound;
* the refused requests get the right status and a message;
* the attack itself finishes within its time bound.

Three servers share the session's index: an open one (no password, no key), one with only an
API key (the page stays public, by design), one with a page password and a key. Attackers use
their own loopback addresses (Linux routes all of 127/8 to lo), so each is its own client.
The figures printed with `-s` are the ones in docs/RELIABILITY.md.
"""

from __future__ import annotations

import json
import select
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.conftest import Server, start_server, stop_server  # tests/app/conftest.py: the real-server helpers
from qa.serving import free_port
from support import ROOT

pytestmark = pytest.mark.slow

ORDINARY_S = 2.0  # an ordinary question from another client, answered end to end
HEALTH_S = 0.2  # /api/health
# … both on the machine the bounds were set on, where a question as long as a typed one is answered alone in
# about LONG_REF_S; on a slower machine (or one shared with other work) both bounds grow by how much slower it
# answers that question, so they still say "no stall", not "a fast machine" (slowness)
LONG_REF_S = 0.25
ORDINARY_Q = "我家狗要办证吗？"
LONG_Q = ("新上黄金深加工项目，设备投资能补多少？" * 106)[:2000]  # as long as a typed question may be
PASSWORD = "pw-hostile-51c2"
KEY = "key-hostile-8e07"
FIGURES: dict[str, str] = {}  # attack → what was measured (printed at the end of the module)


def rss_mb(server: Server) -> float:
    for line in Path(f"/proc/{server.proc.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


_SLOWNESS: dict[str, float] = {}


def slowness(server: Server) -> float:
    """How much slower than the reference machine this one answers a long question alone (≥ 1), once per
    server: each server's fixture measures it as it starts, before any attack can have slowed it."""
    if server.url not in _SLOWNESS:
        with client(server, "127.0.0.250", headers={"X-API-Key": KEY}) as c:
            times = []
            for _ in range(3):
                t = time.perf_counter()
                c.post("/api/ask", json={"question": LONG_Q, "with_hits": False})
                times.append(time.perf_counter() - t)
        _SLOWNESS[server.url] = max(1.0, min(times[1:]) / LONG_REF_S)
        print(f"\n[machine] a long question alone: {min(times[1:]):.2f} s; bounds × {_SLOWNESS[server.url]:.2f}")
    return _SLOWNESS[server.url]


def client(server: Server, source: str, timeout: float = 60, **kw: Any) -> httpx.Client:
    """An HTTP client from its own loopback address: its own client for the server's limits."""
    return httpx.Client(base_url=server.url, transport=httpx.HTTPTransport(local_address=source), timeout=timeout, **kw)


# The watcher runs in its own process: in the test process its timings would include waiting for
# the attackers' threads (one GIL), which says nothing about the server.
WATCHER = r"""
import json, sys, threading, time
import httpx
url, key, out, stop_file, question = sys.argv[1:6]
res = {"ask_s": [], "health_s": [], "failures": [], "slowest": [0, ""]}
def client(source):
    return httpx.Client(base_url=url, transport=httpx.HTTPTransport(local_address=source), timeout=60,
                        headers={"X-API-Key": key} if key else {})
def stopped():
    try:
        open(stop_file).close()
        return True
    except OSError:
        return False
def ask():
    with client("127.0.0.2") as c:
        while not stopped():
            t = time.perf_counter()
            try:
                r = c.post("/api/ask", json={"question": question, "with_hits": False})
                if r.status_code != 200 or not r.json()["citations"]:
                    res["failures"].append(f"ordinary question: {r.status_code} {r.text[:200]}")
            except httpx.HTTPError as exc:
                res["failures"].append(f"ordinary question: {type(exc).__name__}")
            res["ask_s"].append(time.perf_counter() - t)
            time.sleep(0.6)  # ~100 a minute: under the default per-client limit of 120
def health():
    with client("127.0.0.3") as c:
        while not stopped():
            for path in ("/api/health", "/theme.css"):  # monitoring, and a static file of the page
                t = time.perf_counter()
                try:
                    ok = c.get(path).status_code == 200
                except httpx.HTTPError:
                    ok = False
                dt = time.perf_counter() - t
                res["health_s"].append(dt)
                res["slowest"] = max(res["slowest"], [dt, path])
                if not ok:
                    res["failures"].append(f"{path} failed")
            time.sleep(0.1)
threads = [threading.Thread(target=f) for f in (ask, health)]
for t in threads:
    t.start()
for t in threads:
    t.join()
with open(out, "w") as fh:
    json.dump(res, fh)
"""


@dataclass
class Watch:
    """Meanwhile, an ordinary citizen asks and a monitor polls health and a static file, each from
    its own address, in a process of their own; the server's memory is sampled."""

    server: Server
    key: str = ""
    ask_s: list[float] = field(default_factory=list)
    health_s: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    slowest: tuple[float, str] = (0.0, "")
    rss: list[float] = field(default_factory=list)

    @contextmanager
    def running(self) -> Iterator["Watch"]:
        import subprocess
        import sys
        import tempfile

        work = Path(tempfile.mkdtemp(prefix="qa-watch-"))
        stop, out = work / "stop", work / "out.json"
        proc = subprocess.Popen([sys.executable, "-c", WATCHER, self.server.url, self.key, str(out), str(stop), ORDINARY_Q])
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                self.rss.append(rss_mb(self.server))
                done.wait(0.1)

        self.rss.append(rss_mb(self.server))
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        time.sleep(1.5)  # the watcher has started and has a first sample before the attack
        try:
            yield self
        finally:
            time.sleep(0.8)  # and one after it
            stop.touch()
            proc.wait(60)
            done.set()
            sampler.join(5)
            res = json.loads(out.read_text())
            self.ask_s, self.health_s, self.failures = res["ask_s"], res["health_s"], res["failures"]
            self.slowest = tuple(res["slowest"])  # type: ignore[assignment]

    def check(self, name: str, max_growth_mb: float, extra: str = "") -> None:
        growth = max(self.rss) - self.rss[0]
        FIGURES[name] = (f"ordinary question max {max(self.ask_s):.2f} s (n={len(self.ask_s)}), health/static max "
                         f"{1000 * max(self.health_s):.0f} ms (n={len(self.health_s)}), RSS +{growth:.0f} MB {extra}")  # fmt: skip
        print(f"\n[{name}] {FIGURES[name]}; slowest: {self.slowest[1]}")
        assert not self.failures, self.failures[:5]
        k = slowness(self.server)
        assert len(self.ask_s) >= 2 and max(self.ask_s) < ORDINARY_S * k, (sorted(self.ask_s)[-5:], k)
        assert max(self.health_s) < HEALTH_S * k, (sorted(self.health_s)[-5:], self.slowest, k)
        assert growth < max_growth_mb, (growth, max_growth_mb)


def error_of(r: httpx.Response, status: int) -> str:
    """The message of a refused request; it must have the right status and no trace."""
    assert r.status_code == status, (r.status_code, r.text[:300])
    assert "Traceback" not in r.text
    message = r.json()["error"]["message"]
    assert isinstance(message, str) and message.strip()
    return message


# --- the servers -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def uploads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("uploads")


@pytest.fixture(scope="module")
def open_srv(server: Server, app_index_dir: Path, uploads: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """No password, no key: the default public page. A small upload quota and TTL."""
    s = start_server(app_index_dir, tmp_path_factory.mktemp("logs") / "hostile-open.log", build=False,
                     QA_UPLOAD_DIR=str(uploads), QA_UPLOAD_QUOTA_MB="8", QA_UPLOAD_TTL_SECONDS="10",
                     QA_CORS_ORIGINS="https://portal.example.gov.cn")  # fmt: skip
    slowness(s)  # measured on the idle server
    yield s
    stop_server(s)


@pytest.fixture(scope="module")
def key_srv(server: Server, app_index_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Only QA_API_KEY, a low rate limit, and an LLM endpoint (a closed port) that health must not show."""
    closed = free_port()
    s = start_server(app_index_dir, tmp_path_factory.mktemp("logs") / "hostile-key.log", build=False,
                     QA_API_KEY=KEY, QA_RATE_LIMIT_PER_MINUTE="8",
                     QA_LLM_BASE_URL=f"http://127.0.0.1:{closed}/v1", QA_LLM_MODEL="secret-model")  # fmt: skip
    s.closed_port = closed  # type: ignore[attr-defined]
    slowness(s)  # measured on the idle server
    yield s
    stop_server(s)


@pytest.fixture(scope="module")
def auth_srv(server: Server, app_index_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Page password and API key: the 评测 tab is there. Few login failures allowed."""
    s = start_server(app_index_dir, tmp_path_factory.mktemp("logs") / "hostile-auth.log", build=False,
                     QA_AUTH=f"evaluator:{PASSWORD}", QA_API_KEY=KEY, QA_LOGIN_FAILURES_PER_MINUTE="5")  # fmt: skip
    slowness(s)  # measured on the idle server
    yield s
    stop_server(s)


# --- 1. bound every input by what it costs --------------------------------------------------------


def test_follow_up_rewrite_is_capped(open_srv: Server) -> None:
    """Issue: a 20,005-character rewritten question took 23 s to embed; another client waited 22 s."""
    huge = [{"role": "user", "content": "残疾人" * 6667}, {"role": "assistant", "content": "好"}] * 20
    allowed = [{"role": "user", "content": "养犬登记" * 2000}, {"role": "assistant", "content": "好"}] * 20
    w = Watch(open_srv)
    t0 = time.monotonic()
    with w.running(), client(open_srv, "127.0.0.20") as c:
        message = error_of(c.post("/api/ask", json={"question": "那残疾人呢？", "history": huge}), 422)
        assert "history" in message and "8000" in message
        # within the limits: 40 turns of 8,000 characters; the rewrite is cut to a typed question's length
        with ThreadPoolExecutor(4) as ex:
            rs = list(ex.map(lambda _: c.post("/api/ask", json={"question": "那残疾人呢？", "history": allowed, "with_hits": False}), range(8)))
    took = time.monotonic() - t0
    ok = [r for r in rs if r.status_code == 200]
    assert ok and all(r.status_code in (200, 429) for r in rs), [r.status_code for r in rs]
    assert all(len(r.json()["standalone_question"]) <= 2000 for r in ok)
    assert took < 30
    w.check("follow-up rewrite", 150, f"({len(ok)}/8 rewrites answered, {took:.1f} s)")


def test_v1_huge_history_and_long_filter_lists(open_srv: Server) -> None:
    """Issue: a 1.3 MB history message held every answer up for 6 minutes; 100,000 regions, 75 s."""
    w = Watch(open_srv)
    with w.running(), client(open_srv, "127.0.0.21") as c:
        t = time.perf_counter()
        big = {"messages": [{"role": "user", "content": "狗" * (1_300_000 // 3)}, {"role": "assistant", "content": "好"},
                            {"role": "user", "content": "那猫呢？"}]}  # fmt: skip
        assert "history" in error_of(c.post("/v1/chat/completions", json=big), 422)
        regions = {"question": ORDINARY_Q, "filters": {"regions": ["青岛市"] * 100_000}}
        assert "filters.regions" in error_of(c.post("/api/ask", json=regions), 422)
        assert "filters.regions" in error_of(c.post("/v1/chat/completions", json={
            "messages": [{"role": "user", "content": ORDINARY_Q}], "filters": {"regions": ["青岛市"] * 100_000}}), 422)
        many = {"messages": [{"role": "user", "content": "狗"}] * 42}
        assert "42" in error_of(c.post("/v1/chat/completions", json=many), 422)
        took = time.perf_counter() - t
    assert took < 5
    w.check("huge /v1 history, long filter lists", 150, f"(4 refusals in {took:.2f} s)")


def test_concurrent_long_questions_from_one_client(open_srv: Server) -> None:
    """Issue: 45 concurrent 2,000-character questions ran the threads out; health timed out for 36 s."""
    w = Watch(open_srv)
    t0 = time.monotonic()
    with w.running(), client(open_srv, "127.0.0.22", limits=httpx.Limits(max_connections=50)) as c:
        with ThreadPoolExecutor(45) as ex:
            rs = list(ex.map(lambda _: c.post("/api/ask", json={"question": LONG_Q, "with_hits": False}), range(45)))
    took = time.monotonic() - t0
    codes = [r.status_code for r in rs]
    assert set(codes) <= {200, 429} and codes.count(200) >= 2, codes
    refused = [r for r in rs if r.status_code == 429]
    assert refused and all(r.json()["error"]["code"] == "too_many_in_progress" and r.headers["Retry-After"] for r in refused)
    assert took < 20
    w.check("45 concurrent 2,000-character questions", 150, f"({codes.count(200)} answered, {len(refused)} × 429, {took:.1f} s)")


def test_work_of_disconnected_clients_stops(open_srv: Server) -> None:
    """Issue: the work went on after the client disconnected. 8 clients × 4 long questions (JSON and
    streaming), each hanging up after 0.3 s: the pool drops or stops them instead of answering all."""
    h0 = httpx.get(open_srv.url + "/api/health", timeout=5).json()["answers"]

    def hang_up(i: int) -> None:
        with client(open_srv, f"127.0.1.{10 + i // 4}", timeout=0.3) as c:
            try:
                if i % 2:
                    c.post("/api/ask", json={"question": LONG_Q})
                else:
                    with c.stream("POST", "/v1/chat/completions", json={"stream": True, "messages": [{"role": "user", "content": LONG_Q}]}) as s:
                        for _ in s.iter_lines():
                            pass
            except httpx.HTTPError:
                pass  # we hung up

    w = Watch(open_srv)
    with w.running():
        t0 = time.monotonic()
        with ThreadPoolExecutor(32) as ex:
            list(ex.map(hang_up, range(32)))
        while time.monotonic() - t0 < 15:
            h = httpx.get(open_srv.url + "/api/health", timeout=5).json()["answers"]
            if h["waiting"] == 0 and h["in_progress"] == 0:
                break
            time.sleep(0.1)
        drained = time.monotonic() - t0
    stopped = h["stopped_early"] - h0["stopped_early"]
    answered = h["answered"] - h0["answered"]  # the watcher's ordinary questions among them
    assert h["waiting"] == 0 and h["in_progress"] == 0, h
    assert stopped >= 16, h  # at least half of the 32 never ran to the end
    assert drained < 8  # 32 answers of ~0.25 s each would take longer than the hang-ups leave
    w.check("clients that hang up", 150, f"(32 requests: {stopped} stopped early; {answered} answers in all, the watcher's included; queue empty after {drained:.1f} s)")


# --- 2. size limits on every route ---------------------------------------------------------------


def _raw_post(server: Server, path: str, headers: str, body: bytes, chunked: bool = False) -> tuple[int, float]:
    """POST with a declared length (only `body` is sent) or chunked (until the server answers)."""
    port = int(server.url.rsplit(":", 1)[1])
    t = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n{headers}\r\n".encode())
        try:
            if chunked:
                piece = b"[" + b" " * (256 * 1024)
                for _ in range(200):  # up to 50 MB, until the server answers
                    if select.select([s], [], [], 0)[0]:
                        break
                    s.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            else:
                s.sendall(body)
        except OSError:
            pass  # the server answered and closed while we were still sending
        reply = b""
        try:
            while b"\r\n" not in reply:
                part = s.recv(4096)
                if not part:
                    break
                reply += part
        except ConnectionResetError:
            pass
    return int(reply.split(b" ", 2)[1]), time.perf_counter() - t


def test_huge_bodies_on_gradio_routes(open_srv: Server) -> None:
    """Issue: 300 MB to /gradio_api/call/ask drove memory to 1.68 GB (3 at once: 3.8 GB)."""
    w = Watch(open_srv)
    with w.running():
        with ThreadPoolExecutor(3) as ex:
            declared = list(ex.map(lambda p: _raw_post(open_srv, p, "Content-Length: 300000000\r\n", b'{"data": ["' + b"x" * 65536),
                                   ["/gradio_api/call/ask", "/gradio_api/queue/join", "/gradio_api/run/ask"]))  # fmt: skip
            chunked = list(ex.map(lambda p: _raw_post(open_srv, p, "Transfer-Encoding: chunked\r\n", b"", chunked=True),
                                  ["/gradio_api/call/ask", "/gradio_api/queue/join", "/api/ask"]))  # fmt: skip
        with client(open_srv, "127.0.0.23") as c:
            ten_mb = c.post("/gradio_api/upload", files={"files": ("gold.jsonl", b"x" * 10_000_000)})
    assert [code for code, _ in declared + chunked] == [413] * 6, (declared, chunked)
    assert max(dt for _, dt in declared + chunked) < 10
    assert "MB" in error_of(ten_mb, 413)
    w.check("300 MB bodies to the page's routes", 100,
            f"(declared: 413 in ≤ {max(dt for _, dt in declared):.2f} s; chunked: 413 in ≤ {max(dt for _, dt in chunked):.2f} s)")


# --- 3. one protection for every door ----------------------------------------------------------------


def _gradio_ask(c: httpx.Client, data: list, path: str = "/gradio_api/call/ask") -> tuple[int, str]:
    r = c.post(path, json={"data": data})
    if r.status_code != 200:
        return r.status_code, r.text
    with c.stream("GET", f"{path}/{r.json()['event_id']}") as s:
        return 200, "\n".join(s.iter_lines())


def test_page_api_shares_the_rate_limit_and_is_as_public_as_the_page(key_srv: Server) -> None:
    """Issue: with only QA_API_KEY, Gradio's API answered without the key and without the rate limit."""
    with client(key_srv, "127.0.0.40", headers={"X-API-Key": KEY}) as c:
        for _ in range(8):
            assert c.post("/api/ask", json={"question": " "}).status_code == 422  # counted all the same
        assert error_of(c.post("/api/ask", json={"question": ORDINARY_Q}), 429)
        assert "rate limit" in error_of(c.post("/gradio_api/call/ask", json={"data": [ORDINARY_Q]}), 429)
        assert error_of(c.post("/gradio_api/queue/join", json={"data": [], "fn_index": 0, "session_hash": "x"}), 429)
    with client(key_srv, "127.0.0.41") as other:
        assert error_of(other.post("/api/ask", json={"question": ORDINARY_Q}), 401)  # the key guards /api …
        status, events = _gradio_ask(other, [ORDINARY_Q])  # … and the page, public without QA_AUTH, answers
        assert status == 200 and "event: complete" in events, events[-300:]
        cfg = other.get("/config").json()
        assert not any("上传评测集" in str(comp.get("props", {}).get("label", "")) for comp in cfg["components"])  # no 评测 tab
        health = other.get("/api/health").text
    port = str(key_srv.closed_port)  # type: ignore[attr-defined]
    for leak in (port, "secret-model", "http://", "/v1", str(Path.cwd()), "seeds", ".txt", "gen-"):
        assert leak not in health, leak
    out = key_srv.log.read_text(encoding="utf-8")  # the start-up message says who can reach what
    assert "PUBLIC" in out and "/gradio_api" in out and "QA_API_KEY does not protect the page" in out


def test_login_attempts_are_throttled(auth_srv: Server) -> None:
    """Issue: 300 wrong passwords in 0.4 s, no throttle."""
    t = time.perf_counter()
    with client(auth_srv, "127.0.0.50") as c:
        codes = [c.post("/login", data={"username": "evaluator", "password": f"guess-{i}"}).status_code for i in range(300)]
        right_too = c.post("/login", data={"username": "evaluator", "password": PASSWORD})
    took = time.perf_counter() - t
    assert codes[:5] == [400] * 5 and set(codes[5:]) == {429}, codes[:10]
    # the login throttle, and after 120 requests the address's rate limit as well
    assert any(m in error_of(right_too, 429) for m in ("登录失败次数过多", "请求过于频繁"))
    assert int(right_too.headers["Retry-After"]) > 0
    with client(auth_srv, "127.0.0.51") as other:  # another address is not locked out
        assert other.post("/login", data={"username": "evaluator", "password": PASSWORD}).status_code == 200
    FIGURES["login throttle"] = f"300 wrong passwords in {took:.1f} s: 5 × 400, then 429; the right one too from that address"


def test_cors_and_host_allow_lists(open_srv: Server) -> None:
    """Issue: any Origin echoed with credentials; any Host accepted (DNS rebinding)."""
    evil = {"Origin": "http://evil.example"}
    for path in ("/gradio_api/info", "/config", "/api/health"):
        r = httpx.get(open_srv.url + path, headers=evil, timeout=10)
        assert "access-control-allow-origin" not in r.headers, (path, dict(r.headers))
    pre = httpx.options(open_srv.url + "/gradio_api/queue/join", timeout=10,
                        headers={**evil, "Access-Control-Request-Method": "POST"})  # fmt: skip
    assert pre.status_code == 400 and "access-control-allow-origin" not in pre.headers
    portal = "https://portal.example.gov.cn"
    ok = httpx.get(open_srv.url + "/api/health", headers={"Origin": portal}, timeout=10)
    assert ok.headers["access-control-allow-origin"] == portal
    for host in ("evil.example", "evil.example:7860", "127.0.0.1.nip.io", "[::2]"):
        for path in ("/", "/api/health", "/gradio_api/info", "/v1/models"):
            r = httpx.get(open_srv.url + path, headers={"Host": host}, timeout=10)
            assert "Host not allowed" in error_of(r, 400), (host, path)
    port = open_srv.url.rsplit(":", 1)[1]
    for host in (f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}"):
        assert httpx.get(open_srv.url + "/api/health", headers={"Host": host}, timeout=10).status_code == 200


# --- 4. nothing grows without bound ---------------------------------------------------------------


def _dir_mb(root: Path) -> float:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) / 1e6


def test_uploads_have_a_quota_and_expire(open_srv: Server, uploads: Path) -> None:
    """Issue: 393 × 10 MB uploads kept forever (3.9 GB in 20 s). Quota 8 MB, TTL 10 s on this server."""
    w = Watch(open_srv)
    codes = []
    with w.running():
        for i in range(24):  # 1 MB each, from three addresses (each under its rate limit)
            with client(open_srv, f"127.0.2.{i // 8 + 1}") as c:
                r = c.post("/gradio_api/upload", files={"files": (f"f{i}.jsonl", f"{i}\n".encode() + b"{}\n" * 350_000)})
                codes.append(r.status_code)
        full = _dir_mb(uploads)
        refused = r
    assert codes.count(200) >= 6 and codes[-1] == 507, codes
    assert "上传空间已满" in error_of(refused, 507)
    assert full <= 8 * 1.05 + 1.1, full  # at most the quota plus the one file that crossed it
    deadline = time.monotonic() + 30
    while _dir_mb(uploads) > 0 and time.monotonic() < deadline:  # the sweeper runs every 5 s
        time.sleep(1)
    expired_after = 30 - (deadline - time.monotonic())
    assert _dir_mb(uploads) == 0
    with client(open_srv, "127.0.2.9") as c:
        assert c.post("/gradio_api/upload", files={"files": ("g.jsonl", b"{}\n")}).status_code == 200
    w.check("uploads", 120, f"(24 × 1 MB: {codes.count(200)} kept, then 507; cache {full:.1f} MB ≤ quota 8 MB; "
                            f"empty {expired_after:.0f} s later)")  # fmt: skip


def test_sessions_are_bounded(open_srv: Server) -> None:
    """Issue: Gradio keeps up to 10,000 sessions and each keeps its inputs (a 10-million-character
    comment: ~60 MB per session). Here: 360 sessions each send a ~0.9 MB chat (as large as a page
    request may be, ~900 JSON values); the default max_sessions=100 are kept."""
    cfg = httpx.get(open_srv.url + "/config", timeout=10).json()
    fn = next(d["id"] for d in cfg["dependencies"] if len(d["inputs"]) == 9)  # the chat's submit
    chat = [{"role": "user", "content": [{"type": "text", "text": "狗" * 3300}]}] * 90  # ~0.9 MB, ~900 JSON values
    body = json.dumps({"data": ["", chat, None, "全部地区", "", None, None, False, None], "fn_index": fn}, ensure_ascii=False)
    too_big = json.dumps({"data": ["", chat * 2, None, "全部地区", "", None, None, False, None], "fn_index": fn, "session_hash": "big"})
    tiny = [{"role": "user", "content": [{"type": "text", "text": "狗"}]}]
    too_many = {"data": ["", tiny * 2000, None, "全部地区", "", None, None, False, None], "fn_index": fn, "session_hash": "many"}
    w = Watch(open_srv)
    with w.running():
        for i in range(360):
            with client(open_srv, f"127.0.3.{i // 60 + 1}") as c:
                r = c.post("/gradio_api/queue/join", content=body[:-1] + f', "session_hash": "s{i}-{uuid.uuid4().hex[:6]}"}}',
                           headers={"content-type": "application/json"})  # fmt: skip
                assert r.status_code == 200, r.text[:300]
        with client(open_srv, "127.0.3.9") as c:
            refused = c.post("/gradio_api/queue/join", content=too_big, headers={"content-type": "application/json"})
            crowded = c.post("/gradio_api/queue/join", json=too_many)
        time.sleep(2)
    assert "1 MB" in error_of(refused, 413)
    assert "1000" in error_of(crowded, 422)  # 2,000 tiny messages: small in bytes, many objects
    # kept whole, 360 sessions would hold > 300 MB of chats; 100 of them ~60 MB
    w.check("page sessions", 150, "(360 sessions × 0.9 MB chat; 100 kept)")


# --- 5. exports, and the 评测 tab ------------------------------------------------------------------


def _login(server: Server, source: str) -> httpx.Client:
    c = client(server, source)
    assert c.post("/login", data={"username": "evaluator", "password": PASSWORD}).status_code == 200
    return c


def _fn(c: httpx.Client, label: str) -> int:
    cfg = c.get("/config").json()
    labels = {x["id"]: str(x.get("props", {}).get("label", "") or x.get("props", {}).get("value", "")) for x in cfg["components"]}
    return next(d["id"] for d in cfg["dependencies"] if any(label in labels.get(t[0], "") for t in d["targets"]))


def _join(c: httpx.Client, fn: int, data: list, session: str) -> httpx.Response:
    return c.post("/gradio_api/queue/join", json={"data": data, "fn_index": fn, "session_hash": session})


def _events(c: httpx.Client, session: str, until: str = "process_completed", limit_s: float = 120) -> list[dict]:
    out = []
    t = time.monotonic()
    with c.stream("GET", "/gradio_api/queue/data", params={"session_hash": session}) as s:
        for line in s.iter_lines():
            if line.startswith("data:"):
                out.append(json.loads(line[5:]))
                if out[-1].get("msg") == until or time.monotonic() - t > limit_s:
                    break
    return out


def _upload(c: httpx.Client, name: str, content: bytes) -> httpx.Response:
    return c.post("/gradio_api/upload", files={"files": (name, content)})


def _gold(questions: list[str]) -> bytes:
    return "".join(json.dumps({"id": f"Q{i}", "persona": "citizen", "type": "fact", "question": q, "answer": "略",
                               "key_points": [], "evidence": [], "source": None}, ensure_ascii=False) + "\n"
                   for i, q in enumerate(questions)).encode()  # fmt: skip


class Page:
    """A logged-in page listening to its events (queue/data SSE) in a thread; `leave()` hangs up."""

    def __init__(self, server: Server, source: str, session: str) -> None:
        self.c, self.session, self.events = _login(server, source), session, []  # type: list[dict]
        self._t: threading.Thread | None = None

    def listen(self) -> None:
        def read() -> None:
            try:
                with self.c.stream("GET", "/gradio_api/queue/data", params={"session_hash": self.session}) as s:
                    for line in s.iter_lines():
                        if line.startswith("data:"):
                            self.events.append(json.loads(line[5:]))
            except Exception:  # noqa: BLE001 - hung up
                pass

        self._t = threading.Thread(target=read, daemon=True)
        self._t.start()

    def text(self) -> str:
        return json.dumps(self.events, ensure_ascii=False)

    def leave(self) -> None:
        self.c.close()


def _wait(cond: Any, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.1)
    return False


def test_eval_tab_is_bounded_and_never_blocks_the_chat(auth_srv: Server) -> None:
    """Issue: two uploads of an 87,000-question gold file, then 70 queued runs: every page call,
    the chat included, answered 503 'Queue is full' for an hour, and it went on after the client left."""
    c = _login(auth_srv, "127.0.0.60")
    run = _fn(c, "运行评测")
    huge = _gold(["养犬登记要交多少钱？"] * 87_000)
    assert len(huge) > 5_000_000 and "MB" in error_of(_upload(c, "huge.jsonl", huge), 413)
    twice = _upload(c, "huge.jsonl", huge)
    assert twice.status_code == 413
    big = _upload(c, "big.jsonl", _gold(["养犬登记要交多少钱？"] * 20_000))
    assert big.status_code == 200, big.text
    real = [json.loads(line)["question"] for line in (ROOT / "eval" / "gold.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    full = _upload(c, "full.jsonl", _gold((real * 2)[:300]))  # the most a page run may have
    ref = lambda r, name: {"path": r.json()[0], "meta": {"_type": "gradio.FileData"}, "orig_name": name}  # noqa: E731
    w = Watch(auth_srv, key=KEY)
    with w.running():
        s = uuid.uuid4().hex[:10]
        assert _join(c, run, [ref(big, "big.jsonl"), "", 0], s).status_code == 200
        status = json.dumps(_events(c, s)[-1], ensure_ascii=False)
        assert "最多运行 300" in status, status[-400:]
        # 70 runs of 300 questions, each from its own page (4 pages per address: under its limits)
        t0 = time.monotonic()
        pages = [Page(auth_srv, f"127.0.4.{i // 4 + 1}", f"r{i}-{uuid.uuid4().hex[:6]}") for i in range(70)]
        for p in pages:
            assert _join(p.c, run, [ref(full, "full.jsonl"), "", 0], p.session).status_code == 200
            p.listen()
        # Gradio runs queued events concurrently: which two pages get the places is not their order
        assert _wait(lambda: sum("评测队列已满" in p.text() for p in pages) >= 68, 30)
        admitted = [p for p in pages if "评测队列已满" not in p.text()]
        assert len(admitted) == 2, [p.text()[-200:] for p in admitted][:3]
        assert _wait(lambda: any("评测中" in p.text() for p in admitted), 20), [p.text()[-300:] for p in admitted]
        running = next(p for p in admitted if "评测中" in p.text())
        waiting = next(p for p in admitted if p is not running)
        assert "评测中" not in waiting.text()  # admitted, waiting its turn
        # one run per page: a second one from the running page is refused
        assert _join(running.c, run, [ref(full, "full.jsonl"), "", 0], running.session).status_code == 200
        assert _wait(lambda: "本页已有一个评测在运行" in running.text(), 10), running.text()[-300:]
        # meanwhile the page's own chat answers another person through the Gradio API
        with closing(_login(auth_srv, "127.0.0.61")) as person:
            t = time.perf_counter()
            status_code, events = _gradio_ask(person, [ORDINARY_Q])
            page_chat_s = time.perf_counter() - t
        assert status_code == 200 and "event: complete" in events and page_chat_s < ORDINARY_S * slowness(auth_srv), (page_chat_s, events[-300:])
        # the two evaluators leave mid-run: their runs stop (the pool completes no more of their answers)
        progress = running.text().count("评测中")
        assert 0 < progress < 300, progress
        for p in pages:
            p.leave()
        time.sleep(3)
        h1 = httpx.get(auth_srv.url + "/api/health", timeout=5).json()["answers"]
        time.sleep(3)
        h2 = httpx.get(auth_srv.url + "/api/health", timeout=5).json()["answers"]
        took = time.monotonic() - t0
    assert h2["answered"] - h1["answered"] < 15, (h1, h2)  # only the ordinary questions (~5); a run does ~100 in 3 s
    assert "300 题" not in running.text()  # its summary never came: it was stopped, not finished
    # the queue is free again: a new run from a new page is accepted and completes
    with closing(_login(auth_srv, "127.0.0.62")) as again:
        sid = uuid.uuid4().hex[:10]
        assert _join(again, run, [None, "eval/gold.jsonl", 2], sid).status_code == 200
        done = json.dumps(_events(again, sid)[-1], ensure_ascii=False)
        assert "2 题" in done and "评测队列已满" not in done, done[-300:]
    c.close()
    w.check("评测 tab", 300, f"(87,000 questions ×2: 413; 20,000: refused; 70 runs: 2 admitted, 68 refused at once; "
                            f"page chat {page_chat_s:.2f} s; runs stopped {progress}/300 in when the pages left; {took:.0f} s)")  # fmt: skip


def test_exports_neutralise_formulas_and_comments_are_capped(auth_srv: Server) -> None:
    """Issue: CSV cells such as =HYPERLINK(…), +cmd|' /C calc'!A0, @SUM(…) were written verbatim;
    a 10-million-character comment was kept per session."""
    formulas = ['=HYPERLINK("http://evil.example","点我")', "+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0",
                "-2+3+cmd|' /C calc'!A0", "\t=1+1", "\r=1+1"]  # fmt: skip
    with closing(_login(auth_srv, "127.0.0.70")) as c:
        up = _upload(c, "formulas.jsonl", _gold(formulas))
        ref = {"path": up.json()[0], "meta": {"_type": "gradio.FileData"}, "orig_name": "formulas.jsonl"}
        sid = uuid.uuid4().hex[:10]
        assert _join(c, _fn(c, "运行评测"), [ref, "", 0], sid).status_code == 200
        assert "6 题" in json.dumps(_events(c, sid)[-1], ensure_ascii=False)
        save = _fn(c, "保存评价")
        r = _join(c, save, [None, "Q0", "错误 wrong", "备" * 10_000_000], sid)
        assert "MB" in error_of(r, 413)
        assert _join(c, save, [None, "Q0", "错误 wrong", "=1+2 备注" + "x" * 2000], sid).status_code == 200
        assert "备注过长" in json.dumps(_events(c, sid)[-1], ensure_ascii=False)
        assert _join(c, save, [None, "Q1", "错误 wrong", "@SUM(A1) 备注"], sid).status_code == 200
        assert "已保存" in json.dumps(_events(c, sid)[-1], ensure_ascii=False)
        assert _join(c, _fn(c, "导出"), [None], sid).status_code == 200
        out = _events(c, sid)[-1]["output"]["data"]
        csv_url = out[0]["url"]
        port = auth_srv.url.rsplit(":", 1)[1]
        assert f"qa-gradio-{port}" in out[0]["path"]  # in the server's own expiring cache, not /tmp/qa-eval-*
        csv_text = c.get(csv_url).content.decode("utf-8-sig")
    import csv as csvmod
    import io

    rows = list(csvmod.DictReader(io.StringIO(csv_text, newline="")))
    cells = [v for row in rows for v in row.values()]
    assert len(rows) == 6
    assert {row["question"] for row in rows} == {"'" + f for f in formulas}
    assert not [v for v in cells if v and v[0] in "=+-@\t\r"], [v for v in cells if v and v[0] in "=+-@\t\r"][:3]
    assert any(row["comment"] == "'@SUM(A1) 备注" for row in rows)
    FIGURES["CSV export"] = "6 formula questions and a formula comment: every cell starts with ' ; 10 M-char comment: 413; 2,000+: refused"


# --- 6. malformed input -------------------------------------------------------------------------------


def test_malformed_inputs_get_4xx_with_a_message_and_no_trace(open_srv: Server) -> None:
    """Issue: a list as the question, a dict as the region, date 99999999999999999999 and a lone
    surrogate gave {"error": null} or a 500 with a traceback in the log."""
    mark = open_srv.log.stat().st_size
    surrogate = b'{"question": "\\ud800\\u72d7"}'
    with client(open_srv, "127.0.0.80") as c:
        assert "surrogate" in error_of(c.post("/api/ask", content=surrogate, headers={"content-type": "application/json"}), 422)
        v1 = b'{"messages": [{"role": "user", "content": "\\ud800"}]}'
        assert "surrogate" in error_of(c.post("/v1/chat/completions", content=v1, headers={"content-type": "application/json"}), 422)
        parts = b'{"messages": [{"role": "user", "content": [{"type": "text", "text": "\\udfff"}]}], "stream": true}'
        assert "surrogate" in error_of(c.post("/v1/chat/completions", content=parts, headers={"content-type": "application/json"}), 422)
        assert "date" in error_of(c.post("/api/ask", json={"question": "狗", "filters": {"date_from": "99999999999999999999"}}), 422)
        for data, words in (
            ([["a", "list"]], "question"),
            (["狗", {"a": 1}], "region"),
            (["狗", "", "", "99999999999999999999"], "date_from"),
            (["狗", "", "", 99999999999999999999], "date_from"),
            (["狗", "", "", "", 1e308], "date_to"),
            (["狗\ud800"], "surrogate"),
            (["狗", "", "", "", "", "", "one too many"], "at most 6"),
        ):
            r = c.post("/gradio_api/call/ask", content=json.dumps({"data": data}), headers={"content-type": "application/json"})
            assert words in error_of(r, 422), (data, r.text)
        # the chat: question, chat, history, region, document, date from/to, 只看现行有效, as-of date
        chat = next(d["id"] for d in c.get("/config").json()["dependencies"] if len(d["inputs"]) == 9)
        for data in ([["list"], [], None, "全部地区", "", None, None, False, None], ["狗", [], None, {"a": 1}, "", None, None, False, None],
                     ["狗", "not a list", None, "全部地区", "", None, None, False, None],
                     ["狗", [{"role": "robot"}], None, "全部地区", "", None, None, False, None],
                     ["狗", [], None, "全部地区", "", 99999999999999999999, None, False, None],
                     ["狗", [], None, "全部地区", "", None, None, "yes", None], ["狗"]):  # fmt: skip
            assert error_of(_join(c, chat, data, uuid.uuid4().hex[:8]), 422)
        assert "JSON" in error_of(c.post("/gradio_api/call/ask", content=b"[" * 100_000, headers={"content-type": "application/json"}), 422)
        # fewer values than /ask has: the defaults fill the rest, as gradio_client does
        status, events = _gradio_ask(c, [ORDINARY_Q])
        assert status == 200 and "event: complete" in events
    time.sleep(0.5)
    with open(open_srv.log, encoding="utf-8", errors="replace") as fh:
        fh.seek(mark)
        new = fh.read()
    clean = "Traceback" not in new and "ERROR" not in new  # a plain bool, for a short failure report
    assert clean, new[-2000:]
    assert open_srv.proc.poll() is None


def test_zz_no_traceback_in_any_hostile_server_log(open_srv: Server, key_srv: Server, auth_srv: Server) -> None:
    """After every attack (this runs last in the module): the servers are up and logged no trace."""
    for s in (open_srv, key_srv, auth_srv):
        assert s.proc.poll() is None
        assert httpx.get(s.url + "/api/health", timeout=5).status_code == 200
        log = s.log.read_text(encoding="utf-8", errors="replace")
        traced = "Traceback" in log  # a plain bool: pytest's diff of a long log would take minutes
        assert not traced, log[log.index("Traceback") - 500 :][:3000]
    print("\n" + "\n".join(f"{k}: {v}" for k, v in FIGURES.items()))


# --- the pieces without a server -------------------------------------------------------------------


def test_idle_page_sessions_expire(tmp_path: Path) -> None:
    """The sweeper forgets sessions idle longer than session_ttl_seconds (a real Gradio StateHolder)."""
    import datetime

    import gradio as gr
    from gradio.state_holder import StateHolder

    from qa.app.limits import CacheSweeper

    with gr.Blocks() as demo:
        gr.State([])
    holder = StateHolder()
    holder.set_blocks(demo)
    for i in range(5):
        holder[f"s{i}"]  # noqa: B018 - touching a session creates it
    for i in range(3):
        holder.time_last_used[f"s{i}"] = datetime.datetime.now() - datetime.timedelta(hours=2)
    CacheSweeper(tmp_path, ttl=3600, quota=10**9, sessions=holder, session_ttl=3600).sweep()
    assert list(holder.session_data) == ["s3", "s4"]


def test_secrets_from_a_file_and_cli_flags_say_they_show_in_ps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from qa.cli import app
    from qa.config import load_settings

    key = tmp_path / "api-key"
    key.write_text("file-key-123\n", encoding="utf-8")
    monkeypatch.delenv("QA_API_KEY", raising=False)
    monkeypatch.setenv("QA_API_KEY_FILE", str(key))
    assert load_settings().api_key == "file-key-123"
    monkeypatch.setenv("QA_API_KEY", "env-wins")
    assert load_settings().api_key == "env-wins"
    monkeypatch.setenv("QA_AUTH_FILE", str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="secret file"):
        load_settings()
    help_text = " ".join(CliRunner().invoke(app, ["serve", "--help"], env={"COLUMNS": "200"}).output.split())
    assert "VISIBLE to other users in `ps`" in help_text and "--api-key-file" in help_text and "--auth-file" in help_text
