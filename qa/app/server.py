"""`qa serve`: one process, one Assistant (index loaded once), one uvicorn server.

    /                      Gradio chat (Chinese UI), its API under /gradio_api (``/ask`` for gradio_client)
    /api/health, /api/ask, /api/documents     JSON API
    /v1/models, /v1/chat/completions          OpenAI-compatible API
    /docs, /openapi.json                      API documentation

See qa/app/api.py for the API contract (auth, errors, the `sources` extension field).
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any, NamedTuple

from qa.app.service import parse_day
from qa.config import Settings, load_settings

log = logging.getLogger("qa.app")


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def parse_auth(auth: str) -> tuple[str, str] | None:
    """'user:password' → (user, password); empty → None."""
    if not auth:
        return None
    user, sep, password = auth.partition(":")
    if not sep or not user or not password:
        raise ValueError("auth 格式应为 “用户名:密码” / auth must look like 'user:password'")
    return user, password


def load_assistant(settings: Settings, build_index_if_missing: bool = True) -> Any:
    """The Assistant over settings.index_dir; builds the index first when it is missing,
    corrupt or was built with another embedder/chunker (and building is allowed)."""
    from qa.answer.pipeline import Assistant
    from qa.index.store import IndexStoreError

    try:
        return Assistant(settings)
    except IndexStoreError as exc:
        if not build_index_if_missing:
            raise
        _say(f"{exc}\n正在建立索引 / building the index in {settings.index_dir} …")
    # First run: keyword index now (seconds), vectors in the background once serving (qa.app.live):
    # the chat answers within a minute of the install, at full quality when the embeddings are ready.
    from qa.manage.jobs import update

    report = update(settings, quick_only=True)[-1]
    _say(report.summary() if hasattr(report, "summary") else "索引完成 / index built")
    if getattr(report, "pending", 0):
        _say(f"关键词检索已就绪；{report.pending} 条条文的语义向量将在后台生成 / keyword search ready; "
             f"embedding {report.pending} chunks in the background")
    return Assistant(settings)


def allowed_hosts(settings: Settings) -> set[str]:
    """Host header values the server answers: QA_ALLOWED_HOSTS, or loopback names plus the bind
    address when it is a specific one (a DNS-rebinding page sends its own name and is refused)."""
    if settings.allowed_hosts.strip():
        return {h.strip().lower().strip("[]") for h in settings.allowed_hosts.split(",") if h.strip()}
    hosts = {"localhost", "localhost.localdomain", "127.0.0.1", "::1"}
    if settings.host not in ("", "0.0.0.0", "::"):
        hosts.add(settings.host.lower().strip("[]"))
    return hosts


def upload_root(settings: Settings) -> Path:
    """Gradio's upload/export cache for this server (its own folder: the quota counts only its files)."""
    if settings.upload_dir:
        return Path(settings.upload_dir)
    return Path(os.environ.get("GRADIO_TEMP_DIR") or Path(tempfile.gettempdir()) / f"qa-gradio-{settings.port}")


_SURROGATE = re.compile("[\ud800-\udfff]")
# a Dropdown whose choices follow the running index carries a callable under this name (ui.py, admin.py)
LIVE_CHOICES = "qa_live_choices"
_ASK_PARAMS = ("question", "region", "document", "date_from", "date_to", "history_json")


def _json_problem(value: Any, max_items: int) -> str | None:
    """Too many JSON values, or a lone surrogate anywhere (iterative: no recursion limit to hit)."""
    stack, n = [value], 0
    while stack:
        v = stack.pop()
        n += 1
        if n > max_items:
            return f"请求中的值过多（上限 {max_items}）/ too many values in the request (limit {max_items})"
        if isinstance(v, str):
            if _SURROGATE.search(v):
                return "请求含有无效字符（孤立的代理码位）/ the request contains an invalid character (lone surrogate)"
        elif isinstance(v, dict):
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return None


