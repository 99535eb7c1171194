"""What users say about answers (有用 / 没用 + a comment), in SQLite, and the review queue built on it.

Each chat answer can be marked 有用 or 没用, with an optional comment. A row keeps what the
evaluator needs to judge it later without asking again: the question, the answer text, its
sources (citation records), coverage, the filters used and the index version.

The evaluator's workbench (qa/app/evaluator.py) lists the rows as a review queue; one click
turns a row into a draft gold question, appended to ``drafts.jsonl`` beside the database
(the format `qa eval --gold` and the workbench import), for the next run.

Bounded: at most `max_rows` rows (then new feedback is refused with a message); the comment
is capped by the caller (settings.max_comment_chars). One connection per call: safe from the
answer pool's threads and the event loop alike.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from contextlib import closing
from datetime import datetime
from pathlib import Path
from typing import Any

VERDICTS = {"useful": "有用", "not_useful": "没用"}
STATUSES = {"new": "待处理", "drafted": "已转为草稿", "dismissed": "已忽略"}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created TEXT NOT NULL,
    verdict TEXT NOT NULL,
    comment TEXT NOT NULL DEFAULT '',
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    citations TEXT NOT NULL DEFAULT '[]',
    coverage TEXT NOT NULL DEFAULT '',
    filters TEXT NOT NULL DEFAULT '{}',
    index_version TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'new',
    gold_id TEXT
);
CREATE INDEX IF NOT EXISTS feedback_status ON feedback(status, id);
"""


class FeedbackFull(Exception):
    """The store holds max_rows rows already."""


