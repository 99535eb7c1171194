"""What keeps one client from stalling the service for everyone (issue 16, docs/RELIABILITY.md).

* `AnswerPool`: answers are computed by a few worker threads, never by the web server's own
  threads, so health checks and static files never wait behind answering. Waiting answers are
  taken round-robin between clients (a client with 40 queued questions does not delay another
  client's one question by 40 answers); a client may have only a few answers running or waiting,
  the pool only a bounded queue. Work whose client left is dropped or stopped between steps.
* `RateLimiter`: one per-client budget of requests per minute, shared by /api, /v1 and the page's API.
* `Gate`: the outermost ASGI middleware, one door for every route: Host allow-list, body size,
  rate limit on the page's own API, login throttling, the upload quota, and a hook that checks
  Gradio call bodies before Gradio sees them.
* `CacheSweeper`: deletes expired uploads/exports, keeps the cache under its quota, forgets idle
  page sessions.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import queue
import threading
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger("qa.app")


class Refused(Exception):
    """A request refused before any work: status, a Chinese + English message, optional Retry-After."""

    def __init__(self, status: int, message: str, code: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.code, self.retry_after = status, message, code, retry_after

    def headers(self) -> dict[str, str] | None:
        return {"Retry-After": str(self.retry_after)} if self.retry_after else None


# --- rate limit -------------------------------------------------------------------------------


class SlidingWindow:
    """Events per key in the last `window` seconds; forgets idle keys so it cannot grow without bound."""

    def __init__(self, limit: int, window: float = 60.0, max_keys: int = 10_000) -> None:
        self.limit, self.window, self.max_keys = limit, window, max_keys
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, key: str, record: bool = True) -> int | None:
        """None when under the limit (and the event is recorded); else seconds until a slot frees."""
        if self.limit <= 0:
            return None
        now = time.monotonic()
        with self._lock:
            q = self._seen.setdefault(key, deque())
            while q and now - q[0] > self.window:
                q.popleft()
            if len(q) >= self.limit:
                return max(1, int(self.window - (now - q[0])) + 1)
            if record:
                q.append(now)
            if len(self._seen) > self.max_keys:
                for k in [k for k, v in self._seen.items() if not v or now - v[-1] > self.window]:
                    del self._seen[k]
            return None

    def record(self, key: str) -> None:
        if self.limit > 0:
            with self._lock:
                self._seen.setdefault(key, deque()).append(time.monotonic())


class RateLimiter(SlidingWindow):
    """Requests per client address per minute (0 = off); `check` raises a 429 `Refused`."""

    def __init__(self, per_minute: int) -> None:
        super().__init__(per_minute)
        self.per_minute = per_minute

    def check(self, client: str) -> None:
        retry = self.retry_after(client)
        if retry is not None:
            raise Refused(429, f"请求过于频繁，请 {retry} 秒后再试 / rate limit exceeded", "rate_limited", retry)


# --- the answer pool --------------------------------------------------------------------------

_END = object()


class Job:
    """One answer to compute: `work()` returns an iterator whose steps run on a pool thread."""

    def __init__(self, client: str, work: Callable[[], Iterable[Any]], loop: asyncio.AbstractEventLoop | None) -> None:
        self.client, self.work, self.loop = client, work, loop
        self.cancelled = threading.Event()
        self.started = False
        self._async: asyncio.Queue[tuple[str, Any]] | None = asyncio.Queue() if loop else None
        self._sync: queue.SimpleQueue[tuple[str, Any]] | None = None if loop else queue.SimpleQueue()

    def put(self, kind: str, value: Any = None) -> None:
        if self._async is not None and self.loop is not None:
            try:
                self.loop.call_soon_threadsafe(self._async.put_nowait, (kind, value))
            except RuntimeError:  # the loop is closed (server stopping): nobody is listening
                self.cancelled.set()
        elif self._sync is not None:
            self._sync.put((kind, value))


class AnswerPool:
    """A bounded, per-client fair pool of answer workers (see the module docstring)."""

    def __init__(self, workers: int = 2, max_waiting: int = 64, per_client: int = 4, timeout: float = 120.0) -> None:
        self.max_waiting, self.per_client, self.timeout = max_waiting, per_client, timeout
        self._waiting: OrderedDict[str, deque[Job]] = OrderedDict()  # client → its waiting jobs; order = turn
        self._load: dict[str, int] = {}  # client → running + waiting
        self._n_waiting = 0
        self._cond = threading.Condition()
        self.answered = 0  # jobs run to their end (for monitoring, /api/health)
        self.stopped_early = 0  # jobs dropped while waiting, or stopped between steps, because their client left
        for i in range(max(1, workers)):
            threading.Thread(target=self._worker, name=f"qa-answer-{i}", daemon=True).start()

    # -- submitting

    def submit(self, client: str, work: Callable[[], Iterable[Any]], loop: asyncio.AbstractEventLoop | None = None) -> Job:
        job = Job(client, work, loop)
        with self._cond:
            if self._load.get(client, 0) >= self.per_client:
                raise Refused(429, f"您已有 {self.per_client} 个问题在处理，请等待回答后再问 / "
                                   f"too many answers in progress for this client (limit {self.per_client})",
                              "too_many_in_progress", 2)  # fmt: skip
            if self._n_waiting >= self.max_waiting:
                raise Refused(503, "服务繁忙，请稍后再试 / the service is busy, try again shortly", "busy", 5)
            self._waiting.setdefault(client, deque()).append(job)
            self._load[client] = self._load.get(client, 0) + 1
            self._n_waiting += 1
            self._cond.notify()
        return job

    def cancel(self, job: Job) -> None:
        """The client left: drop the job if it waits, stop it at its next step if it runs."""
        job.cancelled.set()
        with self._cond:
            jobs = self._waiting.get(job.client)
            if jobs and job in jobs:
                jobs.remove(job)
                self._n_waiting -= 1
                self._release(job.client)
                self.stopped_early += 1
                if not jobs:
                    del self._waiting[job.client]

    def _release(self, client: str) -> None:
        n = self._load.get(client, 1) - 1
        if n <= 0:
            self._load.pop(client, None)
        else:
            self._load[client] = n

    def load(self) -> dict[str, int]:
        with self._cond:
            return {"waiting": self._n_waiting, "in_progress": sum(self._load.values()), "clients": len(self._load),
                    "answered": self.answered, "stopped_early": self.stopped_early}  # fmt: skip

    # -- the workers

    def _next(self) -> Job:
        with self._cond:
            while not self._waiting:
                self._cond.wait()
            client, jobs = next(iter(self._waiting.items()))
            job = jobs.popleft()
            self._n_waiting -= 1
            if jobs:
                self._waiting.move_to_end(client)  # round-robin: this client's next job waits its turn
            else:
                del self._waiting[client]
            job.started = True
            return job

    def _worker(self) -> None:
        while True:
            job = self._next()
            stopped = False
            try:
                it = iter(job.work())
                try:
                    while True:
                        if job.cancelled.is_set():  # between steps: the client is gone
                            stopped = True
                            break
                        try:
                            item = next(it)
                        except StopIteration:
                            break
                        job.put("item", item)
                finally:
                    close = getattr(it, "close", None)
                    if close:
                        close()
                job.put("end")
            except Exception as exc:  # noqa: BLE001 - handed to the waiting request, which reports it
                job.put("error", exc)
            finally:
                with self._cond:
                    self._release(job.client)
                    self.answered += not stopped
                    self.stopped_early += stopped

    # -- consuming

    async def stream(self, client: str, work: Callable[[], Iterable[Any]]) -> AsyncIterator[Any]:
        """Items of `work()` as a pool thread produces them. Cancelling the consumer (the
        client disconnected) or closing this generator stops the work."""
        job = self.submit(client, work, asyncio.get_running_loop())
        deadline = time.monotonic() + self.timeout
        assert job._async is not None
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Refused(503, "服务繁忙，回答超时，请稍后再试 / the answer took too long, try again", "timeout", 5)
                try:
                    kind, value = await asyncio.wait_for(job._async.get(), timeout=left)
                except asyncio.TimeoutError:
                    continue  # the deadline check above reports it
                if kind == "item":
                    yield value
                elif kind == "error":
                    raise value
                else:
                    return
        finally:
            self.cancel(job)  # a no-op for a finished job

    def run(self, client: str, work: Callable[[], Iterable[Any]]) -> list[Any]:
        """Blocking variant for worker code outside the event loop (the 评测 tab): all items."""
        job = self.submit(client, work)
        assert job._sync is not None
        items: list[Any] = []
        deadline = time.monotonic() + self.timeout
        try:
            while True:
                try:
                    kind, value = job._sync.get(timeout=max(0.01, deadline - time.monotonic()))
                except queue.Empty:
                    raise Refused(503, "回答超时 / the answer took too long", "timeout") from None
                if kind == "item":
                    items.append(value)
                elif kind == "error":
                    raise value
                else:
                    return items
        finally:
            self.cancel(job)


async def until_disconnected(receive_disconnected: Callable[[], Any], task: asyncio.Future[Any], poll: float = 0.25) -> Any:
    """Await `task`, cancelling it when the client disconnects (`receive_disconnected()` → True)."""
    while True:
        done, _ = await asyncio.wait({task}, timeout=poll)
        if done:
            return task.result()
        if await receive_disconnected():
            task.cancel()
            raise ClientGone()


class ClientGone(Exception):
    """The client disconnected while its answer was being computed."""


# --- the gate: one middleware in front of every route ---------------------------------------

_GRADIO_POST = ("/gradio_api/",)
_LOGIN = ("/login", "/login/")
_UPLOAD = "/gradio_api/upload"
_ADMIN = "/admin/api/"


def _json_response(status: int, message: str, code: str, headers: dict[str, str] | None = None) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    body = json.dumps({"error": {"message": message, "type": "invalid_request_error", "code": code, "param": None}},
                      ensure_ascii=False).encode("utf-8")  # fmt: skip
    h = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    h += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    return status, h, body


async def _respond(send: Any, status: int, message: str, code: str, headers: dict[str, str] | None = None) -> None:
    status, h, body = _json_response(status, message, code, headers)
    await send({"type": "http.response.start", "status": status, "headers": h})
    await send({"type": "http.response.body", "body": body})


def host_allowed(host_header: str, allowed: set[str]) -> bool:
    if "*" in allowed:
        return True
    host = host_header.strip().lower()
    if host.startswith("["):  # [::1]:7860
        host = host[1 : host.find("]")] if "]" in host else host
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host in allowed


GradioCheck = Callable[[str, Any], "tuple[Any, str | None]"]


@dataclass
class _Request:
    """What the gate reads of one HTTP request."""

    path: str
    method: str
    client: str  # its address: the key of the rate limits
    headers: dict[bytes, bytes]  # names lower-cased

    @property
    def declared(self) -> bytes | None:
        """The Content-Length header (None for a chunked body)."""
        return self.headers.get(b"content-length")

    @property
    def gradio_post(self) -> bool:
        return self.method == "POST" and self.path.startswith(_GRADIO_POST)

    @property
    def login(self) -> bool:
        return self.method == "POST" and self.path in _LOGIN


class Gate:
    """ASGI middleware in front of every route (see the module docstring).

    `gradio_check(path, body)` gets the parsed JSON body of a POST to the page's API and returns
    (the body to pass on, or an error message for a 422).
    """

    def __init__(
        self,
        app: Any,
        *,
        allowed_hosts: set[str],
        max_body: int,
        max_page_body: int,
        max_upload: int,
        limiter: RateLimiter,
        login_failures: SlidingWindow,
        upload_dir: Callable[[], Path],
        upload_quota: int,
        sweep: Callable[[], None] | None = None,
        gradio_check: GradioCheck | None = None,
        page_password: bool = False,
        max_admin_body: int = 0,
    ) -> None:
        self.app, self.allowed_hosts, self.max_upload = app, allowed_hosts, max_upload
        self.max_body, self.max_page_body = max_body, max_page_body
        self.limiter, self.login_failures, self.upload_dir, self.upload_quota = limiter, login_failures, upload_dir, upload_quota
        self.sweep, self.gradio_check, self.page_password = sweep, gradio_check, page_password
        self.max_admin_body = max_admin_body  # 文件管理 uploads (/admin/api, administrators only)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Every request passes the Host check; an HTTP request then the size and rate limits,
        login throttling, the upload quota and the page API's input check, in that order. The
        first that fails answers it; the app sees only what passed them all."""
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.lower(): v for k, v in scope.get("headers") or []}
        if not await self._host_ok(scope, headers, send):
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = scope["client"][0] if scope.get("client") else "unknown"
        req = _Request(scope.get("path", ""), scope.get("method", "GET"), client, headers)
        limit = self._body_limit(req.path)
        if await self._over_limits(req, limit, send):
            return
        if req.login:
            await self._login(scope, receive, send, req.client)
            return
        if req.path == _UPLOAD and req.method == "POST" and not self._upload_room():
            await _respond(send, 507, "上传空间已满，请稍后再试 / upload storage is full, try again later", "storage_full")
            return
        passed, body = await self._body(req, limit, receive, send)
        if not passed:
            return
        if body is not None:
            receive = _replay(body, receive)
        await self.app(scope, receive, send)

    async def _host_ok(self, scope: Any, headers: dict[bytes, bytes], send: Any) -> bool:
        """False (and the request refused) for a Host not allowed: against DNS rebinding, a page on
        another name must not reach this server through the browser."""
        host = headers.get(b"host", b"").decode("latin-1")
        if host_allowed(host, self.allowed_hosts):
            return True
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
        else:
            await _respond(send, 400, f"不允许的主机名 / Host not allowed: {host[:100]!r} (QA_ALLOWED_HOSTS)", "host_not_allowed")
        return False

    def _body_limit(self, path: str) -> int:
        """The largest body a route takes."""
        if path == _UPLOAD:
            return self.max_upload + 64 * 1024  # multipart framing
        if path.startswith(_ADMIN) and self.max_admin_body:
            return self.max_admin_body  # each file is checked against its own limit by the route
        return self.max_body if path.startswith(("/api/", "/v1/")) else self.max_page_body

    async def _over_limits(self, req: "_Request", limit: int, send: Any) -> bool:
        """True (and the request refused) for a declared body over `limit`, or a page API call or
        login over the client's rate budget."""
        declared = req.declared
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _too_large(send, limit)
            return True
        if req.gradio_post or req.login:
            retry = self.limiter.retry_after(req.client)  # the page's API shares /api's budget
            if retry is not None:
                await _respond(send, 429, f"请求过于频繁，请 {retry} 秒后再试 / rate limit exceeded", "rate_limited",
                               {"Retry-After": str(retry)})  # fmt: skip
                return True
        return False

    async def _body(self, req: "_Request", limit: int, receive: Any, send: Any) -> tuple[bool, bytes | None]:
        """(passed, the body to replay to the app). The body is read here when its size is not
        declared (counted as it arrives, at most `limit` kept) or when a page API call must be
        checked first; None: the app reads it itself. Not passed: refused (413 or 422)."""
        check = self._checks_gradio(req)
        body: bytes | None = None
        if (req.declared is None and req.method in ("POST", "PUT", "PATCH")) or check:
            body = await _read_limited(receive, limit)
            if body is None:
                await _too_large(send, limit)
                return False, None
        if not check:
            return True, body
        assert body is not None
        if len(body) > 32 * 1024:  # parsing and checking a large body must not hold up the event loop
            body, error = await asyncio.to_thread(self._check_gradio, req.path, body)
        else:
            body, error = self._check_gradio(req.path, body)
        if error:
            await _respond(send, 422, error, "invalid_request")
            return False, None
        return True, body

    def _checks_gradio(self, req: "_Request") -> bool:
        """Is this a page API call whose inputs `gradio_check` checks?"""
        # Behind a page password, a caller without a login cookie gets Gradio's 401, not our 422.
        logged_in = not self.page_password or b"access-token" in req.headers.get(b"cookie", b"")
        event = req.path.startswith(("/gradio_api/queue/join", "/gradio_api/call/", "/gradio_api/run/", "/gradio_api/api/"))
        return bool(req.gradio_post and self.gradio_check and event and logged_in)

    def _check_gradio(self, path: str, raw: bytes) -> tuple[bytes, str | None]:
        try:
            parsed = json.loads(raw.decode("utf-8")) if raw.strip() else None
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # RecursionError: 100,000 × "["
            return raw, f"请求体不是 JSON / body is not valid JSON: {str(exc)[:120]}"
        assert self.gradio_check is not None
        checked, error = self.gradio_check(path, parsed)
        if error:
            return raw, error
        return (raw if checked is parsed else json.dumps(checked, ensure_ascii=False).encode("utf-8")), None

    async def _login(self, scope: Any, receive: Any, send: Any, client: str) -> None:
        retry = self.login_failures.retry_after(client, record=False)
        if retry is not None:
            await _respond(send, 429, f"登录失败次数过多，请 {retry} 秒后再试 / too many failed logins", "login_throttled",
                           {"Retry-After": str(retry)})  # fmt: skip
            return
        status = [200]

        async def watch(message: Any) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        await self.app(scope, receive, watch)
        if status[0] >= 400:  # a wrong password (Gradio answers 400)
            self.login_failures.record(client)

    def _upload_room(self) -> bool:
        if _dir_size(self.upload_dir()) < self.upload_quota:
            return True
        if self.sweep:
            self.sweep()
        return _dir_size(self.upload_dir()) < self.upload_quota


