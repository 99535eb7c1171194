"""The Gradio chat a citizen uses: ask in Chinese, read an answer whose every sentence cites a document.

Gradio API (for `gradio_client`): ``/ask`` with (question, region, document, date_from, date_to,
history_json) → (answer text with [n] markers, JSON list of citation dicts). The UI's own events
are private. The page's API is exactly as public as the page: without QA_AUTH anyone may call it.

Answers are computed in the shared answer pool (qa/app/limits.py), fair between clients, so the
functions here are async: waiting for an answer holds no thread, and when the browser leaves,
Gradio stops iterating and the answer is stopped.
"""

# No `from __future__ import annotations` here: gr.api reads real type hints of `ask`.

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import gradio as gr

from qa.app.render import (
    DOCUMENT_COLUMNS,
    answer_html,
    document_rows,
    error_html,
    pending_html,
    scope_html,
    user_html,
)
from qa.app.limits import Refused
from qa.app.service import SharedAssistant, check_history, check_text, clean_history, make_filters
from qa.config import Settings
from qa.models import Answer, Filters

log = logging.getLogger("qa.app")

ALL_REGIONS = "全部地区"

# Checked against seeds/ (see tests/app/test_render.py::test_examples_are_in_the_corpus).
CITIZEN_EXAMPLES = [
    "我家狗要办证吗？",
    "青岛哪些地方不能卖活禽？",
    "养的狗没打狂犬疫苗找哪个部门？",
    "在禁止区域卖活禽会被罚多少钱？",
]
BUSINESS_EXAMPLES = [
    "新上黄金深加工项目，设备投资能补多少？",
    "兰山区政府投资项目变更要走什么程序？",
    "招远市对新引进的生物医药企业有什么扶持？",
]

WELCOME = (
    '<div class="qa-welcome"><div class="qa-welcome-title">您好，请问有什么可以帮您？</div>'
    "<div>我会在已收录的山东省各地政府文件中查找答案，每句话都注明出自哪份文件、哪一条。</div>"
    "<div class=\"qa-welcome-hint\">可以在下方输入问题，也可以点击右侧的常见问题。</div></div>"
)

FONT = ["Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", "Source Han Sans SC", "sans-serif"]

