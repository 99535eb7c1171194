"""`qa bench --stores`: the scaling comparison runs on real FAISS and a real Milvus Lite and renders."""

from __future__ import annotations

import os

import numpy as np
import pytest

if not os.environ.get("CI"):  # CI installs the `milvus` extra (scripts/test.sh)
    pytest.importorskip("pymilvus")
    pytest.importorskip("milvus_lite")

from qa.evaluate.bench_store import SECTION, measure_store_scaling, render_markdown  # noqa: E402


def test_scaling_rows_for_both_stores(tmp_path) -> None:  # noqa: ANN001
    rng = np.random.default_rng(0)
    base = rng.standard_normal((40, 16)).astype(np.float32)
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    rows = measure_store_scaling(base, [3000], tmp_path, queries=20, hnsw_min=1000, hnsw_max=None)
    assert [(r.store, r.kind) for r in rows] == [("faiss", "flat"), ("faiss", "hnsw"), ("milvus-lite", "flat"), ("milvus-lite", "hnsw")]
    milvus_flat = rows[2]
    assert milvus_flat.recall_at_10 == 1.0  # exact search in Milvus finds what exact FAISS finds
    assert all(r.search_p50_ms > 0 and r.filtered_p50_ms > 0 for r in rows)
    assert milvus_flat.insert_s > 0 and not any(tmp_path.glob("scale-*.db"))  # Lite files removed afterwards
    md = render_markdown({"command": "qa bench --stores faiss", "date": "d", "machine": "m",
                          "scaling": {"dim": 16, "queries": 20, "rows": [r.__dict__ for r in rows]}})
    assert md.startswith(SECTION) and "| milvus-lite | 3,000 | flat |" in md
