"""The records that flow between pipeline stages.

Every stage takes and returns these dataclasses, so a component can be tested
and swapped on its own. `to_dict` gives the JSON shape used by `--json`, the
REST API and the evaluation reports.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

History = list[dict[str, str]]  # a conversation: {"role": "user" | "assistant", "content": …}, oldest first


@dataclass
class Line:
    """One non-blank line of a decoded file (qa.ingest.lines splits files into these)."""

    start: int  # offsets of the stripped line in the decoded file
    end: int
    raw: str  # original text, stripped
    simp: str  # simplified characters, spaces tidied
    key: str  # simplified, no whitespace: what patterns match against
    traditional: bool = False
    noise: bool = False  # table of contents, masthead, page number
    after_noise: bool = False  # the line before it is noise (dropped): no sentence runs on into it

    @property
    def is_table(self) -> bool:
        return "|" in self.raw or "\t" in self.raw


@dataclass
class Revision:
    """A later change to a document's text (e.g. 临兰政办字〔2024〕19号: 此文件有修改)."""

    note: str  # the sentence that says so, as written (simplified, no whitespace)
    effective_date: str | None = None  # when the revised text took effect, ISO
    by: str | None = None  # 发文字号 of the document that revised it


@dataclass
class Validity:
    """When a document is in force, as its own text states it (qa.ingest.validity parses it).

    Dates are ISO yyyy-mm-dd; None means the text does not say. `status()` in
    qa.ingest.validity turns these facts and a date into in_force / expired / …
    """

    effective_date: str | None = None  # 自…起施行; 自印发/公布之日起 = the document's date
    expiry_date: str | None = None  # 有效期至…, or 有效期X年 counted from the effective date
    issued: str | None = None  # the document's own date (nothing is in force before it is issued)
    term: str | None = None  # the sentence stating effect and term, e.g. 本意见自公布之日起实施，有效期三年。
    term_locator: str | None = None  # the article holding that sentence, e.g. 五、3.
    provisional: bool = False  # 试行 / 暂行
    repeals: list[str] = field(default_factory=list)  # 发文字号 it declares repealed (同时废止)
    repealed_by: str | None = None  # 发文字号 of an indexed document that repeals this one
    repealed_on: str | None = None  # from when (the repealing document's effective date)
    revisions: list[Revision] = field(default_factory=list)
    interpreter: str | None = None  # 本办法由XX负责解释
    period: str | None = None  # planning period or year named in the title, e.g. 2021—2025年 (not a term)
    period_end: str | None = None

    def __post_init__(self) -> None:
        # rebuilt from JSON (the index store): nested records arrive as dicts
        self.revisions = [r if isinstance(r, Revision) else Revision(**r) for r in self.revisions]

    @property
    def stated(self) -> bool:
        """The text states an effective date or a term."""
        return bool(self.effective_date or self.expiry_date)