CSS = """
.gradio-container { max-width: 1200px !important; width: 100% !important; margin: 0 auto !important; }
#qa-doc-table td, #qa-doc-table th, #qa-doc-table td *, #qa-doc-table th * { font-family: var(--font) !important; }
footer { display: none !important; }
.qa-header { display:flex; align-items:center; justify-content:space-between; gap:16px; padding:18px 22px;
  border-radius:14px; background:linear-gradient(120deg,#8f1d1d 0%,#b3261e 55%,#c9402f 100%); color:#fff; }
.qa-brand { display:flex; align-items:center; gap:14px; }
.qa-logo { width:48px; height:48px; border-radius:12px; background:#fff; color:#b3261e; font-weight:800;
  font-size:26px; display:flex; align-items:center; justify-content:center; }
.qa-header h1 { margin:0 !important; font-size:26px !important; color:#fff !important; letter-spacing:2px; }
.qa-header p { margin:4px 0 0 0 !important; opacity:.92; font-size:15px; color:#fff !important; }
.qa-stats { text-align:right; font-size:13px; opacity:.95; line-height:1.7; }
.qa-stats b { font-size:18px; }
.qa-side-title { font-weight:700; font-size:15px; margin:2px 0 6px 0; color:#7a1f1f; }
.qa-side-sub { font-size:13px; color:#666; margin:8px 0 4px 0; }
.qa-example button, button.qa-example { justify-content:flex-start !important; text-align:left !important;
  white-space:normal !important; font-weight:400 !important; }
.qa-mode { font-size:12.5px; color:#555; background:#f6f6f4; border-radius:8px; padding:8px 10px; line-height:1.6; }
.qa-mode b { color:#333; }
.qa-user { white-space:normal; }
.qa-answer { line-height:1.85; font-size:15.5px; }
.qa-pending { color:#444; }
.qa-dots { color:#888; }
.qa-caret { color:#b3261e; animation: qa-blink 1s steps(1) infinite; }
@keyframes qa-blink { 50% { opacity:0; } }
.qa-cite { display:inline-block; min-width:1.35em; padding:0 .3em; margin:0 1px; border-radius:9px; background:#b3261e;
  color:#fff !important; font-size:11px; line-height:1.5; text-align:center; vertical-align:super; font-weight:600; }
.qa-sources { margin-top:12px; border-top:1px dashed #d9c7c3; padding-top:8px; }
.qa-sources-title { font-size:13px; font-weight:700; color:#7a1f1f; margin-bottom:6px; }
.qa-src { border:1px solid #ece3e1; border-left:3px solid #b3261e; background:#fffdfc; border-radius:8px;
  padding:8px 11px; margin:7px 0; font-size:13.5px; }
.qa-src-near { border-left-color:#9a9a9a; }
.qa-src-head { display:flex; align-items:baseline; gap:7px; }
.qa-src-n { flex:none; display:inline-block; min-width:1.5em; border-radius:9px; background:#b3261e; color:#fff;
  font-size:11px; text-align:center; font-weight:600; line-height:1.6; }
.qa-src-title { font-weight:700; color:#222; }
.qa-src-meta { color:#666; font-size:12.5px; margin:3px 0 4px 0; }
.qa-sep { margin:0 5px; color:#bbb; }
.qa-meta-loc { color:#8f1d1d; font-weight:600; }
.qa-src-quote { margin:5px 0 !important; padding:5px 9px !important; border-left:none !important; background:#f7f5f2;
  border-radius:6px; color:#333; font-size:13.5px; }
.qa-src mark, .qa-src-quote mark { background:#ffe58a; color:#222; padding:0 1px; border-radius:2px; }
.qa-src-full summary { cursor:pointer; color:#8f1d1d; font-size:12.5px; margin-top:2px; }
.qa-src-passage { margin-top:6px; padding:8px 10px; background:#fafafa; border-radius:6px; color:#333;
  font-size:13.5px; line-height:1.8; max-height:320px; overflow:auto; }
.qa-understood { font-size:12.5px; color:#1f5fa8; margin-bottom:4px; }
.qa-refused-title { font-weight:700; color:#8a5a00; margin-bottom:3px; }
.qa-refused { background:#fff8e6; border:1px solid #f3dfa8; border-radius:8px; padding:9px 12px; }
.qa-note { margin-top:8px; font-size:12.5px; color:#7a5b00; background:#fff8e6; border-radius:6px; padding:5px 9px; }
.qa-warn { color:#8a1f11; background:#fdecea; }
.qa-scope { margin-top:8px; font-size:12.5px; color:#555; }
.qa-scope-item { display:inline-block; background:#f2f4f7; border-radius:6px; padding:1px 7px; margin:2px 4px 2px 0; }
.qa-tag-guess { color:#1f5fa8; font-size:11.5px; }
.qa-tag-set { color:#2c7a3f; font-size:11.5px; }
.qa-welcome { padding:10px 6px; color:#444; line-height:1.9; text-align:center; }
.qa-welcome-title { font-size:19px; font-weight:700; color:#7a1f1f; margin-bottom:4px; }
.qa-welcome-hint { color:#888; font-size:13.5px; }
.qa-disclaimer { font-size:12px; color:#888; text-align:center; margin-top:4px; }
#qa-chat { border-radius:12px; }
.qa-examples { gap:6px !important; }
.qa-examples .qa-side-sub { margin-top:6px; }
"""


def _theme() -> gr.themes.Base:
    # Plain font names only: a GoogleFont would make every browser fetch from the internet.
    return gr.themes.Soft(primary_hue="red", neutral_hue="stone", font=FONT, font_mono=FONT).set(
        button_primary_background_fill="#b3261e",
        button_primary_background_fill_hover="#8f1d1d",
        button_primary_text_color="#ffffff",
        block_title_background_fill="transparent",
        block_title_text_color="*neutral_700",
        block_title_padding="0",
        block_label_background_fill="transparent",
        block_label_text_color="*neutral_700",
    )


