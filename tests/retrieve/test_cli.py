"""`qa search` output: the human table shows locators, --json is valid JSON of full hit records."""

from __future__ import annotations

import json

import pytest
import typer

from qa.retrieve.cli import search_command

pytestmark = pytest.mark.slow


@pytest.fixture
def env_index(monkeypatch, index_settings):
    monkeypatch.setenv("QA_INDEX_DIR", str(index_settings.index_dir))
    monkeypatch.setenv("QA_CACHE_DIR", str(index_settings.cache_dir))
    monkeypatch.setenv("QA_RERANK", "0")
    return index_settings


def test_table_output_has_rank_document_and_locator(env_index, capsys):
    search_command("在青岛不让卖活禽的地方卖活鸡罚多少", k=3, as_json=False, mode="hybrid", region=None, doc=None)
    out = capsys.readouterr().out
    assert "hybrid: 3 hits" in out
    assert "筛选 / filters: 地区 青岛市" in out
    assert " 1. " in out and " 3. " in out
    assert "《青岛市活禽交易管理办法》（青岛市人民政府令第279号）" in out
    assert "第十四条" in out


def test_json_output_is_full_hit_records(env_index, capsys):
    search_command("没有办狗证会被罚多少钱", k=4, as_json=True, mode="bm25", region="招远", doc=None)
    data = json.loads(capsys.readouterr().out)
    assert data["query"] == "没有办狗证会被罚多少钱"
    assert data["mode"] == "bm25"
    assert data["filters"]["regions"] == ["招远市"]
    assert len(data["hits"]) == 4
    for i, h in enumerate(data["hits"], 1):
        assert h["rank"] == i
        assert h["region"] == "招远市"
        assert h["locator"] and h["doc_title"] and h["text"]
        assert {"chunk_id", "score", "scores", "heading_path", "doc_number", "date", "source_file", "context"} <= set(h)


def test_doc_option_restricts(env_index, capsys):
    search_command("补贴", k=5, as_json=True, mode="hybrid", region=None, doc="招政发〔2022〕8号")
    data = json.loads(capsys.readouterr().out)
    assert data["hits"] and {h["doc_number"] for h in data["hits"]} == {"招政发〔2022〕8号"}


@pytest.mark.parametrize(
    "kw, message",
    [
        ({"region": "火星"}, "unknown region"),
        ({"doc": "不存在〔1999〕1号"}, "no indexed document"),
        ({"mode": "magic"}, "unknown retrieval mode"),
        ({"date_from": "2022/01/01"}, "expects a date"),
    ],
)
def test_bad_options_exit_1_with_message(env_index, capsys, kw, message):
    args = {"query": "补贴", "k": 3, "as_json": False, "mode": "hybrid", "region": None, "doc": None, **kw}
    with pytest.raises(typer.Exit) as exc:
        search_command(**args)
    assert exc.value.exit_code == 1
    assert message in capsys.readouterr().err


def test_date_options_restrict(env_index, capsys):
    search_command("补贴", k=5, as_json=True, mode="hybrid", region=None, doc=None, date_from="2020-01-01", date_to="2020-12-31")
    data = json.loads(capsys.readouterr().out)
    assert data["filters"]["date_from"] == "2020-01-01"
    assert data["hits"] and all("2020-01-01" <= h["date"] <= "2020-12-31" for h in data["hits"])


def test_missing_index_exit_1(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("QA_INDEX_DIR", str(tmp_path / "nothing"))
    with pytest.raises(typer.Exit):
        search_command("补贴", k=3, as_json=False, mode="hybrid", region=None, doc=None)
    assert "qa index" in capsys.readouterr().err
