"""Ingestion: files → documents → article chunks, as typed records."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from qa.chunk.chunker import CHUNKER_VERSION, find_parts, make_chunks
from qa.chunk.paragraphs import to_paragraphs
from qa.chunk.tokens import count_tokens
from qa.config import Settings, load_settings
from qa.ingest.documents import (
    DATE_LINE,
    ISSUER_END,
    RawDocument,
    doc_id_for,
    parse_date_line,
    region_of,
    segment,
)
from qa.ingest.formats import read_file
from qa.ingest.lines import compact, mark_noise, split_lines, tidy, to_simplified
from qa.ingest.reader import FileReport, UnreadableFile, expand_paths
from qa.ingest.validity import link_repeals, locate_term, parse_validity
from qa.models import Chunk, Document


@dataclass
class IngestResult:
    documents: list[Document] = field(default_factory=list)
    chunks: list[Chunk] = field(default_factory=list)
    reports: list[FileReport] = field(default_factory=list)
    chunker_version: str = CHUNKER_VERSION


_ISSUED = re.compile(r"《([^《》]{4,80})》")
_PRINTED = re.compile(r"^关于(?:印发|公布|转发|下发)(.{4,80}?)的通知$")


def _issued_titles(raw: RawDocument, notice_title: str | None) -> list[str]:
    """Titles of the documents a notice issues: from 《…》 or 印发…的通知."""
    names: list[str] = []
    if notice_title:
        names += _ISSUED.findall(notice_title)
        m = _PRINTED.match(notice_title)
        if m and not names:
            names.append(m.group(1))
            names += [s for s in re.split(r"和|及", m.group(1)) if len(s) >= 6]
    for ln in raw.body[:4]:
        if re.search(r"印发|公布|发布|现将|已经", ln.key):
            names += _ISSUED.findall(ln.simp.replace(" ", ""))
    seen: list[str] = []
    for n in names:
        if n not in seen:
            seen.append(n)
    return seen


# A document printed without its title line usually says what it is in its opening paragraph:
# "…决定联合举办X。现将有关事项通知如下" / "开展X，特制定本实施方案" / "…X。具体情况如下".
_OPENING_TITLES = (
    (re.compile(r"决定([^。；]{4,80}?)。\s*现将有关事项通知如下"), "关于{0}的通知"),
    (
        re.compile(r"(开展|实施|推进|做好|加强)([^。；:：,，]{2,50}?)[,，]\s*(?:特)?制[定订]本(实施方案|工作方案|方案|办法|细则|意见|计划)"),
        "关于{0}{1}的{2}",
    ),
    (re.compile(r"([^。；:：,，]{4,40})。\s*(?:具体|有关)(?:情况|事项)(?:报告|通知)?如下"), "关于{0}"),
)


def _opening_text(raw: RawDocument, lines: int = 4) -> str:
    return tidy(to_simplified("".join(ln.raw.strip() for ln in raw.body[:lines])))


def _title_from_opening(raw: RawDocument) -> str | None:
    text = _opening_text(raw)
    for pattern, template in _OPENING_TITLES:
        m = pattern.search(text)
        if m:
            return template.format(*(g.strip() for g in m.groups()))
    return None


def _title_from_first_sentence(raw: RawDocument) -> str:
    """Last resort: number + first sentence (after the addressee line), shortened."""
    body = [ln for ln in raw.body if not re.search(r"[：:]$", ln.key)] or raw.body
    sentences = tidy(to_simplified(body[0].raw)).split("。") if body else []
    first = next((s.strip() for s in sentences if s.strip()), "")
    title = (raw.number + " " if raw.number else "") + first[:24] + ("…" if len(first) > 24 else "")
    return title.strip()


@dataclass
class _Title:
    """What a document is called and how that was found."""

    title: str
    notice_title: str | None  # the notice that issues it, with its issuer ("X市人民政府关于印发…的通知")
    parts: list  # the parts the body splits into (qa.chunk.chunker.find_parts)
    named_by_us: bool  # a title made from the text says nothing about the issuing region


def _find_title(raw: RawDocument, paras: list, source_file: str, meta: dict[str, str]) -> _Title:
    """The document's title: the issued document's own when a notice issues exactly one, else the
    header's, else one made from the opening text (or the file name)."""
    header_title = raw.header_title
    notice_title = None
    is_notice = bool(header_title and re.search(r"(印发|公布|转发|下发).*(通知)$", header_title))
    candidates = _issued_titles(raw, header_title)
    # the parts: the documents the notice issues, and any 附件 with its title line (a leading group's list
    # after the signature is no part of the last article)
    parts = find_parts(paras, candidates)
    issuing = parts if candidates else []
    if header_title and (is_notice or issuing):
        head_issuer = raw.issuer or meta.get("issuer")  # a web page's 发布机构 when the header names none
        notice_title = (head_issuer.replace(" ", "") if head_issuer and header_title.startswith("关于") else "") + header_title
    issued = [p for p in parts if p.issued]
    named_by_us = False
    if len(issued) == 1 and (is_notice or not header_title):
        title = issued[0].title
    elif header_title:
        m = _PRINTED.match(header_title)
        title = m.group(1).strip("《》") if (m and issuing) else header_title
    elif issued:
        title = issued[0].title
    else:
        title = _title_from_opening(raw) or _title_from_first_sentence(raw) or source_file
        named_by_us = True
    return _Title(title, notice_title, parts, named_by_us)


