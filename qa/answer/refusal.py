"""Decide whether the retrieved evidence supports an answer at all.

A logistic score over four signals of the evidence — the best dense similarity, the best
BM25 score, and how well the best sentence and article cover the question — plus a hard
rule for questions about places the corpus does not contain. The weights were fitted once by
logistic regression on these features of the gold set's questions (hybrid retrieval), and the
threshold chosen from a sweep (docs/BENCHMARKS.md, "Answers and refusal"); re-fit them when
retrieval or the gold set changes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from qa.answer.extractive import Pick
from qa.answer.places import unknown_places
from qa.models import Hit


@dataclass
class Decision:
    refuse: bool
    score: float  # the logistic score; above `threshold` means decline
    reason: str = ""  # e.g. 已收录文件不包含 历下 的政策
    unknown_places: list[str] = field(default_factory=list)


# Typical values on answerable gold questions: stand in for a signal a single-retriever
# mode (bm25 or dense alone) does not produce, so the decision rests on the others.
_NEUTRAL = {"dense": 0.925, "bm25": 14.0}


def _best(hits: list[Hit], key: str) -> float:
    values = [h.scores[key] for h in hits if key in h.scores]
    return max(values) if values else _NEUTRAL[key]


def features(hits: list[Hit], picks: list[Pick]) -> list[float]:
    dense = _best(hits, "dense")
    bm25 = _best(hits, "bm25")
    best = max((p.score for p in picks), default=0.0)
    cov = max((p.coverage for p in picks), default=0.0)
    return [(dense - 0.9) * 20, math.log1p(max(bm25, 0.0)), best, cov]


@dataclass
class RefusalPolicy:
    weights: tuple[float, ...] = (-1.725, -1.614, -0.679, -0.276)
    bias: float = 3.007
    threshold: float = -1.25

    def score(self, hits: list[Hit], picks: list[Pick]) -> float:
        x = features(hits, picks)
        return sum(w * v for w, v in zip(self.weights, x)) + self.bias

    def run(self, question: str, hits: list[Hit], picks: list[Pick], corpus_text: str = "") -> Decision:
        if not hits or not picks:
            return Decision(True, math.inf, "没有检索到相关条文")
        places = unknown_places(question, corpus_text) if corpus_text else []
        s = self.score(hits, picks)
        if places:
            return Decision(True, s, f"已收录的文件不包含{'、'.join(places)}的政策", places)
        return Decision(s > self.threshold, s)
