"""Evaluation metrics: pure functions over gold items, hit texts and answers.

All text matching goes through `qa.evaluate.gold.contains`, so it ignores
whitespace, traditional/simplified and full/half-width differences.

Definitions (documented in docs/BENCHMARKS.md as well):

- evidence recall@k: share of evidence spans that occur in one of the top-k
  hit texts, pooled over all spans of the answerable questions (micro average,
  as eval/bench_retrieval.py does, so the two reports agree).
- evidence recall within N chars: the hit texts are concatenated in rank order
  and cut at N characters; share of spans found in it. This is what a context
  budget of N characters would actually contain.
- all-evidence@10: every span found in the top 10; only defined for questions
  with two or more spans (a single-span question would just repeat recall@10).
- MRR@10: 1 / rank of the first hit in the top 10 that contains any evidence
  span (0 if none); mean over answerable questions.
- key-point coverage: share of key points found in the answer text (markers
  removed; 0 for a refusal, which may echo the question's own figures). The headline uses the answer text only, because a key point that
  appears only inside a quoted passage was not actually said to the person;
  coverage including the citation quotes is reported beside it.
- citation precision: share of citations whose passage contains an evidence
  span or a key point of the question.
- cited sentences: share of answer sentences that carry a [n] marker; lead-in
  lines ending with a colon are not claims and are not counted.
- refusal: share of unanswerable questions declined, and share of answerable
  questions wrongly declined.
- coverage (the answer's full / partial / none): "handled" is the share of unanswerable
  and partial questions whose answer is not presented as full (declined, or marked
  partial); "wrongly declined" counts questions expecting a full answer that were declined;
  by-document questions declined are counted on their own (an indexed document asked
  about by name must never be declined).
- key-point coverage and citation precision are averaged over the questions that expect a
  full answer (a partial question's key points are what the documents do state).
- glitches: share of answers with a text glitch (qa.evaluate.glitches).
- validity accuracy (gold items with a `validity` block; the question is asked once per
  `in_force_on` date, with that date as as_of): share of those dates on which the answer
  cites the document, every citation of it carries the right status (in force or not), and,
  when it is not in force, the answer text carries the warning ("注意：…"). Validity dates:
  share of such items whose citations give the gold effective and expiry dates.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterable, Sequence

from qa.evaluate.glitches import find_glitches
from qa.evaluate.gold import GoldItem, contains, normalize_for_match

RECALL_KS: tuple[int, ...] = (1, 3, 5, 10)
CONTEXT_CHARS: tuple[int, ...] = (1000, 2500)
# Denser grid for the recall-over-context-size plot; includes CONTEXT_CHARS.
CURVE_CHARS: tuple[int, ...] = (250, 500, 1000, 1500, 2000, 2500)
ALL_EVIDENCE_K = 10
MRR_K = 10

# [1], [1][2], [1,2], ［1］, [1、2]
_MARKER = r"[\[［]\s*\d+(?:\s*[,，、]\s*\d+)*\s*[\]］]"
_MARKER_RE = re.compile(_MARKER)
_TERMINATORS = "。！？!?"
# A marker placed after the full stop ("…万元。[1]") belongs to the sentence before it.
_MARKER_AFTER_STOP = re.compile(rf"([{_TERMINATORS}])((?:\s*{_MARKER})+)")
_SPLIT_RE = re.compile(rf"(?<=[{_TERMINATORS}])|\n")


# ---------------------------------------------------------------- helpers


def strip_markers(text: str) -> str:
    """Answer text without its [n] citation markers."""
    return _MARKER_RE.sub("", text or "")


def has_marker(text: str) -> bool:
    return bool(_MARKER_RE.search(text or ""))


def split_sentences(text: str) -> list[str]:
    """Answer sentences (split at 。！？ and line breaks), markers kept with their sentence."""
    text = _MARKER_AFTER_STOP.sub(lambda m: m.group(2) + m.group(1), text or "")
    out = []
    for piece in _SPLIT_RE.split(text):
        piece = piece.strip()
        # Lines of only punctuation, bullets or markers carry no claim.
        if len(re.sub(r"[\W_]", "", strip_markers(piece))) >= 2:
            out.append(piece)
    return out


def _mean(values: Iterable[float | None]) -> float | None:
    vals = [float(v) for v in values if v is not None]
    return sum(vals) / len(vals) if vals else None


def _pooled(pairs: Iterable[tuple[float | None, int]]) -> float | None:
    """Micro average: per-question shares weighted by their number of spans."""
    pairs = [(v, n) for v, n in pairs if v is not None and n > 0]
    total = sum(n for _, n in pairs)
    return sum(v * n for v, n in pairs) / total if total else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """q-th percentile (0-100) with linear interpolation between order statistics; None when empty."""
    vals = sorted(float(v) for v in values)
    if not vals:
        return None
    pos = (len(vals) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return vals[lo] + (vals[hi] - vals[lo]) * (pos - lo)


# ---------------------------------------------------------------- retrieval


def span_ranks(evidence: Sequence[str], hit_texts: Sequence[str]) -> list[int | None]:
    """For each evidence span: 1-based rank of the first hit containing it, or None."""
    norm_hits = [normalize_for_match(t) for t in hit_texts]
    ranks: list[int | None] = []
    for span in evidence:
        ns = normalize_for_match(span)
        ranks.append(next((i for i, h in enumerate(norm_hits, 1) if ns and ns in h), None))
    return ranks


def evidence_recall_at_k(evidence: Sequence[str], hit_texts: Sequence[str], k: int) -> float | None:
    """Share of evidence spans contained in one of the top-k hits; None without evidence."""
    if not evidence:
        return None
    ranks = span_ranks(evidence, hit_texts[:k])
    return sum(r is not None for r in ranks) / len(evidence)


def ranked_context(hit_texts: Sequence[str], chars: int) -> str:
    """Hit texts concatenated in rank order, cut at `chars` characters."""
    return "".join(hit_texts)[:chars]


def evidence_recall_in_context(evidence: Sequence[str], hit_texts: Sequence[str], chars: int) -> float | None:
    """Share of evidence spans found in the first `chars` characters of ranked context."""
    if not evidence:
        return None
    ctx = normalize_for_match(ranked_context(hit_texts, chars))
    found = 0
    for span in evidence:
        ns = normalize_for_match(span)
        found += bool(ns) and ns in ctx
    return found / len(evidence)


def all_evidence_found(evidence: Sequence[str], hit_texts: Sequence[str], k: int = ALL_EVIDENCE_K) -> bool | None:
    """All spans in the top k; only defined for questions with two or more spans."""
    if len(evidence) < 2:
        return None
    return all(r is not None for r in span_ranks(evidence, hit_texts[:k]))


def reciprocal_rank(evidence: Sequence[str], hit_texts: Sequence[str], k: int = MRR_K) -> float | None:
    """1 / rank of the first top-k hit containing any evidence span; 0 when none does; None without evidence."""
    if not evidence:
        return None
    ranks = [r for r in span_ranks(evidence, hit_texts[:k]) if r is not None]
    return 1.0 / min(ranks) if ranks else 0.0


# ---------------------------------------------------------------- answers


def key_point_coverage(key_points: Sequence[str], text: str) -> float | None:
    """Share of key points contained in `text` (markers removed); None without key points."""
    if not key_points:
        return None
    clean = strip_markers(text)
    return sum(contains(clean, kp) for kp in key_points) / len(key_points)


def citation_is_relevant(passage: str, evidence: Sequence[str], key_points: Sequence[str]) -> bool:
    return any(contains(passage, s) for s in list(evidence) + list(key_points))


def citation_precision(passages: Sequence[str], evidence: Sequence[str], key_points: Sequence[str]) -> float | None:
    """Share of cited passages containing an evidence span or key point; None without citations or gold."""
    if not passages or not (evidence or key_points):
        return None
    return sum(citation_is_relevant(p, evidence, key_points) for p in passages) / len(passages)


def cited_sentence_share(text: str) -> float | None:
    """Share of claim sentences carrying a [n] marker; lead-ins ending with a colon are skipped."""
    sentences = [s for s in split_sentences(text) if not strip_markers(s).rstrip().endswith((":", "："))]
    if not sentences:
        return None
    return sum(has_marker(s) for s in sentences) / len(sentences)


def answer_length(text: str) -> int:
    """Characters of the answer text without markers and surrounding whitespace."""
    return len(strip_markers(text).strip())


# A yes/no verdict opening the answer (qa.answer.compose) and the reference's own first word
_ANSWER_VERDICT = re.compile(r"^\s*(不需要|不可以|需要|可以)。")
_REFERENCE_NO = re.compile(r"^\s*(?:不|否|没有|无需|无须|禁止|严禁)")
_REFERENCE_YES = re.compile(r"^\s*(?:能|可以|可|需要|要|必须|应当|应|是|行|对|会|有)[。，,；;！!]")


def verdict_wrong(reference: str, answer_text: str) -> bool | None:
    """The answer opens with a verdict (需要/不需要/可以/不可以) of the opposite sense to the
    reference's first word (不行。/ 能。…); None when either has none."""
    m = _ANSWER_VERDICT.match(answer_text or "")
    ref = reference or ""
    if not m:
        return None
    said_no = m.group(1).startswith("不")
    if _REFERENCE_NO.match(ref):
        return not said_no
    if _REFERENCE_YES.match(ref):
        return said_no
    return None


