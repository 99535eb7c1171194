"""Answers written by an OpenAI-compatible chat endpoint (llama.cpp, vLLM, Ollama, OpenAI …).

The model sees only the numbered passage block; its [n] markers are then
validated and renumbered by map_citations. Every failure of the endpoint —
unreachable, timeout, HTTP error, malformed, empty or non-streaming reply —
surfaces as one LLMUnavailable so the caller can fall back to the offline
extractive answerer.
"""

from __future__ import annotations

import re
import time
from collections.abc import Generator, Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit

from qa.answer.citations import map_citations
from qa.answer.prompts import (
    REFUSAL,
    History,
    PromptLibrary,
    build_passage_block,
    format_history,
    is_refusal,
)
from qa.models import Answer, Hit

# Sent when no key is configured: the OpenAI client insists on one, local servers ignore it.
_DUMMY_KEY = "sk-no-key-required"


class LLMUnavailable(RuntimeError):
    """The LLM endpoint could not produce an answer (message is safe to show: no secrets)."""


class LLMGenerator:
    """Streams a cited answer from an OpenAI-compatible chat endpoint."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str = "",
        timeout: float = 60.0,
        prompts: PromptLibrary | None = None,
        context_tokens: int = 1800,
        max_tokens: int = 512,
        temperature: float = 0.1,
        max_retries: int = 1,
        system_as_user: bool = False,
    ) -> None:
        try:
            parts = urlsplit(base_url or "")
            ok = parts.scheme in ("http", "https") and bool(parts.hostname)
        except ValueError:
            ok = False
        if not ok:
            # LLMUnavailable, not ValueError: a misconfigured endpoint also means "answer offline".
            shown = _strip_userinfo(base_url or "")[:120]
            raise LLMUnavailable(f"LLM 地址无效: {shown!r}（应形如 http://127.0.0.1:8080/v1）")
        self.base_url = base_url.rstrip("/")
        self.model = model or "default"
        self.timeout = timeout
        self.prompts = prompts or PromptLibrary()
        self.context_tokens = context_tokens
        self.max_tokens = max_tokens
        # Some chat templates (Gemma's) silently drop the system role: send the rules in the user turn.
        self.system_as_user = system_as_user
        self._secrets = [s for s in (api_key, urlsplit(base_url).password) if s]
        try:
            self._llm = self._client(api_key, temperature, max_retries)
        except Exception as exc:  # e.g. httpx rejects the port
            raise LLMUnavailable(f"LLM 地址无效: {self.safe_url} ({type(exc).__name__})") from None

    def _client(self, api_key: str, temperature: float, max_retries: int) -> Any:
        from langchain_openai import ChatOpenAI

        return ChatOpenAI(
            base_url=self.base_url,
            model=self.model,
            api_key=api_key or _DUMMY_KEY,
            timeout=self.timeout,
            max_retries=max_retries,
            temperature=temperature,
            # ChatOpenAI would send max_completion_tokens, which llama.cpp-style servers
            # ignore; the classic field is understood by every compatible server.
            extra_body={"max_tokens": self.max_tokens},
        )

    # --- prompts --------------------------------------------------------------------------

    def messages(
        self, question: str, hits: Sequence[Hit], history: History | None = None
    ) -> tuple[list[tuple[str, str]], list[Hit]]:
        """The chat messages for `question` and the passages they number ([1] = first)."""
        block, included = build_passage_block(hits, self.context_tokens, self.prompts)
        system = self.prompts.render("system", refusal=REFUSAL)
        user = self.prompts.render(
            "answer", passages=block, history=format_history(history), question=question.strip()
        )
        if self.system_as_user:
            return [("human", f"{system}\n\n{user}")], included
        return [("system", system), ("human", user)], included

    # --- generation -----------------------------------------------------------------------

    def stream(self, question: str, hits: Sequence[Hit], history: History | None = None) -> Iterator[str]:
        """Yield answer tokens as they arrive. Raises LLMUnavailable."""
        messages, included = self.messages(question, hits, history)
        if not included:  # nothing to cite: the only honest answer, without a round trip
            yield REFUSAL
            return
        yield from self._stream(messages)

    def answer_stream(self, question: str, hits: Sequence[Hit], history: History | None = None) -> Generator[str, None, Answer]:
        """Yield answer tokens as they arrive, then return the Answer with validated citations (the
        one post-processing path: `run` and the Assistant both use it). Raises LLMUnavailable."""
        t0 = time.perf_counter()
        messages, included = self.messages(question, hits, history)
        timings: dict[str, float] = {}
        parts: list[str] = []
        if included:
            for token in self._stream(messages):
                if not parts:
                    timings["llm_first_token"] = time.perf_counter() - t0
                parts.append(token)
                yield token
        else:  # nothing to cite: the only honest answer, without a round trip
            parts.append(REFUSAL)
            yield REFUSAL
        raw = "".join(parts).strip()
        timings["llm"] = time.perf_counter() - t0
        if not raw:
            raise LLMUnavailable("empty answer from the model")
        answer = Answer(question=question, text=raw, hits=list(included), timings=timings, mode="llm", standalone_question=question)
        if is_refusal(raw):
            answer.text, answer.coverage = REFUSAL, "none"
            return answer
        answer.text, answer.citations, answer.flagged = map_citations(raw, included)
        return answer

    def run(self, question: str, hits: Sequence[Hit], history: History | None = None) -> Answer:
        """Generate, then validate citations. Raises LLMUnavailable."""
        gen = self.answer_stream(question, hits, history)
        while True:
            try:
                next(gen)
            except StopIteration as done:
                return done.value

    def rewrite_followup(self, question: str, history: History | None) -> str:
        """A standalone version of a follow-up question; the question itself without history."""
        if not history:
            return question
        prompt = self.prompts.render("followup", history=format_history(history), question=question.strip())
        text = "".join(self._stream([("human", prompt)]))
        return _first_line(text) or question

    def _stream(self, messages: list[tuple[str, str]]) -> Iterator[str]:
        got_any = False
        try:
            for chunk in self._llm.stream(messages):
                token = chunk.content if isinstance(chunk.content, str) else _text_of(chunk.content)
                if token:
                    got_any = True
                    yield token
        except LLMUnavailable:
            raise
        except Exception as exc:  # any client/transport/parse failure means "no LLM answer"
            if not got_any and isinstance(exc, ValueError) and "No generation chunks" in str(exc):
                raise LLMUnavailable(self._empty()) from None  # langchain's word for an empty stream
            raise LLMUnavailable(self._describe(exc)) from None
        if not got_any:
            raise LLMUnavailable(self._empty())

    def _empty(self) -> str:
        return f"LLM 服务 {self.safe_url} 不可用: 返回了空回答（或不是流式回答）"

    # --- errors ---------------------------------------------------------------------------

    @property
    def safe_url(self) -> str:
        """base_url without credentials or query string: safe to show."""
        return _strip_userinfo(self.base_url).split("?")[0]

    def _describe(self, exc: BaseException) -> str:
        import openai

        url = self.safe_url
        if isinstance(exc, openai.APITimeoutError):
            kind = f"超时（{self.timeout:g} 秒）"
        elif isinstance(exc, openai.APIConnectionError):
            kind = "无法连接"
        elif isinstance(exc, openai.APIStatusError):
            kind = f"HTTP {exc.status_code}"
        else:
            kind = "回答格式错误"
        detail = _redact(str(exc), self._secrets)
        detail = re.sub(r"\s+", " ", detail)[:300]
        return f"LLM 服务 {url} 不可用: {kind} ({type(exc).__name__}: {detail})"


def _strip_userinfo(url: str) -> str:
    """http://user:password@host/v1 -> http://host/v1"""
    return re.sub(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^/@]*@", r"\1", url)


def _redact(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    # Servers sometimes echo the key back in an error body ("Incorrect API key provided: sk-…").
    return re.sub(r"\b(sk|key|token)-[A-Za-z0-9_\-]{6,}", r"\1-***", text)


def _text_of(content: Any) -> str:
    """Content given as a list of parts (some servers) -> its text."""
    if isinstance(content, list):
        return "".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in content)
    return str(content or "")


def _first_line(text: str) -> str:
    for line in text.strip().splitlines():
        line = re.sub(r"^(改写后的问题|独立问题|问题)\s*[:：]\s*", "", line.strip())
        line = line.strip().strip("\"'“”「」")
        if line:
            return line
    return ""
