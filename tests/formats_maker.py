"""Make real .docx / .pdf / .html / .ofd files of an official document, with real tools.

Used by the tests (tests/ingest/test_formats.py, tests/app/test_admin.py) and by
scripts/make_examples.py. Each writer lays the document out as a government office would:

- Word (python-docx): red masthead "×××文件", 发文字号, title, body paragraphs with a first-line
  indent, tables as Word tables, the page number "— N —" as a PAGE field in the footer;
- PDF (reportlab, CJK font STSong-Light): the same on A4 pages of 28 characters a line, lines
  broken at the page width (also across pages), a running header from page 2 on and a page
  footer "— N —";
- web page: a 政府信息公开 page — navigation, breadcrumbs, share buttons, the 索引号/发布机构/
  成文日期/发文字号 table, <meta name="ArticleTitle|PubDate|ContentSource">, the article with its
  tables, and the site footer;
- OFD (GB/T 33190 layout): OFD.xml → Doc_0/Document.xml → Pages/Page_N/Content.xml with TextObject/
  TextCode (X, Y, DeltaX) per line, a red masthead, a page-number text at the page foot, a
  template page, PublicRes.xml with the font.
"""

from __future__ import annotations

import html as _html
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

_TITLE_WORDS = re.compile(r"关于|通知|办法|意见|方案|规划|细则|规定|决定")
_DATE = re.compile(r"^\d{4}年\d{1,2}月\d{1,2}日$")


@dataclass
class OfficialDoc:
    issuer: str  # 招远市人民政府
    number: str  # 招政发〔2022〕8号
    title: str  # the covering title as printed under the number: 关于印发《…》的通知
    paragraphs: list[str] = field(default_factory=list)  # body; a table is a paragraph of tab-separated rows
    site: str = ""  # the website name for the HTML page
    pub_date: str = ""  # ISO

    @property
    def masthead(self) -> str:
        return self.issuer + "文件"


def from_text(text: str) -> OfficialDoc:
    """An OfficialDoc from gazette text (issuer+title lines, number line, body)."""
    from qa.chunk.paragraphs import to_paragraphs
    from qa.ingest.documents import segment
    from qa.ingest.lines import mark_noise, split_lines

    lines = split_lines(text)
    mark_noise(lines)
    raw = segment(lines)[0]
    paras: list[str] = []
    table: list[str] = []
    for p in to_paragraphs(raw.body):
        if p.is_table:
            table.append(p.raw)
            continue
        if table:
            paras.append("\n".join(table))
            table = []
        paras.append(p.raw)
    if table:
        paras.append("\n".join(table))
    return OfficialDoc(issuer=(raw.issuer or "").replace(" ", ""), number=raw.number or "", title=raw.header_title or "",
                       paragraphs=paras)


def _align(p: str, nxt: str | None) -> str:
    """center | right | indent: how an official document prints a paragraph."""
    if _DATE.match(p) or (nxt is not None and _DATE.match(nxt) and len(p) < 30 and "。" not in p):
        return "right"
    if len(p) <= 40 and not re.search(r"[。，；：:]", p) and _TITLE_WORDS.search(p) and not re.match(r"^[一二三四五六七八九十]+、|^（", p):
        return "center"
    return "indent"


# --- Word -------------------------------------------------------------------------------------


def write_docx(doc: OfficialDoc, path: Path) -> Path:
    import docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Pt, RGBColor

    d = docx.Document()
    d.core_properties.title = doc.title
    d.core_properties.author = doc.issuer
    p = d.add_paragraph()
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = p.add_run(doc.masthead)
    run.font.size = Pt(30)
    run.font.color.rgb = RGBColor(0xE0, 0x10, 0x10)
    run.bold = True
    p = d.add_paragraph(doc.number)
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    p = d.add_paragraph()
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    r = p.add_run(doc.title)
    r.font.size = Pt(22)
    for i, para in enumerate(doc.paragraphs):
        if "\t" in para:
            rows = [r.split("\t") for r in para.split("\n")]
            ncol = max(len(r) for r in rows)
            t = d.add_table(rows=len(rows), cols=ncol)
            t.style = "Table Grid"
            for ri, row in enumerate(rows):
                for ci, cell in enumerate(row):
                    t.cell(ri, ci).text = cell
            continue
        align = _align(para, doc.paragraphs[i + 1] if i + 1 < len(doc.paragraphs) else None)
        p = d.add_paragraph(para)
        if align == "center":
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        elif align == "right":
            p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        else:
            p.paragraph_format.first_line_indent = Pt(32)
    # footer: — PAGE —
    fp = d.sections[0].footer.paragraphs[0]
    fp.alignment = WD_ALIGN_PARAGRAPH.CENTER
    fp.add_run("— ")
    run = fp.add_run()
    for kind, text in (("begin", None), (None, "PAGE"), ("end", None)):
        if kind:
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), kind)
        else:
            el = OxmlElement("w:instrText")
            el.text = text
        run._r.append(el)
    fp.add_run(" —")
    d.save(str(path))
    return path


