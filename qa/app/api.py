"""HTTP API for programs: a JSON API and an OpenAI-compatible chat endpoint.

Endpoints
---------
``GET  /api/health``   status, document/chunk counts, answer mode, index manifest. Always open
                       (no key needed) so load balancers and monitors can probe it.
``POST /api/ask``      ``{"question": str, "history"?: [{"role","content"}], "filters"?: {"regions"?: [str],
                       "doc_ids"?: [str], "date_from"?: "YYYY-MM-DD", "date_to"?: "YYYY-MM-DD", "in_force"?: bool},
                       "as_of"?: "YYYY-MM-DD", "with_hits"?: bool}``
                       → ``Answer.to_dict()`` (answer, citations, refused, mode, filters, hits, timings …).
                       Each citation carries ``validity`` {status, effective_date, expiry_date, repealed_by,
                       as_of}: in_force | expired | not_yet_effective | repealed | unknown on ``as_of`` (default
                       today); ``filters.in_force`` keeps only documents in force then (or stating no term).
``GET  /api/documents`` the indexed documents with their article counts, validity facts and status
                       (``?as_of=YYYY-MM-DD``, default today).
``GET  /v1/models``    OpenAI-compatible model list (one model, ``policy-qa``).
``POST /v1/chat/completions``  OpenAI-compatible chat, ``stream`` true or false.
                       The last user message is the question; earlier user/assistant messages are the
                       history (system messages are ignored). The message content is the answer text with
                       [n] markers, followed by a reference list::

                           参考来源：
                           [1] 《title》（发文字号）第X条，issuer，date

                       Extra response fields (OpenAI clients keep unknown fields; in the Python client read
                       ``completion.model_extra["sources"]``): ``sources`` = list of citation dicts
                       (marker, chunk_id, doc_title, doc_number, locator, issuer, date, region, quote,
                       passage, source_file) and ``refused`` (bool). When streaming, they ride on the final
                       chunk (the one with ``finish_reason: "stop"``), followed by ``data: [DONE]``; that
                       chunk also carries ``answer``, the validated answer text (in LLM mode the markers
                       of the streamed tokens are the model's own; ``answer``'s markers match ``sources``).
                       An optional extra request field ``filters`` (same shape as in /api/ask) restricts
                       the search.

Auth: when ``settings.api_key`` is set, /api/* (except /api/health) and /v1/* need
``Authorization: Bearer <key>`` or ``X-API-Key: <key>``; otherwise 401.
Errors are JSON in the OpenAI shape ``{"error": {"message", "type", "code", "param"}}``, never a stack trace.
Rate limit: ``settings.rate_limit_per_minute`` questions per client address per minute (0 = off) → 429.
"""

from __future__ import annotations

import hmac
import json
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator
from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr
from starlette.exceptions import HTTPException as StarletteHTTPException

import qa
from qa.app.render import references_text
from qa.app.service import SharedAssistant, clean_history, content_text, make_filters
from qa.config import Settings
from qa.models import Answer, Filters

log = logging.getLogger("qa.app")

MODEL_ID = "policy-qa"
MAX_HISTORY_MESSAGES = 40
MAX_MESSAGE_CHARS = 20_000
# The largest valid request (41 messages of 20,000 characters, as UTF-8 JSON) is ~2.5 MB; anything
# bigger is refused with 413 before it is read into memory, however it is sent.
MAX_BODY_BYTES = 4 * 1024 * 1024


# --- errors -------------------------------------------------------------------------------


