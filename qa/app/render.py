"""HTML and plain-text rendering of answers, sources and the document list.

Pure functions, no Gradio import, so they are unit-testable.

Safety: every piece of user or document text goes through `_esc` (HTML-escape,
then Markdown-neutralise). Each rendered message is a single line starting
with a block-level tag, so the chat's Markdown renderer treats it as one raw
HTML block and never re-interprets the text inside: a question containing
`<details>`, `**…**`, `[1]` or `<script>` shows up literally and can never fake
a source panel or run code.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from qa.models import Answer, Citation, Document, Filters, Hit

# Characters Markdown (and Gradio's LaTeX/ruby helpers) could interpret, as entities.
_MD_ENTITIES = {
    "*": "&#42;",
    "_": "&#95;",
    "`": "&#96;",
    "[": "&#91;",
    "]": "&#93;",
    "#": "&#35;",
    "|": "&#124;",
    "~": "&#126;",
    "$": "&#36;",
    "\\": "&#92;",
    "!": "&#33;",
    "=": "&#61;",
    "+": "&#43;",
    "-": "&#45;",
}
_MD_RE = re.compile("[" + re.escape("".join(_MD_ENTITIES)) + "]")
_MARKER_RE = re.compile(r"\[(\d{1,3})\]")


def token(key: str) -> str:
    """A short class-safe token for a chunk or document id (the page script sends it back)."""
    return hashlib.sha1((key or "").encode("utf-8")).hexdigest()[:16]


def _esc(text: str | None) -> str:
    """Text → inert HTML: escaped, Markdown-neutral, newlines as <br>."""
    if not text:
        return ""
    out = html.escape(str(text), quote=True)
    out = _MD_RE.sub(lambda m: _MD_ENTITIES[m.group(0)], out)
    return out.replace("\r\n", "\n").replace("\n", "<br>")


def _one_line(fragment: str) -> str:
    """Keep a rendered message on one line, so Markdown sees a single HTML block."""
    return fragment.replace("\r", "").replace("\n", "")


# --- user messages and answers ------------------------------------------------------------


def user_html(question: str) -> str:
    return _one_line(f'<div class="qa-user">{_esc(question)}</div>')


PENDING_TEXT = "正在查找…"


def pending_html(text: str = "") -> str:
    """The answer while it is still being looked up or streamed: a visible "正在查找…" state."""
    if not text.strip():
        return ('<div class="qa-answer qa-pending" role="status"><span class="qa-spinner" aria-hidden="true"></span>'
                f'<span class="qa-dots">{PENDING_TEXT}</span><span class="qa-pending-sub">正在已收录的文件中查找相关条文</span></div>')
    return _one_line(f'<div class="qa-answer qa-pending" role="status">{_esc(text)}<span class="qa-caret" aria-hidden="true">▍</span></div>')


def _answer_text_html(text: str, markers: set[int]) -> str:
    """Escape the answer, then turn its [n] markers into citation chips."""
    escaped = _esc(text)

    def chip(m: re.Match[str]) -> str:
        n = int(m.group(1))
        if n not in markers:
            return m.group(0)
        # the chat keeps only class, title, role and tabindex: the number rides in a class
        return f'<sup class="qa-cite qa-cite-{n}" role="link" tabindex="0" title="跳到来源 {n}">{n}</sup>'

    # _esc turned "[" "]" into entities; match those.
    return re.sub(r"&#91;(\d{1,3})&#93;", chip, escaped)


def _clauses(text: str) -> list[str]:
    """A quote's sentences/clauses, without their closing punctuation."""
    parts = re.split(r"[。；！？;!?：:\n…]+", text)  # "……" joins non-adjacent sentences
    return [p.strip(" \t，,、") for p in parts if len(p.strip(" \t，,、")) >= 4]


def _find_spans(passage: str, needle: str) -> tuple[int, int] | None:
    """Where needle occurs in passage, ignoring whitespace differences."""
    i = passage.find(needle)
    if i >= 0:
        return i, i + len(needle)
    pos = [k for k, ch in enumerate(passage) if not ch.isspace()]
    compact = "".join(passage[k] for k in pos)
    want = "".join(ch for ch in needle if not ch.isspace())
    j = compact.find(want) if want else -1
    if j < 0:
        return None
    return pos[j], pos[j + len(want) - 1] + 1


