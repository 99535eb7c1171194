"""Decide whether the retrieved evidence supports an answer at all.

A logistic score over four signals of the evidence — the best dense similarity, the best
BM25 score, and how well the best sentence and article cover the question — plus two hard
rules: a question about a place the corpus does not contain, and a question about a year
(2023年) when the documents found are another year's plan (《…2022年…实施方案》). The weights were fitted once by
logistic regression on these features of the gold set's questions (hybrid retrieval), with the
threshold chosen for the refusal targets: `python eval/calibrate_refusal.py` prints them (and a
leave-one-out estimate); re-run it when retrieval, the answerer or the gold set changes.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from qa.answer.extractive import Pick
from qa.answer.places import unknown_places
from qa.models import Hit

if TYPE_CHECKING:
    from qa.config import Settings


@dataclass
class Decision:
    refuse: bool
    score: float  # the logistic score; above `threshold` means decline
    reason: str = ""  # e.g. 已收录文件不包含 历下 的政策
    unknown_places: list[str] = field(default_factory=list)


# Typical values on answerable gold questions: stand in for a signal a single-retriever
# mode (bm25 or dense alone) does not produce, so the decision rests on the others.
_NEUTRAL = {"dense": 0.925, "bm25": 14.0}


_YEAR = re.compile(r"(20\d\d)\s*年")
_YEAR_HITS = 5  # the documents a year must appear in: those of the first hits


def other_year(question: str, hits: list[Hit]) -> tuple[str, str] | None:
    """(asked year, the nearest document's title) when the question asks about a year that none
    of the top documents mentions while they are dated plans of another year."""
    asked = list(dict.fromkeys(_YEAR.findall(question)))
    if not asked or not hits:
        return None
    top = hits[:_YEAR_HITS]
    seen = "".join(
        f"{h.document.title}{h.document.notice_title or ''}{h.document.date or ''}{h.chunk.text_simplified}" for h in top
    )
    for year in asked:
        if year in seen:
            continue
        for h in top:
            titled = _YEAR.findall(h.document.title)
            if titled and year not in titled:
                return year, h.document.title
    return None


def _best(hits: list[Hit], key: str) -> float:
    values = [h.scores[key] for h in hits if key in h.scores]
    return max(values) if values else _NEUTRAL[key]


def features(hits: list[Hit], picks: list[Pick], named_document: bool = False) -> list[float]:
    """The signals the score weighs. `named_document`: the question itself names an indexed
    document (招政发〔2022〕8号): it asks about a document we have, whose wording the
    question need not share (dense and BM25 scores of such questions run low)."""
    dense = _best(hits, "dense")
    bm25 = _best(hits, "bm25")
    best = max((p.score for p in picks), default=0.0)
    cov = max((p.coverage for p in picks), default=0.0)
    return [(dense - 0.9) * 20, math.log1p(max(bm25, 0.0)), best, cov, float(named_document)]


@dataclass
class RefusalPolicy:
    # from `python eval/calibrate_refusal.py` (hybrid retrieval, eval/gold.jsonl)
    weights: tuple[float, ...] = (-2.685, -3.107, -0.816, -0.542, -1.731)
    bias: float = 7.031
    threshold: float = -1.335

    @classmethod
    def from_settings(cls, settings: "Settings") -> "RefusalPolicy":
        """The calibrated defaults, or a calibration file (`calibrate_refusal.py --write`), and
        the operator's threshold if set."""
        policy = cls()
        if settings.refusal_calibration:
            path = Path(settings.refusal_calibration)
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                policy = cls(tuple(float(w) for w in data["weights"]), float(data["bias"]), float(data["threshold"]))
            except (OSError, ValueError, KeyError, TypeError) as err:
                raise ValueError(f"拒答校准文件无效 / bad refusal calibration file {path}: {err}") from err
            if len(policy.weights) != len(cls().weights):
                raise ValueError(
                    f"拒答校准文件无效 / bad refusal calibration file {path}: "
                    f"{len(policy.weights)} weights, expected {len(cls().weights)}"
                )
        if settings.refusal_threshold is not None:
            policy = replace(policy, threshold=float(settings.refusal_threshold))
        return policy

    def to_dict(self) -> dict[str, object]:
        return {"weights": list(self.weights), "bias": self.bias, "threshold": self.threshold}

    def score(self, hits: list[Hit], picks: list[Pick], named_document: bool = False) -> float:
        x = features(hits, picks, named_document)
        return sum(w * v for w, v in zip(self.weights, x, strict=True)) + self.bias

    def run(
        self, question: str, hits: list[Hit], picks: list[Pick], corpus_text: str = "", named_document: bool = False
    ) -> Decision:
        if not hits or not picks:
            return Decision(True, math.inf, "没有检索到相关条文")
        s = self.score(hits, picks, named_document)
        return self.rule(question, hits, corpus_text, s) or Decision(s > self.threshold, s)

    @staticmethod
    def rule(question: str, hits: list[Hit], corpus_text: str = "", score: float = math.inf) -> Decision | None:
        """The hard rules, which decline whatever the score says."""
        places = unknown_places(question, corpus_text) if corpus_text else []
        if places:
            return Decision(True, score, f"已收录的文件不包含{'、'.join(places)}的政策", places)
        if mismatch := other_year(question, hits):
            year, title = mismatch
            return Decision(True, score, f"找到的是《{title}》，文件中没有{year}年的规定")
        return None