def _header_html(assistant: SharedAssistant) -> str:
    docs = assistant.document_list()
    years = sorted(d.date[:4] for d in docs if d.date)
    span = f"{years[0]}–{years[-1]} 年" if years else ""
    regions = assistant.regions()
    return (
        '<div class="qa-header"><div class="qa-brand"><div class="qa-logo">政</div><div>'
        "<h1>政策问答</h1><p>根据已收录的政府文件回答，每句都注明出处</p></div></div>"
        f'<div class="qa-stats">已收录 <b>{len(docs)}</b> 份文件 · <b>{assistant.chunk_total()}</b> 条条文<br>'
        f"{'、'.join(regions[:4])}{'等' if len(regions) > 4 else ''} · {span}</div></div>"
    )


def _mode_html(assistant: SharedAssistant) -> str:
    import html

    return (
        f'<div class="qa-mode"><b>回答方式</b>：{html.escape(assistant.describe_mode())}<br>'
        "回答仅依据已收录文件，不代表官方解释；办事请以文件原文和主管部门答复为准。</div>"
    )


def _parse_filters(region: str | None, doc_id: str | None, date_from: Any, date_to: Any) -> tuple[Filters | None, list[str]]:
    """UI inputs → Filters, plus warnings for inputs that were ignored."""
    warnings: list[str] = []
    regions = [region] if region and region != ALL_REGIONS else []
    doc_ids = [doc_id] if doc_id else []
    try:
        return make_filters(regions, doc_ids, date_from, date_to), warnings
    except ValueError as exc:
        warnings.append(f"日期筛选未生效：{exc}")
        return make_filters(regions, doc_ids), warnings


CHAT_KEEP_CHARS = 200_000  # what the chat shows (and the browser sends back) stays under max_page_body_mb
CHAT_KEEP_MESSAGES = 40  # 20 questions and answers: … and under max_page_json_items


def _trim_chat(chat: Any) -> list[dict]:
    """The newest messages of the chat shown, at most CHAT_KEEP_CHARS in all: the page sends the
    whole chat with every question, and Gradio keeps it per session."""
    if not isinstance(chat, list):
        return []
    kept: list[dict] = []
    total = 0
    for m in reversed(chat[-CHAT_KEEP_MESSAGES:]):
        total += len(str(m.get("content", "") if isinstance(m, dict) else getattr(m, "content", m)))
        if total > CHAT_KEEP_CHARS:
            break
        kept.append(m)
    return kept[::-1]


def _client(request: gr.Request | None) -> str:
    client = getattr(request, "client", None)
    return getattr(client, "host", None) or "unknown"


def _user_error(message: str) -> gr.Error:
    # the caller's mistake: a clear message, no traceback in the server log
    return gr.Error(message, print_exception=False)


