"""qa index / add / list / remove on a small collection: replace by 发文字号, removal by number or title,
the new policies answerable with the right 发文字号 and article."""

from __future__ import annotations

import json
import shutil
import sys

from typer.testing import CliRunner

from conftest import EMBED_CACHE
from qa.cli import app
from qa.config import load_settings
from qa.embed.e5 import E5Embedder
from qa.index.sentences import missing_sentence_vectors
from qa.index.store import load_index
from support import ROOT


def test_add_replace_remove_and_ask(tmp_path, seeds_dir, monkeypatch):
    sys.path.insert(0, str(ROOT / "scripts"))
    from make_examples import make

    files = {p.suffix: p for p in make(tmp_path / "new")}
    base = tmp_path / "base"
    base.mkdir()
    shutil.copy(seeds_dir / "003_4507ffc9cc3e9098.txt", base)
    idx = tmp_path / "idx"
    monkeypatch.setenv("QA_CACHE_DIR", str(EMBED_CACHE))
    monkeypatch.setenv("QA_LLM_BASE_URL", "")
    run = CliRunner().invoke
    out = run(app, ["index", str(base), "--index-dir", str(idx)])
    assert out.exit_code == 0, out.output
    out = run(app, ["add", *map(str, files.values()), "--index-dir", str(idx)])
    assert out.exit_code == 0, out.output
    # the added policies' sentences are embedded too: qa.manage's last generation after hybrid search
    store = load_index(load_settings(index_dir=idx, cache_dir=EMBED_CACHE))
    assert missing_sentence_vectors(store.chunks, store.documents, E5Embedder(), EMBED_CACHE) == 0
    listed = json.loads(run(app, ["list", "--index-dir", str(idx), "--json"]).output)
    numbers = [r["number"] for r in listed]
    assert {"招政办发〔2023〕15号", "临兰政办发〔2023〕9号", "青政办字〔2023〕21号"} <= set(numbers)
    n = len(listed)
    # the same 发文字号 again, under another name: replaced, not duplicated
    again = tmp_path / "修订版.html"
    shutil.copy(files[".html"], again)
    out = run(app, ["add", str(again), "--index-dir", str(idx)])
    assert "替换" in out.output
    listed = json.loads(run(app, ["list", "--index-dir", str(idx), "--json"]).output)
    assert len(listed) == n and [r["source_file"] for r in listed if r["number"] == "青政办字〔2023〕21号"] == ["修订版.html"]
    # ask: the right 发文字号 and article (the CLI reads QA_INDEX_DIR)
    monkeypatch.setenv("QA_INDEX_DIR", str(idx))
    for q, number, locator in [("加装电梯每台能补贴多少钱？", "招政办发〔2023〕15号", "第五条"),
                               ("兰山区个人创业担保贷款最多能贷多少？", "临兰政办发〔2023〕9号", "第四条"),
                               ("青岛新建公共直流充电桩每千瓦补贴多少钱？", "青政办字〔2023〕21号", "二、（一）")]:
        out = run(app, ["ask", q, "--json"])
        cited = [(c["doc_number"], c["locator"]) for c in json.loads(out.output)["citations"]]
        assert (number, locator) in cited, (q, cited)
    # remove by 发文字号 and by title; a seed document too
    assert run(app, ["remove", "招政办发〔2023〕15号", "--index-dir", str(idx)]).exit_code == 0
    assert run(app, ["remove", "青岛市活禽交易管理办法", "--index-dir", str(idx)]).exit_code == 0
    listed = json.loads(run(app, ["list", "--index-dir", str(idx), "--json"]).output)
    assert len(listed) == n - 2
    assert not {"招政办发〔2023〕15号", "青岛市人民政府令第279号"} & {r["number"] for r in listed}
    assert run(app, ["remove", "没有这个文件", "--index-dir", str(idx)]).exit_code == 2
    # a full re-index keeps the collection as managed
    out = run(app, ["index", "--index-dir", str(idx)])
    assert out.exit_code == 0 and len(json.loads(run(app, ["list", "--index-dir", str(idx), "--json"]).output)) == n - 2
