"""Evaluation outputs: metrics.json, per_question.jsonl, report.md and a self-contained report.html.

The HTML report embeds its plots as base64 PNGs (matplotlib, Agg backend), so
it opens offline from a file or an e-mail attachment. Plot labels are English
ASCII: the default matplotlib fonts have no CJK glyphs.
"""

from __future__ import annotations

import base64
import html
import io
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

from qa.evaluate.metrics import CONTEXT_CHARS, RECALL_KS

# (column label, getter on an `aggregate` dict, format)
_PCT = "pct"
_NUM = "num"
_MS = "ms"


def _lat(stage: str, q: str):  # noqa: ANN202
    return lambda a: (a.get("latency_ms", {}).get(stage) or {}).get(q)


HEADLINE: list[tuple[str, Any, str]] = [
    ("n", lambda a: a["n"], _NUM),
    *[(f"R@{k}", (lambda k: lambda a: a["recall_at"].get(str(k)))(k), _PCT) for k in RECALL_KS],
    *[(f"R@{n}c", (lambda n: lambda a: a["recall_chars"].get(str(n)))(n), _PCT) for n in CONTEXT_CHARS],
    ("all-ev@10", lambda a: a["all_evidence"], _PCT),
    ("MRR@10", lambda a: a["mrr"], _NUM),
    ("key points", lambda a: a["kp_coverage"], _PCT),
    ("kp+quotes", lambda a: a["kp_coverage_with_quotes"], _PCT),
    ("cit. prec.", lambda a: a["citation_precision"], _PCT),
    ("cited sent.", lambda a: a["cited_sentences"], _PCT),
    ("len", lambda a: a["answer_chars"], _NUM),
    ("declined unans.", lambda a: a["declined_unanswerable"], _PCT),
    ("wrongly declined", lambda a: a["wrongly_declined"], _PCT),
    ("handled unans.+partial", lambda a: a.get("handled_not_full"), _PCT),
    ("full marked partial", lambda a: a.get("full_marked_partial"), _PCT),
    ("by-doc declined", lambda a: a.get("bydoc_declined"), _PCT),
    ("glitches", lambda a: a.get("glitch_answers"), _PCT),
    ("wrong verdicts", lambda a: a.get("verdicts_wrong"), _PCT),
    ("validity", lambda a: a.get("validity_accuracy"), _PCT),
    ("p50 ms", _lat("wall", "p50"), _MS),
    ("p95 ms", _lat("wall", "p95"), _MS),
]

GROUP_COLUMNS: list[tuple[str, Any, str]] = [
    ("n", lambda a: a["n"], _NUM),
    ("R@5", lambda a: a["recall_at"].get("5"), _PCT),
    ("R@2500c", lambda a: a["recall_chars"].get("2500"), _PCT),
    ("MRR", lambda a: a["mrr"], _NUM),
    ("key points", lambda a: a["kp_coverage"], _PCT),
    ("cit. prec.", lambda a: a["citation_precision"], _PCT),
    ("declined", lambda a: a["declined_unanswerable"] if a["n_answerable"] == 0 else a["wrongly_declined"], _PCT),
]

DEFINITIONS = [
    ("R@k", "share of evidence spans (pooled over answerable questions) found in one of the top-k retrieved hits; the retriever gets the question text only"),
    ("R@Nc", "share of evidence spans inside the first N characters of the hit texts concatenated in rank order"),
    ("all-ev@10", "questions with 2+ evidence spans whose spans are all in the top 10"),
    ("MRR@10", "mean of 1/rank of the first top-10 hit containing any evidence span (0 if none)"),
    ("key points", "share of the reference key points stated in the answer text itself (headline)"),
    ("kp+quotes", "the same, counting the quoted citation passages too"),
    ("cit. prec.", "share of citations whose passage contains an evidence span or key point"),
    ("cited sent.", "share of answer sentences carrying a [n] citation marker"),
    ("len", "mean answer length in characters (markers removed; answered questions only)"),
    ("declined unans.", "share of unanswerable questions the system declined (higher is better)"),
    ("wrongly declined", "share of questions expecting a full answer that the system declined (lower is better)"),
    ("handled unans.+partial", "share of unanswerable and partial questions not presented as fully answered (declined, or marked partial)"),
    ("full marked partial", "share of questions the documents answer fully whose answer was marked partial (hedged)"),
    ("by-doc declined", "share of questions about a named document that were declined (should be 0)"),
    ("glitches", "share of answers with a text glitch: markdown residue, dangling colon, addressee or signature line, line starting with punctuation"),
    ("wrong verdicts", "answers opening with 需要/不需要/可以/不可以 whose sense is the opposite of the reference answer's first word (不行。/ 能。…), among answers with a verdict and a reference that starts with one"),
    ("validity", "questions with a gold validity block, asked once per date: share of dates on which the cited document carries the right status and, when not in force, the answer warns (注意：…)"),
    ("p50/p95 ms", "wall-clock time of Assistant.ask per question"),
]