# ---------------------------------------------------------------- validity

NOT_IN_FORCE = ("expired", "not_yet_effective", "repealed")  # as qa.ingest.validity
_WARNING = re.compile(r"注意：[^。]*(?:有效期|执行期限|废止|尚未施行|尚未印发)")


def has_validity_warning(text: str) -> bool:
    """The answer text warns that a cited document is not in force ("注意：…已过有效期…")."""
    return bool(_WARNING.search(text or ""))


def validity_accuracy(gold: dict[str, Any] | None, observed: dict[str, dict[str, Any]] | None) -> float | None:
    """Share of the gold `in_force_on` dates answered right (see module doc); None without gold.

    `observed[day]` = {"validity": [citation validity dicts of the gold document], "text": answer text}.
    A document that is not indexed cannot be cited (a repealed predecessor, e.g. 临兰政办字〔2020〕35号):
    when it is not in force, the answer is right if its text names it as repealed (废止 / 失效).
    """
    if not gold or not gold.get("in_force_on"):
        return None
    observed = observed or {}
    number = normalize_for_match(gold.get("doc_number", ""))
    right = 0
    for day, in_force in gold["in_force_on"].items():
        o = observed.get(day) or {}
        text = o.get("text", "") or ""
        vals = [v for v in o.get("validity") or [] if v]
        if not vals:
            norm = normalize_for_match(text)
            right += bool(not in_force and number and number in norm and re.search(r"废止|失效", norm))
            continue
        status_ok = all((v.get("status") not in NOT_IN_FORCE) == bool(in_force) for v in vals)
        warning_ok = bool(in_force) or has_validity_warning(text)
        right += status_ok and warning_ok
    return right / len(gold["in_force_on"])