class FeedbackStore:
    def __init__(self, path: Path | str, max_rows: int = 20_000) -> None:
        self.path = Path(path)
        self.max_rows = max_rows
        self._lock = threading.Lock()  # one writer at a time (SQLite would serialise anyway)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db, db:
            db.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=10)
        db.row_factory = sqlite3.Row
        return db

    def add(self, verdict: str, question: str, answer: str, citations: list[dict[str, Any]] | None = None,
            coverage: str = "", filters: dict[str, Any] | None = None, index_version: str = "", comment: str = "") -> int:  # fmt: skip
        if verdict not in VERDICTS:
            raise ValueError(f"无效的反馈：{verdict}")
        with self._lock, closing(self._connect()) as db, db:
            (count,) = db.execute("SELECT COUNT(*) FROM feedback").fetchone()
            if count >= self.max_rows:
                raise FeedbackFull("反馈已满，暂时无法记录，请稍后再试")
            cur = db.execute(
                "INSERT INTO feedback (created, verdict, comment, question, answer, citations, coverage, filters, index_version)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (datetime.now().isoformat(timespec="seconds"), verdict, comment, question, answer,
                 json.dumps(citations or [], ensure_ascii=False), coverage, json.dumps(filters or {}, ensure_ascii=False), index_version),
            )  # fmt: skip
            return int(cur.lastrowid or 0)

    def update(self, fid: int, verdict: str | None = None, comment: str | None = None) -> bool:
        sets, args = [], []
        if verdict is not None:
            if verdict not in VERDICTS:
                raise ValueError(f"无效的反馈：{verdict}")
            sets.append("verdict = ?")
            args.append(verdict)
        if comment is not None:
            sets.append("comment = ?")
            args.append(comment)
        if not sets:
            return False
        with self._lock, closing(self._connect()) as db, db:
            return db.execute(f"UPDATE feedback SET {', '.join(sets)} WHERE id = ?", (*args, int(fid))).rowcount > 0

    def get(self, fid: int) -> dict[str, Any] | None:
        with closing(self._connect()) as db:
            row = db.execute("SELECT * FROM feedback WHERE id = ?", (int(fid),)).fetchone()
        return _row(row) if row else None

    def items(self, status: str | None = None, verdict: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
        q, args = "SELECT * FROM feedback", []
        where = []
        if status:
            where.append("status = ?")
            args.append(status)
        if verdict:
            where.append("verdict = ?")
            args.append(verdict)
        if where:
            q += " WHERE " + " AND ".join(where)
        q += " ORDER BY id DESC LIMIT ?"
        with closing(self._connect()) as db:
            return [_row(r) for r in db.execute(q, (*args, int(limit))).fetchall()]

    def counts(self) -> dict[str, int]:
        with closing(self._connect()) as db:
            rows = db.execute("SELECT status, verdict, COUNT(*) FROM feedback GROUP BY status, verdict").fetchall()
        out: dict[str, int] = {}
        for status, verdict, n in rows:
            out[status] = out.get(status, 0) + n
            out[verdict] = out.get(verdict, 0) + n
        return out

    def set_status(self, fid: int, status: str, gold_id: str | None = None) -> None:
        if status not in STATUSES:
            raise ValueError(status)
        with self._lock, closing(self._connect()) as db, db:
            db.execute("UPDATE feedback SET status = ?, gold_id = COALESCE(?, gold_id) WHERE id = ?", (status, gold_id, int(fid)))

    # -- drafts

    @property
    def drafts_path(self) -> Path:
        return self.path.parent / "drafts.jsonl"

    def to_draft(self, fid: int) -> dict[str, Any]:
        """Turn a feedback row into a draft gold question (appended to drafts.jsonl); the draft."""
        item = self.get(fid)
        if item is None:
            raise KeyError(f"没有编号为 {fid} 的反馈")
        gold_id = f"FB{int(fid):04d}"
        useful = item["verdict"] == "useful"
        quotes = [c.get("quote", "") for c in item["citations"] if c.get("quote")]
        draft = {
            "id": gold_id,
            "persona": "citizen",
            "type": "fact",
            "question": item["question"],
            # a useful answer is a first reference; a useless one leaves it to the evaluator
            "answer": item["answer"] if useful else "",
            "key_points": [],
            "evidence": [q for q in quotes if 15 <= len(q) <= 80][:3] if useful else [],
            "source": None,
            "status": "draft",
            "feedback": {"id": int(fid), "verdict": VERDICTS[item["verdict"]], "comment": item["comment"],
                         "system_answer": item["answer"], "index_version": item["index_version"], "created": item["created"]},
        }  # fmt: skip
        with self._lock:
            existing = self.drafts_path.read_text(encoding="utf-8") if self.drafts_path.is_file() else ""
            lines = [ln for ln in existing.splitlines() if ln.strip() and json.loads(ln).get("id") != gold_id]
            lines.append(json.dumps(draft, ensure_ascii=False))
            self.drafts_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        self.set_status(fid, "drafted", gold_id)
        return draft

    def drafts(self) -> list[dict[str, Any]]:
        if not self.drafts_path.is_file():
            return []
        return [json.loads(ln) for ln in self.drafts_path.read_text(encoding="utf-8").splitlines() if ln.strip()]


def _row(row: sqlite3.Row) -> dict[str, Any]:
    d = dict(row)
    for key, empty in (("citations", []), ("filters", {})):
        try:
            d[key] = json.loads(d[key]) if d[key] else empty
        except ValueError:
            d[key] = empty
    return d


def workbench_root(settings: Any) -> Path:
    """Where the workbench keeps its files: settings.workbench_dir, else <index_dir>/workbench."""
    return Path(settings.workbench_dir) if getattr(settings, "workbench_dir", "") else Path(settings.index_dir) / "workbench"


_STORES: dict[str, FeedbackStore] = {}
_STORES_LOCK = threading.Lock()


def feedback_store(settings: Any) -> FeedbackStore:
    """The one store of this server's workbench directory (the chat writes, the 评测 tab reads)."""
    path = workbench_root(settings) / "feedback.sqlite"
    with _STORES_LOCK:
        store = _STORES.get(str(path))
        if store is None:
            store = _STORES[str(path)] = FeedbackStore(path, getattr(settings, "max_feedback_rows", 20_000))
        return store