def build_ui(assistant: SharedAssistant, settings: Settings | None = None) -> gr.Blocks:
    """The chat page, the document list and, behind QA_AUTH only, the evaluation tab."""
    settings = settings or getattr(assistant, "settings", None) or Settings()
    documents = assistant.document_list()
    doc_choices = _doc_choices(documents)
    keep = max(2, settings.max_history_messages - settings.max_history_messages % 2)  # whole turns

    async def respond(
        question: str, chat: list[dict], history: list[dict], region: str, doc_id: str, date_from: Any, date_to: Any,
        request: gr.Request,
    ) -> AsyncIterator[tuple[str, list[dict], list[dict]]]:
        chat = _trim_chat(chat)
        history = list(history or []) if isinstance(history, list) else []
        try:
            question = check_text(question or "", "问题", settings.max_question_chars * 4).strip()
        except ValueError as exc:
            gr.Warning(str(exc))
            yield "", chat, history
            return
        if not question:
            gr.Warning("请先输入问题。")
            yield "", chat, history
            return
        filters, warnings = _parse_filters(region if isinstance(region, str) else None,
                                           doc_id if isinstance(doc_id, str) else None, date_from, date_to)  # fmt: skip
        for w in warnings:
            gr.Warning(w)
        chat = chat + [{"role": "user", "content": user_html(question)}, {"role": "assistant", "content": pending_html()}]
        yield "", chat, history
        text = ""
        answer: Answer | None = None
        try:
            async for item in assistant.astream(_client(request), question, clean_history(history) or None, filters):
                if isinstance(item, Answer):
                    answer = item
                elif item:
                    text += item
                    chat[-1] = {"role": "assistant", "content": pending_html(text)}
                    yield "", chat, history
        except Refused as exc:  # too many questions at once, or the service is full
            chat[-1] = {"role": "assistant", "content": error_html(exc.message.split(" / ")[0])}
            yield "", chat, history
            return
        except Exception:
            log.exception("answering failed")
            chat[-1] = {"role": "assistant", "content": error_html("抱歉，系统暂时无法回答，请稍后再试。")}
            yield "", chat, history
            return
        if answer is None:
            chat[-1] = {"role": "assistant", "content": error_html("抱歉，没有得到回答，请换个问法再试。")}
            yield "", chat, history
            return
        scope = scope_html(answer.filters, filters, assistant.titles())
        chat[-1] = {"role": "assistant", "content": answer_html(answer, scope)}
        # the history the next follow-up is read from stays bounded, like a /api caller's
        history = (history + [{"role": "user", "content": question}, {"role": "assistant", "content": answer.text}])[-keep:]
        yield "", chat, history

    def reset() -> tuple[list[dict], list[dict]]:
        return [], []

    async def ask(
        question: str,
        region: str = "",
        document: str = "",
        date_from: str = "",
        date_to: str = "",
        history_json: str = "",
        request: gr.Request = None,  # type: ignore[assignment]
    ) -> tuple[str, str]:
        """Answer a question from the indexed documents.

        Returns the answer text (with [n] markers) and a JSON list of its citations
        (marker, doc_title, doc_number, locator, issuer, date, region, quote, passage …).
        `document` is a doc_id or an exact title; `history_json` a JSON list of {role, content}.
        """
        # bad input is the caller's mistake: a clear message, no traceback in the server log
        try:
            # longer than max_question_chars: the pipeline uses the first part and says so (notice)
            question = check_text(question if question is not None else "", "question").strip()
            region = check_text(region or "", "region", 200)
            document = check_text(document or "", "document", 500)
            history_json = check_text(history_json or "", "history_json",
                                      (settings.max_history_messages + 1) * (settings.max_history_message_chars + 64))  # fmt: skip
        except ValueError as exc:
            raise _user_error(str(exc)) from exc
        if not question:
            raise _user_error("问题不能为空 / question must not be empty")
        titles = assistant.titles()  # now: documents added to the running server count at once
        doc_id = document if document in titles else next((k for k, v in titles.items() if v == document), "")
        if document and not doc_id:
            raise _user_error(f"未知的文件 / unknown document: {document[:100]}")
        try:
            raw = json.loads(history_json) if history_json else []
            if not isinstance(raw, list) or not all(isinstance(m, dict) for m in raw):
                raise TypeError("expected a JSON list of {role, content} objects")
            if len(raw) > settings.max_history_messages:  # before any work on it
                check_history(raw, settings)
            history = check_history(clean_history(raw), settings)
        except (ValueError, AttributeError, TypeError) as exc:
            raise _user_error(f"history_json 不是消息列表 / not a JSON list of messages: {str(exc)[:200]}") from exc
        try:
            filters = make_filters([region] if region else [], [doc_id] if doc_id else [], date_from, date_to)
        except ValueError as exc:
            raise _user_error(str(exc)) from exc
        try:
            answer = await assistant.aask(_client(request), question, history or None, filters)
        except Refused as exc:
            raise _user_error(exc.message) from exc
        return answer.text, json.dumps([c.to_dict() for c in answer.citations], ensure_ascii=False)

    with gr.Blocks(title="政策问答 · 根据政府文件回答", analytics_enabled=False) as demo:
        header = gr.HTML(_header_html(assistant))
        with gr.Tabs():
            with gr.Tab("咨询问答", id="chat"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=7):
                        chatbot = gr.Chatbot(
                            elem_id="qa-chat",
                            show_label=False,
                            height=600,
                            placeholder=WELCOME,
                            latex_delimiters=[],
                            feedback_options=None,
                            buttons=[],
                            layout="bubble",
                            group_consecutive_messages=False,
                        )
                        with gr.Row(equal_height=True):
                            question = gr.Textbox(
                                elem_id="qa-question",
                                show_label=False,
                                placeholder="请输入您的问题，例如：我家狗要办证吗？（按回车发送）",
                                lines=1,
                                max_lines=4,
                                max_length=settings.max_question_chars,
                                scale=8,
                                autofocus=True,
                            )
                            send = gr.Button("提问", variant="primary", scale=1, min_width=90, elem_id="qa-send")
                        with gr.Row():
                            restart = gr.Button("重新开始", size="sm", variant="secondary", elem_id="qa-restart", scale=0, min_width=110)
                            gr.HTML('<div class="qa-disclaimer">回答由系统根据文件原文自动生成，仅供参考。</div>')
                    with gr.Column(scale=3, min_width=260):
                        gr.HTML('<div class="qa-side-title">常见问题</div>')
                        with gr.Column(elem_classes=["qa-examples"]):
                            gr.HTML('<div class="qa-side-sub">市民办事</div>')
                            citizen_buttons = [gr.Button(q, size="sm", elem_classes=["qa-example"]) for q in CITIZEN_EXAMPLES]
                            gr.HTML('<div class="qa-side-sub">企业政策</div>')
                            business_buttons = [gr.Button(q, size="sm", elem_classes=["qa-example"]) for q in BUSINESS_EXAMPLES]
                        with gr.Accordion("筛选范围（可选）", open=False, elem_id="qa-filters"):
                            region = gr.Dropdown(
                                choices=[ALL_REGIONS] + assistant.regions(), value=ALL_REGIONS, label="地区", elem_id="qa-region"
                            )
                            document = gr.Dropdown(choices=doc_choices, value="", label="文件", filterable=True, elem_id="qa-document")
                            with gr.Row():
                                date_from = gr.DateTime(include_time=False, type="string", label="发布日期 从", value=None)
                                date_to = gr.DateTime(include_time=False, type="string", label="至", value=None)
                            gr.HTML('<div class="qa-side-sub">不设置时，系统会根据问题中的地名自动缩小范围。</div>')
                        gr.HTML(_mode_html(assistant))
                        index_status = _maybe_index_status(assistant)
            with gr.Tab("已收录文件", id="documents"):
                doc_count = gr.HTML(_doc_count_html(documents))
                doc_table = gr.Dataframe(
                    value=document_rows(documents, assistant.chunk_counts),
                    headers=DOCUMENT_COLUMNS,
                    datatype=["str", "str", "str", "str", "str", "number"],
                    interactive=False,
                    wrap=True,
                    column_widths=["34%", "17%", "12%", "12%", "17%", "8%"],
                    elem_id="qa-doc-table",
                    max_height=640,
                )
            if settings.auth:  # a tool for evaluators, not citizens: never on a public page
                _maybe_evaluator_tab(assistant, settings)
            _maybe_admin_tab(assistant)

        history = gr.State([], time_to_live=settings.session_ttl_seconds)
        inputs = [question, chatbot, history, region, document, date_from, date_to]
        outputs = [question, chatbot, history]
        # concurrency_limit=None: answering events start at once and wait in the fair answer pool
        # (bounded per client and in total), not in Gradio's queue shared with everyone.
        answering = {"api_visibility": "private", "concurrency_limit": None}
        question.submit(respond, inputs, outputs, **answering)
        send.click(respond, inputs, outputs, **answering)
        for b in citizen_buttons + business_buttons:
            # the button's own label is the question
            b.click(respond, [b, chatbot, history, region, document, date_from, date_to], outputs, **answering)
        # 重新开始 clears the conversation and leaves the question box alone: what the person is
        # already typing is theirs (a late reset used to empty a question typed right after it).
        restart.click(reset, None, [chatbot, history], api_visibility="private")
        chatbot.clear(lambda: [], None, history, api_visibility="private")  # the chat's own 🗑 forgets the history too
        gr.api(ask, api_name="ask", concurrency_limit=None)
        if index_status is not None:
            _follow_index(assistant, header, index_status, region, document, doc_count, doc_table)
    return demo


