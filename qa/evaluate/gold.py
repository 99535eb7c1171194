"""The gold question set (eval/gold.jsonl): records, loading, matching and validation.

Each line of the gold file is one question people actually ask, with a short
reference answer, the key points a correct answer must contain, and verbatim
evidence spans from the seed file that answer it. `check_gold` verifies the file
against the seeds, so a typo in an evidence span is caught before it silently
lowers every retrieval score.

Matching is normalised (`normalize_for_match`): the seeds mix traditional and
simplified characters, full- and half-width punctuation and stray spaces inside
numbers ("500 万元"), none of which should decide whether an answer is right.
"""

from __future__ import annotations

import json
import unicodedata
from collections import Counter
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from collections.abc import Sequence
from typing import Any

from qa.text import to_simplified


PERSONAS = ("citizen", "enterprise", "evaluator")
# The first seven are the types of eval/gold.jsonl; the rest were added with the blind sets
# (eval/blind/): amount ≈ numeric, the intents of qa.retrieve.intent, and the two kinds of
# question an answer must not pretend to answer fully: partial (the topic is covered, the
# asked detail is not) and unanswerable (nothing covers it).
TYPES = (
    "fact", "numeric", "list", "yesno", "multi", "by-doc", "unanswerable",
    "amount", "deadline", "department", "condition", "comparison", "broad", "partial", "validity",
)
FIELDS = ("id", "persona", "type", "question", "answer", "key_points", "evidence", "source")
OPTIONAL_FIELDS = ("sources", "validity")  # more documents (comparison); validity facts (issue 11)
SOURCE_FIELDS = ("file", "doc_title", "doc_number", "locator")
# validity: {"doc_number", "effective", "expiry", "in_force_on": {"YYYY-MM-DD": bool}} — the document whose
# validity the answer must get right, its dates as the gold writer read them (null: not stated), and
# whether it is in force on each date (`qa eval` asks the question once per date, with it as as_of)
VALIDITY_FIELDS = ("doc_number", "effective", "expiry", "in_force_on")
EVIDENCE_MIN_CHARS = 15
EVIDENCE_MAX_CHARS = 80
MIN_UNANSWERABLE_SHARE = 0.10


# After NFKC (which already folds full-width ASCII such as （）：，；０-９ to
# half-width), fold the CJK punctuation that NFKC leaves alone to one canonical
# form, so "〔2022〕", "[2022]" and "【2022】" compare equal, as do “引号” and "引号".
_PUNCT = str.maketrans(
    {
        "〔": "[",
        "〕": "]",
        "【": "[",
        "】": "]",
        "〖": "[",
        "〗": "]",
        "「": '"',
        "」": '"',
        "『": '"',
        "』": '"',
        "“": '"',
        "”": '"',
        "‘": "'",
        "’": "'",
        "《": "<",
        "》": ">",
        "〈": "<",
        "〉": ">",
        "。": ".",
        "、": ",",
        "—": "-",
        "–": "-",
        "‐": "-",
        "‑": "-",
        "－": "-",
        "─": "-",
        "•": "·",
        "・": "·",
    }
)


class GoldFormatError(ValueError):
    """A malformed line in the gold file; the message names the line and the reason."""


@dataclass
class GoldItem:
    id: str
    persona: str
    type: str
    question: str
    answer: str
    key_points: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    source: dict[str, Any] | None = None
    sources: list[dict[str, Any]] = field(default_factory=list)
    validity: dict[str, Any] | None = None

    @property
    def answerable(self) -> bool:
        return self.type != "unanswerable"

    @property
    def expected_coverage(self) -> str:
        """What a correct answer's `coverage` is: none (decline), partial, or full."""
        return {"unanswerable": "none", "partial": "partial"}.get(self.type, "full")

    @property
    def file(self) -> str | None:
        return self.source.get("file") if self.source else None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for name in OPTIONAL_FIELDS:  # written only when present, as in the files
            if not d[name]:
                del d[name]
        return d


def normalize_for_match(text: str) -> str:
    """Canonical form for substring matching: no whitespace, simplified, half-width, lower-case."""
    if not text:
        return ""
    text = "".join(text.split())  # first, so OpenCC sees whole phrases across stray spaces
    text = to_simplified(text)
    text = unicodedata.normalize("NFKC", text).translate(_PUNCT)
    return "".join(text.split()).lower()  # NFKC can turn e.g. U+3000 into a plain space


def contains(haystack: str, needle: str) -> bool:
    """True when `needle` occurs in `haystack` after normalisation of both (empty needle: False)."""
    n = normalize_for_match(needle)
    return bool(n) and n in normalize_for_match(haystack)


@lru_cache(maxsize=16)
def _normalized_file(path: str, mtime: float) -> str:
    # mtime is part of the key so an edited seed is re-read.
    return normalize_for_match(Path(path).read_text(encoding="utf-8"))


