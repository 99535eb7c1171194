"""Evaluation runs on disk, human judgements next to them, and what they add up to.

A run is a directory as `qa eval --out DIR` writes it (metrics.json, per_question.jsonl,
report.md, report.html), plus:

- ``run.json``        what was run: gold file name, import notes, index version, time;
- ``judgements.json`` the evaluator's verdicts ``{id: {"verdict": correct|partly|wrong, "comment", "at"}}``,
  written atomically each time one is saved, read again whenever the run is opened;
- ``plots/*.png``     the report's plots, drawn once.

Pure functions over those files (no Gradio): human-judged accuracy, agreement of the automatic
key-point score with the verdicts, failure tags per question, and the comparison of two runs.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Sequence

VERDICTS = {"correct": "正确", "partly": "部分正确", "wrong": "错误"}
FAILURE_TAGS = {
    "kp": "要点缺失",
    "declined": "误拒",
    "not_declined": "应拒答未拒",
    "uncited": "有未引用的句子",
    "error": "出错",
}
_ID = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,80}$")


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


@dataclass
class Run:
    """One run directory, loaded."""

    run_id: str
    path: Path
    meta: dict[str, Any]
    metrics: dict[str, Any]  # config name → summarize() block
    records: list[dict[str, Any]]
    judgements: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def config(self) -> str:
        return next(iter(self.metrics), "")

    def main_records(self) -> list[dict[str, Any]]:
        """The records of the run's first configuration (a `qa eval` run may hold several)."""
        return [r for r in self.records if r.get("config") == self.config] or list(self.records)

    def record(self, qid: str) -> dict[str, Any] | None:
        return next((r for r in self.main_records() if r["id"] == qid), None)

    def label(self) -> str:
        return run_label(self.meta, len(self.main_records()), len(self.judgements))


def run_label(meta: dict[str, Any], n: Any, judged: int) -> str:
    created = meta.get("created", "")
    gold = meta.get("gold_name") or Path(str(meta.get("gold", ""))).name
    return f"{created} · {gold} · {n} 个问题" + (f" · 已评 {judged}" if judged else "")


class RunStore:
    """Runs under ``root`` (one directory each, newest first)."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def new_id(self, name: str = "") -> str:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        slug = re.sub(r"[^0-9A-Za-z]+", "-", Path(name).stem)[:30].strip("-") or "run"
        base, n = f"{stamp}-{slug}", 1
        rid = base
        while (self.root / rid).exists():
            n += 1
            rid = f"{base}-{n}"
        return rid

    def path(self, run_id: str) -> Path | None:
        """The directory of a run id, or None (ids never name a path outside the store)."""
        if not isinstance(run_id, str) or not _ID.match(run_id):
            return None
        p = self.root / run_id
        return p if (p / "per_question.jsonl").is_file() else None

    def ids(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted((p.name for p in self.root.iterdir() if (p / "per_question.jsonl").is_file() and _ID.match(p.name)), reverse=True)

    def choices(self) -> list[tuple[str, str]]:
        """(label, run id) of every run, newest first; reads only the small files of each."""
        out = []
        for rid in self.ids():
            p = self.root / rid
            try:
                meta = json.loads((p / "run.json").read_text(encoding="utf-8")) if (p / "run.json").is_file() else \
                    json.loads((p / "metrics.json").read_text(encoding="utf-8")).get("meta", {})
            except (OSError, ValueError):
                continue
            out.append((run_label(meta, meta.get("questions"), len(load_judgements(p))), rid))
        return out

    def load(self, run_id: str) -> Run | None:
        p = self.path(run_id)
        if p is None:
            return None
        try:
            metrics_doc = json.loads((p / "metrics.json").read_text(encoding="utf-8")) if (p / "metrics.json").is_file() else {}
            records = [json.loads(line) for line in (p / "per_question.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
            meta = json.loads((p / "run.json").read_text(encoding="utf-8")) if (p / "run.json").is_file() else {}
        except (OSError, ValueError):
            return None
        meta = {**metrics_doc.get("meta", {}), **meta}
        return Run(run_id, p, meta, metrics_doc.get("configs", {}), records, load_judgements(p))

    def save(self, run_id: str, metrics: dict[str, Any], records: Sequence[dict[str, Any]], meta: dict[str, Any]) -> Run:
        from qa.evaluate.report import write_reports

        out = self.root / run_id
        meta = {"created": datetime.now().strftime("%Y-%m-%d %H:%M"), **meta}
        _atomic_write(out / "run.json", json.dumps(meta, ensure_ascii=False, indent=1))
        write_reports(out, metrics, records, meta)  # last: per_question.jsonl marks the run complete
        run = self.load(run_id)
        assert run is not None
        return run


# ---------------------------------------------------------------- judgements


def load_judgements(run_dir: Path | str) -> dict[str, dict[str, Any]]:
    p = Path(run_dir) / "judgements.json"
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): v for k, v in data.items() if isinstance(v, dict) and v.get("verdict") in VERDICTS}


def save_judgement(run_dir: Path | str, qid: str, verdict: str | None, comment: str = "") -> dict[str, dict[str, Any]]:
    """Record (or with verdict None, remove) one verdict; the file is rewritten atomically."""
    judgements = load_judgements(run_dir)
    if verdict:
        if verdict not in VERDICTS:
            raise ValueError(f"无效的评价：{verdict}")
        judgements[qid] = {"verdict": verdict, "comment": comment, "at": datetime.now().isoformat(timespec="seconds")}
    else:
        judgements.pop(qid, None)
    _atomic_write(Path(run_dir) / "judgements.json", json.dumps(judgements, ensure_ascii=False, indent=1))
    return judgements


# ---------------------------------------------------------------- per question


def auto_verdict(record: dict[str, Any]) -> str | None:
    """What the automatic scores say: a declined unanswerable question is correct; otherwise the
    key-point coverage (all → correct, some → partly, none → wrong); None when it cannot tell."""
    s = record.get("scores") or {}
    if record.get("error") or s.get("error"):
        return "wrong"
    expected = s.get("expected_coverage", "full")
    if expected == "none":
        return "correct" if s.get("refused") else "wrong"
    if s.get("refused"):
        return "wrong"
    kp = s.get("kp_coverage")
    if kp is None:
        return None
    return "correct" if kp >= 0.999 else ("partly" if kp > 0 else "wrong")


def failure_tags(record: dict[str, Any]) -> list[str]:
    """Why a question failed automatically (keys of FAILURE_TAGS); [] when it did not."""
    s = record.get("scores") or {}
    tags = []
    if record.get("error"):
        tags.append("error")
    expected = s.get("expected_coverage", "full")
    if expected == "none" and not s.get("refused"):
        tags.append("not_declined")
    if expected == "full" and s.get("refused"):
        tags.append("declined")
    if s.get("kp_coverage") is not None and s["kp_coverage"] < 0.999 and not s.get("refused"):
        tags.append("kp")
    if s.get("cited_sentences") is not None and s["cited_sentences"] < 0.999:
        tags.append("uncited")
    return tags


def human_metrics(records: Sequence[dict[str, Any]], judgements: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Human-judged accuracy and the agreement of the automatic verdict with the human one."""
    ids = {r["id"]: r for r in records}
    judged = {q: j["verdict"] for q, j in judgements.items() if q in ids}
    counts = {v: sum(1 for x in judged.values() if x == v) for v in VERDICTS}
    n = len(judged)
    pairs = [(auto_verdict(ids[q]), v) for q, v in judged.items()]
    pairs = [(a, h) for a, h in pairs if a is not None]
    agree = sum(a == h for a, h in pairs)
    # the coarser question: does the automatic score pass (correct) exactly when the person says correct?
    agree_pass = sum((a == "correct") == (h == "correct") for a, h in pairs)
    return {
        "n_questions": len(ids),
        "n_judged": n,
        "counts": counts,
        "accuracy": counts["correct"] / n if n else None,
        "accuracy_lenient": (counts["correct"] + counts["partly"]) / n if n else None,
        "n_compared": len(pairs),
        "agreement": agree / len(pairs) if pairs else None,
        "agreement_pass": agree_pass / len(pairs) if pairs else None,
        "confusion": {f"{a}->{h}": sum(1 for x, y in pairs if (x, y) == (a, h)) for a in VERDICTS for h in VERDICTS},
    }


