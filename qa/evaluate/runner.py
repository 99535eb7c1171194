"""Run the gold questions through the assistant, per configuration, and score them.

Only the question text goes to the system: never the id, reference answer or
evidence. For each question two things are recorded:

- the ranked list from the retriever itself (`retrieve_k` hits, default 30,
  enough to fill 2,500 characters of context), which the retrieval metrics use;
- the full `Assistant.ask` answer (its own top_k hits, citations, refusal and
  timings), which the answer metrics use.

A configuration is a retrieval mode with optional Settings overrides:
"hybrid", "bm25", "dense", or e.g. "hybrid:rerank=false,top_k=5".
"""

from __future__ import annotations

import logging
import re
import time
from collections import defaultdict
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from qa.config import Settings
from qa.evaluate.gold import GoldItem
from qa.evaluate.metrics import QuestionScores, score_question, summarize

log = logging.getLogger(__name__)

MODES = ("hybrid", "bm25", "dense")
# Baselines: hybrid retrieval with a trivial answerer (Settings.answerer); every report runs
# one beside the system, so a component that does not beat the simple thing shows it.
BASELINES = ("quote-top2",)
BASELINE = "quote-top2"
DEFAULT_RETRIEVE_K = 30  # as eval/bench_retrieval.py; enough hits to fill 2,500 characters


class EvalError(ValueError):
    """A bad configuration or option; the message says what to change."""


@dataclass
class RunConfig:
    """One system configuration to evaluate."""

    name: str  # label in the reports, e.g. "hybrid" or "hybrid:rerank=false"
    mode: str  # retrieval mode passed to the retriever
    overrides: dict[str, Any] = field(default_factory=dict)  # Settings fields


def _coerce_like(value: str, current: Any, name: str) -> Any:
    """Parse `value` to the type of the Settings field's current value."""
    try:
        if isinstance(current, bool):
            if value.lower() not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                raise ValueError(value)
            return value.lower() in ("1", "true", "yes", "on")
        if isinstance(current, int):
            return int(value)
        if isinstance(current, float):
            return float(value)
        if isinstance(current, Path):
            return Path(value)
    except ValueError:
        raise EvalError(f"配置项 {name} 的值无效 / bad value for {name}: {value!r}") from None
    return value


def parse_config(spec: str, base: Settings) -> RunConfig:
    """'hybrid' | 'bm25' | 'dense', optionally ':field=value,field=value' Settings overrides."""
    spec = (spec or "").strip()
    mode, _, rest = spec.partition(":")
    mode = mode.strip().lower()
    answerer = None
    if mode in BASELINES:
        mode, answerer = "hybrid", mode
    if mode not in MODES:
        raise EvalError(f"未知配置 / unknown config {spec!r}: mode must be one of {', '.join(MODES)}")
    names = {f.name for f in fields(Settings)}
    overrides: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, value = part.partition("=")
        key = key.strip()
        if not eq or key not in names:
            raise EvalError(f"配置 {spec!r} 中的 {part!r} 无效：需要 field=value，field 为 Settings 字段 / expected field=value")
        overrides[key] = _coerce_like(value.strip(), getattr(base, key), key)
    if answerer:
        overrides["answerer"] = answerer
        return RunConfig(name=spec, mode=mode, overrides=overrides)
    return RunConfig(name=spec if rest else mode, mode=mode, overrides=overrides)


_VERSIONED = re.compile(r"^(https?://.+?/v\d+)/([^/]+)$")


def parse_llm(spec: str) -> tuple[str, str]:
    """'MODEL@URL', 'URL/v1/MODEL' or just 'URL' (model from settings) -> (base_url, model)."""
    spec = spec.strip()
    if "@" in spec and not spec.startswith("http"):
        model, _, url = spec.partition("@")
        return url.strip(), model.strip()
    m = _VERSIONED.match(spec)
    if m:
        return m.group(1), m.group(2)
    if not spec.startswith(("http://", "https://")):
        raise EvalError(f"--llm 需要 URL、URL/v1/模型 或 模型@URL / --llm expects URL, URL/v1/MODEL or MODEL@URL: {spec!r}")
    return spec, ""


def settings_for(base: Settings, config: RunConfig, llm: str | None = None) -> Settings:
    """The Settings one configuration runs with."""
    overrides = dict(config.overrides)
    if any(f.name == "retrieval_mode" for f in fields(Settings)):
        overrides["retrieval_mode"] = config.mode
    else:  # the assistant then answers with its default mode; retrieval metrics still use config.mode
        log.warning("Settings has no retrieval_mode field: answers use the assistant's default retrieval mode")
    if llm:
        url, model = parse_llm(llm)
        overrides["llm_base_url"] = url
        if model:
            overrides["llm_model"] = model
    return base.with_overrides(**overrides)


