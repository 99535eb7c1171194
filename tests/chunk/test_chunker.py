"""Chunking by article, against the real seeds."""

from __future__ import annotations

import re

from qa.config import load_settings
from qa.ingest import ingest_paths
from qa.ingest.lines import compact, mark_noise, split_lines


def _chunk(corpus, number, locator):
    doc = next(d for d in corpus.documents if d.number == number)
    found = [c for c in corpus.chunks if c.doc_id == doc.doc_id and c.locator == locator]
    assert found, f"{number} {locator}: not found among {[c.locator for c in corpus.chunks if c.doc_id == doc.doc_id][:40]}"
    return found[0]


def test_traditional_article_whole_and_simplified_for_index(corpus):
    c = _chunk(corpus, "青岛市人民政府令第279号", "第十四条")
    assert c.text.startswith("第十四條")  # original characters kept for quoting
    assert "處500元以上1萬元以下罰款" in c.text
    assert "由鎮人民政府決定" in c.text  # the article's last paragraph is inside
    assert "处500元以上1万元以下罚款" in c.text_simplified
    assert "第十五" not in c.text
    assert c.heading_path[0] == "青岛市活禽交易管理办法"


def test_an_attachment_after_the_signature_is_a_part_of_its_own(corpus):
    # 义政发〔2022〕30号 names no document in 《》: its 附件 (the leading group's members) is still no
    # part of its last article 六、（四）, and the text before it is the document, not a covering notice
    doc = next(d for d in corpus.documents if d.number == "义政发〔2022〕30号")
    chunks = [c for c in corpus.chunks if c.doc_id == doc.doc_id]
    last = [c for c in chunks if c.locator == "六、（四）"]
    assert last and not any("孙伯成" in c.text for c in last)
    assert any(c.locator == "附件" and "孙伯成" in c.text for c in chunks)
    assert chunks[0].locator == "前言" and chunks[0].kind == "preamble"


def test_article_seven(corpus):
    c = _chunk(corpus, "青岛市人民政府令第279号", "第七条")
    assert c.text_simplified.startswith("第七条")
    assert "第八条" not in c.text_simplified


def test_article_without_space_after_number(corpus):
    # 第二条使用政府财政预算… has no space after 第二条
    c = _chunk(corpus, "临兰政办发〔2022〕11号", "第二条")
    assert c.text.startswith("第二条使用政府财政预算基本建设资金")
    assert "第一章" in " ".join(c.heading_path) or "总则" in " ".join(c.heading_path)


def test_outline_item_locator_and_path(corpus):
    c = _chunk(corpus, "招政发〔2022〕8号", "三、（三）10.")
    assert "按照新升级设备改造投资总额的 20% 给予资金扶持" in c.text
    assert c.heading_path[:3] == ["关于加快黄金深加工产业发展的扶持意见", "三、推进措施", "（三）强化创新支持"]
    assert "鼓励企业产能升级" in c.embed_text()


def test_table_rows_keep_header_and_stay_apart(corpus):
    doc = next(d for d in corpus.documents if d.number == "周政字〔2017〕44号")
    rows = [c for c in corpus.chunks if c.doc_id == doc.doc_id and "木材经营加工许可证" in c.text]
    assert len(rows) == 1
    row = rows[0].text
    assert row.startswith("序号\t项目名称")  # header row repeated
    assert "区林业局" in row
    assert "首席技师" not in row  # the next document's text is not mixed in
    assert "取消的区级行政许可事项目录" in rows[0].heading_path


def test_a_table_row_is_not_cut_between_its_date_and_its_steps(corpus):
    # 兰山's enrolment timetable is flattened to one cell per line; a piece boundary before the long
    # cell of steps takes the row's step name and date along with it
    doc = next(d for d in corpus.documents if d.number == "临兰政办发〔2022〕7号")
    chunks = [c for c in corpus.chunks if c.doc_id == doc.doc_id]
    for date, steps in (("7月29日8:00至8月4日8:00", "面向城区"), ("7月27日8:00至29日8:00", "面向镇"),
                        ("8月14日8:00至15日20:00", "网上公布空余学位")):
        holding = [c for c in chunks if date in c.text]
        assert len(holding) == 1 and steps in holding[0].text, (date, [c.text[:80] for c in holding])


def test_broken_lines_are_repaired(corpus):
    c = _chunk(corpus, "招政发〔2022〕8号", "三、（一）2.")
    assert "对园区内新上的固定资产投资" in c.text  # was broken after 对


def test_chunks_are_within_documents_nonempty_and_unique(corpus):
    docs = {d.doc_id: d for d in corpus.documents}
    ids = [c.chunk_id for c in corpus.chunks]
    assert len(ids) == len(set(ids))
    for c in corpus.chunks:
        d = docs[c.doc_id]
        assert c.text.strip() and c.text_simplified.strip()
        assert d.start <= c.start <= c.end <= d.end, c.chunk_id
        assert c.heading_path and c.locator


def test_token_budget(corpus):
    budget = load_settings().chunk_max_tokens
    over = [c for c in corpus.chunks if c.tokens > budget * 1.6]
    assert not over, [(c.chunk_id, c.tokens) for c in over[:5]]


def test_no_body_text_lost(corpus, seeds_dir):
    """Every line of a document's body appears in one of its chunks."""
    for path in sorted(seeds_dir.glob("*.txt")):
        lines = split_lines(path.read_text(encoding="utf-8"))
        mark_noise(lines)
        docs = [d for d in corpus.documents if d.source_file == path.name]
        for d in docs:
            chunk_text = "".join(compact(c.text) for c in corpus.chunks if c.doc_id == d.doc_id)
            header = compact(d.title + (d.notice_title or "") + (d.number or "") + (d.issuer or ""))
            missing = [
                ln.raw
                for ln in lines
                if d.start <= ln.start < d.end and not ln.noise and ln.key not in chunk_text and compact(ln.raw) not in header
                and compact(ln.raw) not in chunk_text
            ]
            assert len(missing) <= 3, f"{d.title}: {missing[:5]}"


def test_chunk_ids_stable_across_runs(seeds_dir):
    a = ingest_paths([seeds_dir / "000_3ea1e19526f9a4bf.txt"])
    b = ingest_paths([seeds_dir / "000_3ea1e19526f9a4bf.txt"])
    assert [c.chunk_id for c in a.chunks] == [c.chunk_id for c in b.chunks]
    assert all(re.fullmatch(r"[0-9a-f]{12}:.+", c.chunk_id) for c in a.chunks)


def test_tiny_items_are_merged():
    from qa.ingest import ingest_text

    text = "关于测试的办法\n一、总体要求\n1.甲。\n2.乙。\n3.丙。\n二、其他\n本办法自2022年1月1日起施行。\n"
    docs, chunks = ingest_text(text, "t.txt")
    locators = [c.locator for c in chunks]
    assert "一、1.–3." in locators, locators
