"""eval/calibrate_refusal.py: the fit and threshold on toy data, and the shipped policy on the gold set."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from qa.answer.refusal import RefusalPolicy
from qa.evaluate.gold import load_gold

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def cal():
    spec = importlib.util.spec_from_file_location("calibrate_refusal", ROOT / "eval" / "calibrate_refusal.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # its dataclass looks itself up there
    spec.loader.exec_module(mod)
    return mod


def test_fit_separates_and_threshold_respects_the_bound(cal):
    rng = np.random.default_rng(0)
    x = np.vstack([rng.normal(-1, 0.5, (80, 2)), rng.normal(1, 0.5, (20, 2))])
    y = np.r_[np.zeros(80), np.ones(20)]
    theta = cal.fit(x, y, l2=0.1)
    assert theta[0] > 0 and theta[1] > 0  # higher features → unanswerable
    scores = x @ theta[:-1] + theta[-1]
    forced = np.zeros(100, dtype=bool)
    for bound in (0.0, 0.05, 0.2):
        t = cal.choose_threshold(scores, y, forced, bound)
        assert ((scores > t) & (y == 0)).mean() / 0.8 <= bound + 1e-9
    # a looser bound never declines fewer
    assert cal.choose_threshold(scores, y, forced, 0.2) <= cal.choose_threshold(scores, y, forced, 0.0)


def test_shipped_policy_meets_the_refusal_targets_on_the_gold_set(cal, assistant):
    """The issue's target: ≥ 90% of unanswerable gold questions declined, ≤ 5% of answerable ones."""
    rows = cal.collect(assistant, load_gold(ROOT / "eval" / "gold.jsonl"))
    p = RefusalPolicy()
    x = np.array([r.x for r in rows])
    y = np.array([r.unanswerable for r in rows], dtype=float)
    forced = np.array([r.ruled or r.no_evidence for r in rows])
    declined = (x @ np.array(p.weights) + p.bias > p.threshold) | forced
    unans, wrong = cal.figures(declined, y)
    assert unans >= 0.90 and wrong <= 0.05, (unans, wrong)