def select_items(items: Sequence[GoldItem], limit: int | None) -> list[GoldItem]:
    """The first `limit` items taken round-robin over question types, so a short run covers every type."""
    if limit is None or limit >= len(items):
        return list(items)
    if limit <= 0:
        raise EvalError("--limit 必须为正数 / --limit must be positive")
    by_type: dict[str, list[GoldItem]] = defaultdict(list)
    for it in items:
        by_type[it.type].append(it)
    queues = list(by_type.values())
    picked: list[GoldItem] = []
    i = 0
    while len(picked) < limit:
        q = queues[i % len(queues)]
        if q:
            picked.append(q.pop(0))
        i += 1
    order = {id(it): n for n, it in enumerate(items)}
    return sorted(picked, key=lambda it: order[id(it)])


def _jsonable(obj: Any) -> Any:
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set)):
        return [_jsonable(v) for v in obj]
    if hasattr(obj, "__dataclass_fields__"):
        from dataclasses import asdict

        return _jsonable(asdict(obj))
    return str(obj)


_HIT_FIELDS = ("rank", "chunk_id", "score", "scores", "doc_id", "doc_title", "doc_number", "locator", "text")


def _hit_record(hit: Any, evidence: Sequence[str]) -> dict[str, Any]:
    """The parts of a hit a person needs to judge a retrieval failure (no adjacent context)."""
    from qa.evaluate.gold import contains

    d = hit.to_dict()
    out = {k: d.get(k) for k in _HIT_FIELDS}
    out["evidence"] = [i for i, span in enumerate(evidence) if contains(d["text"], span)]  # indexes of spans it holds
    return out


@dataclass
class _Answered:
    """What `EvalRunner.run_one` scores of an answer; the defaults stand for no answer."""

    record: dict[str, Any] = field(default_factory=lambda: {"answer": "", "citations": [], "refused": False, "timings": {}})
    text: str = ""
    passages: list[str] = field(default_factory=list)
    quotes: list[str] = field(default_factory=list)
    refused: bool = False
    coverage: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    error: str | None = None


class EvalRunner:
    """Runs gold items through one assistant (and its retriever) in one configuration and scores them."""

    def __init__(
        self,
        assistant: Any,
        config: RunConfig,
        retriever: Any | None = None,
        retrieve_k: int = DEFAULT_RETRIEVE_K,
        progress: bool = True,
        warmup: bool = True,
    ) -> None:
        self.assistant = assistant
        self.warmup = warmup
        self.config = config
        self.retriever = retriever if retriever is not None else getattr(assistant, "retriever", None)
        if self.retriever is None:
            raise EvalError("the assistant exposes no retriever and none was given")
        self.retrieve_k = retrieve_k
        self.progress = progress

    def run(self, items: Sequence[GoldItem], on_item: Callable[[int, int], None] | None = None) -> list[dict[str, Any]]:
        from tqdm import tqdm

        if items and self.warmup:
            # the first call loads models and dictionaries; keep that out of the latency figures
            try:
                self.assistant.ask(items[0].question)
            except Exception:
                pass
        records = []
        bar = tqdm(items, desc=f"eval {self.config.name}", unit="q", disable=not self.progress, leave=True)
        for n, item in enumerate(bar, 1):
            records.append(self.run_one(item))
            if on_item:
                on_item(n, len(items))
        return records

    def run_one(self, item: GoldItem) -> dict[str, Any]:
        """One question → the per_question.jsonl record (question, hits, answer, scores)."""
        hits, retrieval, error = self._retrieve(item)
        answered = self._answer(item)
        if answered.error:
            error = (error + "; " if error else "") + answered.error
        validity = self.ask_on_dates(item) if item.validity else None
        scores = score_question(
            item,
            [h.chunk.text for h in hits],
            answered.text,
            citation_passages=answered.passages,
            citation_quotes=answered.quotes,
            refused=answered.refused,
            timings=answered.timings,
            error=error,
            coverage=answered.coverage,
            validity_observed=validity,
        )
        return {
            "config": self.config.name,
            "id": item.id,
            "type": item.type,
            "persona": item.persona,
            "question": item.question,
            "reference": item.answer,
            "key_points": item.key_points,
            "evidence": item.evidence,
            "source": item.source,
            "retrieval": retrieval,
            "answer": answered.record,
            "scores": scores.to_dict(),
            "error": error,
            **({"validity": {"gold": item.validity, "observed": validity}} if item.validity else {}),
        }

    def _retrieve(self, item: GoldItem) -> tuple[list[Any], dict[str, Any], str | None]:
        """The retriever's own ranked list for the question (the retrieval metrics read it):
        (hits, the record of them, the error if retrieval failed)."""
        question = item.question  # the only thing the system sees
        hits: list[Any] = []
        retrieval: dict[str, Any] = {"mode": self.config.mode, "k": self.retrieve_k, "hits": []}
        try:
            t = time.perf_counter()
            result = self.retriever.run(question, k=self.retrieve_k, filters=None, mode=self.config.mode)
            retrieval["seconds"] = time.perf_counter() - t
            hits = list(result.hits)
            retrieval["hits"] = [_hit_record(h, item.evidence) for h in hits]
            retrieval["filters"] = _jsonable(getattr(result, "filters", None))
            retrieval["inferred"] = _jsonable(getattr(result, "inferred", None))
            retrieval["timings"] = _jsonable(getattr(result, "timings", {}))
        except Exception as exc:  # one broken question must not end the run; it is scored as a miss
            log.exception("retrieval failed for %s", item.id)
            return hits, retrieval, f"retrieve: {type(exc).__name__}: {exc}"
        return hits, retrieval, None

    def _answer(self, item: GoldItem) -> _Answered:
        """The assistant's full answer to the question (the answer metrics read it); what was
        read before a failure is kept, the failure is scored as the question's error."""
        a = _Answered()
        try:
            t = time.perf_counter()
            answer = self.assistant.ask(item.question)
            wall = time.perf_counter() - t
            a.record = answer.to_dict(with_hits=False)
            a.record["hit_ids"] = [h.chunk_id for h in answer.hits]
            a.text, a.refused = answer.text, answer.refused
            a.coverage = getattr(answer, "coverage", None)
            a.passages = [c.passage for c in answer.citations]
            a.quotes = [c.quote for c in answer.citations]
            timings = {k: float(v) for k, v in answer.timings.items() if isinstance(v, (int, float))}
            timings["wall"] = wall
            a.timings = timings
        except Exception as exc:
            a.error = f"answer: {type(exc).__name__}: {exc}"
            log.exception("answering failed for %s", item.id)
        return a

    def ask_on_dates(self, item: GoldItem) -> dict[str, dict[str, Any]]:
        """Ask a validity item once per gold `in_force_on` date (as_of = that date); per date the
        validity records of the citations of the gold document and the answer text."""
        from qa.evaluate.gold import normalize_for_match
        from qa.models import Filters

        want = normalize_for_match((item.validity or {}).get("doc_number", ""))
        out: dict[str, dict[str, Any]] = {}
        for day in (item.validity or {}).get("in_force_on", {}):
            try:
                a = self.assistant.ask(item.question, filters=Filters(as_of=day))
            except Exception as exc:  # scored as not cited on that date
                out[day] = {"validity": [], "text": "", "error": f"{type(exc).__name__}: {exc}"}
                continue
            cited = [c for c in a.citations if want and same_number(normalize_for_match(c.doc_number or ""), want)]
            out[day] = {"validity": [c.validity for c in cited], "text": a.text, "refused": a.refused}
        return out


