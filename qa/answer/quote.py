"""An article as it is quoted in an answer: whole when short, else a clearly marked excerpt.

The article is the unit of citation. Its text loses only what is not its own: the parent
headings the chunk repeats at its top (三、推进措施 / （一）强化招商引资), list bullets and
markdown emphasis of the gazette text, and source text that would look like a citation marker
([2018] in a 发文字号 is shown as 〔2018〕, so every [n] in an answer is a citation).
"""

from __future__ import annotations

import re

from qa import data
from qa.answer.citations import defuse_markers
from qa.chunk.outline import detect, split_number
from qa.models import Chunk, Document
from qa.text import ANY_DATE_LINE, compact, tidy, to_simplified

_BULLET = re.compile(r"^\s*(?:[-*•·]\s+|\*\*)")
_LIST_ITEM = re.compile(r"^\s*[-*•·]\s+")
_EMPHASIS = re.compile(r"\*\*|__")
_END = re.compile(r"[。；！？!?;：:”」）)]$")
GAP = "……"
_HEADER_DATE = re.compile(r"^[（(]?\d{4}年\d{1,2}月\d{1,2}日[）)]?$")
_ADDRESSEE = re.compile(r"^各[\u4e00-\u9fff、，,（）()]{2,120}[:：]$")
_TAB_CELLS = re.compile(r"[ \u3000]*\t[\t \u3000]*")  # a table's cells as printed: read apart, not glued
_RULE = re.compile(r"[|:：\s]*[-—=_]{3,}[-—=_|:：\s]*")  # not a cell's "—" (no value)
_RECEIVER = re.compile(r"^[\u4e00-\u9fff、（）()]{2,30}[:：]$")  # under the header: 区政府有关部门：


def _header_key(document: Document | None) -> str:
    if document is None:
        return ""
    d = document
    # as printed in a head, also the issuer before the title ("青岛市人民政府关于向…的通知")
    return compact(to_simplified("".join(x or "" for x in (d.notice_title, d.title, d.number, d.issuer)) + "|" + "|".join(
        (d.issuer or "") + x for x in (d.notice_title, d.title) if x and d.issuer)))


def _is_header(line: str, key: str) -> bool:
    """A printed header line of the document (its issuer, title, 发文字号 or date), which the
    answer names in its own words before the quote."""
    k = compact(to_simplified(line))
    return bool(key) and (k in key or bool(_HEADER_DATE.match(k)))


def _bare(raw: str) -> str:
    """A source line as quoted: bullet and emphasis gone, a table's tab-printed cells read apart
    ("…面积\t≥ 30 平方米\t约束性" → "…面积，≥ 30 平方米，约束性")."""
    return _TAB_CELLS.sub("，", _EMPHASIS.sub("", _BULLET.sub("", raw)).strip())


def article_lines(chunk: Chunk, document: Document | None = None, items: set[str] | None = None) -> list[str]:
    """The article's own lines: the document's header and parent headings dropped, bullets and
    emphasis removed. `items`, when given, receives the lines that were list items ("- 王志乐 …") or a
    table's rows (cells apart by tabs)."""
    parents = {compact(to_simplified(h)) for h in chunk.heading_path[:-1]}
    key = _header_key(document)
    lines: list[str] = []
    headed = False  # the document's header was just dropped
    for raw in chunk.text.splitlines():
        line = _bare(raw)
        if items is not None and (_LIST_ITEM.match(raw) or "\t" in raw) and line:  # a list item or a table's row
            items.add(tidy(line))
        if not line or _RULE.fullmatch(line):
            continue  # nothing, or a table's rule ("-----------", "|---|---|")
        if not lines and (compact(to_simplified(line)) in parents or _is_header(line, key)):
            headed = headed or _is_header(line, key)
            continue  # a heading of the section above, or the document's header, at the top
        if _ADDRESSEE.match(compact(line)) or (headed and not lines and _RECEIVER.match(compact(line))):
            continue  # 各镇人民政府，各街道办事处…： / 区政府有关部门： says who receives it, not what it says
        lines.append(tidy(line))
    while lines and _signature_line(lines[-1], key):
        lines.pop()  # the signature, publication note or web-page widget after the last article
    return lines


