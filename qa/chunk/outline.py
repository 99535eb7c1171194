"""Recognise the numbering of articles and outline items at the start of a paragraph."""

from __future__ import annotations

import re
from dataclasses import dataclass

_NUM = r"[一二三四五六七八九十百零〇两\d]+"

# (type, pattern on the paragraph key); order matters: first match wins.
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("编", re.compile(rf"^第({_NUM})编")),
    ("章", re.compile(rf"^第({_NUM})章")),
    ("节", re.compile(rf"^第({_NUM})节")),
    # not a reference to an article's part or words (第八条第二款, 第八条规定, 第八条之一);
    # "第八条 项目建设单位…" opens an article
    ("条", re.compile(rf"^第({_NUM})条(?![第款的规之中]|项(?!目))")),
    ("项", re.compile(r"^第(\d{1,3}|[一二三四五六七八九十]+)项$")),
    ("L1", re.compile(r"^([一二三四五六七八九十]{1,3})、")),
    ("L2", re.compile(r"^[（(]([一二三四五六七八九十]{1,3})[）)]")),
    ("dec", re.compile(r"^(\d{1,2}(?:\.\d{1,2}){1,3})(?![\d%％万亿元千百个条.．])")),
    ("L3", re.compile(r"^(\d{1,2})[.．、](?![\d%％])")),
    ("L4", re.compile(r"^[（(](\d{1,2})[）)]")),
    ("L5", re.compile(r"^([①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳])")),
]
_DEC1 = re.compile(r"^(\d{1,2})\s+(?=[\u4e00-\u9fff])")

# Types that start a new chunk; deeper items stay inside their parent's chunk.
UNIT_TYPES = {"编", "章", "节", "条", "项", "L1", "L2", "L3", "dec1", "dec2", "dec3", "dec4"}


@dataclass(frozen=True)
class Marker:
    type: str  # 条, L1, L2, dec2 …
    label: str  # canonical: 第十四条, 三、, （一）, 10., （1）, ①, 第1项, 1.2


def detect(key: str, simp: str) -> Marker | None:
    """The marker at the start of a paragraph (key = no-space form, simp = spaced form)."""
    for typ, pattern in _PATTERNS:
        m = pattern.match(key)
        if not m:
            continue
        n = m.group(1)
        if typ in ("编", "章", "节", "条"):
            return Marker(typ, f"第{n}{typ}")
        if typ == "项":
            return Marker(typ, f"第{n}项")
        if typ == "L1":
            return Marker(typ, f"{n}、")
        if typ == "L2":
            return Marker(typ, f"（{n}）")
        if typ == "dec":
            return Marker(f"dec{n.count('.') + 1}", n)
        if typ == "L3":
            return Marker(typ, f"{n}.")
        if typ == "L4":
            return Marker(typ, f"（{n}）")
        return Marker(typ, n)
    m = _DEC1.match(simp)
    if m and len(key) <= 24 and "。" not in key:
        return Marker("dec1", m.group(1))
    return None


def split_number(key: str) -> tuple[str, str]:
    """(the numbering at the start of a heading, the rest): "（三）规范招生秩序" → ("（三）", "规范招生秩序");
    ("", key) when it is not numbered."""
    for _, pattern in _PATTERNS:
        if m := pattern.match(key):
            return m.group(0), key[m.end() :]
    return "", key


def heading_text(marker: Marker, key: str) -> str:
    """What the heading path shows for an item: its short title, or just its label."""
    if marker.type == "条":
        return marker.label
    head = key.split("。", 1)[0]
    if len(head) <= 30:
        return head
    return marker.label
