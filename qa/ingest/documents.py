"""Find the documents inside a gazette file and read their metadata.

A document starts at its header: optional issuer line(s) and title line(s)
followed by a 发文字号 line (招政发〔2022〕8号) or a 令 number (青岛市人民政府令 /
第279号). Documents run until the next header. A file without any header is
one document.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

from qa import data
from qa.ingest.lines import Line, compact
from qa.text import CN_DIGITS, cn_number  # noqa: F401  (cn_number: used by qa.ingest.validity too)
from qa.text import DATE_LINE, PUBLIC_MARK, TITLE_WORDS  # in qa.text: qa.chunk matches them without qa.ingest

# --- patterns on Line.key (simplified, no whitespace) -------------------------------------------

DOC_NUMBER = re.compile(r"^[\u4e00-\u9fff]{1,12}[〔\[［(（]\s*(?:19|20)\d{2}\s*[〕\]］)）]\s*\d{1,4}\s*号$")
ORDER_HEAD = re.compile(r"^[\u4e00-\u9fff]{2,20}人民政府令$")
ORDER_NO = re.compile(r"^第\d{1,4}号$")
CN_DATE_LINE = re.compile(r"^([〇零一二三四五六七八九]{4})年([一二三四五六七八九十]{1,3})月([一二三四五六七八九十]{1,3})日$")
ISSUER_END = re.compile(
    r"(人民政府|办公室|办公厅|委员会|管委会|管理委员会|指挥部|领导小组|[^关于]{1,12}局|政府|党委|工委|司法局|统计局|法院|检察院)$"
)
HEADING_START = re.compile(
    r"^(第[一二三四五六七八九十百零〇\d]+[编章节条项]|[一二三四五六七八九十]+、|[（(][一二三四五六七八九十\d]+[）)]|\d{1,2}[.．、])"
)
SENTENCE_END = re.compile(r"[。；：:，,！？!?]$")

def _region_rules() -> list[tuple[re.Pattern[str], str]]:
    from qa import data

    return [(re.compile(r["pattern"]), r["region"]) for r in data.load("regions.toml")["rules"]]


REGIONS = _region_rules()  # (pattern in issuer/title/number, region name), most specific first
# an issuer that names its own region: 潍坊市寒亭区人民政府, 招远市人民政府办公室, 某某县人民政府
_ISSUER_REGION = re.compile(
    r"^((?:[\u4e00-\u9fff]{2,4}?[省])?(?:[\u4e00-\u9fff]{2,4}?市)?(?:[\u4e00-\u9fff]{2,4}?[区县])?)"
    r"(?:人民政府|政府办公室|人民代表大会)"
)



def iso_date(y: int, m: int, d: int) -> str | None:
    try:
        return date(y, m, d).isoformat()
    except ValueError:
        return None


def parse_date_line(key: str) -> str | None:
    m = DATE_LINE.match(key)
    if m:
        return iso_date(int(m[1]), int(m[2]), int(m[3]))
    m = CN_DATE_LINE.match(key)
    if m:
        y = int("".join(str(CN_DIGITS[c]) for c in m[1]))
        return iso_date(y, cn_number(m[2]), cn_number(m[3]))
    return None


def normalize_number(key: str) -> str:
    s = compact(key).replace("號", "号")
    return re.sub(r"[\[［(（](\d{4})[\]］)）]", r"〔\1〕", s)


def region_of(*texts: str | None) -> str | None:
    """The region of a document from its issuer, title and 发文字号: a rule of qa/data/regions.toml,
    else the region its issuer names; None when neither says."""
    for text in texts:
        if not text:
            continue
        for pattern, name in REGIONS:
            if pattern.search(text):
                return name
    for text in texts:
        m = _ISSUER_REGION.match(compact(text or ""))
        if m and len(m.group(1)) >= 3:
            return m.group(1)
    return None


# --- records ----------------------------------------------------------------------------------


@dataclass
class RawDocument:
    """A document's lines and header facts, before chunking."""

    header: list[Line]  # issuer/title/number lines
    body: list[Line]
    number: str | None = None
    issuer: str | None = None
    header_title: str | None = None
    header_date: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def lines(self) -> list[Line]:
        return self.header + self.body


def _is_title_line(ln: Line) -> bool:
    k = ln.key
    return (
        len(k) <= 70
        and not SENTENCE_END.search(k)
        and not ln.is_table
        and not DATE_LINE.match(k)
        and not PUBLIC_MARK.match(k)
        and not HEADING_START.match(k)
        and not DOC_NUMBER.match(k)
    )


def _header_before(lines: list[Line], anchor: int, floor: int) -> int:
    """Index of the first header line above an anchor (issuer and title lines)."""
    i = anchor
    # a parenthesised date may sit between title and number: （2020年9月20日）
    if i - 1 >= floor and DATE_LINE.match(lines[i - 1].key) and lines[i - 1].key.startswith(("(", "（")):
        i -= 1
    taken = 0
    while i - 1 >= floor and taken < 4 and _is_title_line(lines[i - 1]) and not lines[i - 1].noise:
        i -= 1
        taken += 1
    # Trim lines at the top that belong to the previous document (name lists, links, serial
    # numbers): a header starts with an issuer line or a title line.
    while i < anchor and not DATE_LINE.match(lines[i].key):
        k = lines[i].key
        pre = k.partition("关于")[0]
        if TITLE_WORDS.search(k) or ISSUER_END.search(k) or (pre and ISSUER_END.search(pre)):
            break
        i += 1
    return i