def validity_dates_correct(gold: dict[str, Any] | None, observed: dict[str, dict[str, Any]] | None) -> bool | None:
    """Do the citations of the gold document give its expiry date, and its effective date when they
    state one? (A document stating no effective date has none to give; gold writers often put its
    issue date.) None without gold or without a citation of it."""
    if not gold:
        return None
    vals = [v for o in (observed or {}).values() for v in o.get("validity") or [] if v and v.get("scope") != "article"]
    if not vals:
        return None
    return all(
        v.get("expiry_date") == gold.get("expiry") and v.get("effective_date") in (None, gold.get("effective")) for v in vals
    )


# ---------------------------------------------------------------- one question


@dataclass
class QuestionScores:
    """All scores of one system answer to one gold question (None: not applicable)."""

    id: str
    type: str
    persona: str
    answerable: bool
    n_evidence: int = 0
    recall_at: dict[int, float | None] = field(default_factory=dict)
    recall_chars: dict[int, float | None] = field(default_factory=dict)
    all_evidence: bool | None = None
    reciprocal_rank: float | None = None
    kp_coverage: float | None = None
    kp_coverage_with_quotes: float | None = None
    citation_precision: float | None = None
    cited_sentences: float | None = None
    answer_chars: int = 0
    n_citations: int = 0
    refused: bool = False
    error: str | None = None
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage
    expected_coverage: str = "full"  # from the gold type: none (unanswerable), partial, full
    coverage: str = "full"  # the answer's own
    glitches: list[str] = field(default_factory=list)
    validity_accuracy: float | None = None  # gold items with a validity block only
    validity_dates: bool | None = None
    verdict_wrong: bool | None = None  # an opening verdict of the wrong sense (see verdict_wrong)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        # JSON object keys must be strings; keep them readable.
        d["recall_at"] = {str(k): v for k, v in self.recall_at.items()}
        d["recall_chars"] = {str(k): v for k, v in self.recall_chars.items()}
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "QuestionScores":
        d = dict(d)
        d["recall_at"] = {int(k): v for k, v in d.get("recall_at", {}).items()}
        d["recall_chars"] = {int(k): v for k, v in d.get("recall_chars", {}).items()}
        return cls(**d)


