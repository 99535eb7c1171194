"""The evaluator tab: run a gold file through the assistant, judge each answer, export.

The logic is in pure functions (load, run, table, judge, export) that the
tests call directly; `build_evaluator_tab` only wires them to Gradio
components inside the caller's Blocks context. Everything shown is plain
text in a Dataframe or HTML-escaped, so document or question text can never
inject markup, and exported CSV cells cannot start a spreadsheet formula.

The tab is only built behind QA_AUTH (qa/app/ui.py). A run is bounded: at most
`max_eval_questions` questions, one run per session, `eval_queue` runs in all; its
questions are answered in the shared answer pool like any other client's, one at a
time, so a run never blocks the chat; when the evaluator leaves, the run stops.
"""

from __future__ import annotations

import asyncio
import csv
import html
import json
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
import logging

log = logging.getLogger("qa.app")

from qa.evaluate.gold import GoldFormatError, GoldItem, load_gold
from qa.evaluate.metrics import evidence_recall_at_k, score_question

DEFAULT_GOLD = Path("eval") / "gold.jsonl"
# values as the page's judgement buttons send them (label: the Chinese word alone)
JUDGEMENTS = {"correct": "正确 correct", "partly": "部分正确 partly", "wrong": "错误 wrong"}
COLUMNS = [
    "id",
    "类型 type",
    "问题 question",
    "参考答案 reference",
    "系统回答 answer",
    "引用 citations",
    "要点覆盖 key points",
    "引用准确 cit. prec.",
    "证据检索 evidence",
    "拒答 refused",
    "评价 judgement",
    "备注 comment",
]
CSV_FIELDS = [
    "id", "type", "persona", "question", "reference", "answer", "citations", "refused",
    "kp_coverage", "citation_precision", "cited_sentences", "evidence_recall", "judgement", "comment",
]


@dataclass
class EvalRow:
    """One gold question with the system's answer, automatic scores and the evaluator's judgement."""

    id: str
    type: str
    persona: str
    question: str
    reference: str
    key_points: list[str]
    evidence: list[str]
    answer: str = ""
    citations: list[dict[str, Any]] = field(default_factory=list)
    refused: bool = False
    kp_coverage: float | None = None
    citation_precision: float | None = None
    cited_sentences: float | None = None
    evidence_recall: float | None = None  # evidence spans inside the passages the answer was based on
    error: str | None = None
    judgement: str = ""  # "" | correct | partly | wrong
    comment: str = ""

    @property
    def answerable(self) -> bool:
        return self.type != "unanswerable"

    def citations_text(self) -> str:
        return "\n".join(
            f"[{c.get('marker')}] 《{c.get('doc_title', '')}》{c.get('doc_number') or ''} {c.get('locator', '')}：{c.get('quote', '')}"
            for c in self.citations
        )

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)


# ---------------------------------------------------------------- pure logic


def load_items(upload: str | None, path: str | None) -> tuple[list[GoldItem], str]:
    """Gold items from an uploaded file (preferred) or a path; (items, status message)."""
    source = upload or (path or "").strip() or str(DEFAULT_GOLD)
    try:
        items = load_gold(source)
    except GoldFormatError as exc:
        return [], f"无法读取评测集：{exc}"
    if not items:
        return [], f"评测集为空：{Path(source).name} 中没有问题"
    unans = sum(not it.answerable for it in items)
    return items, f"已载入 {len(items)} 个问题（其中 {unans} 个应拒答），来自 {Path(source).name}"


_ROOT = Path(__file__).resolve().parents[2]
REFUSED_SOURCE = (
    "出于安全考虑，网页上只能读取上传的评测集、eval/ 目录下的文件或用户反馈草稿"
)


def web_source_problem(upload: str | None, path: str | None, extra_roots: Sequence[Path] = ()) -> str | None:
    """Why the page must not read this gold source (None: fine).

    The tab is reachable by anyone who can open the chat, so a typed path or a crafted
    upload reference must not make the server read arbitrary files: an upload must lie in
    Gradio's upload folder, a typed path under eval/ (of the project or the working dir).
    """
    if upload:
        from gradio.utils import get_upload_folder

        allowed = [Path(get_upload_folder()).resolve()]
        candidate = Path(upload)
    else:
        allowed = [(_ROOT / "eval").resolve(), (Path.cwd() / "eval").resolve(), *(Path(r).resolve() for r in extra_roots)]
        candidate = Path((path or "").strip() or str(DEFAULT_GOLD))
    try:
        real = candidate.resolve()
    except (OSError, RuntimeError, ValueError):
        return REFUSED_SOURCE
    if not any(real == a or a in real.parents for a in allowed):
        return REFUSED_SOURCE
    return None


def evaluate_item(assistant: Any, item: GoldItem) -> EvalRow:
    """Ask the assistant the question text only, and score the answer."""
    row = EvalRow(
        id=item.id, type=item.type, persona=item.persona, question=item.question,
        reference=item.answer, key_points=list(item.key_points), evidence=list(item.evidence),
    )
    try:
        ans = assistant.ask(item.question)
    except Exception as exc:  # shown in the table instead of breaking the whole run
        row.error = f"{type(exc).__name__}: {exc}"
        row.answer = f"（出错 / error：{row.error}）"
        return row
    hit_texts = [h.chunk.text for h in ans.hits]
    s = score_question(
        item, hit_texts, ans.text,
        citation_passages=[c.passage for c in ans.citations],
        citation_quotes=[c.quote for c in ans.citations],
        refused=ans.refused,
    )
    row.answer = ans.text
    row.citations = [c.to_dict() for c in ans.citations]
    row.refused = ans.refused
    row.kp_coverage, row.citation_precision, row.cited_sentences = s.kp_coverage, s.citation_precision, s.cited_sentences
    row.evidence_recall = evidence_recall_at_k(item.evidence, hit_texts, len(hit_texts)) if item.answerable else None
    return row


def evaluate_items(assistant: Any, items: Sequence[GoldItem], on_progress: Callable[[int, int], None] | None = None) -> list[EvalRow]:
    rows = []
    for n, item in enumerate(items):
        if on_progress:
            on_progress(n, len(items))
        rows.append(evaluate_item(assistant, item))
    if on_progress:
        on_progress(len(items), len(items))
    return rows


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{100 * v:.0f}%"


def _refusal_cell(r: EvalRow) -> str:
    if r.answerable:
        return "是 ✗ 误拒" if r.refused else "否"
    return "是 ✓" if r.refused else "否 ✗ 应拒答"


def table_rows(rows: Sequence[EvalRow]) -> list[list[str]]:
    """The Dataframe value: one row per question, reference and answer side by side."""
    return [
        [
            r.id, r.type, r.question, r.reference, r.answer, r.citations_text(),
            _pct(r.kp_coverage), _pct(r.citation_precision), _pct(r.evidence_recall), _refusal_cell(r),
            JUDGEMENTS.get(r.judgement, ""), r.comment,
        ]
        for r in rows
    ]


def _verdict_code(verdict: Any, comment: Any, max_comment: int) -> tuple[str | None, str | None]:
    """(the verdict's code, None for no verdict; why the judgement cannot be saved): the comment
    must be text within `max_comment`, the verdict a code or a label of JUDGEMENTS."""
    if not isinstance(comment, (str, type(None))) or len(comment or "") > max_comment:
        n = len(comment) if isinstance(comment, str) else 0
        return None, f"备注过长（{n} 字，上限 {max_comment}），未保存"
    code = next((k for k, v in JUDGEMENTS.items() if verdict in (k, v)), None)
    if verdict and code is None:
        return None, f"无效的评价：{verdict}"
    return code, None


def set_judgement(rows: Sequence[EvalRow], qid: str | None, verdict: str | None, comment: str | None,
                  max_comment: int = 2000) -> tuple[list[EvalRow], str]:  # fmt: skip
    """Record the evaluator's judgement of one question; (rows, status message)."""
    rows = list(rows)
    if not rows:
        return rows, "请先运行评测或选择一次历史运行"
    code, problem = _verdict_code(verdict, comment, max_comment)
    if problem:
        return rows, problem
    for r in rows:
        if r.id == qid:
            r.judgement = code or ""
            r.comment = (comment or "").strip()
            return rows, f"已保存 {qid} 的评价：{JUDGEMENTS.get(r.judgement, '未评价').split()[0]}"
    return rows, f"没有编号为 {qid} 的问题"


