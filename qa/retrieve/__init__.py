"""Retrieval: question analysis (filters, boosts), hybrid BM25 + dense search, cross-reference context."""

from qa.retrieve.hybrid import MODES, RetrievalError, RetrievalResult, Retriever
from qa.retrieve.query import QueryAnalysis, QueryAnalyzer, merge_filters, normalize_question

__all__ = [
    "MODES",
    "QueryAnalysis",
    "QueryAnalyzer",
    "RetrievalError",
    "RetrievalResult",
    "Retriever",
    "merge_filters",
    "normalize_question",
]
