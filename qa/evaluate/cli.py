"""Entry points behind `qa eval` and `qa bench` (qa/cli.py only parses options and calls these).

Both return a process exit code: 0 ok, 1 the gold file has problems,
2 bad options or a missing index.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa.config import Settings, load_settings

if TYPE_CHECKING:
    from qa.evaluate.gold import GoldItem
    from qa.evaluate.importer import GoldImport

DEFAULT_REPORTS = Path("eval") / "reports"


def _err(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def eval_command(
    gold: Path | None,
    out: Path | None,
    configs: list[str] | None,
    llm: str | None,
    check: Path | None,
    limit: int | None,
    settings: Settings | None = None,
    progress: bool = True,
    baseline: bool = True,
) -> int:
    """`qa eval`: validate a gold file (--check) and/or score the system on it (--gold)."""
    base = settings or load_settings()
    if check is None and gold is None:
        _err("请指定 --gold 或 --check / give --gold FILE to evaluate or --check FILE to validate")
        return 2
    if check is not None:
        code = _check(check, base)
        if code or gold is None:
            return code
    assert gold is not None
    loaded = _load(gold, limit)
    if isinstance(loaded, int):
        return loaded
    imported, items = loaded
    out = out or DEFAULT_REPORTS / datetime.now().strftime("%Y%m%d-%H%M%S")
    ran = _run(items, configs, base, llm, progress, baseline)
    if isinstance(ran, int):
        return ran
    metrics, records = ran
    _report(out, gold, len(items), imported.notes, metrics, records)
    return 0


def _check(check: Path, base: Settings) -> int:
    """--check: print the gold file's problems; 1 if it has any, else 0."""
    from qa.evaluate.gold import check_gold

    problems = check_gold(check, base.seeds_dir)
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} problem(s) in {check}")
        return 1
    print(f"{check}: OK")
    return 0


def _load(gold: Path, limit: int | None) -> "tuple[GoldImport, list[GoldItem]] | int":
    """The imported gold file and the items to run, or exit code 2 (said why on stderr)."""
    from qa.evaluate.gold import GoldFormatError
    from qa.evaluate.importer import GoldImportError, import_gold
    from qa.evaluate.runner import EvalError, select_items

    try:  # JSONL, CSV or XLSX; only a question and a reference answer are needed
        imported = import_gold(gold)
        items = select_items(imported.items, limit)
    except (GoldFormatError, GoldImportError, EvalError) as exc:
        _err(str(exc))
        return 2
    for note in imported.notes:  # what the file lacks and what that disables
        _err("注意：" + note)
    if not items:
        _err(f"{gold}: no gold items")
        return 2
    return imported, items


def _run(
    items: "list[GoldItem]", configs: list[str] | None, base: Settings, llm: str | None, progress: bool, baseline: bool
) -> tuple[dict[str, Any], list[dict[str, Any]]] | int:
    """(metrics, records) of every configuration (and the baseline), or exit code 2 for bad
    options or a missing index (their messages already say what to run)."""
    from qa.evaluate.runner import BASELINE, EvalError, run_eval

    try:
        configs = list(configs or ["hybrid"])
        if baseline and BASELINE not in configs:
            configs.append(BASELINE)  # every report shows the simple thing to beat
        return run_eval(items, configs, base, llm=llm, progress=progress)
    except EvalError as exc:
        _err(str(exc))
        return 2
    except Exception as exc:  # index missing/corrupt etc.: their messages already say what to run
        from qa.index.store import IndexStoreError

        if isinstance(exc, IndexStoreError):
            _err(str(exc))
            return 2
        raise


def _report(
    out: Path, gold: Path, n: int, notes: list[str], metrics: dict[str, Any], records: list[dict[str, Any]]
) -> None:
    """Write the reports under `out`; print the headline table, the margin over the baseline and the paths."""
    from qa.evaluate.report import baseline_margin, headline_table, md_table, write_reports

    meta = {"gold": str(gold), "questions": n, "configs": ", ".join(metrics)}
    if notes:
        meta["notes"] = " ".join(notes)
    paths = write_reports(out, metrics, records, meta)
    print(md_table(*headline_table(metrics)))
    for line in baseline_margin(metrics):
        print(line)
    for kind, p in paths.items():
        print(f"{kind:13} {p}")


def bench_command(out_md: Path | None, scale: list[int] | None, **kw: object) -> int:
    """`qa bench`: see qa.evaluate.bench.bench_command."""
    from qa.evaluate.bench import bench_command as run

    return run(out_md, scale, **kw)  # type: ignore[arg-type]
