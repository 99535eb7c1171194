"""Entry points behind `qa eval` and `qa bench` (qa/cli.py only parses options and calls these).

Both return a process exit code: 0 ok, 1 the gold file has problems,
2 bad options or a missing index.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

from qa.config import Settings, load_settings

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
    from qa.evaluate.gold import GoldFormatError, check_gold
    from qa.evaluate.report import baseline_margin, headline_table, md_table, write_reports
    from qa.evaluate.runner import BASELINE, EvalError, run_eval, select_items

    base = settings or load_settings()
    if check is None and gold is None:
        _err("请指定 --gold 或 --check / give --gold FILE to evaluate or --check FILE to validate")
        return 2
    if check is not None:
        problems = check_gold(check, base.seeds_dir)
        for p in problems:
            print(p)
        if problems:
            print(f"{len(problems)} problem(s) in {check}")
            return 1
        print(f"{check}: OK")
        if gold is None:
            return 0
    assert gold is not None
    from qa.evaluate.importer import GoldImportError, import_gold

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
    out = out or DEFAULT_REPORTS / datetime.now().strftime("%Y%m%d-%H%M%S")
    try:
        configs = list(configs or ["hybrid"])
        if baseline and BASELINE not in configs:
            configs.append(BASELINE)  # every report shows the simple thing to beat
        metrics, records = run_eval(items, configs, base, llm=llm, progress=progress)
    except EvalError as exc:
        _err(str(exc))
        return 2
    except Exception as exc:  # index missing/corrupt etc.: their messages already say what to run
        from qa.index.store import IndexStoreError

        if isinstance(exc, IndexStoreError):
            _err(str(exc))
            return 2
        raise
    meta = {"gold": str(gold), "questions": len(items), "configs": ", ".join(metrics)}
    if imported.notes:
        meta["notes"] = " ".join(imported.notes)
    paths = write_reports(out, metrics, records, meta)
    print(md_table(*headline_table(metrics)))
    for line in baseline_margin(metrics):
        print(line)
    for kind, p in paths.items():
        print(f"{kind:13} {p}")
    return 0


def bench_command(out_md: Path | None, scale: list[int] | None, **kw: object) -> int:
    """`qa bench`: see qa.evaluate.bench.bench_command."""
    from qa.evaluate.bench import bench_command as run

    return run(out_md, scale, **kw)  # type: ignore[arg-type]
