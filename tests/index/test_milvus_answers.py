"""`QA_VECTOR_STORE=milvus`: the seeds answered with the same citations as the default FAISS path,
filtered searches equal, and a serving process following a new generation without a restart."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

if not os.environ.get("CI"):  # CI installs the `milvus` extra (scripts/test.sh): there a missing one fails
    pytest.importorskip("pymilvus")
    pytest.importorskip("milvus_lite")

from qa.models import Filters  # noqa: E402
from support import ROOT  # noqa: E402

CACHE = Path(os.environ.get("QA_TEST_EMBED_CACHE", ROOT / ".cache" / "test-embeddings"))


def _gold(n: int) -> list[str]:
    rows = [json.loads(line) for line in (ROOT / "eval" / "gold.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r["question"] for r in rows][:: max(1, len(rows) // n)][:n]


@pytest.fixture(scope="module")
def milvus_seed(tmp_path_factory, seed_index):  # noqa: ANN001, ANN201
    """The seeds indexed into Milvus Lite (vectors from the shared test embedding cache)."""
    from qa.index.builder import IndexBuilder

    settings = seed_index.with_overrides(
        index_dir=tmp_path_factory.mktemp("milvus-seed") / "index", vector_store="milvus", llm_base_url=""
    )
    report = IndexBuilder(settings, log=lambda m: None).run([settings.seeds_dir], progress=False)
    assert report.store == "milvus" and report.embedded == 0
    return settings


@pytest.fixture(scope="module")
def milvus_assistant(milvus_seed):  # noqa: ANN001, ANN201
    from qa.answer.pipeline import Assistant

    return Assistant(milvus_seed)


def _cited(answer) -> list[tuple[str, str, str]]:  # noqa: ANN001
    return [(c.chunk_id, c.locator, c.quote) for c in answer.citations]


def test_seeds_answered_with_the_same_citations(assistant, milvus_assistant) -> None:  # noqa: ANN001
    from qa.index.milvus import MilvusStore

    assert isinstance(milvus_assistant.retriever.store, MilvusStore)
    questions = _gold(40)
    same = [q for q in questions if _cited(assistant.ask(q)) == _cited(milvus_assistant.ask(q))]
    assert len(same) == len(questions), [q for q in questions if q not in same]
    assert sum(bool(assistant.ask(q).citations) for q in questions) > 30  # the comparison is not of empty answers


@pytest.mark.parametrize(
    "filters",
    [
        Filters(regions=["兰山"]),
        Filters(regions=["招远市"], date_from="2021-01-01"),
        Filters(doc_ids=["招政发〔2022〕8号"]),
        Filters(in_force=True, as_of="2023-06-01"),
        Filters(regions=["周村"], date_to="2019-12-31", in_force=True, as_of="2020-01-01"),
    ],
)
def test_filtered_retrieval_equal(assistant, milvus_assistant, filters: Filters) -> None:  # noqa: ANN001
    f, m = assistant.retriever, milvus_assistant.retriever
    for q in ("申请补贴需要哪些材料", "违反规定如何处罚"):
        fr, mr = f.run(q, k=10, filters=filters), m.run(q, k=10, filters=filters)
        assert [h.chunk.chunk_id for h in mr.hits] == [h.chunk.chunk_id for h in fr.hits]
        mask = f.allowed_mask(fr.filters)
        assert mask is not None and all(mask[f.store.row_of[h.chunk.chunk_id]] for h in mr.hits)


def test_serving_process_follows_a_new_generation(tmp_path, milvus_seed, doc_texts) -> None:  # noqa: ANN001
    """`qa index` elsewhere moves the alias; the next request after the check interval is answered
    from the new generation, without a restart; the previous generation keeps answering meanwhile."""
    from qa.answer.pipeline import Assistant
    from qa.app.service import SharedAssistant
    from qa.index.builder import IndexBuilder

    # a store of its own, so the other tests keep the seed index
    settings = milvus_seed.with_overrides(reload_check_seconds=0.2, index_dir=tmp_path / "index")
    IndexBuilder(settings, log=lambda m: None).run([settings.seeds_dir], progress=False)
    shared = SharedAssistant(Assistant(settings))
    assert shared._reloader is not None
    question = "生活垃圾分类工作领导小组办公室设在哪里"
    corpus = tmp_path / "one-doc"
    corpus.mkdir()
    (corpus / "c.txt").write_text(doc_texts["c.txt"], encoding="utf-8")
    before = shared.retriever.store.generation
    assert len(shared.document_list()) == 79
    report = IndexBuilder(settings, log=lambda m: None).run([corpus], progress=False)  # only that document now
    import time

    time.sleep(0.3)
    answer = shared.ask(question)
    assert shared.retriever.store.generation == report.generation_name != before
    assert len(shared.document_list()) == 1
    assert answer.citations and all(c.doc_title == "关于成立兰山区生活垃圾分类工作领导小组的通知" for c in answer.citations)
