"""Command line: qa ingest | index | add | remove | list | search | ask | serve | eval | bench."""

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
            v = d.validity
            if v is not None:
                from qa.ingest.validity import STATUS_LABELS, status

                st = status(v)
                typer.echo(f"  效力: {STATUS_LABELS[st]}（截至今天）  施行: {v.effective_date or '-'}  有效期至: {v.expiry_date or '-'}"
                           + ("  试行/暂行" if v.provisional else ""))
                for label, value in (("依据", v.term and f"{v.term_locator or ''} “{v.term}”"), ("废止", "、".join(v.repeals)),
                                     ("被废止", v.repealed_by and f"{v.repealed_by}（{v.repealed_on or ''}起）"),
                                     ("解释", v.interpreter), ("期间", v.period)):
                    if value:
                        typer.echo(f"  {label}: {value}")
                for r in v.revisions:
                    typer.echo(f"  修改: {r.effective_date or ''} {r.by or ''} {r.note}")
            for c in (c for c in result.chunks if c.doc_id == d.doc_id):
                typer.echo(f"\n── {c.locator}  ({c.kind}, {c.tokens} tokens)  {' > '.join(c.heading_path[1:])}")
                typer.echo(c.text)
        return
    typer.echo(f"{'file':34} {'status':8} {'docs':>5} {'chunks':>7}")
    for r in result.reports:
        status = "ok" if r.ok else "skipped"
        typer.echo(f"{r.path[:34]:34} {status:8} {r.documents:5d} {r.chunks:7d}  {r.message}{'; '.join(r.warnings)}")
    typer.echo(f"total: {sum(r.ok for r in result.reports)} files, {len(result.documents)} documents, {len(result.chunks)} chunks")


@app.command()
def index(
    paths: Optional[list[Path]] = typer.Argument(None, help="files or directories (default: seeds/)"),
    index_dir: Optional[Path] = typer.Option(None, "--index-dir", help="where the index lives (default: index/)"),
) -> None:
    """Build or update the search index (FAISS + BM25, or Milvus: QA_VECTOR_STORE); unchanged chunks are not re-embedded."""
    from qa.embed import EmbedderError
    from qa.index import IndexStoreError
    from qa.index.builder import IndexBuilder
    from qa.manage import Collection, ManageError

    settings = _manage_settings(index_dir)
    coll = Collection(settings)
    try:
        state = coll.read()
        if paths:  # what later `qa add` / `qa remove` rebuild from; without paths, the base kept so far
            coll.set_base(list(paths))
            state = coll.read()
        # files added with `qa add` (or uploaded) stay; documents removed stay removed
        inputs, exclude = coll.inputs(state), coll.excluded(state)
    except (ManageError, OSError):  # no usable index dir: the builder says so clearly
        state, inputs, exclude = {}, _paths(paths), set()
    try:
        report = IndexBuilder(settings).run(inputs, progress=True, exclude=exclude,
                                            extra={"collection_version": int(state.get("version", 0))})
    except (IndexStoreError, EmbedderError, OSError) as err:
        typer.echo(f"错误 / error: {err}", err=True)
        raise typer.Exit(2) from None
    for r in report.reports:
        if not r.ok:
            typer.echo(f"跳过 / skipped {r.path}: {r.message}", err=True)
    typer.echo(
        f"index: {report.documents} documents, {report.chunks} chunks; embedded {report.embedded}, "
        f"reused {report.reused} from cache; {report.seconds:.1f}s → "
        + (f"Milvus {settings.milvus_uri or settings.index_dir / 'milvus.db'} ({report.generation_name})"
           if report.store == "milvus" else str(settings.index_dir))
    )


def _manage_settings(index_dir: Optional[Path]):  # type: ignore[no-untyped-def]
    """Settings for `--index-dir DIR`: the embedding cache is DIR/cache unless QA_CACHE_DIR names one."""
    import os

    own_cache = index_dir is not None and not os.environ.get("QA_CACHE_DIR")
    return load_settings(index_dir=index_dir, cache_dir=(index_dir / "cache") if own_cache else None)


