"""Page layout → the lines the gazette parser reads.

PDF, OFD and OCR give positioned text lines per page. Here the page furniture is removed
(page numbers such as "— 3 —", "- 3 -", "第3页", running headers/footers repeated on most pages),
lines broken at the page width are re-joined (also across a page break), and an official
document's own header — the red masthead "×××人民政府办公室文件", then the 发文字号, then the
title — is rewritten in the order of a gazette header (issuer, title, 发文字号) that
qa.ingest.documents segments on.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field

from qa.ingest.lines import compact

PAGE_NUMBER = re.compile(
    r"^[-—－–―_~·\s]*(?:第\s*)?\d{1,4}(?:\s*页)?(?:\s*[/／]\s*\d{1,4}|\s*共\s*\d{1,4}\s*页)?[-—－–―_~·\s]*$"
)
_SENTENCE_END = re.compile(r"[。！？；：:!?;）)”」』]$")
_LATIN_END = re.compile(r"[A-Za-z]$")
_LATIN_START = re.compile(r"^[A-Za-z]")


@dataclass
class PLine:
    """One text line on a page (PDF points or OFD millimetres: only ratios matter)."""

    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    size: float = 0.0  # font size
    red: bool = False
    table: bool = False  # a table row (cells separated by tabs): never joined


@dataclass
class Page:
    width: float
    height: float
    lines: list[PLine] = field(default_factory=list)


def _furniture_key(text: str) -> str:
    return re.sub(r"\d+", "#", compact(text))


def strip_furniture(pages: list[Page], zone: float = 0.12) -> list[list[PLine]]:
    """Body lines per page, without page numbers and running headers/footers."""
    candidates: dict[str, int] = {}
    for p in pages:
        seen: set[str] = set()
        for ln in p.lines:
            if ln.top < p.height * zone or ln.bottom > p.height * (1 - zone):
                k = _furniture_key(ln.text)
                if k and k not in seen:
                    seen.add(k)
                    candidates[k] = candidates.get(k, 0) + 1
    n = len(pages)
    repeated = {k for k, c in candidates.items() if n >= 2 and c >= max(2, (n + 1) // 2)}
    out: list[list[PLine]] = []
    for p in pages:
        body = []
        for ln in p.lines:
            in_zone = ln.top < p.height * zone or ln.bottom > p.height * (1 - zone)
            if in_zone and (PAGE_NUMBER.match(ln.text.strip()) or _furniture_key(ln.text) in repeated):
                continue
            body.append(ln)
        out.append(body)
    return out


def _join(a: str, b: str) -> str:
    a, b = a.rstrip(), b.lstrip()
    return a + (" " if _LATIN_END.search(a) and _LATIN_START.search(b) else "") + b


def reflow(pages: list[Page]) -> list[PLine]:
    """Body lines of all pages with wrapped lines joined into paragraphs."""
    bodies = strip_furniture(pages)
    out: list[PLine] = []
    prev_full = False  # the last line reached the right margin of its page
    for body in bodies:
        text_lines = [ln for ln in body if not ln.table]
        if not text_lines:
            out.extend(body)
            prev_full = False
            continue
        size = statistics.median([ln.size for ln in text_lines if ln.size] or [10.0])
        left = min(ln.x0 for ln in text_lines)
        right = max(ln.x1 for ln in text_lines)
        for ln in body:
            if ln.table:
                out.append(ln)
                prev_full = False
                continue
            starts_at_margin = ln.x0 <= left + 0.6 * size
            if out and prev_full and starts_at_margin and not out[-1].table:
                last = out[-1]
                out[-1] = PLine(_join(last.text, ln.text), last.x0, ln.x1, last.top, ln.bottom, last.size, last.red and ln.red)
            else:
                out.append(ln)
            # full: reaches the right margin (a paragraph's next line then starts at the left margin;
            # a new paragraph is indented, a title centred)
            prev_full = ln.x1 >= right - 1.2 * size
    return out


def normalize_header(lines: list[str], red: set[int] | None = None) -> list[str]:
    """Rewrite an official document's header into gazette order.

    ×××人民政府办公室文件   (red masthead)          ×××人民政府办公室
    ×政办发〔2022〕5号  签发人：…           →     关于…的通知
    关于…的通知                                    ×政办发〔2022〕5号
    各镇人民政府…：                                 各镇人民政府…：
    """
    from qa.ingest.documents import DOC_NUMBER, ISSUER_END, SENTENCE_END, TITLE_WORDS

    red = red or set()
    content = [(i, compact(t)) for i, t in enumerate(lines) if compact(t)]
    head = content[:10]
    num_at = None
    for pos, (i, k) in enumerate(head):
        k2 = re.sub(r"签发人[:：].*$", "", k)
        if DOC_NUMBER.match(k2):
            num_at = pos
            break
    if num_at is None:
        return lines
    before = head[:num_at]
    # a title above the number: already in gazette order
    if any(TITLE_WORDS.search(k) and not k.endswith("文件") and i not in red for i, k in before):
        return lines
    title: list[tuple[int, str]] = []
    for i, k in head[num_at + 1 :]:
        if len(k) > 70 or SENTENCE_END.search(k) or DOC_NUMBER.match(k):
            break
        title.append((i, k))
        if len(title) == 3:
            break
    if not title or not any(TITLE_WORDS.search(k) for _, k in title):
        return lines
    issuer = None
    for i, k in before:
        m = re.match(r"^(.{2,60}?)(?:文件|文件$)$", k)
        if m and (i in red or ISSUER_END.search(m.group(1))):
            issuer = m.group(1)
    number_index, number_key = head[num_at]
    number = re.sub(r"签发人[:：].*$", "", number_key)
    title_text = "".join(k for _, k in title)
    new_head: list[str] = []
    if issuer and title_text.startswith("关于"):
        new_head.append(issuer)
    new_head += [lines[i].strip() for i, _ in title]
    new_head.append(number)
    used = {i for i, _ in before} | {number_index} | {i for i, _ in title}
    last_used = max(used)
    rest = [ln for j, ln in enumerate(lines) if j > last_used]
    return new_head + rest
