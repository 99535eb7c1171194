"""Dense retrieval: FAISS inner product over L2-normalised vectors (= cosine).

Exact `IndexFlatIP` by default; `IndexHNSWFlat` (approximate) only when the
corpus has more than `hnsw_threshold` chunks, where an exact scan would get
slow. The seed corpus is a few thousand chunks, so it is always exact.

Filtered search (`allowed` = bool mask or id subset):
- flat index: FAISS `IDSelectorBatch` inside the search, so the result is the
  exact top k among the allowed chunks;
- HNSW index: if at most `exact_filter_max` chunks are allowed, their vectors
  are read back from the index and scored exactly (a graph walk restricted to
  a small subset loses recall); otherwise the selector is passed to the HNSW
  search with efSearch ≥ 2k.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from qa.index.lexical import as_mask

_EMPTY = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))


class DenseIndex:
    """Vector index; ids are row positions of the matrix given to `index`."""

    def __init__(
        self,
        hnsw_threshold: int = 200_000,
        hnsw_m: int = 32,
        ef_construction: int = 200,
        ef_search: int = 128,
        exact_filter_max: int = 20_000,
    ) -> None:
        self.hnsw_threshold = hnsw_threshold
        self.hnsw_m = hnsw_m
        self.ef_construction = ef_construction
        self.ef_search = ef_search
        self.exact_filter_max = exact_filter_max
        self._index: object | None = None
        self.dim = 0

    @property
    def kind(self) -> str:
        return "hnsw" if type(self._index).__name__ == "IndexHNSWFlat" else "flat"

    @property
    def size(self) -> int:
        return int(self._index.ntotal) if self._index is not None else 0  # type: ignore[attr-defined]

    def index(self, vectors: np.ndarray) -> "DenseIndex":
        import faiss

        x = np.ascontiguousarray(vectors, dtype=np.float32)
        if x.ndim != 2:
            raise ValueError(f"vectors must be a 2-d matrix, got shape {x.shape}")
        self.dim = int(x.shape[1])
        if x.shape[0] > self.hnsw_threshold:
            idx = faiss.IndexHNSWFlat(self.dim, self.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            idx.hnsw.efConstruction = self.ef_construction
            idx.hnsw.efSearch = self.ef_search
        else:
            idx = faiss.IndexFlatIP(self.dim)
        if x.shape[0]:
            idx.add(x)
        self._index = idx
        return self

    def retrieve(
        self,
        query_vec: np.ndarray,
        k: int = 10,
        allowed: np.ndarray | list[int] | None = None,
        selection: object | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (ids, inner-product scores), best first, restricted to `allowed` if given.

        `selection` (qa.index.base.Selection) is the same restriction as metadata conditions, for
        stores that filter by expression; the mask already says it exactly, so it is unused here.
        """
        import faiss

        n = self.size
        if n == 0 or k <= 0:
            return _EMPTY
        q = np.ascontiguousarray(np.asarray(query_vec, dtype=np.float32).reshape(1, -1))
        if q.shape[1] != self.dim:
            raise ValueError(f"query vector has dimension {q.shape[1]}, index has {self.dim}")
        mask = as_mask(allowed, n)
        if mask is None:
            D, I = self._search(q, min(k, n), None)
        else:
            ids = np.flatnonzero(mask).astype(np.int64)
            if ids.size == 0:
                return _EMPTY
            if self.kind == "hnsw" and ids.size <= self.exact_filter_max:
                vecs = self._index.reconstruct_batch(ids)  # type: ignore[attr-defined]
                scores = vecs @ q[0]
                top = np.argsort(-scores, kind="stable")[:k]
                return ids[top], scores[top].astype(np.float32)
            sel = faiss.IDSelectorBatch(ids)
            D, I = self._search(q, min(k, int(ids.size)), sel)
        keep = I[0] >= 0
        return I[0][keep].astype(np.int64), D[0][keep].astype(np.float32)

    def _search(self, q: np.ndarray, k: int, sel: object | None) -> tuple[np.ndarray, np.ndarray]:
        import faiss

        if self.kind == "hnsw":
            params = faiss.SearchParametersHNSW(efSearch=max(self.ef_search, 2 * k))
        else:
            params = faiss.SearchParameters()
        if sel is not None:
            params.sel = sel
        return self._index.search(q, k, params=params)  # type: ignore[attr-defined]

    def vectors(self, ids: np.ndarray | list[int]) -> np.ndarray:
        """Stored vectors of the given ids (e.g. for MMR or similarity between chunks)."""
        return self._index.reconstruct_batch(np.asarray(ids, dtype=np.int64))  # type: ignore[attr-defined]

    def save(self, directory: Path | str) -> None:
        import faiss

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        faiss.write_index(self._index, str(directory / "dense.faiss"))
        meta = {
            "kind": self.kind,
            "dim": self.dim,
            "size": self.size,
            "hnsw_threshold": self.hnsw_threshold,
            "hnsw_m": self.hnsw_m,
            "ef_construction": self.ef_construction,
            "ef_search": self.ef_search,
            "exact_filter_max": self.exact_filter_max,
        }
        (directory / "dense_meta.json").write_text(json.dumps(meta), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path | str) -> "DenseIndex":
        import faiss

        directory = Path(directory)
        meta = json.loads((directory / "dense_meta.json").read_text(encoding="utf-8"))
        idx = cls(
            hnsw_threshold=meta["hnsw_threshold"],
            hnsw_m=meta["hnsw_m"],
            ef_construction=meta["ef_construction"],
            ef_search=meta["ef_search"],
            exact_filter_max=meta["exact_filter_max"],
        )
        idx._index = faiss.read_index(str(directory / "dense.faiss"))
        idx.dim = int(idx._index.d)  # type: ignore[attr-defined]
        if idx.size != meta["size"] or idx.dim != meta["dim"] or idx.kind != meta["kind"]:
            raise ValueError(
                f"dense index holds {idx.size}×{idx.dim} ({idx.kind}), metadata says "
                f"{meta['size']}×{meta['dim']} ({meta['kind']})"
            )
        if idx.kind == "hnsw":
            idx._index.hnsw.efSearch = idx.ef_search  # type: ignore[attr-defined]
        return idx
