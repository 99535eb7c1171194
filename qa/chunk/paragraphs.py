"""Rejoin lines that the gazette layout broke in the middle of a sentence."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from qa.chunk.outline import detect
from qa.models import Line
from qa.text import DATE_LINE, PUBLIC_MARK, TITLE_WORDS, tidy

_ENDS_OPEN = re.compile(r"[^。！？；：:!?;）)”」』|\]】]$")
_INNER_PUNCT = re.compile(r"[。，、；：,;:]")
_BODY_PUNCT = re.compile(r"[。，,]")


@dataclass
class Paragraph:
    lines: list[Line] = field(default_factory=list)

    @property
    def raw(self) -> str:
        # lines rejoined inside a paragraph had no real break: join them without a gap
        return "".join(ln.raw for ln in self.lines)

    @property
    def key(self) -> str:
        return "".join(ln.key for ln in self.lines)

    @property
    def simp(self) -> str:
        return tidy("".join(ln.simp for ln in self.lines))

    @property
    def start(self) -> int:
        return self.lines[0].start

    @property
    def end(self) -> int:
        return self.lines[-1].end

    @property
    def is_table(self) -> bool:
        return self.lines[0].is_table

    def offset_of(self, pos: int) -> int:
        """File offset of character `pos` of `raw`."""
        for ln in self.lines:
            if pos <= len(ln.raw):
                return ln.start + pos
            pos -= len(ln.raw)
        return self.lines[-1].end


def _continues(prev: Line, nxt: Line) -> bool:
    """Is `nxt` the rest of a sentence that `prev` broke off?"""
    if prev.is_table or nxt.is_table or nxt.after_noise:
        return False
    if not _ENDS_OPEN.search(prev.key):
        return False
    if "。" not in prev.key and len(prev.key) <= 30 and detect(prev.key, prev.simp) is not None:
        return False  # 一、指导思想: a heading line, not a broken sentence
    # a line without inner punctuation is a heading, a title or a signature, unless long
    if not _INNER_PUNCT.search(prev.key) and len(prev.key) < 30:
        return False
    if TITLE_WORDS.search(prev.key) and not _BODY_PUNCT.search(prev.key):
        return False
    if detect(nxt.key, nxt.simp) is not None:
        return False
    if DATE_LINE.match(nxt.key) or PUBLIC_MARK.match(nxt.key):
        return False
    return True


def to_paragraphs(lines: list[Line]) -> list[Paragraph]:
    paras: list[Paragraph] = []
    for ln in lines:
        if paras and _continues(paras[-1].lines[-1], ln):
            paras[-1].lines.append(ln)
        else:
            paras.append(Paragraph([ln]))
    return paras
