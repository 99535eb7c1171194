"""Any sentence-transformers model (optional extra `.[st]`, which pulls torch).

sentence_transformers (and so torch) is imported only when the model is first
used, so the default e5 path never imports torch. The model is loaded with
`local_files_only=True` unless `allow_download=True`: a local directory works
offline, a hub name only if it is already in the Hugging Face cache.

Role prefixes: E5-family models need "query: " / "passage: "; models that ship
named prompts ("query", "passage"/"document") use those; others embed raw text.
Explicit `query_prefix` / `passage_prefix` override the detection.
"""

from __future__ import annotations

import hashlib
import threading
from importlib import metadata
from pathlib import Path

import numpy as np

from qa.embed.base import Embedder, EmbedderError

_lock = threading.Lock()
_SMALL_FILE = 4 * 1024 * 1024  # config/tokenizer files are hashed; weights contribute their size


def _fingerprint(model_dir: Path) -> str:
    """Cheap content fingerprint of a local model dir (no full hash of 100s of MB of weights)."""
    h = hashlib.sha256()
    for p in sorted(model_dir.rglob("*")):
        if not p.is_file() or p.name.startswith(".") or p.suffix == ".md":
            continue
        rel = p.relative_to(model_dir).as_posix()
        size = p.stat().st_size
        h.update(f"{rel}\0{size}\0".encode())
        if size <= _SMALL_FILE:
            h.update(p.read_bytes())
    return h.hexdigest()[:12]


class SentenceTransformerEmbedder(Embedder):
    """sentence-transformers backend; vectors are L2-normalised."""

    def __init__(
        self,
        model: str,
        query_prefix: str | None = None,
        passage_prefix: str | None = None,
        batch_size: int = 32,
        device: str = "cpu",
        allow_download: bool = False,
    ) -> None:
        self.model_name = model
        self.batch_size = batch_size
        self.device = device
        self.allow_download = allow_download
        self._query_prefix = query_prefix
        self._passage_prefix = passage_prefix
        self._model: object | None = None
        self._dim: int | None = None
        self._id: str | None = None
        path = Path(model).expanduser()
        self.local_dir: Path | None = path.resolve() if path.is_dir() else None
        if self.local_dir is None and (model.startswith((".", "/", "~")) or "\\" in model):
            raise EmbedderError(f"模型目录不存在 / model directory not found: {model}")

    # loading
    def _load(self) -> object:
        with _lock:
            if self._model is not None:
                return self._model
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError as exc:
                raise EmbedderError(
                    "sentence-transformers 未安装 / not installed: run `pip install torch==2.13.0` "
                    "then `pip install -e '.[st]'`, or use the default embedder 'e5'"
                ) from exc
            source = str(self.local_dir) if self.local_dir else self.model_name
            try:
                model = SentenceTransformer(source, device=self.device, local_files_only=not self.allow_download)
            except Exception as exc:  # noqa: BLE001 - surface one clear message, not a hub stack trace
                raise EmbedderError(
                    f"无法加载模型 / cannot load sentence-transformers model {source!r} "
                    f"(offline: give a local model directory): {exc}"
                ) from exc
            get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
            self._dim = int(get_dim() or 0)
            if self._query_prefix is None or self._passage_prefix is None:
                q, p = self._detect_prefixes(model)
                self._query_prefix = q if self._query_prefix is None else self._query_prefix
                self._passage_prefix = p if self._passage_prefix is None else self._passage_prefix
            self._model = model
            return model

    def _detect_prefixes(self, model: object) -> tuple[str, str]:
        prompts = dict(getattr(model, "prompts", None) or {})
        if "query" in prompts:
            return prompts["query"], prompts.get("passage", prompts.get("document", ""))
        if "e5" in Path(self.model_name).name.lower():
            return "query: ", "passage: "
        return "", ""

    # Embedder API
    @property
    def id(self) -> str:
        if self._id is None:
            self._load()
            st_version = metadata.version("sentence-transformers")
            name = self.local_dir.name if self.local_dir else self.model_name
            fp = _fingerprint(self.local_dir) if self.local_dir else "hub"
            self._id = (
                f"st-{st_version}:{name}:{fp}:q={self._query_prefix!r}:p={self._passage_prefix!r}"
            )
        return self._id

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._load()
        return int(self._dim or 0)

    def _encode(self, texts: list[str], is_query: bool) -> np.ndarray:
        model = self._load()
        prefix = (self._query_prefix if is_query else self._passage_prefix) or ""
        vecs = model.encode(  # type: ignore[attr-defined]
            [prefix + t for t in texts],
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vecs, dtype=np.float32)