async def _too_large(send: Any, limit: int) -> None:
    mb = limit / (1024 * 1024)
    await _respond(send, 413, f"请求体过大（上限 {mb:.0f} MB）/ request body too large (limit {limit} bytes)", "request_too_large")


async def _read_limited(receive: Any, limit: int) -> bytes | None:
    parts, seen = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(parts)
        chunk = message.get("body", b"")
        seen += len(chunk)
        if seen > limit:
            return None
        parts.append(chunk)
        if not message.get("more_body"):
            return b"".join(parts)


def _replay(body: bytes, receive: Any) -> Any:
    sent = [False]

    async def replay() -> Any:
        if not sent[0]:
            sent[0] = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # then the real channel: http.disconnect when the client leaves

    return replay


# --- the cache sweeper ---------------------------------------------------------------------


def _files(root: Path) -> Iterator[tuple[Path, os.stat_result]]:
    for dirpath, _, names in os.walk(root):
        for name in names:
            p = Path(dirpath) / name
            try:
                yield p, p.stat()
            except OSError:
                continue


def _dir_size(root: Path) -> int:
    return sum(st.st_size for _, st in _files(root)) if root.is_dir() else 0


class CacheSweeper:
    """Expires uploaded/exported files and idle page sessions; keeps the cache under its quota."""

    def __init__(self, root: Path, ttl: float, quota: int, sessions: Any = None, session_ttl: float = 3600.0) -> None:
        self.root, self.ttl, self.quota, self.sessions, self.session_ttl = root, ttl, quota, sessions, session_ttl
        self._lock = threading.Lock()

    def start(self, every: float) -> None:
        def loop() -> None:
            while True:
                time.sleep(every)
                try:
                    self.sweep()
                except Exception:  # noqa: BLE001 - a failed sweep must not end the sweeping
                    log.exception("cache sweep failed")

        threading.Thread(target=loop, name="qa-sweeper", daemon=True).start()

    def sweep(self) -> None:
        with self._lock:
            self._sweep_files()
            self._sweep_sessions()

    def expire(self) -> None:
        """Expired files only: when an upload finds the cache full, fresh files (someone's gold file
        about to be run) are not evicted for it; the upload is refused instead."""
        with self._lock:
            self._sweep_files(enforce_quota=False)

    def _sweep_files(self, enforce_quota: bool = True) -> None:
        if not self.root.is_dir():
            return
        now = time.time()
        kept: list[tuple[float, int, Path]] = []
        for p, st in _files(self.root):
            if now - st.st_mtime > self.ttl:
                p.unlink(missing_ok=True)
            else:
                kept.append((st.st_mtime, st.st_size, p))
        total = sum(size for _, size, _ in kept) if enforce_quota else 0
        for _, size, p in sorted(kept):  # oldest first, until under the quota (exports can exceed it)
            if total <= self.quota:
                break
            p.unlink(missing_ok=True)
            total -= size
        for dirpath, dirnames, filenames in os.walk(self.root, topdown=False):
            if dirpath != str(self.root) and not dirnames and not filenames:
                try:
                    os.rmdir(dirpath)
                except OSError:
                    pass

    def _sweep_sessions(self) -> None:
        holder = self.sessions
        if holder is None:
            return
        import datetime

        cutoff = datetime.datetime.now() - datetime.timedelta(seconds=self.session_ttl)
        with holder.lock:
            for sid in list(holder.session_data):  # oldest use first (the holder moves used ones to the end)
                last = holder.time_last_used.get(sid)
                if last is not None and last > cutoff:
                    break
                holder.session_data.pop(sid, None)
                holder.time_last_used.pop(sid, None)
