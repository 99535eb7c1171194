"""A small logistic model with named features, kept as data (qa/data/answer_model.json).

The answer stage makes two decisions with it: which retrieved articles answer the question
(`article`), and whether anything answers it at all (`coverage`). Both are fitted by
`python eval/calibrate_answer.py` on the tuning questions only (never the frozen test split);
the JSON it writes names every weight, so a reader can see what each signal is worth.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from qa import data


@dataclass
class LogisticModel:
    features: list[str]
    weights: list[float]
    bias: float = 0.0
    threshold: float = 0.5  # probability at or above which the decision is "yes"
    scale: list[float] = field(default_factory=list)  # per-feature divisor applied before the weights

    def score(self, x: list[float]) -> float:
        """The linear score (log-odds)."""
        scale = self.scale or [1.0] * len(x)
        return self.bias + sum(w * v / s for w, v, s in zip(self.weights, x, scale, strict=True))

    def prob(self, x: list[float]) -> float:
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, self.score(x)))))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "LogisticModel":
        return cls(
            features=list(d["features"]),
            weights=[float(w) for w in d["weights"]],
            bias=float(d.get("bias", 0.0)),
            threshold=float(d.get("threshold", 0.5)),
            scale=[float(s) for s in d.get("scale", [])],
        )


@dataclass
class AnswerModels:
    """The fitted models of the answer stage and the thresholds chosen with them."""

    article: LogisticModel  # P(an article answers the question)
    coverage: LogisticModel  # P(the question is answerable from what was retrieved)
    extra_min: float = 0.5  # an article besides the best one is cited at this P or above
    extra_ratio: float = 0.5  # … and at this share of the best article's P
    partial_below: float | None = None  # P(answerable) under which an answer is marked partial (hedged)
    meta: dict[str, Any] = field(default_factory=dict)  # how and on what it was fitted

    @classmethod
    def load(cls, path: str | Path | None = None) -> "AnswerModels":
        """The shipped models, or a file written by eval/calibrate_answer.py --write."""
        if path:
            try:
                raw = json.loads(Path(path).read_text(encoding="utf-8"))
            except (OSError, ValueError) as err:
                raise ValueError(f"答案模型文件无效 / bad answer model file {path}: {err}") from err
        else:
            raw = json.loads((data.HERE / "answer_model.json").read_text(encoding="utf-8"))
        try:
            return cls(
                article=LogisticModel.from_dict(raw["article"]),
                coverage=LogisticModel.from_dict(raw["coverage"]),
                extra_min=float(raw.get("extra_min", 0.5)),
                extra_ratio=float(raw.get("extra_ratio", 0.5)),
                partial_below=None if raw.get("partial_below") is None else float(raw["partial_below"]),
                meta=dict(raw.get("meta", {})),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"答案模型文件无效 / bad answer model file {path or 'answer_model.json'}: {err}") from err

    def to_dict(self) -> dict[str, Any]:
        return {
            "article": self.article.to_dict(),
            "coverage": self.coverage.to_dict(),
            "extra_min": self.extra_min,
            "extra_ratio": self.extra_ratio,
            "partial_below": self.partial_below,
            "meta": self.meta,
        }
