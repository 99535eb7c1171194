"""Property-based tests (hypothesis) for the parser and for the offline extractive citations.

Parser: `ingest_text` on arbitrary text — random Unicode and text assembled from gazette
fragments (第X条, 一、, （一）, 〔2022〕, tables with | and tabs, traditional characters,
signatures, dates, odd line breaks) — never crashes, and what it returns is consistent:
every chunk lies inside its document, every chunk line comes from that document's text,
chunk ids are unique.

Offline answers: whatever the question and whichever real articles were retrieved, the
citations only ever point to real indexed articles (the retrieved ones, or for a document card
the document's own opening), each quote occurs verbatim in its passage, and the [n] markers of
the text are exactly the citations.
(tests/answer/test_citations.py already checks the LLM citation mapping, map_citations.)
"""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa.answer.citations import parse_markers
from qa.answer.compose import ArticleAnswerer
from qa.answer.coverage import Coverage
from qa.answer.evidence import EvidenceScorer
from qa.answer.library import DocumentLibrary
from qa.answer.model import AnswerModels
from qa.retrieve.intent import classify
from qa.config import load_settings
from qa.ingest import ingest_text
from qa.models import Hit

SETTINGS = load_settings()

CN_NUM = ["一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二", "二十", "一百"]
TOPICS = ["养犬登记", "活禽交易", "补助资金", "黄金深加工", "政府投资项目", "移民后期扶持", "生活垃圾分类"]

fragments = st.one_of(
    st.sampled_from(CN_NUM).map(lambda n: f"第{n}条"),
    st.sampled_from(CN_NUM).map(lambda n: f"第{n}條"),  # traditional
    st.sampled_from(CN_NUM).map(lambda n: f"第{n}章 总则"),
    st.sampled_from(CN_NUM).map(lambda n: f"{n}、"),
    st.sampled_from(CN_NUM).map(lambda n: f"（{n}）"),
    st.integers(1, 30).map(lambda n: f"{n}."),
    st.integers(1, 30).map(lambda n: f"（{n}）"),
    st.integers(2017, 2023).map(lambda y: f"〔{y}〕"),
    st.integers(1, 99).map(lambda n: f"招政发〔2022〕{n}号"),
    st.integers(1, 99).map(lambda n: f"临兰政字〔2022〕{n}号"),
    st.sampled_from(TOPICS).map(lambda t: f"关于印发《{t}管理办法》的通知"),
    st.sampled_from(TOPICS).map(lambda t: f"{t}实施意见"),
    st.sampled_from(TOPICS).map(lambda t: f"对{t}给予最高100万元补助。"),
    st.sampled_from(["招远市人民政府", "临沂市兰山区人民政府办公室", "青岛市人民政府", "淄博市周村区人民政府"]),
    st.tuples(st.integers(2017, 2023), st.integers(1, 12), st.integers(1, 28)).map(lambda t: f"{t[0]}年{t[1]}月{t[2]}日"),
    st.sampled_from(["二〇二二年三月五日", "（2022年3月5日）", "自2022年1月1日起施行", "有效期至2024年12月31日", "有效期3年"]),
    st.sampled_from(["本辦法適用於本市行政區域內的養犬管理。", "第一條 為了規範活禽交易，制定本辦法。", "臺灣", "發展與規劃"]),
    st.sampled_from(["| 项目 | 金额 |", "|---|---|", "| 设备投资 | 20% |", "指标\t2025年\t属性", "目录", "……………… 3", "- 12 -"]),
    st.sampled_from(["各镇人民政府、街道办事处：", "现印发给你们，请认真贯彻执行。", "附件：", "抄送：", "（此件公开发布）"]),
    st.sampled_from(["\t", "|", " ", "\u3000", "　　", "\r", "\u2028", "\x0c", "\u00a0", "。", "；", "：", "《", "》"]),
    st.text(max_size=30),
)
separators = st.sampled_from(["\n", "\n", "\n", "\r\n", "\n\n", "", " ", "\t"])
gazette_text = st.lists(st.tuples(fragments, separators), max_size=60).map(lambda xs: "".join(a + b for a, b in xs))
any_text = st.one_of(gazette_text, st.text(max_size=400))


def _compact(text: str) -> str:
    return re.sub(r"\s+", "", text)