def _fmt(value: Any, kind: str) -> str:
    if value is None:
        return "–"
    if kind == _PCT:
        return f"{100 * value:.1f}%"
    if kind == _MS:
        return f"{value:.0f}"
    if isinstance(value, float):
        return f"{value:.3f}" if value < 10 else f"{value:.0f}"
    return str(value)


def _cell(text: Any) -> str:
    """Markdown table cell: no pipes or line breaks."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def _short(text: str, n: int = 160) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[: n - 1] + "…"


# ---------------------------------------------------------------- tables (shared by md and html)


def headline_table(metrics: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    header = ["config"] + [c[0] for c in HEADLINE]
    rows = [[name] + [_fmt(get(m["overall"]), kind) for _, get, kind in HEADLINE] for name, m in metrics.items()]
    return header, rows


def baseline_margin(metrics: dict[str, Any], baseline: str = "quote-top2") -> list[str]:
    """One line per configuration: its key points and citation precision minus the baseline's."""
    base = metrics.get(baseline)
    if base is None:
        return []
    b = base["overall"]
    lines = []
    for name, m in metrics.items():
        if name == baseline:
            continue
        o = m["overall"]
        if o.get("kp_coverage") is None or b.get("kp_coverage") is None:
            continue
        kp = 100 * (o["kp_coverage"] - b["kp_coverage"])
        cp = 100 * ((o.get("citation_precision") or 0) - (b.get("citation_precision") or 0))
        verdict = "beats" if kp > 0 else "does NOT beat"
        lines.append(f"{name} {verdict} {baseline}: key points {kp:+.1f} points, citation precision {cp:+.1f} points")
    return lines


def group_table(metrics: dict[str, Any], by: str) -> tuple[list[str], list[list[str]]]:
    """Rows: group × config; `by` is 'by_type' or 'by_persona'."""
    header = [by.removeprefix("by_"), "config"] + [c[0] for c in GROUP_COLUMNS]
    groups: list[str] = []
    for m in metrics.values():
        groups.extend(g for g in m[by] if g not in groups)
    rows = []
    for g in groups:
        for name, m in metrics.items():
            if g in m[by]:
                rows.append([g, name] + [_fmt(get(m[by][g]), kind) for _, get, kind in GROUP_COLUMNS])
    return header, rows


