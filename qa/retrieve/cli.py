"""`qa search`: ranked articles for a question, for people (table) or programs (--json)."""

from __future__ import annotations

import json
import re
import sys
from typing import TYPE_CHECKING, NoReturn

import typer

from qa.models import Filters, Hit

if TYPE_CHECKING:
    from qa.retrieve.hybrid import RetrievalResult, Retriever


_ISO_DATE = re.compile(r"^(19|20)\d{2}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")


def _snippet(text: str, width: int = 70) -> str:
    one = re.sub(r"\s+", " ", text).strip()
    return one if len(one) <= width else one[: width - 1] + "…"


def validity_tag(doc: object, as_of: str | None = None) -> str:
    """"  〔已过有效期 2022-02-07—2025-02-06〕" for a document stating its dates; "" otherwise."""
    from qa.ingest.validity import STATUS_LABELS, status

    v = getattr(doc, "validity", None)
    st = status(v, as_of)
    if v is None or (st == "unknown" and not v.repealed_by):
        return ""
    span = f"{v.effective_date or '…'}—{v.expiry_date or ''}"
    if v.repealed_by:
        span += f"，被{v.repealed_by}废止"
    return f"  〔{STATUS_LABELS[st]} {span}〕"


def format_hit(hit: Hit, as_of: str | None = None) -> str:
    d = hit.document
    head = f"{hit.rank:>2}. {hit.score:.4f}  {d.label()}  {hit.chunk.locator}  [{d.region or '-'}]" + validity_tag(d, as_of)
    lines = [head, f"    {_snippet(hit.chunk.text)}"]
    for c in hit.context:
        lines.append(f"    ↳ 引用 / refers to {c.locator}: {_snippet(c.text, 50)}")
    return "\n".join(lines)


def search_command(
    query: str,
    k: int = 8,
    as_json: bool = False,
    mode: str = "hybrid",
    region: str | None = None,
    doc: str | None = None,
    date_from: str | None = None,
    date_to: str | None = None,
    in_force: bool = False,
    as_of: str | None = None,
) -> None:
    """Print the ranked hits for `query`; exits 1 with a clear message on bad input or a missing index."""
    from qa.config import load_settings
    from qa.embed import EmbedderError
    from qa.index import IndexStoreError
    from qa.retrieve.hybrid import RetrievalError, Retriever

    _check_options(mode, date_from, date_to, as_of)
    settings = load_settings()
    try:
        retriever = Retriever.load(settings)
    except (IndexStoreError, EmbedderError) as exc:
        _fail(str(exc))
    filters = _filters(retriever, region, doc, date_from, date_to, in_force, as_of)
    try:
        result = retriever.run(query, k=k, filters=filters, mode=mode)
    except RetrievalError as exc:
        _fail(str(exc))
    if as_json:
        _print_json(query, result, as_of)
    else:
        _print_table(mode, result, retriever, as_of)


def _fail(msg: str) -> NoReturn:
    typer.echo(msg, err=True)
    raise typer.Exit(1)


def _check_options(mode: str, date_from: str | None, date_to: str | None, as_of: str | None) -> None:
    """A bad mode or date fails before the index is loaded (seconds)."""
    from qa.retrieve.hybrid import MODES

    if (mode or "").lower() not in MODES:
        _fail(f"未知的检索模式 / unknown retrieval mode {mode!r}: use one of {', '.join(MODES)}")
    for label, value in (("--from", date_from), ("--to", date_to), ("--as-of", as_of)):
        if value and not _ISO_DATE.match(value):
            _fail(f"日期格式应为 YYYY-MM-DD / {label} expects a date like 2022-01-31, got {value!r}")


def _filters(
    retriever: "Retriever",
    region: str | None,
    doc: str | None,
    date_from: str | None,
    date_to: str | None,
    in_force: bool,
    as_of: str | None,
) -> Filters:
    """The options as filters; a region or document that matches nothing fails (an explicit
    filter is never silently dropped)."""
    filters = Filters(date_from=date_from or None, date_to=date_to or None, in_force=in_force, as_of=as_of or None)
    if region:
        regions = retriever.resolve_region(region)
        if not regions:
            known = "、".join(retriever.analyzer.regions) or "-"
            _fail(f"未找到地区 / unknown region {region!r}; 索引中的地区 / regions in the index: {known}")
        filters.regions = regions
    if doc:
        ids = retriever.resolve_doc(doc)
        if not ids:
            _fail(f"未找到文件 / no indexed document matches {doc!r} (发文字号, title or doc id)")
        filters.doc_ids = ids
    return filters


def _print_json(query: str, result: "RetrievalResult", as_of: str | None) -> None:
    """--json: the result with each hit's validity on as_of."""
    from qa.ingest.validity import citation_validity

    out = {"query": query, **result.to_dict()}
    for h, d in zip(result.hits, out["hits"]):
        d["validity"] = citation_validity(h.document, as_of)
    json.dump(out, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")


def _print_table(mode: str, result: "RetrievalResult", retriever: "Retriever", as_of: str | None) -> None:
    """A summary line (hits, time, filters applied), then one block per hit."""
    parts = _applied(result.filters, retriever, as_of)
    ms = result.timings.get("total", 0.0) * 1000
    typer.echo(f"{mode}: {len(result.hits)} hits in {ms:.0f} ms" + (f"  (筛选 / filters: {'; '.join(parts)})" if parts else ""))
    if not result.hits:
        typer.echo("没有找到相关条文 / no matching articles.")
        return
    for hit in result.hits:
        typer.echo(format_hit(hit, as_of))


def _applied(applied: Filters, retriever: "Retriever", as_of: str | None) -> list[str]:
    """The filters retrieval applied (given and inferred from the question), in words."""
    parts = []
    if applied.regions:
        parts.append("地区 " + "、".join(applied.regions))
    if applied.doc_ids:
        parts.append("文件 " + "、".join(retriever.store.doc_by_id[i].label() for i in applied.doc_ids if i in retriever.store.doc_by_id))
    if applied.date_from or applied.date_to:
        parts.append(f"日期 {applied.date_from or '…'} – {applied.date_to or '…'}")
    if applied.in_force:
        parts.append(f"只看现行有效（{as_of or '今天'}）")
    return parts
