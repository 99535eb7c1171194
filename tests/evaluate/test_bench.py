"""The benchmark's building blocks at small scale: synthetic scaling, the load tester, the docs section."""

from __future__ import annotations

import json

import numpy as np
import pytest

from qa.evaluate.bench import SECTION, load_test, measure_scaling, render_markdown, synthetic_vectors, update_section
from support import LoopbackServer, QuietHandler


def _unit(n: int, dim: int = 384, seed: int = 3) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_synthetic_vectors_keep_base_and_are_unit_norm():
    base = _unit(300)
    x = synthetic_vectors(base, 5000, seed=1)
    assert x.shape == (5000, 384) and x.dtype == np.float32
    assert np.array_equal(x[:300], base)
    assert np.allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-4)
    # jittered rows stay close to a real row (like real embeddings), random rows do not
    assert float((x[300:400] @ base.T).max(axis=1).min()) > 0.5
    r = synthetic_vectors(base, 1000, seed=1, fill="random")
    assert float((r[300:400] @ base.T).max(axis=1).max()) < 0.5
    assert np.array_equal(synthetic_vectors(base, 1000, seed=1), synthetic_vectors(base, 1000, seed=1))
    with pytest.raises(ValueError):
        synthetic_vectors(base[:0], 10)


def test_measure_scaling_small():
    rows = measure_scaling(_unit(500), [2000, 5000], queries=40, hnsw_min=5000)
    assert [(r.n, r.kind) for r in rows] == [(2000, "flat"), (5000, "flat"), (5000, "hnsw")]
    flat5k, hnsw5k = rows[1], rows[2]
    assert flat5k.vectors_mb == pytest.approx(5000 * 384 * 4 / 2**20)
    assert flat5k.memory_mb > 0.5 * flat5k.vectors_mb  # the flat index holds a copy of the vectors
    assert all(r.search_p50_ms > 0 and r.search_p95_ms >= r.search_p50_ms for r in rows)
    assert rows[0].recall_at_10 is None and flat5k.recall_at_10 is None
    assert 0.9 <= hnsw5k.recall_at_10 <= 1.0


class _Handler(QuietHandler):
    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        ok = self.path == "/api/ask" and "question" in body
        self.send(200 if ok else 404, json.dumps({"answer": "x"}).encode())


def test_load_test_against_a_loopback_server():
    with LoopbackServer(_Handler) as server:
        res = load_test(server.url, ["问题一", "问题二"], clients=3, duration=0.6, timeout=5)
    assert res["clients"] == 3
    assert res["ok"] == res["requests"] > 3
    assert res["qps"] > 0 and res["latency_ms"]["n"] == res["ok"]
    assert res["seconds"] >= 0.6


def test_update_section_replaces_only_its_own_section(tmp_path):
    doc = tmp_path / "BENCHMARKS.md"
    doc.write_text("# Benchmarks\n\n## Retrieval\n\nR@5 = 0.9\n\n## System benchmarks\n\nold numbers\n\n## Later\n\nkeep\n", encoding="utf-8")
    rows = [r.__dict__ for r in measure_scaling(_unit(200), [1000], queries=5)]
    md = render_markdown({"command": "qa bench", "date": "2024-01-01", "machine": "test",
                          "scaling": {"dim": 384, "base": 200, "queries": 5, "fill": "jitter", "rows": rows}})
    assert md.startswith(SECTION) and "| 1,000 | flat |" in md
    update_section(doc, md)
    text = doc.read_text(encoding="utf-8")
    assert "R@5 = 0.9" in text and "keep" in text and "old numbers" not in text
    assert text.index("## Retrieval") < text.index(SECTION) < text.index("## Later")
    update_section(doc, md)  # idempotent
    assert doc.read_text(encoding="utf-8") == text
    new = tmp_path / "new.md"
    update_section(new, md)
    assert new.read_text(encoding="utf-8").startswith("# Benchmarks\n\n" + SECTION)
