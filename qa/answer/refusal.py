"""Decide whether the retrieved evidence supports an answer at all."""

from __future__ import annotations

from dataclasses import dataclass

from qa.answer.extractive import Pick


@dataclass
class RefusalPolicy:
    """Decline when the best evidence covers too little of the question.

    Thresholds are calibrated on the gold set's unanswerable questions
    (eval/calibrate_refusal.py; figures in docs/BENCHMARKS.md).
    """

    min_coverage: float = 0.34  # share of the question's content bigrams found in the best article
    min_score: float = 0.30  # best sentence score

    def run(self, picks: list[Pick]) -> bool:
        """True when the assistant should decline."""
        if not picks:
            return True
        best = max(picks, key=lambda p: p.score)
        cov = max(p.coverage for p in picks)
        return cov < self.min_coverage or best.score < self.min_score
