"""Vectors for the second retrieval stage: each article's text embedded without its heading path.

The index embeds "title > chapter > article\\n text", which is right for finding
the document, but makes all articles of one document similar to each other.
The second stage compares the question with the article text alone to order
the candidates within the document(s) found.

These vectors are computed at index time (`build_article_vectors`, run after
IndexBuilder) and kept in the shared embedding cache (keyed by embedder id and
text), so loading only reads them. At load, missing vectors are not computed
(that would put minutes of embedding on the first query): re-scoring is then
switched off with a logged warning.

Measured on the gold set (docs/BENCHMARKS.md): this second stage does not
reliably improve on score fusion, so it is off by default (settings.rerank).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from qa.models import Chunk

log = logging.getLogger(__name__)


def article_texts(chunks: list[Chunk]) -> list[str]:
    return [c.text_simplified for c in chunks]


def build_article_vectors(store: Any, embedder: Any, cache_dir: Path | str, progress: bool = False) -> np.ndarray:
    """Embed (or fetch from the cache) every article text; call at index time."""
    from qa.embed import EmbeddingCache, embed_with_cache

    with EmbeddingCache(cache_dir) as cache:
        vecs, _ = embed_with_cache(embedder, article_texts(store.chunks), cache, progress=progress, desc="二阶段 rerank vectors")
    return vecs


def load_article_vectors(store: Any, embedder: Any, cache_dir: Path | str, warn: bool = True) -> np.ndarray | None:
    """All article vectors from the cache, or None (with a warning) if any is missing."""
    from qa.embed import EmbeddingCache, cache_key

    texts = article_texts(store.chunks)
    if not texts:
        return None
    cache_path = Path(cache_dir) / EmbeddingCache.FILENAME
    if not cache_path.is_file():
        if warn:
            _warn(len(texts))
        return None
    eid = embedder.id
    keys = [cache_key(eid, t) for t in texts]
    with EmbeddingCache(cache_dir) as cache:
        found = cache.get_many(keys)
    missing = sum(1 for k in keys if k not in found)
    if missing:
        if warn:
            _warn(missing)
        return None
    out = np.stack([found[k] for k in keys]).astype(np.float32)
    return np.ascontiguousarray(out)


def _warn(missing: int) -> None:
    log.warning(
        "%d article vectors for second-stage re-scoring are not in the embedding cache; "
        "re-scoring stays off (build them with qa.retrieve.rerank.build_article_vectors at index time)",
        missing,
    )
