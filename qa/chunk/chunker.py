"""Chunk a document by article: one chunk per 第X条 or outline item, with its heading path.

The walk keeps a stack of open headings. A marker type seen before closes
everything below its previous occurrence; a new type opens one level deeper,
so mixed numbering (一、 （一） 1. （1）, 第X条 inside an outline, 第1项) nests
in whatever order a document uses it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from difflib import SequenceMatcher

from qa.chunk.outline import UNIT_TYPES, Marker, detect, heading_text
from qa.chunk.paragraphs import Paragraph
from qa.chunk.tokens import count_tokens
from qa.text import DATE_LINE, PUBLIC_MARK, compact, to_simplified

CHUNKER_VERSION = "1.8"  # bump when ingestion or chunking output changes: indexes of older versions are rebuilt
# (1.5: the index also embeds every article's sentences, qa.index.sentences; 1.6: "第八条 项目…" opens an
# article, a gazette's appended item is a document of its own; 1.7: an 附件 with its title line is a part of its own
# even when the notice names no document in 《》; 1.8: a table row's label cells are not cut from its content cell
# at a piece boundary)

_SENTENCE = re.compile(r"(?<=[。！？；!?;])")


@dataclass
class Part:
    """An issued document or attachment inside a notice: it restarts the outline."""

    title: str
    index: int  # paragraph index where it starts (its title paragraph)
    title_paras: int = 1
    issued: bool = False  # named by the covering notice (not just an 附件)


@dataclass
class Unit:
    """Paragraphs that make one article, before merging and splitting."""

    part: str | None
    stack: list[tuple[Marker, str]]  # open headings: marker and heading text
    paras: list[Paragraph] = field(default_factory=list)
    kind: str = "article"
    locator: str = ""
    tokens: int = 0

    @property
    def parent(self) -> tuple[str | None, tuple[str, ...]]:
        return self.part, tuple(m.label for m, _ in self.stack[:-1])

    @property
    def marker(self) -> Marker | None:
        return self.stack[-1][0] if self.stack else None


def locator_for(stack: list[tuple[Marker, str]]) -> str:
    """三、（一）2. for outlines; 第十四条 for articles (chapters live in the heading path)."""
    labels = [m for m, _ in stack]
    for i, m in enumerate(labels):
        if m.type in ("条", "项"):
            labels = labels[i:] if m.type == "条" else labels
            break
    labels = [m for m in labels if m.type not in ("编", "章", "节")] or labels[-1:]
    parts: list[str] = []
    for m in labels:
        if parts and m.type.startswith("dec"):
            parts = []  # 2.3 already names its parent 2
        parts.append(m.label)
    return "".join(parts)


def units_of(paras: list[Paragraph], parts: list[Part]) -> list[Unit]:
    """Walk the paragraphs, opening a unit at every article-level marker."""
    starts = {p.index: p for p in parts}
    issuing = any(p.issued for p in parts)  # the text before an issued document is its covering notice
    skip: set[int] = set()
    units: list[Unit] = []
    stack: list[tuple[Marker, str]] = []
    part_title: str | None = None
    pending: list[Paragraph] = []  # headings with no text of their own, prepended to the next unit
    current: Unit | None = None

    def close() -> None:
        nonlocal current
        if current is not None and current.paras:
            units.append(current)
        current = None

    for i, para in enumerate(paras):
        if i in skip:
            continue
        if i in starts:
            close()
            if pending:
                units.append(Unit(part=part_title, stack=list(stack), paras=pending))
                pending = []
            part = starts[i]
            part_title = part.title
            stack = []
            pending = paras[i : i + part.title_paras]
            skip.update(range(i + 1, i + part.title_paras))
            current = None
            continue
        marker = None if para.is_table else detect(para.key, para.simp)
        if marker is None or marker.type not in UNIT_TYPES:
            if current is None:
                kind = "notice" if (issuing and part_title is None) else ("preamble" if stack == [] else "article")
                current = Unit(part=part_title, stack=list(stack), paras=pending, kind=kind)
                pending = []
            current.paras.append(para)
            continue
        close()
        types = [m.type for m, _ in stack]
        if marker.type in types:
            del stack[types.index(marker.type) :]
        stack.append((marker, heading_text(marker, para.simp)))
        heading_only = "。" not in para.key and len(para.key) <= 40 and marker.type != "条"
        if heading_only and i + 1 < len(paras) and _opens_child(paras[i + 1], marker):
            pending.append(para)
            continue
        current = Unit(part=part_title, stack=list(stack), paras=pending + [para])
        pending = []
    close()
    if pending:
        units.append(Unit(part=part_title, stack=list(stack), paras=pending))
    return units


def _opens_child(nxt: Paragraph, marker: Marker) -> bool:
    m = None if nxt.is_table else detect(nxt.key, nxt.simp)
    return m is not None and m.type in UNIT_TYPES and m.type != marker.type


def _label(u: Unit, fallback: str) -> str:
    if u.kind == "notice":
        return "印发通知"
    if not u.stack:
        return fallback
    return locator_for(u.stack)


def _text(paras: list[Paragraph]) -> str:
    return "\n".join(p.raw for p in paras)


def merge_tiny(units: list[Unit], below: int, budget: int) -> list[Unit]:
    """Merge runs of one-line sibling items (1. 2. 3.) into one chunk."""
    out: list[Unit] = []
    for u in units:
        prev = out[-1] if out else None
        if (
            prev is not None
            and u.tokens < below
            and prev.kind == u.kind == "article"
            and prev.parent == u.parent
            and prev.marker is not None
            and u.marker is not None
            and prev.marker.type == u.marker.type
            and (prev.tokens < below or getattr(prev, "_merged", False))
            and prev.tokens + u.tokens <= budget
        ):
            first = prev.locator.split("–")[0]
            prev.paras.extend(u.paras)
            prev.tokens += u.tokens
            prev.locator = f"{first}–{u.marker.label}"
            prev._merged = True  # type: ignore[attr-defined]
            continue
        out.append(u)
    return out


@dataclass
class Piece:
    raw: str
    start: int
    end: int


def _atoms(paras: list[Paragraph]) -> list[tuple[Piece, bool, str | None]]:
    """Sentences (or table rows) with offsets; the flag marks table rows, with their header row."""
    atoms: list[tuple[Piece, bool, str | None]] = []
    header: str | None = None
    for p in paras:
        if p.is_table:
            for ln in p.lines:
                if header is None:
                    header = ln.raw
                if len(ln.raw) > 400:  # a "row" that is really a paragraph: split its sentences
                    pos = 0
                    for sent in _SENTENCE.split(ln.raw):
                        if sent:
                            atoms.append((Piece(sent, ln.start + pos, ln.start + pos + len(sent)), False, None))
                            pos += len(sent)
                    continue
                atoms.append((Piece(ln.raw, ln.start, ln.end), True, header))
            continue
        header = None
        raw = p.raw
        pos = 0
        for sent in _SENTENCE.split(raw):
            if not sent:
                continue
            atoms.append((Piece(sent, p.offset_of(pos), p.offset_of(pos + len(sent))), False, None))
            pos += len(sent)
        # paragraph break: marked by a newline at the start of the next atom's text
        if atoms:
            last = atoms[-1][0]
            atoms[-1] = (Piece(last.raw + "\n", last.start, last.end), False, None)
    return atoms


_LONG_CELL = 60  # characters: a table cell this long is a row's content (its steps, its text), not a label
_CARRIED_CELLS = 2  # at most this many label cells move with the content cell they introduce


def _row_labels(cur: list[tuple[Piece, bool]]) -> int:
    """How many cells at the end of a piece are the labels of the row that goes on in the next piece.

    A PDF table flattened to one cell per line ("城区信息采集 |", "7月29日8:00至8月4日8:00 |", then the
    long cell of steps) must not be cut between a row's short cells and its content, or the date and
    the steps land in different chunks. The first short cell after the last long one may close that
    row (a remarks column), so it stays; up to two after it move on."""
    tail = 0
    for piece, is_row in reversed(cur):
        if not is_row or len(piece.raw.strip()) >= _LONG_CELL:
            break
        tail += 1
    if tail == len(cur) or tail < 2:  # no content cell in this piece, or nothing after its closing cell
        return 0
    return min(tail - 1, _CARRIED_CELLS)


def split_long(text_paras: list[Paragraph], budget: int) -> list[Piece]:
    """Split an over-long article at sentence (or table-row) boundaries."""
    pieces: list[Piece] = []
    cur: list[tuple[Piece, bool]] = []
    cur_tokens = 0
    for atom, is_row, header in _atoms(text_paras):
        t = count_tokens(atom.raw)
        if cur and cur_tokens + t > budget:
            carried = cur[len(cur) - _row_labels(cur):] if is_row and len(atom.raw.strip()) >= _LONG_CELL else []
            pieces.append(_join([p for p, _ in cur[: len(cur) - len(carried)]]))
            cur, cur_tokens = [], 0
            if is_row and header is not None and atom.raw != header:
                # repeat the header row so the rows stay readable; offsets stay the rows' own
                cur.append((Piece(header + "\n", atom.start, atom.start), True))
                cur_tokens = count_tokens(header)
            cur.extend(carried)
            cur_tokens += sum(count_tokens(p.raw) for p, _ in carried)
        cur.append((Piece(atom.raw if not is_row else atom.raw + "\n", atom.start, atom.end), is_row))
        cur_tokens += t
    if cur:
        pieces.append(_join([p for p, _ in cur]))
    return pieces


def _join(pieces: list[Piece]) -> Piece:
    real = [p for p in pieces if p.end > p.start] or pieces
    return Piece("".join(p.raw for p in pieces).strip(), real[0].start, real[-1].end)


def _norm_title(text: str) -> str:
    t = compact(to_simplified(text)).replace("*", "")
    return t.translate(str.maketrans("（）〔〕［］", "()[][]"))


def _title_match(joined: str, wanted: str) -> bool:
    if joined == wanted:
        return True
    if len(joined) >= 6 and (joined.startswith(wanted) and joined[len(wanted) :].startswith("(")):
        return True  # 实施意见 (修订版)
    if len(joined) >= 0.6 * len(wanted) and len(joined) >= 6 and wanted.endswith(joined):
        return True  # the notice names it with a region prefix the title line leaves out
    return len(joined) >= 8 and SequenceMatcher(None, joined, wanted).ratio() >= 0.88


def find_parts(paras: list[Paragraph], candidates: list[str]) -> list[Part]:
    """Where the issued documents / attachments named by the notice begin."""
    parts: list[Part] = []
    wanted = [_norm_title(c) for c in candidates if len(compact(c)) >= 4]
    found: set[str] = set()
    for i, para in enumerate(paras):
        if i == 0 or para.is_table or "。" in para.key or len(para.key) > 80 or len(found) == len(wanted):
            continue
        hit = None
        for span in (4, 3, 2, 1):
            window = paras[i : i + span]
            if len(window) < span or any(
                "。" in p.key or p.is_table or PUBLIC_MARK.match(p.key) or DATE_LINE.match(p.key) for p in window
            ):
                continue
            if any(detect(p.key, p.simp) is not None for p in window[1:]):
                continue  # a heading (1 总则, 第一章) is the document's first line, not its title
            joined = _norm_title("".join(p.key for p in window))
            w = next((w for w in wanted if w not in found and _title_match(joined, w)), None)
            if w is not None:
                hit = (span, w)
                break
        if hit:
            span, w = hit
            title = "".join(p.simp for p in paras[i : i + span]).replace("*", "").replace(" ", "")
            parts.append(Part(title=title, index=i, title_paras=span, issued=True))
            found.add(w)
    # 附件 N followed by a title line: an attachment the notice did not name in 《》
    for i, para in enumerate(paras[:-1]):
        if re.fullmatch(r"附件\d*[：:]?", para.key) and not any(p.index in (i, i + 1) for p in parts):
            nxt = paras[i + 1]
            if not nxt.is_table and "。" not in nxt.key and len(nxt.key) <= 60:
                parts.append(Part(title=nxt.simp.replace(" ", ""), index=i, title_paras=2))
    return sorted(parts, key=lambda p: p.index)


def make_chunks(
    doc_id: str,
    title: str,
    paras: list[Paragraph],
    parts: list[Part],
    max_tokens: int,
    merge_below: int,
) -> list[tuple[Unit, Piece, str, list[str]]]:
    """(unit, piece, locator, heading path) for every chunk of a document, in order."""
    units = units_of(paras, parts)
    attachments = {p.title for p in parts if not p.issued}
    for u in units:
        u.tokens = count_tokens(_text(u.paras))
        u.locator = _label(u, "正文" if len(units) == 1 else "附件" if u.part in attachments else "前言")
    units = merge_tiny(units, merge_below, max_tokens)
    out: list[tuple[Unit, Piece, str, list[str]]] = []
    for u in units:
        path = [title]
        if u.part and compact(u.part) != compact(title):
            path.append(u.part)
        path.extend(h for _, h in u.stack)
        if u.tokens > max_tokens:
            pieces = split_long(u.paras, max_tokens)
        else:
            pieces = [Piece(_text(u.paras), u.paras[0].start, u.paras[-1].end)]
        for piece in pieces:
            out.append((u, piece, u.locator, path))
    return out