def summary(rows: Sequence[EvalRow]) -> str:
    """One status line: automatic scores and judgement counts."""
    if not rows:
        return "尚未运行"
    ans = [r for r in rows if r.answerable]
    unans = [r for r in rows if not r.answerable]
    kp = [r.kp_coverage for r in ans if r.kp_coverage is not None]
    counts = {k: sum(r.judgement == k for r in rows) for k in JUDGEMENTS}
    parts = [
        f"{len(rows)} 题",
        f"要点覆盖 {_pct(sum(kp) / len(kp)) if kp else '–'}",
        f"误拒 {sum(r.refused for r in ans)}/{len(ans)}",
        f"正确拒答 {sum(r.refused for r in unans)}/{len(unans)}",
        f"出错 {sum(r.error is not None for r in rows)}",
        "人工评价：" + "，".join(f"{JUDGEMENTS[k].split()[0]} {n}" for k, n in counts.items()),
        f"未评 {sum(not r.judgement for r in rows)}",
    ]
    return " · ".join(parts)


def detail_html(rows: Sequence[EvalRow], qid: str | None) -> str:
    """The selected question in full (escaped), reference and answer side by side."""
    r = next((r for r in rows if r.id == qid), None)
    if r is None:
        return ""
    esc = lambda s: html.escape(s or "").replace("\n", "<br>")  # noqa: E731
    cites = "".join(
        f"<li>[{c.get('marker')}] 《{esc(c.get('doc_title'))}》{esc(c.get('doc_number'))} {esc(c.get('locator'))}"
        f"<br><small>{esc(c.get('quote'))}</small></li>"
        for c in r.citations
    )
    return (
        f"<div><b>{esc(r.id)}</b> · {esc(r.type)} · {esc(r.persona)}<br><b>问题：</b>{esc(r.question)}</div>"
        '<div style="display:flex;gap:1em">'
        f'<div style="flex:1"><b>参考答案</b><br>{esc(r.reference)}<br><small>要点：{esc("；".join(r.key_points))}</small></div>'
        f'<div style="flex:1"><b>系统回答</b><br>{esc(r.answer)}<ol>{cites}</ol></div></div>'
    )


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> Any:
    """A cell a spreadsheet shows as text: one that starts like a formula (=HYPERLINK(…), +cmd|…,
    -…, @SUM(…), tab, CR) gets a leading apostrophe (the OWASP advice for CSV injection)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def export(rows: Sequence[EvalRow], directory: Path | str | None = None) -> tuple[Path, Path]:
    """Write CSV (UTF-8 with BOM, opens in Excel) and JSON; returns (csv_path, json_path)."""
    out = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="qa-eval-"))
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    csv_path, json_path = out / f"evaluation-{stamp}.csv", out / f"evaluation-{stamp}.json"
    with csv_path.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=CSV_FIELDS)
        w.writeheader()
        for r in rows:
            d = r.to_dict()
            d["citations"] = r.citations_text()
            w.writerow({k: csv_safe("" if d.get(k) is None else d.get(k)) for k in CSV_FIELDS})
    payload = {"summary": summary(rows), "rows": [r.to_dict() for r in rows]}
    json_path.write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")
    return csv_path, json_path


# ---------------------------------------------------------------- Gradio wiring


def too_many_questions(n_file: int, first_n: int, limit: int) -> str | None:
    """Why a run of `first_n` (0 = all) of `n_file` questions is refused on the page (None: fine)."""
    n = min(n_file, first_n) if first_n > 0 else n_file
    if n <= limit:
        return None
    return (f"评测集有 {n_file} 个问题，网页上一次最多运行 {limit} 个：请填写“只运行前 N 题”，"
            f"或用命令行 qa eval --gold 文件 运行全部（命令行没有上限）")


class EvalQueue:
    """The 评测 tab's own small queue: one run per session, `size` runs running or waiting in all;
    runs take turns (one at a time), so evaluators never crowd out the chat."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.sessions: set[str] = set()
        self._turn: asyncio.Lock | None = None  # created in the server's event loop

    def join(self, session: str) -> str | None:
        if session in self.sessions:
            return "本页已有一个评测在运行，请等它结束"
        if len(self.sessions) >= self.size:
            return "评测队列已满，请稍后再试"
        self.sessions.add(session)
        return None

    def leave(self, session: str) -> None:
        self.sessions.discard(session)

    @property
    def turn(self) -> asyncio.Lock:
        if self._turn is None:
            self._turn = asyncio.Lock()
        return self._turn


# ---------------------------------------------------------------- the workbench: runs on disk

REVIEW_COLUMNS = ["编号", "类型", "问题", "要点覆盖", "自动判定的问题", "人工评价"]
REVIEW_FILTERS = [("全部", "all"), ("仅看失败", "fail"), ("要点缺失", "kp"), ("误拒 / 应拒未拒", "refusal"),
                  ("有未引用的句子", "uncited"), ("未评价", "unjudged"), ("已评价", "judged")]  # fmt: skip
VERDICT_CHOICES = [(v.split()[0], v) for v in JUDGEMENTS.values()]  # shown in Chinese; sent as before
_esc = lambda s: html.escape(str(s if s is not None else "")).replace("\n", "<br>")  # noqa: E731


def filter_records(run: Any, which: str) -> list[dict[str, Any]]:
    from qa.evaluate.runs import failure_tags

    out = []
    for r in run.main_records():
        tags = failure_tags(r)
        judged = r["id"] in run.judgements
        keep = {
            "fail": bool(tags) or (run.judgements.get(r["id"], {}).get("verdict") in ("wrong", "partly")),
            "kp": "kp" in tags,
            "refusal": "declined" in tags or "not_declined" in tags,
            "uncited": "uncited" in tags,
            "unjudged": not judged,
            "judged": judged,
        }.get(which, True)
        if keep:
            out.append(r)
    return out


def review_rows(run: Any, records: Sequence[dict[str, Any]]) -> list[list[str]]:
    from qa.evaluate.runs import FAILURE_TAGS, VERDICTS, failure_tags

    rows = []
    for r in records:
        s = r.get("scores") or {}
        j = run.judgements.get(r["id"])
        rows.append([
            r["id"], r.get("type", ""), r["question"], _pct(s.get("kp_coverage")),
            "、".join(FAILURE_TAGS[t] for t in failure_tags(r)) or "—",
            (VERDICTS.get(j["verdict"], "") + (f"：{j['comment']}" if j.get("comment") else "")) if j else "",
        ])  # fmt: skip
    return rows


