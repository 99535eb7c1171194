"""Serving processes follow the live index without a restart.

`qa index` (run anywhere against the same store) makes a new generation live: a new CURRENT
pointer in the index dir, or the Milvus alias moved to a new collection. A serving process holds
the generation it loaded; `Reloader.current(assistant)` checks at most every `every` seconds
whether the live generation changed and, if so, loads a fresh assistant and returns it. Requests
keep being answered by the old one while the new one loads (only one thread loads; the others
do not wait), so replicas behind a load balancer switch within `every` seconds plus a load.

A failed load (a half-written index, Milvus briefly unreachable) keeps the old assistant and is
retried at the next check: answering from the previous generation beats answering nothing.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from qa.index.base import StoreBackend, store_backend

log = logging.getLogger("qa.index.watch")


def loaded_generation(assistant: Any) -> str:
    """The generation an Assistant's retriever loaded ('' when it does not say)."""
    store = getattr(getattr(assistant, "retriever", None), "store", None)
    return str(getattr(store, "generation", "") or "")


class Reloader:
    """Polls the store for a new live generation and swaps in a freshly loaded assistant."""

    def __init__(
        self,
        backend: StoreBackend,
        load: Callable[[], Any],
        every: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.backend = backend
        self.load = load
        self.every = every
        self.clock = clock
        self._next = clock() + every
        self._busy = threading.Lock()
        self.reloads = 0
        self.last_error = ""

    @classmethod
    def for_assistant(cls, assistant: Any) -> "Reloader | None":
        """A Reloader for an Assistant built from settings (None when checking is off or impossible)."""
        settings = getattr(assistant, "settings", None)
        every = float(getattr(settings, "reload_check_seconds", 0) or 0)
        if settings is None or every <= 0 or not loaded_generation(assistant):
            return None
        factory = type(assistant)
        return cls(store_backend(settings), lambda: factory(settings), every)

    def current(self, assistant: Any, force: bool = False) -> Any:
        """`assistant`, or a freshly loaded one when the live generation is another (`force`: check
        now, whenever the last check was: a server that made the new generation itself knows)."""
        now = self.clock()
        if (now < self._next and not force) or not self._busy.acquire(blocking=False):
            return assistant
        try:
            self._next = now + self.every
            live = self.backend.live_generation()
            if not live or live == loaded_generation(assistant):
                return assistant
            fresh = self.load()
            self.reloads += 1
            self.last_error = ""
            log.warning("索引已更新，已重新加载 / index changed: now serving generation %s", loaded_generation(fresh))
            return fresh
        except Exception as exc:  # noqa: BLE001 - see the module doc: keep serving the old generation
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.warning("重新加载索引失败，继续使用旧索引 / reload failed, keeping the loaded index: %s", self.last_error)
            return assistant
        finally:
            self._busy.release()
