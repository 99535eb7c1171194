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
                       passage, source_file, validity), ``refused`` (bool) and ``coverage``
                       (full | partial | none; refused exactly when none). When streaming, they ride on the final
                       chunk (the one with ``finish_reason: "stop"``), followed by ``data: [DONE]``; that
                       chunk also carries ``answer``, the validated answer text (in LLM mode the markers
                       of the streamed tokens are the model's own; ``answer``'s markers match ``sources``).
                       An optional extra request field ``filters`` (same shape as in /api/ask) restricts
                       the search.

Auth: when ``settings.api_key`` is set, /api/* (except /api/health) and /v1/* need
``Authorization: Bearer <key>`` or ``X-API-Key: <key>``; otherwise 401.
Errors are JSON in the OpenAI shape ``{"error": {"message", "type", "code", "param"}}``, never a stack trace.
Rate limit: ``settings.rate_limit_per_minute`` questions per client address per minute (0 = off) → 429,
one budget with the page's own API. Answers are computed in a bounded pool, fair between clients
(qa/app/limits.py): a client with ``answer_per_client`` answers in progress gets 429, a full queue 503.
Input bounds (all in qa/config.py): question ``max_question_chars``, history ``max_history_messages`` ×
``max_history_message_chars``, list filters ``max_filter_items``, body ``max_body_mb`` → 422 / 413.
A client that disconnects stops its answer.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictStr, field_validator
from starlette.exceptions import HTTPException as StarletteHTTPException

import qa
from qa.app.limits import ClientGone, Refused, until_disconnected
from qa.app.limits import RateLimiter as SharedRateLimiter
from qa.app.render import references_text
from qa.app.service import (
    SharedAssistant,
    check_history,
    check_list,
    check_text,
    clean_history,
    content_text,
    make_filters,
)
from qa.config import Settings
from qa.models import Answer, Filters

log = logging.getLogger("qa.app")

MODEL_ID = "policy-qa"


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
        msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        parts.append(f"{where}: {msg}")
    return "请求参数有误 / invalid request — " + "; ".join(parts[:5]), first


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(APIError)
    async def _api_error(_: Request, exc: APIError) -> JSONResponse:
        return JSONResponse(_error_body(exc.message, exc.code, exc.param), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(Refused)
    async def _refused(_: Request, exc: Refused) -> JSONResponse:
        return JSONResponse(_error_body(exc.message, exc.code), status_code=exc.status, headers=exc.headers())

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


def _valid_text(value: str) -> str:
    return check_text(value, "text")  # lone surrogates cannot be encoded: refuse them here, not with a 500


# Every string a client sends: a real str, never a number, without lone surrogates.
Text = Annotated[StrictStr, AfterValidator(_valid_text)]


def _valid_parts(value: Any) -> Any:
    """OpenAI content parts may nest strings anywhere: check them all."""
    if isinstance(value, str):
        check_text(value, "text")
    elif isinstance(value, dict):
        for v in value.values():
            _valid_parts(v)
    elif isinstance(value, list):
        for v in value:
            _valid_parts(v)
    return value


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["user", "assistant"]
    content: Text


class FiltersIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    regions: list[Text] = Field(default_factory=list, description="e.g. ['临沂市兰山区']")
    doc_ids: list[Text] = Field(default_factory=list, description="ids from /api/documents")
    date_from: date | None = Field(None, description="inclusive, YYYY-MM-DD")
    date_to: date | None = Field(None, description="inclusive, YYYY-MM-DD")
    in_force: StrictBool = Field(False, description="only documents in force on as_of (or stating no term)")


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"question": "我家狗要办证吗？"}]})
    question: Text = Field(description="the question, in Chinese")
    history: list[Message] | None = Field(None, description="earlier turns, oldest first (max_history_messages)")
    filters: FiltersIn | None = None
    as_of: date | None = Field(None, description="judge the validity of cited documents on this day (default today)")
    with_hits: StrictBool = Field(True, description="include the retrieved passages (hits)")


class ChatMessageIn(BaseModel):
    model_config = ConfigDict(extra="allow")  # name, tool_calls … are accepted and ignored
    role: Text
    content: StrictStr | list[dict[str, Any]] | None = None

    @field_validator("content", mode="before")
    @classmethod
    def _content(cls, value: Any) -> Any:
        if value is not None and not isinstance(value, (str, list)):
            raise ValueError("content 必须是文本或内容片段列表 / content must be a string or a list of parts")
        return _valid_parts(value)


class ChatCompletionRequest(BaseModel):
    """OpenAI chat.completions request; sampling options are accepted and ignored."""

    model_config = ConfigDict(extra="allow")
    model: Text = MODEL_ID
    messages: list[ChatMessageIn] = Field(min_length=1)
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
    answers: dict[str, int]  # the answer pool: waiting, in_progress, clients, answered, stopped_early


# --- auth and rate limit --------------------------------------------------------------------

_bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer <QA_API_KEY>")
_header_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="X-API-Key: <QA_API_KEY>")


class RateLimiter(SharedRateLimiter):
    """Sliding one-minute window per client address; 0 disables it. Raises a 429 `APIError`."""

    def check(self, client: str) -> None:
        retry = self.retry_after(client)
        if retry is not None:
            raise APIError(429, f"请求过于频繁，请 {retry} 秒后再试 / rate limit exceeded", "rate_limited",
                           headers={"Retry-After": str(retry)})


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


def _check_history(history: list[dict[str, str]], settings: Settings, param: str) -> list[dict[str, str]]:
    try:
        return check_history(history, settings)
    except ValueError as exc:
        raise APIError(422, str(exc), param=param) from exc


def _filters(f: FiltersIn | None, known_docs: set[str], settings: Settings, as_of: date | None = None) -> Filters | None:
    out = _explicit_filters(f, known_docs, settings)
    if as_of is not None or (f is not None and f.in_force):  # validity: carried by the filters
        out = out or Filters()
        out.in_force = bool(f is not None and f.in_force)
        out.as_of = as_of.isoformat() if as_of else None
    return out


def _explicit_filters(f: FiltersIn | None, known_docs: set[str], settings: Settings) -> Filters | None:
    if f is None:
        return None
    try:
        check_list(f.regions, "filters.regions", settings)
        check_list(f.doc_ids, "filters.doc_ids", settings)
    except ValueError as exc:
        raise APIError(422, str(exc), param="filters") from exc
    unknown = [d for d in f.doc_ids if d not in known_docs]
    if unknown:
        raise APIError(422, f"未知的文件 id / unknown doc_ids: {unknown[:5]} (see /api/documents)", param="filters.doc_ids")
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


async def _answer(assistant: SharedAssistant, request: Request, question: str, history: list[dict[str, str]] | None,
                  filters: Filters | None) -> Answer:  # fmt: skip
    """The answer from the pool; if the client hangs up first, its work is stopped (ClientGone)."""
    task = asyncio.ensure_future(assistant.aask(_client(request), question, history, filters))
    return await until_disconnected(request.is_disconnected, task)


# --- the app --------------------------------------------------------------------------------


def _new_app() -> FastAPI:
    """The bare FastAPI app: documentation routes and the JSON error shapes."""
    app = FastAPI(
        title="政策问答 API",
        version=qa.__version__,
        description=__doc__,
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    install_error_handlers(app)

    @app.exception_handler(ClientGone)
    async def _gone(_: Request, exc: ClientGone) -> Response:
        return Response(status_code=499)  # nobody reads it: the client has left

    return app


def _open_routes(assistant: SharedAssistant, settings: Settings) -> APIRouter:
    """/api routes that need no key: monitors and load balancers probe them."""
    open_api = APIRouter(prefix="/api", tags=["api"])

    # async: runs on the event loop, never waits for a thread behind answering
    @open_api.get("/health", response_model=HealthResponse, summary="Service status and index facts")
    async def health() -> dict[str, Any]:
        return {
            "status": "ok",
            "version": qa.__version__,
            "documents": len(assistant.documents),
            "chunks": assistant.chunk_total(),
            "regions": assistant.regions(),
            "mode": assistant.mode,
            "mode_label": assistant.public_mode_label(),
            "api_key_required": bool(settings.api_key),
            "index": assistant.index_info(),
            "answers": assistant.pool.load(),
        }

    return open_api


def _api_routes(assistant: SharedAssistant, settings: Settings, limiter: RateLimiter, require_key: Any) -> APIRouter:
    """/api/ask and /api/documents (behind the key)."""
    api = APIRouter(prefix="/api", tags=["api"], dependencies=[Depends(require_key)])
    known_docs = _KnownDocs(assistant)  # live: documents added to the running server count at once

    @api.post("/ask", summary="Ask a question; get an answer with citations")
    async def ask(body: AskRequest, request: Request) -> dict[str, Any]:
        limiter.check(_client(request))
        question = _check_question(body.question, settings)
        history = _check_history([m.model_dump() for m in body.history or []], settings, "history")
        filters = _filters(body.filters, known_docs, settings, body.as_of)
        answer = await _answer(assistant, request, question, history or None, filters)
        return answer.to_dict(with_hits=body.with_hits)

    @api.get("/documents", summary="The indexed documents")
    async def documents(as_of: date | None = None) -> dict[str, Any]:
        from qa.ingest.validity import STATUS_LABELS, citation_validity

        counts = assistant.chunk_counts
        out = []
        for d in assistant.documents:
            v = citation_validity(d, as_of)
            out.append({**d.to_dict(), "chunks": int(counts.get(d.doc_id, 0)), "status": v["status"],
                        "status_label": STATUS_LABELS[v["status"]], "as_of": v["as_of"]})
        return {"documents": out}

    return api


def _chat_input(body: ChatCompletionRequest, settings: Settings, known_docs: Any) -> tuple[str, list[dict[str, str]], Filters | None]:
    """(question, history, filters) of an OpenAI chat request: the last user message is the question."""
    if len(body.messages) > settings.max_history_messages + 1:
        raise APIError(422, f"消息过多（{len(body.messages)} 条，上限 {settings.max_history_messages + 1}）/ "
                            f"too many messages ({len(body.messages)} > {settings.max_history_messages + 1})",
                       param="messages")  # fmt: skip
    last = body.messages[-1]
    if last.role != "user":
        raise APIError(400, "最后一条消息必须来自用户 / the last message must have role 'user'", param="messages")
    question = _check_question(content_text(last.content), settings, param="messages")
    history = _check_history(clean_history([m.model_dump() for m in body.messages[:-1]]), settings, "messages")
    return question, history, _filters(body.filters, known_docs, settings, body.as_of)


@dataclass(frozen=True)
class _Completion:
    """The fields every response (or stream chunk) of one chat completion repeats."""

    cid: str
    created: int
    model: str

    def whole(self, answer: Answer) -> dict[str, Any]:
        """The non-streaming response: the answer with its reference list, and its sources."""
        content = answer.text + references_text(answer.citations)
        return {
            "id": self.cid,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
            "sources": [c.to_dict() for c in answer.citations],
            "refused": answer.refused,
            "coverage": answer.coverage,
        }

    def chunk(self, delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        """One server-sent event of the stream."""
        return _sse({
            "id": self.cid, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra,
        })

    async def events(self, stream: Any, first: Any) -> AsyncIterator[str]:
        """The stream's events, from its first item on; the last chunk carries the sources."""
        # Starlette cancels this generator when the client disconnects; closing `stream`
        # (finally below) then stops the answer in the pool.
        yield self.chunk({"role": "assistant", "content": ""})
        answer: Answer | None = None
        try:
            item = first
            while item is not None:
                if isinstance(item, Answer):
                    answer = item
                elif item:
                    yield self.chunk({"content": item})
                try:
                    item = await stream.__anext__()
                except StopAsyncIteration:
                    item = None
        except Exception:  # headers are sent: report in-band, never a trace
            log.exception("stream failed")
            yield _sse(_error_body("服务器内部错误 / internal server error", "internal_error"))
            yield "data: [DONE]\n\n"
            return
        finally:
            await stream.aclose()
        refs = references_text(answer.citations) if answer else ""
        if refs:
            yield self.chunk({"content": refs})
        yield self.chunk({}, "stop", sources=[c.to_dict() for c in answer.citations] if answer else [],
                         refused=bool(answer.refused) if answer else True, answer=answer.text if answer else "",
                         coverage=answer.coverage if answer else "none")
        yield "data: [DONE]\n\n"


async def _streamed(assistant: SharedAssistant, request: Request, completion: _Completion, question: str,
                    history: list[dict[str, str]] | None, filters: Filters | None) -> StreamingResponse:  # fmt: skip
    # Taken before the response starts, so a full pool is a real 429/503, not an in-band error.
    stream = assistant.astream(_client(request), question, history, filters)
    try:  # the first step is most of the work: stop it too if the client hangs up meanwhile
        first = await until_disconnected(request.is_disconnected, asyncio.ensure_future(stream.__anext__()))
    except StopAsyncIteration:
        first = None
    return StreamingResponse(completion.events(stream, first), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _v1_routes(assistant: SharedAssistant, settings: Settings, limiter: RateLimiter, require_key: Any) -> APIRouter:
    """The OpenAI-compatible /v1 routes (behind the key)."""
    v1 = APIRouter(prefix="/v1", tags=["openai"], dependencies=[Depends(require_key)])
    known_docs = _KnownDocs(assistant)

    @v1.get("/models", summary="OpenAI-compatible model list")
    async def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "policy-qa"}]}

    @v1.post("/chat/completions", summary="OpenAI-compatible chat completion (stream or not)")
    async def chat_completions(body: ChatCompletionRequest, request: Request) -> Any:
        limiter.check(_client(request))
        question, history, filters = _chat_input(body, settings, known_docs)
        completion = _Completion("chatcmpl-" + uuid.uuid4().hex[:24], int(time.time()), body.model or MODEL_ID)
        if not body.stream:
            return completion.whole(await _answer(assistant, request, question, history or None, filters))
        return await _streamed(assistant, request, completion, question, history or None, filters)

    return v1


def _install_unknown_routes(app: FastAPI, routers: tuple[APIRouter, ...]) -> None:
    """The chat is mounted at "/" and would swallow unknown /api and /v1 paths with its own
    404 page, and a wrong method on a known path too: answer those here, in our JSON shape."""
    known = {r.path: r.methods for router in routers for r in router.routes if hasattr(r, "methods")}

    @app.api_route("/api/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
    @app.api_route("/v1/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
    async def _unknown(request: Request, rest: str) -> None:
        allowed = known.get(request.url.path)
        if allowed:
            raise APIError(405, f"{request.method} not allowed on {request.url.path} (use {', '.join(sorted(allowed))})",
                           "method_not_allowed", headers={"Allow": ", ".join(sorted(allowed))})
        raise APIError(404, f"没有这个接口 / no such endpoint: {request.url.path} (see /docs)", "not_found")


def create_api(assistant: SharedAssistant, settings: Settings, limiter: RateLimiter | None = None) -> FastAPI:
    """FastAPI app with /api and /v1 routes (the chat UI is mounted onto it by server.py).

    `limiter` is shared with the page's own API (server.py); one is made when none is given.
    """
    app = _new_app()
    require_key = _auth_dependency(settings)
    limiter = limiter or RateLimiter(settings.rate_limit_per_minute)
    app.state.limiter = limiter
    routers = (_open_routes(assistant, settings), _api_routes(assistant, settings, limiter, require_key),
               _v1_routes(assistant, settings, limiter, require_key))  # fmt: skip
    for router in routers:
        app.include_router(router)
    _install_unknown_routes(app, routers)
    return app