def highlight(passage: str, quote: str) -> str:
    """The passage, escaped, with the quoted sentence(s) inside <mark>."""
    passage = passage or ""
    spans: list[tuple[int, int]] = []
    q = (quote or "").strip()
    if q:
        whole = _find_spans(passage, q)
        if whole:
            spans.append(whole)
        else:  # the quote may join sentences, or end in other punctuation: mark each clause found
            for clause in _clauses(q):
                span = _find_spans(passage, clause)
                if span:
                    spans.append(span)
    spans.sort()
    out: list[str] = []
    pos = 0
    for a, b in spans:
        if a < pos:
            continue
        out.append(_esc(passage[pos:a]))
        out.append(f"<mark>{_esc(passage[a:b])}</mark>")
        pos = b
    out.append(_esc(passage[pos:]))
    return "".join(out)


def _meta_line(number: str | None, locator: str | None, issuer: str | None, date: str | None, region: str | None) -> str:
    bits = []
    if number:
        bits.append(f'<span class="qa-meta-num">{_esc(number)}</span>')
    if locator:
        bits.append(f'<span class="qa-meta-loc">{_esc(locator)}</span>')
    if issuer:
        bits.append(f"<span>{_esc(issuer)}</span>")
    if date:
        bits.append(f"<span>{_esc(date)}</span>")
    if region:
        bits.append(f'<span class="qa-meta-region">{_esc(region)}</span>')
    return '<div class="qa-src-meta">' + '<span class="qa-sep">·</span>'.join(bits) + "</div>"


# --- validity: status with a clear colour, and the dates ----------------------------------------

STATUS_LABELS = {  # as qa.ingest.validity.STATUS_LABELS (kept here: render imports no pipeline code)
    "in_force": "现行有效",
    "expired": "已过有效期",
    "not_yet_effective": "尚未施行",
    "repealed": "已废止",
    "unknown": "未载明有效期",
}


def _cn_date(iso: str | None) -> str:
    if not iso or not re.match(r"^\d{4}-\d{2}-\d{2}$", str(iso)):
        return str(iso or "")
    y, m, d = str(iso).split("-")
    return f"{int(y)}年{int(m)}月{int(d)}日"


def status_badge(status: str | None) -> str:
    if not status or status not in STATUS_LABELS:
        return ""
    return f'<span class="qa-status qa-status-{status}">{STATUS_LABELS[status]}</span>'


def validity_dates(v: Mapping[str, Any] | None) -> str:
    """施行 2022年2月7日 · 有效期至 2025年2月6日 · 截至 2026年12月1日 (plain text)."""
    if not v:
        return ""
    bits = []
    if v.get("effective_date"):
        bits.append(f"{_cn_date(v['effective_date'])}起施行")
    if v.get("expiry_date"):
        label = "本条执行期限至" if v.get("scope") == "article" else "有效期至"
        bits.append(f"{label}{_cn_date(v['expiry_date'])}")
    elif v.get("status") == "unknown":
        bits.append("文件未载明有效期")
    if v.get("repealed_by"):
        bits.append(f"已被{v['repealed_by']}废止")
    if v.get("as_of"):
        bits.append(f"按{_cn_date(v['as_of'])}判断")
    return " · ".join(bits)


def validity_html(v: Mapping[str, Any] | None) -> str:
    if not v or not v.get("status"):
        return ""
    return (f'<div class="qa-validity">{status_badge(v["status"])}'
            f'<span class="qa-validity-dates">{_esc(validity_dates(v))}</span></div>')  # fmt: skip