_ORGAN = re.compile(r"^[\u4e00-\u9fff（）()]{2,30}(?:人民政府|办公室|委员会|管委会|办事处|局|指挥部|小组)$")


_ATTACHMENTS = re.compile(r"^附件\d*[:：]")  # a notice's list of its attachments, above the signature


def _signature_line(line: str, key: str) -> bool:
    k = compact(to_simplified(line))
    if _is_header(line, key) or _ORGAN.match(k) or ANY_DATE_LINE.match(k) or _ATTACHMENTS.match(k):
        return True
    words = data.load("sections.toml").get("signature", {}).get("words", [])
    # a widget's text is broken over short lines ("朗读,老年人用户单击按钮即可对当前"): match the compacted run
    return any(w in k for w in words) or (len(k) <= 20 and "朗读" in k)


_CELL = re.compile(r"^(.*?)\s*\|$")  # a table cell as PDF extraction flattens it: "区发改局 |"


def _numbered_rows(lines: list[str]) -> str | None:
    """A table flattened into one "cell |" line per cell, its rows numbered 1, 2, 3 … ("序号 | 事项 |
    承办单位 | 1 | …方案 | 区发改局 | 2 | …"): the lines before it, then "1. …方案，区发改局；2. …";
    None when the cells do not fall into numbered rows of one width."""
    cells = [m.group(1) for m in map(_CELL.match, lines) if m]
    if len(cells) < 0.6 * len(lines) or "1" not in cells:
        return None
    first = cells.index("1")
    width = cells.index("2", first) - first if "2" in cells[first:] else 0
    if width < 2 or first < width:  # no header of the rows' width above them
        return None
    rows = [cells[i : i + width] for i in range(first, len(cells), width)]
    if any(r[0] != str(n) for n, r in enumerate(rows, 1)):
        return None
    lead = [x for x in lines if not _CELL.match(x)]
    head = "、".join(c for c in cells[first - width : first] if c)
    body = "；".join(f"{r[0]}. " + "，".join(c for c in r[1:] if c) for r in rows)
    return "".join(x + ("" if _END.search(x) else "：") for x in lead) + f"（{head}）{body}。"


_LABEL_CELL = re.compile(r"([：:])，")
_CELL_BARS = re.compile(r"\s*\|(?:\s*\|)*\s*")
_EDGE_BARS = re.compile(r"^(?:\s*\|)+\s*|\s*(?:\|\s*)+$|^\s+|\s+$")


def uncell(text: str) -> str:
    """A flattened table's cell marks read as punctuation: "工作要求 | 责任单位 | |" → "工作要求，责任单位";
    a cell's own closing "|" and a line of bars alone go ("|：||：" is no answer text)."""
    return _LABEL_CELL.sub(r"\1", _CELL_BARS.sub("，", _EDGE_BARS.sub("", text)))  # "组长： | 刘伟" → "组长：刘伟"


WRAP_MIN_CHARS = 16  # a shorter line without an end mark may be a heading ("政策原文")
_NUMBERED = re.compile(r"^(?:[（(]?[一二三四五六七八九十百\d]{1,3}\s*[)）、.．]|第[一二三四五六七八九十百\d]{1,4}[条章节])")
_LABELLED = re.compile(r"^.{1,8}[：:]")  # "副组长：…", "要求：…": a line of its own
_WORD_TAIL = re.compile(r"[\u4e00-\u9fff][。，,；;、]")  # "展。推广…": the rest of a word a line broke ("融合发")
_ROSTER_END = re.compile(r"(?:长|主任|书记|委员|干部|总监|经理|主席|巡视员|专员)$")  # "…区红十字会会长" / "马明峰，…"