# --- page layout shared by PDF and OFD ----------------------------------------------------------


@dataclass
class _Placed:
    text: str
    x: float
    y: float  # baseline, from the top of the page
    size: float
    red: bool = False


def _layout(doc: OfficialDoc, width: float, height: float, margin: tuple[float, float, float, float], body: float,
            measure, header: str | None = None) -> list[list[_Placed]]:  # type: ignore[no-untyped-def]
    """Lines placed on pages. margin = (top, right, bottom, left); `measure(text, size)` → width."""
    top, right, bottom, left = margin
    usable = width - left - right
    pages: list[list[_Placed]] = [[]]
    y = top
    line_gap = body * 1.75

    def new_page() -> None:
        nonlocal y
        pages.append([])
        y = top

    def put(text: str, size: float, align: str, red: bool = False, first_indent: float = 0.0) -> None:
        nonlocal y
        # break into lines that fit
        lines: list[tuple[str, float]] = []
        cur, indent = "", first_indent
        for ch in text:
            if measure(cur + ch, size) > usable - indent and cur:
                lines.append((cur, indent))
                cur, indent = "", 0.0
            cur += ch
        if cur:
            lines.append((cur, indent))
        for ln, ind in lines:
            if y + size > height - bottom:
                new_page()
            w = measure(ln, size)
            x = left + ind if align == "indent" else (left + (usable - w) / 2 if align == "center" else width - right - w)
            pages[-1].append(_Placed(ln, x, y + size, size, red))
            y += max(line_gap, size * 1.5)

    put(doc.masthead, body * 2, "center", red=True)
    y += body
    put(doc.number, body, "center")
    y += body
    put(doc.title, body * 1.35, "center")
    y += body * 0.5
    for i, para in enumerate(doc.paragraphs):
        align = _align(para, doc.paragraphs[i + 1] if i + 1 < len(doc.paragraphs) else None)
        put(para, body, align, first_indent=2 * body if align == "indent" else 0.0)
    # page furniture: a running header from page 2 on, the page number at the foot of every page
    for n, page in enumerate(pages, 1):
        if header and n > 1:
            page.insert(0, _Placed(header, left, top * 0.55, body * 0.6))
        label = f"— {n} —"
        page.append(_Placed(label, (width - measure(label, body * 0.9)) / 2, height - bottom * 0.45, body * 0.9))
    return pages


# --- PDF ----------------------------------------------------------------------------------------


def write_pdf(doc: OfficialDoc, path: Path, encrypt: str | None = None) -> Path:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    font = "STSong-Light"
    pdfmetrics.registerFont(UnicodeCIDFont(font))
    w, h = A4
    pages = _layout(doc, w, h, (100, 74, 99, 79), 15.5, lambda t, s: pdfmetrics.stringWidth(t, font, s),
                    header=f"{doc.issuer}  {doc.number}")
    c = canvas.Canvas(str(path), pagesize=A4, encrypt=encrypt)
    c.setTitle(doc.title)
    c.setAuthor(doc.issuer)
    for page in pages:
        for item in page:
            c.setFont(font, item.size)
            c.setFillColorRGB(0.86, 0.08, 0.08) if item.red else c.setFillColorRGB(0, 0, 0)
            c.drawString(item.x, h - item.y, item.text)
        c.showPage()
    c.save()
    return path


# --- web page -----------------------------------------------------------------------------------


