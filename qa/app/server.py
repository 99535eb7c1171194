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
import sys
from typing import Any

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


def create_app(assistant: Any, settings: Settings) -> Any:
    """FastAPI (/api, /v1) with the Gradio chat mounted at /."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import gradio as gr

    from qa.app.api import create_api
    from qa.app.service import SharedAssistant
    from qa.app.ui import CSS, _theme, build_ui

    shared = assistant if isinstance(assistant, SharedAssistant) else SharedAssistant(assistant)
    app = create_api(shared, settings)
    from qa.app.admin import install_admin

    live = install_admin(app, shared, settings)  # 文件管理 routes (/admin/api) and the live index switch
    demo = build_ui(shared)
    # Queue concurrency 2: one long answer does not block a second person; the
    # SharedAssistant lock keeps the pipeline itself one-at-a-time per step.
    demo.queue(default_concurrency_limit=2, max_size=64)
    auth = parse_auth(settings.auth)
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
        # uploads: the evaluator's gold file, documents in 文件管理; unlimited would let anyone fill the disk
        max_file_size=f"{max(10, settings.max_file_mb)}mb",
        ssr_mode=False,
        mcp_server=False,
        theme=_theme(),
        css=CSS,
    )
    # mount_gradio_app never marks the Blocks as launched, and until then Gradio skips its check
    # that a file input refers to a file uploaded through /gradio_api/upload: a request could name
    # any path on the server and Gradio would copy it into its public cache. Turn the check on, as
    # demo.launch() does (tests/app/test_security.py::test_evaluator_tab_reads_no_arbitrary_file).
    demo.has_launched = True
    live.start()
    return mounted


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
    settings = (settings or load_settings()).with_overrides(host=host, port=port, auth=auth, api_key=api_key)
    try:
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
    _warn_exposed(settings)
    shown = f"[{settings.host}]" if ":" in settings.host else settings.host
    _say(
        f"政策问答已启动 / serving {len(assistant.documents)} documents ({assistant.describe_mode()})\n"
        f"  聊天页面 chat:   http://{shown}:{settings.port}/\n"
        f"  接口文档 API:    http://{shown}:{settings.port}/docs"
        + ("  (API key required)" if settings.api_key else "")
    )
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=log_level, timeout_graceful_shutdown=5)
