"""Real `qa serve` processes on loopback ports, over a real index built once per session.

The first server is started on an empty index dir with build_index_if_missing=True, so it
builds the index itself (the `qa serve` first-run path); later servers reuse that index.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from qa.serving import ServeError, ServeProcess, server_env
from support import ROOT

ARTIFACTS = ROOT / "artifacts"
START_TIMEOUT = 420  # seconds: includes building the index on a cold embedding cache
FUNCTIONAL_RATE = "100000"  # requests per client per minute on the shared functional-test servers


class Server(ServeProcess):
    """A started `qa serve` (qa.serving.ServeProcess) and the credentials it was started with."""

    api_key: str = ""
    auth: tuple[str, str] | None = None


def _env(index_dir: Path, **extra: str) -> dict[str, str]:
    # The embedding cache is content-addressed (embedder id + text), so sharing the project's
    # cache is safe and turns the session's index build from minutes of embedding into seconds.
    cache = os.environ.get("QA_TEST_EMBED_CACHE") or str(ROOT / "index" / "cache")
    return server_env(index_dir, cache, **extra)


def start_server(index_dir: Path, log: Path, build: bool, **env: str) -> Server:
    """`qa serve` at log level warning (no access log) on a free port; fails the test if it does not come up."""
    server = Server(_env(index_dir, **env), [] if build else ["--no-build"], log=log, log_level="warning",
                    start_timeout=START_TIMEOUT, poll=0.5)  # fmt: skip
    server.api_key = env.get("QA_API_KEY", "")
    try:
        return server.start()
    except ServeError as exc:
        pytest.fail(str(exc))


def stop_server(server: Server) -> None:
    server.stop()


@pytest.fixture(scope="session")
def app_index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("app-index")


@pytest.fixture(scope="session")
def server(app_index_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Open server (no key, no password); builds the index on first start. Its rate limit is out
    of the way: every functional test asks from 127.0.0.1, and the limits have their own servers
    (test_security.py, test_hostile.py)."""
    s = start_server(app_index_dir, tmp_path_factory.mktemp("logs") / "open.log", build=True,
                     QA_RATE_LIMIT_PER_MINUTE=FUNCTIONAL_RATE)
    yield s
    stop_server(s)


@pytest.fixture(scope="session")
def locked_server(server: Server, app_index_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Same index, with an API key and a chat password; must not rebuild anything."""
    s = start_server(
        app_index_dir,
        tmp_path_factory.mktemp("logs") / "locked.log",
        build=False,
        QA_API_KEY="test-key-123",
        QA_AUTH="reader:pw-456",
        QA_RATE_LIMIT_PER_MINUTE=FUNCTIONAL_RATE,
    )
    s.auth = ("reader", "pw-456")
    yield s
    stop_server(s)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