def _update_index(settings) -> None:  # type: ignore[no-untyped-def]
    from qa.manage.jobs import update

    reports = update(settings, progress=True)
    if not reports:
        return
    last = reports[-1]
    typer.echo(f"index: {last.documents} documents, {last.chunks} chunks; embedded {sum(r.embedded for r in reports)}; "
               f"{sum(r.seconds for r in reports):.1f}s → {settings.index_dir}")


@app.command()
def add(
    files: list[Path] = typer.Argument(..., help="files to add: .docx .doc .wps .pdf .html .ofd .txt, images"),
    index_dir: Optional[Path] = typer.Option(None, "--index-dir", help="where the index lives (default: index/)"),
    dry_run: bool = typer.Option(False, "--dry-run", help="only show what the parser makes of the files"),
) -> None:
    """Add documents to the index (a document with the 发文字号 of an indexed one replaces it)."""
    from qa.manage import Collection, ManageError

    settings = _manage_settings(index_dir)
    coll = Collection(settings)
    missing = [f for f in files if not f.is_file()]
    if missing:
        typer.echo(f"错误 / error: 文件不存在 / no such file: {', '.join(map(str, missing))}", err=True)
        raise typer.Exit(2)
    previews = [coll.preview(f) for f in files] if dry_run else None
    try:
        outcome = coll.add([(f, f.name) for f in files]) if not dry_run else None
    except ManageError as err:
        typer.echo(f"错误 / error: {err}", err=True)
        raise typer.Exit(2) from None
    shown = previews if dry_run else outcome.added + outcome.rejected  # type: ignore[union-attr]
    for p in shown:
        if not p.ok:
            typer.echo(f"✗ {p.name}: {p.message}", err=True)
            continue
        typer.echo(f"✓ {p.name} [{p.format}]" + (f"  ({'; '.join(p.warnings)})" if p.warnings else ""))
        for d in p.documents:
            typer.echo(f"    《{d['title']}》 {d['number'] or '（无发文字号）'}  {d['issuer'] or '-'}  {d['date'] or '-'}  "
                       f"{d['status_label']}  {d['articles']} 条" + (f"  ⚠ {'；'.join(d['warnings'])}" if d['warnings'] else ""))
        for r in p.replaces:
            typer.echo(f"    替换 / replaces 《{r['title']}》 {r['number']} ({r['source_file']})")
    if dry_run:
        return
    if outcome.added:  # type: ignore[union-attr]
        _update_index(settings)
    if outcome.rejected:  # type: ignore[union-attr]
        raise typer.Exit(1)


@app.command()
def remove(
    doc: str = typer.Argument(..., help="发文字号, title or doc id of the document to remove"),
    index_dir: Optional[Path] = typer.Option(None, "--index-dir", help="where the index lives (default: index/)"),
) -> None:
    """Remove a document from the index."""
    from qa.manage import Collection, ManageError

    settings = _manage_settings(index_dir)
    try:
        removed = Collection(settings).remove(doc)
    except ManageError as err:
        typer.echo(f"错误 / error: {err}", err=True)
        raise typer.Exit(2) from None
    for d in removed:
        typer.echo(f"已移除 / removed 《{d['title']}》 {d['number'] or ''} ({d['source_file']})")
    _update_index(settings)


