"""Real files made by real tools from a seed document read like the seed text itself.

招政发〔2022〕8号 (34 articles, 10 gold questions) is written as .docx (python-docx), .doc (LibreOffice,
from that .docx), .pdf (reportlab, CJK font, page footers "— N —", running header, lines broken at
the page width), a saved 政府信息公开 web page and an OFD package; each must give the same
documents, metadata and articles as the .txt, and the same questions the same cited articles.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest

from formats_maker import from_text, write_docx, write_html, write_ofd, write_pdf
from qa.ingest import ingest_paths
from qa.ingest.lines import compact
from support import ROOT

NUMBER = "招政发〔2022〕8号"
FORMATS = ["docx", "pdf", "html", "ofd"]


@pytest.fixture(scope="module")
def made(tmp_path_factory, seeds_dir) -> dict[str, Path]:
    r = ingest_paths([seeds_dir / "000_3ea1e19526f9a4bf.txt"])
    d = next(d for d in r.documents if d.number == NUMBER)
    text = (seeds_dir / "000_3ea1e19526f9a4bf.txt").read_text(encoding="utf-8")[d.start : d.end]
    out = tmp_path_factory.mktemp("formats")
    files = {}
    for fmt in ["txt"] + FORMATS:
        (out / fmt).mkdir()
    files["txt"] = out / "txt" / "gold.txt"
    files["txt"].write_text(text, encoding="utf-8")
    doc = from_text(text)
    files["docx"] = write_docx(doc, out / "docx" / "gold.docx")
    files["pdf"] = write_pdf(doc, out / "pdf" / "gold.pdf")
    files["html"] = write_html(doc, out / "html" / "gold.html", site="招远市人民政府", pub_date="2022-02-08", date="2022-02-07")
    files["ofd"] = write_ofd(doc, out / "ofd" / "gold.ofd")
    return files


def _one(path: Path):
    r = ingest_paths([path])
    assert r.reports[0].ok, r.reports[0].message
    assert len(r.documents) == 1
    return r


@pytest.mark.parametrize("fmt", FORMATS)
def test_format_parses_like_the_text(made, fmt):
    base, got = _one(made["txt"]), _one(made[fmt])
    b, g = base.documents[0], got.documents[0]
    assert got.reports[0].format == fmt
    for field in ("number", "title", "issuer", "date", "region", "notice_title", "effective_date", "expiry_date"):
        assert getattr(g, field) == getattr(b, field), field
    assert [c.locator for c in got.chunks] == [c.locator for c in base.chunks]
    assert [c.heading_path for c in got.chunks] == [c.heading_path for c in base.chunks]
    # article texts equal up to layout whitespace; the first one opens with the printed header
    assert [compact(c.text_simplified) for c in got.chunks[1:]] == [compact(c.text_simplified) for c in base.chunks[1:]]
    assert NUMBER in compact(got.chunks[0].text)


def test_pdf_page_furniture_removed_and_lines_rejoined(made):
    from qa.ingest.formats import read_file

    text = read_file(made["pdf"], 10**8).text
    assert "— 1 —" not in text and "— 2 —" not in text
    assert "招远市人民政府  招政发" not in text  # the running header of pages 2…
    # the masthead "招远市人民政府文件" became the issuer line of a gazette header, before the title
    head = [ln for ln in text.splitlines() if ln.strip()][:6]
    at = head.index(NUMBER)
    assert head[0] == "招远市人民政府" and "".join(head[1:at]) == "关于印发《关于加快黄金深加工产业发展的扶持意见》的通知"
    # a paragraph that runs over lines (and pages) comes back as one line
    lines = text.splitlines()
    assert any(ln.startswith("1. 鼓励项目引进合作") and ln.endswith("非公职人员。") for ln in lines)


def test_doc_via_libreoffice(made, tmp_path):
    from qa.ingest.formats.convert import soffice

    if soffice() is None:
        pytest.fail("LibreOffice is not installed: run scripts/install-office.sh")
    import subprocess

    subprocess.run([soffice(), f"-env:UserInstallation=file://{tmp_path}/p", "--headless", "--convert-to", "doc",
                    "--outdir", str(tmp_path), str(made["docx"])], check=True, capture_output=True, timeout=180)
    doc = tmp_path / "gold.doc"
    assert doc.is_file()
    got, base = _one(doc), _one(made["txt"])
    assert got.reports[0].format == "doc"
    assert got.documents[0].number == NUMBER
    assert [c.locator for c in got.chunks] == [c.locator for c in base.chunks]


def test_doc_without_libreoffice_names_the_converter(tmp_path, monkeypatch):
    import qa.ingest.formats.convert as convert

    monkeypatch.setattr(convert, "soffice", lambda: None)
    (tmp_path / "old.doc").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)
    r = ingest_paths([tmp_path / "old.doc"])
    assert not r.reports[0].ok and "LibreOffice" in r.reports[0].message


@pytest.mark.slow
def test_same_questions_same_cited_articles(made, tmp_path_factory):
    """Each format indexed on its own answers the gold questions on 招政发〔2022〕8号 with the same articles."""
    from conftest import EMBED_CACHE
    from qa.answer.pipeline import Assistant
    from qa.config import load_settings
    from qa.index.builder import IndexBuilder

    gold = [json.loads(line) for line in (ROOT / "eval" / "gold.jsonl").open(encoding="utf-8")]
    questions = [g["question"] for g in gold if (g.get("source") or {}).get("doc_number") == NUMBER]
    assert len(questions) >= 5
    cited: dict[str, list[list[tuple[str, str]]]] = {}
    for fmt in ["txt"] + FORMATS:
        settings = load_settings(index_dir=tmp_path_factory.mktemp(f"idx-{fmt}"), cache_dir=EMBED_CACHE, llm_base_url="")
        IndexBuilder(settings).run([made[fmt].parent], progress=False)
        assistant = Assistant(settings)
        cited[fmt] = [[(c.doc_number, c.locator) for c in assistant.ask(q).citations] for q in questions]
    assert any(cited["txt"]) and all(c and c[0][0] == NUMBER for c in cited["txt"] if c)
    for fmt in FORMATS:
        assert cited[fmt] == cited["txt"], fmt


# --- web pages: metadata only where the text lacks it --------------------------------------------


def test_web_page_metadata_fills_what_the_article_lacks(made, tmp_path):
    page = made["html"].read_text(encoding="utf-8")
    # the article without its title and number lines: the 信息公开 table and <meta> supply them
    bare = page.replace(f'<p style="text-align:center">{NUMBER}</p>', "")
    bare = bare.replace('<p style="text-align:center;font-size:22px"><strong>关于印发《关于加快黄金深加工产业发展的扶持意见》的通知</strong></p>', "")
    bare = bare.replace('<h1 class="art-title">关于印发《关于加快黄金深加工产业发展的扶持意见》的通知</h1>', "")
    (tmp_path / "bare.html").write_text(bare, encoding="utf-8")
    d = _one(tmp_path / "bare.html").documents[0]
    assert d.number == NUMBER and d.title == "关于加快黄金深加工产业发展的扶持意见" and d.date == "2022-02-07"
    # the article's own number wins over a different one in the table
    other = page.replace(f"<td>{NUMBER}</td>", "<td>招政发〔2099〕1号</td>")
    (tmp_path / "other.html").write_text(other, encoding="utf-8")
    assert _one(tmp_path / "other.html").documents[0].number == NUMBER


def test_web_page_without_article_and_site_furniture_kept_out(made, tmp_path):
    from qa.ingest.formats import read_file

    text = read_file(made["html"], 10**8).text
    for junk in ("鲁ICP备", "分享到", "当前位置", "浏览次数", "相关文件", "无障碍"):
        assert junk not in text, junk
    nav = "<html><body><ul>" + "".join(f"<li><a href='/{i}'>栏目{i}</a></li>" for i in range(30)) + "</ul></body></html>"
    (tmp_path / "nav.html").write_text(nav, encoding="utf-8")
    r = ingest_paths([tmp_path / "nav.html"])
    assert not r.reports[0].ok and "没有找到正文" in r.reports[0].message


def test_tables_kept_as_tables(tmp_path):
    from qa.ingest.formats import read_file

    src = (ROOT / "examples" / "new-policies" / "src" / "elevator.txt").read_text(encoding="utf-8")
    doc = from_text(src)
    for name, writer in (("e.docx", write_docx), ("e.html", write_html)):
        text = read_file(writer(doc, tmp_path / name), 10**8).text
        assert "楼层数\t每台补贴金额" in text and "5层至6层\t20万元" in text, name


# --- bad files ------------------------------------------------------------------------------------


def _message(path: Path) -> str:
    r = ingest_paths([path])
    assert not r.reports[0].ok, f"{path.name} should be refused"
    return r.reports[0].message


def test_bad_files_get_clear_messages(made, tmp_path):
    (tmp_path / "enc").mkdir()
    doc = from_text(made["txt"].read_text(encoding="utf-8"))
    write_pdf(doc, tmp_path / "enc" / "locked.pdf", encrypt="secret")
    assert "加密" in _message(tmp_path / "enc" / "locked.pdf")
    data = made["pdf"].read_bytes()
    (tmp_path / "cut.pdf").write_bytes(data[: len(data) // 3])
    assert "损坏" in _message(tmp_path / "cut.pdf")
    (tmp_path / "fake.pdf").write_bytes(b"<html>not a pdf</html>")
    assert "损坏" in _message(tmp_path / "fake.pdf")
    docx = made["docx"].read_bytes()
    (tmp_path / "cut.docx").write_bytes(docx[: len(docx) // 2])
    assert "损坏" in _message(tmp_path / "cut.docx")
    (tmp_path / "cut.ofd").write_bytes(made["ofd"].read_bytes()[:300])
    assert "损坏" in _message(tmp_path / "cut.ofd")
    with zipfile.ZipFile(tmp_path / "empty.ofd", "w") as z:
        z.writestr("readme.txt", "x")
    assert "OFD" in _message(tmp_path / "empty.ofd")
    with zipfile.ZipFile(tmp_path / "sheet.xlsx", "w") as z:
        z.writestr("xl/workbook.xml", "<workbook/>")
    assert "不支持的文件类型" in _message(tmp_path / "sheet.xlsx")
    with open(tmp_path / "huge.pdf", "wb") as fh:
        fh.truncate(60 * 1024 * 1024)
    assert "过大" in _message(tmp_path / "huge.pdf")
    # a good file among them is still read: nothing is lost
    shutil.copy(made["docx"], tmp_path / "good.docx")
    r = ingest_paths([tmp_path])
    assert [x.path for x in r.reports if x.ok] == ["good.docx"]


def _scanned_pdf(path: Path, lines: list[str]) -> Path:
    """A PDF whose only page is an image of text (no text layer), like a scanner makes."""
    from PIL import Image, ImageDraw, ImageFont
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    font = ImageFont.truetype("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 44)
    img = Image.new("RGB", (1654, 2339), "white")
    draw = ImageDraw.Draw(img)
    for i, line in enumerate(lines):
        draw.text((150, 300 + i * 90), line, fill="black", font=font)
    c = canvas.Canvas(str(path), pagesize=A4)
    c.drawImage(ImageReader(img), 0, 0, *A4)
    c.showPage()
    c.save()
    return path


def test_scanned_pdf_without_ocr_says_so(tmp_path, monkeypatch):
    import qa.ingest.formats.ocr as ocr

    monkeypatch.setattr(ocr, "ocr_available", lambda: False)
    pdf = _scanned_pdf(tmp_path / "scan.pdf", ["关于测试的通知", "第一条 这是扫描件。"])
    assert "扫描件需要OCR" in _message(pdf)


@pytest.mark.slow
def test_scanned_pdf_is_read_by_ocr(tmp_path):
    from qa.ingest.formats.ocr import ocr_available

    if not ocr_available():
        pytest.fail("rapidocr-onnxruntime is not installed: pip install -e '.[ocr]'")
    lines = ["招远市测试办法", "招政办发〔2023〕99号", "第一条 为规范扫描文件的识别，制定本办法。", "第二条 每台设备补贴1000元。"]
    r = ingest_paths([_scanned_pdf(tmp_path / "scan.pdf", lines)])
    assert r.reports[0].ok and r.reports[0].format == "pdf-ocr", r.reports[0].message
    d = r.documents[0]
    assert d.number == "招政办发〔2023〕99号"
    assert any("1000元" in c.text for c in r.chunks)
