"""Start and stop a real `qa serve` on a loopback port: for the tests, `eval/loadtest.py` and `qa bench`.

    with ServeProcess(server_env(index_dir, cache_dir), ["--no-build"], log=path) as server:
        httpx.get(server.url + "/api/health")

* `free_port()`: a loopback port nobody listens on (bound, read, released);
* `server_env()`: the environment a test or benchmark server runs in: none of the caller's QA_*
  settings, offline extractive answers, no Gradio analytics, no Hugging Face downloads, no proxy
  for loopback;
* `ServeProcess`: `python -m qa.cli serve --host 127.0.0.1 --port N …` as a subprocess whose output
  goes to a log file; ready once a probe (default: GET /api/health → 200) succeeds, a clear
  `ServeError` with the log's tail if it exits or times out first; always stopped (SIGINT, uvicorn's
  graceful shutdown, then SIGKILL).

Only the standard library at import time (httpx is imported when a server is started).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Self

from qa.config import ROOT

LOOPBACK = "127.0.0.1"
LOG_TAIL = 4000  # characters of the server log quoted in a ServeError


PORT_ATTEMPTS = 3  # a free port can be taken by another process before the server binds it
_ADDRESS_IN_USE = "address already in use"


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port on `host` that was free a moment ago (another process may take it before you do)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def server_env(index_dir: Path | str, cache_dir: Path | str, **extra: str) -> dict[str, str]:
    """This process's environment without any QA_* variable, for a server on `index_dir`.

    Offline extractive mode (QA_LLM_BASE_URL empty), GRADIO_ANALYTICS_ENABLED=False, HF_HUB_OFFLINE=1,
    unbuffered output, NO_PROXY for loopback; `extra` is applied last and overrides any of these."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    env.update(
        QA_INDEX_DIR=str(index_dir),
        QA_CACHE_DIR=str(cache_dir),
        QA_LLM_BASE_URL="",
        GRADIO_ANALYTICS_ENABLED="False",
        HF_HUB_OFFLINE="1",
        PYTHONUNBUFFERED="1",
        NO_PROXY="127.0.0.1,localhost",
    )
    env.update(extra)
    return env


def health_ok(url: str) -> bool:
    """The default readiness probe: GET <url>/api/health answers 200 (within 2 s)."""
    import httpx

    return httpx.get(url + "/api/health", timeout=2).status_code == 200


def stop_process(proc: subprocess.Popen | None, sig: int = signal.SIGINT, grace: float = 15.0) -> None:
    """Send `sig`, wait up to `grace` seconds, then SIGKILL; a no-op for a process that has ended."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


class ServeError(RuntimeError):
    """`qa serve` exited, or did not become ready in time; the message ends with the log's tail."""