def citation_html(c: Citation) -> str:
    quote = c.quote.strip() if c.quote else ""
    n = int(c.marker)
    return (
        f'<div class="qa-src qa-src-{n}" tabindex="-1">'
        f'<div class="qa-src-head"><span class="qa-src-n" title="来源 {n}">{n}</span>'
        f'<span class="qa-src-title">《{_esc(c.doc_title)}》</span></div>'
        + _meta_line(c.doc_number, c.locator, c.issuer, c.date, c.region)
        + validity_html(c.validity)
        + (f'<blockquote class="qa-src-quote"><mark>{_esc(quote)}</mark></blockquote>' if quote else "")
        + f'<details class="qa-src-full"><summary>展开条文全文</summary>'
        f'<div class="qa-src-passage">{highlight(c.passage, quote)}</div></details>'
        + (f'<span class="qa-open-doc qa-ck-{token(c.chunk_id)}" role="button" tabindex="0" title="打开整份文件，并标出这一条">查看文件全文</span>'
           if c.chunk_id else "")
        + "</div>"
    )


def sources_html(citations: Iterable[Citation]) -> str:
    cites = list(citations)
    if not cites:
        return ""
    return (
        '<div class="qa-sources"><div class="qa-sources-title">参考来源</div>'
        + "".join(citation_html(c) for c in cites)
        + "</div>"
    )


def nearest_html(hits: Iterable[Hit], limit: int = 3) -> str:
    """For a declined question: the closest articles found, so a person can read on."""
    seen: set[str] = set()
    cards: list[str] = []
    for h in hits:
        if h.chunk_id in seen or len(cards) >= limit:
            continue
        seen.add(h.chunk_id)
        d, c = h.document, h.chunk
        cards.append(
            '<div class="qa-src qa-src-near">'
            f'<div class="qa-src-head"><span class="qa-src-title">《{_esc(d.title)}》</span></div>'
            + _meta_line(d.number, c.locator, d.issuer, d.date, d.region)
            + f'<details class="qa-src-full"><summary>展开条文全文</summary>'
            f'<div class="qa-src-passage">{_esc(c.text)}</div></details>'
            "</div>"
        )
    if not cards:
        return ""
    return '<div class="qa-sources qa-near"><div class="qa-sources-title">最接近的文件内容（仅供参考）</div>' + "".join(cards) + "</div>"


def _differs(standalone: str | None, question: str | None) -> bool:
    strip = lambda t: re.sub(r"[\s？?。.!！]", "", t or "")  # noqa: E731
    return bool(standalone) and strip(standalone) != strip(question)


def answer_html(answer: Answer, scope: str = "", hint: str = "") -> str:
    """The final assistant message: answer with citation chips, notes, then its sources."""
    parts: list[str] = []
    if _differs(answer.standalone_question, answer.question):
        # a follow-up was completed from the conversation: show how it was understood
        parts.append(f'<div class="qa-understood">理解为：{_esc(answer.standalone_question)}</div>')
    if answer.refused:
        parts.append(
            '<div class="qa-answer qa-refused"><div class="qa-refused-title">未找到可依据的规定</div>'
            f"<div>{_esc(answer.text)}</div></div>"
        )
        parts.append(nearest_html(answer.hits))
    else:
        if answer.coverage == "partial":
            parts.append('<div class="qa-partial" role="note"><span class="qa-partial-tag">部分解答</span>'
                         "文件只涉及这个问题的一部分，下面是能找到依据的内容；其余部分请咨询主管部门。</div>")  # fmt: skip
        markers = {c.marker for c in answer.citations}
        parts.append(f'<div class="qa-answer">{_answer_text_html(answer.text, markers)}</div>')
    if answer.flagged:
        parts.append('<div class="qa-note qa-warn">提示：回答中有部分内容未能对应到文件原文，请以下方原文为准。</div>')
    if answer.notice:
        parts.append(f'<div class="qa-note">{_esc(answer.notice)}</div>')
    if hint:
        parts.append(hint)
    if scope:
        parts.append(scope)
    if not answer.refused:
        parts.append(sources_html(answer.citations))
    return _one_line('<div class="qa-msg">' + "".join(parts) + "</div>")


def error_html(message: str) -> str:
    return _one_line(f'<div class="qa-answer qa-refused"><div class="qa-refused-title">出错了</div><div>{_esc(message)}</div></div>')


