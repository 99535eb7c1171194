"""The one Assistant shared by the chat UI and the HTTP API, plus small input helpers."""

from __future__ import annotations

import threading
import re
from collections.abc import AsyncIterator, Iterator, Mapping
from datetime import date
from typing import Any

from qa.app.limits import AnswerPool
from qa.config import Settings
from qa.models import Answer, Document, Filters, History


class SharedAssistant:
    """Wraps the Assistant so concurrent requests never run its code at the same time.

    The lock is taken per streamed step, not for a whole answer: retrieval (jieba,
    FAISS, BM25 state) is exclusive, while two LLM streams still interleave token
    by token, and a client that disconnects mid-stream never keeps the lock.
    The web routes answer through `pool` (qa/app/limits.py), never on the web server's threads.
    Everything else (documents, mode, retriever …) is delegated unchanged.
    """

    def __init__(self, assistant: Any, pool: AnswerPool | None = None) -> None:
        from qa.index.watch import Reloader

        self._assistant = assistant
        self._lock = threading.Lock()
        # follow `qa index` runs without a restart (replicas on one Milvus store; qa.index.watch)
        self._reloader = Reloader.for_assistant(assistant)
        if pool is None:
            s = getattr(assistant, "settings", None) or Settings()
            pool = AnswerPool(s.answer_workers, s.answer_queue, s.answer_per_client, s.answer_timeout)
        self.pool = pool

    async def astream(self, client: str, question: str, history: History | None = None,
                      filters: Filters | None = None) -> AsyncIterator[str | Answer]:  # fmt: skip
        """`stream` computed in the answer pool, fair between clients; closing it stops the work."""
        agen = self.pool.stream(client, lambda: self.stream(question, history, filters))
        try:
            async for item in agen:
                yield item
        finally:
            await agen.aclose()

    async def aask(self, client: str, question: str, history: History | None = None, filters: Filters | None = None) -> Answer:
        answer = None
        async for item in self.astream(client, question, history, filters):
            if isinstance(item, Answer):
                answer = item
        if answer is None:
            raise RuntimeError("the answer pipeline returned no answer")
        return answer

    def stream(self, question: str, history: History | None = None, filters: Filters | None = None) -> Iterator[str | Answer]:
        self.refresh()
        it = self._assistant.stream(question, history=history, filters=filters)
        while True:
            with self._lock:
                try:
                    item = next(it)
                except StopIteration:
                    return
            yield item

    def ask(self, question: str, history: History | None = None, filters: Filters | None = None) -> Answer:
        answer = None
        for item in self.stream(question, history, filters):
            if isinstance(item, Answer):
                answer = item
        if answer is None:  # the pipeline always ends with an Answer; guard against a broken one
            raise RuntimeError("the answer pipeline returned no answer")
        return answer

    def refresh(self, force: bool = False) -> bool:
        """Switch to the live index generation when it changed (qa.index.watch.Reloader: checked at most
        every reload_check_seconds, or now with `force`); True when it switched."""
        reloader = self._reloader
        if reloader is None:
            return False
        old = self._assistant
        fresh = reloader.current(old, force=force)
        if fresh is old:
            return False
        self.swap(fresh)
        return True

    def follow(self, every: float) -> None:
        """Follow new generations even with reload_check_seconds = 0 (a server whose 文件管理 writes them)."""
        if self._reloader is None:
            from qa.index.base import store_backend
            from qa.index.watch import Reloader

            settings = getattr(self._assistant, "settings", None)
            if settings is None:
                return
            factory = type(self._assistant)
            self._reloader = Reloader(store_backend(settings), lambda: factory(settings), every)

    def swap(self, assistant: Any) -> None:
        """Answer from now on with `assistant` (a new index generation); answers in flight finish on the old one."""
        with self._lock:
            self._assistant = assistant

    @property
    def lock(self) -> threading.Lock:
        """Held while the pipeline runs; work outside `stream` (the eval tab) takes it too."""
        return self._lock

    def __getattr__(self, name: str) -> Any:
        return getattr(self._assistant, name)

    # --- facts for the UI and /api/health ---------------------------------------------------

    def document_list(self) -> list[Document]:
        return list(self._assistant.documents)

    def titles(self) -> dict[str, str]:
        return {d.doc_id: d.title for d in self._assistant.documents}

    def regions(self) -> list[str]:
        return sorted({d.region for d in self._assistant.documents if d.region})

    def chunk_total(self) -> int:
        return int(sum(self._assistant.chunk_counts.values()))

    def index_info(self) -> dict[str, Any]:
        """Facts about the index (manifest) that name no path, file or endpoint."""
        store = getattr(getattr(self._assistant, "retriever", None), "store", None)
        manifest: Mapping[str, Any] = getattr(store, "manifest", None) or {}
        out = {k: manifest[k] for k in PUBLIC_INDEX_FACTS if k in manifest}
        # articles saved before their vectors (first run, a new upload): keyword search only for them
        out["dense_pending"] = int((manifest.get("extra") or {}).get("dense_pending") or 0)
        # … and sentences not embedded yet (qa.index.sentences: neutral for the answer stage until then)
        out["sentences_pending"] = int((manifest.get("extra") or {}).get("sentences_pending") or 0)
        return out

    def public_mode_label(self) -> str:
        """The answer mode for anyone to read: the LLM's model and endpoint are not shown."""
        if getattr(self._assistant, "mode", "extractive") == "extractive":
            return self._assistant.describe_mode()
        return "大模型模式（不可用时自动改用离线摘录）"