def check_ingest(text: str) -> None:
    docs, chunks = ingest_text(text, "prop.txt", SETTINGS)
    by_id = {d.doc_id: d for d in docs}
    assert len(by_id) == len(docs), "document ids must be unique"
    assert len({c.chunk_id for c in chunks}) == len(chunks), "chunk ids must be unique"
    for d in docs:
        assert 0 <= d.start <= d.end <= len(text)
        assert d.title.strip()
    for c in chunks:
        assert c.text.strip() and c.text_simplified.strip(), c
        assert c.locator and c.heading_path, c
        d = by_id.get(c.doc_id)
        assert d is not None, f"chunk {c.chunk_id} has no document"
        assert c.heading_path[0] == d.title
        assert d.start <= c.start <= c.end <= d.end, (c.chunk_id, c.start, c.end, d.start, d.end)
        # every line of the chunk is text of its own document (whitespace aside: lines are re-joined)
        source = _compact(text[d.start : d.end])
        for line in c.text.split("\n"):
            assert _compact(line) in source, (line, c.chunk_id)
        assert c.tokens >= 1


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(any_text)
def test_ingest_text_never_crashes_and_is_consistent(text: str) -> None:
    check_ingest(text)


def test_ingest_text_edge_cases() -> None:
    for text in ["", "\n\n", "\ufeff", "第一条", "第一条\n第一条\n第一条", "一、\n（一）\n1.\n（1）", "|\t|\n\t", "\r\n" * 5,
                 "关于印发《》的通知", "第" + "一" * 500 + "条", "〔2022〕" * 200, "a" * 20000]:
        check_ingest(text)


# --- extractive answers: citations point only to retrieved hits, quotes are verbatim ---------

questions = st.one_of(
    st.text(max_size=60),
    st.lists(st.one_of(st.sampled_from(TOPICS), st.sampled_from(["多少", "补助", "罚款", "什么时候", "谁负责", "哪些", "吗？", "[1]", "第三条"])),
             min_size=1, max_size=6).map("".join),
)


_ANSWERERS: dict[int, tuple] = {}


def offline_answer(corpus, question: str, hits: list[Hit]) -> tuple[str, list]:  # noqa: ANN001
    """The offline answer to `question` from exactly these hits (no retrieval, coverage full)."""
    if id(corpus) not in _ANSWERERS:
        library = DocumentLibrary(corpus.documents, corpus.chunks)
        models = AnswerModels.load()
        _ANSWERERS[id(corpus)] = (EvidenceScorer(models.article, library.idf), ArticleAnswerer(models, library))
    scorer, answerer = _ANSWERERS[id(corpus)]
    intent = classify(question)
    evidence = scorer.run(question, intent, hits, [], [])
    composed = answerer.run(question, intent, evidence, Coverage("full"), [], [])
    return composed.text, composed.citations


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_offline_citations_point_to_real_articles_and_quote_verbatim(corpus, data) -> None:  # noqa: ANN001
    docs = {d.doc_id: d for d in corpus.documents}
    idx = data.draw(st.lists(st.integers(0, len(corpus.chunks) - 1), min_size=0, max_size=8, unique=True))
    hits = [Hit(chunk=corpus.chunks[i], document=docs[corpus.chunks[i].doc_id], score=1.0 / (r + 1), rank=r + 1)
            for r, i in enumerate(idx)]
    question = data.draw(questions)
    text, citations = offline_answer(corpus, question, hits)
    chunks = {c.chunk_id: c for c in corpus.chunks}
    hit_docs = {h.document.doc_id for h in hits}
    assert [c.marker for c in citations] == list(range(1, len(citations) + 1))
    assert sorted(set(parse_markers(text))) == [c.marker for c in citations]
    for c in citations:
        chunk = chunks.get(c.chunk_id)
        assert chunk is not None and chunk.doc_id in hit_docs, "a citation points outside the retrieved documents"
        # the article is the unit of citation: the passage is the piece cited, or the pieces of its
        # article the answer quoted, in the article's order
        pieces = [p.text for p in _ANSWERERS[id(corpus)][1].library.pieces(chunk)]
        quoted = [p for p in pieces if p in c.passage]
        assert chunk.text in quoted and c.passage == "\n".join(quoted)
        # neighbouring sentences are one verbatim stretch; gaps between picked sentences are ……
        assert c.quote and all(part and part in c.passage for part in c.quote.split("……")), "quote not verbatim"
        doc = docs[chunk.doc_id]
        assert (c.doc_title, c.doc_number, c.locator) == (doc.title, doc.number, chunk.locator)
    if not hits:
        assert text == "" and citations == []


def test_marker_like_source_text_is_not_a_marker(corpus) -> None:  # noqa: ANN001
    """发文字号 written with ASCII brackets (鲁文艺[2018]4号) in a quoted article must not read as citation [2018]."""
    docs = {d.doc_id: d for d in corpus.documents}
    chunks = [c for c in corpus.chunks if parse_markers(c.text)]
    assert chunks, "the seeds contain 发文字号 like 鲁文艺[2018]4号"
    for c in chunks:
        hits = [Hit(chunk=c, document=docs[c.doc_id], score=1.0, rank=1)]
        text, citations = offline_answer(corpus, c.text_simplified[:60], hits)
        assert citations and sorted(parse_markers(text)) == [x.marker for x in citations], text
        assert any(parse_markers(x.quote) for x in citations)  # the citation's quote stays verbatim
