"""Command line: qa ingest | index | search | ask | serve | eval | bench."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

from qa.config import load_settings

app = typer.Typer(add_completion=False, no_args_is_help=True, help="政策问答 — policy question answering with citations")


@app.callback()
def main() -> None:
    """政策问答 — ask questions about policy documents and get answers with cited sources."""


def _paths(paths: Optional[list[Path]]) -> list[Path]:
    return list(paths) if paths else [load_settings().seeds_dir]


@app.command()
def ingest(
    paths: Optional[list[Path]] = typer.Argument(None, help="files or directories (default: seeds/)"),
    show: Optional[str] = typer.Option(None, "--show", help="print the chunks of one document (number, title or doc id)"),
    as_json: bool = typer.Option(False, "--json", help="print documents and chunks as JSON"),
) -> None:
    """Parse the corpus into documents and article chunks and print a summary."""
    from qa.ingest import ingest_paths

    result = ingest_paths(_paths(paths))
    if as_json:
        json.dump(
            {"documents": [d.to_dict() for d in result.documents], "chunks": [c.to_dict() for c in result.chunks]},
            sys.stdout,
            ensure_ascii=False,
            indent=1,
        )
        return
    if show:
        from qa.ingest.lines import compact

        want = compact(show)
        docs = [d for d in result.documents if want in (compact(d.number or ""), d.doc_id) or want in compact(d.title)]
        if not docs:
            typer.echo(f"未找到文件 / no document matches: {show}", err=True)
            raise typer.Exit(1)
        for d in docs:
            typer.echo(f"{d.label()}  {d.issuer or ''}  {d.date or ''}  {d.region or ''}  [{d.source_file} {d.start}-{d.end}]")
            if d.notice_title:
                typer.echo(f"  印发通知: {d.notice_title}")
            if d.effective_date or d.expiry_date:
                typer.echo(f"  施行: {d.effective_date or '-'}  有效期至: {d.expiry_date or '-'}")
            for c in (c for c in result.chunks if c.doc_id == d.doc_id):
                typer.echo(f"\n── {c.locator}  ({c.kind}, {c.tokens} tokens)  {' > '.join(c.heading_path[1:])}")
                typer.echo(c.text)
        return
    typer.echo(f"{'file':34} {'status':8} {'docs':>5} {'chunks':>7}")
    for r in result.reports:
        status = "ok" if r.ok else "skipped"
        typer.echo(f"{r.path[:34]:34} {status:8} {r.documents:5d} {r.chunks:7d}  {r.message}{'; '.join(r.warnings)}")
    typer.echo(f"total: {sum(r.ok for r in result.reports)} files, {len(result.documents)} documents, {len(result.chunks)} chunks")


if __name__ == "__main__":
    app()
