"""Split decoded text into lines with offsets, in simplified form, and mark layout noise.

Structure detection runs on the simplified, space-free form of each line
(第十一條 → 第十一条) while the original line is kept for display and quoting.
"""

from __future__ import annotations

import re

from qa.models import Line  # in qa.models: qa.chunk reads lines without importing qa.ingest
from qa.text import compact, tidy, to_simplified  # noqa: F401  (re-exported for the ingest stage)


def split_lines(text: str) -> list[Line]:
    """Non-blank lines with offsets; blank lines carry no content."""
    out: list[Line] = []
    pos = 0
    for physical in text.split("\n"):
        stripped = physical.strip()
        if stripped:
            lead = len(physical) - len(physical.lstrip())
            start = pos + lead
            simp = to_simplified(stripped)
            out.append(
                Line(
                    start=start,
                    end=start + len(stripped),
                    raw=stripped,
                    simp=tidy(simp) if "\t" not in simp and "|" not in simp else simp,
                    key=compact(simp),
                    traditional=simp != stripped,
                )
            )
        pos += len(physical) + 1
    return out


# A table-of-contents entry ends in a dot leader and/or a page number after a tab.
_LEADER = re.compile(r"(·{3,}|…{2,}|\.{5,}|－{3,}|-{5,})")
_TOC_PAGE = re.compile(r"\t\s*\d{1,3}\s*$")
_TOC_HEAD = re.compile(r"^目录$")
_TOC_LABEL = re.compile(r"^(【.{2,20}】|.{0,12}文件[：:]?)$")
_MASTHEAD = re.compile(r"(公报|政府公报)$|^第\d+[期号]$|主办$|出版$|^\d{4}年第\d+[期号]$|^[〇零一二三四五六七八九十]{4}年.{1,4}月.{1,4}日出版$")
_PAGE_NO = re.compile(r"^[-—－]\s*\d{1,3}\s*[-—－]$")


def mark_noise(lines: list[Line]) -> None:
    """Mark tables of contents, gazette mastheads and page numbers, in place."""
    i = 0
    n = len(lines)
    while i < n:
        ln = lines[i]
        if _PAGE_NO.match(ln.key) or (_LEADER.search(ln.raw) and "|" not in ln.raw):
            ln.noise = True
        elif _TOC_HEAD.match(ln.key):
            # the block of entries under 目录: entries, category labels, wrapped entries
            ln.noise = True
            j = i + 1
            while j < n:
                cur = lines[j]
                nxt = lines[j + 1] if j + 1 < n else None
                is_entry = bool(_LEADER.search(cur.raw) or _TOC_PAGE.search(cur.raw))
                wrapped = (
                    nxt is not None
                    and len(cur.key) < 60
                    and not cur.key.endswith("。")
                    and bool(_LEADER.search(nxt.raw) or _TOC_PAGE.search(nxt.raw))
                )
                if is_entry or wrapped or _TOC_LABEL.match(cur.key):
                    cur.noise = True
                    j += 1
                else:
                    break
            i = j
            continue
        i += 1
    # The masthead sits before the first document; only look at the head of the file.
    for ln in lines[:12]:
        if _MASTHEAD.search(ln.key):
            ln.noise = True
    # text on either side of a dropped line is not one sentence broken by the layout
    for prev, ln in zip(lines, lines[1:]):
        ln.after_noise = prev.noise and not ln.noise