def write_html(doc: OfficialDoc, path: Path, site: str = "", pub_date: str = "2022-02-08", date: str = "") -> Path:
    esc = _html.escape
    site = site or doc.issuer
    body: list[str] = [f'<p style="text-align:center;font-size:22px"><strong>{esc(doc.title)}</strong></p>',
                       f'<p style="text-align:center">{esc(doc.number)}</p>']
    for i, para in enumerate(doc.paragraphs):
        if "\t" in para:
            rows = [r.split("\t") for r in para.split("\n")]
            cells = "".join(
                "<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in rows
            )
            body.append(f'<table border="1" cellspacing="0">{cells}</table>')
            continue
        align = _align(para, doc.paragraphs[i + 1] if i + 1 < len(doc.paragraphs) else None)
        style = {"center": "text-align:center", "right": "text-align:right", "indent": "text-indent:2em"}[align]
        body.append(f'<p style="{style}">{esc(para)}</p>')
    nav = "".join(f'<li><a href="/{k}/">{v}</a></li>' for k, v in
                  [("index", "首页"), ("zwgk", "政务公开"), ("zwfw", "政务服务"), ("hdjl", "互动交流"), ("zjzy", "走进" + site[:2])])
    page = f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>{esc(doc.title)}_{esc(site)}</title>
<meta name="SiteName" content="{esc(site)}">
<meta name="ColumnName" content="政策文件">
<meta name="ArticleTitle" content="{esc(doc.title)}">
<meta name="PubDate" content="{pub_date} 09:30">
<meta name="ContentSource" content="{esc(doc.issuer)}">
<meta name="Keywords" content="政策文件">
<link rel="stylesheet" href="/css/style.css"><script src="/js/jquery.min.js"></script>
</head><body>
<div class="top-bar"><span>欢迎访问{esc(site)}门户网站</span><a href="/wza/">无障碍</a><a href="/ydb/">移动版</a><a href="/en/">English</a></div>
<div class="header"><img src="/images/logo.png" alt="{esc(site)}"><form action="/search"><input name="q" placeholder="请输入关键词"><button>搜索</button></form></div>
<ul class="nav">{nav}</ul>
<div class="crumbs">当前位置：<a href="/">首页</a> &gt; <a href="/zwgk/">政务公开</a> &gt; <a href="/zwgk/zcwj/">政策文件</a></div>
<div class="xxgk-meta"><table class="xxgk">
<tr><td class="label">索引号：</td><td>11370685MB1234567X/2022-00{len(doc.paragraphs)}</td><td class="label">发布机构：</td><td>{esc(doc.issuer)}</td></tr>
<tr><td class="label">成文日期：</td><td>{date or pub_date}</td><td class="label">发文字号：</td><td>{esc(doc.number)}</td></tr>
<tr><td class="label">标题：</td><td colspan="3">{esc(doc.title)}</td></tr>
<tr><td class="label">主题分类：</td><td>工业、交通</td><td class="label">有效性：</td><td>有效</td></tr>
</table></div>
<div class="article"><h1 class="art-title">{esc(doc.title)}</h1>
<div class="art-info"><span>发布日期：{pub_date}</span><span>来源：{esc(doc.issuer)}</span><span>浏览次数：1024</span>
<span class="font">字号：<a>大</a> <a>中</a> <a>小</a></span></div>
<div class="TRS_Editor" id="zoom">
{chr(10).join(body)}
</div>
<div class="share">分享到：<a class="wx">微信</a><a class="wb">微博</a><a class="qq">QQ空间</a></div>
<div class="print"><a href="javascript:window.print()">【打印本页】</a><a href="javascript:window.close()">【关闭窗口】</a></div>
</div>
<div class="related"><h3>相关文件</h3><ul><li><a href="/zwgk/1.html">关于做好春节期间安全生产工作的通知</a></li>
<li><a href="/zwgk/2.html">关于公布2021年度行政规范性文件清理结果的通知</a></li></ul></div>
<div class="footer"><p>主办单位：{esc(site)}办公室 承办单位：{esc(site)}大数据中心</p>
<p>网站标识码：3706850001 鲁ICP备05012345号-1 鲁公网安备 37068502000123号</p>
<p>地址：招远市温泉路118号 邮编：265400 联系电话：0535-8212345</p></div>
</body></html>"""
    path.write_text(page, encoding="utf-8")
    return path


# --- OFD ----------------------------------------------------------------------------------------

_NS = "http://www.ofdspec.org/2016"


def _ofd_width(text: str, size: float) -> float:
    return sum(size if ord(ch) > 0x2E7F else size * 0.5 for ch in text)


def write_ofd(doc: OfficialDoc, path: Path) -> Path:
    """An OFD package in the layout of GB/T 33190: one document, A4 pages (millimetres)."""
    w, h = 210.0, 297.0
    pages = _layout(doc, w, h, (37, 26, 35, 28), 5.6, _ofd_width)
    esc = _html.escape
    ids = iter(range(10, 10_000_000))
    files: dict[str, str] = {}
    files["OFD.xml"] = f"""<?xml version="1.0" encoding="UTF-8"?>