# ---------------------------------------------------------------- two runs


def question_score(record: dict[str, Any], judgement: dict[str, Any] | None = None) -> float | None:
    """One number per answer for comparing runs: the human verdict when there is one
    (1 / 0.5 / 0), else the automatic one."""
    verdict = (judgement or {}).get("verdict") or auto_verdict(record)
    return {"correct": 1.0, "partly": 0.5, "wrong": 0.0}.get(verdict or "")


def compare_runs(a: Run, b: Run) -> dict[str, Any]:
    """Question by question (matched by id, else by question text): better, worse, unchanged."""
    ra, rb = a.main_records(), b.main_records()
    by_q_b = {r["question"]: r for r in rb}
    by_id_b = {r["id"]: r for r in rb}
    rows: list[dict[str, Any]] = []
    matched_b: set[str] = set()
    for r in ra:
        other = by_id_b.get(r["id"]) if by_id_b.get(r["id"], {}).get("question") == r["question"] else by_q_b.get(r["question"])
        if other is None:
            rows.append({"id": r["id"], "question": r["question"], "change": "only_a", "a": question_score(r, a.judgements.get(r["id"])), "b": None})
            continue
        matched_b.add(other["id"])
        sa, sb = question_score(r, a.judgements.get(r["id"])), question_score(other, b.judgements.get(other["id"]))
        ka, kb = (r.get("scores") or {}).get("kp_coverage"), (other.get("scores") or {}).get("kp_coverage")
        if sa is not None and sb is not None and sb != sa:
            change = "better" if sb > sa else "worse"
        elif sa is None and sb is None and ka is not None and kb is not None and ka != kb:
            change = "better" if kb > ka else "worse"
        else:
            change = "same"
        rows.append({
            "id": r["id"], "question": r["question"], "change": change, "a": sa, "b": sb, "kp_a": ka, "kp_b": kb,
            "answer_a": (r.get("answer") or {}).get("answer", ""), "answer_b": (other.get("answer") or {}).get("answer", ""),
            "verdict_a": (a.judgements.get(r["id"]) or {}).get("verdict"), "verdict_b": (b.judgements.get(other["id"]) or {}).get("verdict"),
            "refused_a": (r.get("scores") or {}).get("refused"), "refused_b": (other.get("scores") or {}).get("refused"),
        })  # fmt: skip
    for r in rb:
        if r["id"] not in matched_b:
            rows.append({"id": r["id"], "question": r["question"], "change": "only_b", "a": None, "b": question_score(r, b.judgements.get(r["id"]))})
    counts = {k: sum(1 for x in rows if x["change"] == k) for k in ("better", "worse", "same", "only_a", "only_b")}
    order = {"worse": 0, "better": 1, "only_a": 2, "only_b": 3, "same": 4}
    rows.sort(key=lambda x: order[x["change"]])
    return {"counts": counts, "rows": rows}