def find_anchors(lines: list[Line]) -> list[tuple[int, int]]:
    """(header start, anchor line) for each document header in the file."""
    anchors: list[tuple[int, int]] = []
    floor = 0
    i = 0
    while i < len(lines):
        k = lines[i].key
        if lines[i].noise:
            i += 1
            continue
        anchor = None
        if DOC_NUMBER.match(k):
            anchor = i
        elif ORDER_HEAD.match(k) and i + 1 < len(lines) and ORDER_NO.match(lines[i + 1].key):
            anchor = i
        if anchor is not None:
            start = _header_before(lines, anchor, floor) if not ORDER_HEAD.match(k) else anchor
            anchors.append((start, anchor))
            floor = anchor + 1
            i = anchor + (2 if ORDER_HEAD.match(k) else 1)
            continue
        i += 1
    return anchors


def _split_issuer_title(texts: list[str]) -> tuple[str | None, str | None]:
    """['招远市人民政府 关于印发《…》的通知'] → ('招远市人民政府', '关于印发《…》的通知')."""
    issuer_parts: list[str] = []
    title_parts: list[str] = []
    for t in texts:
        key = compact(t)
        if not title_parts and "关于" in key and not key.startswith("关于"):
            pre, _, post = key.partition("关于")
            if ISSUER_END.search(pre):
                issuer_parts.append(pre)
                title_parts.append("关于" + post)
                continue
        if not title_parts and ISSUER_END.search(key) and not TITLE_WORDS.search(key):
            issuer_parts.append(t.strip())
        else:
            title_parts.append(key)
    issuer = " ".join(issuer_parts) or None
    title = "".join(title_parts) or None
    return issuer, title


def segment(lines: list[Line]) -> list[RawDocument]:
    """Cut a file's lines into documents."""
    content = [ln for ln in lines]
    anchors = find_anchors(content)
    if not anchors:
        return [_headless_document([ln for ln in content if not ln.noise])]
    docs: list[RawDocument] = []
    # text before the first header that is not noise becomes its own document
    lead = [ln for ln in content[: anchors[0][0]] if not ln.noise]
    if lead and sum(len(ln.key) for ln in lead) > 80:
        docs.append(_headless_document(lead))
    for n, (start, anchor) in enumerate(anchors):
        stop = anchors[n + 1][0] if n + 1 < len(anchors) else len(content)
        header_lines = content[start:anchor]
        k = content[anchor].key
        if ORDER_HEAD.match(k):
            number = normalize_number(k + content[anchor + 1].key)
            header = content[anchor : anchor + 2]
            issuer = k[: -1]  # 青岛市人民政府令 → 青岛市人民政府
            title = None
            body_from = anchor + 2
        else:
            number = normalize_number(k)
            header = content[start : anchor + 1]
            issuer, title = _split_issuer_title([ln.simp for ln in header_lines if not DATE_LINE.match(ln.key)])
            body_from = anchor + 1
        header_date = next((parse_date_line(ln.key) for ln in header_lines if DATE_LINE.match(ln.key)), None)
        # a gazette prints other items after a document (近期市政府任免的工作人员名单): such an item is
        # a document of its own, not part of the last article before it
        end = next((i for i in range(body_from, stop) if _appended_item(content[i])), stop)
        body = [ln for ln in content[body_from:end] if not ln.noise]
        docs.append(
            RawDocument(
                header=header,
                body=body,
                number=number,
                issuer=issuer,
                header_title=title,
                header_date=header_date,
            )
        )
        if end < stop:
            docs.append(_headless_document([ln for ln in content[end:stop] if not ln.noise]))
    return docs


@lru_cache(maxsize=1)
def _appended_titles() -> re.Pattern[str]:
    return re.compile("|".join(map(re.escape, data.load("sections.toml")["appended"]["titles"])))


def _appended_item(ln: Line) -> bool:
    """The title line of another gazette item printed after a document (qa/data/sections.toml [appended])."""
    return _is_title_line(ln) and not ln.noise and bool(_appended_titles().search(ln.key))


def _headless_document(lines: list[Line]) -> RawDocument:
    """A document with no 发文字号: take issuer and title from its first lines."""
    header: list[Line] = []
    for ln in lines[:4]:
        if _is_title_line(ln):
            header.append(ln)
            if TITLE_WORDS.search(ln.key) and not ISSUER_END.search(ln.key):
                break
        else:
            break
    if not any(TITLE_WORDS.search(ln.key) for ln in header):
        header = []
    issuer, title = _split_issuer_title([ln.simp for ln in header])
    return RawDocument(header=header, body=lines[len(header) :], issuer=issuer, header_title=title)


def doc_id_for(source_file: str, number: str | None, title: str, start: int) -> str:
    basis = f"{source_file}|{number or ''}|{title if not number else ''}"
    if not number and not title:
        basis += f"|{start}"
    return hashlib.sha1(basis.encode("utf-8")).hexdigest()[:12]