def _value_problem(kind: str, choices: set[Any] | None, value: Any, model: Any = None, multiple: bool = False) -> str | None:
    """Why `value` cannot be an input of a component of this kind (None: fine). Gradio itself answers
    such values with a traceback in the log and `{"error": null}` to the caller."""
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if value is None or kind in ("State", "Api"):
        return None
    if kind in ("Textbox", "Button") and not isinstance(value, str):
        return f"必须是文本 / must be a string, not {type(value).__name__}"
    if kind == "Chatbot":
        try:  # the component's own data model, as Gradio will check it
            model.model_validate(value)  # type: ignore[union-attr]
        except Exception:  # noqa: BLE001 - any validation failure is the caller's
            return "必须是消息列表 [{role, content: [{type, text}]}] / must be a list of chat messages"
    if kind in ("Dropdown", "Radio") and choices is not None and (not isinstance(value, (str, int, float)) or value not in choices):
        return f"不是可选的值 / not one of the choices: {str(value)[:60]!r}"
    if kind == "DateTime":
        if not (isinstance(value, str) or number):
            return f"不是日期 / not a date: {type(value).__name__}"
        try:
            parse_day(value)
        except ValueError as exc:
            return str(exc)
    if kind == "Checkbox" and not isinstance(value, bool):
        return f"必须是 true 或 false / must be a boolean, not {type(value).__name__}"
    if kind == "Number" and not number:
        return f"必须是数字 / must be a number, not {type(value).__name__}"
    if kind == "File" and not isinstance(value, dict):
        many = isinstance(value, list) and value and len(value) <= 10 and all(isinstance(v, dict) for v in value)
        if not (many and multiple):  # file_count="multiple" (文件管理): a list of references
            return "必须是上传文件的引用 / must be an uploaded file reference"
    return None


class _InputSpec(NamedTuple):
    """What a page event's input may receive: its component kind and, for a choice, the choices."""

    kind: str
    choices: Any  # a set, a callable giving the live choices (LIVE_CHOICES), or None: not checked
    model: Any  # a Chatbot's data model
    blank_is_none: bool  # "" means no choice and is passed on as None
    multiple: bool  # a File input taking a list (文件管理)


def _input_spec(comp: Any) -> _InputSpec:
    kind = type(comp).__name__
    model = getattr(comp, "data_model", None) if kind == "Chatbot" else None
    raw = getattr(comp, "choices", None) if kind in ("Dropdown", "Radio") else None
    # choices set while the page runs (the 评测 question list) are per session: not checked here;
    # those that follow the index (documents, regions: new uploads) name their source, LIVE_CHOICES
    live = getattr(comp, LIVE_CHOICES, None)
    choices = live or ({c[1] if isinstance(c, (tuple, list)) else c for c in raw} | {"", None} if raw else None)
    # "" (a cleared dropdown, or a client's blank default) means no choice: Gradio itself
    # accepts it only when "" is one of the choices, so it is passed on as None otherwise
    blank_is_none = bool(raw) and "" not in {c[1] if isinstance(c, (tuple, list)) else c for c in raw}
    multiple = getattr(comp, "file_count", "single") == "multiple"  # 文件管理: a list of uploaded files
    return _InputSpec(kind, choices, model, blank_is_none, multiple)


def _ask_call(body: dict[str, Any], data: list[Any]) -> tuple[Any, str | None]:
    """A positional call of `/ask`: each value a string (dates a date), the missing ones filled with ""."""
    if len(data) > len(_ASK_PARAMS):
        return body, f"/ask 最多接受 {len(_ASK_PARAMS)} 个值 / /ask takes at most {len(_ASK_PARAMS)} values: {', '.join(_ASK_PARAMS)}"
    for name, value in zip(_ASK_PARAMS, data):
        problem = _value_problem("DateTime" if name.startswith("date_") else "Textbox", None, value)
        if problem:
            return body, f"{name}: {problem}"
    return {**body, "data": data + [""] * (len(_ASK_PARAMS) - len(data))}, None


def _event_call(body: dict[str, Any], data: list[Any], row: list[_InputSpec]) -> tuple[Any, str | None]:
    """A call of one of the page's own events: one value per input, each of its component's kind."""
    if len(data) != len(row):
        return body, f"需要 {len(row)} 个输入值，收到 {len(data)} 个 / expected {len(row)} input values, got {len(data)}"
    for i, ((kind, choices, model, _, multiple), value) in enumerate(zip(row, data)):
        if callable(choices):
            choices = set(choices()) | {"", None}
        problem = _value_problem(kind, choices, value, model, multiple)
        if problem:
            return body, f"data[{i}] ({kind}): {problem}"
    if any(blank and v == "" for (_, _, _, blank, _), v in zip(row, data)):
        data = [None if blank and v == "" else v for (_, _, _, blank, _), v in zip(row, data)]
        return {**body, "data": data}, None
    return body, None


