"""The one Assistant shared by the chat UI and the HTTP API, plus small input helpers."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from datetime import date
from typing import Any

from qa.models import Answer, Document, Filters

History = list[dict[str, str]]


class SharedAssistant:
    """Wraps the Assistant so concurrent requests never run its code at the same time.

    The lock is taken per streamed step, not for a whole answer: retrieval (jieba,
    FAISS, BM25 state) is exclusive, while two LLM streams still interleave token
    by token, and a client that disconnects mid-stream never keeps the lock.
    Everything else (documents, mode, retriever …) is delegated unchanged.
    """

    def __init__(self, assistant: Any) -> None:
        from qa.index.watch import Reloader

        self._assistant = assistant
        self._lock = threading.Lock()
        # follow `qa index` runs without a restart (replicas on one Milvus store; qa.index.watch)
        self._reloader = Reloader.for_assistant(assistant)

    def stream(self, question: str, history: History | None = None, filters: Filters | None = None) -> Iterator[str | Answer]:
        if self._reloader is not None:
            self._assistant = self._reloader.current(self._assistant)
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
        """What the index was built from (manifest), without file checksums."""
        store = getattr(getattr(self._assistant, "retriever", None), "store", None)
        manifest: Mapping[str, Any] = getattr(store, "manifest", None) or {}
        info = {k: v for k, v in manifest.items() if k not in ("files", "format")}
        path = getattr(store, "path", None)
        if path is not None:
            info["generation"] = getattr(path, "name", str(path))
        return info


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


def parse_day(value: Any, *, end: bool = False) -> str | None:
    """'2021', '2021-3', '2021-03-05', a date or a timestamp → ISO date (None when empty).

    A bare year or month means its first day, or its last day when `end` is set,
    so a range "2020 – 2021" includes all of 2021. Raises ValueError otherwise.
    """
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value.isoformat()[:10]
    if isinstance(value, (int, float)):
        from datetime import datetime

        return datetime.fromtimestamp(float(value)).date().isoformat()
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

            d = calendar.monthrange(y, m)[1] if 1 <= m <= 12 else 0
        else:
            d = 1
    elif len(nums) == 3:
        y, m, d = nums
    else:
        raise ValueError(f"无法识别的日期 / not a date: {value!r}（格式：2021-03-05）")
    try:
        return date(y, m, d).isoformat()
    except ValueError as exc:
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
