"""BM25 query terms for spoken questions.

jieba cuts a spoken question differently from the written documents
("养狗要" / "办狗" / "证会"), and people use everyday words where the documents
use official ones (狗 → 犬, 罚 → 罚款, 房租 → 租金). Two cheap fixes, both
limited to words the index actually contains:

- every substring of the question (2–6 characters) that is an indexed term is
  added, so the segmentation of the question no longer decides what matches;
- a small table of everyday → official words adds the official terms.

Terms are de-duplicated: BM25 sums per query term, so a repeated term would
count twice. Measured effect (docs/BENCHMARKS.md): small but consistent gains
in BM25 alone and in the fused ranking.
"""

from __future__ import annotations

import re
from typing import Any, Iterable

# everyday word in a question → the words policy documents use for it
SYNONYMS: dict[str, tuple[str, ...]] = {
    "狗": ("犬", "养犬"),
    "罚": ("罚款", "处罚"),
    "补": ("补贴", "补助"),
    "奖": ("奖励",),
    "孩子": ("儿童", "子女"),
    "小孩": ("儿童", "子女"),
    "老人": ("老年人",),
    "上学": ("入学",),
    "看病": ("就医", "医疗"),
    "房租": ("租金", "租赁"),
    "工资": ("薪酬", "工资"),
    "买房": ("购房",),
    "开店": ("经营",),
    "大学生": ("高校毕业生",),
    "毕业生": ("高校毕业生",),
    "退休": ("养老",),
    "多长时间": ("时长", "期限"),
    "多久": ("期限", "时限"),
}


def bm25_vocabulary(bm25: Any) -> set[str]:
    """The indexed terms of a qa.index.BM25Index (empty if the backend does not expose them)."""
    vocab = getattr(bm25, "vocabulary", None)
    if callable(vocab):
        return set(vocab())
    inner = getattr(bm25, "_bm25", None)
    return set(getattr(inner, "vocab_dict", None) or {})


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
        table = SYNONYMS if synonyms is None else synonyms
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
        for word, official in self.synonyms.items():
            if official and word in text:
                extra.extend(official)
        return list(dict.fromkeys(tokens + extra))
