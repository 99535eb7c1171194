"""The Gradio chat a citizen uses: ask in Chinese, read an answer whose every sentence cites a document.

Gradio API (for `gradio_client`): ``/ask`` with (question, region, document, date_from, date_to,
history_json) → (answer text with [n] markers, JSON list of citation dicts). The UI's own events
are private. The page's API is exactly as public as the page: without QA_AUTH anyone may call it.

Answers are computed in the shared answer pool (qa/app/limits.py), fair between clients, so the
functions here are async: waiting for an answer holds no thread, and when the browser leaves,
Gradio stops iterating and the answer is stopped.
"""

# No `from __future__ import annotations` here: gr.api reads real type hints of `ask`.

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import gradio as gr

from qa.app.render import (
    STATUS_LABELS,
    answer_html,
    document_html,
    documents_html,
    error_html,
    hints_html,
    pending_html,
    scope_html,
    search_documents,
    token,
    user_html,
)
from qa.app.limits import Refused
from qa.app.service import SharedAssistant, check_history, check_text, clean_history, make_filters, parse_day
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
    "<div class=\"qa-welcome-hint\">可以在下方输入问题，也可以点击“常见问题”中的例子。</div></div>"
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
.qa-hidden { display:none !important; }
.qa-spinner { display:inline-block; width:14px; height:14px; margin-right:8px; vertical-align:-2px; border-radius:50%;
  border:2px solid #e5c9c5; border-top-color:#b3261e; animation: qa-spin .8s linear infinite; }
@keyframes qa-spin { to { transform: rotate(360deg); } }
.qa-pending .qa-dots { color:#7a1f1f; font-weight:600; }
.qa-pending-sub { display:block; color:#888; font-size:12.5px; }
.qa-cite { cursor:pointer; }
.qa-cite:focus-visible, .qa-open-doc:focus-visible { outline:2px solid #1f5fa8; outline-offset:1px; }
.qa-src { scroll-margin:80px; }
.qa-src-flash { animation: qa-flash 1.6s ease-out 1; box-shadow:0 0 0 2px #f0b429; }
@keyframes qa-flash { 0% { background:#fff3c4; } 100% { background:#fffdfc; } }
.qa-open-doc { display:inline-block; cursor:pointer; color:#1f5fa8; font-size:12.5px; margin-top:4px; text-decoration:underline; }
.qa-validity { margin:3px 0 4px 0; font-size:12.5px; color:#555; display:flex; flex-wrap:wrap; align-items:center; gap:6px; }
.qa-status { display:inline-block; border-radius:10px; padding:0 8px; font-size:12px; font-weight:700; line-height:1.7; white-space:nowrap; }
.qa-status-in_force { background:#e3f4e8; color:#14632f; border:1px solid #9fd3ae; }
.qa-status-expired { background:#fde7e4; color:#a11d12; border:1px solid #f1a79d; }
.qa-status-repealed { background:#ece6e6; color:#5a1a1a; border:1px solid #bfa9a9; text-decoration:line-through; }
.qa-status-not_yet_effective { background:#fff3d1; color:#7a5200; border:1px solid #f0cd7a; }
.qa-status-unknown { background:#eef0f3; color:#4a5260; border:1px solid #c9ced6; }
.qa-partial { margin-bottom:6px; padding:6px 10px; border-radius:8px; background:#fff4d6; border:1px solid #f0cd7a; color:#6b4a00; font-size:13.5px; }
.qa-partial-tag { display:inline-block; margin-right:6px; padding:0 7px; border-radius:9px; background:#d08a00; color:#fff; font-weight:700; font-size:12px; }
.qa-hints { margin-top:8px; }
.qa-hint { font-size:13px; color:#6b3b00; background:#fff1e0; border-left:3px solid #e08a00; border-radius:6px; padding:5px 9px; margin-top:4px; }
#qa-feedback { margin-top:6px; padding:4px 8px; }
.qa-fb-q { font-size:13.5px; color:#555; padding-top:6px; }
#qa-date-note p { color:#8a3b00; font-size:13px; }
.qa-doclist { overflow-x:auto; }
.qa-doc-count { font-size:13px; color:#555; margin:4px 0; }
table.qa-doc-table { width:100%; border-collapse:collapse; font-size:13.5px; }
.qa-doc-table th { text-align:left; background:#f6f3f1; color:#5a1d1d; padding:6px 8px; white-space:nowrap; }
.qa-doc-table td { border-top:1px solid #eee; padding:6px 8px; vertical-align:top; }
.qa-doc-table .qa-dt-title .qa-open-doc { color:#222; text-decoration:none; font-weight:600; font-size:13.5px; margin:0; }
.qa-doc-table .qa-dt-title .qa-open-doc:hover { color:#b3261e; text-decoration:underline; }
.qa-dt-dates { color:#777; font-size:12px; margin-top:2px; }
.qa-btn-link { border:1px solid #c9d6ea; border-radius:6px; padding:1px 8px; text-decoration:none !important; margin:0 !important; white-space:nowrap; }
.qa-docview { padding:6px 4px; line-height:1.85; }
.qa-docview-title { font-size:18px; font-weight:800; color:#5a1d1d; }
.qa-docview-notice { color:#666; font-size:13px; margin:4px 0; }
.qa-article { padding:6px 10px; margin:6px 0; border-radius:8px; scroll-margin:70px; }
.qa-article-hit { background:#fff6d8; border:2px solid #f0b429; }
.qa-article-tag { display:inline-block; background:#b3261e; color:#fff; border-radius:8px; font-size:12px; padding:0 7px; margin-bottom:2px; }
.qa-article-loc { font-weight:700; color:#8f1d1d; font-size:13.5px; }
.qa-article-text { font-size:14.5px; color:#222; }
@media (max-width: 640px) {
  .gradio-container { padding:6px !important; }
  .qa-header { padding:10px 12px; border-radius:10px; }
  .qa-logo { width:34px; height:34px; font-size:19px; border-radius:9px; }
  .qa-header h1 { font-size:19px !important; letter-spacing:1px; }
  .qa-header p { font-size:12px; }
  .qa-stats { display:none; }
  #qa-chat { height:62vh !important; }
  .qa-answer { font-size:15px; }
  .qa-doc-table thead { display:none; }
  .qa-doc-table, .qa-doc-table tbody, .qa-doc-table tr, .qa-doc-table td { display:block; width:100%; }
  .qa-doc-table tr { border:1px solid #eee; border-radius:8px; margin:8px 0; padding:4px 0; }
  .qa-doc-table td { border:none; padding:2px 10px; }
  .qa-doc-table td[data-label]::before { content: attr(data-label) "："; color:#888; font-size:12px; }
  .qa-doc-table td.qa-dt-title::before { content:""; }
  #qa-chat button[aria-label="滚动到底部"], #qa-chat .scroll-down-button-container { display:none !important; }
}
"""


def app_theme() -> gr.themes.Base:
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


def _date_problem(value: Any, label: str, end: bool = False) -> tuple[str | None, str | None]:
    """(ISO date or None, a Chinese message when the typed date is not a date)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, None
    try:
        return parse_day(value.strip() if isinstance(value, str) else value, end=end), None
    except ValueError:
        shown = str(value)[:40]
        return None, f"“{label}”填写的“{shown}”不是有效日期（请写成 2023-06-01），本次未按这个日期{'判断' if label == '有效性判断日期' else '筛选'}。"


def _chat_filters(region: Any, doc_id: Any, date_from: Any, date_to: Any, in_force: Any, as_of: Any) -> tuple[Filters | None, list[str]]:
    """The chat's filter inputs → Filters, plus messages about the inputs that could not be used."""
    problems: list[str] = []
    region = region if isinstance(region, str) and region != ALL_REGIONS else ""
    doc_id = doc_id if isinstance(doc_id, str) else ""
    d_from, p1 = _date_problem(date_from, "发布日期 从")
    d_to, p2 = _date_problem(date_to, "发布日期 至", end=True)
    day, p3 = _date_problem(as_of, "有效性判断日期")
    problems += [p for p in (p1, p2, p3) if p]
    if d_from and d_to and d_from > d_to:
        problems.append(f"发布日期“从 {d_from}”晚于“至 {d_to}”，本次未按发布日期筛选。")
        d_from = d_to = None
    filters = make_filters([region] if region else [], [doc_id] if doc_id else [], d_from, d_to)
    if in_force is True or day:
        filters = filters or Filters()
        filters.in_force = in_force is True
        filters.as_of = day
    return filters, problems


def _conflicts(question: str, answer: Answer, explicit: Filters | None, titles: dict[str, str], regions: list[str]) -> list[str]:
    """Why the person's own filters may have kept the answer out (a region filter that excludes the
    place the question names, a single document, a date range, "只看现行有效")."""
    from qa.retrieve.places import uncovered_places

    if explicit is None:
        return []
    out: list[str] = []
    if explicit.regions:
        named = uncovered_places(question, explicit.regions)  # places the chosen region does not cover …
        elsewhere = set(uncovered_places(question, regions))  # … that the collection does
        excluded = [p for p in named if p not in elsewhere]
        if excluded:
            out.append(f"您在“筛选范围”中选择了地区“{'、'.join(explicit.regions)}”，但问题问的是“{'、'.join(excluded)}”："
                       f"{'、'.join(excluded)}的文件被这一筛选排除了。请把地区改为“{ALL_REGIONS}”后再问。")  # fmt: skip
    if answer.refused or answer.coverage == "partial":
        if explicit.doc_ids:
            names = "、".join("《" + titles.get(d, d) + "》" for d in explicit.doc_ids)
            out.append(f"只在{names}中查找了；在“筛选范围”中把文件改为“全部文件”可查找全部文件。")
        if explicit.date_from or explicit.date_to:
            out.append(f"只查找了发布日期在 {explicit.date_from or '…'} 至 {explicit.date_to or '…'} 之间的文件；清除日期可查找全部文件。")
        if explicit.in_force:
            out.append("已开启“只看现行有效”：已过有效期、已废止或尚未施行的文件没有被查找。")
    return out


# Page script: citation chips jump to their source card, "查看文件全文" opens the document, and
# screen readers hear the text of a message, not its HTML (Gradio labels messages with their source).
HEAD = r"""
<script>
(function () {
  function openDoc(req) {
    window.__qaOpenReq = req;
    var b = document.getElementById('qa-open-doc-btn');
    if (b) { (b.tagName === 'BUTTON' ? b : (b.querySelector('button') || b)).click(); }
  }
  function act(t) {
    var cite = t.closest && t.closest('.qa-cite');
    var n = cite && (cite.className.match(/qa-cite-(\d+)/) || [])[1];
    if (cite && n) {
      var msg = cite.closest('.qa-msg');
      var card = msg && msg.querySelector('.qa-src-' + n);
      if (card) {
        card.scrollIntoView({block: 'center'});
        card.classList.remove('qa-src-flash'); void card.offsetWidth; card.classList.add('qa-src-flash');
        card.focus({preventScroll: true});
        // the chat's scroll-to-newest can land after the jump on a slow phone: jump again if it did
        [300, 900].forEach(function (ms) {
          setTimeout(function () {
            var r = card.getBoundingClientRect();
            if (r.bottom < 0 || r.top > window.innerHeight) card.scrollIntoView({block: 'center'});
          }, ms);
        });
      }
      return true;
    }
    var open = t.closest && t.closest('.qa-open-doc');
    if (open) {
      var ck = (open.className.match(/qa-ck-([0-9a-f]+)/) || [])[1], dk = (open.className.match(/qa-dk-([0-9a-f]+)/) || [])[1];
      if (ck || dk) openDoc(ck ? 'c:' + ck : 'd:' + dk);
      return true;
    }
    return false;
  }
  document.addEventListener('click', function (e) { if (act(e.target)) e.preventDefault(); }, true);
  document.addEventListener('keydown', function (e) {
    if ((e.key === 'Enter' || e.key === ' ') && act(e.target)) e.preventDefault();
  }, true);
  var NAMES = {'More tabs': '更多标签页', 'chatbot conversation': '对话记录', 'Clear': '清空', 'Textbox': '文本框',
               'Drop File Here': '将文件拖到这里', 'Upload': '上传', 'Close': '关闭', 'Copy': '复制', 'Retry': '重试',
               'Undo': '撤销', 'Scroll down': '滚动到底部', 'Remove': '移除', 'Download': '下载', 'Show more': '显示更多'};
  function relabel() {
    document.querySelectorAll('[aria-label]').forEach(function (el) {
      var v = el.getAttribute('aria-label');
      if (!v) return;
      var m = v.match(/^(user|bot)'s message: /);
      if (m) {
        var text = (el.innerText || '').replace(/\s+/g, ' ').trim().slice(0, 400);
        el.setAttribute('aria-label', (m[1] === 'user' ? '您的问题：' : '回答：') + text);
      } else if (NAMES[v]) {
        el.setAttribute('aria-label', NAMES[v]);
      } else if (v.indexOf('<') >= 0) {
        el.setAttribute('aria-label', (el.innerText || '').replace(/\s+/g, ' ').trim().slice(0, 400));
      }
    });
    document.querySelectorAll('[title="Clear"], [title="Scroll down"]').forEach(function (el) {
      el.setAttribute('title', el.getAttribute('title') === 'Clear' ? '清空' : '滚动到底部');
    });
  }
  var pending = false;
  new MutationObserver(function () {
    if (pending) return;
    pending = true;
    setTimeout(function () { pending = false; relabel(); }, 120);
  }).observe(document.documentElement, {subtree: true, childList: true, attributes: true, attributeFilter: ['aria-label']});
})();
</script>
"""

SCROLL_TO_ARTICLE = """() => { setTimeout(() => {
  const hit = document.querySelector('#qa-docview .qa-article-hit') || document.querySelector('#qa-docview');
  if (hit) hit.scrollIntoView({block: 'start'});
}, 150); }"""


@dataclass
class _Page:
    """What the page's handlers share, made once per build_ui."""

    assistant: SharedAssistant
    settings: Settings
    # what the page knows of the collection, for the generation being served (documents added or
    # removed in 文件管理 switch the server to a new one: IndexViews.now follows it)
    views: "IndexViews"
    feedback: Any  # qa.app.feedback.FeedbackStore

    @property
    def keep(self) -> int:
        """How many history messages a follow-up is read from: whole turns."""
        n = self.settings.max_history_messages
        return max(2, n - n % 2)


@dataclass
class _ChatPanel:
    """The conversation column: the chat, the feedback row under it, the question box."""

    chatbot: Any
    fb_panel: Any
    useful_btn: Any
    useless_btn: Any
    fb_comment: Any
    fb_send: Any
    fb_status: Any
    question: Any
    send: Any
    restart: Any


@dataclass
class _SidePanel:
    """The side column: example questions, the filters, the answer mode and index status."""

    example_buttons: list[Any]
    in_force: Any
    as_of: Any
    region: Any
    document: Any
    date_from: Any
    date_to: Any
    date_note: Any
    index_status: Any

    @property
    def filters(self) -> list[Any]:
        """The filter inputs of an answering event, in the order `respond` takes them."""
        return [self.region, self.document, self.date_from, self.date_to, self.in_force, self.as_of]


@dataclass
class _DocumentsTab:
    """已收录文件: the full-text view of one document and the searchable list."""

    docview_box: Any
    back_btn: Any
    close_btn: Any
    docview: Any
    doc_query: Any
    doc_region: Any
    doc_year: Any
    doc_status: Any
    doc_search: Any
    doc_list: Any


@dataclass
class _Session:
    """Per-session state and the hidden bridge from the page script (HEAD) to the server."""

    open_req: Any
    open_btn: Any
    history: Any
    last_answer: Any
    fb_id: Any


def _hide() -> Any:
    return gr.update(visible=False)


def _checked_question(question: Any, settings: Settings) -> str:
    """The question as typed, or ValueError with a message for the person (too long, bad text)."""
    return check_text(question or "", "问题", settings.max_question_chars * 4).strip()


def _last_answer(question: str, answer: Answer) -> dict[str, Any]:
    """What a 有用 / 没用 verdict is recorded with (citations without their long passages)."""
    return {
        "question": question, "answer": answer.text, "coverage": answer.coverage,
        "citations": [{k: v for k, v in c.to_dict().items() if k != "passage"} for c in answer.citations],
        "filters": answer.filters.to_dict(),
    }  # fmt: skip


def _respond_handler(page: _Page) -> Any:
    """The answering event: the question shown at once, then the answer streamed into its place."""
    settings, views, assistant = page.settings, page.views, page.assistant

    async def respond(
        question: str, chat: list[dict], history: list[dict], region: str, doc_id: str, date_from: Any, date_to: Any,
        in_force: Any, as_of: Any, request: gr.Request,
    ) -> AsyncIterator[tuple[Any, ...]]:
        chat = _trim_chat(chat)
        history = list(history or []) if isinstance(history, list) else []
        keep_fb = (gr.update(), gr.update(), gr.update(), gr.update())
        try:
            question = _checked_question(question, settings)
        except ValueError as exc:
            gr.Warning(str(exc).split(" / ")[0])
            yield ("", chat, history) + keep_fb
            return
        if not question:
            gr.Warning("请先输入问题。")
            yield ("", chat, history) + keep_fb
            return
        filters, problems = _chat_filters(region, doc_id, date_from, date_to, in_force, as_of)
        # the question at once, with a visible "正在查找…" (tests/app/test_browser.py)
        chat = chat + [{"role": "user", "content": user_html(question)}, {"role": "assistant", "content": pending_html()}]
        yield ("", chat, history) + (None, _hide(), "", "")
        # let the page draw it before a quick answer replaces it: the person sees the search start
        await asyncio.sleep(0.08)
        text = ""
        answer: Answer | None = None
        try:
            async for item in assistant.astream(_client(request), question, clean_history(history) or None, filters):
                if isinstance(item, Answer):
                    answer = item
                elif item:
                    text += item
                    chat[-1] = {"role": "assistant", "content": pending_html(text)}
                    yield ("", chat, history) + keep_fb
        except Refused as exc:  # too many questions at once, or the service is full
            chat[-1] = {"role": "assistant", "content": error_html(exc.message.split(" / ")[0])}
            yield ("", chat, history) + keep_fb
            return
        except Exception:
            log.exception("answering failed")
            chat[-1] = {"role": "assistant", "content": error_html("抱歉，系统暂时无法回答，请稍后再试。")}
            yield ("", chat, history) + keep_fb
            return
        if answer is None:
            chat[-1] = {"role": "assistant", "content": error_html("抱歉，没有得到回答，请换个问法再试。")}
            yield ("", chat, history) + keep_fb
            return
        view = views.now()
        scope = scope_html(answer.filters, filters, view.titles)
        hint = hints_html(problems + _conflicts(question, answer, filters, view.titles, view.regions))
        chat[-1] = {"role": "assistant", "content": answer_html(answer, scope, hint)}
        # the history the next follow-up is read from stays bounded, like a /api caller's
        history = (history + [{"role": "user", "content": question}, {"role": "assistant", "content": answer.text}])[-page.keep:]
        yield ("", chat, history, _last_answer(question, answer), gr.update(visible=True), "", "")

    return respond


def _feedback_handlers(page: _Page) -> tuple[Callable[[str], Any], Any]:
    """(record(verdict) → the 有用 / 没用 event, send_comment): one feedback entry per answer."""
    from qa.app.feedback import FeedbackFull

    feedback, views, max_comment = page.feedback, page.views, page.settings.max_comment_chars

    def _record(verdict: str) -> Any:
        def record(last: Any, fid: Any, comment: Any) -> tuple[Any, str]:
            if not isinstance(last, dict) or not last.get("answer"):
                return fid, "请先提问，再评价回答。"
            if not isinstance(comment, str) or len(comment) > max_comment:
                return fid, f"说明过长（上限 {max_comment} 字），未保存。"
            try:
                if isinstance(fid, int) and feedback.update(fid, verdict=verdict, comment=comment.strip()):
                    new = fid
                else:
                    new = feedback.add(verdict, last["question"], last["answer"], last.get("citations"), last.get("coverage", ""),
                                       last.get("filters"), views.now().index_version, comment.strip())  # fmt: skip
            except FeedbackFull as exc:
                return fid, str(exc)
            word = "有用" if verdict == "useful" else "没用"
            more = "" if comment.strip() else "可以在下面补充说明，再点“提交说明”。"
            return new, f"已记录：{word}。谢谢您的反馈！{more}"

        return record

    def send_comment(last: Any, fid: Any, comment: Any) -> tuple[Any, str]:
        if not isinstance(fid, int):
            return fid, "请先选择“有用”或“没用”。"
        if not isinstance(comment, str) or not comment.strip():
            return fid, "请先填写说明。"
        if len(comment) > max_comment:
            return fid, f"说明过长（{len(comment)} 字，上限 {max_comment}），未保存。"
        feedback.update(fid, comment=comment.strip())
        return fid, "已收到您的说明，谢谢！评测人员会查看。"

    return _record, send_comment


def _status_on(as_of: Any) -> tuple[Any, Any]:
    """(document → its validity on the typed day, the day): today when the day is blank or not a date."""
    from qa.ingest.validity import citation_validity

    day, _ = _date_problem(as_of, "有效性判断日期")
    return (lambda d: citation_validity(d, day)), day


def _document_handlers(page: _Page) -> tuple[Any, Any]:
    """(search_docs, open_doc): the document list and one document's full text."""
    views, assistant = page.views, page.assistant

    def search_docs(query: Any, region: Any, year: Any, status: Any, as_of: Any) -> str:
        validity_of, _ = _status_on(as_of)
        query = query if isinstance(query, str) else ""
        documents = views.now().documents
        found = search_documents(documents, query[:200], region if isinstance(region, str) else "",
                                 year if isinstance(year, str) else "", lambda d: validity_of(d)["status"],
                                 status if isinstance(status, str) else "")  # fmt: skip
        return documents_html(found, assistant.chunk_counts, validity_of, total=len(documents))

    def open_doc(req: Any, as_of: Any) -> tuple[Any, ...]:
        # the page sends "c:<chunk token>" (a citation) or "d:<document token>" (the list)
        req = req if isinstance(req, str) else ""
        kind, _, key = req.partition(":")
        view = views.now()
        by_id, chunks_of, chunk_doc, doc_of_token = view.by_id, view.chunks_of, view.chunk_doc, view.doc_of_token
        chunk_id = chunk_doc.get(key, "") if kind == "c" else ""
        doc_id = chunk_id.split(":", 1)[0] if chunk_id else doc_of_token.get(key, "")
        doc = by_id.get(doc_id) or next((by_id[c.doc_id] for cs in chunks_of.values() for c in cs if c.chunk_id == chunk_id), None)
        if doc is None:
            return gr.update(), gr.update(), gr.update()
        validity_of, _ = _status_on(as_of)
        quote = ""
        html_ = document_html(doc, chunks_of.get(doc.doc_id, []), validity_of(doc), chunk_id, quote)
        return html_, gr.update(visible=True), gr.Tabs(selected="documents")

    return search_docs, open_doc


def _ask_history(history_json: str, settings: Settings) -> list[dict[str, str]]:
    """`history_json` of /ask → checked messages, or gr.Error for the caller."""
    try:
        raw = json.loads(history_json) if history_json else []
        if not isinstance(raw, list) or not all(isinstance(m, dict) for m in raw):
            raise TypeError("expected a JSON list of {role, content} objects")
        if len(raw) > settings.max_history_messages:  # before any work on it
            check_history(raw, settings)
        return check_history(clean_history(raw), settings)
    except (ValueError, AttributeError, TypeError) as exc:
        raise _user_error(f"history_json 不是消息列表 / not a JSON list of messages: {str(exc)[:200]}") from exc


def _ask_handler(page: _Page) -> Any:
    """The page's public API `/ask` (for gradio_client)."""
    settings, views, assistant = page.settings, page.views, page.assistant

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
        titles = views.now().titles  # now: documents added to the running server count at once
        doc_id = document if document in titles else next((k for k, v in titles.items() if v == document), "")
        if document and not doc_id:
            raise _user_error(f"未知的文件 / unknown document: {document[:100]}")
        history = _ask_history(history_json, settings)
        try:
            filters = make_filters([region] if region else [], [doc_id] if doc_id else [], date_from, date_to)
        except ValueError as exc:
            raise _user_error(str(exc)) from exc
        try:
            answer = await assistant.aask(_client(request), question, history or None, filters)
        except Refused as exc:
            raise _user_error(exc.message) from exc
        return answer.text, json.dumps([c.to_dict() for c in answer.citations], ensure_ascii=False)

    return ask


def _chat_panel(settings: Settings) -> _ChatPanel:
    """The conversation column (inside the 咨询问答 tab's row)."""
    chatbot = gr.Chatbot(
        elem_id="qa-chat",
        label="对话记录",
        show_label=False,
        height=600,
        placeholder=WELCOME,
        latex_delimiters=[],
        feedback_options=None,
        buttons=[],
        layout="bubble",
        group_consecutive_messages=False,
    )
    with gr.Group(visible=False, elem_id="qa-feedback") as fb_panel:
        with gr.Row(equal_height=True, elem_classes=["qa-fb-row"]):
            gr.HTML('<div class="qa-fb-q">这个回答对您有用吗？</div>')
            useful_btn = gr.Button("有用", size="sm", elem_id="qa-fb-useful", scale=0, min_width=80)
            useless_btn = gr.Button("没用", size="sm", elem_id="qa-fb-useless", scale=0, min_width=80)
        with gr.Row(equal_height=True):
            fb_comment = gr.Textbox(label="补充说明（可选）", placeholder="哪里不对？缺少什么？", lines=1, max_lines=3,
                                    max_length=settings.max_comment_chars, elem_id="qa-fb-comment", scale=6)  # fmt: skip
            fb_send = gr.Button("提交说明", size="sm", elem_id="qa-fb-send", scale=1, min_width=90)
        fb_status = gr.Markdown("", elem_id="qa-fb-status")
    with gr.Row(equal_height=True):
        question = gr.Textbox(
            elem_id="qa-question",
            label="输入问题",
            show_label=False,
            placeholder="请输入您的问题，按回车发送",
            lines=1,
            max_lines=4,
            max_length=settings.max_question_chars,
            scale=8,
            autofocus=True,
        )
        send = gr.Button("提问", variant="primary", scale=1, min_width=70, elem_id="qa-send")
    with gr.Row():
        restart = gr.Button("重新开始", size="sm", variant="secondary", elem_id="qa-restart", scale=0, min_width=110)
        gr.HTML('<div class="qa-disclaimer">回答由系统根据文件原文自动生成，仅供参考。</div>')
    return _ChatPanel(chatbot, fb_panel, useful_btn, useless_btn, fb_comment, fb_send, fb_status, question, send, restart)


def _side_panel(assistant: SharedAssistant, view: "IndexView") -> _SidePanel:
    """The side column: 常见问题, 筛选范围, how answers are made."""
    gr.HTML('<div class="qa-side-title">常见问题</div>')
    with gr.Column(elem_classes=["qa-examples"]):
        gr.HTML('<div class="qa-side-sub">市民办事</div>')
        citizen_buttons = [gr.Button(q, size="sm", elem_classes=["qa-example"]) for q in CITIZEN_EXAMPLES]
        gr.HTML('<div class="qa-side-sub">企业政策</div>')
        business_buttons = [gr.Button(q, size="sm", elem_classes=["qa-example"]) for q in BUSINESS_EXAMPLES]
    with gr.Accordion("筛选范围（可选）", open=False, elem_id="qa-filters"):
        in_force = gr.Checkbox(label="只看现行有效", value=False, elem_id="qa-in-force",
                               info="只在判断日期仍然有效（或未载明有效期）的文件中查找")  # fmt: skip
        as_of = gr.Textbox(label="有效性判断日期", placeholder="默认今天，如 2023-06-01", max_length=40,
                           elem_id="qa-as-of")  # fmt: skip
        region = gr.Dropdown(choices=[ALL_REGIONS] + view.regions, value=ALL_REGIONS, label="地区", elem_id="qa-region")
        document = gr.Dropdown(choices=view.doc_choices, value=None, label="文件（默认全部文件）", filterable=True,
                               elem_id="qa-document")  # fmt: skip
        with gr.Row():
            date_from = gr.Textbox(label="发布日期 从", placeholder="如 2020-01-01", max_length=40, elem_id="qa-date-from", min_width=120)
            date_to = gr.Textbox(label="至", placeholder="如 2022-12-31", max_length=40, elem_id="qa-date-to", min_width=120)
        date_note = gr.Markdown("", elem_id="qa-date-note")
        gr.HTML('<div class="qa-side-sub">不设置时，系统会根据问题中的地名自动缩小范围。</div>')
    gr.HTML(_mode_html(assistant))
    index_status = _maybe_index_status(assistant)
    return _SidePanel(citizen_buttons + business_buttons, in_force, as_of, region, document, date_from, date_to, date_note,
                      index_status)  # fmt: skip


def _documents_tab(view: "IndexView", search_docs: Any) -> _DocumentsTab:
    """已收录文件 (inside its tab): a document's full text above the searchable list."""
    with gr.Group(visible=False, elem_id="qa-docview-box") as docview_box:
        with gr.Row():
            back_btn = gr.Button("← 返回对话", size="sm", scale=0, min_width=110, elem_id="qa-doc-back")
            close_btn = gr.Button("关闭全文", size="sm", scale=0, min_width=90, elem_id="qa-doc-close")
        docview = gr.HTML("", elem_id="qa-docview")
    with gr.Row(equal_height=True, elem_classes=["qa-doc-search"]):
        doc_query = gr.Textbox(label="搜索文件", placeholder="标题、发文字号或关键词，如 招政发〔2022〕8号", max_length=200,
                               elem_id="qa-doc-query", scale=4, min_width=200)  # fmt: skip
        doc_region = gr.Dropdown(choices=[(ALL_REGIONS, "")] + [(r, r) for r in view.regions], value="", label="地区",
                                 elem_id="qa-doc-region", scale=2, min_width=120)  # fmt: skip
        doc_year = gr.Dropdown(choices=[("全部年份", "")] + [(f"{y}年", y) for y in view.years], value="", label="年份",
                               elem_id="qa-doc-year", scale=1, min_width=100)  # fmt: skip
        doc_status = gr.Dropdown(choices=[("全部状态", "")] + [(v, k) for k, v in STATUS_LABELS.items()], value="",
                                 label="状态", elem_id="qa-doc-status", scale=1, min_width=110)  # fmt: skip
        doc_search = gr.Button("搜索", variant="primary", scale=0, min_width=70, elem_id="qa-doc-search-btn")
    gr.HTML('<div class="qa-side-sub">点击文件标题或“打开”可阅读全文；状态按今天判断（或按“咨询问答”筛选范围中的判断日期）。</div>')
    doc_list = gr.HTML(search_docs("", "", "", "", None), elem_id="qa-doc-table")
    return _DocumentsTab(docview_box, back_btn, close_btn, docview, doc_query, doc_region, doc_year, doc_status, doc_search,
                         doc_list)  # fmt: skip


def _session(settings: Settings) -> _Session:
    """The hidden bridge (which document the page script asks to open) and the session's state."""
    open_req = gr.Textbox(value="", visible=True, elem_classes=["qa-hidden"], elem_id="qa-open-req", max_length=300, label="打开文件")
    open_btn = gr.Button("打开文件", elem_id="qa-open-doc-btn", elem_classes=["qa-hidden"])
    ttl = settings.session_ttl_seconds
    return _Session(open_req, open_btn, gr.State([], time_to_live=ttl), gr.State(None, time_to_live=ttl),
                    gr.State(None, time_to_live=ttl))  # fmt: skip


_PRIVATE = {"api_visibility": "private"}  # UI events, not the page's public API


def _wire_chat(chat: _ChatPanel, side: _SidePanel, session: _Session, respond: Any) -> None:
    """Questions (typed, sent, or an example button) and starting over."""
    inputs = [chat.question, chat.chatbot, session.history, *side.filters]
    outputs = [chat.question, chat.chatbot, session.history, session.last_answer, chat.fb_panel, chat.fb_comment, chat.fb_status]
    # concurrency_limit=None: answering events start at once and wait in the fair answer pool
    # (bounded per client and in total), not in Gradio's queue shared with everyone.
    answering = {"api_visibility": "private", "concurrency_limit": None}
    chat.question.submit(respond, inputs, outputs, **answering)
    chat.send.click(respond, inputs, outputs, **answering)
    for b in side.example_buttons:
        # the button's own label is the question
        b.click(respond, [b, chat.chatbot, session.history, *side.filters], outputs, **answering)

    def reset() -> tuple[Any, ...]:
        return [], [], None, _hide()

    # 重新开始 clears the conversation and leaves the question box alone: what the person is
    # already typing is theirs (a late reset used to empty a question typed right after it).
    chat.restart.click(reset, None, [chat.chatbot, session.history, session.last_answer, chat.fb_panel], **_PRIVATE)
    chat.chatbot.clear(lambda: [], None, session.history, **_PRIVATE)  # the chat's own 🗑 forgets the history too


def _wire_feedback(chat: _ChatPanel, session: _Session, record: Callable[[str], Any], send_comment: Any) -> None:
    """有用 / 没用 and the optional comment, about the last answer."""
    fb_io = ([session.last_answer, session.fb_id, chat.fb_comment], [session.fb_id, chat.fb_status])
    chat.useful_btn.click(record("useful"), *fb_io, **_PRIVATE)
    chat.useless_btn.click(record("not_useful"), *fb_io, **_PRIVATE)
    chat.fb_send.click(send_comment, *fb_io, **_PRIVATE)
    chat.fb_comment.submit(send_comment, *fb_io, **_PRIVATE)


def _wire_dates(side: _SidePanel) -> None:
    """Say at once when a typed date is not a date (the question would ignore it)."""

    def check_dates(date_from: Any, date_to: Any, as_of: Any) -> str:
        _, problems = _chat_filters("", "", date_from, date_to, False, as_of)
        return "\n".join(f"⚠️ {p}" for p in problems)

    dates = [side.date_from, side.date_to, side.as_of]
    for box in dates:
        box.blur(check_dates, dates, [side.date_note], **_PRIVATE)
        box.submit(check_dates, dates, [side.date_note], **_PRIVATE)


def _wire_documents(docs: _DocumentsTab, as_of: Any, session: _Session, tabs: Any, search_docs: Any, open_doc: Any) -> None:
    """Searching the list, opening a document (from a citation or the list) and closing it."""
    search_in = [docs.doc_query, docs.doc_region, docs.doc_year, docs.doc_status, as_of]
    docs.doc_query.submit(search_docs, search_in, [docs.doc_list], **_PRIVATE)
    docs.doc_search.click(search_docs, search_in, [docs.doc_list], **_PRIVATE)
    for dd in (docs.doc_region, docs.doc_year, docs.doc_status):
        dd.input(search_docs, search_in, [docs.doc_list], **_PRIVATE)
    session.open_btn.click(open_doc, [session.open_req, as_of], [docs.docview, docs.docview_box, tabs],
                           js="(r, a) => [window.__qaOpenReq || '', a]", **_PRIVATE).then(None, None, None, js=SCROLL_TO_ARTICLE)  # fmt: skip
    docs.back_btn.click(lambda: gr.Tabs(selected="chat"), None, [tabs], **_PRIVATE)
    docs.close_btn.click(lambda: ("", gr.update(visible=False)), None, [docs.docview, docs.docview_box], **_PRIVATE)


def build_ui(assistant: SharedAssistant, settings: Settings | None = None) -> gr.Blocks:
    """The chat page, the document list and, behind QA_AUTH only, the evaluation tab."""
    from qa.app.feedback import feedback_store

    settings = settings or getattr(assistant, "settings", None) or Settings()
    page = _Page(assistant, settings, IndexViews(assistant), feedback_store(settings))
    first = page.views.now()
    respond = _respond_handler(page)
    record, send_comment = _feedback_handlers(page)
    search_docs, open_doc = _document_handlers(page)

    with gr.Blocks(title="政策问答 · 根据政府文件回答", analytics_enabled=False) as demo:
        header = gr.HTML(_header_html(assistant))
        with gr.Tabs() as tabs:
            with gr.Tab("咨询问答", id="chat"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=7, min_width=300):
                        chat = _chat_panel(settings)
                    with gr.Column(scale=3, min_width=260):
                        side = _side_panel(assistant, first)
            with gr.Tab("已收录文件", id="documents"):
                docs = _documents_tab(first, search_docs)
            if settings.auth:  # a tool for evaluators, not citizens: never on a public page
                _maybe_evaluator_tab(assistant, settings)
            _maybe_admin_tab(assistant)
        session = _session(settings)
        # registered in this order: the page's event ids (fn_index) stay as they were
        _wire_chat(chat, side, session, respond)
        _wire_feedback(chat, session, record, send_comment)
        _wire_dates(side)
        _wire_documents(docs, side.as_of, session, tabs, search_docs, open_doc)
        gr.api(_ask_handler(page), api_name="ask", concurrency_limit=None)
        if side.index_status is not None:
            _follow_index(assistant, page.views, side.index_status, header, side.region, side.document, docs.doc_region,
                          docs.doc_year, docs.doc_list, [docs.doc_query, docs.doc_region, docs.doc_year, docs.doc_status,
                          side.as_of], search_docs)  # fmt: skip
    return demo


class IndexView:
    """What the page shows of one index generation: documents, regions, years, choices, lookups."""

    def __init__(self, assistant: SharedAssistant) -> None:
        from qa.index.watch import loaded_generation

        self.generation = loaded_generation(assistant)
        self.titles = assistant.titles()
        self.documents = assistant.document_list()
        self.regions = assistant.regions()
        self.by_id = {d.doc_id: d for d in self.documents}
        store = getattr(getattr(assistant, "retriever", None), "store", None)
        self.chunks_of: dict[str, list[Any]] = {}
        self.chunk_doc: dict[str, str] = {}
        for c in getattr(store, "chunks", None) or []:
            self.chunks_of.setdefault(c.doc_id, []).append(c)
            self.chunk_doc[token(c.chunk_id)] = c.chunk_id  # the page sends tokens (render.token), not ids
        self.doc_of_token = {token(d.doc_id): d.doc_id for d in self.documents}
        for v in self.chunks_of.values():
            v.sort(key=lambda c: c.start)
        self.doc_choices = [
            (f"{d.label()} · {d.region or ''}", d.doc_id)
            for d in sorted(self.documents, key=lambda d: (d.region or "", d.date or ""), reverse=True)
        ]
        self.years = sorted({d.date[:4] for d in self.documents if d.date}, reverse=True)
        info = assistant.index_info() if hasattr(assistant, "index_info") else {}
        self.index_version = " ".join(str(info.get(k, "")) for k in ("created_at", "corpus_hash") if info.get(k))[:80]


class IndexViews:
    """The IndexView of the generation being served, made again when the server switched."""

    def __init__(self, assistant: SharedAssistant) -> None:
        self.assistant = assistant
        self._view: IndexView | None = None

    def now(self) -> IndexView:
        from qa.index.watch import loaded_generation

        view = self._view
        if view is None or view.generation != loaded_generation(self.assistant):
            view = self._view = IndexView(self.assistant)  # two requests may both make it: harmless
        return view


def _follow_index(assistant: SharedAssistant, views: IndexViews, status: Any, header: Any, region: Any, document: Any,
                  doc_region: Any, doc_year: Any, doc_list: Any, search_in: list[Any], search_docs: Any) -> None:
    """One timer per page: the index status line, and, when the server switched to a new index
    generation (a document added or removed in 文件管理), the header, filters and document list."""
    from qa.app.admin import status_html
    from qa.app.server import LIVE_CHOICES

    # the page's API gate checks a chosen region / document / year against the index as it is now
    setattr(region, LIVE_CHOICES, lambda: [ALL_REGIONS] + views.now().regions)
    setattr(document, LIVE_CHOICES, lambda: [d for _, d in views.now().doc_choices])
    setattr(doc_region, LIVE_CHOICES, lambda: [""] + views.now().regions)
    setattr(doc_year, LIVE_CHOICES, lambda: [""] + views.now().years)
    shown = gr.State(views.now().generation)  # the generation this page shows

    def tick(seen: Any, *search: Any) -> tuple[Any, ...]:
        line = status_html(assistant)
        view = views.now()
        if view.generation == seen:
            return (line,) + (gr.skip(),) * 6 + (seen,)
        return (line, _header_html(assistant), gr.update(choices=[ALL_REGIONS] + view.regions),
                gr.update(choices=view.doc_choices), gr.update(choices=[(ALL_REGIONS, "")] + [(r, r) for r in view.regions]),
                gr.update(choices=[("全部年份", "")] + [(f"{y}年", y) for y in view.years]), search_docs(*search),
                view.generation)

    gr.Timer(3.0).tick(tick, [shown, *search_in], [status, header, region, document, doc_region, doc_year, doc_list, shown],
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