class APIError(Exception):
    """An error the client caused or should know about, turned into a JSON response."""

    def __init__(self, status: int, message: str, code: str = "invalid_request", param: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.code, self.param, self.headers = status, message, code, param, headers


def _error_body(message: str, code: str, param: str | None = None, type_: str | None = None) -> dict[str, Any]:
    if type_ is None:
        type_ = "invalid_request_error" if code not in ("internal_error",) else "server_error"
    return {"error": {"message": message, "type": type_, "code": code, "param": param}}


def _validation_message(exc: RequestValidationError) -> tuple[str, str | None]:
    parts, first = [], None
    for err in exc.errors():
        loc = [str(x) for x in err.get("loc", ()) if x != "body"]
        where = ".".join(loc) or "body"
        first = first or where
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "请求参数有误 / invalid request — " + "; ".join(parts[:5]), first


_TOO_LARGE = f"请求体过大（上限 {MAX_BODY_BYTES // (1024 * 1024)} MB）/ request body too large (limit {MAX_BODY_BYTES} bytes)"


class BodySizeLimit:
    """ASGI middleware: 413 for /api and /v1 request bodies over `max_bytes` (declared or streamed)."""

    def __init__(self, app: Any, max_bytes: int = MAX_BODY_BYTES, prefixes: tuple[str, ...] = ("/api/", "/v1/")) -> None:
        self.app, self.max_bytes, self.prefixes = app, max_bytes, prefixes

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope.get("path", "").startswith(self.prefixes):
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            response = JSONResponse(_error_body(_TOO_LARGE, "request_too_large"), status_code=413)
            await response(scope, receive, send)
            return
        seen = 0

        async def limited() -> Any:  # chunked bodies have no length: count as they arrive
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise StarletteHTTPException(413, _TOO_LARGE)
            return message

        await self.app(scope, limited, send)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(APIError)
    async def _api_error(_: Request, exc: APIError) -> JSONResponse:
        return JSONResponse(_error_body(exc.message, exc.code, exc.param), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        message, param = _validation_message(exc)
        return JSONResponse(_error_body(message, "invalid_request", param), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {401: "unauthorized", 404: "not_found", 405: "method_not_allowed", 413: "request_too_large"}.get(
            exc.status_code, "http_error"
        )
        return JSONResponse(_error_body(str(exc.detail), code), status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _crash(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")  # the trace goes to the server log, not to the client
        return JSONResponse(_error_body("服务器内部错误 / internal server error", "internal_error"), status_code=500)


# --- request / response models ------------------------------------------------------------


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["user", "assistant"]
    content: StrictStr = Field(max_length=MAX_MESSAGE_CHARS)


class FiltersIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    regions: list[StrictStr] = Field(default_factory=list, description="e.g. ['临沂市兰山区']")
    doc_ids: list[StrictStr] = Field(default_factory=list, description="ids from /api/documents")
    date_from: date | None = Field(None, description="inclusive, YYYY-MM-DD")
    date_to: date | None = Field(None, description="inclusive, YYYY-MM-DD")
    in_force: StrictBool = Field(False, description="only documents in force on as_of (or stating no term)")


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"question": "我家狗要办证吗？"}]})
    question: StrictStr = Field(description="the question, in Chinese")
    history: list[Message] | None = Field(None, max_length=MAX_HISTORY_MESSAGES, description="earlier turns, oldest first")
    filters: FiltersIn | None = None
    as_of: date | None = Field(None, description="judge the validity of cited documents on this day (default today)")
    with_hits: StrictBool = Field(True, description="include the retrieved passages (hits)")


class ChatMessageIn(BaseModel):
    model_config = ConfigDict(extra="allow")  # name, tool_calls … are accepted and ignored
    role: StrictStr
    content: StrictStr | list[dict[str, Any]] | None = None


class ChatCompletionRequest(BaseModel):
    """OpenAI chat.completions request; sampling options are accepted and ignored."""

    model_config = ConfigDict(extra="allow")
    model: StrictStr = MODEL_ID
    messages: list[ChatMessageIn] = Field(min_length=1, max_length=MAX_HISTORY_MESSAGES + 1)
    stream: StrictBool = False
    filters: FiltersIn | None = Field(None, description="extension: restrict the search (same as /api/ask)")
    as_of: date | None = Field(None, description="extension: judge validity on this day (same as /api/ask)")


class HealthResponse(BaseModel):
    status: str
    version: str
    documents: int
    chunks: int
    regions: list[str]
    mode: str
    mode_label: str
    api_key_required: bool
    index: dict[str, Any]


# --- auth and rate limit --------------------------------------------------------------------

_bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer <QA_API_KEY>")
_header_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="X-API-Key: <QA_API_KEY>")


