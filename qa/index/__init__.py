"""Persisted retrieval index: dense (FAISS) + lexical (BM25), built by IndexBuilder, loaded as IndexStore."""

from qa.index.builder import BuildReport, IndexBuilder, NothingToIndex
from qa.index.dense import DenseIndex
from qa.index.lexical import STOPWORDS_ZH, BM25Index, as_mask, tokenize_zh
from qa.index.store import (
    IndexCorrupt,
    IndexMismatch,
    IndexMissing,
    IndexStore,
    IndexStoreError,
    corpus_hash,
    load_index,
)

__all__ = [
    "BM25Index",
    "BuildReport",
    "DenseIndex",
    "IndexBuilder",
    "IndexCorrupt",
    "IndexMismatch",
    "IndexMissing",
    "IndexStore",
    "IndexStoreError",
    "NothingToIndex",
    "STOPWORDS_ZH",
    "as_mask",
    "corpus_hash",
    "load_index",
    "tokenize_zh",
]
