"""文件管理: add and remove documents in the running server, for administrators.

Only with authentication configured: the Gradio tab appears when QA_AUTH is set (the page then asks
for the password), and the HTTP routes answer only to QA_API_KEY (Bearer / X-API-Key) or the QA_AUTH
user and password (HTTP Basic); without either they refuse with 403, whatever the bind address.

HTTP (``/admin/api``; uploads are multipart, field ``files``, at most QA_MAX_FILE_MB each):

``GET    /admin/api/documents``        the indexed documents (发文字号, title, issuer, date, status, articles)
``GET    /admin/api/status``           retrieval mode (bm25 / partial / hybrid), vectors pending, job progress
``POST   /admin/api/preview``          what the parser makes of the files; nothing is changed
``POST   /admin/api/documents``        add the files (a document with an indexed 发文字号 replaces it)
``DELETE /admin/api/documents/{ref}``  remove a document by 发文字号, title or doc id

Adding or removing changes the collection at once and starts an index update in a worker process
(qa.app.live.Indexer); the server keeps answering and switches to the new generation by itself:
keyword search covers a new document within seconds, dense search once its articles are embedded.
One upload is processed at a time; a second one meanwhile gets 409 and a message (nothing is lost).
"""

# (no `from __future__ import annotations`: FastAPI reads the real annotations of the routes below)

import base64
import hmac
import html
import logging
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qa.config import Settings

log = logging.getLogger("qa.app")

MAX_FILES = 10
BUSY = "另一个文件正在上传处理，请稍候再试 / another upload is being processed, try again in a moment"
_upload_gate = threading.Semaphore(1)


def admin_enabled(settings: Settings) -> bool:
    return bool(settings.auth or settings.api_key)


def _too_large(settings: Settings, size: float) -> str:
    return (f"文件过大（{size / 1e6:.1f} MB，上限 {settings.max_file_mb} MB）/ file too large "
            f"({size / 1e6:.1f} MB > {settings.max_file_mb} MB limit, QA_MAX_FILE_MB)")