class RateLimiter:
    """Sliding one-minute window per client address; 0 disables it."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, client: str) -> None:
        if self.per_minute <= 0:
            return
        now = time.monotonic()
        with self._lock:
            q = self._seen.setdefault(client, deque())
            while q and now - q[0] > 60:
                q.popleft()
            if len(q) >= self.per_minute:
                retry = max(1, int(60 - (now - q[0])) + 1)
                raise APIError(429, f"请求过于频繁，请 {retry} 秒后再试 / rate limit exceeded", "rate_limited",
                               headers={"Retry-After": str(retry)})
            q.append(now)
            if len(self._seen) > 10_000:  # forget idle clients
                for k in [k for k, v in self._seen.items() if not v or now - v[-1] > 60]:
                    del self._seen[k]


def _auth_dependency(settings: Settings):  # type: ignore[no-untyped-def]
    expected = settings.api_key

    async def require_key(
        bearer: HTTPAuthorizationCredentials | None = Depends(_bearer),
        header_key: str | None = Depends(_header_key),
    ) -> None:
        if not expected:
            return
        given = header_key or (bearer.credentials if bearer else "")
        if not given or not hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8")):
            raise APIError(401, "缺少或错误的 API 密钥 / missing or invalid API key "
                                "(send 'Authorization: Bearer <key>' or 'X-API-Key: <key>')",
                           "invalid_api_key", headers={"WWW-Authenticate": "Bearer"})

    return require_key


# --- helpers --------------------------------------------------------------------------------


def _check_question(question: str, settings: Settings, param: str = "question") -> str:
    q = question.strip()
    if not q:
        raise APIError(422, "问题不能为空 / question must not be empty", param=param)
    if len(q) > settings.max_question_chars:
        raise APIError(422, f"问题过长（{len(q)} 字，上限 {settings.max_question_chars}）/ question too long "
                            f"({len(q)} > {settings.max_question_chars} characters)", param=param)
    return q


def _filters(f: FiltersIn | None, known_docs: set[str], as_of: date | None = None) -> Filters | None:
    out = _explicit_filters(f, known_docs)
    if as_of is not None or (f is not None and f.in_force):  # validity: carried by the filters
        out = out or Filters()
        out.in_force = bool(f is not None and f.in_force)
        out.as_of = as_of.isoformat() if as_of else None
    return out


def _explicit_filters(f: FiltersIn | None, known_docs: set[str]) -> Filters | None:
    if f is None:
        return None
    unknown = [d for d in f.doc_ids if d not in known_docs]
    if unknown:
        raise APIError(422, f"未知的文件 id / unknown doc_ids: {unknown} (see /api/documents)", param="filters.doc_ids")
    try:
        return make_filters(f.regions, f.doc_ids, f.date_from, f.date_to)
    except ValueError as exc:
        raise APIError(422, str(exc), param="filters") from exc


class _KnownDocs:
    """`doc_id in known_docs`, against the documents the assistant has now."""

    def __init__(self, assistant: SharedAssistant) -> None:
        self.assistant = assistant

    def __contains__(self, doc_id: object) -> bool:
        return any(d.doc_id == doc_id for d in self.assistant.documents)


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _sse(obj: dict[str, Any]) -> str:
    return "data: " + json.dumps(obj, ensure_ascii=False) + "\n\n"


# --- the app --------------------------------------------------------------------------------


def create_api(assistant: SharedAssistant, settings: Settings) -> FastAPI:
    """FastAPI app with /api and /v1 routes (the chat UI is mounted onto it by server.py)."""
    app = FastAPI(
        title="政策问答 API",
        version=qa.__version__,
        description=__doc__,
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit)
    require_key = _auth_dependency(settings)
    limiter = RateLimiter(settings.rate_limit_per_minute)
    known_docs = _KnownDocs(assistant)  # live: documents added to the running server count at once

    open_api = APIRouter(prefix="/api", tags=["api"])
    api = APIRouter(prefix="/api", tags=["api"], dependencies=[Depends(require_key)])
    v1 = APIRouter(prefix="/v1", tags=["openai"], dependencies=[Depends(require_key)])

    @open_api.get("/health", response_model=HealthResponse, summary="Service status and index facts")
    def health() -> dict[str, Any]:
        return {
            "status": "ok",
            "version": qa.__version__,
            "documents": len(assistant.documents),
            "chunks": assistant.chunk_total(),
            "regions": assistant.regions(),
            "mode": assistant.mode,
            "mode_label": assistant.describe_mode(),
            "api_key_required": bool(settings.api_key),
            "index": assistant.index_info(),
        }

    @api.post("/ask", summary="Ask a question; get an answer with citations")
    def ask(body: AskRequest, request: Request) -> dict[str, Any]:
        limiter.check(_client(request))
        question = _check_question(body.question, settings)
        history = [m.model_dump() for m in body.history or []]
        answer = assistant.ask(question, history=history or None, filters=_filters(body.filters, known_docs, body.as_of))
        return answer.to_dict(with_hits=body.with_hits)

    @api.get("/documents", summary="The indexed documents")
    def documents(as_of: date | None = None) -> dict[str, Any]:
        from qa.ingest.validity import STATUS_LABELS, citation_validity

        counts = assistant.chunk_counts
        out = []
        for d in assistant.documents:
            v = citation_validity(d, as_of)
            out.append({**d.to_dict(), "chunks": int(counts.get(d.doc_id, 0)), "status": v["status"],
                        "status_label": STATUS_LABELS[v["status"]], "as_of": v["as_of"]})
        return {"documents": out}

    @v1.get("/models", summary="OpenAI-compatible model list")
    def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "policy-qa"}]}

    @v1.post("/chat/completions", summary="OpenAI-compatible chat completion (stream or not)")
    def chat_completions(body: ChatCompletionRequest, request: Request) -> Any:
        limiter.check(_client(request))
        last = body.messages[-1]
        if last.role != "user":
            raise APIError(400, "最后一条消息必须来自用户 / the last message must have role 'user'", param="messages")
        question = _check_question(content_text(last.content), settings, param="messages")
        history = clean_history([m.model_dump() for m in body.messages[:-1]])
        filters = _filters(body.filters, known_docs, body.as_of)
        cid = "chatcmpl-" + uuid.uuid4().hex[:24]
        created = int(time.time())
        model = body.model or MODEL_ID

        if not body.stream:
            answer = assistant.ask(question, history=history or None, filters=filters)
            content = answer.text + references_text(answer.citations)
            return {
                "id": cid,
                "object": "chat.completion",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
                "sources": [c.to_dict() for c in answer.citations],
                "refused": answer.refused,
            }

        def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
            return _sse({
                "id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra,
            })

        def events() -> Iterator[str]:
            yield chunk({"role": "assistant", "content": ""})
            answer: Answer | None = None
            try:
                for item in assistant.stream(question, history=history or None, filters=filters):
                    if isinstance(item, Answer):
                        answer = item
                    elif item:
                        yield chunk({"content": item})
            except Exception:  # headers are sent: report in-band, never a trace
                log.exception("stream failed")
                yield _sse(_error_body("服务器内部错误 / internal server error", "internal_error"))
                yield "data: [DONE]\n\n"
                return
            refs = references_text(answer.citations) if answer else ""
            if refs:
                yield chunk({"content": refs})
            yield chunk({}, "stop", sources=[c.to_dict() for c in answer.citations] if answer else [],
                        refused=bool(answer.refused) if answer else True, answer=answer.text if answer else "")
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    app.include_router(open_api)
    app.include_router(api)
    app.include_router(v1)

    # The chat is mounted at "/" and would swallow unknown /api and /v1 paths with its own
    # 404 page, and a wrong method on a known path too: answer those here, in our JSON shape.
    known = {r.path: r.methods for router in (open_api, api, v1) for r in router.routes if hasattr(r, "methods")}

    @app.api_route("/api/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
    @app.api_route("/v1/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
    def _unknown(request: Request, rest: str) -> None:
        allowed = known.get(request.url.path)
        if allowed:
            raise APIError(405, f"{request.method} not allowed on {request.url.path} (use {', '.join(sorted(allowed))})",
                           "method_not_allowed", headers={"Allow": ", ".join(sorted(allowed))})
        raise APIError(404, f"没有这个接口 / no such endpoint: {request.url.path} (see /docs)", "not_found")

    return app
