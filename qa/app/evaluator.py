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

from qa.evaluate.gold import GoldFormatError, GoldItem, load_gold
from qa.evaluate.metrics import evidence_recall_at_k, score_question

DEFAULT_GOLD = Path("eval") / "gold.jsonl"
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
        return [], f"无法读取评测集 / cannot read gold file: {exc}"
    if not items:
        return [], f"评测集为空 / no questions in {Path(source).name}"
    unans = sum(not it.answerable for it in items)
    return items, f"已载入 {len(items)} 个问题（其中 {unans} 个应拒答）/ loaded {len(items)} questions from {Path(source).name}"


_ROOT = Path(__file__).resolve().parents[2]
REFUSED_SOURCE = (
    "出于安全考虑，网页上只能读取上传的评测集或 eval/ 目录下的文件 / "
    "for safety the web page only reads an uploaded gold file or one under eval/"
)


def web_source_problem(upload: str | None, path: str | None) -> str | None:
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
        allowed = [(_ROOT / "eval").resolve(), (Path.cwd() / "eval").resolve()]
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


def set_judgement(rows: Sequence[EvalRow], qid: str | None, verdict: str | None, comment: str | None,
                  max_comment: int = 2000) -> tuple[list[EvalRow], str]:  # fmt: skip
    """Record the evaluator's judgement of one question; (rows, status message)."""
    rows = list(rows)
    if not rows:
        return rows, "请先运行评测 / run the evaluation first"
    if not isinstance(comment, (str, type(None))) or len(comment or "") > max_comment:
        n = len(comment) if isinstance(comment, str) else 0
        return rows, f"备注过长（{n} 字，上限 {max_comment}），未保存 / comment too long (limit {max_comment}), not saved"
    code = next((k for k, v in JUDGEMENTS.items() if verdict in (k, v)), None)
    if verdict and code is None:
        return rows, f"无效的评价 / unknown judgement: {verdict}"
    for r in rows:
        if r.id == qid:
            r.judgement = code or ""
            r.comment = (comment or "").strip()
            return rows, f"已保存 {qid} 的评价 / saved: {JUDGEMENTS.get(r.judgement, '未评价')}"
    return rows, f"没有这个问题 / no question with id {qid!r}"


def summary(rows: Sequence[EvalRow]) -> str:
    """One status line: automatic scores and judgement counts."""
    if not rows:
        return "尚未运行 / not run yet"
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
            f"或用命令行 qa eval 运行全部 / at most {limit} questions per run on the page (qa eval has no limit)")