def score_question(
    item: GoldItem,
    hit_texts: Sequence[str],
    answer_text: str,
    citation_passages: Sequence[str] = (),
    citation_quotes: Sequence[str] = (),
    refused: bool = False,
    timings: dict[str, float] | None = None,
    error: str | None = None,
    coverage: str | None = None,
    ks: Sequence[int] = RECALL_KS,
    chars: Sequence[int] = CURVE_CHARS,
    validity_observed: dict[str, dict[str, Any]] | None = None,
) -> QuestionScores:
    """Score one question: retrieval on `hit_texts` (rank order), the answer on its text and citations."""
    ev, kps = item.evidence, item.key_points
    s = QuestionScores(
        id=item.id,
        type=item.type,
        persona=item.persona,
        answerable=item.answerable,
        refused=bool(refused),
        error=error,
        timings=dict(timings or {}),
        answer_chars=answer_length(answer_text),
        n_citations=len(citation_passages),
        n_evidence=len(item.evidence),
        expected_coverage=item.expected_coverage,
        coverage=coverage or ("none" if refused else "full"),
        glitches=find_glitches(answer_text) if not refused else [],
    )
    if item.answerable:
        s.recall_at = {k: evidence_recall_at_k(ev, hit_texts, k) for k in ks}
        s.recall_chars = {n: evidence_recall_in_context(ev, hit_texts, n) for n in chars}
        s.all_evidence = all_evidence_found(ev, hit_texts)
        s.reciprocal_rank = reciprocal_rank(ev, hit_texts)
        # A refusal states nothing, even if it repeats the question's own figures back.
        said = "" if refused else answer_text
        s.kp_coverage = key_point_coverage(kps, said)
        s.kp_coverage_with_quotes = key_point_coverage(kps, "\n".join([said, *citation_quotes]))
        s.citation_precision = citation_precision(citation_passages, ev, kps)
        s.verdict_wrong = None if refused else verdict_wrong(item.answer, answer_text)
    if not refused:
        s.cited_sentences = cited_sentence_share(answer_text)
    validity = getattr(item, "validity", None)
    if validity:
        s.validity_accuracy = validity_accuracy(validity, validity_observed)
        s.validity_dates = validity_dates_correct(validity, validity_observed)
    return s


# ---------------------------------------------------------------- aggregation


