"""Reloader: when a serving process checks for a new generation, and what it does on failure."""

from __future__ import annotations

from types import SimpleNamespace

from qa.index.watch import Reloader, loaded_generation


def _assistant(gen: str) -> SimpleNamespace:
    return SimpleNamespace(retriever=SimpleNamespace(store=SimpleNamespace(generation=gen)))


class Backend:
    name = "fake"

    def __init__(self) -> None:
        self.live = "g1"
        self.checks = 0

    def live_generation(self) -> str:
        self.checks += 1
        return self.live


def test_checks_at_most_every_interval_and_swaps_on_change() -> None:
    now = [0.0]
    backend = Backend()
    loads: list[str] = []

    def load() -> SimpleNamespace:
        loads.append(backend.live)
        return _assistant(backend.live)

    r = Reloader(backend, load, every=5.0, clock=lambda: now[0])
    a = _assistant("g1")
    assert r.current(a) is a and backend.checks == 0  # within the interval: not even a check
    now[0] = 5.0
    assert r.current(a) is a and backend.checks == 1 and loads == []  # unchanged: nothing loaded
    backend.live = "g2"
    now[0] = 7.0
    assert r.current(a) is a and backend.checks == 1  # changed, but not yet time to look
    now[0] = 10.0
    b = r.current(a)
    assert loaded_generation(b) == "g2" and loads == ["g2"] and r.reloads == 1


def test_failed_load_keeps_serving_the_old_generation() -> None:
    now = [0.0]
    backend = Backend()
    backend.live = "g2"

    def load() -> SimpleNamespace:
        raise RuntimeError("collection not loaded yet")

    r = Reloader(backend, load, every=1.0, clock=lambda: now[0])
    a = _assistant("g1")
    now[0] = 1.0
    assert r.current(a) is a and "collection not loaded yet" in r.last_error
    now[0] = 2.0
    r.load = lambda: _assistant("g2")
    assert loaded_generation(r.current(a)) == "g2" and r.last_error == ""


def test_no_reloader_without_a_loaded_generation_or_with_checking_off() -> None:
    settings = SimpleNamespace(reload_check_seconds=0, vector_store="faiss", index_dir="/nonexistent")
    a = _assistant("gen-x")
    a.settings = settings
    assert Reloader.for_assistant(a) is None
    a.settings = SimpleNamespace(reload_check_seconds=5, vector_store="faiss", index_dir="/nonexistent")
    assert Reloader.for_assistant(a) is not None
    assert Reloader.for_assistant(SimpleNamespace(settings=a.settings)) is None  # a fake without a store