def broken_word(prev: str, line: str) -> bool:
    """`line` opens with the rest of a word `prev` broke off ("…融合发" / "展。推广…"); not a table's or a roster's
    next entry ("指标 |" / "2025 年", "…中心主任" / "王超，…")."""
    return ("|" not in prev + line and bool(re.search(r"[\u4e00-\u9fff]$", prev)) and bool(_WORD_TAIL.match(line))
            and not _NUMBERED.match(line) and not _ROSTER_END.search(to_simplified(prev)))


def wrapped_mid_sentence(prev: str, line: str) -> bool:
    """`prev` breaks off inside a sentence that `line` goes on with ("…指导和" / "监督,对…"): a long line
    ending in a character, not a numbered heading, and a next line starting with one, not with a label."""
    if "|" in prev + line:
        return False  # a flattened table's cells (a tab-printed table's rows are items: _join keeps them apart)
    sentence = not _NUMBERED.match(prev) or bool(re.search(r"[，,：:].", prev))  # "(十) 市农业农村局: 负责…"
    return (len(prev) >= WRAP_MIN_CHARS and sentence and bool(re.search(r"[\u4e00-\u9fff]$", prev))
            and not _ROSTER_END.search(to_simplified(prev)) and not _NUMBERED.match(line)
            and bool(re.match(r"[\u4e00-\u9fff]", line)) and not _LABELLED.match(line)
            and bool(re.search(r"[，,、；;。]", line)))  # prose goes on; a roster's or table's next entry does not


def _join(lines: list[str], table: bool, items: set[str] | None = None) -> str:
    if table:
        return "\n".join(lines)
    if (rows := _numbered_rows(lines)) is not None:
        return rows
    items = items or set()
    out, prev = "", ""
    for raw in lines:
        line = uncell(raw)
        if not line:
            continue
        if out and prev in items and raw in items and not _END.search(out):
            out += "；"  # one list item after another ("- 王志乐 研究员" / "- 王国华 教授")
        elif out and not _END.search(out) and (line.startswith("的") or broken_word(prev, raw)
                                               or wrapped_mid_sentence(prev, line) and not {prev, raw} & items):
            pass  # "…开设" / "的选（洗）砂场", "…指导和" / "监督,对…", "…融合发" / "展。推广…": one sentence wrapped
        elif out and not _END.search(out):
            out += "："if len(out) < 40 and not re.search(r"[，,。]", out) else "，"
        out += line
        prev = raw
    return out


def _without_prefix(text: str, prefix: str, marks: str) -> str:
    """`text` without `prefix` (simplified; the text may be printed in traditional characters) and the marks after it."""
    if to_simplified(text).startswith(prefix):
        return text[len(prefix) :].lstrip(marks)
    return text


_ITEM_NUMBERS = {"L1", "L2", "L3", "L4"}  # 三、 （二） 5. （1）: an item's own number (a 第…条 goes with the whole locator)


def strip_locator(text: str, locator: str) -> str:
    """"第六条 …" after an intro that already says 第六条 reads twice: drop the repeat; so for an item's
    own number ("五、（三）规定：（三）开展集中征缴…" → "五、（三）规定：开展集中征缴…"), read as the chunker
    reads it (qa.chunk.outline.detect: "(三)" is （三）, "4．" and "4、" are 4.; "2.5万元" is no number)."""
    if locator.startswith("第"):
        text = _without_prefix(text, locator, " ，,：:")
    number, rest = split_number(text.lstrip())
    marker = detect(number, number) if number else None
    if marker is None or marker.type not in _ITEM_NUMBERS or not locator.endswith(marker.label):
        return text
    return rest.lstrip(" 　:：，,") or text


def strip_heading(text: str, heading: str) -> str:
    """A section quoted under a label that names it, without its heading ("（二）主要目标。到2017年…" → "到2017年…")."""
    return _without_prefix(text, to_simplified(heading), " ：:，,。.；;")


def whole(chunk: Chunk, document: Document | None = None) -> str:
    """The whole article, ready to quote."""
    items: set[str] = set()
    lines = article_lines(chunk, document, items)
    return defuse_markers(_join(lines, chunk.kind == "table", items))


_LEAD = re.compile(r"^.{2,60}?[：:。；;]")