def question_html(run: Any, qid: str | None) -> str:
    """One question, side by side: question + reference, the system's answer, its sources, the evidence."""
    from qa.evaluate.gold import contains
    from qa.evaluate.runs import FAILURE_TAGS, VERDICTS, auto_verdict, failure_tags

    r = run.record(qid) if run is not None and qid else None
    if r is None:
        return '<div class="qa-wb-empty">请选择一个问题。</div>'
    s = r.get("scores") or {}
    ans = r.get("answer") or {}
    text = ans.get("answer", "")
    kps = r.get("key_points") or []
    kp_html = "".join(f'<li class="{"qa-ok" if contains(text, k) else "qa-miss"}">{"✓" if contains(text, k) else "✗"} {_esc(k)}</li>' for k in kps)
    cites = "".join(
        f'<li><b>[{_esc(c.get("marker"))}]</b> 《{_esc(c.get("doc_title"))}》{_esc(c.get("doc_number") or "")} {_esc(c.get("locator"))}'
        + (f' <span class="qa-status qa-status-{_esc((c.get("validity") or {}).get("status"))}">{_esc(_status_label((c.get("validity") or {}).get("status")))}</span>' if c.get("validity") else "")
        + f'<div class="qa-wb-quote">{_esc(c.get("quote"))}</div></li>'
        for c in ans.get("citations") or []
    )
    hits = (r.get("retrieval") or {}).get("hits") or []
    evidence = r.get("evidence") or []
    ev_items = []
    for i, span in enumerate(evidence):
        ranks = [h["rank"] for h in hits if i in (h.get("evidence") or [])]
        where = f"检索第 {min(ranks)} 位找到" if ranks else "检索结果中没有"
        ev_items.append(f'<li class="{"qa-ok" if ranks else "qa-miss"}">{_esc(span)}<div class="qa-wb-sub">{where}</div></li>')
    tags = failure_tags(r)
    j = run.judgements.get(r["id"])
    auto = auto_verdict(r)
    flags = "".join(f'<span class="qa-wb-tag">{FAILURE_TAGS[t]}</span>' for t in tags) or '<span class="qa-wb-tag qa-wb-good">自动检查通过</span>'
    verdict = f'人工评价：<b>{VERDICTS[j["verdict"]]}</b>' + (f"（{_esc(j.get('comment'))}）" if j.get("comment") else "") if j else "尚未人工评价"
    coverage = {"full": "完整回答", "partial": "部分解答", "none": "拒答"}.get(s.get("coverage", ""), "")
    return (
        f'<div class="qa-wb-q"><div class="qa-wb-qhead"><b>{_esc(r["id"])}</b> · {_esc(r.get("type"))} · {_esc(r.get("persona"))}'
        f' · 自动判定：{VERDICTS.get(auto or "", "无法判定")} · {verdict}</div><div class="qa-wb-flags">{flags}</div>'
        f'<div class="qa-wb-question">{_esc(r["question"])}</div></div>'
        '<div class="qa-wb-grid">'
        f'<section class="qa-wb-panel"><h4>参考答案</h4><div>{_esc(r.get("reference")) or "（无参考答案）"}</div>'
        + (f'<h5>要点（✓ 回答中有）</h5><ul class="qa-wb-list">{kp_html}</ul>' if kps else '<div class="qa-wb-sub">没有要点</div>')
        + "</section>"
        f'<section class="qa-wb-panel"><h4>系统回答 <small>{coverage} · 要点覆盖 {_pct(s.get("kp_coverage"))} · 句子有引用 {_pct(s.get("cited_sentences"))}</small></h4>'
        f'<div>{_esc(text) or "（空）"}</div>' + (f'<div class="qa-wb-err">出错：{_esc(r["error"])}</div>' if r.get("error") else "") + "</section>"
        f'<section class="qa-wb-panel"><h4>引用来源 <small>引用准确率 {_pct(s.get("citation_precision"))}</small></h4>'
        + (f'<ol class="qa-wb-list">{cites}</ol>' if cites else '<div class="qa-wb-sub">没有引用</div>') + "</section>"
        f'<section class="qa-wb-panel"><h4>证据原文 <small>MRR {_num(s.get("reciprocal_rank"))}</small></h4>'
        + (f'<ul class="qa-wb-list">{"".join(ev_items)}</ul>' if ev_items else '<div class="qa-wb-sub">评测集没有给出证据原文：不计算检索召回率</div>')
        + "</section></div>"
    )


def _status_label(status: Any) -> str:
    from qa.app.render import STATUS_LABELS

    return STATUS_LABELS.get(str(status), "")


def _num(v: Any) -> str:
    return "–" if v is None else f"{v:.2f}"


METRIC_CARDS = [  # (label, getter on the overall block, kind, hint)
    ("问题数", lambda a: a["n"], "n", "其中应拒答的问题单独计"),
    ("要点覆盖", lambda a: a["kp_coverage"], "pct", "参考要点出现在回答中的比例"),
    ("引用准确率", lambda a: a["citation_precision"], "pct", "引用的条文包含证据或要点"),
    ("句子有引用", lambda a: a["cited_sentences"], "pct", "回答中带 [n] 标注的句子"),
    ("检索召回 R@5", lambda a: a["recall_at"].get("5"), "pct", "证据出现在前 5 条检索结果"),
    ("检索召回 R@10", lambda a: a["recall_at"].get("10"), "pct", "证据出现在前 10 条检索结果"),
    ("MRR@10", lambda a: a["mrr"], "num", "第一条含证据结果的排名倒数"),
    ("正确拒答", lambda a: a["declined_unanswerable"], "pct", "应拒答的问题被拒答"),
    ("误拒", lambda a: a["wrongly_declined"], "pct", "应回答的问题被拒答（越低越好）"),
    ("部分/拒答处理", lambda a: a.get("handled_not_full"), "pct", "无法完整回答的问题没有被当作完整回答"),
    ("文本瑕疵", lambda a: a.get("glitch_answers"), "pct", "回答中有格式瑕疵（越低越好）"),
    ("有效性准确率", lambda a: a.get("validity_accuracy"), "pct", "有有效性标注的问题"),
    ("回答用时 p50", lambda a: (a.get("latency_ms", {}).get("wall") or {}).get("p50"), "ms", "每题回答的中位用时"),
]


