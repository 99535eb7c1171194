"""Document splitting and metadata, against the real seeds."""

from __future__ import annotations

from collections import Counter

import pytest

# Counted by reading the files: 000 and 002 open with a table of contents listing
# 11 and 22 documents, and each of those has its own 发文字号 line; 001 has 29 发文字号
# lines (several documents in it have no title, only a number); 003 has two 青岛市人民政府令
# (第279号, 第280号) and 13 发文字号 lines, and the gazette's list of appointments after its last
# document (近期市政府任免的工作人员名单) is an item of its own; 004 is one notice issuing one compilation.
EXPECTED_DOCS = {
    "000_3ea1e19526f9a4bf.txt": 11,
    "001_fb8b3c0168c93d37.txt": 29,
    "002_ace590f4be284911.txt": 22,
    "003_4507ffc9cc3e9098.txt": 16,
    "004_e9b96b9635c13b94.txt": 1,
}


def test_document_counts_per_file(corpus):
    counts = Counter(d.source_file for d in corpus.documents)
    assert dict(counts) == EXPECTED_DOCS
    assert all(r.ok for r in corpus.reports)


def _doc(corpus, number):
    docs = [d for d in corpus.documents if d.number == number]
    assert len(docs) == 1, f"{number}: {len(docs)} documents"
    return docs[0]


@pytest.mark.parametrize(
    "number, title, issuer, date, region",
    [
        ("招政发〔2022〕8号", "关于加快黄金深加工产业发展的扶持意见", "招远市人民政府", "2022-02-07", "招远市"),
        ("招政办字〔2022〕2号", "关于贯彻《烟台市养犬管理条例》的实施意见", "招远市人民政府办公室", None, "招远市"),
        ("临兰政办发〔2022〕11号", "兰山区政府投资项目变更管理办法", "临沂市兰山区人民政府办公室", "2022-08-30", "临沂市兰山区"),
        ("临兰政办字〔2022〕47号", None, "临沂市兰山区人民政府办公室", None, "临沂市兰山区"),
        ("周政字〔2017〕44号", "关于落实国发〔2017〕46号文件取消一批区级行政许可事项的通知", "周村区人民政府", "2017-11-18", "淄博市周村区"),
        ("周政办发〔2017〕15号", "周村区综合行政执法体制改革实施意见", "周村区人民政府办公室", None, "淄博市周村区"),
        ("青岛市人民政府令第279号", "青岛市活禽交易管理办法", "青岛市人民政府", "2020-09-11", "青岛市"),
        ("青政发〔2020〕12号", "关于推动传统产业高质量发展的意见", "青岛市人民政府", "2020-09-20", "青岛市"),
        ("青政办发〔2020〕12号", "青岛市道路交通事故社会救助基金管理办法", "青岛市人民政府办公厅", None, "青岛市"),
    ],
)
def test_metadata_samples(corpus, number, title, issuer, date, region):
    d = _doc(corpus, number)
    if title:
        assert d.title == title
    assert d.issuer == issuer
    if date:
        assert d.date == date
    assert d.region == region


@pytest.mark.parametrize(
    "number, title",
    [
        # printed without a title line: named from what the opening paragraph says the document is
        ("兰人社发〔2022〕10号", "关于联合举办全区第一届“劳动之星”职业技能竞赛暨临沂市第十五届“劳动之星”职业技能竞赛选拔赛的通知"),
        ("义政发〔2022〕30号", "关于开展“飞线”专项整治行动的实施方案"),
        ("汪政发〔2022〕61号", "关于汪沟镇计划增设村卫生室一处"),
    ],
)
def test_untitled_documents_are_named_from_their_opening(corpus, number, title):
    assert _doc(corpus, number).title == title


def test_notice_keeps_relation_to_issued_document(corpus):
    d = _doc(corpus, "招政发〔2022〕8号")
    assert d.notice_title == "招远市人民政府关于印发《关于加快黄金深加工产业发展的扶持意见》的通知"
    assert d.effective_date == "2022-02-07"  # 本意见自公布之日起实施，有效期三年
    assert d.expiry_date == "2025-02-06"


def test_effective_and_expiry_dates(corpus):
    d = _doc(corpus, "临兰政办发〔2022〕11号")
    assert (d.effective_date, d.expiry_date) == ("2022-10-01", "2025-09-30")
    assert _doc(corpus, "青岛市人民政府令第279号").effective_date == "2020-11-01"


def test_headerless_compilation_is_one_document(corpus):
    docs = [d for d in corpus.documents if d.source_file.startswith("004")]
    assert len(docs) == 1
    d = docs[0]
    assert "稳中求进" in d.title and d.title.endswith("实施方案汇编")
    assert d.date == "2022-04-08"
    assert d.region == "淄博市周村区"


def test_every_document_has_region_date_and_offsets(corpus, seeds_dir):
    texts = {p.name: p.read_text(encoding="utf-8") for p in seeds_dir.glob("*.txt")}
    for d in corpus.documents:
        assert d.region, d.title
        assert d.date, d.title
        assert 0 <= d.start < d.end <= len(texts[d.source_file])
    # documents of one file do not overlap
    for name in texts:
        spans = sorted((d.start, d.end) for d in corpus.documents if d.source_file == name)
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))


def test_traditional_pages_are_flagged(corpus):
    assert _doc(corpus, "青政发〔2020〕12号").traditional
    assert not _doc(corpus, "招政发〔2022〕8号").traditional


def test_table_of_contents_is_not_indexed(corpus):
    assert not any("·····" in c.text for c in corpus.chunks)
    assert not any(c.text.startswith("招远市人民政府公报") for c in corpus.chunks)


def test_an_item_printed_after_a_document_is_not_part_of_it(corpus):
    # 青政办字〔2020〕87号 ends at 三、（四）; the appointments the gazette prints after it are their own item
    drowning = _doc(corpus, "青政办字〔2020〕87号")
    last = [c for c in corpus.chunks if c.doc_id == drowning.doc_id][-1]
    assert "任命" not in last.text and "免去" not in last.text
    item = next(d for d in corpus.documents if d.title == "近期市政府任免的工作人员名单")
    assert item.number is None
    assert any("潘思晓为青岛市应急管理局局长" in c.text for c in corpus.chunks if c.doc_id == item.doc_id)


def test_an_article_opening_with_the_word_xiangmu_is_an_article(corpus):
    # "第八条 项目建设单位应当…" opens 第八条; it is not read as a reference to an article's 项
    changes = _doc(corpus, "临兰政办发〔2022〕11号")
    chunks = {c.locator: c for c in corpus.chunks if c.doc_id == changes.doc_id}
    assert chunks["第八条"].text.startswith("第八条")
    assert all("第八条" not in c.text for loc, c in chunks.items() if loc.startswith("第七条"))