# --- filters ------------------------------------------------------------------------------


def inferred_filters(used: Filters, explicit: Filters | None) -> Filters:
    """What the assistant added to the person's own filters (e.g. a region named in the question)."""
    explicit = explicit or Filters()
    return Filters(
        regions=[r for r in used.regions if r not in explicit.regions],
        doc_ids=[d for d in used.doc_ids if d not in explicit.doc_ids],
        date_from=used.date_from if used.date_from != explicit.date_from else None,
        date_to=used.date_to if used.date_to != explicit.date_to else None,
    )


def scope_html(used: Filters, explicit: Filters | None, titles: Mapping[str, str]) -> str:
    """One line saying which filters applied, marking the inferred ones."""
    inferred = inferred_filters(used, explicit)
    items: list[str] = []

    def add(label: str, value: str, guessed: bool) -> None:
        tag = '<span class="qa-tag-guess">根据问题推断</span>' if guessed else '<span class="qa-tag-set">您的筛选</span>'
        items.append(f"<span class=\"qa-scope-item\">{label}：{_esc(value)} {tag}</span>")

    for r in used.regions:
        add("地区", r, r in inferred.regions)
    for d in used.doc_ids:
        add("文件", "《" + titles.get(d, d) + "》", d in inferred.doc_ids)
    if used.date_from or used.date_to:
        add("日期", f"{used.date_from or '…'} 至 {used.date_to or '…'}", bool(inferred.date_from or inferred.date_to))
    if used.in_force:
        add("有效性", "只看现行有效", False)
    if used.as_of:
        add("判断日期", _cn_date(used.as_of), False)
    if not items:
        return ""
    return '<div class="qa-scope">检索范围 ' + " ".join(items) + "</div>"


# --- plain text (OpenAI-compatible API) ---------------------------------------------------


def reference_line(c: Citation | Mapping[str, Any]) -> str:
    """[1] 《title》（number）locator，issuer，date"""
    g = (lambda k: c.get(k)) if isinstance(c, Mapping) else (lambda k: getattr(c, k))
    line = f"[{g('marker')}] 《{g('doc_title')}》"
    if g("doc_number"):
        line += f"（{g('doc_number')}）"
    if g("locator"):
        line += str(g("locator"))
    tail = "，".join(str(x) for x in (g("issuer"), g("date")) if x)
    return line + (f"，{tail}" if tail else "")


def references_text(citations: Iterable[Citation]) -> str:
    cites = list(citations)
    if not cites:
        return ""
    return "\n\n参考来源：\n" + "\n".join(reference_line(c) for c in cites)


# --- the document list --------------------------------------------------------------------

DOCUMENT_COLUMNS = ["文件标题", "发文字号", "发布日期", "地区", "发文机关", "条目数"]


def document_rows(documents: Iterable[Document], chunk_counts: Mapping[str, int]) -> list[list[Any]]:
    """Rows for the 已收录文件 table, newest first."""
    docs = sorted(documents, key=lambda d: (d.date or "", d.title), reverse=True)
    return [[d.title, d.number or "", d.date or "", d.region or "", d.issuer or "", int(chunk_counts.get(d.doc_id, 0))] for d in docs]


# --- hints: a filter that excludes what the question names, a date that is not a date -------------


def hints_html(messages: Iterable[str]) -> str:
    """Notes on the person's own inputs (filter conflicts, invalid dates), one line each."""
    items = [m for m in messages if m]
    if not items:
        return ""
    return '<div class="qa-hints" role="note">' + "".join(f'<div class="qa-hint">{_esc(m)}</div>' for m in items) + "</div>"


# --- the 已收录文件 tab: search, status, and one document in full ----------------------------------


