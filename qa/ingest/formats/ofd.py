"""OFD (GB/T 33190, 电子文件版式文档): a zip package of XML, read without any extra library.

    OFD.xml                     DocBody → DocInfo (Title, CreationDate …), DocRoot → Doc_0/Document.xml
    Doc_0/Document.xml          CommonData (PageArea, PublicRes, TemplatePage), Pages → Page BaseLoc
    Doc_0/Pages/Page_N/Content.xml   Layers of TextObject (Boundary, Size, CTM, FillColor)
                                     holding TextCode (X, Y, DeltaX) with the characters

Each page's text objects are placed at their absolute positions, grouped into lines by baseline
and read top to bottom, left to right; templates (running headers, page numbers) and
annotations are page furniture and are not read. Then the same layout steps as for PDF
(qa.ingest.formats.layout): page numbers dropped, wrapped lines re-joined, red masthead.
The libraries on PyPI for OFD render it (and pull PyMuPDF, reportlab …) but do not give the
text in reading order, so the XML is read here with the standard library.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
import xml.etree.ElementTree as ET

from qa.ingest.formats import ReadResult
from qa.ingest.formats.layout import Page, PLine, normalize_header, reflow
from qa.ingest.reader import UnreadableFile

MAX_UNPACKED = 300 * 1024 * 1024
MAX_MEMBERS = 20_000


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(el: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in el if _local(c.tag) == name]


def _find(el: ET.Element, *path: str) -> ET.Element | None:
    cur: ET.Element | None = el
    for name in path:
        if cur is None:
            return None
        nxt = _children(cur, name)
        cur = nxt[0] if nxt else None
    return cur


def _floats(s: str | None) -> list[float]:
    try:
        return [float(x) for x in (s or "").replace(",", " ").split()]
    except ValueError:
        return []


def _deltas(s: str | None) -> list[float]:
    """DeltaX / DeltaY: numbers, where "g N v" repeats v N times."""
    out: list[float] = []
    parts = (s or "").split()
    i = 0
    while i < len(parts):
        if parts[i] == "g" and i + 2 < len(parts):
            try:
                out += [float(parts[i + 2])] * int(float(parts[i + 1]))
            except ValueError:
                pass
            i += 3
            continue
        try:
            out.append(float(parts[i]))
        except ValueError:
            pass
        i += 1
    return out


class _Package:
    def __init__(self, data: bytes) -> None:
        try:
            self.zip = zipfile.ZipFile(io.BytesIO(data))
            infos = self.zip.infolist()
        except (zipfile.BadZipFile, OSError, ValueError) as err:
            raise UnreadableFile(f"OFD 文件已损坏（不是有效的 zip 包）/ damaged OFD (not a valid zip package): {err}") from None
        if len(infos) > MAX_MEMBERS or sum(i.file_size for i in infos) > MAX_UNPACKED:
            raise UnreadableFile("OFD 包过大（解压后超过上限）/ OFD package too large when unpacked")
        self.names = {i.filename.lstrip("/"): i.filename for i in infos}

    def xml(self, path: str) -> ET.Element:
        name = self.names.get(path.lstrip("/"))
        if name is None:
            raise UnreadableFile(f"OFD 文件不完整，缺少 {path} / incomplete OFD: {path} is missing")
        try:
            return ET.fromstring(self.zip.read(name))
        except (ET.ParseError, zipfile.BadZipFile, OSError, ValueError) as err:
            raise UnreadableFile(f"OFD 文件已损坏（{path} 无法解析）/ damaged OFD: {path} cannot be parsed: {err}") from None


def _resolve(base_dir: str, loc: str) -> str:
    loc = loc.strip()
    if loc.startswith("/"):
        return posixpath.normpath(loc.lstrip("/"))
    return posixpath.normpath(posixpath.join(base_dir, loc))


def _page_lines(content: ET.Element) -> tuple[list[PLine], int]:
    """Lines of one page's Content.xml and how many image objects it has."""
    pieces: list[tuple[float, float, float, float, str, bool]] = []  # baseline y, x0, x1, size, text, red
    images = 0

    def visit(el: ET.Element, ox: float, oy: float) -> None:
        nonlocal images
        for obj in el:
            name = _local(obj.tag)
            if name in ("Layer", "PageBlock"):
                visit(obj, ox, oy)
            elif name == "ImageObject":
                images += 1
            elif name == "TextObject":
                b = _floats(obj.get("Boundary"))
                bx, by = (b[0], b[1]) if len(b) >= 2 else (0.0, 0.0)
                size = (_floats(obj.get("Size")) or [3.5])[0]
                ctm = _floats(obj.get("CTM"))
                a, bb, c, d, e, f = ctm if len(ctm) == 6 else (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
                color = _find(obj, "FillColor")
                rgb = _floats(color.get("Value")) if color is not None else []
                red = len(rgb) >= 3 and rgb[0] > 150 and rgb[1] < 100 and rgb[2] < 100
                x = y = 0.0
                for code in _children(obj, "TextCode"):
                    text = code.text or ""
                    if code.get("X") is not None:
                        x = float(code.get("X") or 0)
                    if code.get("Y") is not None:
                        y = float(code.get("Y") or 0)
                    dx = _deltas(code.get("DeltaX"))
                    width = sum(dx[: max(0, len(text) - 1)]) + size
                    x0 = ox + bx + a * x + c * y + e
                    x1 = ox + bx + a * (x + width) + c * y + e
                    base = oy + by + bb * x + d * y + f
                    if text.strip():
                        pieces.append((base, x0, x1, size * (abs(a) or 1.0), text, red))
                    x += width

    layer = _find(content, "Content")
    if layer is not None:
        visit(layer, 0.0, 0.0)
    pieces.sort(key=lambda p: (p[0], p[1]))
    lines: list[list[tuple[float, float, float, float, str, bool]]] = []
    for p in pieces:
        if lines and abs(lines[-1][0][0] - p[0]) <= 0.4 * max(p[3], lines[-1][0][3]):
            lines[-1].append(p)
        else:
            lines.append([p])
    out: list[PLine] = []
    for group in lines:
        group.sort(key=lambda p: p[1])
        text = group[0][4]
        for prev, cur in zip(group, group[1:]):
            gap = cur[1] - prev[2]
            text += ("\t" if gap > 2.5 * cur[3] else " " if gap > 0.8 * cur[3] else "") + cur[4]
        size = max(p[3] for p in group)
        base = group[0][0]
        red = sum(len(p[4]) for p in group if p[5]) >= 0.6 * sum(len(p[4]) for p in group)
        out.append(PLine(text, group[0][1], max(p[2] for p in group), base - size, base, size, red))
    return out, images


def read_ofd(data: bytes) -> ReadResult:
    pkg = _Package(data)
    root = pkg.xml("OFD.xml")
    if _local(root.tag) != "OFD":
        raise UnreadableFile("不是 OFD 文件（OFD.xml 的根元素不是 ofd:OFD）/ not an OFD package")
    body = _find(root, "DocBody")
    doc_root = _find(body, "DocRoot") if body is not None else None
    if doc_root is None or not (doc_root.text or "").strip():
        raise UnreadableFile("OFD 文件不完整（缺少 DocRoot）/ incomplete OFD: no DocRoot")
    doc_path = _resolve("", doc_root.text or "")
    doc_dir = posixpath.dirname(doc_path)
    document = pkg.xml(doc_path)
    box = _floats((_find(document, "CommonData", "PageArea", "PhysicalBox") or ET.Element("x")).text)
    default_w, default_h = (box[2], box[3]) if len(box) == 4 else (210.0, 297.0)
    pages_el = _find(document, "Pages")
    page_refs = _children(pages_el, "Page") if pages_el is not None else []
    if not page_refs:
        raise UnreadableFile("OFD 文件中没有页面 / the OFD has no pages")
    pages: list[Page] = []
    image_pages = 0
    for ref in page_refs:
        path = _resolve(doc_dir, ref.get("BaseLoc") or "")
        content = pkg.xml(path)
        pbox = _floats((_find(content, "Area", "PhysicalBox") or ET.Element("x")).text)
        w, h = (pbox[2], pbox[3]) if len(pbox) == 4 else (default_w, default_h)
        lines, images = _page_lines(content)
        if not lines and images:
            image_pages += 1
        pages.append(Page(w, h, lines))
    lines = reflow(pages)
    if not any(ln.text.strip() for ln in lines):
        if image_pages:
            raise UnreadableFile(
                "扫描件需要OCR：OFD 页面只有图片没有文字层，请将其导出为 PDF 或图片后上传（并安装 OCR 组件）"
                " / the OFD pages are scanned images without text: export them as PDF or images (OCR)"
            )
        raise UnreadableFile("OFD 中没有可读的文字 / no readable text in the OFD")
    meta: dict[str, str] = {}
    info = _find(body, "DocInfo") if body is not None else None
    title = (_find(info, "Title").text or "").strip() if info is not None and _find(info, "Title") is not None else ""
    if re.search(r"[\u4e00-\u9fff]", title):
        meta["title"] = title
    red = {i for i, ln in enumerate(lines) if ln.red}
    text = "\n".join(normalize_header([ln.text for ln in lines], red))
    return ReadResult(text=text, format="ofd", meta=meta)
