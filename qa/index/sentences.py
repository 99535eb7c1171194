"""Sentence vectors: how close the question comes to an article's closest sentence.

The index embeds whole articles (title > headings, text): right for finding the document, blunt for
telling which of its articles answers, and for telling a question the documents answer from one
that only shares their topic (城乡居民医保 beside 居民养老保险). The closest sentence is a sharper
signal for both; the answer stage reads it as `Hit.scores["sentence"]` (qa.answer.evidence,
qa.answer.coverage). Measured on the tuning questions (docs/BENCHMARKS.md): the article model's first
article right 72.6 → 73.8% (5-fold CV), and at the same share of answerable questions declined,
clearly more unanswerable ones caught.

Like the article vectors for re-scoring (qa.retrieve.rerank), they are computed at index time
(`build_sentence_vectors`, called by IndexBuilder) and kept in the shared embedding cache, so loading
only reads them, for either store backend. At load, an article whose sentences are not all in the
cache (a document added with its vectors deferred) has none: its feature is neutral, as a hit
without a dense score is.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qa.models import Chunk, Document
from qa.text import sentences, to_simplified

log = logging.getLogger(__name__)


def sentence_texts(chunk: Chunk, document: Document | None = None) -> list[str]:
    """The sentences embedded for one article (qa.text.sentences), simplified, with the document's
    own title said as 本文件: a sentence is compared with the question for what it says, not for the
    name of the document it sits in (a covering notice repeats the title a question names)."""
    names = [to_simplified(t) for t in (document.notice_title, document.title) if t] if document is not None else []
    out = []
    for s in sentences(chunk.text_simplified):
        for t in names:
            s = s.replace(f"《{t}》", "本文件").replace(t, "本文件")
        out.append(s)
    return out


@dataclass
class SentenceVectors:
    """Row i of the chunks owns vectors[offsets[i]:offsets[i + 1]] (empty: not available)."""

    vectors: np.ndarray  # (n_sentences, dim) float32, L2-normalised
    offsets: np.ndarray  # (n_chunks + 1,) int64

    def closest(self, row: int, qvec: np.ndarray) -> float | None:
        """Cosine of the question with the article's closest sentence; None without vectors."""
        a, b = int(self.offsets[row]), int(self.offsets[row + 1])
        if b <= a:
            return None
        return float((self.vectors[a:b] @ qvec).max())


def _all_texts(chunks: list[Chunk], documents: list[Document]) -> tuple[list[list[str]], list[str]]:
    by_id = {d.doc_id: d for d in documents}
    per_chunk = [sentence_texts(c, by_id.get(c.doc_id)) for c in chunks]
    unique = list(dict.fromkeys(s for ss in per_chunk for s in ss))
    return per_chunk, unique


def build_sentence_vectors(
    chunks: list[Chunk], documents: list[Document], embedder: Any, cache_dir: Path | str, progress: bool = False
) -> int:
    """Embed every sentence not yet in the embedding cache (index time); returns how many were computed."""
    from qa.embed import EmbeddingCache, embed_with_cache

    _, unique = _all_texts(chunks, documents)
    if not unique:
        return 0
    with EmbeddingCache(cache_dir) as cache:
        _, computed = embed_with_cache(embedder, unique, cache, progress=progress, desc="句子向量 sentence vectors")
    return computed


def _cached(
    chunks: list[Chunk], documents: list[Document], embedder: Any, cache_dir: Path | str
) -> tuple[list[list[str]], dict[str, np.ndarray], int]:
    """Each article's sentences, each distinct sentence's vector from the cache (a zero row when it is
    not there: qa.embed.cached_vectors) and how many are missing; never embeds."""
    from qa.embed.cache import EmbeddingCache, cached_vectors

    per_chunk, unique = _all_texts(chunks, documents)
    with EmbeddingCache(cache_dir) as cache:
        vectors, missing = cached_vectors(embedder, unique, cache)
    return per_chunk, dict(zip(unique, vectors)), missing


def missing_sentence_vectors(chunks: list[Chunk], documents: list[Document], embedder: Any, cache_dir: Path | str) -> int:
    """How many distinct sentences of these articles have no vector in the cache yet (never embeds)."""
    return _cached(chunks, documents, embedder, cache_dir)[2]


def load_sentence_vectors(
    chunks: list[Chunk], documents: list[Document], embedder: Any, cache_dir: Path | str
) -> SentenceVectors | None:
    """The sentence vectors of every article found in the cache; None when the cache has none."""
    from qa.embed.cache import EmbeddingCache

    if not chunks or not (Path(cache_dir) / EmbeddingCache.FILENAME).is_file():
        return None
    per_chunk, vector_of, missing = _cached(chunks, documents, embedder, cache_dir)
    if missing == len(vector_of):
        return None
    rows: list[np.ndarray] = []
    offsets = np.zeros(len(chunks) + 1, dtype=np.int64)
    without = 0
    for i, ss in enumerate(per_chunk):
        vecs = [vector_of[s] for s in ss]
        if ss and all(v.any() for v in vecs):
            rows.extend(vecs)
        else:
            without += 1
        offsets[i + 1] = len(rows)
    if without:
        log.info("%d articles have no sentence vectors in the cache yet (neutral until the next build)", without)
    vectors = np.stack(rows).astype(np.float32) if rows else np.zeros((0, embedder.dim), dtype=np.float32)
    return SentenceVectors(np.ascontiguousarray(vectors), offsets)
