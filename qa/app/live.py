"""A running server follows its index: new generations are picked up by themselves, index updates run
in a worker process, and the page can say whether answers use keyword search only (vectors still
being computed) or full hybrid retrieval.

- `IndexWatcher` polls <index_dir>/CURRENT; when it names a new generation, a new Assistant is loaded
  beside the old one and swapped in (SharedAssistant.swap). Answers in flight finish on the old one.
- `Indexer` runs `python -m qa.manage.jobs` (qa.manage.jobs.update) in a worker process, one at a time,
  again when asked while running; progress comes back through <index_dir>/status.json.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from qa.config import Settings
from qa.index.watch import loaded_generation

log = logging.getLogger("qa.app")


def settings_env(settings: Settings) -> dict[str, str]:
    """The worker's environment: this server's settings as QA_* variables."""
    from dataclasses import fields

    env = dict(os.environ)
    for f in fields(settings):
        value = getattr(settings, f.name)
        if value is None:
            continue
        env["QA_" + f.name.upper()] = str(value)
    env.pop("QA_CONFIG", None)  # everything is explicit now
    return env


class Indexer:
    """One index-update worker process at a time; `request()` while one runs queues one more run."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._proc: subprocess.Popen | None = None
        self._again = False
        self._lock = threading.Lock()
        self.last_exit: int | None = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        with self._lock:
            return self._proc is not None and self._proc.poll() is None

    def request(self) -> None:
        with self._lock:
            if self._proc is not None and self._proc.poll() is None:
                self._again = True
                return
            self._start()

    def _start(self) -> None:
        log_path = Path(self.settings.index_dir) / "worker.log"
        Path(self.settings.index_dir).mkdir(parents=True, exist_ok=True)
        fh = open(log_path, "a", encoding="utf-8")
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "qa.manage.jobs"], env=settings_env(self.settings), stdout=fh, stderr=subprocess.STDOUT,
            cwd=str(Path(__file__).resolve().parents[2]),
        )
        fh.close()
        self._again = False
        self._thread = threading.Thread(target=self._wait, args=(self._proc,), daemon=True, name="qa-indexer")
        self._thread.start()

    def _wait(self, proc: subprocess.Popen) -> None:
        code = proc.wait()
        with self._lock:
            self.last_exit = code
            if code:
                log.warning("index update worker exited with %s (see %s/worker.log)", code, self.settings.index_dir)
            if self._again:
                self._start()

    def stop(self) -> None:
        with self._lock:
            proc, self._again = self._proc, False
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


class IndexWatcher(threading.Thread):
    """Switches the shared Assistant to each new index generation without waiting for a question.

    The switch itself is the Reloader's (qa.index.watch, through SharedAssistant.refresh): a new
    Assistant is loaded beside the old one and swapped in; answers in flight finish on the old one.
    This thread only makes it happen in the background: every `interval` seconds with the file
    store (reading CURRENT costs nothing), at the Reloader's own pace with Milvus.
    """

    def __init__(self, shared: Any, settings: Settings, interval: float = 1.0) -> None:
        super().__init__(daemon=True, name="qa-index-watcher")
        self.shared = shared
        self.settings = settings
        self.interval = interval
        self._stop = threading.Event()
        self.swaps = 0
        self.force = (getattr(settings, "vector_store", "faiss") or "faiss").lower() == "faiss"
        if hasattr(shared, "follow"):
            shared.follow(max(interval, float(getattr(settings, "reload_check_seconds", 0) or 0) or interval))

    def run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                t = time.perf_counter()
                if self.shared.refresh(force=self.force):
                    self.swaps += 1
                    log.info("switched to index generation %s in %.1fs", loaded_generation(self.shared),
                             time.perf_counter() - t)
                    _refreeze()
            except Exception as exc:  # noqa: BLE001 - keep answering with the old index
                log.warning("index watcher: %s", exc)

    def stop(self) -> None:
        self._stop.set()


def _refreeze() -> None:
    """qa serve froze the loaded index out of the garbage collector's reach (server._settle_memory);
    after a switch the old generation must be collectable and the new one frozen in turn."""
    import gc

    if gc.get_freeze_count():
        gc.unfreeze()
        gc.collect()
        gc.freeze()


class Live:
    """What create_app attaches to a server: the watcher and the indexer."""

    def __init__(self, shared: Any, settings: Settings, interval: float = 1.0) -> None:
        self.shared = shared
        self.settings = settings
        self.indexer = Indexer(settings)
        self.watcher = IndexWatcher(shared, settings, interval)

    def start(self) -> "Live":
        self.watcher.start()
        if index_pending(self.shared):
            self.indexer.request()  # the first run left vectors to compute
        return self

    def status(self) -> dict[str, Any]:
        from qa.manage.jobs import read_status

        st = read_status(Path(self.settings.index_dir))
        pending = index_pending(self.shared)
        return {
            "retrieval": "bm25" if pending and pending >= self.shared.chunk_total() else ("partial" if pending else "hybrid"),
            "pending": pending,
            "chunks": self.shared.chunk_total(),
            "job": st,
            "updating": self.indexer.running,
            "generation": loaded_generation(self.shared),
        }


def index_pending(shared: Any) -> int:
    """Chunks of the loaded generation still waiting for their vector."""
    info = shared.index_info() if hasattr(shared, "index_info") else {}
    return int(info.get("dense_pending") or 0)


def status_text(status: dict[str, Any]) -> str:
    """One line for the page: which retrieval answers use now."""
    job = status.get("job") or {}
    if status["retrieval"] == "bm25":
        done, total = job.get("done", 0), job.get("total", 0) or status["pending"]
        return (f"快速模式：目前按关键词检索作答；语义向量生成中（{done}/{total}），完成后自动切换为完整的混合检索。")
    if status["retrieval"] == "partial":
        done, total = job.get("done", 0), job.get("total", 0) or status["pending"]
        return f"新收录的 {status['pending']} 条条文暂按关键词检索，语义向量生成中（{done}/{total}）。"
    if status.get("updating"):
        return "完整模式：关键词 + 语义混合检索。索引正在更新。"
    return "完整模式：关键词 + 语义混合检索。"
