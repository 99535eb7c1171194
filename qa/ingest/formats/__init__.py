"""Readers for the formats government documents arrive in, each producing plain text that the
gazette parser (qa.ingest.documents) already understands, plus metadata the format carries.

| suffix                     | reader                                   | notes                                         |
|----------------------------|------------------------------------------|-----------------------------------------------|
| .txt .md .text (none)      | qa.ingest.reader.decode_bytes            | UTF-8 / GB18030                               |
| .docx                      | docx.read_docx (python-docx)             | body paragraphs and tables in order           |
| .doc .wps                  | convert.to_docx (LibreOffice) → docx     | clear message when LibreOffice is missing     |
| .pdf                       | pdf.read_pdf (pdfplumber)                | headers/footers removed, lines re-joined, OCR |
| .html .htm .shtml          | html.read_html (trafilatura)             | 信息公开 table and <meta> as metadata         |
| .ofd                       | ofd.read_ofd (zip of XML, GB/T 33190)    | text objects in reading order                 |
| .png .jpg .jpeg .tif .bmp  | ocr.read_image (rapidocr-onnxruntime)    | "扫描件需要OCR" when the extra is missing     |

Every reader raises UnreadableFile with a bilingual reason for bad input (encrypted, damaged,
no text, no article …); nothing is ever half-read silently. Metadata (title, 发文字号, issuer,
date) is used only where the text itself lacks it (see `apply_header`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from qa.ingest.reader import UnreadableFile, decode_bytes, read_limited

TEXT_SUFFIXES = {".txt", ".md", ".text", ""}
WORD_SUFFIXES = {".docx"}
CONVERT_SUFFIXES = {".doc", ".wps", ".rtf", ".odt"}
PDF_SUFFIXES = {".pdf"}
HTML_SUFFIXES = {".html", ".htm", ".shtml", ".xhtml"}
OFD_SUFFIXES = {".ofd"}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp"}
SUPPORTED = sorted(TEXT_SUFFIXES - {""} | WORD_SUFFIXES | CONVERT_SUFFIXES | PDF_SUFFIXES | HTML_SUFFIXES | OFD_SUFFIXES | IMAGE_SUFFIXES)
SUPPORTED_LABEL = " ".join(SUPPORTED)


@dataclass
class ReadResult:
    """A file's text as the gazette parser wants it, and what the format said about it."""

    text: str
    format: str  # text | docx | doc | pdf | pdf-ocr | html | ofd | image-ocr
    encoding: str | None = None
    warnings: list[str] = field(default_factory=list)
    # title / number (发文字号) / issuer / date (ISO): from the format's own metadata
    # (HTML <meta> and 信息公开 table, PDF/DOCX/OFD properties); used where the text lacks them
    meta: dict[str, str] = field(default_factory=dict)


def _sniff(data: bytes) -> str | None:
    """What the bytes are, whatever the name says."""
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"PK\x03\x04"):
        return "zip"
    if data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "ole"  # .doc / .wps / an encrypted .docx
    if data[:8] == b"\x89PNG\r\n\x1a\n" or data[:3] == b"\xff\xd8\xff" or data[:4] in (b"II*\x00", b"MM\x00*") or data[:2] == b"BM":
        return "image"
    return None


def read_bytes(data: bytes, name: str) -> ReadResult:
    """Read one file's bytes; the suffix of `name` picks the reader. Raises UnreadableFile."""
    suffix = Path(name).suffix.lower()
    if not data.strip():
        raise UnreadableFile("空文件 / empty file")
    kind = _sniff(data)
    if suffix in PDF_SUFFIXES:
        if kind != "pdf":
            raise UnreadableFile("PDF 文件已损坏（缺少 %PDF 文件头）/ damaged PDF: it does not start with %PDF")
        from qa.ingest.formats.pdf import read_pdf

        return read_pdf(data)
    if suffix in WORD_SUFFIXES:
        if kind == "ole":
            raise UnreadableFile(
                "Word 文件已加密（设置了打开密码）或实为旧版 .doc 格式 / the .docx is password-protected or is really an old .doc: "
                "remove the password, or save it as .docx again"
            )
        from qa.ingest.formats.docx import read_docx

        return read_docx(data)
    if suffix in CONVERT_SUFFIXES:
        from qa.ingest.formats.convert import convert_to_docx
        from qa.ingest.formats.docx import read_docx

        result = read_docx(convert_to_docx(data, suffix))
        result.format = suffix.lstrip(".")
        return result
    if suffix in HTML_SUFFIXES:
        from qa.ingest.formats.html import read_html

        return read_html(data)
    if suffix in OFD_SUFFIXES:
        if kind != "zip":
            raise UnreadableFile("OFD 文件已损坏（不是有效的 zip 包）/ damaged OFD: not a zip package")
        from qa.ingest.formats.ofd import read_ofd

        return read_ofd(data)
    if suffix in IMAGE_SUFFIXES:
        from qa.ingest.formats.ocr import read_image

        return read_image(data)
    if suffix in TEXT_SUFFIXES:
        text, encoding, warnings = decode_bytes(data)
        return ReadResult(text=text, format="text", encoding=encoding, warnings=warnings)
    # any other name: plain text if it is text, else say which types are supported
    try:
        text, encoding, warnings = decode_bytes(data)
    except UnreadableFile as err:
        raise UnreadableFile(
            f"不支持的文件类型 {suffix or '(无扩展名)'} / unsupported file type {suffix!r} "
            f"(supported: {SUPPORTED_LABEL}): {err}"
        ) from None
    if re.search(r"<(html|body|div|p)[\s>]", text[:4000], re.I):
        from qa.ingest.formats.html import read_html

        return read_html(data)
    return ReadResult(text=text, format="text", encoding=encoding, warnings=warnings)


def read_file(path: Path, max_bytes: int) -> ReadResult:
    """Read one file from disk (size-limited); raises UnreadableFile with the reason."""
    return read_bytes(read_limited(path, max_bytes), path.name)


def apply_header(text: str, meta: dict[str, str]) -> str:
    """Give the parser the title and 发文字号 lines a format carries outside the text (a web page's
    <h1> and 信息公开 table, a PDF's Title) when the text lacks them: title line, then number line,
    the order of a gazette header. Text that has them is returned unchanged."""
    from qa.ingest.documents import DOC_NUMBER
    from qa.ingest.lines import compact

    number = compact(meta.get("number") or "")
    title = compact(meta.get("title") or "")
    head = text[:4000]
    head_key = compact(head)
    if number and not DOC_NUMBER.match(number):
        number = ""
    has_number = (bool(number) and number in head_key) or any(
        DOC_NUMBER.match(compact(ln)) for ln in head.split("\n")[:40]
    )  # the text's own 发文字号 wins over a different one in the metadata
    has_title = bool(title) and title in head_key
    if has_number or (not number and (has_title or not title)):
        return text
    lines = text.split("\n")
    if number and has_title:
        # the title is there: put the number on the line after it
        for i, ln in enumerate(lines[:40]):
            if compact(ln) and title.endswith(compact(ln)[-8:]) and compact(ln) in title:
                return "\n".join(lines[: i + 1] + [number] + lines[i + 1 :])
    prefix = [t for t in (meta.get("title") if not has_title else None, number or None) if t]
    return "\n".join(prefix) + "\n\n" + text