_OPENING_DATE = re.compile(r"^(?:19|20)\d{2}年\d{1,2}月\d{1,2}日")


def _signature(raw: RawDocument, meta: dict[str, str]) -> tuple[str | None, str | None]:
    """(date, issuer): the first date line of the body, and the issuer on the line just above it;
    what the file's format says where the text says nothing."""
    date_iso = raw.header_date
    issuer = raw.issuer
    for n, ln in enumerate(raw.body):
        d = parse_date_line(ln.key)
        if d and not ln.key.startswith(("(", "（")):
            date_iso = date_iso or d
            if issuer is None and n > 0 and ISSUER_END.search(raw.body[n - 1].key) and len(raw.body[n - 1].key) < 40:
                issuer = raw.body[n - 1].simp
            break
    if date_iso is None:  # 令 and others: any parenthesised date line
        date_iso = next((parse_date_line(ln.key) for ln in raw.body if DATE_LINE.match(ln.key)), None)
    if date_iso is None:  # an item without a signature (a list of appointments): the date its text opens with
        date_iso = next((parse_date_line(m.group(0)) for ln in raw.body[:3] if (m := _OPENING_DATE.match(ln.key))), None)
    return date_iso or meta.get("date"), issuer or meta.get("issuer")


def _chunks(doc: Document, paras: list, parts: list, settings: Settings) -> list[Chunk]:
    """The document's chunks, one per article (or merged / split to the token limits), with ids
    unique within the document (a repeated locator gets #2, #3 …)."""
    chunks: list[Chunk] = []
    seen: dict[str, int] = {}
    for unit, piece, locator, path in make_chunks(
        doc.doc_id, doc.title, paras, parts, settings.chunk_max_tokens, settings.chunk_merge_below_tokens
    ):
        base = f"{doc.doc_id}:{(unit.part or '')[:0]}{locator}"
        n = seen.get(base, 0) + 1
        seen[base] = n
        simp = tidy(to_simplified(piece.raw))
        chunks.append(
            Chunk(
                chunk_id=base if n == 1 else f"{base}#{n}",
                doc_id=doc.doc_id,
                locator=locator,
                heading_path=path,
                text=piece.raw,
                text_simplified=simp,
                start=piece.start,
                end=piece.end,
                tokens=count_tokens(simp),
                kind=unit.kind,
            )
        )
    return chunks


def build_document(
    raw: RawDocument, source_file: str, file_region: str | None, settings: Settings, meta: dict[str, str] | None = None
) -> tuple[Document, list[Chunk]]:
    """One document's record and chunks. `meta`: what the file's format says (issuer, date …), used
    only where the text does not say it (qa.ingest.formats)."""
    meta = meta or {}
    paras = to_paragraphs(raw.body)
    named = _find_title(raw, paras, source_file, meta)
    title, notice_title = named.title, named.notice_title
    date_iso, issuer = _signature(raw, meta)
    validity = parse_validity("".join(ln.key for ln in raw.lines), title=title, number=raw.number, issued=date_iso)

    lines = raw.lines
    start = lines[0].start if lines else 0
    end = lines[-1].end if lines else 0
    doc = Document(
        doc_id=doc_id_for(source_file, raw.number, title, start),
        title=title,
        source_file=source_file,
        start=start,
        end=end,
        notice_title=notice_title,
        number=raw.number,
        issuer=issuer,
        date=date_iso,
        region=region_of(issuer, None if named.named_by_us else title, notice_title, raw.number) or file_region,
        effective_date=validity.effective_date,
        expiry_date=validity.expiry_date,
        traditional=any(ln.traditional for ln in lines),
        validity=validity,
    )
    chunks = _chunks(doc, paras, named.parts, settings)
    _with_header(chunks, raw)
    locate_term(validity, chunks)
    return doc, chunks