@app.command("list")
def list_(
    index_dir: Optional[Path] = typer.Option(None, "--index-dir", help="where the index lives (default: index/)"),
    as_json: bool = typer.Option(False, "--json", help="print the documents as JSON"),
) -> None:
    """List the indexed documents (发文字号, title, issuer, date, status, article count)."""
    from qa.manage import Collection

    rows = Collection(_manage_settings(index_dir)).list()
    if as_json:
        json.dump(rows, sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
        return
    for r in rows:
        typer.echo(f"{(r['number'] or '-'):24} 《{r['title']}》  {r['issuer'] or '-'}  {r['date'] or '-'}  "
                   f"{r['status_label']}  {r['articles']} 条" + ("  [added]" if r["added"] else ""))
    typer.echo(f"total: {len(rows)} documents")


@app.command()
def search(
    query: str = typer.Argument(..., help="question or keywords"),
    k: int = typer.Option(5, "-k", help="number of hits"),
    as_json: bool = typer.Option(False, "--json", help="print full hit records as JSON"),
    mode: str = typer.Option("hybrid", "--mode", help="bm25 | dense | hybrid"),
    region: Optional[str] = typer.Option(None, "--region", help="restrict to a region, e.g. 兰山区"),
    doc: Optional[str] = typer.Option(None, "--doc", help="restrict to a document (number or title)"),
    date_from: Optional[str] = typer.Option(None, "--from", help="documents dated on/after YYYY-MM-DD"),
    date_to: Optional[str] = typer.Option(None, "--to", help="documents dated on/before YYYY-MM-DD"),
    in_force: bool = typer.Option(False, "--in-force", help="only documents in force on --as-of (or stating no term)"),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="judge validity on YYYY-MM-DD (default: today)"),
) -> None:
    """Show the ranked passages retrieval finds for a question."""
    from qa.retrieve.cli import search_command

    search_command(query, k=k, as_json=as_json, mode=mode, region=region, doc=doc, date_from=date_from, date_to=date_to,
                   in_force=in_force, as_of=as_of)