def gradio_checker(demo: Any, max_items: int = 1000) -> Any:
    """Checks a call to the page's API before Gradio sees it (limits.Gate): a JSON object, no lone
    surrogates, as many values as the event has inputs, each of the component's kind (a region from
    the list, a date that is a date …); the public `/ask` gets its missing values filled with their
    defaults (Gradio itself rejects a short list with a traceback and `{"error": null}`)."""
    specs = {fn_id: [_input_spec(comp) for comp in fn.inputs] for fn_id, fn in demo.fns.items()}
    by_name = {str(fn.api_name): fn_id for fn_id, fn in demo.fns.items() if getattr(fn, "api_name", None)}

    def check(path: str, body: Any) -> tuple[Any, str | None]:
        if not isinstance(body, dict):
            return body, "请求体必须是 JSON 对象 / the body must be a JSON object"
        problem = _json_problem(body, max_items)
        if problem:
            return body, problem
        if path.startswith("/gradio_api/call/v2/"):
            return body, None  # named arguments: Gradio fills in the defaults, `ask` checks the types
        data = body.get("data")
        if not isinstance(data, list):
            return body, "data 必须是输入值的列表 / data must be a list of input values"
        if path.startswith("/gradio_api/queue/join"):
            fn_id = body.get("fn_index")
        else:  # /gradio_api/{call,run,api}/<api_name>
            fn_id = by_name.get(path.rstrip("/").rsplit("/", 1)[-1])
        if not isinstance(fn_id, int) or fn_id not in specs:
            return body, None  # Gradio answers an unknown event itself
        if fn_id == by_name.get("ask"):
            return _ask_call(body, data)
        return _event_call(body, data, specs[fn_id])

    return check


def page_upload_limit(settings: Settings) -> int:
    """Bytes one file uploaded through the page may have (the 评测 tab's gold file, a document in
    文件管理): QA_MAX_UPLOAD_MB, whoever uploads. Larger documents go through /admin/api."""
    return int(settings.max_upload_mb * 1024 * 1024)


def admin_body_limit(settings: Settings) -> int:
    """Bytes of one request to /admin/api: a document of QA_MAX_FILE_MB and the form around it
    (qa/app/admin.py says which file is too large)."""
    return int(settings.max_file_mb * 1024 * 1024) + 64 * 1024


def _shared(assistant: Any, settings: Settings) -> Any:
    """The assistant behind the fair answer pool (as it is, when it already is one)."""
    from qa.app.limits import AnswerPool
    from qa.app.service import SharedAssistant

    if isinstance(assistant, SharedAssistant):
        return assistant
    pool = AnswerPool(settings.answer_workers, settings.answer_queue, settings.answer_per_client, settings.answer_timeout)
    return SharedAssistant(assistant, pool)


def _page(shared: Any, settings: Settings) -> Any:
    """The Gradio Blocks with its queue and session bounds."""
    from qa.app.ui import build_ui

    demo = build_ui(shared, settings)
    # Answering events are not limited here (concurrency_limit=None in ui.py): they wait in the
    # fair answer pool. The rest (reset, judging, export) are quick.
    demo.queue(default_concurrency_limit=4, max_size=64)
    demo.state_session_capacity = settings.max_sessions
    queue = getattr(demo, "_queue", None)
    if queue is not None and hasattr(queue, "pending_messages_per_session"):
        from gradio.utils import LRUCache

        # undelivered event messages (a client that never reads its results) per session: Gradio keeps
        # 2,000 sessions' worth; no more than the sessions themselves
        queue.pending_messages_per_session = LRUCache(settings.max_sessions)
    return demo


