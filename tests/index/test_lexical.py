"""BM25 over jieba-segmented simplified Chinese, on the whole real seed corpus."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from qa.index import STOPWORDS_ZH, BM25Index, tokenize_zh


def test_tokenize_zh_normalises_and_filters() -> None:
    toks = tokenize_zh("關於印發《招遠市養犬管理辦法》的通知，２０２２年！")
    assert "养犬" in toks and "招远市" in toks and "管理" in toks  # traditional → simplified
    assert "2022" in toks  # full-width digits → ASCII
    assert not any(t in STOPWORDS_ZH for t in toks)
    assert not any(ch in "《》，！ " for t in toks for ch in t)
    # search mode also yields the parts of long words, so 政府 matches 人民政府
    assert {"人民政府", "政府"} <= set(tokenize_zh("人民政府"))
    assert tokenize_zh("，。！？的了") == []
    assert tokenize_zh("") == []


@pytest.fixture(scope="module")
def corpus(seed_ingest):  # noqa: ANN001, ANN201
    chunks = seed_ingest.chunks
    assert len(chunks) > 1000
    bm25 = BM25Index().index([c.embed_text() for c in chunks])
    return chunks, bm25


def _row(chunks, title_part: str, locator: str, docs) -> int:  # noqa: ANN001
    doc_ids = {d.doc_id for d in docs if title_part in d.title}
    rows = [i for i, c in enumerate(chunks) if c.doc_id in doc_ids and c.locator == locator]
    assert len(rows) == 1, rows
    return rows[0]


def test_literal_query_finds_its_article(corpus, seed_ingest) -> None:  # noqa: ANN001
    chunks, bm25 = corpus
    cases = [
        ("投资强度达到280万元/亩以上的补助比例", "全市重点项目建设专项扶持资金补助办法", "第三条2."),
        ("水库移民每年进行几次人口核查", "周村区大中型水库移民后期扶持人口动态管理办法", "二、"),
    ]
    for query, title, locator in cases:
        want = _row(chunks, title, locator, seed_ingest.documents)
        ids, scores = bm25.retrieve(query, k=5)
        assert ids[0] == want, (query, [chunks[i].locator for i in ids])
        assert np.all(np.diff(scores) <= 0) and scores[-1] > 0


def test_filtered_retrieve_mask_and_ids(corpus) -> None:  # noqa: ANN001
    chunks, bm25 = corpus
    query = "专项扶持资金补助"
    full_ids, full_scores = bm25.retrieve(query, k=10)
    # exclude the best hit: it must disappear, everything returned must be allowed
    mask = np.ones(len(chunks), dtype=bool)
    mask[full_ids[0]] = False
    ids, scores = bm25.retrieve(query, k=10, allowed=mask)
    assert full_ids[0] not in ids and mask[ids].all()
    assert list(ids[:9]) == list(full_ids[1:10])  # the rest keeps its order (exact filtering)
    # an id subset gives the same as the equivalent mask
    subset = np.flatnonzero(np.arange(len(chunks)) % 3 == 0)
    sub_mask = np.zeros(len(chunks), dtype=bool)
    sub_mask[subset] = True
    a_ids, a_scores = bm25.retrieve(query, k=10, allowed=subset)
    b_ids, b_scores = bm25.retrieve(query, k=10, allowed=sub_mask)
    assert np.array_equal(a_ids, b_ids) and np.allclose(a_scores, b_scores)
    assert all(i % 3 == 0 for i in a_ids)
    # exact: the filtered top-1 is the best-scoring allowed chunk
    all_scores = bm25.scores(query)
    assert a_scores[0] == pytest.approx(all_scores[subset].max())
    assert bm25.retrieve(query, k=10, allowed=np.zeros(len(chunks), dtype=bool))[0].size == 0
    with pytest.raises(ValueError):
        bm25.retrieve(query, k=3, allowed=np.ones(5, dtype=bool))


def test_unknown_or_empty_query_returns_nothing(corpus) -> None:  # noqa: ANN001
    _, bm25 = corpus
    ids, scores = bm25.retrieve("，。？", k=5)
    assert ids.size == 0 and scores.size == 0
    ids, _ = bm25.retrieve("qwertyuiop", k=5)
    assert ids.size == 0


def test_save_load_roundtrip(corpus, tmp_path: Path) -> None:  # noqa: ANN001
    chunks, bm25 = corpus
    bm25.save(tmp_path / "bm25")
    loaded = BM25Index.load(tmp_path / "bm25")
    assert loaded.size == bm25.size == len(chunks)
    for q in ["养犬管理", "残疾人就业补贴", "村庄规划批复", "招政发〔2022〕11号"]:
        a, sa = bm25.retrieve(q, k=10)
        b, sb = loaded.retrieve(q, k=10)
        assert np.array_equal(a, b) and np.array_equal(sa, sb)


def test_empty_index() -> None:
    bm25 = BM25Index().index([])
    assert bm25.size == 0 and bm25.retrieve("任何", k=3)[0].size == 0


def test_token_cache_reuses_terms(tmp_path):
    from qa.index.lexical import TokenCache, tokenize_zh

    texts = ["第十四条 在禁止从事活禽交易的区域内从事活禽交易的，责令改正。", "犬只登记实行集中办理。", "犬只登记实行集中办理。"]
    cache = TokenCache(tmp_path)
    first = cache.tokenize_all(texts)
    assert first == [tokenize_zh(t) for t in texts]
    rows = cache._db.execute("SELECT COUNT(*) FROM tokens").fetchone()[0]
    assert rows == 2  # one row per distinct text
    cache.close()
    again = TokenCache(tmp_path)  # a later build: terms come from disk
    assert again.tokenize_all(texts[:2]) == first[:2]
    again.close()