def latency_table(metrics: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    header = ["config", "stage", "p50 ms", "p95 ms", "n"]
    rows = []
    for name, m in metrics.items():
        for stage, v in m["overall"]["latency_ms"].items():
            rows.append([name, stage, _fmt(v["p50"], _MS), _fmt(v["p95"], _MS), str(v["n"])])
    return header, rows


def _failure_score(r: dict[str, Any]) -> tuple[float, float]:
    s = r["scores"]
    if not s["answerable"]:
        return (0.0, 0.0) if not s["refused"] else (2.0, 2.0)
    kp = s["kp_coverage"] if s["kp_coverage"] is not None else 0.0
    rec = s["recall_at"].get("10")
    return (kp, rec if rec is not None else 0.0)


def worst_failures(records: Sequence[dict[str, Any]], config: str, n: int = 12) -> list[dict[str, Any]]:
    """The worst questions of one config: unanswered-but-answerable, answered-but-unanswerable, low coverage."""
    recs = [r for r in records if r["config"] == config]
    bad = [r for r in recs if _failure_score(r) < (1.0, 1.0) or r["error"]]
    bad.sort(key=lambda r: (0 if r["error"] else 1, _failure_score(r), r["id"]))
    return bad[:n]


def _why(r: dict[str, Any]) -> str:
    s = r["scores"]
    if r["error"]:
        return "error: " + r["error"]
    if not s["answerable"]:
        return "unanswerable question answered"
    parts = []
    if s["refused"]:
        parts.append("wrongly declined")
    ranks = [h["rank"] for h in r["retrieval"]["hits"] if h.get("evidence")]
    parts.append(f"evidence first at rank {min(ranks)}" if ranks else "evidence not retrieved")
    parts.append(f"key points {_fmt(s['kp_coverage'], _PCT)}")
    return "; ".join(parts)


def failure_rows(records: Sequence[dict[str, Any]], config: str) -> tuple[list[str], list[list[str]]]:
    header = ["id", "type", "question", "reference", "system answer", "why"]
    rows = [
        [r["id"], r["type"], _short(r["question"], 80), _short(r["reference"], 120), _short(r["answer"].get("answer", ""), 160), _why(r)]
        for r in worst_failures(records, config)
    ]
    return header, rows


# ---------------------------------------------------------------- markdown


def md_table(header: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(_cell(h) for h in header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def render_markdown(metrics: dict[str, Any], records: Sequence[dict[str, Any]], meta: dict[str, Any] | None = None) -> str:
    meta = meta or {}
    parts = ["# Evaluation report", ""]
    if meta:
        parts += [f"- {k}: {v}" for k, v in meta.items()] + [""]
    parts += ["## Headline", "", md_table(*headline_table(metrics)), ""]
    parts += [f"- {line}" for line in baseline_margin(metrics)] + [""]
    parts += ["Definitions:", ""] + [f"- **{k}**: {v}" for k, v in DEFINITIONS] + [""]
    parts += ["## By question type", "", md_table(*group_table(metrics, "by_type")), ""]
    parts += ["## By persona", "", md_table(*group_table(metrics, "by_persona")), ""]
    parts += ["## Latency per stage", "", md_table(*latency_table(metrics)), ""]
    for name in metrics:
        parts += [f"## Worst failures — {name}", "", md_table(*failure_rows(records, name)), ""]
    return "\n".join(parts)


# ---------------------------------------------------------------- plots


def _png(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _pyplot():  # noqa: ANN202
    import matplotlib

    matplotlib.use("Agg", force=True)  # no display; safe in threads and servers
    import matplotlib.pyplot as plt

    return plt


def _plot_recall(metrics: dict[str, Any], field: str, xlabel: str, title: str) -> str:
    """Evidence recall of each config over one axis (hits k, or context characters)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for name, m in metrics.items():
        r = m["overall"][field]
        xs = sorted(int(x) for x in r if r[x] is not None)
        ax.plot(xs, [r[str(x)] for x in xs], marker="o", label=name)
    ax.set(xlabel=xlabel, ylabel="evidence recall", title=title, ylim=(0, 1.02))
    ax.grid(alpha=0.3)
    ax.legend()
    return _png(fig)


def plot_recall_k(metrics: dict[str, Any]) -> str:
    return _plot_recall(metrics, "recall_at", "hits (k)", "Evidence recall over k")


def plot_recall_chars(metrics: dict[str, Any]) -> str:
    return _plot_recall(metrics, "recall_chars", "context size (characters)", "Evidence recall over context size")


def plot_by_type(metrics: dict[str, Any], key: str = "kp_coverage", title: str = "Key-point coverage by type (unanswerable: share declined)") -> str:
    plt = _pyplot()
    types: list[str] = []
    for m in metrics.values():
        types.extend(t for t in m["by_type"] if t not in types)
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    width = 0.8 / max(1, len(metrics))
    for i, (name, m) in enumerate(metrics.items()):
        vals = []
        for t in types:
            a = m["by_type"].get(t)
            v = None if a is None else (a["declined_unanswerable"] if t == "unanswerable" and key == "kp_coverage" else a.get(key))
            vals.append(v or 0.0)
        ax.bar([x + i * width for x in range(len(types))], vals, width=width, label=name)
    ax.set_xticks([x + width * (len(metrics) - 1) / 2 for x in range(len(types))], types)
    ax.set(ylabel="share", title=title, ylim=(0, 1.05))
    ax.grid(axis="y", alpha=0.3)
    ax.legend()
    return _png(fig)


def plot_recall_by_type(metrics: dict[str, Any]) -> str:
    plt = _pyplot()
    types: list[str] = []
    for m in metrics.values():
        types.extend(t for t, a in m["by_type"].items() if a["n_answerable"] and t not in types)
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    width = 0.8 / max(1, len(metrics))
    for i, (name, m) in enumerate(metrics.items()):
        vals = [(m["by_type"].get(t) or {}).get("recall_at", {}).get("5") or 0.0 for t in types]
        ax.bar([x + i * width for x in range(len(types))], vals, width=width, label=name)
    ax.set_xticks([x + width * (len(metrics) - 1) / 2 for x in range(len(types))], types)
    ax.set(ylabel="evidence recall@5", title="Retrieval recall@5 by type", ylim=(0, 1.05))
    ax.grid(axis="y", alpha=0.3)
    ax.legend()
    return _png(fig)


def plot_latency(records: Sequence[dict[str, Any]]) -> str:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    configs: list[str] = []
    for r in records:
        if r["config"] not in configs:
            configs.append(r["config"])
    walls = {
        name: [1000 * r["scores"]["timings"]["wall"] for r in records if r["config"] == name and "wall" in r["scores"]["timings"]]
        for name in configs
    }
    everything = [v for vals in walls.values() for v in vals]
    if everything:
        import numpy as np

        bins = np.histogram_bin_edges(everything, bins=25)  # shared, so the configs are comparable
        for name, vals in walls.items():
            if vals:
                ax.hist(vals, bins=bins, alpha=0.5, label=name)
    ax.set(xlabel="answer latency (ms)", ylabel="questions", title="Answer latency")
    ax.grid(alpha=0.3)
    ax.legend()
    return _png(fig)


# ---------------------------------------------------------------- html

_CSS = """
body{font-family:system-ui,"Noto Sans CJK SC","PingFang SC","Microsoft YaHei",sans-serif;margin:2em;max-width:1200px;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:13px}th,td{border:1px solid #ccc;padding:4px 8px;vertical-align:top}
th{background:#f3f3f3}td{max-width:380px}img{max-width:100%;margin:.5em 1em .5em 0;border:1px solid #eee}
.plots{display:flex;flex-wrap:wrap}dl dt{font-weight:bold}
"""


def _html_table(header: list[str], rows: list[list[str]]) -> str:
    th = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    trs = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{trs}</tbody></table>"


def render_html(metrics: dict[str, Any], records: Sequence[dict[str, Any]], meta: dict[str, Any] | None = None) -> str:
    meta = meta or {}
    plots = [plot_recall_k(metrics), plot_recall_chars(metrics), plot_recall_by_type(metrics), plot_by_type(metrics), plot_latency(records)]
    imgs = "".join(f'<img alt="plot" src="data:image/png;base64,{p}">' for p in plots)
    body = ["<h1>Evaluation report</h1>"]
    if meta:
        body.append("<ul>" + "".join(f"<li>{html.escape(str(k))}: {html.escape(str(v))}</li>" for k, v in meta.items()) + "</ul>")
    body += ["<h2>Headline</h2>", _html_table(*headline_table(metrics))]
    body += [f"<p>{html.escape(line)}</p>" for line in baseline_margin(metrics)]
    body.append("<dl>" + "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in DEFINITIONS) + "</dl>")
    body += ["<h2>Plots</h2>", f'<div class="plots">{imgs}</div>']
    body += ["<h2>By question type</h2>", _html_table(*group_table(metrics, "by_type"))]
    body += ["<h2>By persona</h2>", _html_table(*group_table(metrics, "by_persona"))]
    body += ["<h2>Latency per stage</h2>", _html_table(*latency_table(metrics))]
    for name in metrics:
        body += [f"<h2>Worst failures — {html.escape(name)}</h2>", _html_table(*failure_rows(records, name))]
    return (
        '<!doctype html><html lang="zh"><head><meta charset="utf-8"><title>Evaluation report</title>'
        f"<style>{_CSS}</style></head><body>" + "\n".join(body) + "</body></html>"
    )


# ---------------------------------------------------------------- files


def write_reports(
    out_dir: Path | str, metrics: dict[str, Any], records: Sequence[dict[str, Any]], meta: dict[str, Any] | None = None
) -> dict[str, Path]:
    """Write the four report files into `out_dir` (created) and return their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    meta = {"created": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), **(meta or {})}
    paths = {
        "metrics": out / "metrics.json",
        "per_question": out / "per_question.jsonl",
        "markdown": out / "report.md",
        "html": out / "report.html",
    }
    paths["metrics"].write_text(json.dumps({"meta": meta, "configs": metrics}, ensure_ascii=False, indent=1), encoding="utf-8")
    with paths["per_question"].open("w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    paths["markdown"].write_text(render_markdown(metrics, records, meta), encoding="utf-8")
    paths["html"].write_text(render_html(metrics, records, meta), encoding="utf-8")
    return paths
