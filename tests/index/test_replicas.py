"""Two `qa serve` replicas on one Milvus: a document indexed by `qa index` is answered by both
without a restart.

Milvus Lite cannot share its file between processes (test_milvus.py shows the refusal), so the
shared store here is Milvus Lite's own gRPC server (`python -m milvus_lite server`), reached over
http://127.0.0.1:PORT exactly as a Milvus server or cluster would be: same pymilvus calls, same
QA_MILVUS_URI. What this does not test: a real Milvus standalone/cluster (its consistency levels,
its segment loading), which cannot be installed on this machine.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

if not os.environ.get("CI"):  # CI installs the `milvus` extra (scripts/test.sh): there a missing one fails
    pytest.importorskip("pymilvus")
    pytest.importorskip("milvus_lite")

from qa.evaluate.bench import bench_server  # noqa: E402
from qa.evaluate.bench_store import MilvusLiteServer  # noqa: E402
from qa.index.builder import IndexBuilder  # noqa: E402
from support import ROOT  # noqa: E402

pytestmark = pytest.mark.slow
CACHE = Path(os.environ.get("QA_TEST_EMBED_CACHE", ROOT / ".cache" / "test-embeddings"))
QUESTION = "兰山区生活垃圾分类工作领导小组办公室设在哪里？"
NEW_DOC = "关于成立兰山区生活垃圾分类工作领导小组的通知"


@pytest.fixture()
def milvus_server(tmp_path: Path):  # noqa: ANN201
    with MilvusLiteServer(tmp_path / "milvus-data", log=tmp_path / "milvus.log") as server:
        yield server.uri


def _ask(url: str) -> dict:
    r = httpx.post(url + "/api/ask", json={"question": QUESTION}, timeout=120)
    assert r.status_code == 200, r.text[:300]
    return r.json()


def _titles(answer: dict) -> set[str]:
    return {c["doc_title"] for c in answer.get("citations", [])}


def test_two_replicas_follow_one_milvus(tmp_path: Path, milvus_server: str, doc_texts, make_settings) -> None:  # noqa: ANN001
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("a.txt", "b.txt"):
        (corpus / name).write_text(doc_texts[name], encoding="utf-8")
    settings = make_settings(
        tmp_path, cache_dir=CACHE, vector_store="milvus", milvus_uri=milvus_server, reload_check_seconds=1.0, llm_base_url=""
    )
    first = IndexBuilder(settings, log=lambda m: None).run([corpus], progress=False)
    with bench_server(settings) as one, bench_server(settings) as two:
        for replica in (one, two):
            health = httpx.get(replica.url + "/api/health", timeout=30).json()
            assert NEW_DOC not in _titles(_ask(replica.url)), health
        # a document added: `qa index` against the same Milvus, from outside both replicas
        (corpus / "c.txt").write_text(doc_texts["c.txt"], encoding="utf-8")
        env = dict(os.environ, PYTHONPATH=str(ROOT), QA_VECTOR_STORE="milvus", QA_MILVUS_URI=milvus_server,
                   QA_INDEX_DIR=str(settings.index_dir), QA_CACHE_DIR=str(CACHE))
        out = subprocess.run([sys.executable, "-m", "qa.cli", "index", str(corpus)], env=env, capture_output=True,
                             text=True, timeout=300, cwd=str(ROOT))
        assert out.returncode == 0 and "3 documents" in out.stdout, out.stderr[-1500:]
        time.sleep(1.5)  # past both replicas' check interval
        for replica in (two, one):
            answer = _ask(replica.url)
            assert NEW_DOC in _titles(answer), answer.get("answer", "")[:300]
            assert replica.proc is not None and replica.proc.poll() is None  # the same process: no restart
            docs = httpx.get(replica.url + "/api/documents", timeout=30).json()
            assert len(docs["documents"]) == 3
    assert first.generation_name not in out.stdout  # a new generation was made live
