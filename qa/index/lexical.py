"""Lexical retrieval: BM25 (bm25s) over jieba-segmented simplified Chinese.

Segmentation uses jieba's search mode, which also emits the sub-words of long
words (人民政府 → 人民, 政府, 人民政府), so a question that says 政府 still
matches 人民政府. Text is converted to simplified characters (OpenCC t2s) and
NFKC-normalised (full-width digits/letters → ASCII) before cutting; punctuation,
whitespace and a small set of function words are dropped. Queries go through
the same `tokenize_zh`.

Filtered retrieval is exact: BM25 scores every chunk (cheap: a sparse dot
product), disallowed chunks are set to -inf, then the top k are taken.
"""

from __future__ import annotations

import json
import logging
import threading
import unicodedata

from qa.text import to_simplified
from pathlib import Path

import numpy as np

# Function words that carry no topic; negations (不, 未, 无, 非) are kept on purpose.
STOPWORDS_ZH: frozenset[str] = frozenset(
    """的 了 和 与 及 以及 或 或者 是 在 对 等 并 其 之 于 由 将 把 被 从 向 为 以 而 且 也 就 都 即
    这 那 该 此 其中 各 有关 关于 按照 根据 通过 进行 予以 给予 应当 应 可 可以 能 要 个 中 上 下
    我 你 他 她 它 们 吗 呢 吧 啊 呀 么 什么 怎么 怎样 如何 哪些 哪个 多少 是否 请问 一下 有 没有""".split()
)

_init_lock = threading.Lock()
_ready = False


def _init() -> None:
    """Initialise jieba (quietly) once per process."""
    global _ready
    if _ready:
        return
    with _init_lock:
        if _ready:
            return
        import jieba

        jieba.setLogLevel(logging.WARNING)
        jieba.initialize()
        _ready = True


def _keep(token: str) -> bool:
    if not token or token.isspace() or token in STOPWORDS_ZH:
        return False
    # drop tokens made only of punctuation / symbols (，《》〔〕·… and ASCII ones)
    return any(unicodedata.category(ch)[0] not in "PSZC" for ch in token)


def tokenize_zh(text: str, simplify: bool = True) -> list[str]:
    """Segment Chinese text into BM25 terms (same function for chunks and queries)."""
    _init()
    import jieba

    text = unicodedata.normalize("NFKC", text or "")
    if simplify:
        text = to_simplified(text)
    return [t.lower() for t in jieba.cut_for_search(text) if _keep(t)]


def as_mask(allowed: np.ndarray | list[int] | None, n: int) -> np.ndarray | None:
    """Bool mask of length n from a bool mask or an id subset (shared with the dense index)."""
    if allowed is None:
        return None
    arr = np.asarray(allowed)
    if arr.dtype == bool:
        if arr.shape != (n,):
            raise ValueError(f"allowed mask has shape {arr.shape}, expected ({n},)")
        return arr
    mask = np.zeros(n, dtype=bool)
    ids = arr.astype(np.int64).reshape(-1)
    ids = ids[(ids >= 0) & (ids < n)]
    mask[ids] = True
    return mask


