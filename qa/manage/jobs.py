"""Index updates after the collection changed, in two steps so nothing waits for the model:

1. keyword step: ingest everything, take the vectors the embedding cache has, save a generation in
   which new chunks have no vector yet (BM25 covers them; dense search skips them) — seconds;
2. dense step: embed what is missing (progress in <index_dir>/status.json), save the full generation.

The running server switches to each new generation by itself (qa.app.live). One job at a time
(a lock under the index dir); a job re-runs while the collection changed during it. `qa add`
runs both steps in the foreground; the server runs them in a worker process
(`python -m qa.manage.jobs`), so answering never waits on embedding or a rebuild.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from qa.config import Settings, load_settings
from qa.manage.collection import Collection

STATUS = "status.json"


class JobBusy(Exception):
    """Another index update holds the lock."""


def write_status(index_dir: Path, **fields: Any) -> None:
    index_dir.mkdir(parents=True, exist_ok=True)
    fields["updated"] = time.time()
    tmp = index_dir / f".{STATUS}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(fields, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, index_dir / STATUS)


def read_status(index_dir: Path) -> dict[str, Any]:
    try:
        return json.loads((Path(index_dir) / STATUS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


@contextmanager
def job_lock(index_dir: Path, wait: bool = True) -> Iterator[None]:
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".job.lock", "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            raise JobBusy("另一个索引更新正在进行 / another index update is running") from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def build(settings: Settings, defer_dense: bool, progress: bool = False,
          on_progress: Callable[[int, int], None] | None = None, log: Callable[[str], None] | None = None,
          sentences: bool = True) -> Any:
    """One build of the collection (base + added − removed) into settings.index_dir."""
    from qa.index.builder import IndexBuilder

    coll = Collection(settings)
    state = coll.read()
    report = IndexBuilder(settings, log=log).run(
        coll.inputs(state), progress=progress, exclude=coll.excluded(state), defer_dense=defer_dense,
        on_progress=on_progress, extra={"collection_version": int(state.get("version", 0))}, sentences=sentences,
    )
    return report


class _Pending:
    """The keyword step already live (the first run's, made by `qa serve` itself): only vectors to add."""

    def __init__(self, pending: int) -> None:
        self.pending = pending


def _live_keyword_step(settings: Settings, version: int) -> "_Pending | None":
    """The live generation when it already is this collection version's keyword step (vectors pending)."""
    from qa.index.base import store_backend

    try:
        extra = store_backend(settings).read_manifest().get("extra") or {}
    except Exception:  # noqa: BLE001 - no live generation: build one
        return None
    pending = int(extra.get("dense_pending") or 0)
    if pending and extra.get("collection_version") == version:
        return _Pending(pending)
    return None


def update(settings: Settings, progress: bool = False, log: Callable[[str], None] | None = None,
           wait: bool = True, quick_only: bool = False) -> list[Any]:
    """Both steps, repeated until the collection stops changing; returns the build reports."""
    index_dir = Path(settings.index_dir)
    say = log or (lambda m: print(m, file=sys.stderr, flush=True))
    reports: list[Any] = []
    with job_lock(index_dir, wait=wait):
        coll = Collection(settings)
        for _ in range(20):
            version = coll.version()
            t0 = time.monotonic()
            quick = None if quick_only else _live_keyword_step(settings, version)
            if quick is None:
                write_status(index_dir, state="keyword", message="正在更新关键词索引 / updating the keyword index",
                             done=0, total=0)
                quick = build(settings, defer_dense=True, log=say)
                reports.append(quick)
            write_status(index_dir, state="embedding" if quick.pending else "ready", done=0, total=quick.pending,
                         keyword_seconds=round(time.monotonic() - t0, 1),
                         message=(f"关键词检索已就绪，正在生成向量 0/{quick.pending} / keyword search ready, embedding"
                                  if quick.pending else "索引已就绪 / index ready"))
            if quick.pending and not quick_only:
                def on_progress(done: int, total: int) -> None:
                    write_status(index_dir, state="embedding", done=done, total=total,
                                 message=f"正在生成向量 {done}/{total} / embedding {done}/{total}")

                full = build(settings, defer_dense=False, progress=progress, on_progress=on_progress, log=say,
                             sentences=False)
                reports.append(full)
                # done/total: the vectors computed (identical articles share one), as the progress counted them
                write_status(index_dir, state="ready", done=full.embedded, total=full.embedded, articles=quick.pending,
                             message="索引已就绪 / index ready", seconds=round(time.monotonic() - t0, 1))
            if not quick_only and reports and reports[-1].sentences_pending:
                # the sentence vectors (qa.index.sentences) in a last generation, once hybrid search is
                # live; everything else is read from the caches
                reports.append(build(settings, defer_dense=False, progress=progress, log=say))
            if quick_only or coll.version() == version:
                break
    return reports


def main(argv: list[str] | None = None) -> int:
    """Worker entry: `python -m qa.manage.jobs` (settings from the QA_* environment)."""
    try:
        os.nice(5)  # answering comes first on a small machine
    except OSError:
        pass
    settings = load_settings()
    try:
        update(settings, progress=False)
    except Exception as exc:  # noqa: BLE001 - reported to the server through status.json
        write_status(Path(settings.index_dir), state="error", message=f"索引更新失败 / index update failed: {exc}")
        print(f"index update failed: {exc!r}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