def _doc_choices(documents: list[Any]) -> list[tuple[str, str]]:
    return [("全部文件", "")] + [
        (f"{d.label()} · {d.region or ''}", d.doc_id)
        for d in sorted(documents, key=lambda d: (d.region or "", d.date or ""), reverse=True)
    ]


def _doc_count_html(documents: list[Any]) -> str:
    return (f'<div class="qa-side-sub">共 {len(documents)} 份文件。可点击表头排序；'
            "在“咨询问答”的“筛选范围”中可只在某一份文件里查找。</div>")


def _follow_index(assistant: SharedAssistant, header: Any, status: Any, region: Any, document: Any, doc_count: Any,
                  doc_table: Any) -> None:
    """One timer per page: the index status line, and, when the server switched to a new index
    generation (a document added or removed in 文件管理), the header, filters and document list."""
    from qa.app.admin import status_html
    from qa.app.server import LIVE_CHOICES
    from qa.index.watch import loaded_generation

    # the page's API gate checks a chosen region / document against the index as it is now
    setattr(region, LIVE_CHOICES, lambda: [ALL_REGIONS] + assistant.regions())
    setattr(document, LIVE_CHOICES, lambda: [d.doc_id for d in assistant.document_list()])
    shown = gr.State(loaded_generation(assistant))  # the generation this page shows

    def tick(seen: Any) -> tuple[Any, ...]:
        line = status_html(assistant)
        generation = loaded_generation(assistant)
        if generation == seen:
            return line, gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), seen
        docs = assistant.document_list()
        return (line, _header_html(assistant), gr.update(choices=[ALL_REGIONS] + assistant.regions()),
                gr.update(choices=_doc_choices(docs)), _doc_count_html(docs),
                gr.update(value=document_rows(docs, assistant.chunk_counts)), generation)

    gr.Timer(3.0).tick(tick, shown, [status, header, region, document, doc_count, doc_table, shown],
                       api_visibility="private", show_progress="hidden")