class BM25Index:
    """BM25 over chunk texts; ids are positions in the list given to `index`."""

    def __init__(self, k1: float = 1.5, b: float = 0.75, method: str = "lucene") -> None:
        self.k1 = k1
        self.b = b
        self.method = method
        self._bm25: object | None = None
        self.size = 0

    def index(self, texts: list[str], show_progress: bool = False) -> "BM25Index":
        return self.index_tokens([tokenize_zh(t) for t in texts], show_progress=show_progress)

    def index_tokens(self, corpus_tokens: list[list[str]], show_progress: bool = False) -> "BM25Index":
        import bm25s

        bm25 = bm25s.BM25(k1=self.k1, b=self.b, method=self.method)
        if corpus_tokens:
            bm25.index(corpus_tokens, show_progress=show_progress)
        self._bm25 = bm25 if corpus_tokens else None
        self.size = len(corpus_tokens)
        return self

    def vocabulary(self) -> set[str]:
        """The indexed terms (empty before anything is indexed)."""
        return set(getattr(self._bm25, "vocab_dict", None) or {})

    def scores(self, query: str | list[str]) -> np.ndarray:
        """BM25 score of every chunk for the query (text or tokens)."""
        if self._bm25 is None:
            return np.zeros(self.size, dtype=np.float32)
        tokens = tokenize_zh(query) if isinstance(query, str) else list(query)
        ids = self._bm25.get_tokens_ids(tokens)  # type: ignore[attr-defined]
        if not ids:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self._bm25.get_scores_from_ids(ids), dtype=np.float32)  # type: ignore[attr-defined]

    def retrieve(
        self, query: str | list[str], k: int = 10, allowed: np.ndarray | list[int] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (ids, scores), best first; only chunks sharing a term (score > 0) and allowed."""
        scores = self.scores(query)
        mask = as_mask(allowed, self.size)
        ok = scores > 0
        if mask is not None:
            ok &= mask
        cand = np.flatnonzero(ok)
        if cand.size == 0 or k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        if cand.size > k:
            cand = cand[np.argpartition(-scores[cand], k - 1)[:k]]
        # stable tie-break on id so results are deterministic
        order = np.lexsort((cand, -scores[cand]))
        cand = cand[order]
        return cand.astype(np.int64), scores[cand].astype(np.float32)

    def save(self, directory: Path | str) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        params = {"k1": self.k1, "b": self.b, "method": self.method, "size": self.size}
        (directory / "bm25_meta.json").write_text(json.dumps(params), encoding="utf-8")
        if self._bm25 is not None:
            self._bm25.save(str(directory), show_progress=False)  # type: ignore[attr-defined]

    @classmethod
    def load(cls, directory: Path | str) -> "BM25Index":
        import bm25s

        directory = Path(directory)
        meta = json.loads((directory / "bm25_meta.json").read_text(encoding="utf-8"))
        idx = cls(k1=meta["k1"], b=meta["b"], method=meta["method"])
        idx.size = int(meta["size"])
        if idx.size:
            idx._bm25 = bm25s.BM25.load(str(directory), mmap=False, show_progress=False)
            num_docs = int(idx._bm25.scores["num_docs"])  # type: ignore[attr-defined]
            if num_docs != idx.size:
                raise ValueError(f"BM25 index holds {num_docs} documents, metadata says {idx.size}")
        return idx


class TokenCache:
    """BM25 terms per chunk text, persisted beside the embedding cache.

    Word segmentation is most of a warm rebuild's time (about 5 s for the seeds); with this,
    an unchanged chunk is segmented once, ever.
    """

    FILENAME = "bm25-tokens.sqlite"
    VERSION = "jieba-search-1"  # change when tokenize_zh changes, so old terms are not reused

    def __init__(self, cache_dir: Path | str) -> None:
        import sqlite3

        Path(cache_dir).mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(Path(cache_dir) / self.FILENAME), timeout=30)
        self._db.execute("CREATE TABLE IF NOT EXISTS tokens (key TEXT PRIMARY KEY, terms TEXT NOT NULL)")

    def _key(self, text: str) -> str:
        import hashlib

        return hashlib.sha256((self.VERSION + "\0" + text).encode("utf-8")).hexdigest()

    def tokenize_all(self, texts: list[str]) -> list[list[str]]:
        keys = [self._key(t) for t in texts]
        known: dict[str, list[str]] = {}
        for i in range(0, len(keys), 500):
            batch = keys[i : i + 500]
            rows = self._db.execute(
                f"SELECT key, terms FROM tokens WHERE key IN ({','.join('?' * len(batch))})", batch
            ).fetchall()
            known.update((k, json.loads(v)) for k, v in rows)
        missing = {k: t for k, t in zip(keys, texts) if k not in known}
        fresh = {k: tokenize_zh(t) for k, t in missing.items()}
        if fresh:
            self._db.executemany(
                "INSERT OR REPLACE INTO tokens (key, terms) VALUES (?, ?)",
                [(k, json.dumps(v, ensure_ascii=False)) for k, v in fresh.items()],
            )
            self._db.commit()
        known.update(fresh)
        return [known[k] for k in keys]

    def close(self) -> None:
        self._db.close()