def _mount(app: Any, demo: Any, settings: Settings, auth: tuple[str, str] | None) -> Any:
    """The page mounted at "/" of the API app."""
    import gradio as gr

    from qa.app.ui import CSS, HEAD, app_theme

    mounted = gr.mount_gradio_app(
        app,
        demo,
        path="/",
        server_name=settings.host,
        server_port=settings.port,
        footer_links=[],
        run_history=False,
        auth=auth,
        auth_message="政策问答：请输入账号和密码" if auth else None,
        show_error=False,  # errors are shown in the chat as friendly messages, not as traces
        max_file_size=page_upload_limit(settings),  # the evaluator's gold file, a document in 文件管理
        ssr_mode=False,
        mcp_server=False,
        theme=app_theme(),
        css=CSS,
        head=HEAD,
    )
    # mount_gradio_app never marks the Blocks as launched, and until then Gradio skips its check
    # that a file input refers to a file uploaded through /gradio_api/upload: a request could name
    # any path on the server and Gradio would copy it into its public cache. Turn the check on, as
    # demo.launch() does (tests/app/test_security.py::test_evaluator_tab_reads_no_arbitrary_file).
    demo.has_launched = True
    return mounted


def _guard(mounted: Any, demo: Any, settings: Settings, limiter: Any, uploads: Path, sweeper: Any, page_password: bool) -> None:
    """CORS for the configured origins, then the Gate in front of every route."""
    from starlette.middleware.cors import CORSMiddleware

    from qa.app.limits import Gate, SlidingWindow

    # Gradio answers CORS itself (any Origin, with credentials, when the Host is not localhost)
    # unless the parent app has a CORSMiddleware: this one allows only the configured origins.
    origins = [o.strip() for o in settings.cors_origins.split(",") if o.strip()]
    mounted.add_middleware(CORSMiddleware, allow_origins=origins, allow_credentials=True,
                           allow_methods=["GET", "POST"], allow_headers=["*"])  # fmt: skip
    mounted.add_middleware(  # added last: the outermost layer, in front of every route
        Gate,
        allowed_hosts=allowed_hosts(settings),
        max_body=int(settings.max_body_mb * 1024 * 1024),
        max_page_body=int(settings.max_page_body_mb * 1024 * 1024),
        max_upload=page_upload_limit(settings),
        max_admin_body=admin_body_limit(settings),
        limiter=limiter,
        login_failures=SlidingWindow(settings.login_failures_per_minute),
        upload_dir=lambda: uploads,
        upload_quota=int(settings.upload_quota_mb * 1024 * 1024),
        sweep=sweeper.expire,
        gradio_check=gradio_checker(demo, settings.max_page_json_items),
        page_password=page_password,
    )