def aggregate(scores: Sequence[QuestionScores]) -> dict[str, Any]:
    """Means over the questions each metric applies to, refusal rates and latency percentiles."""
    ans = [s for s in scores if s.answerable]
    unans = [s for s in scores if not s.answerable]
    out: dict[str, Any] = {
        "n": len(scores),
        "n_answerable": len(ans),
        "n_unanswerable": len(unans),
        "errors": sum(s.error is not None for s in scores),
    }
    ks = sorted({k for s in ans for k in s.recall_at})
    chars = sorted({n for s in ans for n in s.recall_chars})
    out["recall_at"] = {str(k): _pooled((s.recall_at.get(k), s.n_evidence) for s in ans) for k in ks}
    out["recall_chars"] = {str(n): _pooled((s.recall_chars.get(n), s.n_evidence) for s in ans) for n in chars}
    multi = [s.all_evidence for s in ans if s.all_evidence is not None]
    out["all_evidence"] = _mean(float(v) for v in multi)
    out["n_multi_evidence"] = len(multi)
    out["mrr"] = _mean(s.reciprocal_rank for s in ans)
    full = [s for s in ans if s.expected_coverage == "full"]
    out["n_full"] = len(full)
    out["kp_coverage"] = _mean(s.kp_coverage for s in full)
    out["kp_coverage_with_quotes"] = _mean(s.kp_coverage_with_quotes for s in full)
    out["citation_precision"] = _mean(s.citation_precision for s in full)
    out["cited_sentences"] = _mean(s.cited_sentences for s in scores)
    out["answer_chars"] = _mean(s.answer_chars for s in scores if not s.refused)
    out["declined_unanswerable"] = _mean(float(s.refused) for s in unans)
    out["wrongly_declined"] = _mean(float(s.refused) for s in full)
    not_full = [s for s in scores if s.expected_coverage != "full"]
    out["n_not_full"] = len(not_full)
    out["handled_not_full"] = _mean(float(s.coverage != "full") for s in not_full)
    out["full_marked_partial"] = _mean(float(s.coverage == "partial") for s in full)
    partial = [s for s in scores if s.expected_coverage == "partial"]
    out["partial_marked"] = _mean(float(s.coverage == "partial") for s in partial)
    bydoc = [s for s in scores if s.type == "by-doc"]
    out["bydoc_declined"] = _mean(float(s.refused) for s in bydoc)
    verdicts = [s.verdict_wrong for s in scores if s.verdict_wrong is not None]
    out["n_verdicts"] = len(verdicts)
    out["verdicts_wrong"] = _mean(float(v) for v in verdicts)
    out["glitch_answers"] = _mean(float(bool(s.glitches)) for s in scores if not s.refused)
    out["validity_accuracy"] = _mean(s.validity_accuracy for s in scores)
    out["validity_dates"] = _mean(None if s.validity_dates is None else float(s.validity_dates) for s in scores)
    out["n_validity"] = sum(s.validity_accuracy is not None for s in scores)
    out["latency_ms"] = latency_summary([s.timings for s in scores])
    return out


def latency_summary(timings: Sequence[dict[str, float]]) -> dict[str, dict[str, float | None]]:
    """p50/p95 in milliseconds for every stage key present in the timings (seconds)."""
    keys: list[str] = []
    for t in timings:
        keys.extend(k for k in t if k not in keys)
    out = {}
    for k in keys:
        vals = [1000.0 * float(t[k]) for t in timings if isinstance(t.get(k), (int, float))]
        out[k] = {"p50": percentile(vals, 50), "p95": percentile(vals, 95), "n": len(vals)}
    return out


def breakdown(scores: Sequence[QuestionScores], key: Callable[[QuestionScores], str]) -> dict[str, dict[str, Any]]:
    """`aggregate` per group (e.g. key=lambda s: s.type), groups in first-seen order."""
    groups: dict[str, list[QuestionScores]] = {}
    for s in scores:
        groups.setdefault(key(s), []).append(s)
    return {g: aggregate(v) for g, v in groups.items()}


def summarize(scores: Sequence[QuestionScores]) -> dict[str, Any]:
    """Overall, by type and by persona: the per-configuration block of metrics.json."""
    return {
        "overall": aggregate(scores),
        "by_type": breakdown(scores, lambda s: s.type),
        "by_persona": breakdown(scores, lambda s: s.persona),
    }
