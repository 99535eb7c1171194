"""The answer pipeline: one call from a question (and history, filters) to a cited Answer.

rewrite follow-up → retrieve → decide (which articles answer; full, partial or no coverage)
→ answer (offline: quoted in the shape the question asks for; or an OpenAI-compatible LLM,
falling back to offline) → Answer with citations, coverage and timings.
"""

from __future__ import annotations

import re
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass, replace
from datetime import date
from functools import cached_property
from typing import TYPE_CHECKING, Any

from qa.answer.baseline import QuoteTopAnswerer
from qa.answer.compose import ArticleAnswerer, heads_list, listed_kind
from qa.answer.coverage import Coverage, CoverageJudge, after_term, content_words, later_year, neighbour_subject, only_totals, other_grants, quotes_above, word_features
from qa.answer.evidence import FIGURE_SLOTS, ArticleEvidence, EvidenceScorer, content_grams
from qa.answer.followup import History, is_followup, rewrite_followup
from qa.answer.library import DocumentLibrary
from qa.answer.model import AnswerModels
from qa.config import Settings, load_settings
from qa.retrieve.intent import Intent, asks_of_each, aspect_words, compared_sides, narrows, several_asks, slogan_items
from qa.retrieve.synonyms import expand
from qa.retrieve.query import number_key
from qa.text import compact, to_simplified
from qa.models import Answer, Document, Filters, Hit

if TYPE_CHECKING:
    from qa.retrieve.hybrid import RetrievalResult

SIDE_TITLE_SHARE = 0.5  # a compared side sharing this much of a found document's title names that document
EMPTY_QUESTION = "请输入您想咨询的问题，例如：“我家狗要办证吗？” / Please type a question."
NOT_CHINESE_HINT = "本助手根据中文政府文件作答，请尽量用中文提问。"


@dataclass
class Decision:
    """What the retrieved evidence supports: the articles that answer and how fully."""

    query: str  # the expanded query retrieval saw
    result: "RetrievalResult"
    intent: Intent
    evidence: list[ArticleEvidence]  # the first hits, scored as answers
    cited: list[ArticleEvidence]  # the ones the answer will quote
    coverage: Coverage
    named_documents: list[str]


@dataclass
class Measures:
    """A broad question's measures: the answering document's articles found for it, and the subject
    the question narrows to ("融资这块" → 融资, 金融 …; [] when it narrows nothing), decided once here
    and read by the outline."""

    evidence: list[ArticleEvidence]
    subject: list[str]


@dataclass
class _Turn:
    """One question on its way to an answer: what the steps found, and what every Answer to it
    carries whichever way it is answered."""

    question: str  # as asked (capped)
    standalone: str  # follow-up rewritten to stand alone
    history: History | None
    result: "RetrievalResult"
    decision: Decision
    notice: str | None  # the LLM path replaces it when it falls back to the offline answer
    timings: dict[str, float]
    t0: float  # when the question came in

    def fields(self) -> dict[str, Any]:
        """Answer fields shared by every kind of answer."""
        return dict(
            question=self.question, hits=self.result.hits, standalone_question=self.standalone,
            filters=self.result.filters, notice=self.notice, intent=self.decision.intent.kind,
        )

    def finish(self) -> None:
        self.timings["total"] = time.perf_counter() - self.t0


