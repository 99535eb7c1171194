"""Build (or refresh) the persisted index from corpus files: what `qa index` runs.

Every run re-ingests the given files and rebuilds the dense and BM25 indexes
from all chunks; embeddings come from the embedding cache, so only chunks
whose embedded text is new are sent to the model. Adding, editing or removing
a document is therefore just another run. The new index replaces the old one
atomically (see qa.index.store).
"""

from __future__ import annotations

import os
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from qa.config import Settings
from qa.embed.base import Embedder, make_embedder
from qa.embed.cache import EmbeddingCache, cached_vectors, embed_with_cache
from qa.index.base import IndexContent, StoreBackend, store_backend
from qa.index.sentences import build_sentence_vectors, missing_sentence_vectors
from qa.index.lexical import TokenCache
from qa.index.store import (
    IndexCorrupt,
    IndexMismatch,
    IndexMissing,
    IndexStore,
    IndexStoreError,
    current_chunker_version,
)


class NothingToIndex(IndexStoreError):
    """The given paths produced no chunks; the previous index is left as it was."""


@dataclass
class BuildReport:
    files: int  # files read successfully
    documents: int
    chunks: int
    embedded: int  # chunk texts sent to the embedding model this run
    reused: int  # chunks whose vectors came from the cache
    seconds: float
    index_dir: Path
    generation: Path | None = None  # the generation dir written
    reports: list[Any] = field(default_factory=list)  # qa.ingest.FileReport per input file
    rebuilt: bool = False  # no compatible previous index (none, corrupt, other embedder/chunker/format)
    reason: str = ""  # why it was rebuilt
    embedder_id: str = ""
    chunker_version: str = ""
    dense_kind: str = "flat"
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage
    pending: int = 0  # chunks saved without their vector yet (defer_dense): keyword search only for them
    store: str = "faiss"  # settings.vector_store that was written
    generation_name: str = ""  # the generation dir name, or the Milvus collection
    sentences_pending: int = 0  # sentences without a vector in the cache (run with sentences=True to add them)

    @property
    def failed_files(self) -> list[Any]:
        return [r for r in self.reports if not getattr(r, "ok", True)]

    def summary(self) -> str:
        """One line for the CLI."""
        failed = len(self.failed_files)
        return (
            f"索引完成 / indexed {self.files} files, {self.documents} documents, {self.chunks} chunks "
            f"(embedded {self.embedded}, from cache {self.reused}) in {self.seconds:.1f}s → {self.index_dir}"
            + (f"; {failed} file(s) skipped" if failed else "")
        )

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["index_dir"] = str(self.index_dir)
        d["generation"] = str(self.generation) if self.generation else None
        d["reports"] = [asdict(r) if hasattr(r, "__dataclass_fields__") else r for r in self.reports]
        return d


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _content(result: Any, paths: list[Path], vectors: Any, terms: list[list[str]], embedder_id: str, chunker_version: str,
             pending: int, extra: dict[str, Any] | None) -> IndexContent:  # fmt: skip
    """What the backend persists; the manifest's "extra" says what was read and what is pending."""
    return IndexContent(
        documents=result.documents,
        chunks=result.chunks,
        vectors=vectors,
        terms=terms,
        embedder_id=embedder_id,
        chunker_version=chunker_version,
        extra={
            **(extra or {}),
            "dense_pending": pending,
            "inputs": [str(p) for p in paths],
            "files": [{"path": r.path, "ok": r.ok, "documents": r.documents, "chunks": r.chunks} for r in result.reports],
        },
    )


