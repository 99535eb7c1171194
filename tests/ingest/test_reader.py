"""Unreadable input is reported per file and never stops the run."""

from __future__ import annotations

import shutil

from qa.config import load_settings
from qa.ingest import ingest_paths


def test_bad_files_are_reported_and_the_rest_ingests(tmp_path, seeds_dir):
    shutil.copy(seeds_dir / "003_4507ffc9cc3e9098.txt", tmp_path / "good.txt")
    (tmp_path / "binary.bin").write_bytes(bytes(range(256)) * 40)
    (tmp_path / "empty.txt").write_bytes(b"")
    text = (seeds_dir / "000_3ea1e19526f9a4bf.txt").read_text(encoding="utf-8")[:3000]
    (tmp_path / "gbk.txt").write_bytes(text.encode("gb18030"))
    utf8 = text.encode("utf-8")
    (tmp_path / "truncated.txt").write_bytes(utf8[: len(utf8) - 1])  # cut inside the last character
    with open(tmp_path / "huge.txt", "wb") as fh:  # 50 MB, sparse
        fh.truncate(50 * 1024 * 1024)
    (tmp_path / "flat.txt").write_text("这是一段没有任何结构的文字，没有标题也没有条款。" * 20, encoding="utf-8")

    result = ingest_paths([tmp_path], load_settings())
    reports = {r.path: r for r in result.reports}
    assert not reports["binary.bin"].ok and "binary" in reports["binary.bin"].message
    assert not reports["empty.txt"].ok and "empty" in reports["empty.txt"].message
    assert not reports["huge.txt"].ok and "too large" in reports["huge.txt"].message
    assert reports["gbk.txt"].ok and reports["gbk.txt"].encoding == "gb18030"
    assert reports["truncated.txt"].ok and reports["truncated.txt"].warnings
    assert reports["flat.txt"].ok and reports["flat.txt"].documents == 1
    assert reports["good.txt"].ok and reports["good.txt"].documents == 16
    gbk_docs = [d for d in result.documents if d.source_file == "gbk.txt"]
    assert any(d.number == "招政发〔2022〕8号" for d in gbk_docs)  # decoded correctly, not mojibake


def test_cli_ingest_show(seeds_dir):
    from typer.testing import CliRunner

    from qa.cli import app

    out = CliRunner().invoke(app, ["ingest", str(seeds_dir), "--show", "招政发〔2022〕8号"])
    assert out.exit_code == 0, out.output
    assert "三、（三）10." in out.output and "招远市人民政府" in out.output
    summary = CliRunner().invoke(app, ["ingest", str(seeds_dir)])
    assert "79 documents" in summary.output
