"""The store interface: what retrieval reads and what the index builder writes, whatever holds it.

Two implementations, chosen by `settings.vector_store`:

- "faiss" (default): FAISS + bm25s files under index_dir, atomic generations (qa.index.store);
- "milvus": vectors, article text and filter metadata in Milvus, one collection per generation
  behind an alias (qa.index.milvus).

Retrieval uses a loaded store (`RetrievalStore`): its documents and chunks (row i = chunk i),
`dense.retrieve(qvec, k, allowed=mask, selection=sel)`, `dense.vectors(rows)` and
`bm25.scores(terms)`. `allowed` is the bool mask over rows that FAISS applies; `selection` is the
same restriction as metadata conditions, which Milvus evaluates as a filter expression.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

import numpy as np

from qa.models import Chunk, Document


@dataclass(frozen=True)
class Selection:
    """Which chunks a search may return, as metadata conditions (an empty Selection allows all).

    Built by the retriever from the resolved filters; `doc_ids` already includes the in-force
    restriction (validity is judged in Python, on a date, by qa.ingest.validity).
    """

    regions: tuple[str, ...] = ()
    doc_ids: tuple[str, ...] | None = None  # None: any document; () : none
    date_from: str | None = None  # ISO, inclusive; a document without a date is outside any range
    date_to: str | None = None

    def is_empty(self) -> bool:
        return not self.regions and self.doc_ids is None and not self.date_from and not self.date_to


@runtime_checkable
class DenseSearch(Protocol):
    """Vector search over the chunk rows (inner product of L2-normalised vectors)."""

    dim: int

    @property
    def size(self) -> int: ...

    @property
    def kind(self) -> str: ...

    def retrieve(
        self,
        query_vec: np.ndarray,
        k: int = 10,
        allowed: np.ndarray | list[int] | None = None,
        selection: Selection | None = None,
    ) -> tuple[np.ndarray, np.ndarray]: ...

    def vectors(self, ids: np.ndarray | list[int]) -> np.ndarray: ...


@runtime_checkable
class LexicalScores(Protocol):
    """BM25 score of every chunk row for a query (text or terms)."""

    size: int

    def scores(self, query: str | list[str]) -> np.ndarray: ...


@runtime_checkable
class RetrievalStore(Protocol):
    """A loaded index: everything retrieval needs, from one generation."""

    documents: list[Document]
    chunks: list[Chunk]
    dense: Any  # DenseSearch
    bm25: Any  # LexicalScores
    embedder_id: str
    chunker_version: str
    manifest: dict[str, Any]
    doc_by_id: dict[str, Document]

    @property
    def generation(self) -> str: ...


DenseT = TypeVar("DenseT")
LexicalT = TypeVar("LexicalT")


@dataclass
class LoadedIndex(Generic[DenseT, LexicalT]):
    """What a loaded generation holds, whatever the backend (qa.index.store.IndexStore,
    qa.index.milvus.MilvusStore), and the lookups retrieval makes on it."""

    documents: list[Document] = field(repr=False)
    chunks: list[Chunk] = field(repr=False)
    dense: DenseT = field(repr=False)
    bm25: LexicalT = field(repr=False)
    embedder_id: str
    chunker_version: str
    manifest: dict[str, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.doc_by_id: dict[str, Document] = {d.doc_id: d for d in self.documents}
        self.row_of: dict[str, int] = {c.chunk_id: i for i, c in enumerate(self.chunks)}

    def document_of(self, chunk: Chunk) -> Document:
        return self.doc_by_id[chunk.doc_id]

    def mask_for_docs(self, doc_ids: set[str] | list[str]) -> np.ndarray:
        """Bool mask over chunk rows whose document is in doc_ids (the `allowed` of retrieve)."""
        wanted = set(doc_ids)
        return np.fromiter((c.doc_id in wanted for c in self.chunks), dtype=bool, count=len(self.chunks))


@dataclass
class IndexContent:
    """What the builder hands a backend to persist as a new generation."""

    documents: list[Document]
    chunks: list[Chunk]
    vectors: np.ndarray  # (len(chunks), dim) float32, L2-normalised, row i = chunk i
    terms: list[list[str]]  # BM25 terms of each chunk (qa.index.lexical.tokenize_zh)
    embedder_id: str
    chunker_version: str
    extra: dict[str, Any] = field(default_factory=dict)  # inputs, per-file summary (manifest "extra")


@dataclass
class WriteResult:
    generation: str  # name of the generation now live
    path: Path | None  # its directory (file store) or None (Milvus)
    dense_kind: str
    timings: dict[str, float] = field(default_factory=dict)  # seconds per step


class StoreBackend(Protocol):
    """Where generations are written, found and loaded."""

    name: str

    def write(self, content: IndexContent) -> WriteResult: ...

    def load(self, expected_embedder_id: str | None = None, expected_chunker_version: str | None = None) -> Any: ...

    def read_manifest(self) -> dict[str, Any]: ...

    def live_generation(self) -> str | None:
        """Name of the live generation (cheap; None when there is none): replicas poll it."""
        ...


STORES = ("faiss", "milvus")


def store_backend(settings: Any) -> StoreBackend:
    """The backend `settings.vector_store` names (the Milvus one imports pymilvus only here)."""
    kind = (getattr(settings, "vector_store", "faiss") or "faiss").strip().lower()
    if kind == "faiss":
        from qa.index.store import FileBackend

        return FileBackend(settings)
    if kind == "milvus":
        from qa.index.milvus import MilvusBackend

        return MilvusBackend.from_settings(settings)
    from qa.index.store import IndexStoreError

    raise IndexStoreError(f"未知的索引存储 / unknown QA_VECTOR_STORE {kind!r}: use one of {', '.join(STORES)}")