def create_app(assistant: Any, settings: Settings) -> Any:
    """FastAPI (/api, /v1) with the Gradio chat mounted at /, behind one gate for every route."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    uploads = upload_root(settings)
    os.environ["GRADIO_TEMP_DIR"] = str(uploads)  # read by Gradio when the Blocks and the app are made
    from qa.app.admin import install_admin
    from qa.app.api import RateLimiter, create_api
    from qa.app.limits import CacheSweeper

    shared = _shared(assistant, settings)
    limiter = RateLimiter(settings.rate_limit_per_minute)  # one budget per client: /api, /v1 and the page's API
    app = create_api(shared, settings, limiter)
    live = install_admin(app, shared, settings)  # 文件管理 routes (/admin/api) and the live index switch
    demo = _page(shared, settings)
    auth = parse_auth(settings.auth)
    mounted = _mount(app, demo, settings, auth)
    sweeper = CacheSweeper(uploads, settings.upload_ttl_seconds, int(settings.upload_quota_mb * 1024 * 1024),
                           getattr(demo, "state_holder", None), settings.session_ttl_seconds)  # fmt: skip
    sweeper.start(every=max(5.0, min(60.0, settings.upload_ttl_seconds / 4)))
    _guard(mounted, demo, settings, limiter, uploads, sweeper, bool(auth))
    mounted.state.pool = shared.pool
    mounted.state.sweeper = sweeper
    live.start()
    return mounted


def protection_summary(settings: Settings) -> str:
    """Who can reach what, said plainly at start-up (README, "Who can reach what")."""
    page = ("需要密码 / password required (QA_AUTH)" if settings.auth
            else "公开 / PUBLIC: anyone who reaches this address can use the page and its API (/gradio_api); set QA_AUTH")  # fmt: skip
    api = ("需要密钥 / key required (QA_API_KEY)" if settings.api_key
           else "公开 / PUBLIC: no key; set QA_API_KEY")  # fmt: skip
    admin = ("tab behind the page password; /admin/api with " + " or ".join(
        x for x, on in (("QA_API_KEY", settings.api_key), ("QA_AUTH as HTTP Basic", settings.auth)) if on)
        if settings.auth or settings.api_key else "off (needs QA_AUTH or QA_API_KEY)")
    if settings.api_key and not settings.auth:
        admin = "no tab (needs QA_AUTH); /admin/api with QA_API_KEY"
    return (
        f"  页面及其接口 page + /gradio_api: {page}\n"
        f"  /api, /v1:  {api}  (QA_API_KEY does not protect the page)\n"
        f"  评测 tab:   {'on, behind the page password' if settings.auth else 'off (only with QA_AUTH)'}\n"
        f"  文件管理:   {admin}"
    )


def _settle_memory(assistant: Any) -> None:
    """Answer once (jieba loads its dictionary lazily), then move everything loaded so far out of
    the garbage collector's reach: a full collection otherwise walks the millions of objects of the
    index and the dictionaries and held every request, /api/health included, for 100–300 ms."""
    import gc

    try:
        assistant.ask("我家狗要办证吗？")
        # Gradio imports matplotlib.pyplot on the first page event: 125 ms with the event loop held
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot  # noqa: F401
    except Exception:  # noqa: BLE001 - a warm-up failure shows up on the first real question instead
        log.exception("warm-up failed")
    gc.collect()
    gc.freeze()
    # The answer workers run Python (jieba, BM25) that holds the GIL; a shorter switch interval
    # (5 ms by default) lets the event loop answer health and static files in between.
    sys.setswitchinterval(0.001)


def _warn_exposed(settings: Settings) -> None:
    if is_loopback(settings.host):
        return
    bar = "!" * 78
    lines = [bar, f"!! 警告 / WARNING: serving on {settings.host}:{settings.port}, reachable from other machines."]
    if not settings.auth:
        lines.append("!! 聊天页面没有设置密码 / the chat UI has NO password: set QA_AUTH=user:password or --auth.")
    if not settings.api_key:
        lines.append("!! API 没有设置密钥 / /api and /v1 have NO API key: set QA_API_KEY or --api-key.")
    lines.append(bar)
    if len(lines) > 3:
        _say("\n".join(lines))


def serve_command(
    host: str | None = None,
    port: int | None = None,
    build_index_if_missing: bool = True,
    auth: str | None = None,
    api_key: str | None = None,
    settings: Settings | None = None,
    log_level: str = "info",
) -> None:
    """Load (or first build) the index, then serve chat + API until interrupted.

    host/port/auth/api_key override settings (QA_HOST, QA_PORT, QA_AUTH, QA_API_KEY).
    """
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    try:
        settings = (settings or load_settings()).with_overrides(host=host, port=port, auth=auth, api_key=api_key)
        parse_auth(settings.auth)
    except ValueError as exc:
        _say(str(exc))
        raise SystemExit(2) from exc

    from qa.index.store import IndexStoreError

    try:
        assistant = load_assistant(settings, build_index_if_missing)
    except IndexStoreError as exc:
        _say(f"无法启动 / cannot start: {exc}")
        raise SystemExit(1) from exc

    import uvicorn

    app = create_app(assistant, settings)
    _settle_memory(assistant)
    _warn_exposed(settings)
    shown = f"[{settings.host}]" if ":" in settings.host else settings.host
    _say(
        f"政策问答已启动 / serving {len(assistant.documents)} documents ({assistant.describe_mode()})\n"
        f"  聊天页面 chat:   http://{shown}:{settings.port}/\n"
        f"  接口文档 API:    http://{shown}:{settings.port}/docs\n"
        + protection_summary(settings)
        + f"\n  Host 允许 allowed: {', '.join(sorted(allowed_hosts(settings)))} (QA_ALLOWED_HOSTS)"
    )
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=log_level, timeout_graceful_shutdown=5)
