"""The answer pipeline: one call from a question (and history, filters) to a cited Answer.

rewrite follow-up → retrieve → decide (answer or decline) → generate (extractive, or an
OpenAI-compatible LLM with fallback to extractive) → Answer with citations and timings.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from functools import cached_property
from typing import TYPE_CHECKING

from qa.answer.extractive import ExtractiveAnswerer
from qa.answer.followup import History, is_followup, rewrite_followup
from qa.answer.refusal import RefusalPolicy
from qa.config import Settings, load_settings
from qa.retrieve.synonyms import expand
from qa.models import Answer, Document, Filters, Hit

if TYPE_CHECKING:
    from qa.retrieve.hybrid import RetrievalResult

EMPTY_QUESTION = "请输入您想咨询的问题，例如：“我家狗要办证吗？” / Please type a question."
NOT_CHINESE_HINT = "本助手根据中文政府文件作答，请尽量用中文提问。"


class Assistant:
    """Loads the index once; answers questions with citations."""

    def __init__(self, settings: Settings | None = None, retriever: object | None = None, generator: object | None = None) -> None:
        self.settings = settings or load_settings()
        if retriever is None:
            from qa.retrieve.hybrid import Retriever

            retriever = Retriever.load(self.settings)
        self.retriever = retriever
        self.extractive = ExtractiveAnswerer()
        self.refusal = RefusalPolicy.from_settings(self.settings)
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
        return f"大模型模式：{getattr(g, 'model', '')} @ {g._safe_url() if hasattr(g, '_safe_url') else ''}（不可用时自动改用离线摘录）"

    @cached_property
    def corpus_text(self) -> str:
        """All indexed text, to check whether a place a question names occurs at all."""
        return "".join(c.text_simplified for c in self.retriever.store.chunks)

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
        """Yield text pieces as they are ready, then the complete Answer."""
        t0 = time.perf_counter()
        question = (question or "").strip()
        if not question.strip("？?。.!！ \t\n"):
            yield EMPTY_QUESTION
            yield Answer(question=question, text=EMPTY_QUESTION, refused=True, notice="empty question")
            return
        notice = None
        if len(question) > self.settings.max_question_chars:
            question = question[: self.settings.max_question_chars]
            notice = f"问题过长，只使用了前 {self.settings.max_question_chars} 个字。"
        timings: dict[str, float] = {}

        standalone = self._standalone(question, history)[: self.settings.max_question_chars]  # a rewrite is capped like a typed question
        timings["rewrite"] = time.perf_counter() - t0

        t = time.perf_counter()
        query, result = self.retrieve(standalone, filters)
        hits: list[Hit] = result.hits
        timings["retrieve"] = time.perf_counter() - t

        t = time.perf_counter()
        picks = self.extractive.score_sentences(query, hits)
        decision = self.refusal.run(standalone, hits, picks, self.corpus_text, bool(result.inferred.doc_ids))
        refused = decision.refuse
        timings["decide"] = time.perf_counter() - t
        notice = notice or self.startup_notice
        base = dict(question=question, hits=hits, standalone_question=standalone, filters=result.filters, notice=notice)

        if refused:
            text = self.refusal_message(standalone, hits, result.filters, decision.reason)
            yield text
            timings["total"] = time.perf_counter() - t0
            yield Answer(text=text, refused=True, timings=timings, mode=self.mode, **base)
            return

        if self.generator is not None:
            from qa.answer.llm import LLMUnavailable

            t = time.perf_counter()
            try:
                answer = yield from self._stream_llm(standalone, hits, history)
            except LLMUnavailable as err:
                base["notice"] = f"大模型暂不可用，已改用离线摘录模式作答（{err}）"
                yield "\n\n"
            else:
                timings["generate"] = time.perf_counter() - t
                timings["total"] = time.perf_counter() - t0
                answer.question, answer.hits = question, hits if not answer.hits else answer.hits
                answer.standalone_question, answer.filters = standalone, result.filters
                answer.timings = {**timings, **answer.timings}
                answer.notice = notice
                if answer.refused:
                    answer.text = self.refusal_message(standalone, hits, result.filters)
                yield answer
                return

        t = time.perf_counter()
        text, citations = self.extractive.run(query, hits)
        timings["generate"] = time.perf_counter() - t
        for line in text.splitlines(keepends=True):
            yield line
        timings["total"] = time.perf_counter() - t0
        yield Answer(text=text, citations=citations, timings=timings, mode="extractive", **base)

    def retrieve(self, standalone: str, filters: Filters | None = None) -> tuple[str, RetrievalResult]:
        """The expanded query and what it retrieves (also used to calibrate the refusal)."""
        query = expand(standalone)
        return query, self.retriever.run(query, k=self.settings.top_k, filters=filters, mode=self.settings.retrieval_mode)

    def _standalone(self, question: str, history: History | None) -> str:
        if self.generator is not None and is_followup(question, history):
            from qa.answer.llm import LLMUnavailable

            try:
                return self.generator.rewrite_followup(question, history)
            except LLMUnavailable:
                pass
        return rewrite_followup(question, history)

    def _stream_llm(self, question: str, hits: list[Hit], history: History | None):  # type: ignore[no-untyped-def]
        """Stream tokens from the LLM; return the Answer with validated citations."""
        from qa.answer.citations import map_citations
        from qa.answer.prompts import REFUSAL, is_refusal

        _, included = self.generator.messages(question, hits, history)
        parts: list[str] = []
        for token in self.generator.stream(question, hits, history):
            parts.append(token)
            yield token
        raw = "".join(parts).strip()
        if not raw:
            from qa.answer.llm import LLMUnavailable

            raise LLMUnavailable("empty answer from the model")
        if is_refusal(raw):
            return Answer(question=question, text=REFUSAL, refused=True, hits=list(included), mode="llm")
        text, citations, flagged = map_citations(raw, included)
        return Answer(question=question, text=text, citations=citations, flagged=flagged, hits=list(included), mode="llm")

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
        return msg


def _echo(question: str, limit: int = 80) -> str:
    """The question as repeated in a message: without citation markers (a question typed as
    "[1] 《…》" must not look like a cited claim of the answer) and not 2,000 characters long."""
    from qa.answer.citations import strip_markers

    shown = " ".join(strip_markers(question).split())
    return shown if len(shown) <= limit else shown[:limit] + "…"
