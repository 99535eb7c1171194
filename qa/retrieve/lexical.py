"""BM25 query terms for spoken questions.

jieba cuts a spoken question differently from the written documents
("养狗要" / "办狗" / "证会"), and people use everyday words where the documents
use official ones (狗 → 犬, 罚 → 罚款, 房租 → 租金). Two cheap fixes, both
limited to words the index actually contains:

- every substring of the question (2–6 characters) that is an indexed term is
  added, so the segmentation of the question no longer decides what matches;
- the everyday → official words of qa.retrieve.synonyms add the official terms.

Terms are de-duplicated: BM25 sums per query term, so a repeated term would
count twice. Measured effect (docs/BENCHMARKS.md): small but consistent gains
in BM25 alone and in the fused ranking.
"""

from __future__ import annotations

import re
from typing import Any, Iterable

from qa.retrieve.synonyms import OFFICIAL_TERMS, official_terms

def bm25_vocabulary(bm25: Any) -> set[str]:
    """The indexed terms of a qa.index.BM25Index (empty if the backend does not expose them)."""
    vocab = getattr(bm25, "vocabulary", None)
    return set(vocab()) if callable(vocab) else set()


class LexicalQuery:
    """Question text → BM25 terms: tokenizer output + indexed substrings + official synonyms."""

    def __init__(
        self,
        vocabulary: Iterable[str],
        synonyms: dict[str, tuple[str, ...]] | None = None,
        stopwords: Iterable[str] = (),
        max_len: int = 6,
    ) -> None:
        self.stopwords = frozenset(stopwords)
        self.vocabulary = frozenset(w for w in vocabulary if len(w) >= 2 and w not in self.stopwords)
        self.max_len = max_len
        table = OFFICIAL_TERMS if synonyms is None else synonyms
        self.synonyms = {k: tuple(v for v in vs if v in self.vocabulary) for k, vs in table.items()}

    def terms(self, text: str, tokens: list[str]) -> list[str]:
        """`tokens` (the index tokenizer's cut of `text`) plus the extra terms, de-duplicated in order."""
        extra: list[str] = []
        if self.vocabulary:
            s = re.sub(r"\s+", "", text)
            for n in range(2, self.max_len + 1):
                for i in range(len(s) - n + 1):
                    w = s[i : i + n]
                    if w in self.vocabulary:
                        extra.append(w)
        extra.extend(official_terms(text, self.synonyms))
        return list(dict.fromkeys(tokens + extra))
