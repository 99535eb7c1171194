"""PDF with a text layer (pdfplumber / pdfminer.six), scanned pages through OCR.

Lines come with positions, font size and colour: page furniture is removed and wrapped lines
re-joined (qa.ingest.formats.layout), red lines mark the masthead of an official document,
tables become tab-separated rows. Pages without any text are scanned images: they are OCRed
when rapidocr-onnxruntime is installed (`pip install "policy-qa[ocr]"`), otherwise the file is
refused with "扫描件需要OCR".
"""

from __future__ import annotations

import io
import logging
import re

from qa.ingest.formats import ReadResult
from qa.ingest.formats.layout import Page, PLine, normalize_header, reflow
from qa.ingest.reader import UnreadableFile

log = logging.getLogger("qa.ingest")

MAX_PAGES = 500


def _is_red(color: object) -> bool:
    if not isinstance(color, (tuple, list)):
        return False
    c = [float(x) for x in color if isinstance(x, (int, float))]
    if len(c) == 3:  # RGB
        return c[0] > 0.6 and c[1] < 0.4 and c[2] < 0.4
    if len(c) == 4:  # CMYK
        return c[1] > 0.6 and c[2] > 0.5 and c[0] < 0.3 and c[3] < 0.4
    return False


def _open(data: bytes):  # type: ignore[no-untyped-def]
    import pdfplumber
    from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect

    try:
        pdf = pdfplumber.open(io.BytesIO(data))
        _ = pdf.pages  # parses the page tree: damage shows here
    except (PDFPasswordIncorrect, PDFEncryptionError) as err:
        raise UnreadableFile(f"PDF 已加密，需要密码才能打开 / the PDF is encrypted (password required): {type(err).__name__}") from None
    except Exception as err:  # noqa: BLE001 - pdfminer raises many types for damaged files
        cause = err.__cause__ or err.__context__ or err
        if "password" in repr(cause).lower() or "encrypt" in repr(cause).lower():
            raise UnreadableFile("PDF 已加密，需要密码才能打开 / the PDF is encrypted (password required)") from None
        raise UnreadableFile(f"PDF 文件已损坏，无法解析 / damaged PDF, cannot be parsed: {type(cause).__name__}: {str(cause)[:120]}") from None
    return pdf


def _page_lines(page) -> tuple[list[PLine], int]:  # type: ignore[no-untyped-def]
    """Text lines (tables as rows) of one page, and how many characters it has."""
    chars = page.chars
    if not chars:
        return [], 0
    tables = []
    try:
        tables = [t for t in page.find_tables() if len(t.rows) >= 2 and len(t.rows[0].cells) >= 2]
    except Exception:  # noqa: BLE001 - table finding is a bonus, never a failure
        tables = []
    boxes = [t.bbox for t in tables]

    def in_table(top: float, bottom: float, x0: float, x1: float) -> bool:
        mid = (top + bottom) / 2
        return any(b[1] <= mid <= b[3] and b[0] - 2 <= (x0 + x1) / 2 <= b[2] + 2 for b in boxes)

    out: list[PLine] = []
    for ln in page.extract_text_lines(strip=True, return_chars=True, x_tolerance=3):
        text = ln["text"]
        if not text.strip() or in_table(ln["top"], ln["bottom"], ln["x0"], ln["x1"]):
            continue
        cs = ln.get("chars") or []
        sizes = [c.get("size", 0) for c in cs if c.get("text", "").strip()]
        red = sum(1 for c in cs if _is_red(c.get("non_stroking_color"))) >= 0.6 * max(1, len(cs))
        out.append(PLine(text, ln["x0"], ln["x1"], ln["top"], ln["bottom"], max(sizes) if sizes else 0.0, red))
    for t, box in zip(tables, boxes):
        rows = []
        for row in t.extract():
            cells = [re.sub(r"\s*\n\s*", "", c or "").strip() for c in row]
            if any(cells):
                rows.append("\t".join(cells))
        if rows:
            out.append(PLine("\n".join(rows), box[0], box[2], box[1], box[3], 0.0, False, table=True))
    out.sort(key=lambda p: (round(p.top, 1), p.x0))
    return out, len(chars)


def read_pdf(data: bytes) -> ReadResult:
    warnings: list[str] = []
    pdf = _open(data)
    try:
        if len(pdf.pages) > MAX_PAGES:
            raise UnreadableFile(f"PDF 页数过多（{len(pdf.pages)} 页，上限 {MAX_PAGES}）/ too many pages ({len(pdf.pages)} > {MAX_PAGES})")
        pages: list[Page] = []
        scanned: list[int] = []
        for n, page in enumerate(pdf.pages):
            try:
                lines, nchars = _page_lines(page)
            except Exception as err:  # noqa: BLE001
                raise UnreadableFile(f"PDF 第 {n + 1} 页已损坏 / damaged PDF page {n + 1}: {type(err).__name__}: {str(err)[:120]}") from None
            if nchars < 5:
                scanned.append(n)
            pages.append(Page(float(page.width), float(page.height), lines))
        fmt = "pdf"
        if scanned:
            from qa.ingest.formats.ocr import ocr_available, ocr_page_image

            if not ocr_available():
                if len(scanned) == len(pages):
                    raise UnreadableFile(
                        "扫描件需要OCR：PDF 没有文字层（是扫描图片），请安装 OCR 组件后重试："
                        "pip install \"policy-qa[ocr]\"（rapidocr-onnxruntime）/ scanned PDF without a text layer needs OCR: "
                        "install the ocr extra"
                    )
                warnings.append(f"第 {', '.join(str(i + 1) for i in scanned)} 页是扫描图片，未安装 OCR，已跳过 / scanned pages skipped (no OCR installed)")
            else:
                for n in scanned:
                    image = pdf.pages[n].to_image(resolution=200).original
                    pages[n] = ocr_page_image(image, float(pdf.pages[n].width) / image.width)
                fmt = "pdf-ocr" if len(scanned) == len(pages) else "pdf"
                warnings.append(f"第 {', '.join(str(i + 1) for i in scanned)} 页经 OCR 识别，请核对 / pages read by OCR, please check")
        meta: dict[str, str] = {}
        title = str((pdf.metadata or {}).get("Title") or "").strip()
        if re.search(r"[\u4e00-\u9fff]", title) and not re.search(r"Microsoft|Word|\.docx?$|^文档\d*$", title):
            meta["title"] = title
    finally:
        pdf.close()
    lines = reflow(pages)
    if not any(ln.text.strip() for ln in lines):
        raise UnreadableFile("PDF 中没有可读的文字 / no readable text in the PDF")
    red = {i for i, ln in enumerate(lines) if ln.red}
    text = "\n".join(normalize_header([ln.text for ln in lines], red))
    return ReadResult(text=text, format=fmt, encoding=None, warnings=warnings, meta=meta)