def search_documents(documents: Iterable[Document], query: str = "", region: str = "", year: str = "",
                     status_of: Any = None, status: str = "") -> list[Document]:  # fmt: skip
    """Documents whose title, 发文字号, issuer or region contain every word of `query`, in the
    region and year given (empty: any), newest first. `status_of(doc)` → status for `status`."""
    words = [w for w in re.split(r"\s+", (query or "").strip()) if w]

    def norm(t: str | None) -> str:
        return re.sub(r"[\s〔〕\[\]［］()（）]", "", t or "").lower()

    out = []
    for d in documents:
        hay = norm(" ".join(x or "" for x in (d.title, d.number, d.issuer, d.region, d.notice_title, d.date)))
        if words and not all(norm(w) in hay for w in words):
            continue
        if region and region != (d.region or ""):
            continue
        if year and not (d.date or "").startswith(year):
            continue
        if status and status_of is not None and status_of(d) != status:
            continue
        out.append(d)
    return sorted(out, key=lambda d: (d.date or "", d.title), reverse=True)


def documents_html(documents: Sequence[Document], chunk_counts: Mapping[str, int], validity_of: Any = None, total: int | None = None) -> str:
    """The document list as a table (cards on a phone), each row with its status and an 打开 button."""
    rows = []
    for d in documents:
        v = validity_of(d) if validity_of else None
        rows.append(
            "<tr>"
            f'<td class="qa-dt-title" data-label="文件标题"><span class="qa-open-doc qa-dk-{token(d.doc_id)}" role="button" tabindex="0" title="阅读全文">{_esc(d.title)}</span></td>'
            f'<td data-label="发文字号">{_esc(d.number or "—")}</td>'
            f'<td data-label="发布日期">{_esc(d.date or "—")}</td>'
            f'<td data-label="地区">{_esc(d.region or "—")}</td>'
            f'<td data-label="发文机关">{_esc(d.issuer or "—")}</td>'
            f'<td data-label="状态">{status_badge((v or {}).get("status"))}<div class="qa-dt-dates">{_esc(validity_dates({k: x for k, x in (v or {}).items() if k != "as_of"}))}</div></td>'
            f'<td data-label="条目数">{int(chunk_counts.get(d.doc_id, 0))}</td>'
            f'<td class="qa-dt-open"><span class="qa-open-doc qa-btn-link qa-dk-{token(d.doc_id)}" role="button" tabindex="0" title="打开《{_esc(d.title)}》">打开</span></td>'
            "</tr>"
        )
    n = len(rows)
    head = "".join(f"<th>{h}</th>" for h in ["文件标题", "发文字号", "发布日期", "地区", "发文机关", "状态", "条目数", ""])
    count = f"找到 {n} 份文件" + (f"（共 {total} 份）" if total is not None and total != n else "")
    if not rows:
        return f'<div class="qa-doclist"><div class="qa-doc-count" role="status">{count}。请换个关键词，或清除地区、年份条件。</div></div>'
    return _one_line(
        f'<div class="qa-doclist"><div class="qa-doc-count" role="status">{count}</div>'
        f'<table class="qa-doc-table"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>'
    )


def document_html(doc: Document, chunks: Sequence[Chunk], validity: Mapping[str, Any] | None = None,
                  highlight_chunk: str = "", quote: str = "") -> str:  # fmt: skip
    """One document in full, article by article; the cited article highlighted (and its quote marked)."""
    parts = [
        '<div class="qa-docview">',
        f'<div class="qa-docview-title">《{_esc(doc.title)}》</div>',
        _meta_line(doc.number, None, doc.issuer, doc.date, doc.region),
        validity_html(validity),
    ]
    if doc.notice_title:
        parts.append(f'<div class="qa-docview-notice">{_esc(doc.notice_title)}</div>')
    for c in chunks:
        hit = c.chunk_id == highlight_chunk
        body = highlight(c.text, quote) if hit and quote else _esc(c.text)
        cls = "qa-article qa-article-hit" if hit else "qa-article"
        label = '<span class="qa-article-tag">引用的条文</span>' if hit else ""
        parts.append(f'<div class="{cls}">{label}<div class="qa-article-loc">{_esc(c.locator)}</div>'
                     f'<div class="qa-article-text">{body}</div></div>')  # fmt: skip
    parts.append("</div>")
    return _one_line("".join(parts))