<ofd:OFD xmlns:ofd="{_NS}" Version="1.0" DocType="OFD"><ofd:DocBody><ofd:DocInfo>
<ofd:DocID>6f1a7c2e9b3d4e5f8a0b1c2d3e4f5a6b</ofd:DocID><ofd:Title>{esc(doc.title)}</ofd:Title><ofd:Author>{esc(doc.issuer)}</ofd:Author>
<ofd:CreationDate>2022-02-07</ofd:CreationDate><ofd:Creator>policy-qa tests</ofd:Creator></ofd:DocInfo>
<ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>"""
    page_refs = "".join(f'<ofd:Page ID="{100 + n}" BaseLoc="Pages/Page_{n}/Content.xml"/>' for n in range(len(pages)))
    files["Doc_0/Document.xml"] = f"""<?xml version="1.0" encoding="UTF-8"?>
<ofd:Document xmlns:ofd="{_NS}"><ofd:CommonData><ofd:MaxUnitID>99999</ofd:MaxUnitID>
<ofd:PageArea><ofd:PhysicalBox>0 0 {w:g} {h:g}</ofd:PhysicalBox></ofd:PageArea>
<ofd:PublicRes>PublicRes.xml</ofd:PublicRes><ofd:DocumentRes>DocumentRes.xml</ofd:DocumentRes>
<ofd:TemplatePage ID="2" BaseLoc="Tpls/Tpl_0/Content.xml"/></ofd:CommonData>
<ofd:Pages>{page_refs}</ofd:Pages></ofd:Document>"""
    files["Doc_0/PublicRes.xml"] = f"""<?xml version="1.0" encoding="UTF-8"?>
<ofd:Res xmlns:ofd="{_NS}" BaseLoc="Res"><ofd:Fonts><ofd:Font ID="3" FontName="宋体" FamilyName="宋体"/></ofd:Fonts></ofd:Res>"""
    files["Doc_0/DocumentRes.xml"] = f"""<?xml version="1.0" encoding="UTF-8"?>
<ofd:Res xmlns:ofd="{_NS}" BaseLoc="Res"></ofd:Res>"""
    files["Doc_0/Tpls/Tpl_0/Content.xml"] = f"""<?xml version="1.0" encoding="UTF-8"?>
<ofd:Page xmlns:ofd="{_NS}"><ofd:Content><ofd:Layer ID="4">
<ofd:TextObject ID="5" Boundary="28 10 154 8" Font="3" Size="3.5"><ofd:TextCode X="0" Y="5">{esc(doc.issuer)}</ofd:TextCode></ofd:TextObject>
</ofd:Layer></ofd:Content></ofd:Page>"""
    for n, page in enumerate(pages):
        objs = []
        for item in page:
            delta = f"g {len(item.text) - 1} {item.size:g}" if len(item.text) > 1 and all(ord(c) > 0x2E7F for c in item.text) else \
                " ".join(f"{(item.size if ord(c) > 0x2E7F else item.size * 0.5):g}" for c in item.text[:-1])
            oid = next(ids)
            color = '<ofd:FillColor Value="230 0 18"/>' if item.red else ""
            box = f"{item.x:.2f} {item.y - item.size:.2f} {_ofd_width(item.text, item.size) + 1:.2f} {item.size * 1.4:.2f}"
            dx = f' DeltaX="{delta}"' if delta else ""
            objs.append(f'<ofd:TextObject ID="{oid}" Boundary="{box}" Font="3" Size="{item.size:g}">{color}'
                        f'<ofd:TextCode X="0" Y="{item.size:g}"{dx}>{esc(item.text)}</ofd:TextCode></ofd:TextObject>')
        files[f"Doc_0/Pages/Page_{n}/Content.xml"] = f"""<?xml version="1.0" encoding="UTF-8"?>
<ofd:Page xmlns:ofd="{_NS}"><ofd:Template TemplateID="2" ZOrder="Background"/><ofd:Content><ofd:Layer ID="{next(ids)}">
{chr(10).join(objs)}
</ofd:Layer></ofd:Content></ofd:Page>"""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in files.items():
            z.writestr(name, text)
    return path