def _with_header(chunks: list[Chunk], raw: RawDocument) -> None:
    """The document's printed header (issuer, title, 发文字号) opens its first chunk: it is what a
    question about the document names and quotes ("招政办字〔2022〕4号是什么文件？")."""
    header = [ln for ln in raw.header if not ln.noise and ln.raw.strip()]
    if not chunks or not header:
        return
    first = chunks[0]
    first.text = "\n".join(ln.raw for ln in header) + "\n" + first.text
    first.text_simplified = tidy(to_simplified(first.text))
    first.start = min(first.start, header[0].start)
    first.tokens = count_tokens(first.text_simplified)


def ingest_text(
    text: str, source_file: str, settings: Settings | None = None, meta: dict[str, str] | None = None
) -> tuple[list[Document], list[Chunk]]:
    """Parse one decoded file. `meta` (title, number, issuer, date from the file's format) fills
    in only what the text lacks, and only for a file holding one document."""
    settings = settings or load_settings()
    if meta:
        from qa.ingest.formats import apply_header

        text = apply_header(text, meta)
    lines = split_lines(text)
    mark_noise(lines)
    raws = segment(lines)
    file_region = None
    regions = [region_of(r.issuer, r.header_title, r.number) for r in raws]
    named = [r for r in regions if r]
    if named:
        file_region = max(set(named), key=named.count)
    documents: list[Document] = []
    chunks: list[Chunk] = []
    for raw in raws:
        if not raw.lines:
            continue
        doc, doc_chunks = build_document(raw, source_file, file_region, settings, meta if len(raws) == 1 else None)
        _dedupe_doc_id(doc, doc_chunks, {d.doc_id for d in documents})
        documents.append(doc)
        chunks.extend(doc_chunks)
    link_repeals(documents)
    return documents, chunks


def _dedupe_doc_id(doc: Document, chunks: list[Chunk], used: set[str]) -> None:
    """A file holding the same document twice (same 发文字号, or same title without one) would
    give both the same doc id, hence the same chunk ids, and `qa index` refuses duplicate chunk
    ids for the whole corpus: number the repeats instead (-2, -3 … in file order, so stable)."""
    if doc.doc_id not in used:
        return
    old = doc.doc_id
    n = 2
    while f"{old}-{n}" in used:
        n += 1
    doc.doc_id = f"{old}-{n}"
    for c in chunks:
        c.doc_id = doc.doc_id
        if c.chunk_id.startswith(old + ":"):
            c.chunk_id = doc.doc_id + c.chunk_id[len(old) :]


def ingest_paths(paths: list[Path] | list[str], settings: Settings | None = None, root: Path | None = None) -> IngestResult:
    """Read files and directories; an unreadable file is reported and skipped, never fatal."""
    settings = settings or load_settings()
    result = IngestResult()
    for path in expand_paths([Path(p) for p in paths]):
        name = _relative_name(path, root)
        try:
            read = read_file(path, settings.max_file_mb * 1024 * 1024)
        except UnreadableFile as err:
            result.reports.append(FileReport(path=name, ok=False, message=str(err), format=_format_of(path)))
            continue
        except Exception as err:  # a reader bug (or a library's) must not take the rest of the corpus down
            result.reports.append(FileReport(path=name, ok=False, message=f"读取失败 / read error: {err!r}", format=_format_of(path)))
            continue
        encoding, warnings = read.encoding, read.warnings
        try:
            docs, chunks = ingest_text(read.text, name, settings, read.meta)
        except Exception as err:  # a parser bug must not take the rest of the corpus down
            result.reports.append(FileReport(path=name, ok=False, encoding=encoding, message=f"解析失败 / parse error: {err!r}",
                                             format=read.format))
            continue
        used = {d.doc_id for d in result.documents}
        if any(d.doc_id in used for d in docs):  # e.g. the same file copied into two folders
            for d in docs:
                _dedupe_doc_id(d, [c for c in chunks if c.doc_id == d.doc_id], used)
                used.add(d.doc_id)
        result.documents.extend(docs)
        result.chunks.extend(chunks)
        result.reports.append(
            FileReport(path=name, ok=True, encoding=encoding, documents=len(docs), chunks=len(chunks), warnings=warnings,
                       format=read.format, meta=dict(read.meta))
        )
    link_repeals(result.documents)  # a document may repeal one in another file
    return result


def _format_of(path: Path) -> str:
    return path.suffix.lower().lstrip(".") or "text"


def _relative_name(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return str(path.resolve().relative_to(root.resolve()))
        except ValueError:
            pass
    return path.name
