"""Real `qa serve` processes on loopback ports, over a real index built once per session.

The first server is started on an empty index dir with build_index_if_missing=True, so it
builds the index itself (the `qa serve` first-run path); later servers reuse that index.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
START_TIMEOUT = 420  # seconds: includes building the index on a cold embedding cache
FUNCTIONAL_RATE = "100000"  # requests per client per minute on the shared functional-test servers


@dataclass
class Server:
    url: str
    proc: subprocess.Popen
    log: Path
    api_key: str = ""
    auth: tuple[str, str] | None = None

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-4000:]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(index_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    env.update(
        QA_INDEX_DIR=str(index_dir),
        QA_LLM_BASE_URL="",  # offline extractive mode: deterministic and no network
        GRADIO_ANALYTICS_ENABLED="False",
        HF_HUB_OFFLINE="1",
        PYTHONUNBUFFERED="1",
        NO_PROXY="127.0.0.1,localhost",
    )
    # The embedding cache is content-addressed (embedder id + text), so sharing the project's
    # cache is safe and turns the session's index build from minutes of embedding into seconds.
    env["QA_CACHE_DIR"] = os.environ.get("QA_TEST_EMBED_CACHE") or str(ROOT / "index" / "cache")
    env.update(extra)
    return env


def start_server(index_dir: Path, log: Path, build: bool, **env: str) -> Server:
    port = _free_port()
    code = (
        "from qa.app.server import serve_command; "
        f"serve_command(host='127.0.0.1', port={port}, build_index_if_missing={build}, log_level='warning')"
    )
    fh = open(log, "w", encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=_env(index_dir, **env), stdout=fh, stderr=subprocess.STDOUT)
    server = Server(url=f"http://127.0.0.1:{port}", proc=proc, log=log, api_key=env.get("QA_API_KEY", ""))
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"server exited with {proc.returncode}:\n{server.output()}")
        try:
            if httpx.get(server.url + "/api/health", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    stop_server(server)
    pytest.fail(f"server did not become healthy in {START_TIMEOUT}s:\n{server.output()}")


def stop_server(server: Server) -> None:
    if server.proc.poll() is None:
        server.proc.send_signal(signal.SIGINT)  # uvicorn's graceful shutdown
        try:
            server.proc.wait(15)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait(5)


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