class UploadSizeLimit:
    """ASGI middleware: 413 for /admin/api request bodies over the upload limit (declared or streamed)."""

    def __init__(self, app: Any, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.max_bytes = settings.max_file_mb * 1024 * 1024 + 64 * 1024  # one full-size file and the form around it

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        from fastapi.responses import JSONResponse

        if scope["type"] != "http" or not scope.get("path", "").startswith("/admin/api/"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            size = int(declared) if declared.isdigit() else 0
            body = {"error": {"message": _too_large(self.settings, size), "type": "invalid_request_error",
                              "code": "file_too_large", "param": "files"}}
            await JSONResponse(body, status_code=413)(scope, receive, send)
            return
        seen = 0

        async def limited() -> Any:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    from starlette.exceptions import HTTPException

                    raise HTTPException(413, _too_large(self.settings, seen))
            return message

        await self.app(scope, limited, send)


def _admin_guard(settings: Settings) -> Any:
    """The dependency every /admin/api route has: the API key, or QA_AUTH as HTTP Basic."""
    from fastapi import Request

    from qa.app.api import APIError

    async def require_admin(request: Request) -> None:
        if not admin_enabled(settings):
            raise APIError(403, "文件管理需要先配置管理员认证：设置 QA_AUTH=用户名:密码 或 QA_API_KEY / document management "
                                "needs authentication: set QA_AUTH or QA_API_KEY", "admin_disabled")
        header = request.headers.get("authorization", "")
        key = request.headers.get("x-api-key") or (header[7:].strip() if header.lower().startswith("bearer ") else "")
        if settings.api_key and key and hmac.compare_digest(key.encode(), settings.api_key.encode()):
            return
        if settings.auth and header.lower().startswith("basic "):
            try:
                given = base64.b64decode(header[6:].strip()).decode("utf-8")
            except (ValueError, UnicodeDecodeError):
                given = ""
            if hmac.compare_digest(given.encode(), settings.auth.encode()):
                return
        raise APIError(401, "需要管理员认证 / administrator authentication required (API key, or QA_AUTH user:password "
                            "as HTTP Basic)", "unauthorized", headers={"WWW-Authenticate": 'Basic realm="policy-qa admin"'})

    return require_admin


async def _save_uploads(request: Any, tmp: Path, settings: Settings) -> list[tuple[Path, str]]:
    """The request's uploaded files, written under `tmp` (each in its own folder, under its own
    name without any directory), refused past MAX_FILES or QA_MAX_FILE_MB."""
    from starlette.datastructures import UploadFile

    from qa.app.api import APIError

    try:
        form = await request.form(max_files=MAX_FILES)
    except Exception as exc:  # noqa: BLE001 - malformed multipart
        raise APIError(400, f"上传格式有误 / malformed upload (multipart/form-data with field 'files'): {exc}",
                       param="files") from None
    uploads = [v for k, v in form.multi_items() if isinstance(v, UploadFile)]
    if not uploads:
        raise APIError(422, "没有收到文件 / no file in the upload (multipart field 'files')", param="files")
    saved: list[tuple[Path, str]] = []
    limit = settings.max_file_mb * 1024 * 1024
    for n, up in enumerate(uploads):
        name = Path((up.filename or f"upload-{n}").replace("\\", "/")).name or f"upload-{n}"
        target = tmp / f"{n}" / name
        target.parent.mkdir()
        size = 0
        with open(target, "wb") as fh:
            while chunk := await up.read(1 << 20):
                size += len(chunk)
                if size > limit:
                    raise APIError(413, _too_large(settings, size), "file_too_large", param="files")
                fh.write(chunk)
        saved.append((target, name))
    return saved


async def _with_uploads(request: Any, work: Any, settings: Settings) -> Any:
    """`work(files)` in a thread, over the request's uploads in a temporary folder; one upload at a time."""
    from starlette.concurrency import run_in_threadpool

    from qa.app.api import APIError

    if not _upload_gate.acquire(blocking=False):
        raise APIError(409, BUSY, "upload_in_progress")
    tmp = Path(tempfile.mkdtemp(prefix="qa-upload-"))
    try:
        files = await _save_uploads(request, tmp, settings)
        return await run_in_threadpool(work, files)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        _upload_gate.release()


def _admin_routes(coll: Any, live: Any, settings: Settings) -> Any:
    """The /admin/api router over the collection; a change starts an index update."""
    from fastapi import APIRouter, Depends, Request

    from qa.app.api import APIError
    from qa.manage import ManageError

    # not in the public /openapi.json and /docs: these routes are for administrators (README lists them)
    router = APIRouter(prefix="/admin/api", tags=["admin"], dependencies=[Depends(_admin_guard(settings))], include_in_schema=False)

    @router.get("/documents", summary="The indexed documents")
    def documents() -> dict[str, Any]:
        return {"documents": coll.list()}

    @router.get("/status", summary="Retrieval mode, vectors pending, index job progress")
    def status() -> dict[str, Any]:
        out = live.status()
        out["label"] = __import__("qa.app.live", fromlist=["status_text"]).status_text(out)
        return out

    @router.post("/preview", summary="What the parser makes of uploaded files (nothing is changed)")
    async def preview(request: Request) -> dict[str, Any]:
        def work(files: list[tuple[Path, str]]) -> dict[str, Any]:
            return {"files": [coll.preview(p, name).to_dict() for p, name in files]}

        return await _with_uploads(request, work, settings)

    @router.post("/documents", summary="Add uploaded files to the index")
    async def add(request: Request) -> Any:
        from fastapi.responses import JSONResponse

        def work(files: list[tuple[Path, str]]) -> dict[str, Any]:
            outcome = coll.add(files)
            if outcome.added:
                live.indexer.request()
            return outcome.to_dict()

        out = await _with_uploads(request, work, settings)
        code = 200 if out["added"] else 422
        if not out["added"]:
            out["error"] = {"message": "；".join(f"{p['name']}: {p['message']}" for p in out["rejected"]),
                            "type": "invalid_request_error", "code": "unreadable_file", "param": "files"}
        return JSONResponse(out, status_code=code)

    @router.delete("/documents/{ref:path}", summary="Remove a document (发文字号, title or doc id)")
    def remove(ref: str) -> dict[str, Any]:
        try:
            removed = coll.remove(ref)
        except ManageError as exc:
            raise APIError(404 if "未找到" in str(exc) else 409, str(exc), "not_found") from None
        live.indexer.request()
        return {"removed": removed}

    return router


def install_admin(app: Any, shared: Any, settings: Settings) -> Any:
    """Routes under /admin/api and the live index machinery; returns the Live object (also shared.live)."""
    from qa.app.live import Live
    from qa.manage import Collection

    live = Live(shared, settings)
    shared.live = live
    app.add_middleware(UploadSizeLimit, settings=settings)
    app.include_router(_admin_routes(Collection(settings), live, settings))
    return live


# --- the Gradio tab ----------------------------------------------------------------------------

PREVIEW_COLUMNS = ["文件", "格式", "发文字号", "标题", "发文机关", "成文日期", "效力", "条文数", "提示"]
DOC_COLUMNS = ["发文字号", "标题", "发文机关", "成文日期", "效力", "条文数", "来源"]


def _preview_rows(previews: list[Any]) -> list[list[Any]]:
    rows = []
    for p in previews:
        if not p.ok:
            rows.append([p.name, p.format, "", "无法收录", "", "", "", 0, p.message])
            continue
        for d in p.documents:
            notes = list(d.get("warnings") or []) + list(p.warnings)
            notes += [f"将替换已收录的《{r['title']}》" for r in p.replaces]
            rows.append([p.name, p.format, d["number"] or "", d["title"], d["issuer"] or "", d["date"] or "",
                         d["status_label"], d["articles"], "；".join(notes)])
    return rows


def _doc_rows(coll: Any) -> list[list[Any]]:
    return [[r["number"] or "", r["title"], r["issuer"] or "", r["date"] or "", r["status_label"], r["articles"],
             r["source_file"] + ("（上传）" if r["added"] else "")] for r in coll.list()]


def status_html(shared: Any) -> str:
    from qa.app.live import status_text

    live = getattr(shared, "live", None)
    if live is None:
        return ""
    st = live.status()
    cls = "qa-mode qa-warn" if st["retrieval"] != "hybrid" else "qa-mode"
    return f'<div class="{cls}" id="qa-index-status"><b>检索方式</b>：{html.escape(status_text(st))}</div>'


def build_status(shared: Any) -> Any:
    """The line on the chat page saying whether answers use keyword search only or full retrieval
    (kept current by the page's timer, qa.app.ui._follow_index)."""
    import gradio as gr

    return gr.HTML(status_html(shared))


def _progress_html(shared: Any) -> str:
    """The tab's status line: documents, retrieval mode, the index job and its progress bar."""
    from qa.app.live import status_text

    st = shared.live.status()
    job = st.get("job") or {}
    docs = len(shared.document_list())
    bar = ""
    if job.get("state") == "embedding" and job.get("total"):
        pct = 100 * job.get("done", 0) / max(1, job["total"])
        bar = (f'<div style="background:#eee;border-radius:6px;height:10px;margin-top:6px"><div style="background:#b3261e;'
               f'width:{pct:.0f}%;height:10px;border-radius:6px"></div></div>')
    msg = html.escape(job.get("message") or "")
    return (f'<div class="qa-mode" id="qa-admin-status">已收录 <b>{docs}</b> 份文件 · {html.escape(status_text(st))}'
            f'{"<br>" + msg if msg else ""}{bar}</div>')


def _remove_choices(coll: Any) -> list[tuple[str, str]]:
    return [(f"{r['number'] or '—'} 《{r['title']}》", r["doc_id"]) for r in coll.list()]


def _added_message(outcome: Any) -> str:
    """What an upload added, replaced and refused, in a sentence or three."""
    parts = []
    if outcome.added:
        names = "、".join(p.name for p in outcome.added)
        parts.append(f"已收录：{names}。关键词检索几秒内即可覆盖新文件，语义向量生成后自动切换为完整检索。")
    if outcome.replaced:
        parts.append("已替换：" + "、".join(f"《{r['title']}》（{r['number']}）" for r in outcome.replaced) + "。")
    if outcome.rejected:
        parts.append("未收录：" + "；".join(f"{p.name}：{p.message}" for p in outcome.rejected))
    return "".join(parts)


def _admin_handlers(shared: Any, coll: Any) -> tuple[Any, Any, Any]:
    """(do_preview, do_add, do_remove): the tab's buttons, one upload at a time (as /admin/api)."""
    import gradio as gr

    from qa.manage import ManageError

    live = shared.live

    def do_preview(files: list[str] | None) -> tuple[list[list[Any]], str, list[tuple[str, str]]]:
        paths = [(Path(f), Path(f).name) for f in files or []]
        if not paths:
            return [], "请先选择文件。", []
        if not _upload_gate.acquire(blocking=False):
            return [], BUSY, []
        try:
            previews = [coll.preview(p, n) for p, n in paths]
        finally:
            _upload_gate.release()
        ok = sum(1 for p in previews if p.ok)
        note = f"{ok} 个文件可以收录" + (f"，{len(previews) - ok} 个无法收录（见提示）" if ok < len(previews) else "") + "。确认无误后点击“确认收录”。"
        return _preview_rows(previews), note, [(str(p), n) for p, n in paths]

    def do_add(staged: list[tuple[str, str]]) -> tuple[str, list[list[Any]], Any, list[tuple[str, str]]]:
        if not staged:
            return "请先上传并预览文件。", _doc_rows(coll), gr.update(), []
        if not _upload_gate.acquire(blocking=False):
            return BUSY, _doc_rows(coll), gr.update(), staged
        try:
            outcome = coll.add([(Path(p), n) for p, n in staged if Path(p).is_file()])
        finally:
            _upload_gate.release()
        if outcome.added:
            live.indexer.request()
        return _added_message(outcome), _doc_rows(coll), gr.update(choices=_remove_choices(coll)), []

    def do_remove(doc_id: str | None) -> tuple[str, list[list[Any]], Any]:
        if not doc_id:
            return "请先选择要移除的文件。", _doc_rows(coll), gr.update()
        try:
            removed = coll.remove(doc_id)
        except ManageError as exc:
            return str(exc), _doc_rows(coll), gr.update()
        live.indexer.request()
        names = "、".join(f"《{d['title']}》" for d in removed)
        return f"已移除：{names}。索引更新后不再引用。", _doc_rows(coll), gr.update(choices=_remove_choices(coll), value=None)

    return do_preview, do_add, do_remove


@dataclass
class _AdminTab:
    status: Any
    upload: Any
    preview_btn: Any
    add_btn: Any
    message: Any
    preview: Any
    staged: Any
    to_remove: Any
    remove_btn: Any
    docs: Any


def _admin_layout(shared: Any, coll: Any) -> _AdminTab:
    """Upload and preview, then the indexed documents with a remove control."""
    import gradio as gr

    from qa.ingest.formats import SUPPORTED

    settings = shared.settings
    page_mb = min(settings.max_upload_mb, settings.max_file_mb)  # the page's upload limit (QA_MAX_UPLOAD_MB)
    larger = (f"；更大的文件（至多 {settings.max_file_mb} MB）请通过 /admin/api 上传" if settings.max_file_mb > page_mb else "")
    gr.HTML(f'<div class="qa-side-sub">上传政府文件（{" ".join(SUPPORTED)}；单个文件不超过 {page_mb:g} MB{larger}），'
            "先预览解析结果，确认后收录。收录和移除不影响正在进行的问答。</div>")
    status = gr.HTML(_progress_html(shared))
    with gr.Row():
        upload = gr.File(label="选择文件", file_count="multiple", file_types=list(SUPPORTED), elem_id="qa-admin-upload", scale=3)
        with gr.Column(scale=1):
            preview_btn = gr.Button("解析预览", elem_id="qa-admin-preview")
            add_btn = gr.Button("确认收录", variant="primary", elem_id="qa-admin-add")
    message = gr.Markdown(elem_id="qa-admin-message")
    preview = gr.Dataframe(headers=PREVIEW_COLUMNS, value=[], interactive=False, wrap=True, elem_id="qa-admin-preview-table")
    staged = gr.State([])
    gr.HTML('<div class="qa-side-title" style="margin-top:14px">已收录文件</div>')
    with gr.Row():
        to_remove = gr.Dropdown(choices=_remove_choices(coll), label="移除文件", filterable=True, elem_id="qa-admin-remove-doc", scale=4)
        remove_btn = gr.Button("移除", variant="stop", elem_id="qa-admin-remove", scale=1)
    docs = gr.Dataframe(headers=DOC_COLUMNS, value=_doc_rows(coll), interactive=False, wrap=True, max_height=420,
                        elem_id="qa-admin-docs")
    return _AdminTab(status, upload, preview_btn, add_btn, message, preview, staged, to_remove, remove_btn, docs)


def _follow_collection(shared: Any, coll: Any, tab: _AdminTab) -> None:
    """A timer: the status line, and the document list when the server switched generation."""
    import gradio as gr

    from qa.app.server import LIVE_CHOICES
    from qa.index.watch import loaded_generation

    # the page's API gate checks the chosen document against the index as it is now
    setattr(tab.to_remove, LIVE_CHOICES, lambda: [d.doc_id for d in coll.indexed_documents()])
    shown = gr.State(loaded_generation(shared))  # the generation the list shows

    def tick(seen: Any) -> tuple[Any, ...]:
        generation = loaded_generation(shared)
        if generation == seen:
            return _progress_html(shared), gr.skip(), gr.skip(), seen
        return _progress_html(shared), _doc_rows(coll), gr.update(choices=_remove_choices(coll)), generation

    gr.Timer(2.0).tick(tick, shown, [tab.status, tab.docs, tab.to_remove, shown], api_visibility="private", show_progress="hidden")


def build_admin_tab(shared: Any) -> None:
    from qa.manage import Collection

    coll = Collection(shared.settings)
    tab = _admin_layout(shared, coll)
    _follow_collection(shared, coll, tab)
    do_preview, do_add, do_remove = _admin_handlers(shared, coll)
    tab.preview_btn.click(do_preview, tab.upload, [tab.preview, tab.message, tab.staged], api_visibility="private")
    tab.add_btn.click(do_add, tab.staged, [tab.message, tab.docs, tab.to_remove, tab.staged], api_visibility="private")
    tab.remove_btn.click(do_remove, tab.to_remove, [tab.message, tab.docs, tab.to_remove], api_visibility="private")