@dataclass
class Document:
    """One issued document inside a seed file (a notice, 办法, 意见, 方案 …)."""

    doc_id: str
    title: str  # the issued document's own title, e.g. 关于加快黄金深加工产业发展的扶持意见
    source_file: str  # file name relative to the corpus root
    start: int  # character offsets of the document in the decoded source file
    end: int
    notice_title: str | None = None  # covering notice, e.g. 招远市人民政府关于印发《…》的通知
    number: str | None = None  # 发文字号, e.g. 招政发〔2022〕8号
    issuer: str | None = None
    date: str | None = None  # 成文/公布 date, ISO yyyy-mm-dd
    region: str | None = None  # e.g. 临沂市兰山区
    effective_date: str | None = None  # 自…起施行
    expiry_date: str | None = None  # 有效期至…
    traditional: bool = False  # some of its text was written in traditional characters
    validity: Validity | None = None  # all validity facts (effective/expiry above are copies of two of them)

    def __post_init__(self) -> None:
        if isinstance(self.validity, dict):  # rebuilt from the index store's JSON
            self.validity = Validity(**self.validity)

    def label(self) -> str:
        """Short human label: 《title》（number）."""
        return f"《{self.title}》" + (f"（{self.number}）" if self.number else "")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Chunk:
    """One article: the unit a person cites (第十四条, 三、（一）2., a table …)."""

    chunk_id: str  # stable: derived from document and locator, not list position
    doc_id: str
    locator: str  # short human locator: 第十四条, 三、（一）2.
    heading_path: list[str]  # document title > chapter > section > article
    text: str  # original text, for display and quoting
    text_simplified: str  # simplified-character text, for indexing
    start: int  # offsets of the chunk in the decoded source file
    end: int
    tokens: int = 0  # cl100k token count of text_simplified
    kind: str = "article"  # article | notice | preamble | table | text

    def embed_text(self) -> str:
        """What is embedded and indexed: the heading path gives the article its context."""
        return " > ".join(self.heading_path) + "\n" + self.text_simplified

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Filters:
    """Explicit restrictions a caller (or the question itself) puts on retrieval."""

    regions: list[str] = field(default_factory=list)  # e.g. ["临沂市兰山区"]
    doc_ids: list[str] = field(default_factory=list)
    date_from: str | None = None  # ISO dates, inclusive
    date_to: str | None = None
    in_force: bool = False  # only documents in force (or stating no term) on as_of
    as_of: str | None = None  # ISO date the validity of documents is judged on; None = today

    def is_empty(self) -> bool:
        """Nothing restricts retrieval (as_of alone only changes how validity is reported)."""
        return not (self.regions or self.doc_ids or self.date_from or self.date_to or self.in_force)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Hit:
    """A retrieved chunk with its document and scores."""

    chunk: Chunk
    document: Document
    score: float
    rank: int = 0
    scores: dict[str, float] = field(default_factory=dict)  # per retriever: bm25, dense, rerank …
    context: list[Chunk] = field(default_factory=list)  # adjacent articles it refers to

    @property
    def chunk_id(self) -> str:
        return self.chunk.chunk_id

    def to_dict(self) -> dict[str, Any]:
        d = self.document
        c = self.chunk
        return {
            "rank": self.rank,
            "chunk_id": c.chunk_id,
            "score": self.score,
            "scores": self.scores,
            "text": c.text,
            "heading_path": c.heading_path,
            "locator": c.locator,
            "doc_id": d.doc_id,
            "doc_title": d.title,
            "doc_number": d.number,
            "issuer": d.issuer,
            "date": d.date,
            "region": d.region,
            "source_file": d.source_file,
            "start": c.start,
            "end": c.end,
            "context": [{"chunk_id": x.chunk_id, "locator": x.locator, "text": x.text} for x in self.context],
        }


@dataclass
class Citation:
    """A numbered source behind a claim in the answer."""

    marker: int  # the n of [n] in the answer text
    chunk_id: str
    doc_title: str
    doc_number: str | None
    locator: str
    issuer: str | None
    date: str | None
    region: str | None
    quote: str  # the sentence(s) the claim rests on, verbatim from the passage
    passage: str  # the whole article text
    source_file: str = ""
    # {"status", "effective_date", "expiry_date", "repealed_by", "as_of"} (qa.ingest.validity.citation_validity)
    validity: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Answer:
    """What the assistant returns for one question."""

    question: str
    text: str  # answer with [n] markers
    citations: list[Citation] = field(default_factory=list)
    coverage: str = "full"  # full | partial (the topic is covered, the detail asked is not) | none (declined)
    hits: list[Hit] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage
    mode: str = "extractive"  # extractive | llm
    standalone_question: str = ""  # the question after follow-up rewriting
    filters: Filters = field(default_factory=Filters)  # explicit and inferred filters used
    notice: str | None = None  # e.g. "LLM unreachable, answered offline"
    flagged: bool = False  # an LLM answer whose claims carry no valid citation
    intent: str = ""  # what the question asks for (qa.answer.intent), e.g. amount, list, by-doc

    @property
    def refused(self) -> bool:
        """Declined: exactly when the documents do not cover the question at all."""
        return self.coverage == "none"

    def to_dict(self, with_hits: bool = True) -> dict[str, Any]:
        out = {
            "question": self.question,
            "standalone_question": self.standalone_question,
            "answer": self.text,
            "citations": [c.to_dict() for c in self.citations],
            "refused": self.refused,
            "coverage": self.coverage,
            "intent": self.intent,
            "mode": self.mode,
            "notice": self.notice,
            "flagged": self.flagged,
            "filters": self.filters.to_dict(),
            "timings": self.timings,
        }
        if with_hits:
            out["hits"] = [h.to_dict() for h in self.hits]
        return out