def _fmt(v: Any, kind: str) -> str:
    if v is None:
        return "–"
    return {"pct": lambda: f"{100 * v:.1f}%", "num": lambda: f"{v:.3f}", "ms": lambda: f"{v:.0f} ms", "n": lambda: str(v)}[kind]()


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    th = "".join(f"<th>{_esc(h)}</th>" for h in header)
    trs = "".join("<tr>" + "".join(f"<td>{_esc(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f'<div class="qa-wb-scroll"><table class="qa-wb-table"><thead><tr>{th}</tr></thead><tbody>{trs}</tbody></table></div>'


GROUP_CARDS = [("问题数", lambda a: a["n"], "n"), ("要点覆盖", lambda a: a["kp_coverage"], "pct"),
               ("引用准确率", lambda a: a["citation_precision"], "pct"), ("R@5", lambda a: a["recall_at"].get("5"), "pct"),
               ("MRR", lambda a: a["mrr"], "num"),
               ("拒答", lambda a: a["declined_unanswerable"] if a["n_answerable"] == 0 else a["wrongly_declined"], "pct")]  # fmt: skip


def plots_of(run: Any) -> list[tuple[str, str]]:
    """The run's plots as (title, base64 PNG); drawn once and kept in the run directory."""
    import base64

    from qa.evaluate import report

    plots = [("recall_k", "检索召回随 k 的变化", report.plot_recall_k), ("recall_chars", "检索召回随上下文长度的变化", report.plot_recall_chars),
             ("by_type", "按类型的要点覆盖", report.plot_by_type), ("recall_by_type", "按类型的检索召回", report.plot_recall_by_type),
             ("latency", "回答用时分布", None)]  # fmt: skip
    out = []
    folder = run.path / "plots"
    for key, title, fn in plots:
        f = folder / f"{key}.png"
        if not f.is_file():
            try:
                data = report.plot_latency(run.records) if fn is None else fn(run.metrics)
                folder.mkdir(exist_ok=True)
                f.write_bytes(base64.b64decode(data))
            except Exception:  # noqa: BLE001 - a plot that cannot be drawn is left out, not the page
                log.exception("plot %s failed", key)
                continue
        out.append((title, base64.b64encode(f.read_bytes()).decode("ascii")))
    return out


def metrics_html(run: Any) -> str:
    """The full metrics of `qa eval` for one run, with the human ones, plots and breakdowns."""
    from qa.evaluate.runs import human_metrics

    if run is None:
        return '<div class="qa-wb-empty">还没有评测结果：请先运行评测，或在“历史运行”中选择一次。</div>'
    m = run.metrics.get(run.config) or {}
    overall = m.get("overall") or {}
    h = human_metrics(run.main_records(), run.judgements)
    cards = "".join(
        f'<div class="qa-wb-card"><div class="qa-wb-card-v">{_fmt(get(overall), kind)}</div><div class="qa-wb-card-l">{label}</div>'
        f'<div class="qa-wb-card-h">{hint}</div></div>'
        for label, get, kind, hint in METRIC_CARDS if overall
    )
    hc = h["counts"]
    human = (
        f'<div class="qa-wb-card qa-wb-human"><div class="qa-wb-card-v">{_fmt(h["accuracy"], "pct")}</div><div class="qa-wb-card-l">人工评价正确率</div>'
        f'<div class="qa-wb-card-h">已评 {h["n_judged"]}/{h["n_questions"]}：正确 {hc["correct"]} · 部分正确 {hc["partly"]} · 错误 {hc["wrong"]}</div></div>'
        f'<div class="qa-wb-card qa-wb-human"><div class="qa-wb-card-v">{_fmt(h["accuracy_lenient"], "pct")}</div><div class="qa-wb-card-l">含部分正确</div>'
        f'<div class="qa-wb-card-h">（正确 + 部分正确）/ 已评</div></div>'
        f'<div class="qa-wb-card qa-wb-human"><div class="qa-wb-card-v">{_fmt(h["agreement"], "pct")}</div><div class="qa-wb-card-l">自动与人工一致率</div>'
        f'<div class="qa-wb-card-h">要点覆盖判定（全部/部分/无）与人工评价相同，{h["n_compared"]} 题可比；通过与否一致 {_fmt(h["agreement_pass"], "pct")}</div></div>'
    )
    notes = run.meta.get("notes") or []
    if isinstance(notes, str):
        notes = [notes]
    note_html = "".join(f"<li>{_esc(n)}</li>" for n in notes)
    parts = [
        f'<div class="qa-wb-meta">运行：{_esc(run.label())}' + (f" · 索引版本 {_esc(run.meta.get('index_version'))}" if run.meta.get("index_version") else "") + "</div>",
        (f'<ul class="qa-wb-notes">{note_html}</ul>' if note_html else ""),
        '<h3 class="qa-wb-h">人工评价</h3>', f'<div class="qa-wb-cards">{human}</div>',
        '<h3 class="qa-wb-h">自动指标</h3>', f'<div class="qa-wb-cards">{cards}</div>',
    ]
    for key, title in (("by_type", "按类型"), ("by_persona", "按人群")):
        groups = m.get(key) or {}
        rows = [[g] + [_fmt(get(a), kind) for _, get, kind in GROUP_CARDS] for g, a in groups.items()]
        parts += [f'<h3 class="qa-wb-h">{title}</h3>', _table([title[1:]] + [c[0] for c in GROUP_CARDS], rows)]
    plots = plots_of(run)
    parts.append('<h3 class="qa-wb-h">图表</h3><div class="qa-wb-plots">' + "".join(
        f'<figure><img alt="{_esc(t)}" src="data:image/png;base64,{b}"><figcaption>{_esc(t)}</figcaption></figure>' for t, b in plots) + "</div>")
    return '<div class="qa-wb-metrics">' + "".join(parts) + "</div>"


def compare_html(a: Any, b: Any) -> str:
    from qa.evaluate.runs import VERDICTS, compare_runs

    if a is None or b is None:
        return '<div class="qa-wb-empty">请选择两次运行。</div>'
    if a.run_id == b.run_id:
        return '<div class="qa-wb-empty">两次运行相同，请选择另一次运行。</div>'
    c = compare_runs(a, b)
    n = c["counts"]
    words = {"better": "变好", "worse": "变差", "same": "不变", "only_a": "仅在之前", "only_b": "仅在之后"}

    def score(v: Any, verdict: Any, kp: Any) -> str:
        if verdict:
            return VERDICTS[verdict] + "（人工）"
        return {1.0: "正确", 0.5: "部分正确", 0.0: "错误"}.get(v, "–") + (f" · 要点 {_pct(kp)}" if kp is not None else "")

    rows = "".join(
        f'<tr class="qa-cmp-{x["change"]}"><td>{_esc(x["id"])}</td><td>{_esc(x["question"])}</td>'
        f'<td>{score(x.get("a"), x.get("verdict_a"), x.get("kp_a"))}</td><td>{score(x.get("b"), x.get("verdict_b"), x.get("kp_b"))}</td>'
        f'<td><span class="qa-cmp-tag">{words[x["change"]]}</span></td></tr>'
        for x in c["rows"]
    )
    return (
        f'<div class="qa-wb-cmp-sum"><span class="qa-cmp-better">变好 {n["better"]}</span> <span class="qa-cmp-worse">变差 {n["worse"]}</span> '
        f'<span>不变 {n["same"]}</span>' + (f' <span>仅在之前 {n["only_a"]} · 仅在之后 {n["only_b"]}</span>' if n["only_a"] or n["only_b"] else "")
        + f'</div><div class="qa-wb-sub">之前：{_esc(a.label())}<br>之后：{_esc(b.label())}<br>'
        "每题按人工评价比较；没有人工评价时按自动判定（要点覆盖、拒答）。</div>"
        '<div class="qa-wb-scroll"><table class="qa-wb-table qa-cmp-table"><thead><tr><th>编号</th><th>问题</th><th>之前</th><th>之后</th><th>变化</th></tr></thead>'
        f"<tbody>{rows}</tbody></table></div>"
    )


def queue_html(items: Sequence[dict[str, Any]], counts: dict[str, int]) -> str:
    from qa.app.feedback import STATUSES, VERDICTS

    if not items:
        return '<div class="qa-wb-empty">还没有用户反馈。用户在咨询页对回答点“有用 / 没用”后会出现在这里。</div>'
    head = (f'<div class="qa-wb-sub">待处理 {counts.get("new", 0)} · 没用 {counts.get("not_useful", 0)} · 有用 {counts.get("useful", 0)}'
            f' · 已转为草稿 {counts.get("drafted", 0)}</div>')  # fmt: skip
    cards = []
    for it in items:
        cites = "；".join(f"《{c.get('doc_title', '')}》{c.get('locator', '')}" for c in it["citations"][:3])
        cls = "qa-fb-bad" if it["verdict"] == "not_useful" else "qa-fb-good"
        cards.append(
            f'<div class="qa-fb-item {cls}" data-fid="{int(it["id"])}"><div class="qa-fb-head"><b>#{int(it["id"])}</b> · {VERDICTS[it["verdict"]]}'
            f' · {_esc(it["created"])} · {STATUSES.get(it["status"], it["status"])}' + (f' · 草稿 {_esc(it["gold_id"])}' if it.get("gold_id") else "") + "</div>"
            f'<div class="qa-fb-question">问：{_esc(it["question"])}</div>'
            + (f'<div class="qa-fb-comment">用户说明：{_esc(it["comment"])}</div>' if it["comment"] else "")
            + f'<details><summary>系统回答与来源</summary><div>{_esc(it["answer"])}</div><div class="qa-wb-sub">来源：{_esc(cites) or "无"} · 索引版本 {_esc(it["index_version"]) or "–"}</div></details></div>'
        )
    return head + "".join(cards)


WB_CSS = """
<style>
.qa-wb-cards { display:grid; grid-template-columns:repeat(auto-fill, minmax(150px, 1fr)); gap:8px; }
.qa-wb-card { border:1px solid #eee; border-radius:10px; padding:8px 10px; background:#fff; }
.qa-wb-human { background:#f5f9ff; border-color:#cfe0f7; }
.qa-wb-card-v { font-size:22px; font-weight:800; color:#7a1f1f; }
.qa-wb-human .qa-wb-card-v { color:#1f4f8f; }
.qa-wb-card-l { font-weight:700; font-size:13.5px; }
.qa-wb-card-h { color:#777; font-size:12px; line-height:1.5; }
.qa-wb-h { margin:14px 0 6px 0 !important; font-size:16px !important; color:#5a1d1d; }
.qa-wb-scroll { overflow-x:auto; max-width:100%; }
.qa-wb-table { border-collapse:collapse; font-size:13px; width:100%; }
.qa-wb-table th { background:#f6f3f1; text-align:left; padding:5px 8px; white-space:nowrap; }
.qa-wb-table td { border-top:1px solid #eee; padding:5px 8px; vertical-align:top; }
.qa-wb-plots { display:grid; grid-template-columns:repeat(auto-fill, minmax(320px, 1fr)); gap:10px; }
.qa-wb-plots figure { margin:0; border:1px solid #eee; border-radius:8px; padding:6px; background:#fff; }
.qa-wb-plots img { width:100%; height:auto; }
.qa-wb-plots figcaption { font-size:12.5px; color:#555; text-align:center; }
.qa-wb-notes { background:#fff8e6; border:1px solid #f3dfa8; border-radius:8px; padding:6px 10px 6px 26px; font-size:13px; color:#6b4a00; }
.qa-wb-meta, .qa-wb-sub { color:#666; font-size:12.5px; overflow-wrap:anywhere; }
.qa-wb-empty { color:#777; padding:10px; }
.qa-wb-grid { display:grid; grid-template-columns:repeat(auto-fit, minmax(260px, 1fr)); gap:10px; margin-top:8px; }
.qa-wb-panel { border:1px solid #eee; border-radius:10px; padding:8px 10px; background:#fff; font-size:13.5px; line-height:1.75; min-width:0; overflow-wrap:anywhere; }
.qa-wb-panel h4 { margin:0 0 4px 0 !important; font-size:14px !important; color:#5a1d1d; }
.qa-wb-panel h4 small { font-weight:400; color:#888; }
.qa-wb-panel h5 { margin:6px 0 2px 0 !important; font-size:13px !important; }
.qa-wb-list { margin:0; padding-left:20px; }
.qa-ok { color:#14632f; } .qa-miss { color:#a11d12; }
.qa-wb-quote { color:#555; background:#f7f5f2; border-radius:6px; padding:2px 6px; font-size:12.5px; }
.qa-wb-question { font-size:15px; font-weight:700; margin-top:4px; }
.qa-wb-qhead { font-size:13px; color:#555; }
.qa-wb-tag { display:inline-block; background:#fde7e4; color:#a11d12; border-radius:8px; padding:0 7px; margin:2px 4px 0 0; font-size:12px; }
.qa-wb-good { background:#e3f4e8; color:#14632f; }
.qa-wb-err { color:#a11d12; }
.qa-wb-cmp-sum span { display:inline-block; margin-right:10px; font-weight:700; }
.qa-cmp-better, .qa-cmp-better .qa-cmp-tag { color:#14632f; } .qa-cmp-worse, .qa-cmp-worse .qa-cmp-tag { color:#a11d12; }
tr.qa-cmp-worse { background:#fff3f1; } tr.qa-cmp-better { background:#f1faf3; }
.qa-fb-item { border:1px solid #eee; border-left:4px solid #999; border-radius:8px; padding:6px 10px; margin:6px 0; font-size:13.5px; }
.qa-fb-bad { border-left-color:#b3261e; } .qa-fb-good { border-left-color:#2c7a3f; }
.qa-fb-question { font-weight:700; } .qa-fb-comment { color:#6b3b00; }
</style>
"""


class _LockedRetriever:
    """The retriever behind the assistant's lock: jieba and the FAISS state are shared with the chat."""

    def __init__(self, inner: Any, lock: Any) -> None:
        self.inner = inner
        self.lock = lock

    def run(self, *a: Any, **kw: Any) -> Any:
        with self.lock:
            return self.inner.run(*a, **kw)


@dataclass
class _Workbench:
    """What the 评测 tab's handlers share: the runs on disk, the feedback queue, the runner."""

    assistant: Any
    settings: Any
    runs: EvalQueue
    root: Path
    store: Any  # qa.evaluate.runs.RunStore
    feedback: Any  # qa.app.feedback.FeedbackStore
    runner: Any  # qa.evaluate.runner.EvalRunner, None without a retriever
    index_version: str

    @property
    def max_questions(self) -> int:
        return self.settings.max_eval_questions

    @property
    def max_comment(self) -> int:
        return self.settings.max_comment_chars

    def load(self, rid: Any) -> Any:
        return self.store.load(rid) if isinstance(rid, str) and rid else None

    def qchoices(self, run: Any, which: str) -> list[tuple[str, str]]:
        return [(f"{r['id']} · {r['question'][:28]}", r["id"]) for r in filter_records(run, which)]

    def view(self, run: Any, which: str = "all", q: Any = None) -> tuple[Any, ...]:
        """metrics, table, question choices (+ value), detail, verdict, comment for a run."""
        import gradio as gr

        if run is None:
            return metrics_html(None), [], gr.update(choices=[], value=None), "", None, ""
        recs = filter_records(run, which)
        q = q if isinstance(q, str) and any(r["id"] == q for r in recs) else (recs[0]["id"] if recs else None)
        j = run.judgements.get(q or "", {})
        return (metrics_html(run), review_rows(run, recs), gr.update(choices=self.qchoices(run, which), value=q),
                question_html(run, q), JUDGEMENTS.get(j.get("verdict", "")), j.get("comment", ""))  # fmt: skip

    def choices_update(self, value: Any = None) -> tuple[Any, Any, Any]:
        """The three run pickers (current, 之前, 之后) after the runs on disk changed."""
        import gradio as gr

        ch = self.store.choices()
        return gr.update(choices=ch, value=value), gr.update(choices=ch), gr.update(choices=ch)

    def queue(self, pick: Any = None) -> tuple[Any, ...]:
        """The feedback queue: its cards, the picker (keeping `pick` when still there), the drafts file."""
        import gradio as gr

        feedback = self.feedback
        items = feedback.items(limit=100)
        choices = [(f"#{it['id']} {'没用' if it['verdict'] == 'not_useful' else '有用'} · {it['question'][:24]}", str(it["id"])) for it in items]
        value = pick if isinstance(pick, str) and any(v == pick for _, v in choices) else (choices[0][1] if choices else None)
        drafts = str(feedback.drafts_path) if feedback.drafts_path.is_file() else None
        return queue_html(items, feedback.counts()), gr.update(choices=choices, value=value), drafts


def _workbench(assistant: Any, settings: Any) -> _Workbench:
    """The tab's shared parts, from the assistant and the settings."""
    import threading

    from qa.app.feedback import feedback_store, workbench_root
    from qa.config import Settings
    from qa.evaluate.runner import EvalRunner, RunConfig
    from qa.evaluate.runs import RunStore

    settings = settings or getattr(assistant, "settings", None) or Settings()
    root = workbench_root(settings)
    lock = getattr(assistant, "lock", None) or threading.Lock()
    info = assistant.index_info() if hasattr(assistant, "index_info") else {}
    index_version = " ".join(str(info.get(k, "")) for k in ("created_at", "corpus_hash") if info.get(k))[:80]
    retriever = getattr(assistant, "retriever", None)
    runner = EvalRunner(assistant, RunConfig("hybrid", "hybrid"), retriever=_LockedRetriever(retriever, lock) if retriever else None,
                        progress=False, warmup=False) if retriever is not None else None  # fmt: skip
    return _Workbench(assistant, settings, EvalQueue(settings.eval_queue), root, RunStore(root / "runs"),
                      feedback_store(settings), runner, index_version)  # fmt: skip


@dataclass
class _RunTab:
    upload: Any
    path: Any
    limit: Any
    run_btn: Any
    import_notes: Any
    export_btn: Any
    csv_file: Any
    json_file: Any


@dataclass
class _ReviewTab:
    review_filter: Any
    table: Any
    qid: Any
    next_btn: Any
    detail: Any
    verdict: Any
    comment: Any
    save_btn: Any


@dataclass
class _CompareTab:
    cmp_a: Any
    cmp_b: Any
    cmp_btn: Any
    cmp_view: Any


@dataclass
class _FeedbackTab:
    fb_pick: Any
    draft_btn: Any
    dismiss_btn: Any
    use_drafts: Any
    drafts_file: Any
    fb_view: Any


@dataclass
class _WorkbenchUI:
    """Every component of the tab the events read or write."""

    run_state: Any
    run_pick: Any
    refresh_btn: Any
    status: Any
    wb_tabs: Any
    run: _RunTab
    metrics_view: Any
    review: _ReviewTab
    compare: _CompareTab
    fb: _FeedbackTab


def _run_tab(max_questions: int) -> _RunTab:
    """运行: a gold file (uploaded, or a path under eval/), how many questions, export."""
    import gradio as gr

    with gr.Row():
        upload = gr.File(label="上传评测集（JSONL / CSV / Excel）", type="filepath", elem_id="qa-wb-upload")
        with gr.Column():
            path = gr.Textbox(label="或 eval/ 下的文件路径", value="", placeholder="如 eval/gold.jsonl", max_length=500, elem_id="qa-wb-path")
            limit = gr.Number(label=f"只运行前 N 题（0 = 全部，网页上一次最多 {max_questions} 题）", value=0, precision=0, elem_id="qa-wb-limit")
            run_btn = gr.Button("运行评测", variant="primary", elem_id="qa-wb-run-btn")
    import_notes = gr.HTML(
        '<div class="qa-wb-sub">列名可用中文或英文：问题 / question（必需）、参考答案 / answer、要点 / key_points（用；分隔）、'
        "证据 / evidence、类型 / type、人群 / persona、有效性 / validity。CSV 可带 UTF-8 BOM。</div>",
        elem_id="qa-wb-import",
    )
    with gr.Row():
        export_btn = gr.Button("导出 CSV + JSON", elem_id="qa-wb-export")
        csv_file = gr.File(label="CSV", interactive=False)
        json_file = gr.File(label="JSON", interactive=False)
    return _RunTab(upload, path, limit, run_btn, import_notes, export_btn, csv_file, json_file)


def _review_tab(max_comment: int) -> _ReviewTab:
    """评审: the questions of a run, one in full, and the evaluator's verdict on it."""
    import gradio as gr

    review_filter = gr.Radio(label="筛选", choices=REVIEW_FILTERS, value="all", elem_id="qa-wb-filter")
    table = gr.Dataframe(headers=REVIEW_COLUMNS, value=[], interactive=False, wrap=True, max_height=360,
                         column_widths=["9%", "9%", "40%", "10%", "17%", "15%"], label="问题列表（点一行查看）", elem_id="qa-wb-table")  # fmt: skip
    with gr.Row(equal_height=True):
        qid = gr.Dropdown(label="问题", choices=[], interactive=True, scale=4, elem_id="qa-wb-qid")
        next_btn = gr.Button("下一题", size="sm", scale=0, min_width=80, elem_id="qa-wb-next")
    detail = gr.HTML(elem_id="qa-wb-detail")
    with gr.Row(equal_height=True):
        verdict = gr.Radio(label="人工评价", choices=VERDICT_CHOICES, elem_id="qa-wb-verdict", scale=2)
        comment = gr.Textbox(label="备注", lines=2, max_length=max_comment, elem_id="qa-wb-comment", scale=3)
        save_btn = gr.Button("保存评价", variant="primary", scale=0, min_width=100, elem_id="qa-wb-save")
    return _ReviewTab(review_filter, table, qid, next_btn, detail, verdict, comment, save_btn)


def _compare_tab(choices: list[Any]) -> _CompareTab:
    """对比: two runs question by question."""
    import gradio as gr

    with gr.Row():
        cmp_a = gr.Dropdown(label="之前", choices=choices, value=None, elem_id="qa-wb-cmp-a")
        cmp_b = gr.Dropdown(label="之后", choices=choices, value=None, elem_id="qa-wb-cmp-b")
        cmp_btn = gr.Button("对比", variant="primary", scale=0, min_width=80, elem_id="qa-wb-cmp-btn")
    cmp_view = gr.HTML(elem_id="qa-wb-compare")
    return _CompareTab(cmp_a, cmp_b, cmp_btn, cmp_view)


def _feedback_tab() -> _FeedbackTab:
    """反馈: the citizens' 有用 / 没用, each one click from a draft gold question."""
    import gradio as gr

    gr.HTML('<div class="qa-wb-sub">用户在咨询页对回答点“有用 / 没用”（可附说明）后，会出现在这里。选中一条，'
            "一键转为评测草稿题（写入草稿评测集，下次运行可用）。</div>")  # fmt: skip
    with gr.Row(equal_height=True):
        fb_pick = gr.Dropdown(label="反馈", choices=[], interactive=True, scale=4, elem_id="qa-wb-fb-pick")
        draft_btn = gr.Button("转为评测草稿", variant="primary", scale=0, min_width=120, elem_id="qa-wb-draft")
        dismiss_btn = gr.Button("忽略", size="sm", scale=0, min_width=70, elem_id="qa-wb-dismiss")
    with gr.Row(equal_height=True):
        use_drafts = gr.Button("用草稿评测集运行", size="sm", scale=0, min_width=150, elem_id="qa-wb-use-drafts")
        drafts_file = gr.File(label="草稿评测集（drafts.jsonl）", interactive=False, elem_id="qa-wb-drafts")
    fb_view = gr.HTML(elem_id="qa-wb-queue")
    return _FeedbackTab(fb_pick, draft_btn, dismiss_btn, use_drafts, drafts_file, fb_view)


def _workbench_layout(wb: _Workbench) -> _WorkbenchUI:
    """The tab's components, in the caller's Blocks context."""
    import gradio as gr

    gr.HTML(WB_CSS + '<div class="qa-side-sub">评测工作台：导入评测集（只需“问题”和“参考答案”两列）、运行、查看指标与图表、逐题人工评价、'
            "对比两次运行，并处理用户对回答的反馈。</div>")  # fmt: skip
    run_state = gr.State("", time_to_live=wb.settings.session_ttl_seconds)
    with gr.Row(equal_height=True):
        run_pick = gr.Dropdown(label="当前查看的运行（历史运行）", choices=wb.store.choices(), value=None, scale=5, elem_id="qa-wb-run")
        refresh_btn = gr.Button("刷新", size="sm", scale=0, min_width=70, elem_id="qa-wb-refresh")
    status = gr.Textbox(label="状态", interactive=False, lines=2, elem_id="qa-wb-status")
    with gr.Tabs(elem_id="qa-wb-tabs") as wb_tabs:
        with gr.Tab("运行", id="wb-run"):
            run = _run_tab(wb.max_questions)
        with gr.Tab("指标", id="wb-metrics"):
            metrics_view = gr.HTML(metrics_html(None), elem_id="qa-wb-metrics")
        with gr.Tab("评审", id="wb-review"):
            review = _review_tab(wb.max_comment)
        with gr.Tab("对比", id="wb-compare"):
            compare = _compare_tab(wb.store.choices())
        with gr.Tab("反馈", id="wb-feedback"):
            fb = _feedback_tab()
    return _WorkbenchUI(run_state, run_pick, refresh_btn, status, wb_tabs, run, metrics_view, review, compare, fb)


def _run_request(upload_path: str | None, path_text: str, n: Any, root: Path) -> tuple[int, str | None]:
    """(how many questions, 0 = all; why the run cannot start) from the 运行 tab's inputs."""
    if isinstance(n, bool) or not isinstance(n, (int, float)) or n != n:
        first_n = 0
    elif n < 0:
        return 0, "“只运行前 N 题”不能是负数：填 0 运行全部，或填一个正整数。"
    else:
        first_n = int(min(n, 10**9))
    if not upload_path and not path_text:
        return first_n, "请先上传评测集（JSONL / CSV / Excel），或填写 eval/ 下的文件路径。"
    return first_n, web_source_problem(upload_path, path_text, [root])


async def _answer_items(wb: _Workbench, items: Sequence[GoldItem], session: str, records: list[dict[str, Any]]) -> AsyncIterator[int]:
    """Answer the questions one at a time, in the shared answer pool like any client's (in a thread
    without one), appending to `records`; yields how many are done."""
    runner = wb.runner
    pool = getattr(wb.assistant, "pool", None)
    for i, item in enumerate(items):
        if pool is None:
            records.append(await asyncio.to_thread(runner.run_one, item))
        else:
            async for rec in pool.stream(f"eval:{session}", lambda it=item: iter([runner.run_one(it)])):
                records.append(rec)
                break
        yield i + 1


async def _save_run(wb: _Workbench, records: list[dict[str, Any]], imported: Any, name: str) -> tuple[str, tuple[Any, ...], str]:
    """Score and save a finished run: (run id, its view, a one-line summary)."""
    from qa.evaluate.runner import metrics_for

    assistant, cfg = wb.assistant, wb.runner.config
    metrics = {cfg.name: metrics_for(records, cfg, wb.settings, assistant.describe_mode() if hasattr(assistant, "describe_mode") else "")}
    meta = {"gold": name, "gold_name": name, "questions": len(records), "notes": imported.notes,
            "index_version": wb.index_version, "source": "评测工作台"}  # fmt: skip
    rid = wb.store.new_id(name)
    run = await asyncio.to_thread(wb.store.save, rid, metrics, records, meta)
    view = await asyncio.to_thread(wb.view, run)
    over = metrics[cfg.name]["overall"]
    line = f"{len(records)} 题 · 要点覆盖 {_pct(over.get('kp_coverage'))} · 误拒 {_pct(over.get('wrongly_declined'))} · 出错 {over.get('errors', 0)}"
    return rid, view, line


def _run_handler(wb: _Workbench) -> Any:
    """运行评测: import the gold file, answer its questions in turn, save and show the run."""
    import gradio as gr

    from qa.evaluate.importer import GoldImportError, import_gold

    async def _run(upload_path: Any, path_text: Any, n: Any, request: gr.Request) -> AsyncIterator[tuple]:  # noqa: ANN401
        keep = gr.update()
        n_out = 12

        def msg_only(text: str) -> tuple:
            return (keep,) * 2 + (text,) + (keep,) * (n_out - 3)

        upload_path = upload_path if isinstance(upload_path, str) else None
        path_text = path_text.strip() if isinstance(path_text, str) else ""
        first_n, problem = _run_request(upload_path, path_text, n, wb.root)
        if problem:
            yield msg_only(problem)
            return
        source = upload_path or path_text
        session = getattr(request, "session_hash", None) or uuid.uuid4().hex
        refused = wb.runs.join(session)
        if refused:
            yield msg_only(refused)
            return
        try:  # from here on the slot is ours; Gradio closes this generator when the page goes away
            try:
                imported = await asyncio.to_thread(import_gold, source, Path(source).name if not upload_path else None)
            except GoldImportError as exc:
                yield msg_only(f"无法读取评测集：{exc}")  # never another file instead
                return
            items = imported.items
            msg = imported.summary()
            too_many = too_many_questions(len(items), first_n, wb.max_questions)
            if too_many:
                yield msg_only(too_many)
                return
            if first_n:
                items = items[:first_n]
            if wb.runner is None:
                yield msg_only("无法运行：助手没有检索器")
                return
            if wb.runs.turn.locked():
                yield msg_only(msg + "\n排队中，前面还有评测在运行")
            records: list[dict[str, Any]] = []
            async with wb.runs.turn:
                async for done in _answer_items(wb, items, session, records):
                    yield msg_only(f"{msg}\n评测中 {done}/{len(items)}")
            name = Path(upload_path).name if upload_path else Path(path_text).name
            rid, view, line = await _save_run(wb, records, imported, name)
            yield (rid, view[1], f"{msg}\n已完成：{line}。结果已保存，可在“指标”“评审”中查看。", *wb.choices_update(rid), view[0],
                   view[2], view[3], view[4], view[5], gr.Tabs(selected="wb-metrics"))  # fmt: skip
        finally:
            wb.runs.leave(session)

    _run.__annotations__["request"] = gr.Request
    return _run


def _preview(upload_path: Any) -> str:
    """What the importer makes of an uploaded gold file (its columns, its notes), or why it cannot."""
    from qa.evaluate.importer import SUFFIXES, GoldImportError, import_gold

    if not isinstance(upload_path, str) or not upload_path:
        return ""
    problem = web_source_problem(upload_path, None)
    if problem:
        return f'<div class="qa-wb-notes">{_esc(problem)}</div>'
    if Path(upload_path).suffix.lower() not in SUFFIXES:
        return (f'<div class="qa-hint">无法使用这个文件：“{_esc(Path(upload_path).name)}”不是 .jsonl、.csv 或 .xlsx 文件。'
                "请重新上传；在此之前“运行评测”不会运行任何文件。</div>")  # fmt: skip
    try:
        imp = import_gold(upload_path)
    except GoldImportError as exc:
        return f'<div class="qa-hint">无法读取评测集：{_esc(exc)}。请修改后重新上传；在此之前“运行评测”不会运行任何文件。</div>'
    cols = "、".join(f"{k}←“{v}”" for k, v in imp.columns.items())
    notes = "".join(f"<li>{_esc(n)}</li>" for n in imp.notes)
    return (f'<div class="qa-wb-import-ok"><b>{_esc(imp.summary())}</b><div class="qa-wb-sub">识别的列：{_esc(cols)}</div>'
            + (f'<ul class="qa-wb-notes">{notes}</ul>' if notes else "") + "</div>")  # fmt: skip


def _judgement_problem(run: Any, q: Any, v: Any, c: Any, max_comment: int) -> tuple[str | None, str | None]:
    """(the verdict's code, why the judgement cannot be saved)."""
    code, problem = _verdict_code(v, c, max_comment)
    if problem:
        return None, problem
    if not isinstance(q, str) or run.record(q) is None:
        return None, f"没有编号为 {q} 的问题"
    if code is None:
        return None, "请先选择“正确”“部分正确”或“错误”"
    return code, None


def _review_handlers(wb: _Workbench) -> dict[str, Any]:
    """The 评审 events: open a run, filter, pick a question, go to the next, save a verdict."""
    import gradio as gr

    from qa.evaluate.runs import save_judgement

    def _pick(rid: Any) -> tuple[Any, ...]:
        run = wb.load(rid)
        if run is None:
            return ("", gr.update(), "请选择一次运行") + (gr.update(),) * 6
        v = wb.view(run)
        return (run.run_id, v[1], f"已打开运行：{run.label()}", v[0], v[2], v[3], v[4], v[5], gr.update())

    def _filter(rid: Any, which: Any) -> tuple[Any, ...]:
        run = wb.load(rid)
        which = which if isinstance(which, str) else "all"
        v = wb.view(run, which)
        return v[1], v[2], v[3], v[4], v[5]

    def _select(rid: Any, which: Any, evt: gr.SelectData) -> Any:
        run = wb.load(rid)
        if run is None:
            return gr.update()
        recs = filter_records(run, which if isinstance(which, str) else "all")
        row = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
        return recs[row]["id"] if isinstance(row, int) and 0 <= row < len(recs) else gr.update()

    _select.__annotations__["evt"] = gr.SelectData

    def _show(rid: Any, q: Any) -> tuple[Any, ...]:
        run = wb.load(rid)
        if run is None or not isinstance(q, str):
            return "", None, ""
        j = run.judgements.get(q, {})
        return question_html(run, q), JUDGEMENTS.get(j.get("verdict", "")), j.get("comment", "")

    def _next(rid: Any, which: Any, q: Any) -> Any:
        run = wb.load(rid)
        if run is None:
            return gr.update()
        ids = [r["id"] for r in filter_records(run, which if isinstance(which, str) else "all")]
        if not ids:
            return gr.update()
        i = ids.index(q) + 1 if q in ids else 0
        return ids[i % len(ids)]

    def _save(rid: Any, q: Any, v: Any, c: Any, which: Any = "all") -> tuple[Any, ...]:
        run = wb.load(rid)
        if run is None:
            return gr.update(), "请先运行评测或选择一次历史运行", gr.update(), gr.update()
        code, problem = _judgement_problem(run, q, v, c, wb.max_comment)
        if problem or code is None:
            return gr.update(), problem, gr.update(), gr.update()
        save_judgement(run.path, q, code, (c or "").strip())
        run = wb.load(rid)
        recs = filter_records(run, which if isinstance(which, str) else "all")
        word = JUDGEMENTS[code].split()[0]
        return (review_rows(run, recs), f"已保存 {q} 的评价：{word}（已写入 {run.run_id}/judgements.json）", metrics_html(run),
                question_html(run, q))  # fmt: skip

    return {"pick": _pick, "filter": _filter, "select": _select, "show": _show, "next": _next, "save": _save}


def _eval_rows(run: Any) -> list[EvalRow]:
    """A saved run's records as EvalRows, with the evaluator's judgements (for export)."""
    rows = []
    for r in run.main_records():
        ans = r.get("answer") or {}
        s = r.get("scores") or {}
        j = run.judgements.get(r["id"], {})
        row = EvalRow(id=r["id"], type=r.get("type", ""), persona=r.get("persona", ""), question=r["question"],
                      reference=r.get("reference", ""), key_points=r.get("key_points") or [], evidence=r.get("evidence") or [],
                      answer=ans.get("answer", ""), citations=ans.get("citations") or [], refused=bool(s.get("refused")),
                      kp_coverage=s.get("kp_coverage"), citation_precision=s.get("citation_precision"),
                      cited_sentences=s.get("cited_sentences"), evidence_recall=(s.get("recall_at") or {}).get("10"),
                      error=r.get("error"), judgement=j.get("verdict", ""), comment=j.get("comment", ""))  # fmt: skip
        rows.append(row)
    return rows


def _export_handler(wb: _Workbench) -> Any:
    def _export(rid: Any) -> tuple[Any, ...]:
        run = wb.load(rid)
        if run is None:
            return None, None, "请先运行评测或选择一次历史运行"
        from gradio.utils import get_upload_folder

        rows = _eval_rows(run)
        # under Gradio's cache folder, which expires and has a quota (qa/app/limits.py CacheSweeper)
        c, j = export(rows, Path(get_upload_folder()) / "qa-exports" / uuid.uuid4().hex)
        return str(c), str(j), f"已导出 {len(rows)} 题"

    return _export


def _feedback_handlers(wb: _Workbench) -> dict[str, Any]:
    """The 反馈 events: turn a feedback into a draft gold question, dismiss one, run the drafts."""
    import gradio as gr

    from qa.app.feedback import FeedbackFull

    feedback = wb.feedback

    def _draft(pick: Any) -> tuple[Any, ...]:
        if not isinstance(pick, str) or not pick.isdigit():
            return (*wb.queue(), "请先选择一条反馈")
        try:
            d = feedback.to_draft(int(pick))
        except (KeyError, FeedbackFull) as exc:
            return (*wb.queue(pick), str(exc).strip("'"))
        return (*wb.queue(pick), f"已转为评测草稿 {d['id']}：“{d['question'][:40]}”，已写入草稿评测集（{feedback.drafts_path.name}）；"
                                   "补上参考答案后即可运行，或直接点“用草稿评测集运行”。")  # fmt: skip

    def _dismiss(pick: Any) -> tuple[Any, ...]:
        if isinstance(pick, str) and pick.isdigit():
            feedback.set_status(int(pick), "dismissed")
            return (*wb.queue(pick), f"已忽略反馈 #{pick}")
        return (*wb.queue(), "请先选择一条反馈")

    def use_drafts() -> tuple[Any, ...]:
        """Fill in the drafts file as the gold path and go to 运行."""
        if feedback.drafts_path.is_file():
            return str(feedback.drafts_path), gr.Tabs(selected="wb-run"), "已填入草稿评测集的路径，点“运行评测”即可运行。"
        return gr.update(), gr.update(), "还没有草稿题：请先在反馈中点“转为评测草稿”。"

    # a lambda, as the event always was: Gradio names an event after its function
    return {"draft": _draft, "dismiss": _dismiss, "use_drafts": lambda: use_drafts()}


def _compare_handler(wb: _Workbench) -> Any:
    def _compare(a: Any, b: Any) -> str:
        return compare_html(wb.load(a), wb.load(b))

    return _compare


def _on_load_handler(wb: _Workbench) -> Any:
    import gradio as gr

    def _on_load() -> tuple[Any, ...]:
        ch = wb.store.choices()
        newest = ch[0][1] if ch else None
        run = wb.load(newest)
        v = wb.view(run)
        q = wb.queue()
        return (newest or "", gr.update(choices=ch, value=newest), gr.update(choices=ch, value=ch[1][1] if len(ch) > 1 else None),
                gr.update(choices=ch, value=newest), v[0], v[1], v[2], v[3], v[4], v[5], *q)  # fmt: skip

    return _on_load


def _wire_workbench(wb: _Workbench, ui: _WorkbenchUI) -> None:
    """UI wiring, not a public API (like the chat's own events). The run waits in its own queue
    (EvalQueue), not in Gradio's queue shared with the chat. The run event is registered first:
    tests find it as the first event whose first input is the upload."""
    import gradio as gr

    private = {"api_visibility": "private"}
    run, review, compare, fb = ui.run, ui.review, ui.compare, ui.fb
    rv, fh = _review_handlers(wb), _feedback_handlers(wb)
    run_outputs = [ui.run_state, review.table, ui.status, ui.run_pick, compare.cmp_a, compare.cmp_b, ui.metrics_view, review.qid,
                   review.detail, review.verdict, review.comment, ui.wb_tabs]  # fmt: skip
    run.run_btn.click(_run_handler(wb), [run.upload, run.path, run.limit], run_outputs, concurrency_limit=None, show_progress="hidden",
                      **private)  # fmt: skip
    run.upload.upload(_preview, [run.upload], [run.import_notes], **private)
    run.upload.clear(lambda: "", None, [run.import_notes], **private)
    review.table.select(rv["select"], [ui.run_state, review.review_filter], [review.qid], **private)
    review.qid.change(rv["show"], [ui.run_state, review.qid], [review.detail, review.verdict, review.comment], **private)
    review.save_btn.click(rv["save"], [ui.run_state, review.qid, review.verdict, review.comment],
                          [review.table, ui.status, ui.metrics_view, review.detail], **private)  # fmt: skip
    run.export_btn.click(_export_handler(wb), [ui.run_state], [run.csv_file, run.json_file, ui.status], **private)
    ui.run_pick.input(rv["pick"], [ui.run_pick], [ui.run_state, review.table, ui.status, ui.metrics_view, review.qid, review.detail,
                                                  review.verdict, review.comment, run.csv_file], **private)  # fmt: skip
    review.review_filter.input(rv["filter"], [ui.run_state, review.review_filter],
                               [review.table, review.qid, review.detail, review.verdict, review.comment], **private)  # fmt: skip
    review.next_btn.click(rv["next"], [ui.run_state, review.review_filter, review.qid], [review.qid], **private)
    queue_out = [fb.fb_view, fb.fb_pick, fb.drafts_file]
    ui.refresh_btn.click(lambda: (*wb.choices_update(), *wb.queue()), None, [ui.run_pick, compare.cmp_a, compare.cmp_b, *queue_out],
                         **private)  # fmt: skip
    compare.cmp_btn.click(_compare_handler(wb), [compare.cmp_a, compare.cmp_b], [compare.cmp_view], **private)
    fb.draft_btn.click(fh["draft"], [fb.fb_pick], [*queue_out, ui.status], **private)
    fb.dismiss_btn.click(fh["dismiss"], [fb.fb_pick], [*queue_out, ui.status], **private)
    fb.use_drafts.click(fh["use_drafts"], None, [run.path, ui.wb_tabs, ui.status], **private)
    root_block = gr.context.Context.root_block
    if root_block is not None:  # each page load shows the newest run (with its judgements) and the review queue
        root_block.load(_on_load_handler(wb), None, [ui.run_state, ui.run_pick, compare.cmp_a, compare.cmp_b, ui.metrics_view,
                                                     review.table, review.qid, review.detail, review.verdict, review.comment,
                                                     *queue_out], **private)  # fmt: skip


def build_evaluator_tab(assistant: Any, settings: Any = None) -> None:
    """Create the workbench inside the caller's Blocks (e.g. within `with gr.Tab(...)`)."""
    wb = _workbench(assistant, settings)
    _wire_workbench(wb, _workbench_layout(wb))
