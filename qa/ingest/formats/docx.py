"""Word .docx (python-docx): body paragraphs and tables in document order.

Headers, footers and their page numbers live in separate parts and are not read. Tables become
tab-separated rows (merged cells once). Red runs mark the masthead of an official document.
The core properties' title is metadata, used only when the text names no title.
"""

from __future__ import annotations

import io
import re
import zipfile

from qa.ingest.formats import ReadResult
from qa.ingest.formats.layout import normalize_header
from qa.ingest.reader import UnreadableFile


def _is_red(run) -> bool:  # type: ignore[no-untyped-def]
    try:
        rgb = run.font.color.rgb if run.font.color is not None and run.font.color.type is not None else None
    except (ValueError, AttributeError):
        return False
    if rgb is None:
        return False
    r, g, b = int(str(rgb)[0:2], 16), int(str(rgb)[2:4], 16), int(str(rgb)[4:6], 16)
    return r > 160 and g < 100 and b < 100


def read_docx(data: bytes) -> ReadResult:
    try:
        import docx
        from docx.opc.exceptions import PackageNotFoundError
    except ImportError as exc:  # pragma: no cover - a core dependency
        raise UnreadableFile(f"缺少 python-docx / python-docx is not installed: {exc}") from None
    try:
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, PackageNotFoundError, KeyError) as err:
        raise UnreadableFile(f"Word 文件已损坏（zip 包无法打开）/ damaged .docx (broken zip package): {type(err).__name__}: {err}") from None
    except Exception as err:  # noqa: BLE001 - lxml and python-docx raise many types on damage
        raise UnreadableFile(f"Word 文件已损坏，无法解析 / damaged .docx, cannot be parsed: {type(err).__name__}: {str(err)[:120]}") from None
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    lines: list[str] = []
    red: set[int] = set()
    try:
        for child in document.element.body.iterchildren():
            tag = child.tag.rsplit("}", 1)[-1]
            if tag == "p":
                p = Paragraph(child, document)
                text = p.text
                runs = [r for r in p.runs if r.text.strip()]
                is_red = bool(runs) and sum(len(r.text) for r in runs if _is_red(r)) >= 0.6 * sum(len(r.text) for r in runs)
                for part in text.split("\n"):
                    if is_red:
                        red.add(len(lines))
                    lines.append(part)
            elif tag == "tbl":
                table = Table(child, document)
                lines.append("")
                for row in table.rows:
                    cells: list[str] = []
                    prev = None
                    for cell in row.cells:
                        if prev is not None and cell._tc is prev:  # a merged cell repeats
                            continue
                        prev = cell._tc
                        cells.append(re.sub(r"\s*\n\s*", "", cell.text).strip())
                    if any(cells):
                        lines.append("\t".join(cells))
                lines.append("")
    except Exception as err:  # noqa: BLE001
        raise UnreadableFile(f"Word 文件已损坏，无法解析 / damaged .docx, cannot be parsed: {type(err).__name__}: {str(err)[:120]}") from None
    if not any(ln.strip() for ln in lines):
        raise UnreadableFile("Word 文件中没有文字 / the Word file has no text")
    meta: dict[str, str] = {}
    title = (document.core_properties.title or "").strip()
    if re.search(r"[\u4e00-\u9fff]", title):
        meta["title"] = title
    text = "\n".join(normalize_header(lines, red))
    return ReadResult(text=text, format="docx", meta=meta)
