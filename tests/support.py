"""Shared test helpers: the repository root, in-process HTTP servers on loopback.

* `ROOT`: the repository (this file's parent's parent); `BLIND_SETS`: the folders of the blind gold sets
  (eval/blind and each of its sets), each holding a tune.jsonl and a frozen test.jsonl;
* `LoopbackServer`: any `BaseHTTPRequestHandler` served on 127.0.0.1:<free port> in a daemon thread;
* `FakeOpenAI`: an OpenAI-compatible chat endpoint whose behaviour is the first path segment
  (base_url http://127.0.0.1:<port>/<mode>/v1), with canned replies per mode; `sse_chunk` and
  `SSE_DONE` build streamed replies.

Real `qa serve` subprocesses are qa.serving.ServeProcess (product code: the load test and the
benchmark use it too); the embeddings server is tests/embed_server.py.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self

ROOT = Path(__file__).resolve().parents[1]
BLIND_SETS = sorted(p.parent for p in (ROOT / "eval" / "blind").rglob("test.jsonl"))

SSE = "text/event-stream"
JSON = "application/json"
SSE_DONE = b"data: [DONE]\n\n"

Reply = tuple[int, bytes, str]  # status, body, content type
"""A canned HTTP reply."""


class LoopbackServer:
    """`handler` on 127.0.0.1:<free port> (a ThreadingHTTPServer in a daemon thread); a context manager.

    The socket is bound on entering, so an instance can be made at import time."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.handler = handler
        self.httpd: ThreadingHTTPServer | None = None
        self.thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        assert self.httpd is not None, "not started"
        return int(self.httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Self:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self.handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
        if self.thread is not None:
            self.thread.join(5)


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler that keeps pytest's output clean and sends whole replies."""

    def log_message(self, *args: object) -> None:
        pass

    def send(self, status: int, body: bytes, ctype: str = JSON) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def sse_chunk(content: str, *, id: str = "x", model: str = "m") -> bytes:  # noqa: A002 - the OpenAI field name
    """One streamed chat-completion chunk (`data: {...}`) carrying `content`."""
    body = {
        "id": id,
        "object": "chat.completion.chunk",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": None}],
    }
    return f"data: {json.dumps(body, ensure_ascii=False)}\n\n".encode()


def completion(content: str) -> bytes:
    """A whole (non-streamed) chat completion, as a server that ignores stream=true sends it."""
    body = {
        "id": "x", "object": "chat.completion", "created": 0, "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
    }  # fmt: skip
    return json.dumps(body, ensure_ascii=False).encode()


class FakeOpenAI(LoopbackServer):
    """An OpenAI-compatible endpoint on loopback whose behaviour is the first path segment.

    `replies` maps a mode to a Reply, or to a function of the request's JSON body returning one
    (e.g. one that sleeps first); POST /<mode>/v1/chat/completions gets that reply, an unknown
    mode 404. Every POST is recorded in `requests` as (mode, JSON body or {}). A client hanging
    up (timeout tests) is ignored. `base_url(mode)` is what an LLM client is configured with."""

    def __init__(self, replies: Mapping[str, Reply | Callable[[dict[str, Any]], Reply]]) -> None:
        outer = self
        self.replies = dict(replies)
        self.requests: list[tuple[str, dict[str, Any]]] = []

        class Handler(QuietHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server naming
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                mode = self.path.strip("/").split("/")[0]
                try:
                    payload = json.loads(raw)
                except ValueError:
                    payload = {}
                outer.requests.append((mode, payload))
                reply = outer.replies.get(mode, (404, b"{}", JSON))
                try:
                    self.send(*(reply(payload) if callable(reply) else reply))
                except (BrokenPipeError, ConnectionResetError):  # the client gave up
                    pass

        super().__init__(Handler)

    def base_url(self, mode: str) -> str:
        return f"{self.url}/{mode}/v1"


def article_of(chunk_id: str) -> str:
    """The article a chunk belongs to: a piece of an article split at the token limit (…#2) is that
    article, and the answer may quote it beside the piece retrieval found."""
    return chunk_id.split("#", 1)[0]