class EvalQueue:
    """The 评测 tab's own small queue: one run per session, `size` runs running or waiting in all;
    runs take turns (one at a time), so evaluators never crowd out the chat."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.sessions: set[str] = set()
        self._turn: asyncio.Lock | None = None  # created in the server's event loop

    def join(self, session: str) -> str | None:
        if session in self.sessions:
            return "本页已有一个评测在运行，请等它结束 / a run from this page is already in progress"
        if len(self.sessions) >= self.size:
            return "评测队列已满，请稍后再试 / the evaluation queue is full, try again later"
        self.sessions.add(session)
        return None

    def leave(self, session: str) -> None:
        self.sessions.discard(session)

    @property
    def turn(self) -> asyncio.Lock:
        if self._turn is None:
            self._turn = asyncio.Lock()
        return self._turn


def build_evaluator_tab(assistant: Any, settings: Any = None) -> None:
    """Create the evaluator components inside the caller's Blocks (e.g. within `with gr.Tab(...)`)."""
    import gradio as gr

    from qa.config import Settings

    settings = settings or getattr(assistant, "settings", None) or Settings()
    max_questions, max_comment = settings.max_eval_questions, settings.max_comment_chars
    runs = EvalQueue(settings.eval_queue)
    rows_state = gr.State([], time_to_live=settings.session_ttl_seconds)
    gr.Markdown("用评测集检验助手：运行全部问题，逐题对照参考答案打分，导出结果。 / Run the gold set, judge each answer, export.")
    with gr.Row():
        upload = gr.File(label="上传评测集 / upload gold (.jsonl)", file_types=[".jsonl"], type="filepath")
        with gr.Column():
            path = gr.Textbox(label="或文件路径 / or path", value=str(DEFAULT_GOLD), max_length=500)
            limit = gr.Number(label=f"只运行前 N 题（0 = 全部，网页上限 {max_questions}）/ first N (0 = all)",
                              value=0, precision=0, minimum=0)  # fmt: skip
            run_btn = gr.Button("运行评测 / Run", variant="primary")
    status = gr.Textbox(label="状态 / status", interactive=False)
    table = gr.Dataframe(headers=COLUMNS, value=[], interactive=False, wrap=True, max_height=520, label="结果 / results")
    with gr.Row():
        qid = gr.Dropdown(label="问题 / question", choices=[], interactive=True)
        verdict = gr.Radio(label="评价 / judgement", choices=list(JUDGEMENTS.values()))
        comment = gr.Textbox(label="备注 / comment", lines=2, max_length=max_comment)
        save_btn = gr.Button("保存评价 / Save")
    detail = gr.HTML()
    with gr.Row():
        export_btn = gr.Button("导出 CSV + JSON / Export")
        csv_file = gr.File(label="CSV", interactive=False)
        json_file = gr.File(label="JSON", interactive=False)

    def _ask_in_pool(session: str, item: GoldItem) -> Callable[[], Any]:
        """One question through the shared answer pool, as its own client: fair against the chat."""
        pool = getattr(assistant, "pool", None)

        async def one() -> EvalRow:
            if pool is None:  # a bare Assistant (tests): answer in a thread
                return await asyncio.to_thread(evaluate_item, assistant, item)
            async for row in pool.stream(f"eval:{session}", lambda: iter([evaluate_item(assistant, item)])):
                return row
            raise RuntimeError("no evaluation row")

        return one

    async def _run(upload_path: Any, path_text: Any, n: Any, request: gr.Request) -> AsyncIterator[tuple]:  # noqa: ANN401
        keep = gr.update()
        fail = lambda msg: ([], [], msg, gr.update(choices=[], value=None), "")  # noqa: E731
        upload_path = upload_path if isinstance(upload_path, str) else None
        path_text = path_text if isinstance(path_text, str) else ""
        try:
            first_n = max(0, int(n or 0))
        except (TypeError, ValueError, OverflowError):
            first_n = 0
        problem = web_source_problem(upload_path, path_text)
        if problem:
            yield fail(problem)
            return
        session = getattr(request, "session_hash", None) or uuid.uuid4().hex
        refused = runs.join(session)
        if refused:
            yield (keep, keep, refused, keep, keep)
            return
        try:  # from here on the slot is ours; Gradio closes this generator when the page goes away
            items, msg = await asyncio.to_thread(load_items, upload_path, path_text)
            if not items:
                yield fail(msg)
                return
            too_many = too_many_questions(len(items), first_n, max_questions)
            if too_many:
                yield fail(too_many)
                return
            if first_n:
                items = items[:first_n]
            if runs.turn.locked():
                yield (keep, keep, msg + "\n排队中，前面还有评测在运行 / waiting for another run to finish", keep, keep)
            async with runs.turn:
                rows: list[EvalRow] = []
                for i, item in enumerate(items):
                    rows.append(await _ask_in_pool(session, item)())
                    yield (keep, keep, f"{msg}\n评测中 / evaluating {i + 1}/{len(items)}", keep, keep)
            first = rows[0].id
            yield (rows, table_rows(rows), msg + "\n" + summary(rows), gr.update(choices=[r.id for r in rows], value=first),
                   detail_html(rows, first))  # fmt: skip
        finally:
            runs.leave(session)

    def _select(rows, evt: gr.SelectData):  # noqa: ANN001, ANN202
        row = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
        return rows[row].id if isinstance(row, int) and 0 <= row < len(rows) else gr.update()

    # Gradio finds the event-data argument by its type; with postponed annotations it sees a string.
    _select.__annotations__["evt"] = gr.SelectData
    _run.__annotations__["request"] = gr.Request

    def _show(rows, q):  # noqa: ANN001, ANN202
        r = next((r for r in rows if r.id == q), None)
        if r is None:
            return "", None, ""
        return detail_html(rows, q), JUDGEMENTS.get(r.judgement), r.comment

    def _save(rows, q, v, c):  # noqa: ANN001, ANN202
        rows, msg = set_judgement(rows, q, v, c, max_comment)
        return rows, table_rows(rows), msg + "\n" + summary(rows)

    def _export(rows):  # noqa: ANN001, ANN202
        if not rows:
            return None, None, "请先运行评测 / run the evaluation first"
        # under Gradio's cache folder, which expires and has a quota (qa/app/limits.py CacheSweeper)
        from gradio.utils import get_upload_folder

        c, j = export(rows, Path(get_upload_folder()) / "qa-exports" / uuid.uuid4().hex)
        return str(c), str(j), f"已导出 {len(rows)} 题 / exported"

    # UI wiring, not a public API (like the chat's own events). The run waits in its own queue
    # (EvalQueue), not in Gradio's queue shared with the chat.
    private = {"api_visibility": "private"}
    run_btn.click(_run, [upload, path, limit], [rows_state, table, status, qid, detail], concurrency_limit=None, **private)
    table.select(_select, [rows_state], [qid], **private)
    qid.change(_show, [rows_state, qid], [detail, verdict, comment], **private)
    save_btn.click(_save, [rows_state, qid, verdict, comment], [rows_state, table, status], **private)
    export_btn.click(_export, [rows_state], [csv_file, json_file, status], **private)
