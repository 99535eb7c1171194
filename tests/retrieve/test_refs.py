"""Cross-references between articles of one document, on the real corpus."""

from __future__ import annotations

from qa.retrieve.refs import build_reference_table, cn_to_int, referenced_numbers


def test_cn_to_int():
    assert [cn_to_int(s) for s in ("一", "十", "十三", "二十", "二十四", "一百零二", "13")] == [1, 10, 13, 20, 24, 102, 13]


def test_referenced_numbers_patterns():
    assert referenced_numbers("奖励标准按照本政策第 13 条执行。") == [13]
    assert referenced_numbers("对符合本暂行办法第六条规定入市条件的") == [6]
    assert referenced_numbers("违反本办法第七条第一款、第八条、第十条第一款、第十三条规定的") == [7, 8, 10, 13]
    assert referenced_numbers("依照第十条处理") == [10]
    # itself, or another law: not a reference to an article of this document
    assert referenced_numbers("本条第一款规定的处罚") == []
    assert referenced_numbers("依据《中华人民共和国动物防疫法》第七十六条") == []


def _by(corpus, number, locator):
    doc = next(d for d in corpus.documents if d.number == number)
    rows = [i for i, c in enumerate(corpus.chunks) if c.doc_id == doc.doc_id and c.locator == locator]
    assert rows, f"{number} {locator} not found"
    return rows[0]


def test_reference_table_on_corpus(corpus):
    table = build_reference_table(corpus.chunks)
    chunks = corpus.chunks
    # 招政发〔2022〕8号 三、（四）14. says "奖励标准按照本政策第 13 条执行" → item 13 of the same document
    row = _by(corpus, "招政发〔2022〕8号", "三、（四）14.")
    assert [chunks[r].locator for r in table[row]] == ["三、（四）13."]
    # 青岛市人民政府令第280号 第二十二条 refers to 本办法第十四条
    row = _by(corpus, "青岛市人民政府令第280号", "第二十二条")
    assert "第十四条" in [chunks[r].locator for r in table[row]]
    for src, targets in table.items():
        assert src not in targets
        assert all(chunks[t].doc_id == chunks[src].doc_id for t in targets)