# What /api/health may show of the manifest: no "extra" (source paths), no "files" (file names).
PUBLIC_INDEX_FACTS = ("format_version", "created_at", "embedder_id", "embedder_dim", "chunker_version",
                      "corpus_hash", "document_count", "chunk_count", "dense_kind")  # fmt: skip


def clean_history(messages: list[Mapping[str, Any]] | None) -> History:
    """Keep user/assistant turns with text content (OpenAI content parts are joined)."""
    out: History = []
    for m in messages or []:
        role = m.get("role")
        if role not in ("user", "assistant"):
            continue
        text = content_text(m.get("content"))
        if text.strip():
            out.append({"role": str(role), "content": text})
    return out


def content_text(content: Any) -> str:
    """OpenAI message content: a string, or a list of parts of which the text ones count."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if isinstance(part, Mapping) and part.get("type") == "text" and isinstance(part.get("text"), str):
                texts.append(part["text"])
            elif isinstance(part, str):
                texts.append(part)
        return "\n".join(texts)
    return str(content)


_SURROGATE = re.compile("[\ud800-\udfff]")


def check_text(value: Any, what: str, max_chars: int | None = None) -> str:
    """A client's text: a str without lone surrogates (they cannot be encoded as UTF-8), within
    `max_chars`. Raises ValueError with a message for the client."""
    if not isinstance(value, str):
        raise ValueError(f"{what} 必须是文本 / {what} must be a string, not {type(value).__name__}")
    if _SURROGATE.search(value):
        raise ValueError(f"{what} 含有无效字符（孤立的代理码位）/ {what} contains an invalid character (lone surrogate)")
    if max_chars is not None and len(value) > max_chars:
        raise ValueError(f"{what} 过长（{len(value)} 字，上限 {max_chars}）/ {what} too long ({len(value)} > {max_chars} characters)")
    return value


def check_history(history: History, settings: Settings) -> History:
    """Earlier turns within the configured bounds (count, characters per turn)."""
    if len(history) > settings.max_history_messages:
        raise ValueError(f"对话历史过长（{len(history)} 条，上限 {settings.max_history_messages}）/ "
                         f"too many history messages ({len(history)} > {settings.max_history_messages})")  # fmt: skip
    for i, m in enumerate(history):
        check_text(m.get("content"), f"history[{i}]", settings.max_history_message_chars)
    return history


def check_list(values: Any, what: str, settings: Settings) -> list[str]:
    """A list filter (regions, doc_ids): strings, at most `max_filter_items`, each short."""
    if values is None:
        return []
    if not isinstance(values, list):
        raise ValueError(f"{what} 必须是列表 / {what} must be a list")
    if len(values) > settings.max_filter_items:
        raise ValueError(f"{what} 过多（{len(values)} 项，上限 {settings.max_filter_items}）/ "
                         f"too many {what} ({len(values)} > {settings.max_filter_items})")  # fmt: skip
    return [check_text(v, what, 200) for v in values]


def parse_day(value: Any, *, end: bool = False) -> str | None:
    """'2021', '2021-3', '2021-03-05', a date or a timestamp → ISO date (None when empty).

    A bare year or month means its first day, or its last day when `end` is set,
    so a range "2020 – 2021" includes all of 2021. Raises ValueError otherwise.
    """
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value.isoformat()[:10]
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(f"无法识别的日期 / not a date: {str(value)[:40]!r}（格式：2021-03-05）")
    if isinstance(value, (int, float)):
        from datetime import datetime

        try:  # a huge or odd number is a bad date, not a crash
            return datetime.fromtimestamp(float(value)).date().isoformat()
        except (OverflowError, OSError, ValueError) as exc:
            raise ValueError(f"无效的日期 / invalid date: {str(value)[:40]}") from exc
    if len(value) > 40:
        raise ValueError(f"无法识别的日期 / not a date: {value[:40]!r}…（格式：2021-03-05）")
    s = str(value).strip().replace("/", "-").replace(".", "-").replace("年", "-").replace("月", "-").replace("日", "")
    s = s.split(" ")[0].split("T")[0].strip("-")
    if not s:
        return None
    parts = s.split("-")
    try:
        nums = [int(p) for p in parts]
    except ValueError as exc:
        raise ValueError(f"无法识别的日期 / not a date: {value!r}（格式：2021-03-05）") from exc
    if len(nums) == 1:
        y, m, d = nums[0], 12 if end else 1, 31 if end else 1
    elif len(nums) == 2:
        y, m = nums
        if end:
            import calendar

            try:
                d = calendar.monthrange(y, m)[1] if 1 <= m <= 12 else 0
            except (ValueError, OverflowError) as exc:  # a year out of range
                raise ValueError(f"无效的日期 / invalid date: {value!r}") from exc
        else:
            d = 1
    elif len(nums) == 3:
        y, m, d = nums
    else:
        raise ValueError(f"无法识别的日期 / not a date: {value!r}（格式：2021-03-05）")
    try:
        return date(y, m, d).isoformat()
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"无效的日期 / invalid date: {value!r}") from exc


def make_filters(
    regions: list[str] | None = None,
    doc_ids: list[str] | None = None,
    date_from: Any = None,
    date_to: Any = None,
) -> Filters | None:
    """Filters from loose inputs; None when nothing restricts the search."""
    f = Filters(
        regions=[r for r in (regions or []) if r],
        doc_ids=[d for d in (doc_ids or []) if d],
        date_from=parse_day(date_from),
        date_to=parse_day(date_to, end=True),
    )
    if f.date_from and f.date_to and f.date_from > f.date_to:
        raise ValueError(f"起始日期晚于截止日期 / date_from {f.date_from} is after date_to {f.date_to}")
    return None if f.is_empty() else f