class Assistant:
    """Loads the index once; answers questions with citations."""

    def __init__(self, settings: Settings | None = None, retriever: object | None = None, generator: object | None = None) -> None:
        self.settings = settings or load_settings()
        if retriever is None:
            from qa.retrieve.hybrid import Retriever

            retriever = Retriever.load(self.settings)
        self.retriever = retriever
        self.library = DocumentLibrary(list(retriever.store.documents), list(retriever.store.chunks))
        self.models = AnswerModels.load(self.settings.answer_model or None)
        self.scorer = EvidenceScorer(
            self.models.article, self.library.idf, max_hits=self.settings.answer_hits, continuation=self.library.continuation,
            pieces=self.library.pieces, whole_chars=self.settings.quote_whole_max_chars,
        )
        partial_below = self.settings.partial_below if self.settings.partial_below is not None else self.models.partial_below
        st = self.settings
        self.judge = CoverageJudge(self.models.coverage, partial_below, st.coverage_near_sentences, st.coverage_focus_ratio)
        self.answerer = ArticleAnswerer(
            self.models, self.library, max_articles=st.answer_max_articles, whole_max_chars=st.quote_whole_max_chars,
            excerpt_chars=st.quote_excerpt_chars, broad_items=st.broad_items, broad_chars=st.broad_chars,
            broad_more=st.broad_more,
        )
        self.baseline = QuoteTopAnswerer(2) if self.settings.answerer == "quote-top2" else None
        self.startup_notice: str | None = None
        self.generator = generator if generator is not None else self._make_generator()

    def _make_generator(self) -> object | None:
        s = self.settings
        if not s.llm_base_url:
            return None
        from qa.answer.llm import LLMGenerator, LLMUnavailable
        from qa.answer.prompts import PromptLibrary

        try:
            return LLMGenerator(
                base_url=s.llm_base_url,
                model=s.llm_model,
                api_key=s.llm_api_key,
                timeout=s.llm_timeout,
                prompts=PromptLibrary(s.prompts_dir),
                context_tokens=s.context_tokens,
                max_tokens=s.llm_max_tokens,
                system_as_user=s.llm_system_as_user,
            )
        except LLMUnavailable as err:  # a malformed endpoint must not stop the offline answers
            self.startup_notice = f"大模型配置无效，已使用离线摘录模式（{err}）"
            return None

    # --- what the assistant knows --------------------------------------------------------

    @property
    def mode(self) -> str:
        return "llm" if self.generator is not None else "extractive"

    def describe_mode(self) -> str:
        if self.generator is None:
            return "离线摘录模式（不使用大模型，答案逐句摘自文件原文）"
        g = self.generator
        return f"大模型模式：{getattr(g, 'model', '')} @ {getattr(g, 'safe_url', '')}（不可用时自动改用离线摘录）"

    @cached_property
    def corpus_text(self) -> str:
        """All indexed text, to check whether a place a question names occurs at all."""
        return "".join(c.text_simplified for c in self.retriever.store.chunks)

    def defers(self, evidence: list[ArticleEvidence]) -> ArticleEvidence | None:
        """The most likely article when it holds no figure and refers the matter to a document the
        collection does not hold (by title); None otherwise."""
        best = max(evidence, key=lambda e: e.prob)
        if best.slot:
            return None
        for m in _DEFERS.finditer(to_simplified(best.hit.chunk.text)):
            if compact(m.group(1)) not in self.titles:
                return best
        return None

    def refers_list(self, article: ArticleEvidence) -> bool:
        """The article names the list asked for by the title of a document the collection does not hold
        ("严格执行《烟台市禁养烈性犬品种名录和大型犬标准》"): the names are in that list, not here."""
        text = to_simplified(article.hit.chunk.text)
        return any(not self.holds_list(m.group(1)) for m in _LISTED.finditer(text))

    def holds_list(self, title: str) -> bool:
        """A document of that title, or that list as an attachment ("附件:兰山区…事项目录" and a line of its own),
        not only mentioned as 《…》."""
        if compact(title) in self.titles:
            return True
        if title not in self._held:  # two passes over the whole collection: once per title
            self._held[title] = self.corpus_text.count(title) > self.corpus_text.count(f"《{title}》")
        return self._held[title]

    @cached_property
    def _held(self) -> dict[str, bool]:
        """holds_list's answers so far, by title."""
        return {}

    @cached_property
    def titles(self) -> frozenset[str]:
        """Every indexed document's title, compacted and simplified."""
        return frozenset(compact(to_simplified(d.title)) for d in self.documents)

    def quotes_number(self, number: str) -> bool:
        """Some indexed text cites this 发文字号 (a provincial policy a district's compilation carries out)."""
        key = number_key(number)
        if key is None:
            return False
        pre, year, n = (re.escape(x) for x in key)
        year_part = rf"\s*[〔\[［【(（]\s*{year}\s*[〕\]］】)）]" if key[1] else ""
        return re.search(rf"{pre}{year_part}\s*第?\s*{n}\s*号", self.corpus_text) is not None

    def nearest_numbers(self, number: str) -> str:
        """The number as said in a decline, with the indexed documents of the same year and serial
        number ("招政发〔2022〕2号" → …（同年同号收录的是招政办字〔2022〕2号《…》）): a prefix misremembered."""
        key = number_key(number)
        same = [
            f"{d.number}《{d.title}》" for d in self.documents
            if key and (k := number_key(d.number or "")) and k[1:] == key[1:] and k != key and k[0][0] == key[0][0]
        ]
        return f"{number}（同年同号收录的是{'、'.join(same[:2])}）" if same else number

    @property
    def corpus_grams(self) -> frozenset[str]:
        """Every character bigram of the collection: question words outside it are not covered."""
        return self.library.grams

    @property
    def documents(self) -> list[Document]:
        return list(self.retriever.store.documents)

    @cached_property
    def chunk_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for c in self.retriever.store.chunks:
            counts[c.doc_id] = counts.get(c.doc_id, 0) + 1
        return counts

    # --- answering -----------------------------------------------------------------------

    def ask(self, question: str, history: History | None = None, filters: Filters | None = None) -> Answer:
        answer = None
        for item in self.stream(question, history, filters):
            if isinstance(item, Answer):
                answer = item
        assert answer is not None
        return answer

    def stream(self, question: str, history: History | None = None, filters: Filters | None = None) -> Iterator[str | Answer]:
        """Yield text pieces as they are ready, then the complete Answer:
        rewrite → retrieve → decide → answer, each step timed."""
        t0 = time.perf_counter()
        question = (question or "").strip()
        if not question.strip("？?。.!！ \t\n"):
            yield EMPTY_QUESTION
            yield Answer(question=question, text=EMPTY_QUESTION, coverage="none", notice="empty question")
            return
        question, notice = self._capped(question)
        timings: dict[str, float] = {}

        standalone = self._standalone(question, history)[: self.settings.max_question_chars]  # a rewrite is capped like a typed question
        timings["rewrite"] = time.perf_counter() - t0

        t = time.perf_counter()
        query, result = self.retrieve(standalone, filters)
        timings["retrieve"] = time.perf_counter() - t

        t = time.perf_counter()
        decision = self.decide(standalone, query, result)
        timings["decide"] = time.perf_counter() - t

        turn = _Turn(question, standalone, history, result, decision, self._notice(notice, result), timings, t0)
        yield from self._answer(turn)

    def _capped(self, question: str) -> tuple[str, str | None]:
        """A question cut to max_question_chars, with the notice that says so (None if not cut)."""
        limit = self.settings.max_question_chars
        if len(question) > limit:
            return question[:limit], f"问题过长，只使用了前 {limit} 个字。"
        return question, None

    def _notice(self, notice: str | None, result: "RetrievalResult") -> str | None:
        """What the answer tells the person besides the answer: the question cut, the typos
        retrieval corrected, or else why the assistant started offline."""
        if result.analysis and result.analysis.corrections:
            understood = "，".join(f"“{a}”理解为“{b}”" for a, b in result.analysis.corrections)
            notice = (notice + " " if notice else "") + f"已将{understood}。"
        return notice or self.startup_notice

    def _answer(self, turn: "_Turn") -> Iterator[str | Answer]:
        """The answer the decision allows, by the first of: the quote-top2 baseline, a refusal
        (no coverage), the LLM, the offline composer (also when the LLM is unavailable)."""
        if self.baseline is not None:  # qa eval --config quote-top2: the simple thing, never declines
            yield from self._answer_baseline(turn)
            return
        if turn.decision.coverage.level == "none":
            yield from self._answer_refusal(turn)
            return
        if self.generator is not None:
            answered = yield from self._answer_llm(turn)
            if answered:
                return
        yield from self._answer_offline(turn)

    def _answer_baseline(self, turn: "_Turn") -> Iterator[str | Answer]:
        """The two best hits quoted (qa.answer.baseline)."""
        assert self.baseline is not None
        text, citations = self.baseline.run(turn.result.hits)
        yield text
        turn.finish()
        yield Answer(text=text, citations=citations, timings=turn.timings, mode="quote-top2", **turn.fields())

    def _answer_refusal(self, turn: "_Turn") -> Iterator[str | Answer]:
        """No article answers: say so, and why, and point to the nearest documents."""
        text = self.refusal_message(turn.standalone, turn.result.hits, turn.result.filters, turn.decision.coverage.reason)
        yield text
        turn.finish()
        yield Answer(text=text, coverage="none", timings=turn.timings, mode=self.mode, **turn.fields())

    def _answer_llm(self, turn: "_Turn") -> Generator[str | Answer, None, bool]:
        """The model's answer, streamed, then the Answer; False when the model is unavailable
        (after a paragraph break, with the notice saying so) for the offline answer to follow."""
        from qa.answer.llm import LLMUnavailable

        hits, filters = turn.result.hits, turn.result.filters
        t = time.perf_counter()
        try:
            # the model reads the articles that answer first (evidence order), then the rest
            ranked = [e.hit for e in sorted(turn.decision.evidence, key=lambda e: -e.prob)]
            ranked += [h for h in hits if h not in ranked]
            answer = yield from self._stream_llm(turn.standalone, ranked, turn.history)
        except LLMUnavailable as err:
            turn.notice = f"大模型暂不可用，已改用离线摘录模式作答（{err}）"
            yield "\n\n"
            return False
        turn.timings["generate"] = time.perf_counter() - t
        turn.finish()
        answer.question, answer.hits = turn.question, hits if not answer.hits else answer.hits
        answer.standalone_question, answer.filters = turn.standalone, filters
        answer.timings = {**turn.timings, **answer.timings}
        answer.notice, answer.intent = turn.notice, turn.decision.intent.kind
        if answer.refused:
            answer.text = self.refusal_message(turn.standalone, hits, filters)
        elif turn.decision.coverage.level == "partial":
            answer.coverage = "partial"
        yield from self._validity(answer, filters)
        yield answer
        return True

    def _answer_offline(self, turn: "_Turn") -> Iterator[str | Answer]:
        """The cited articles quoted in the shape the question asks for (qa.answer.compose),
        streamed line by line."""
        d, result = turn.decision, turn.result
        t = time.perf_counter()
        measures = self.measures(turn.standalone, d)
        composed = self.answerer.run(
            turn.standalone, d.intent, measures.evidence or d.evidence, d.coverage,
            result.analysis.regions if result.analysis else [], d.named_documents, d.cited, subject=measures.subject,
        )
        turn.timings["generate"] = time.perf_counter() - t
        for line in composed.text.splitlines(keepends=True):
            yield line
        turn.finish()
        answer = Answer(
            text=composed.text, citations=composed.citations, timings=turn.timings, mode="extractive",
            coverage=d.coverage.level, **turn.fields(),
        )
        yield from self._validity(answer, result.filters)
        yield answer

    def decide(self, standalone: str, query: str, result: "RetrievalResult") -> Decision:
        """Score the retrieved articles as answers, choose the ones to cite, judge coverage."""
        analysis = result.analysis
        intent = analysis.intent if analysis else Intent()
        regions = analysis.regions if analysis else []
        named = analysis.named_documents if analysis else []
        hits = self.library.without_rosters(result.hits, standalone)
        evidence = self.scorer.run(query, intent, hits, regions, named)
        if intent.kind == "list" and (slogan := slogan_items(standalone)) is not None:
            evidence = evidence + self.enumeration(query, intent, slogan, hits, evidence, regions, named)
        elif intent.kind == "list" and (kinds := listed_kind(standalone)) and evidence:
            evidence = evidence + self.headed_list(query, intent, kinds, evidence, regions, named)
        if intent.kind == "comparison" or asks_of_each(standalone):
            evidence = evidence + self.side_evidence(standalone, intent, result, evidence, regions, named)
        cited = self.answerer.select(intent, evidence, regions, named, standalone)
        if intent.kind not in ("by-doc", "validity", "broad") and several_asks(standalone):
            cited = self.scorer.complement(query, cited, evidence, hits, regions, named, intent.slot in FIGURE_SLOTS)
        if intent.kind == "department" and intent.slot in FIGURE_SLOTS:  # an office and a sum asked
            cited = self.scorer.office(query, cited, evidence, hits, regions, named)
        if intent.kind not in ("by-doc", "validity", "broad"):  # a card or an outline, not quotes
            cited = self.scorer.with_pieces(query, intent, cited, hits, regions, named)
        words = word_features(
            content_words(analysis.text if analysis else standalone, regions), evidence, self.corpus_text,
            self.library.word_idf, self.library.max_idf,
        )
        # a document card states the document's dates and what it is for: a by-document question
        # about a named document ("…讲了什么？何时印发？") is not hedged for a figure or a date
        slot = None if intent.kind == "by-doc" and named else intent.slot
        coverage = self.judge.run(
            standalone, evidence, cited, slot, self.corpus_grams, bool(named), words,
            named_by_number=bool(analysis and analysis.filters.doc_ids),
            other_places=analysis.other_places if analysis else [], named_regions=regions,
            neighbour=neighbour_subject(standalone, evidence, self.library.rare),
            unknown_numbers=[self.nearest_numbers(n) for n in (analysis.unknown_numbers if analysis else []) if not self.quotes_number(n)],
        )
        if coverage.level == "full" and intent.slot in FIGURE_SLOTS and evidence and (deferred := self.defers(evidence)):
            # the article most likely to answer sets no sum of its own but refers to another document
            # ("按照《…扶持政策》（招政发〔2020〕12号）执行") the collection does not hold: a sum in some
            # other article (检测机构落户奖励) is not the one asked for
            coverage = replace(coverage, level="partial", missing=intent.slot)
            cited = [deferred] + [e for e in cited if e is not deferred and not e.slot]  # not the other sums
        if (
            coverage.level == "partial" and not coverage.missing and intent.kind == "yesno" and cited
            and self.answerer.verdict(standalone, cited[0], regions, evidence)
        ):
            # hedged by the coverage model alone, yet the best article states the rule on the modal asked
            # (严禁…挂钩 for "罚的款能留在单位自己花吗"): the verdict answers it
            coverage = replace(coverage, level="full")
        if coverage.level == "partial" and intent.kind == "list" and cited and self.answerer.series(standalone, cited[0]):
            # "十件实事都有啥": the items of the series the first article is one of are the list asked for
            coverage = replace(coverage, level="full", missing=None)
        if coverage.level == "full" and intent.kind in ("list", "amount") and (year := later_year(standalone, cited)):
            # a list or a figure of a year the documents do not speak of ("2023年又新增了哪些行业", "2019年的时候已经
            # 建成多少个" of a 2020 plan's targets): they do not say it
            coverage = replace(coverage, level="partial", missing="year", reason=year)
        if coverage.level == "full" and intent.kind == "list" and cited and self.refers_list(cited[0]):
            # "哪些烈性犬不让养": the best article refers to a 名录 the collection does not hold
            coverage = replace(coverage, level="partial", missing="list")
        if coverage.level == "full" and intent.slot in FIGURE_SLOTS and quotes_above(standalone, cited):
            # "省里那笔奖励，区里具体能给多少": the figures cited are the province's, quoted by the district's compilation
            coverage = replace(coverage, level="partial", missing="local")
        if coverage.level == "full" and intent.slot in FIGURE_SLOTS and only_totals(standalone, cited):
            # "一张券能抵多少": the figures cited are totals (安排资金100万元), none a sum per thing
            coverage = replace(coverage, level="partial", missing=intent.slot)
        if coverage.level == "full" and intent.slot in FIGURE_SLOTS and (kind := other_grants(standalone, cited, intent.slot)):
            # "护理补贴…每月多少元": every sum cited is another grant's (缴费补贴 60 元); the sum asked is not written
            # when a cited article names the kind without one
            named_kind = any(kind in to_simplified(e.hit.chunk.text) for e in cited)
            coverage = replace(coverage, level="partial", missing=intent.slot if named_kind else None)
        if (
            coverage.level == "full" and intent.kind not in ("by-doc", "validity")
            and (ended := after_term(standalone, cited, result.filters.as_of or date.today().isoformat()))
        ):
            # who serves after a term of office the cited appointment states ended ("2023年10月起新一届法律顾问")
            coverage = replace(coverage, level="partial", missing="term", reason=ended)
        return Decision(query, result, intent, evidence, cited, coverage, named)

    def enumeration(
        self, query: str, intent: Intent, slogan: "re.Pattern[str]", hits: list[Hit], evidence: list[ArticleEvidence],
        regions: list[str], named: list[str],
    ) -> list[ArticleEvidence]:
        """For a list named by its count and first word ("好几个“一”，都是哪几个"), the article of a retrieved
        document that enumerates them (一次告知、一套材料、一窗受理…) when no retrieved article does:
        its words are the answer, not the question's, so retrieval ranks it low. [] otherwise."""
        if any(slogan.search(to_simplified(e.hit.chunk.text)) for e in evidence):
            return []
        docs: dict[str, Document] = {}
        for h in hits[: self.settings.answer_hits]:
            docs.setdefault(h.document.doc_id, h.document)  # in the order retrieval found them
        for doc in docs.values():
            found = next((c for c in self.library.chunks(doc.doc_id) if slogan.search(to_simplified(c.text))), None)
            if found is not None:
                return self.scorer.run(query, intent, [Hit(found, doc, 0.0)], regions, named)
        return []

    def headed_list(
        self, query: str, intent: Intent, kinds: list[str], evidence: list[ArticleEvidence], regions: list[str], named: list[str],
    ) -> list[ArticleEvidence]:
        """For a list question naming the kind of thing it asks for ("都有哪几种整治办法"), the article of the
        best document headed by that kind and opening an enumeration ("四、整治方式 …以下方式进行:") when
        retrieval did not bring it: its heading says the kind, its items the answer, and neither shares
        the question's story words. [] when a scored article of that document is one."""
        doc = max(evidence, key=lambda e: e.prob).hit.document
        if any(e.hit.document.doc_id == doc.doc_id and heads_list(e.hit.chunk, kinds) for e in evidence):
            return []
        found = next((c for c in self.library.chunks(doc.doc_id) if heads_list(c, kinds)), None)
        return [] if found is None else self.scorer.run(query, intent, [Hit(found, doc, 0.0)], regions, named)

    def side_evidence(
        self, standalone: str, intent: Intent, result: "RetrievalResult", evidence: list[ArticleEvidence],
        regions: list[str], named: list[str],
    ) -> list[ArticleEvidence]:
        """For a question comparing two named things or asking of each ("…医保基金监管联席会议与预防学生溺水
        联席会议，其办公室各设在哪个部门？"), the first articles of a search for each thing without the other:
        the whole question's words favour one of them, whose articles fill the first hits. Scored against
        that side's question; only articles of documents not among those scored (a side already there
        is answered from the first hits)."""
        sides = compared_sides(standalone)
        if not sides:
            return []
        docs = {e.hit.document.doc_id for e in evidence}
        titles = [content_grams(" ".join(filter(None, (d.region, d.issuer, d.title, d.number))))
                  for d in {e.hit.document.doc_id: e.hit.document for e in evidence}.values()]
        out: list[ArticleEvidence] = []
        for n, side in enumerate(sides):
            own = content_grams(side)
            if any(len(own & t) >= SIDE_TITLE_SHARE * len(own) for t in titles):
                continue  # the side names a document already among the hits ("兰山区方城镇防溺水攻坚行动方案")
            asked = standalone.replace(sides[1 - n], "")
            hits = self.retriever.run(asked, k=self.settings.side_hits, filters=result.filters, mode=self.settings.retrieval_mode).hits
            new = [h for h in self.library.without_rosters(hits, asked) if h.document.doc_id not in docs]
            docs.update(h.document.doc_id for h in new)
            if new:
                out += self.scorer.run(expand(asked), intent, new, regions, named)
        return out

    def measures(self, standalone: str, d: Decision) -> Measures:
        """For a broad question answered (有什么扶持; in full or hedged), the answering document's own articles
        found by a second search inside it — its measures reach well past the first hits of the whole
        collection — and the subject it narrows to; no evidence for any other question. Only the offline
        answer lists them, so only it searches."""
        if d.intent.kind != "broad" or not d.coverage.topical or not d.cited:
            return Measures([], [])
        result = d.result
        doc = d.cited[0].hit.document
        inside = replace(result.filters, doc_ids=[doc.doc_id])
        hits = self.retriever.run(standalone, k=self.settings.broad_read, filters=inside, mode=self.settings.retrieval_mode).hits
        regions = result.analysis.regions if result.analysis else []
        words = aspect_words(standalone, doc.title, [*regions, doc.region or ""])
        subject = words if narrows(words, [h.chunk for h in hits if h.chunk.doc_id == doc.doc_id]) else []
        if subject:
            # "融资这块有哪些扶持": the document's articles on that subject, which the whole question's
            # other words (企业, 入驻, 产业园) outrank; the outline leads with them
            on = self.retriever.run(expand(" ".join(subject)), k=self.settings.broad_read, filters=inside, mode=self.settings.retrieval_mode)
            seen = {h.chunk.chunk_id for h in hits}
            hits = hits + [h for h in on.hits if h.chunk.chunk_id not in seen]
        return Measures(self.scorer.run(d.query, d.intent, hits, regions, d.named_documents, limit=len(hits)), subject)

    def _validity(self, answer: Answer, filters: Filters) -> Iterator[str]:
        """Citations get their validity on filters.as_of (default today); the warnings for cited
        documents not in force are appended to the text and streamed (qa.ingest.validity)."""
        from qa.ingest.validity import annotate_answer

        extra = annotate_answer(answer, getattr(self.retriever, "store", None), filters.as_of)
        if extra:
            yield extra

    def retrieve(self, standalone: str, filters: Filters | None = None) -> tuple[str, RetrievalResult]:
        """The question with official terms added (what answers are matched against) and what
        retrieval finds for it (the retriever expands the question itself)."""
        result = self.retriever.run(standalone, k=self.settings.top_k, filters=filters, mode=self.settings.retrieval_mode)
        understood = result.analysis.text if result.analysis else standalone  # typos fixed, filler dropped
        return expand(understood), result

    def _standalone(self, question: str, history: History | None) -> str:
        if self.generator is not None and is_followup(question, history):
            from qa.answer.llm import LLMUnavailable

            try:
                return self.generator.rewrite_followup(question, history)
            except LLMUnavailable:
                pass
        return rewrite_followup(question, history, getattr(getattr(self.retriever, "analyzer", None), "region_pattern", None))

    def _stream_llm(self, question: str, hits: list[Hit], history: History | None):  # type: ignore[no-untyped-def]
        """Stream tokens from the LLM; return the Answer with validated citations."""
        return (yield from self.generator.answer_stream(question, hits, history))

    def refusal_message(self, question: str, hits: list[Hit], filters: Filters, reason: str = "") -> str:
        """Say what was searched and point to the nearest documents found."""
        scope = ""
        if filters.regions:
            scope = f"（范围：{'、'.join(filters.regions)}）"
        msg = f"抱歉，已收录的文件中没有找到能回答“{_echo(question)}”的规定{scope}。"
        if reason:
            msg += reason + "。"
        near: list[str] = []
        for h in hits:
            label = f"《{h.document.title}》{h.chunk.locator}"
            if label not in near:
                near.append(label)
            if len(near) == 3:
                break
        if near:
            msg += "最接近的内容：" + "；".join(near) + "，供参考。"
        covered = self.library.collection()
        if covered:
            msg += f"目前收录的是{covered}的政策文件。"
        return msg


# "严格执行《X品种名录和大型犬标准》": a list named by the title of the document that holds it
_LISTED = re.compile(r"《([^《》]{0,60}(?:名录|目录|清单|名单)[^《》]{0,30})》")
# "按照《X》（招政发〔2020〕12号）执行": the matter is settled in document X
_DEFERS = re.compile(r"(?:按照?|参照|依照|依据)《([^《》]{4,60})》(?:[（(][^（）()]{2,30}[)）])?(?:的?(?:有关|相关)?规定)?(?:执行|落实|办理|兑现)")


def _echo(question: str, limit: int = 80) -> str:
    """The question as repeated in a message: without citation markers (a question typed as
    "[1] 《…》" must not look like a cited claim of the answer) and not 2,000 characters long."""
    from qa.answer.citations import strip_markers

    # a year in square brackets is a 发文字号's ("青政发[2020]99号"), not a citation marker
    question = re.sub(r"[\[【［]\s*((?:19|20)\d{2})\s*[\]】］]", r"〔\1〕", question)
    shown = " ".join(strip_markers(question).split())
    return shown if len(shown) <= limit else shown[:limit] + "…"
