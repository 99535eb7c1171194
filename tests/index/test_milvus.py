"""The Milvus store on a real Milvus Lite: same content and results as the FAISS files, filters as
Milvus expressions, atomic generations behind an alias, clear errors, one process per Lite file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

if not os.environ.get("CI"):  # CI installs the `milvus` extra (scripts/test.sh): there a missing one fails
    pytest.importorskip("pymilvus")
    pytest.importorskip("milvus_lite")

from qa.index import IndexBuilder, IndexMismatch, IndexMissing, IndexStore  # noqa: E402
from qa.index.base import Selection, store_backend  # noqa: E402
from qa.index.milvus import MilvusBackend, MilvusStore, StoreUnavailable, selection_expr  # noqa: E402
from qa.serving import free_port  # noqa: E402
from support import ROOT  # noqa: E402

CACHE = Path(os.environ.get("QA_TEST_EMBED_CACHE", ROOT / ".cache" / "test-embeddings"))
QUERIES = ["投资强度达到280万元/亩以上的补助比例", "水库移民每年进行几次人口核查", "骗取专项扶持资金如何处理", "生活垃圾分类领导小组办公室设在哪里"]


def _corpus(base: Path, doc_texts: dict[str, str], names: tuple[str, ...]) -> Path:
    corpus = base / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    for old in corpus.iterdir():
        old.unlink()
    for name in names:
        (corpus / name).write_text(doc_texts[name], encoding="utf-8")
    return corpus


@pytest.fixture(scope="module")
def pair(tmp_path_factory, doc_texts, e5, make_settings):  # noqa: ANN001, ANN201
    """The same three documents indexed into FAISS files and into Milvus Lite."""
    base = tmp_path_factory.mktemp("pair")
    corpus = _corpus(base, doc_texts, ("a.txt", "b.txt", "c.txt"))
    faiss_settings = make_settings(base / "f", cache_dir=CACHE)
    milvus_settings = make_settings(base / "m", cache_dir=CACHE, vector_store="milvus")
    IndexBuilder(faiss_settings, embedder=e5, log=lambda m: None).run([corpus], progress=False)
    report = IndexBuilder(milvus_settings, embedder=e5, log=lambda m: None).run([corpus], progress=False)
    return {
        "faiss": IndexStore.load(faiss_settings.index_dir),
        "milvus": store_backend(milvus_settings).load(expected_embedder_id=e5.id),
        "report": report,
        "settings": milvus_settings,
    }


def test_milvus_holds_the_same_index(pair) -> None:  # noqa: ANN001
    f, m = pair["faiss"], pair["milvus"]
    assert isinstance(m, MilvusStore) and pair["report"].store == "milvus"
    assert pair["report"].generation is None and m.generation == pair["report"].generation_name
    assert (Path(pair["settings"].index_dir) / "milvus.db").is_dir()  # the default: a Lite file in index_dir
    assert [c.to_dict() for c in m.chunks] == [c.to_dict() for c in f.chunks]
    assert [d.to_dict() for d in m.documents] == [d.to_dict() for d in f.documents]
    assert m.manifest["corpus_hash"] == f.manifest["corpus_hash"] and m.manifest["store"] == "milvus"
    rows = [0, len(f.chunks) // 2, len(f.chunks) - 1]
    assert np.allclose(m.dense.vectors(rows), f.dense.vectors(rows), atol=1e-6)


def test_search_results_equal_faiss(pair, e5) -> None:  # noqa: ANN001
    f, m = pair["faiss"], pair["milvus"]
    for q in QUERIES:
        v = e5.embed_query_vec(q)
        fi, fs = f.dense.retrieve(v, k=8)
        mi, ms = m.dense.retrieve(v, k=8)
        assert mi.tolist() == fi.tolist() and np.allclose(ms, fs, atol=1e-5)
        assert np.array_equal(m.bm25.scores(q), f.bm25.scores(q))


@pytest.mark.parametrize(
    "selection",
    [
        Selection(regions=("淄博市周村区",)),
        Selection(regions=("招远市", "临沂市兰山区")),
        Selection(date_from="2021-01-01"),
        Selection(date_to="2020-12-31"),
        Selection(doc_ids=()),
    ],
)
def test_filters_run_in_milvus(pair, e5, selection: Selection) -> None:  # noqa: ANN001
    f, m = pair["faiss"], pair["milvus"]
    docs = f.doc_by_id

    def ok(c) -> bool:  # noqa: ANN001 - the meaning of a Selection, written out
        d = docs[c.doc_id]
        if selection.doc_ids is not None and c.doc_id not in selection.doc_ids:
            return False
        if selection.regions and d.region not in selection.regions:
            return False
        if selection.date_from or selection.date_to:
            return bool(d.date) and (selection.date_from or "") <= d.date <= (selection.date_to or "9999")
        return True

    mask = np.array([ok(c) for c in f.chunks])
    v = e5.embed_query_vec(QUERIES[0])
    # the expression alone (no mask) must restrict Milvus's search: this is what runs inside Milvus
    mi, _ = m.dense.retrieve(v, k=10, selection=selection)
    fi, _ = f.dense.retrieve(v, k=10, allowed=mask)
    assert mi.tolist() == fi.tolist()
    assert all(mask[i] for i in mi)
    if selection.doc_ids == ():
        assert mi.size == 0
    else:
        assert mi.size == min(10, int(mask.sum())) > 0


def test_selection_expressions() -> None:
    assert selection_expr(None) == selection_expr(Selection()) == ""
    assert selection_expr(Selection(doc_ids=())) == "row < 0"
    e = selection_expr(Selection(regions=('兰山"区',), doc_ids=("d1",), date_from="2020-01-01"))
    assert e == 'doc_id in ["d1"] and region in ["兰山\\"区"] and date != "" and date >= "2020-01-01"'


def test_generations_swap_atomically_and_old_ones_are_dropped(tmp_path, doc_texts, e5, make_settings) -> None:  # noqa: ANN001
    settings = make_settings(tmp_path, cache_dir=CACHE, vector_store="milvus")
    backend = store_backend(settings)
    assert backend.live_generation() is None
    with pytest.raises(IndexMissing, match="QA_VECTOR_STORE=milvus qa index"):
        backend.load()
    builder = IndexBuilder(settings, embedder=e5, log=lambda m: None)
    gens = []
    for names in (("c.txt",), ("c.txt", "b.txt"), ("c.txt",)):
        r = builder.run([_corpus(tmp_path, doc_texts, names)], progress=False)
        assert backend.live_generation() == r.generation_name
        store = backend.load(expected_embedder_id=e5.id)
        assert store.generation == r.generation_name and len(store.documents) == len(names)
        gens.append(r.generation_name)
    assert r.embedded == 0 and r.reused == r.chunks  # the embedding cache serves the Milvus path too
    ours = sorted(n for n in backend.client.list_collections() if n.startswith("policy_qa_"))
    # the live generation and the one before it (replicas may still read it); the first one is gone
    assert ours == sorted([gens[1], gens[1] + "_docs", gens[2], gens[2] + "_docs"])
    with pytest.raises(IndexMismatch, match="another embedder|另一个嵌入模型"):
        backend.load(expected_embedder_id="another-model")


def test_lite_file_is_one_process_only(pair) -> None:  # noqa: ANN001
    """Milvus Lite locks its data directory: a second process gets a clear error, not a hang."""
    code = (
        "from qa.config import load_settings; from qa.index.base import store_backend\n"
        "from qa.index.milvus import StoreUnavailable\n"
        "try:\n    store_backend(load_settings()).live_generation()\n"
        "except StoreUnavailable as e:\n    print('REFUSED', e)\n"
    )
    env = dict(os.environ, QA_VECTOR_STORE="milvus", QA_INDEX_DIR=str(pair["settings"].index_dir), PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert "REFUSED" in out.stdout, out.stderr[-800:]
    assert "one process only" in out.stdout and "QA_MILVUS_URI=http://host:19530" in out.stdout


def test_unreachable_server_is_a_clear_error(tmp_path, make_settings) -> None:  # noqa: ANN001
    port = free_port()
    settings = make_settings(tmp_path, vector_store="milvus", milvus_uri=f"http://127.0.0.1:{port}")
    backend = MilvusBackend.from_settings(settings)
    with pytest.raises(StoreUnavailable, match="无法连接 Milvus|cannot open Milvus"):
        backend.live_generation()


def test_default_path_does_not_import_pymilvus() -> None:
    """The FAISS default stays as light as before: Milvus is imported only when configured."""
    code = (
        "import sys\n"
        "from qa.config import load_settings\n"
        "from qa.index.base import store_backend\n"
        "import qa.index.builder, qa.retrieve.hybrid, qa.app.service, qa.index.watch\n"
        "b = store_backend(load_settings())\n"
        "print(b.name, 'pymilvus' in sys.modules, 'milvus_lite' in sys.modules)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("QA_VECTOR_STORE", None)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == ["faiss", "False", "False"], out.stderr[-800:]