def _maybe_evaluator_tab(assistant: SharedAssistant, settings: Settings) -> None:
    """The 评测 tab, when qa/app/evaluator.py (written separately) is present."""
    import importlib
    import importlib.util

    if importlib.util.find_spec("qa.app.evaluator") is None:
        return
    with gr.Tab("评测", id="evaluate"):
        try:
            importlib.import_module("qa.app.evaluator").build_evaluator_tab(assistant, settings)
        except Exception as exc:  # a broken optional tab must not take the chat down
            log.exception("evaluator tab failed")
            gr.Markdown(f"评测页面加载失败：{exc}")


def _maybe_index_status(assistant: SharedAssistant) -> Any:
    """Which retrieval answers use now (keyword only while vectors are computed), from qa/app/admin.py."""
    if getattr(assistant, "live", None) is None:
        return None
    try:
        from qa.app.admin import build_status

        return build_status(assistant)
    except Exception:  # an optional line must not take the chat down
        log.exception("index status failed")
        return None


def _maybe_admin_tab(assistant: SharedAssistant) -> None:
    """The 文件管理 tab (qa/app/admin.py): only when the page has a password (QA_AUTH)."""
    settings = getattr(assistant, "settings", None)
    if not getattr(settings, "auth", "") or getattr(assistant, "live", None) is None:
        return
    with gr.Tab("文件管理", id="admin"):
        try:
            from qa.app.admin import build_admin_tab

            build_admin_tab(assistant)
        except Exception as exc:
            log.exception("admin tab failed")
            gr.Markdown(f"文件管理页面加载失败：{exc}")