def lead(full: str, own: str) -> tuple[str, str]:
    """(shown, verbatim) an item's lead ("（一）整合调整周村区卫生和计划生育综合执法大队："): what
    names the item in a list answer, followed by …… when the item goes on; the item whole when
    it has no short lead. `full` and `own`: the item as quoted (`whole`) and verbatim (`own_text`)."""
    m = _LEAD.match(full)
    if m is None or len(m.group(0)) >= len(full) - 1:
        return full, own
    head = m.group(0)
    return head.rstrip("：:；;") + GAP, (head if head in own else own)  # the citation quotes it verbatim


SECTION_TITLE_MAX = 20  # a longer heading is a sentence of its own, not a section's name


def section_title(chunk: Chunk, shown: str, depth: int = 2) -> str:
    """The names of the sections an article sits in (the nearest `depth`, outermost first) when the
    quote does not show them: under "二、职责分工 / （十）水务管理部门", item "2. 负责所管辖大中型
    水库的安全监管…" is that department's duty, which the locator 二、（十）2. alone does not say."""
    seen = compact(to_simplified(shown))
    names: list[str] = []
    for heading in reversed(chunk.heading_path[1:]):  # the nearest first; never the document's title
        name = split_number(compact(_EMPHASIS.sub("", heading)))[1].strip("、。.．:：")
        if not name:
            continue  # a bare number ("2.")
        if compact(to_simplified(name)) in seen or len(name) > SECTION_TITLE_MAX or len(names) == depth:
            break  # the quote says where it is from here up; a long heading is a sentence
        names.append(name)
    return "·".join(reversed(names))


def own_text(chunk: Chunk) -> str:
    """The article's text verbatim from the source, without the parent headings at its top: what a
    citation of the whole article quotes."""
    parents = {compact(to_simplified(h)) for h in chunk.heading_path[:-1]}
    lines = chunk.text.split("\n")
    while lines and (not lines[0].strip() or compact(to_simplified(_BULLET.sub("", lines[0]))) in parents):
        lines.pop(0)
    return "\n".join(lines).strip() or chunk.text.strip()


def verbatim_quote(passage: str, picked: list[str]) -> str:
    """The picked sentences as they stand in the passage: neighbours as one stretch, gaps as ……"""
    spans = sorted((i, i + len(s)) for s in picked if (i := passage.find(s)) >= 0)
    runs: list[list[int]] = []
    for a, b in spans:
        if runs and not passage[runs[-1][1] : a].strip():
            runs[-1][1] = max(runs[-1][1], b)
        elif runs and a < runs[-1][1]:
            runs[-1][1] = max(runs[-1][1], b)
        else:
            runs.append([a, b])
    return GAP.join(passage[a:b] for a, b in runs)


def excerpt(chunk: Chunk, keep: list[str], budget: int, document: Document | None = None) -> tuple[str, list[str]]:
    """The sentences `keep` (verbatim, from the article) in article order, with …… for what lies
    between and around them; at most `budget` characters unless one sentence alone is longer.
    Returns the rendered excerpt and the source sentences it shows."""
    text = whole(chunk, document)
    spans: list[tuple[int, int]] = []
    shown: list[str] = []
    used = 0
    for raw in keep:
        s = uncell(defuse_markers(tidy(_bare(raw))))  # as `whole` shows it, or it is not found there
        i = text.find(s) if s else -1
        if i < 0 or any(a <= i < b for a, b in spans):
            continue
        if spans and used + len(s) > budget:
            continue
        spans.append((i, i + len(s)))
        shown.append(raw)
        used += len(s)
    if not spans:
        return text[:budget] + (GAP if len(text) > budget else ""), []
    spans.sort()
    out = GAP if spans[0][0] > 0 else ""
    for n, (a, b) in enumerate(spans):
        if n and a > spans[n - 1][1] and text[spans[n - 1][1] : a].strip():
            out += GAP
        out += text[a:b]
    if spans[-1][1] < len(text.rstrip()):
        out = out.rstrip("，,；;") + GAP
    return out, shown
