"""Persistent embedding cache, so re-indexing only embeds text it has never seen.

Key = sha256(embedder.id + NUL + text): the same text under another model (or
another query/passage convention) is a different entry. Stored in one SQLite
file (`embeddings.sqlite` under the cache dir): each batch is committed in a
transaction, so a run that is killed keeps what it has already embedded and
never leaves a half-written vector behind.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from qa.embed.base import Embedder


def cache_key(embedder_id: str, text: str) -> str:
    return hashlib.sha256(embedder_id.encode("utf-8") + b"\0" + text.encode("utf-8")).hexdigest()


class EmbeddingCache:
    """key → float32 vector, persisted in `<cache_dir>/embeddings.sqlite`."""

    FILENAME = "embeddings.sqlite"

    def __init__(self, cache_dir: Path | str) -> None:
        self.dir = Path(cache_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.path = self.dir / self.FILENAME
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, dim INTEGER NOT NULL, vec BLOB NOT NULL)")
        self._db.commit()

    def get_many(self, keys: Iterable[str]) -> dict[str, np.ndarray]:
        keys = list(dict.fromkeys(keys))
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for i in range(0, len(keys), 500):  # stay under SQLite's host-parameter limit
                part = keys[i : i + 500]
                rows = self._db.execute(
                    f"SELECT key, dim, vec FROM vectors WHERE key IN ({','.join('?' * len(part))})", part
                ).fetchall()
                for key, dim, blob in rows:
                    # a damaged row is a miss (recomputed), never a wrong vector
                    if isinstance(blob, bytes) and len(blob) == 4 * dim:
                        found[key] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put_many(self, items: dict[str, np.ndarray]) -> None:
        rows = [(k, int(v.shape[0]), np.ascontiguousarray(v, dtype=np.float32).tobytes()) for k, v in items.items()]
        with self._lock, self._db:
            self._db.executemany("INSERT OR REPLACE INTO vectors (key, dim, vec) VALUES (?, ?, ?)", rows)

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM vectors").fetchone()[0])

    def prune(self, keep: Iterable[str]) -> int:
        """Drop every entry not in `keep` (e.g. the keys of the current corpus); returns how many."""
        keep_set = set(keep)
        with self._lock, self._db:
            stale = [(k,) for (k,) in self._db.execute("SELECT key FROM vectors") if k not in keep_set]
            self._db.executemany("DELETE FROM vectors WHERE key = ?", stale)
        return len(stale)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> "EmbeddingCache":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def embed_with_cache(
    embedder: Embedder,
    texts: list[str],
    cache: EmbeddingCache | None,
    progress: bool = False,
    batch_size: int = 32,
    desc: str = "嵌入 embedding",
    on_progress: Callable[[int, int], None] | None = None,
) -> tuple[np.ndarray, int]:
    """Passage vectors for `texts` (n, dim), and how many were computed (not from the cache).

    Identical texts are embedded once. Missing texts are embedded in batches,
    longest first (similar lengths batch efficiently), and each batch is
    written to the cache as soon as it is done.
    """
    n = len(texts)
    out = np.zeros((n, embedder.dim), dtype=np.float32)
    if n == 0:
        return out, 0
    eid = embedder.id
    keys = [cache_key(eid, t) for t in texts]
    known = cache.get_many(keys) if cache is not None else {}
    known = {k: v for k, v in known.items() if v.shape == (embedder.dim,)}
    todo: dict[str, str] = {}  # key -> text, unique
    for key, text in zip(keys, texts):
        if key not in known and key not in todo:
            todo[key] = text
    if todo:
        from tqdm.auto import tqdm

        order = sorted(todo, key=lambda k: len(todo[k]), reverse=True)
        with tqdm(total=len(order), desc=desc, unit="chunk", disable=not progress) as bar:
            for i in range(0, len(order), max(1, batch_size)):
                batch = order[i : i + batch_size]
                vecs = embedder.embed_passages([todo[k] for k in batch])
                fresh = {k: vecs[j] for j, k in enumerate(batch)}
                if cache is not None:
                    cache.put_many(fresh)
                known.update(fresh)
                bar.update(len(batch))
                if on_progress is not None:
                    on_progress(min(i + len(batch), len(order)), len(order))
    for i, key in enumerate(keys):
        out[i] = known[key]
    return out, len(todo)


def cached_vectors(embedder: Embedder, texts: list[str], cache: EmbeddingCache | None) -> tuple[np.ndarray, int]:
    """Vectors of `texts` found in the cache, zero rows for the others (never calls the model);
    returns (vectors, how many are missing). A zero row marks a chunk as not yet embedded."""
    out = np.zeros((len(texts), embedder.dim), dtype=np.float32)
    if not texts:
        return out, 0
    keys = [cache_key(embedder.id, t) for t in texts]
    known = cache.get_many(keys) if cache is not None else {}
    missing = 0
    for i, key in enumerate(keys):
        v = known.get(key)
        if v is not None and v.shape == (embedder.dim,):
            out[i] = v
        else:
            missing += 1
    return out, missing