class ServeProcess:
    """A real `qa serve` subprocess on a loopback port; a context manager that always stops it.

    env:       the child's whole environment (see `server_env`); None = this process's.
    args:      further `qa serve` options, e.g. ["--no-build"] or ["--host", "0.0.0.0"].
    host:      passed as --host; None leaves the bind address to the server's default (127.0.0.1).
               Readiness is always probed on 127.0.0.1.
    port:      default: a free loopback port.
    log:       file receiving the server's stdout and stderr; None = an anonymous temporary file.
    log_level: uvicorn's log level. The CLI has no such option, so when set the server is started
               as `python -c "serve_command(...)"` instead of `python -m qa.cli serve` (the only
               `qa serve` option then allowed in `args` is --no-build).
    start_timeout, poll: how long to wait for readiness, and how often to probe.
    ready:     readiness probe on the base URL; httpx errors count as "not yet".
    stop_signal: the first signal `stop()` sends (SIGINT = uvicorn's graceful shutdown).

    `start()` (or `with`) launches the server and waits until it is ready; `launch()` and
    `wait_ready()` are the two halves. A failed start stops the process and raises ServeError.
    """

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        args: Sequence[str] = (),
        *,
        host: str | None = LOOPBACK,
        port: int | None = None,
        log: Path | None = None,
        log_level: str | None = None,
        start_timeout: float = 240.0,
        poll: float = 0.5,
        ready: Callable[[str], bool] = health_ok,
        stop_signal: int = signal.SIGINT,
        cwd: Path = ROOT,
    ) -> None:
        self.env = dict(os.environ if env is None else env)
        self.args = list(args)
        self.host = host
        self._picked_port = port is None
        self.port = port or free_port()
        self.log = log
        self.log_level = log_level
        self.start_timeout = start_timeout
        self.poll = poll
        self.ready = ready
        self.stop_signal = stop_signal
        self.cwd = cwd
        self.proc: subprocess.Popen[bytes] | None = None
        self._fh: IO[bytes] | None = None
        self._captured = b""  # an anonymous log's content, kept when it is closed

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def command(self) -> list[str]:
        """The child's command line."""
        if self.log_level is None:
            host = ["--host", self.host] if self.host else []
            return [sys.executable, "-m", "qa.cli", "serve", *host, "--port", str(self.port), *self.args]
        unknown = [a for a in self.args if a != "--no-build"]
        if unknown:
            raise ValueError(f"with log_level, `qa serve` options other than --no-build are not supported: {unknown}")
        host = repr(self.host) if self.host else "None"
        code = (
            "from qa.app.server import serve_command; "
            f"serve_command(host={host}, port={self.port}, build_index_if_missing={'--no-build' not in self.args}, "
            f"log_level={self.log_level!r})"
        )
        return [sys.executable, "-c", code]

    def launch(self) -> Self:
        """Start the subprocess (without waiting for it)."""
        self._fh = open(self.log, "wb") if self.log is not None else tempfile.TemporaryFile()
        self.proc = subprocess.Popen(self.command(), cwd=self.cwd, env=self.env, stdout=self._fh, stderr=subprocess.STDOUT)
        return self

    def wait_ready(self) -> None:
        """Probe until ready; on exit or timeout stop the server and raise ServeError."""
        import httpx

        assert self.proc is not None, "launch() first"
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.stop()  # closes the log
                raise ServeError(f"qa serve exited with code {self.proc.returncode}; its log ends:\n{self.output()[-LOG_TAIL:]}")
            try:
                if self.ready(self.url):
                    return
            except httpx.HTTPError:
                pass
            time.sleep(self.poll)
        self.stop()
        raise ServeError(f"qa serve not ready within {self.start_timeout:g}s; its log ends:\n{self.output()[-LOG_TAIL:]}")

    def start(self) -> Self:
        """Launch and wait until ready. A port picked here (none given) that another process took between
        `free_port()` and the server's bind ("address already in use") is picked again, PORT_ATTEMPTS times."""
        attempts = 1
        while True:
            self.launch()
            try:
                self.wait_ready()
                return self
            except ServeError:
                if not (self._picked_port and attempts < PORT_ATTEMPTS and _ADDRESS_IN_USE in self.output()):
                    raise
                attempts += 1
                self.port = free_port()

    def output(self) -> str:
        """The server's log so far."""
        if self.log is not None:
            try:
                return self.log.read_text(encoding="utf-8", errors="replace")
            except OSError:
                return ""
        if self._fh is not None and not self._fh.closed:
            self._fh.flush()
            self._fh.seek(0)
            self._captured = self._fh.read()
            self._fh.seek(0, os.SEEK_END)
        return self._captured.decode("utf-8", "replace")

    def stop(self) -> None:
        """Stop the server (`stop_signal`, 15 s, then SIGKILL) and close its log; safe to call twice."""
        stop_process(self.proc, self.stop_signal)
        if self._fh is not None and not self._fh.closed:
            if self.log is None:
                self.output()  # keep what the anonymous log holds
            self._fh.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
