"""Calibrate the refusal score on the gold set: fit its weights, choose its threshold, estimate.

    python eval/calibrate_refusal.py                              # eval/gold.jsonl, index from settings
    python eval/calibrate_refusal.py --gold eval/gold.jsonl --max-wrong 0.04 --l2 0.5
    python eval/calibrate_refusal.py --gold my_gold.jsonl --write index/refusal.json   # another corpus

For every gold question the script runs what the assistant runs before deciding (rewrite-free
retrieval, sentence scoring), takes the features of `qa.answer.refusal.features` and the hard
rules (unknown place, other year), and fits a logistic regression of "unanswerable" on the
features of the questions the rules leave to the score. The threshold is the lowest one whose
share of wrongly declined answerable questions stays within `--max-wrong` (the issue's target
is 5%; the default leaves a margin). The labels (question types) are read here and only here:
the assistant itself sees questions alone.

It prints the current policy's figures, the fitted weights/bias/threshold (the defaults of
`RefusalPolicy` come from here), the fitted policy's figures, and a leave-one-out estimate (each
question decided by a policy fitted and thresholded without it) that says how much of the gain is
fit. `--write FILE` saves the fitted policy as JSON for `QA_REFUSAL_CALIBRATION=FILE`: the way to
calibrate the refusal for another corpus with its own gold questions.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from qa.answer.pipeline import Assistant  # noqa: E402
from qa.answer.refusal import RefusalPolicy, features  # noqa: E402
from qa.config import load_settings  # noqa: E402
from qa.evaluate.gold import load_gold  # noqa: E402


@dataclass
class Row:
    qid: str
    question: str
    unanswerable: bool
    x: list[float]
    ruled: bool  # a hard rule declines it whatever the score
    no_evidence: bool  # nothing retrieved or no sentence to quote: always declined


def collect(assistant: Assistant, gold: list) -> list[Row]:
    rows = []
    for item in gold:
        query, result = assistant.retrieve(item.question)
        picks = assistant.extractive.score_sentences(query, result.hits)
        named = bool(result.inferred.doc_ids)
        ruled = RefusalPolicy.rule(item.question, result.hits, assistant.corpus_text) is not None
        rows.append(
            Row(item.id, item.question, item.type == "unanswerable", features(result.hits, picks, named), ruled,
                not result.hits or not picks)
        )
    return rows


def fit(x: np.ndarray, y: np.ndarray, l2: float, iters: int = 50) -> np.ndarray:
    """Logistic regression by Newton's method, L2 on the weights (not the bias); returns [w…, b]."""
    a = np.hstack([x, np.ones((len(x), 1))])
    theta = np.zeros(a.shape[1])
    reg = np.full(a.shape[1], l2)
    reg[-1] = 0.0
    for _ in range(iters):
        p = 1 / (1 + np.exp(-(a @ theta)))
        grad = a.T @ (p - y) + reg * theta
        hess = (a.T * (p * (1 - p))) @ a + np.diag(reg) + 1e-9 * np.eye(a.shape[1])
        step = np.linalg.solve(hess, grad)
        theta -= step
        if np.abs(step).max() < 1e-8:
            break
    return theta


def choose_threshold(scores: np.ndarray, y: np.ndarray, forced: np.ndarray, max_wrong: float) -> float:
    """Lowest threshold (most declined) whose wrongly-declined share of answerables is within bound."""
    n_ans = max(1, int((~y.astype(bool)).sum()))
    candidates = np.unique(scores)
    mids = np.concatenate([[candidates[0] - 1], (candidates[1:] + candidates[:-1]) / 2, [candidates[-1] + 1]])
    for t in np.sort(mids):  # ascending: the first that satisfies the bound declines the most
        wrong = ((scores > t) | forced) & (y == 0)
        if wrong.sum() / n_ans <= max_wrong:
            return float(t)
    return float(mids[-1])


def figures(declined: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    u = y == 1
    return float(declined[u].mean()), float(declined[~u].mean())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gold", default=str(ROOT / "eval" / "gold.jsonl"))
    ap.add_argument("--max-wrong", type=float, default=0.04, help="bound on wrongly declined answerable questions")
    ap.add_argument("--l2", type=float, default=0.5, help="L2 penalty on the weights")
    ap.add_argument("--show", type=int, default=12, help="borderline questions to list")
    ap.add_argument("--write", metavar="FILE", help="save the fitted policy as JSON (for QA_REFUSAL_CALIBRATION)")
    args = ap.parse_args(argv)

    assistant = Assistant(load_settings())
    rows = collect(assistant, load_gold(args.gold))
    x = np.array([r.x for r in rows], dtype=float)
    y = np.array([r.unanswerable for r in rows], dtype=float)
    forced = np.array([r.ruled or r.no_evidence for r in rows])
    print(f"{len(rows)} questions, {int(y.sum())} unanswerable; {int(forced.sum())} declined by a rule "
          f"({int((forced & (y == 1)).sum())} unanswerable)")

    current = assistant.refusal  # the defaults, or the configured calibration file / threshold
    cur_scores = x @ np.array(current.weights) + current.bias
    d, w = figures((cur_scores > current.threshold) | forced, y)
    print(f"current  weights={current.weights} bias={current.bias} threshold={current.threshold}: "
          f"declined unanswerable {d:.1%}, wrongly declined {w:.1%}")

    free = ~forced  # the rules decide the others; fit the score on what it decides
    theta = fit(x[free], y[free], args.l2)
    scores = x @ theta[:-1] + theta[-1]
    t = choose_threshold(scores, y, forced, args.max_wrong)
    d, w = figures((scores > t) | forced, y)
    weights = tuple(round(float(v), 3) for v in theta[:-1])
    print(f"fitted   weights={weights} bias={theta[-1]:.3f} threshold={t:.3f}: "
          f"declined unanswerable {d:.1%}, wrongly declined {w:.1%}")

    # leave-one-out: refit and re-threshold without the question, then decide it
    loo = np.zeros(len(rows), dtype=bool)
    for i in range(len(rows)):
        if forced[i]:
            loo[i] = True
            continue
        keep = np.ones(len(rows), dtype=bool)
        keep[i] = False
        th = fit(x[keep & free], y[keep & free], args.l2)
        s = x @ th[:-1] + th[-1]
        ti = choose_threshold(s[keep], y[keep], forced[keep], args.max_wrong)
        loo[i] = s[i] > ti
    d, w = figures(loo, y)
    print(f"leave-one-out estimate: declined unanswerable {d:.1%}, wrongly declined {w:.1%}")

    print("\nborderline (fitted score − threshold), U = unanswerable, R = declined by a rule:")
    order = np.argsort(np.abs(scores - t))
    for i in order[: args.show]:
        r = rows[i]
        print(f"  {scores[i] - t:+.2f} {'U' if r.unanswerable else ' '}{'R' if forced[i] else ' '} {r.qid} {r.question[:40]}")
    if args.write:
        fitted = RefusalPolicy(weights, round(float(theta[-1]), 3), round(t, 3))
        Path(args.write).write_text(json.dumps(fitted.to_dict(), indent=2) + "\n", encoding="utf-8")
        print(f"\nwrote {args.write}: use it with QA_REFUSAL_CALIBRATION={args.write}")
    print("\nRefusalPolicy defaults:")
    print(f"    weights: tuple[float, ...] = {weights}\n    bias: float = {theta[-1]:.3f}\n    threshold: float = {t:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