def _seed_text(seeds_dir: Path, name: str) -> str | None:
    path = seeds_dir / name
    if not path.is_file():
        return None
    return _normalized_file(str(path), path.stat().st_mtime)


def _parse_line(raw: str, lineno: int) -> GoldItem:
    """One JSON line -> GoldItem, or GoldFormatError naming the line and the problem."""
    where = f"line {lineno}"
    try:
        obj = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise GoldFormatError(f"{where}: invalid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(obj, dict):
        raise GoldFormatError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    missing = [f for f in FIELDS if f not in obj]
    extra = sorted(set(obj) - set(FIELDS) - set(OPTIONAL_FIELDS))
    if missing:
        raise GoldFormatError(f"{where}: missing field(s) {', '.join(missing)}")
    if extra:
        raise GoldFormatError(f"{where}: unexpected field(s) {', '.join(extra)}")
    for name in ("id", "persona", "type", "question", "answer"):
        if not isinstance(obj[name], str) or not obj[name].strip():
            raise GoldFormatError(f"{where}: field {name!r} must be a non-empty string")
    for name in ("key_points", "evidence"):
        value = obj[name]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise GoldFormatError(f"{where}: field {name!r} must be a list of strings")
    source = obj["source"]
    # an unanswerable item's source may be written as null or as an object of empty strings
    if isinstance(source, dict) and obj["type"] == "unanswerable" and not any(source.values()):
        source = obj["source"] = None
    if source is not None:
        _check_source(source, where, "source")
    sources = obj.get("sources") or []
    if not isinstance(sources, list):
        raise GoldFormatError(f"{where}: field 'sources' must be a list of source objects")
    for n, extra_source in enumerate(sources):
        _check_source(extra_source, where, f"sources[{n}]")
    validity = obj.get("validity")
    if validity is not None:
        _check_validity_shape(validity, where)
    return GoldItem(**{name: obj[name] for name in FIELDS}, sources=sources, validity=validity)


def _iso(value: Any) -> bool:
    from datetime import date

    try:
        return isinstance(value, str) and len(value) == 10 and bool(date.fromisoformat(value))
    except ValueError:
        return False


def _check_fields(obj: Any, fields: Sequence[str], where: str, name: str) -> None:
    """An object with exactly these fields, or GoldFormatError naming what is wrong."""
    if not isinstance(obj, dict):
        raise GoldFormatError(f"{where}: field {name!r} must be an object")
    missing = [f for f in fields if f not in obj]
    extra = sorted(set(obj) - set(fields))
    if missing:
        raise GoldFormatError(f"{where}: {name} is missing {', '.join(missing)}")
    if extra:
        raise GoldFormatError(f"{where}: {name} has unexpected field(s) {', '.join(extra)}")


def _check_validity_shape(v: Any, where: str) -> None:
    _check_fields(v, VALIDITY_FIELDS, where, "validity")
    if not isinstance(v["doc_number"], str) or not v["doc_number"].strip():
        raise GoldFormatError(f"{where}: validity.doc_number must be a non-empty string")
    for name in ("effective", "expiry"):
        if v[name] is not None and not _iso(v[name]):
            raise GoldFormatError(f"{where}: validity.{name} must be a YYYY-MM-DD date or null")
    days = v["in_force_on"]
    if not isinstance(days, dict) or not days:
        raise GoldFormatError(f"{where}: validity.in_force_on must be a non-empty object of YYYY-MM-DD: bool")
    for day, flag in days.items():
        if not _iso(day) or not isinstance(flag, bool):
            raise GoldFormatError(f"{where}: validity.in_force_on entries must be YYYY-MM-DD: true/false, got {day!r}: {flag!r}")


def _check_source(source: Any, where: str, name: str) -> None:
    _check_fields(source, SOURCE_FIELDS, where, name)
    if not isinstance(source["file"], str) or not source["file"].strip():
        raise GoldFormatError(f"{where}: {name}.file must be a non-empty string")
    # a document printed without a title line is named by its number alone
    if not isinstance(source["doc_title"], str) or not (source["doc_title"].strip() or source.get("doc_number")):
        raise GoldFormatError(f"{where}: {name}.doc_title must be a non-empty string (or doc_number given)")
    # a question about a whole document has no article to name
    if not isinstance(source["locator"], str):
        raise GoldFormatError(f"{where}: {name}.locator must be a string")
    if source["doc_number"] is not None and not isinstance(source["doc_number"], str):
        raise GoldFormatError(f"{where}: {name}.doc_number must be a string or null")


def load_gold(path: str | Path) -> list[GoldItem]:
    """Read a gold JSONL file; blank lines are skipped, malformed lines raise GoldFormatError."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise GoldFormatError(f"gold file not found: {path}") from None
    except UnicodeDecodeError as exc:
        raise GoldFormatError(f"{path}: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    items = []
    for lineno, raw in enumerate(text.splitlines(), 1):
        if raw.strip():
            items.append(_parse_line(raw, lineno))
    return items


def _check_item(item: GoldItem, lineno: int, seeds_dir: Path) -> list[str]:
    where = f"line {lineno} ({item.id})"
    problems = []
    if item.persona not in PERSONAS:
        problems.append(f"{where}: persona {item.persona!r} not one of {', '.join(PERSONAS)}")
    if item.type not in TYPES:
        problems.append(f"{where}: type {item.type!r} not one of {', '.join(TYPES)}")
    for span in item.evidence:
        if not EVIDENCE_MIN_CHARS <= len(span) <= EVIDENCE_MAX_CHARS:
            problems.append(
                f"{where}: evidence span has {len(span)} characters, "
                f"outside {EVIDENCE_MIN_CHARS}-{EVIDENCE_MAX_CHARS}: {span[:30]!r}"
            )
    if not item.answerable:
        if item.evidence or item.key_points or item.source is not None:
            problems.append(f"{where}: unanswerable item must have empty evidence and key_points and null source")
        return problems
    if not item.evidence:
        problems.append(f"{where}: answerable item has no evidence")
    if not item.key_points and item.type != "partial":  # a partial answer may state no fact at all
        problems.append(f"{where}: answerable item has no key_points")
    if item.source is None:
        problems.append(f"{where}: answerable item has no source")
        return problems
    names = list(dict.fromkeys([item.source["file"], *(s["file"] for s in item.sources)]))
    seeds = {name: _seed_text(seeds_dir, name) for name in names}
    for name, seed in seeds.items():
        if seed is None:
            problems.append(f"{where}: source file {name!r} not found in {seeds_dir}")
    if any(seed is None for seed in seeds.values()):
        return problems
    label = " / ".join(names)
    if item.validity and not any(normalize_for_match(item.validity["doc_number"]) in seed for seed in seeds.values() if seed):
        problems.append(f"{where}: validity.doc_number not found in {label}: {item.validity['doc_number']!r}")
    for span in item.evidence:
        if not any(normalize_for_match(span) in seed for seed in seeds.values() if seed):
            problems.append(f"{where}: evidence not found in {label}: {span[:40]!r}")
    for point in item.key_points:
        norm = normalize_for_match(point)
        if not norm or not any(norm in seed for seed in seeds.values() if seed):
            problems.append(f"{where}: key point not found in {label}: {point!r}")
        elif not contains(item.answer, point) and not any(contains(span, point) for span in _stated(item)):
            # the reference answer must itself pass the key-point check it defines, unless the
            # point is quoted in the evidence (a reference answer may paraphrase what it cites)
            problems.append(f"{where}: key point missing from the reference answer: {point!r}")
    return problems


def _stated(item: GoldItem) -> list[str]:
    """What an item cites verbatim: its evidence spans and the names of its documents."""
    names = [str(s.get(k) or "") for s in [item.source or {}, *item.sources] for k in ("doc_title", "doc_number")]
    return list(item.evidence) + [n for n in names if n]


def check_gold(path: str | Path, seeds_dir: str | Path) -> list[str]:
    """Human-readable problems with a gold file checked against the seed files; [] when valid.

    Checks: JSON and field shape (no extra fields), persona/type vocabularies, unique ids,
    evidence spans of 15-80 characters found in the named seed file, key points found in
    the seed file and in the reference answer, unanswerable items without evidence/source,
    answerable items with evidence, and at least 10% unanswerable items. Matching uses
    `normalize_for_match`, so traditional/simplified and width differences do not count.
    """
    path, seeds_dir = Path(path), Path(seeds_dir)
    if not path.is_file():
        return [f"gold file not found: {path}"]
    if not seeds_dir.is_dir():
        return [f"seeds directory not found: {seeds_dir}"]
    problems: list[str] = []
    items: list[tuple[int, GoldItem]] = []
    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not raw.strip():
            continue
        try:
            items.append((lineno, _parse_line(raw, lineno)))
        except GoldFormatError as exc:
            problems.append(str(exc))
    ids = Counter(item.id for _, item in items)
    for dup in sorted(i for i, n in ids.items() if n > 1):
        lines = [str(lineno) for lineno, item in items if item.id == dup]
        problems.append(f"duplicate id {dup} on lines {', '.join(lines)}")
    for lineno, item in items:
        problems.extend(_check_item(item, lineno, seeds_dir))
    if items:
        # partial questions (the detail asked is not in the documents) count with the unanswerable
        share = sum(1 for _, item in items if item.expected_coverage != "full") / len(items)
        if share < MIN_UNANSWERABLE_SHARE:
            problems.append(
                f"only {share:.1%} of {len(items)} items are unanswerable or partial; "
                f"need at least {MIN_UNANSWERABLE_SHARE:.0%}"
            )
    else:
        problems.append(f"{path}: no gold items")
    return problems