def same_number(cited: str, gold: str) -> bool:
    """发文字号 of a citation and of a gold item, normalised: equal, or a government order named by
    its number alone ("第280号" for 青岛市人民政府令第280号)."""
    if cited == gold:
        return True
    short, long_ = sorted((cited, gold), key=len)
    return short.startswith("第") and len(short) >= 3 and long_.endswith(short) and "令" in long_


def scores_of(records: Iterable[dict[str, Any]]) -> list[QuestionScores]:
    return [QuestionScores.from_dict(r["scores"]) for r in records]


def metrics_for(records: Sequence[dict[str, Any]], config: RunConfig, settings: Settings, mode_label: str = "") -> dict[str, Any]:
    """The metrics.json block of one configuration."""
    block = summarize(scores_of(records))
    block["config"] = {
        "name": config.name,
        "mode": config.mode,
        "overrides": _jsonable(config.overrides),
        "answer_mode": mode_label,
        "top_k": settings.top_k,
        "embedder": settings.embedder,
        "llm_model": settings.llm_model if settings.llm_base_url else "",
    }
    return block


def run_eval(
    items: Sequence[GoldItem],
    configs: Sequence[str],
    base: Settings,
    llm: str | None = None,
    assistant_factory: Callable[[Settings], Any] | None = None,
    retrieve_k: int = DEFAULT_RETRIEVE_K,
    progress: bool = True,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Evaluate every configuration; returns (metrics per config name, all per-question records)."""
    if assistant_factory is None:
        from qa.answer.pipeline import Assistant

        assistant_factory = Assistant
    parsed = []
    for spec in configs:
        cfg = parse_config(spec, base)
        if cfg.name not in {c.name for c in parsed}:
            parsed.append(cfg)
    if not parsed:
        raise EvalError("至少需要一个 --config / at least one --config is needed")
    metrics: dict[str, Any] = {}
    records: list[dict[str, Any]] = []
    for cfg in parsed:
        settings = settings_for(base, cfg, llm)
        assistant = assistant_factory(settings)
        runner = EvalRunner(assistant, cfg, retrieve_k=retrieve_k, progress=progress)
        recs = runner.run(items)
        label = assistant.describe_mode() if hasattr(assistant, "describe_mode") else ""
        metrics[cfg.name] = metrics_for(recs, cfg, settings, label)
        records.extend(recs)
    return metrics, records
