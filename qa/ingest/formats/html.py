"""Web pages saved from government sites: the article (trafilatura), its 信息公开 metadata.

A 政府信息公开 page wraps the document in site furniture (navigation, share buttons, footers)
and a metadata table — 索引号 / 发布机构 / 成文日期 / 发文字号 / 标题 — and often names the
article in <meta name="ArticleTitle">, <meta name="PubDate">, <meta name="ContentSource">.
trafilatura finds the article; the table and <meta> fields become metadata, used where the
article text itself lacks them (the title and 发文字号 lines are given to the parser, the
issuer and date fill in what the text does not state). Tables inside the article stay tables
(tab-separated rows, as in the seed files).
"""

from __future__ import annotations

import re

from qa.ingest.formats import ReadResult
from qa.ingest.formats.layout import normalize_header
from qa.ingest.reader import UnreadableFile

_LABELS = {
    "索引号": "index_no",
    "发布机构": "issuer",
    "发文机关": "issuer",
    "发文单位": "issuer",
    "成文日期": "date",
    "发文日期": "date",
    "发布日期": "published",
    "发文字号": "number",
    "文号": "number",
    "标题": "title",
    "名称": "title",
    "文件名称": "title",
}
_LABEL = re.compile(r"^\s*(" + "|".join(sorted(_LABELS, key=len, reverse=True)) + r")\s*[:：]\s*(.*)$", re.S)
_META = {"articletitle": "title", "pubdate": "published", "contentsource": "issuer"}
_DATE = re.compile(r"((?:19|20)\d{2})\s*[-年/.]\s*(\d{1,2})\s*[-月/.]\s*(\d{1,2})")


def _decode(data: bytes) -> str:
    head = data[:4096].decode("ascii", "replace")
    m = re.search(r"charset\s*=\s*[\"']?([A-Za-z0-9_-]+)", head, re.I)
    declared = (m.group(1).lower() if m else "") or "utf-8"
    if declared in ("gb2312", "gbk", "gb18030", "x-gbk"):
        declared = "gb18030"
    for enc in dict.fromkeys([declared, "utf-8", "gb18030"]):
        try:
            return data.decode(enc)
        except (UnicodeDecodeError, LookupError):
            continue
    return data.decode("utf-8", "replace")


def _iso(text: str) -> str | None:
    from qa.ingest.documents import iso_date

    m = _DATE.search(text or "")
    return iso_date(int(m[1]), int(m[2]), int(m[3])) if m else None


def _clean(text: str | None) -> str:
    return re.sub(r"\s+", " ", text or "").strip()


def _metadata_table(tree) -> tuple[dict[str, str], list]:  # type: ignore[no-untyped-def]
    """label → value from 信息公开 tables (and label/value blocks), and the tables to drop."""
    found: dict[str, str] = {}
    drop = []
    for table in tree.iter("table"):
        cells = [_clean(c.text_content()) for c in table.iter("td", "th")]
        labels = sum(1 for c in cells if _LABEL.match(c))
        if labels < 2:
            continue
        drop.append(table)
        for i, c in enumerate(cells):
            m = _LABEL.match(c)
            if not m:
                continue
            value = m.group(2).strip() or (cells[i + 1] if i + 1 < len(cells) and not _LABEL.match(cells[i + 1]) else "")
            key = _LABELS[m.group(1)]
            if value and key not in found:
                found[key] = value
    if len(found) < 2:  # label/value pairs in <div>/<li>/<span> blocks
        text = tree.text_content()
        for label, key in _LABELS.items():
            m = re.search(label + r"\s*[:：]\s*([^\s:：]{2,80})", text)
            if m and key not in found:
                found[key] = m.group(1)
    return found, drop


def _xml_to_lines(xml: str) -> list[str]:
    from lxml import etree

    root = etree.fromstring(xml.encode("utf-8"))
    main = root.find("main")
    if main is None:
        main = root
    lines: list[str] = []

    def text_of(el) -> str:  # type: ignore[no-untyped-def]
        return "".join(el.itertext()).strip()

    def walk(el) -> None:  # type: ignore[no-untyped-def]
        tag = el.tag
        if tag == "table":
            lines.append("")
            for row in el.iter("row"):
                cells = [re.sub(r"\s*\n\s*", "", text_of(c)) for c in row.findall("cell")]
                while cells and not cells[-1]:
                    cells.pop()
                if any(cells):
                    lines.append("\t".join(cells))
            lines.append("")
        elif tag in ("p", "head", "item", "quote", "code"):
            text = text_of(el)
            lines.extend(part.strip() for part in text.split("\n"))
        elif tag == "list":
            for child in el:
                walk(child)
        else:
            for child in el:
                walk(child)

    for child in main:
        walk(child)
    return lines


def read_html(data: bytes) -> ReadResult:
    try:
        import lxml.html
        import trafilatura
    except ImportError as exc:  # pragma: no cover - core dependencies
        raise UnreadableFile(f"缺少 trafilatura / trafilatura is not installed: {exc}") from None
    html = _decode(data)
    try:
        tree = lxml.html.document_fromstring(html)
    except Exception as err:  # noqa: BLE001 - lxml raises ParserError / ValueError on junk
        raise UnreadableFile(f"网页无法解析 / the HTML page cannot be parsed: {err}") from None
    meta_tags: dict[str, str] = {}
    for m in tree.iter("meta"):
        name = (m.get("name") or m.get("property") or "").strip().lower()
        if name in _META and _clean(m.get("content")):
            meta_tags[_META[name]] = _clean(m.get("content"))
    table, drop = _metadata_table(tree)
    for t in drop:
        t.getparent().remove(t)
    # trafilatura drops <h1>-<h6> it takes for the page title; an issued document's own title
    # is often one of them, so they are handed over as paragraphs
    for h in tree.iter("h1", "h2", "h3", "h4", "h5", "h6"):
        h.tag = "p"
    cleaned = lxml.html.tostring(tree, encoding="unicode")
    xml = trafilatura.extract(
        cleaned, output_format="xml", include_tables=True, include_comments=False, include_images=False,
        include_links=False, favor_recall=True, deduplicate=False,
    )
    lines = _xml_to_lines(xml) if xml else []
    # an article has sentences: a list of links (a channel page, a navigation page) does not
    if not any(len(re.findall(r"[\u4e00-\u9fff]", ln)) >= 15 and re.search(r"[。，；：]", ln) for ln in lines):
        raise UnreadableFile("网页中没有找到正文（可能是目录页、导航页或需要脚本加载的页面）/ no article found in the HTML page")
    meta: dict[str, str] = {}
    title = table.get("title") or meta_tags.get("title")
    if not title:
        t = tree.find(".//title")
        title = re.split(r"[_|－—-]{1,2}", _clean(t.text_content()))[0] if t is not None else ""
    if title:
        meta["title"] = _clean(title)
    if table.get("number"):
        meta["number"] = _clean(table["number"])
    issuer = table.get("issuer") or meta_tags.get("issuer")
    if issuer:
        meta["issuer"] = _clean(issuer)
    day = _iso(table.get("date", "")) or _iso(table.get("published", "")) or _iso(meta_tags.get("published", ""))
    if day:
        meta["date"] = day
    text = "\n".join(normalize_header(lines))
    return ReadResult(text=text, format="html", encoding=None, meta=meta)