class IndexBuilder:
    """Ingest → embed (cached) → dense + BM25 → atomic save."""

    def __init__(
        self,
        settings: Settings,
        embedder: Embedder | None = None,
        chunker_version: str | None = None,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings
        self._embedder = embedder
        self.chunker_version = chunker_version
        self.log = log or _stderr
        self._backend: StoreBackend | None = None

    @property
    def backend(self) -> StoreBackend:
        if self._backend is None:
            self._backend = store_backend(self.settings)
        return self._backend

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = make_embedder(self.settings.embedder, self.settings)
        return self._embedder

    def run(
        self,
        paths: list[Path] | None = None,
        progress: bool = True,
        exclude: set[str] | None = None,
        defer_dense: bool = False,
        on_progress: Callable[[int, int], None] | None = None,
        extra: dict[str, Any] | None = None,
        sentences: bool = True,
    ) -> BuildReport:
        """`exclude`: doc ids left out (removed through `qa remove`). `defer_dense`: chunks whose
        vectors are not in the embedding cache are saved with a zero vector instead of being embedded
        (BM25 covers them at once; qa.manage completes them in a second run). `on_progress(done,
        total)` follows the embedding. `sentences`: also embed every article's sentences into the cache
        (qa.index.sentences; qa.manage does it in a third run, so hybrid search is not kept waiting)."""
        s = self.settings
        t0 = time.perf_counter()
        timings: dict[str, float] = {}
        embedder = self.embedder
        paths = [Path(p) for p in paths] if paths else [s.seeds_dir]
        result, chunker_version = self._ingest(paths, exclude, timings)
        chunks = result.chunks

        self._check_writable()  # before minutes of embedding, not after
        rebuilt, reason = self._previous_state(embedder.id, chunker_version)
        if rebuilt and reason:
            self.log(reason)

        texts = [c.embed_text() for c in chunks]
        vectors, computed, pending = self._vectors(texts, defer_dense, progress, on_progress, timings)
        t = time.perf_counter()
        if sentences and not defer_dense:
            build_sentence_vectors(chunks, result.documents, embedder, s.cache_dir, progress=progress)
            sentences_pending = 0
            timings["embed_sentences"] = time.perf_counter() - t
        else:
            sentences_pending = missing_sentence_vectors(chunks, result.documents, embedder, s.cache_dir)
        terms = self._terms(texts, timings)
        extra = {**(extra or {}), "sentences_pending": sentences_pending}
        written = self.backend.write(_content(result, paths, vectors, terms, embedder.id, chunker_version, pending, extra))
        timings.update(written.timings)

        return BuildReport(
            files=sum(1 for r in result.reports if r.ok),
            documents=len(result.documents),
            chunks=len(chunks),
            embedded=computed,
            reused=len(chunks) - computed - pending,
            seconds=time.perf_counter() - t0,
            index_dir=Path(s.index_dir),
            generation=written.path,
            reports=list(result.reports),
            rebuilt=rebuilt,
            reason=reason,
            embedder_id=embedder.id,
            chunker_version=chunker_version,
            dense_kind=written.dense_kind,
            timings=timings,
            pending=pending,
            store=self.backend.name,
            generation_name=written.generation,
            sentences_pending=sentences_pending,
        )

    def _ingest(self, paths: list[Path], exclude: set[str] | None, timings: dict[str, float]) -> tuple[Any, str]:
        """(the ingested documents and chunks without the excluded ones, the chunker version);
        NothingToIndex when no chunk is left, IndexStoreError on duplicate chunk ids."""
        from qa.ingest import ingest_paths

        t = time.perf_counter()
        result = ingest_paths(paths, self.settings)
        timings["ingest"] = time.perf_counter() - t
        chunker_version = self.chunker_version or getattr(result, "chunker_version", None) or current_chunker_version()
        if exclude:
            result.documents = [d for d in result.documents if d.doc_id not in exclude]
            result.chunks = [c for c in result.chunks if c.doc_id not in exclude]
        chunks = result.chunks
        if not chunks:
            raise NothingToIndex(
                "没有可索引的内容 / nothing to index in "
                + ", ".join(str(p) for p in paths)
                + (": " + "; ".join(f"{r.path}: {r.message}" for r in result.reports if not r.ok) if result.reports else "")
            )
        dups = sorted(cid for cid, n in Counter(c.chunk_id for c in chunks).items() if n > 1)
        if dups:  # rows are addressed by chunk id downstream; duplicates would make citations ambiguous
            raise IndexStoreError(f"重复的分块编号 / duplicate chunk ids from ingestion: {dups[:3]}")
        return result, chunker_version

    def _vectors(self, texts: list[str], defer_dense: bool, progress: bool, on_progress: Callable[[int, int], None] | None,
                 timings: dict[str, float]) -> tuple[Any, int, int]:  # fmt: skip
        """(vectors, how many were computed now, how many are left pending): from the embedding
        cache, the rest embedded, or with defer_dense left as zero vectors for a later run."""
        s = self.settings
        t = time.perf_counter()
        pending = 0
        with EmbeddingCache(s.cache_dir) as cache:
            if defer_dense:
                vectors, pending = cached_vectors(self.embedder, texts, cache)
                computed = 0
            else:
                vectors, computed = embed_with_cache(
                    self.embedder, texts, cache, progress=progress, batch_size=s.embed_batch, on_progress=on_progress
                )
        timings["embed"] = time.perf_counter() - t
        return vectors, computed, pending

    def _terms(self, texts: list[str], timings: dict[str, float]) -> list[list[str]]:
        """The BM25 terms of each text, through the token cache."""
        t = time.perf_counter()
        token_cache = TokenCache(self.settings.cache_dir)
        try:
            terms = token_cache.tokenize_all(texts)
        finally:
            token_cache.close()
        timings["terms"] = time.perf_counter() - t
        return terms

    def _check_writable(self) -> None:
        """Raise IndexStoreError (a clear message, not an OSError trace) if the index or cache dir cannot be written."""
        # index_dir holds the cache, the lock and (by default) the Milvus Lite file too
        for d in (Path(self.settings.index_dir), Path(self.settings.cache_dir)):
            try:
                d.mkdir(parents=True, exist_ok=True)
                probe = d / f".write-test-{os.getpid()}"
                probe.write_bytes(b"")
                probe.unlink()
            except OSError as exc:
                raise IndexStoreError(
                    f"索引目录不可写 / cannot write the index directory {d}: {exc.strerror or exc}"
                    " (set QA_INDEX_DIR or --index-dir to a writable directory)"
                ) from None

    def _previous_state(self, embedder_id: str, chunker_version: str) -> tuple[bool, str]:
        """(rebuilt from scratch?, message): is there a compatible index to replace?"""
        try:
            manifest = self.backend.read_manifest()
            IndexStore.check_manifest(manifest, embedder_id, chunker_version)
        except IndexMissing:
            return True, ""
        except IndexMismatch as exc:
            return True, f"已有索引不兼容，将重建 / existing index is incompatible, rebuilding: {exc}"
        except IndexCorrupt as exc:
            return True, f"已有索引损坏，将重建 / existing index is damaged, rebuilding: {exc}"
        return False, ""
