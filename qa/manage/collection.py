"""What the index is built from: the base corpus (seeds/ or the paths given to `qa index`), the files
added since (kept under <index_dir>/library/), and the documents removed since.

    <index_dir>/library.json        {"version", "base": [paths], "files": [...], "removed": [...]}
    <index_dir>/library/<sha>/<name> every added file, as uploaded

A document re-added with the same 发文字号 replaces the old one: the old one's file is dropped when it
held nothing else, or the old document is listed as removed (a document inside a seed gazette).
State changes are written atomically under a lock; the index itself is rebuilt by qa.manage.jobs.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator

from qa.config import Settings
from qa.ingest.reader import FileReport
from qa.models import Document

STATE = "library.json"
LIBRARY = "library"


class ManageError(Exception):
    """A request the collection cannot carry out; the message is for people (bilingual)."""


@dataclass
class FilePreview:
    """What the parser made of one file, before it is added."""

    name: str
    ok: bool
    format: str = ""
    message: str = ""
    warnings: list[str] = field(default_factory=list)
    documents: list[dict[str, Any]] = field(default_factory=list)  # number, title, issuer, date, validity, articles
    replaces: list[dict[str, Any]] = field(default_factory=list)  # indexed documents with the same 发文字号

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class AddOutcome:
    added: list[FilePreview] = field(default_factory=list)
    rejected: list[FilePreview] = field(default_factory=list)
    replaced: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"added": [p.to_dict() for p in self.added], "rejected": [p.to_dict() for p in self.rejected],
                "replaced": self.replaced}


def _number_key(number: str | None) -> str:
    from qa.ingest.documents import normalize_number

    return normalize_number(number) if number else ""


def _doc_summary(d: Document, articles: int | None = None) -> dict[str, Any]:
    from qa.ingest.validity import STATUS_LABELS, status

    st = status(d.validity) if d.validity is not None else "unknown"
    out = {"doc_id": d.doc_id, "number": d.number, "title": d.title, "issuer": d.issuer, "date": d.date,
           "region": d.region, "source_file": d.source_file, "status": st, "status_label": STATUS_LABELS.get(st, st),
           "effective_date": d.effective_date, "expiry_date": d.expiry_date}
    if articles is not None:
        out["articles"] = articles
    return out


def _safe_name(name: str) -> str:
    base = Path(name.replace("\\", "/")).name.strip() or "upload"
    base = re.sub(r"[\x00-\x1f/:*?\"<>|]", "_", base)
    return base[:120] or "upload"


class Collection:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.root = Path(settings.index_dir)
        self.library = self.root / LIBRARY
        self.path = self.root / STATE

    # --- state ------------------------------------------------------------------------------
    @contextmanager
    def locked(self) -> Iterator[dict[str, Any]]:
        """The state, exclusively; written back (atomically) when the block ends without error."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".library.lock", "a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                state = self.read()
                before = json.dumps(state, sort_keys=True)
                yield state
                if json.dumps(state, sort_keys=True) != before:
                    state["version"] = int(state.get("version", 0)) + 1
                    self._write(state)
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def read(self) -> dict[str, Any]:
        try:
            state = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            state = {}
        except (OSError, ValueError) as exc:
            raise ManageError(f"文件清单损坏 / the collection list {self.path} is unreadable: {exc}") from exc
        state.setdefault("version", 0)
        state.setdefault("base", None)
        state.setdefault("files", [])
        state.setdefault("removed", [])
        return state

    def _write(self, state: dict[str, Any]) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".library-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(state, fh, ensure_ascii=False, indent=1)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)

    def version(self) -> int:
        return int(self.read().get("version", 0))

    def set_base(self, paths: list[Path]) -> None:
        with self.locked() as state:
            state["base"] = [str(Path(p).resolve()) for p in paths]

    def base_inputs(self, state: dict[str, Any] | None = None) -> list[Path]:
        state = state or self.read()
        return [Path(p) for p in state.get("base") or [str(self.settings.seeds_dir)]]

    def inputs(self, state: dict[str, Any] | None = None) -> list[Path]:
        state = state or self.read()
        files = [self.library / f["stored"] for f in state["files"] if (self.library / f["stored"]).is_file()]
        return self.base_inputs(state) + files

    def excluded(self, state: dict[str, Any] | None = None) -> set[str]:
        state = state or self.read()
        return {r["doc_id"] for r in state["removed"]}

    # --- what is indexed now ----------------------------------------------------------------
    def _file_store(self) -> bool:
        return (getattr(self.settings, "vector_store", "faiss") or "faiss").lower() == "faiss"

    def _loaded(self) -> Any:
        """The live generation through its store (Milvus: documents and chunks live there)."""
        from qa.index.base import store_backend

        try:
            return store_backend(self.settings).load()
        except Exception:  # noqa: BLE001 - nothing indexed yet, or the store is unreachable: nothing to list
            return None

    def indexed_documents(self) -> list[Document]:
        """The documents of the live index generation (file store: without loading the index)."""
        from qa.index.store import IndexStore, IndexStoreError

        if not self._file_store():
            store = self._loaded()
            return list(store.documents) if store is not None else []
        try:
            gen = IndexStore.resolve(self.root)
            rows = json.loads((gen / "documents.json").read_text(encoding="utf-8"))
        except (IndexStoreError, OSError, ValueError):
            return []
        return [Document(**r) for r in rows]

    def indexed_article_counts(self) -> dict[str, int]:
        from qa.index.store import IndexStore, IndexStoreError

        if not self._file_store():
            store = self._loaded()
            rows = [{"doc_id": c.doc_id} for c in store.chunks] if store is not None else []
        else:
            try:
                gen = IndexStore.resolve(self.root)
                rows = json.loads((gen / "chunks.json").read_text(encoding="utf-8"))
            except (IndexStoreError, OSError, ValueError):
                return {}
        counts: dict[str, int] = {}
        for r in rows:
            counts[r["doc_id"]] = counts.get(r["doc_id"], 0) + 1
        return counts

    def list(self) -> list[dict[str, Any]]:
        counts = self.indexed_article_counts()
        added = {f["name"] for f in self.read()["files"]}
        out = []
        for d in self.indexed_documents():
            row = _doc_summary(d, counts.get(d.doc_id, 0))
            row["added"] = d.source_file in added
            out.append(row)
        return out

    # --- preview / add / remove ------------------------------------------------------------
    def preview(self, path: Path, name: str | None = None) -> FilePreview:
        """Parse one file as it would be indexed (nothing is changed)."""
        from qa.ingest import ingest_paths

        name = _safe_name(name or path.name)
        with tempfile.TemporaryDirectory(prefix="qa-preview-") as tmp:
            f = Path(tmp) / name
            try:
                os.link(path, f)
            except OSError:
                shutil.copyfile(path, f)
            result = ingest_paths([f], self.settings)
        report: FileReport = result.reports[0]
        p = FilePreview(name=name, ok=report.ok, format=report.format, message=report.message, warnings=list(report.warnings))
        if not report.ok:
            return p
        if not result.documents:
            p.ok = False
            p.message = "没有找到可收录的文件内容 / no document found in the file"
            return p
        counts: dict[str, int] = {}
        for c in result.chunks:
            counts[c.doc_id] = counts.get(c.doc_id, 0) + 1
        existing = self.indexed_documents()
        for d in result.documents:
            row = _doc_summary(d, counts.get(d.doc_id, 0))
            row["warnings"] = _doc_warnings(d, counts.get(d.doc_id, 0))
            p.documents.append(row)
            key = _number_key(d.number)
            if key:
                p.replaces += [_doc_summary(e) for e in existing if _number_key(e.number) == key and e.source_file != name]
        return p

    def add(self, files: list[tuple[Path, str]]) -> AddOutcome:
        """Add files [(path on disk, name to keep)]; a file that cannot be read is rejected with its
        reason and nothing of it is kept. Documents with the 发文字号 of an indexed one replace it."""
        out = AddOutcome()
        previews = [(path, self.preview(path, name)) for path, name in files]
        with self.locked() as state:
            for path, p in previews:
                if not p.ok:
                    out.rejected.append(p)
                    continue
                data = path.read_bytes()
                sha = hashlib.sha256(data).hexdigest()
                # the same name again (a corrected version) replaces the earlier upload
                for old in [f for f in state["files"] if f["name"] == p.name]:
                    self._drop_file(state, old)
                numbers = {_number_key(d["number"]) for d in p.documents if d.get("number")}
                for rep in p.replaces:  # first: an old copy may share the new file's place
                    out.replaced.append(rep)
                    self._retire(state, rep, numbers)
                stored = f"{sha[:12]}/{p.name}"
                target = self.library / stored
                target.parent.mkdir(parents=True, exist_ok=True)
                tmp = target.with_name(f".{target.name}.part")
                tmp.write_bytes(data)
                os.replace(tmp, target)
                state["files"].append({
                    "name": p.name, "stored": stored, "sha256": sha, "format": p.format,
                    "added": time.strftime("%Y-%m-%dT%H:%M:%S"),
                    "documents": [{"number": d["number"], "title": d["title"]} for d in p.documents],
                })
                # a document removed earlier and now uploaded again is back
                state["removed"] = [r for r in state["removed"] if not (r.get("number") and _number_key(r["number"]) in numbers
                                                                        and r.get("source_file") == p.name)]
                out.added.append(p)
        return out

    def _drop_file(self, state: dict[str, Any], entry: dict[str, Any]) -> None:
        state["files"] = [f for f in state["files"] if f is not entry and f["stored"] != entry["stored"]]
        path = self.library / entry["stored"]
        path.unlink(missing_ok=True)
        try:
            path.parent.rmdir()  # only when nothing else is stored there
        except OSError:
            pass

    def _retire(self, state: dict[str, Any], doc: dict[str, Any], numbers: set[str] | None = None) -> None:
        """An indexed document leaves the index: its added file goes when nothing else of it stays."""
        if not any(r["doc_id"] == doc["doc_id"] for r in state["removed"]):
            state["removed"].append({k: doc.get(k) for k in ("doc_id", "number", "title", "source_file")})
        entry = next((f for f in state["files"] if f["name"] == doc.get("source_file")), None)
        if entry is None:
            return
        gone = [r for r in state["removed"] if r.get("source_file") == entry["name"]]

        def is_gone(x: dict[str, Any]) -> bool:
            return any((x.get("number") and _number_key(x["number"]) == _number_key(r.get("number")))
                       or (not x.get("number") and x.get("title") == r.get("title")) for r in gone)

        if all(is_gone(x) for x in entry.get("documents", [])):
            self._drop_file(state, entry)
            state["removed"] = [r for r in state["removed"] if r.get("source_file") != entry["name"]]

    def resolve(self, ref: str) -> list[Document]:
        """Documents named by 发文字号, doc id or title (exact, else a unique part of it)."""
        from qa.ingest.lines import compact

        ref = (ref or "").strip()
        docs = self.indexed_documents()
        if not ref:
            return []
        by_id = [d for d in docs if d.doc_id == ref]
        if by_id:
            return by_id
        key = _number_key(ref)
        by_number = [d for d in docs if d.number and _number_key(d.number) == key]
        if by_number:
            return by_number
        want = compact(ref).strip("《》")
        exact = [d for d in docs if compact(d.title) == want or compact(d.notice_title or "") == want]
        if exact:
            return exact
        return [d for d in docs if want and (want in compact(d.title) or want in compact(d.notice_title or ""))]

    def remove(self, ref: str) -> list[dict[str, Any]]:
        docs = self.resolve(ref)
        if not docs:
            raise ManageError(f"未找到文件 / no indexed document matches {ref!r} (发文字号, title or doc id)")
        if len(docs) > 1 and not any(d.doc_id == ref or (d.number and _number_key(d.number) == _number_key(ref)) for d in docs):
            names = "；".join(d.label() for d in docs[:5])
            raise ManageError(f"匹配到 {len(docs)} 份文件，请写得更具体（发文字号或完整标题）/ {len(docs)} documents match: {names}")
        removed = [_doc_summary(d) for d in docs]
        with self.locked() as state:
            for d in removed:
                self._retire(state, d, {_number_key(d["number"])} if d.get("number") else set())
        return removed


def _doc_warnings(d: Document, articles: int) -> list[str]:
    out = []
    if not d.number:
        out.append("没有识别出发文字号 / no 发文字号 found")
    if not d.date:
        out.append("没有识别出成文日期 / no date found")
    if not d.issuer:
        out.append("没有识别出发文机关 / no issuer found")
    if articles <= 1:
        out.append("只识别出一条内容，可能没有分条 / only one article found")
    return out