@app.command()
def ask(
    question: str = typer.Argument(..., help="问题, e.g. 我家狗要办证吗？"),
    as_json: bool = typer.Option(False, "--json", help="print the full answer record as JSON"),
    llm: Optional[str] = typer.Option(None, "--llm", help="OpenAI-compatible endpoint as URL/model, e.g. http://127.0.0.1:8080/v1/qwen2.5"),
    region: Optional[str] = typer.Option(None, "--region", help="restrict to a region"),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="judge whether cited documents are in force on YYYY-MM-DD (default: today)"),
    in_force: bool = typer.Option(False, "--in-force", help="only documents in force on --as-of (or stating no term)"),
) -> None:
    """Answer a question with cited sources."""
    from qa.answer.pipeline import Assistant
    from qa.ingest.validity import as_of_date
    from qa.models import Filters

    if as_of:
        try:
            as_of = as_of_date(as_of).isoformat()
        except ValueError as err:
            typer.echo(f"错误 / error: --as-of: {err}", err=True)
            raise typer.Exit(2) from None

    overrides: dict[str, object] = {}
    if llm:
        from qa.evaluate.runner import parse_llm

        base, model = parse_llm(llm)
        overrides.update(llm_base_url=base, llm_model=model)
    try:
        assistant = Assistant(load_settings(**overrides))
    except Exception as err:  # a missing or broken index: say what to do
        typer.echo(f"错误 / error: {err}", err=True)
        raise typer.Exit(2) from None
    filters = Filters(regions=[region] if region else [], in_force=in_force, as_of=as_of)
    answer = assistant.ask(question, filters=filters)
    if as_json:
        json.dump(answer.to_dict(), sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
        return
    typer.echo(answer.text)
    if answer.notice:
        typer.echo(f"\n（{answer.notice}）")
    if answer.citations:
        typer.echo("\n来源：")
        from qa.ingest.validity import STATUS_LABELS

        for c in answer.citations:
            meta = "，".join(x for x in (c.issuer, c.date, c.region) if x)
            v = c.validity or {}
            state = ""
            if v.get("status") and (v["status"] != "unknown" or v.get("repealed_by")):
                span = f"{v.get('effective_date') or '…'}—{v.get('expiry_date') or ''}"
                state = f"  〔{STATUS_LABELS.get(v['status'], v['status'])} {span}，截至{v.get('as_of')}〕"
            typer.echo(f"[{c.marker}] 《{c.doc_title}》{('（' + c.doc_number + '）') if c.doc_number else ''} {c.locator}  {meta}{state}")
            typer.echo(f"    “{c.quote.strip()}”")


@app.command()
def serve(
    host: Optional[str] = typer.Option(None, help="bind address (default 127.0.0.1; QA_HOST)"),
    port: Optional[int] = typer.Option(None, help="port (default 7860; QA_PORT)"),
    auth: Optional[str] = typer.Option(None, help='page password "user:password"; VISIBLE to other users in `ps`: prefer QA_AUTH or --auth-file'),
    api_key: Optional[str] = typer.Option(None, "--api-key", help="key for /api and /v1; VISIBLE to other users in `ps`: prefer QA_API_KEY or --api-key-file"),
    auth_file: Optional[Path] = typer.Option(None, "--auth-file", help='file whose first line is "user:password" (QA_AUTH_FILE)'),
    api_key_file: Optional[Path] = typer.Option(None, "--api-key-file", help="file whose first line is the API key (QA_API_KEY_FILE)"),
    no_build: bool = typer.Option(False, "--no-build", help="fail instead of building a missing index"),
) -> None:
    """Serve the chat page (/) and the HTTP API (/api, /v1, docs at /docs); builds the index first if needed.

    QA_API_KEY protects /api and /v1 only; without QA_AUTH the page and its own API are public."""
    from qa.app.server import serve_command
    from qa.config import read_secret

    try:
        auth = auth or (read_secret(str(auth_file)) if auth_file else None)
        api_key = api_key or (read_secret(str(api_key_file)) if api_key_file else None)
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    serve_command(host=host, port=port, build_index_if_missing=not no_build, auth=auth, api_key=api_key)


@app.command("eval")
def eval_(
    gold: Optional[Path] = typer.Option(None, "--gold", help="gold question file to score the system on, e.g. eval/gold.jsonl"),
    out: Optional[Path] = typer.Option(None, "--out", help="report directory (default: eval/reports/<timestamp>)"),
    config: Optional[list[str]] = typer.Option(None, "--config", help="hybrid | bm25 | dense | quote-top2, optionally with Settings overrides, e.g. hybrid:rerank=false; repeatable (default: hybrid)"),
    llm: Optional[str] = typer.Option(None, "--llm", help="answer with an OpenAI-compatible LLM: URL/v1/MODEL, MODEL@URL or URL"),
    check: Optional[Path] = typer.Option(None, "--check", help="validate a gold file against seeds/ and list its problems"),
    limit: Optional[int] = typer.Option(None, "--limit", help="only the first N questions, taken round-robin over question types"),
    no_baseline: bool = typer.Option(False, "--no-baseline", help="do not add the quote-top2 baseline (quoting the two best retrieved articles) to the report"),
) -> None:
    """Score the assistant on a gold question set (retrieval, answers, refusals, latency) and write reports.
    Every report also scores the quote-top2 baseline and states the margin over it."""
    from qa.evaluate.cli import eval_command

    raise typer.Exit(eval_command(gold, out, config, llm, check, limit, baseline=not no_baseline))


@app.command()
def bench(
    out: Optional[Path] = typer.Option(None, "--out", help="markdown file whose '## System benchmarks' section is replaced, e.g. docs/BENCHMARKS.md"),
    scale: Optional[list[int]] = typer.Option(None, "--scale", help="synthetic corpus sizes for the scaling test; repeatable (default: 10000 100000 1000000; 0 = skip)"),
    duration: float = typer.Option(10.0, "--duration", help="seconds per concurrency level of the HTTP load test"),
    no_serve: bool = typer.Option(False, "--no-serve", help="skip the HTTP throughput test against `qa serve`"),
    hnsw_max: Optional[int] = typer.Option(100_000, "--hnsw-max", help="largest synthetic size that also gets an HNSW index"),
    eval_metrics: Optional[Path] = typer.Option(None, "--eval-metrics", help="metrics.json of a `qa eval` run to quote in the section"),
    stores: Optional[str] = typer.Option(None, "--stores", help="compare index stores instead, e.g. faiss,milvus,milvus-server (section '## Vector stores')"),
) -> None:
    """Measure index build time, latency, throughput, memory and scaling; print a markdown table."""
    from qa.evaluate.bench import bench_command

    sizes = [s for s in scale if s > 0] if scale else None  # --scale 0 alone: skip the scaling test
    if stores:
        from qa.evaluate.bench_store import run_stores

        raise typer.Exit(run_stores(out, [s.strip() for s in stores.split(",") if s.strip()], sizes, hnsw_max))
    raise typer.Exit(bench_command(out, sizes, duration=duration, serve=not no_serve, hnsw_max=hnsw_max, eval_metrics=eval_metrics))


if __name__ == "__main__":
    app()
