"""Measure the first run: `qa serve` on a fresh machine state (no index, empty embedding cache).

Prints seconds until the server is healthy, until the chat answers a question with a citation
(keyword search), until the vectors are ready (hybrid retrieval), and until the generation with the
sentence vectors is live (qa.index.sentences). Run from the repo root:

    python eval/first_run.py [--question "我家狗要办证吗？"] [--timeout 1800]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from qa.serving import free_port  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--question", default="我家狗要办证吗？")
    ap.add_argument("--timeout", type=float, default=1800)
    args = ap.parse_args()
    port = free_port()
    tmp = Path(tempfile.mkdtemp(prefix="qa-first-run-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    env.update(QA_INDEX_DIR=str(tmp / "index"), QA_CACHE_DIR=str(tmp / "index" / "cache"), QA_LLM_BASE_URL="",
               GRADIO_ANALYTICS_ENABLED="False", PYTHONPATH=str(ROOT))
    url = f"http://127.0.0.1:{port}"
    t0 = time.monotonic()
    log = open(tmp / "serve.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "qa.cli", "serve", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    marks: dict[str, float] = {}
    try:
        while time.monotonic() - t0 < args.timeout and proc.poll() is None:
            try:
                if "healthy" not in marks and httpx.get(url + "/api/health", timeout=5).status_code == 200:
                    marks["healthy"] = time.monotonic() - t0
                if "healthy" in marks and "answer" not in marks:
                    r = httpx.post(url + "/api/ask", json={"question": args.question, "with_hits": False}, timeout=60)
                    if r.status_code == 200 and r.json()["citations"]:
                        marks["answer"] = time.monotonic() - t0
                        print(f"first answer: {r.json()['citations'][0]['doc_number']} {r.json()['citations'][0]['locator']}")
                if "answer" in marks:
                    h = httpx.get(url + "/api/health", timeout=5).json()
                    pending = int(h["index"].get("dense_pending") or 0)
                    if pending == 0 and "hybrid" not in marks:
                        marks["hybrid"] = time.monotonic() - t0
                    if "hybrid" in marks and not int(h["index"].get("sentences_pending") or 0):
                        marks["sentences"] = time.monotonic() - t0  # the last generation: sentence vectors too
                        break
            except httpx.HTTPError:
                pass
            time.sleep(1)
    finally:
        proc.terminate()
        proc.wait(30)
    for k, v in marks.items():
        print(f"{k:8} {v:7.1f} s")
    return 0 if "sentences" in marks else 1


if __name__ == "__main__":
    raise SystemExit(main())
