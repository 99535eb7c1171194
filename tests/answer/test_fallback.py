"""A broken LLM configuration never costs the person an answer: the Assistant falls back
to the offline extractive answer, says so in `answer.notice`, and keeps its citations.

Real pieces only: the real seed index (session fixture), real Assistants in LLM mode, and
small OpenAI-compatible servers on 127.0.0.1 that misbehave on purpose (closed port,
sleeping past the timeout, malformed / non-streaming / error replies). One well-behaved
canned server proves the same setup does produce LLM answers, so the fallbacks are not vacuous.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from qa.answer.pipeline import Assistant
from qa.config import load_settings
from qa.models import Answer
from qa.serving import free_port
from support import JSON, SSE, SSE_DONE, FakeOpenAI, Reply, completion, sse_chunk

pytestmark = pytest.mark.slow  # uses the session seed index

SECRET = "sk-fallback-SECRET-5e1f0c2b9a"
SLOW_SECONDS = 8.0
CANDIDATES = [  # the first of these the offline assistant answers is used (no hard-coded result)
    "新上黄金深加工项目，设备投资能补多少？",
    "招远市对新引进的生物医药企业有什么扶持？",
    "兰山区政府投资项目变更要走什么程序？",
    "我家狗要办证吗？",
    "在禁止区域卖活禽会被罚多少钱？",
]


def _slow(payload: dict) -> Reply:
    time.sleep(SLOW_SECONDS)
    return 200, sse_chunk("太慢了") + SSE_DONE, SSE


# OpenAI-compatible endpoint whose behaviour is the first path segment: /<mode>/v1/chat/completions.
MISBEHAVING = {
    "ok": (200, sse_chunk("根据文件规定，") + sse_chunk("可以获得扶持[1]。") + SSE_DONE, SSE),
    "slow": _slow,
    "malformed": (200, b'data: {"choices": [{"delta": {"content": "unterminated\n\n', SSE),
    # a few tokens, then garbage: the partial LLM text must not survive
    "midstream": (200, sse_chunk("半句未完的模型回答") + b"data: {oops}\n\n", SSE),
    "nonstream": (200, completion("补助12%[1]。"), JSON),  # ignores stream=true and sends one JSON completion
    # echoes the key back, as some servers do
    "error": (500, json.dumps({"error": {"message": f"Incorrect API key provided: {SECRET}"}}).encode(), JSON),
}


@pytest.fixture(scope="module")
def fake_llm() -> Iterator[str]:
    with FakeOpenAI(MISBEHAVING) as server:
        yield server.url


@pytest.fixture(scope="module")
def baseline(assistant) -> Answer:  # noqa: ANN001
    """The offline answer to the first candidate question the seed index answers."""
    for q in CANDIDATES:
        a = assistant.ask(q)
        if not a.refused and a.citations:
            return a
    pytest.fail(f"the offline assistant answers none of {CANDIDATES}")


def llm_assistant(assistant, url: str, **kw: object) -> Assistant:  # noqa: ANN001
    """An LLM-mode Assistant over the already-loaded seed index."""
    opts: dict[str, object] = dict(llm_base_url=url, llm_model="m", llm_api_key=SECRET, llm_timeout=1.0)
    opts.update(kw)
    s = assistant.settings.with_overrides(**opts)
    return Assistant(s, retriever=assistant.retriever)


def assert_fell_back(answer: Answer, baseline: Answer, *words: str) -> None:
    assert answer.mode == "extractive", answer.mode
    assert answer.notice and "离线摘录" in answer.notice, answer.notice
    for w in words:
        assert w in answer.notice, (w, answer.notice)
    assert SECRET not in answer.notice and SECRET not in answer.text
    assert not answer.refused
    assert answer.text == baseline.text  # exactly the offline answer …
    assert [c.chunk_id for c in answer.citations] == [c.chunk_id for c in baseline.citations]  # … with its citations
    assert answer.citations and all(f"[{c.marker}]" in answer.text for c in answer.citations)


def test_canned_llm_answers_in_llm_mode(assistant, fake_llm, baseline) -> None:  # noqa: ANN001
    a = llm_assistant(assistant, f"{fake_llm}/ok/v1").ask(baseline.question)
    assert a.mode == "llm" and a.notice is None and not a.refused
    assert a.citations and a.citations[0].chunk_id in {h.chunk_id for h in a.hits}


@pytest.mark.parametrize(
    ("mode", "words"),
    [("malformed", ["格式错误"]), ("midstream", ["格式错误"]), ("nonstream", ["空回答"]), ("error", ["HTTP 500"]),
     ("missing", ["HTTP 404"])],
)  # fmt: skip
def test_bad_llm_replies_fall_back(assistant, fake_llm, baseline, mode: str, words: list[str]) -> None:  # noqa: ANN001
    t0 = time.monotonic()
    a = llm_assistant(assistant, f"{fake_llm}/{mode}/v1").ask(baseline.question)
    assert_fell_back(a, baseline, *words)
    assert "半句未完" not in a.text
    assert time.monotonic() - t0 < 15


def test_unreachable_endpoint_falls_back_quickly(assistant, baseline) -> None:  # noqa: ANN001
    url = f"http://user:{SECRET}@127.0.0.1:{free_port()}/v1"  # nothing listens there
    t0 = time.monotonic()
    a = llm_assistant(assistant, url).ask(baseline.question)
    assert_fell_back(a, baseline, "无法连接")
    assert "user" not in a.notice  # userinfo is stripped from the shown URL
    assert time.monotonic() - t0 < 10


def test_timeout_falls_back_before_the_slow_reply(assistant, fake_llm, baseline) -> None:  # noqa: ANN001
    t0 = time.monotonic()
    a = llm_assistant(assistant, f"{fake_llm}/slow/v1", llm_timeout=1.0).ask(baseline.question)
    elapsed = time.monotonic() - t0
    assert_fell_back(a, baseline, "超时")
    assert elapsed < SLOW_SECONDS - 1, elapsed  # did not wait for the server (1 s timeout, one retry)


def test_stream_falls_back_and_ends_with_the_offline_answer(assistant, fake_llm, baseline) -> None:  # noqa: ANN001
    items = list(llm_assistant(assistant, f"{fake_llm}/midstream/v1").stream(baseline.question))
    final = items[-1]
    assert isinstance(final, Answer) and all(isinstance(x, str) for x in items[:-1])
    assert_fell_back(final, baseline, "格式错误")
    assert baseline.text in "".join(items[:-1])  # the offline answer was streamed after the failure


def test_followup_with_llm_down_uses_the_rule_based_rewrite(assistant, baseline) -> None:  # noqa: ANN001
    history = [{"role": "user", "content": baseline.question}, {"role": "assistant", "content": baseline.text}]
    offline = assistant.ask("那青岛呢？", history=history)
    a = llm_assistant(assistant, f"http://127.0.0.1:{free_port()}/v1").ask("那青岛呢？", history=history)
    assert a.standalone_question == offline.standalone_question != "那青岛呢？"
    assert a.text == offline.text and a.refused == offline.refused
    if not a.refused:  # the LLM is only asked to answer when there is something to answer
        assert a.mode == "extractive" and a.notice and "离线摘录" in a.notice


@pytest.mark.parametrize("url", ["not a url", "ftp://127.0.0.1/v1", f"http://u:{SECRET}@127.0.0.1:abc/v1", "http://"])
def test_malformed_base_url_answers_offline(assistant, baseline, monkeypatch, url: str) -> None:  # noqa: ANN001
    # through the real configuration path: QA_LLM_BASE_URL in the environment
    monkeypatch.setenv("QA_LLM_BASE_URL", url)
    monkeypatch.setenv("QA_LLM_API_KEY", SECRET)
    settings = load_settings(index_dir=assistant.settings.index_dir, cache_dir=assistant.settings.cache_dir)
    assert settings.llm_base_url == url
    a = Assistant(settings, retriever=assistant.retriever)
    assert a.generator is None and a.mode == "extractive"
    assert "离线" in a.describe_mode()
    answer = a.ask(baseline.question)
    assert answer.notice and "大模型配置无效" in answer.notice and "离线摘录" in answer.notice
    assert SECRET not in answer.notice
    assert answer.text == baseline.text and [c.chunk_id for c in answer.citations] == [c.chunk_id for c in baseline.citations]
