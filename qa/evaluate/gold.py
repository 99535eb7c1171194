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
from typing import Any

import opencc

PERSONAS = ("citizen", "enterprise", "evaluator")
TYPES = ("fact", "numeric", "list", "yesno", "multi", "by-doc", "unanswerable")
FIELDS = ("id", "persona", "type", "question", "answer", "key_points", "evidence", "source")
SOURCE_FIELDS = ("file", "doc_title", "doc_number", "locator")
EVIDENCE_MIN_CHARS = 15
EVIDENCE_MAX_CHARS = 80
MIN_UNANSWERABLE_SHARE = 0.10

# Building an OpenCC converter loads its dictionaries; do it once per process.
_T2S = opencc.OpenCC("t2s")

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

    @property
    def answerable(self) -> bool:
        return self.type != "unanswerable"

    @property
    def file(self) -> str | None:
        return self.source.get("file") if self.source else None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def normalize_for_match(text: str) -> str:
    """Canonical form for substring matching: no whitespace, simplified, half-width, lower-case."""
    if not text:
        return ""
    text = "".join(text.split())  # first, so OpenCC sees whole phrases across stray spaces
    text = _T2S.convert(text)
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
    extra = sorted(set(obj) - set(FIELDS))
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
    if source is not None:
        if not isinstance(source, dict):
            raise GoldFormatError(f"{where}: field 'source' must be an object or null")
        s_missing = [f for f in SOURCE_FIELDS if f not in source]
        s_extra = sorted(set(source) - set(SOURCE_FIELDS))
        if s_missing:
            raise GoldFormatError(f"{where}: source is missing {', '.join(s_missing)}")
        if s_extra:
            raise GoldFormatError(f"{where}: source has unexpected field(s) {', '.join(s_extra)}")
        for name in ("file", "doc_title", "locator"):
            if not isinstance(source[name], str) or not source[name].strip():
                raise GoldFormatError(f"{where}: source.{name} must be a non-empty string")
        if source["doc_number"] is not None and not isinstance(source["doc_number"], str):
            raise GoldFormatError(f"{where}: source.doc_number must be a string or null")
    return GoldItem(**{name: obj[name] for name in FIELDS})


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
    if not item.key_points:
        problems.append(f"{where}: answerable item has no key_points")
    if item.source is None:
        problems.append(f"{where}: answerable item has no source")
        return problems
    name = item.source["file"]
    seed = _seed_text(seeds_dir, name)
    if seed is None:
        problems.append(f"{where}: source file {name!r} not found in {seeds_dir}")
        return problems
    for span in item.evidence:
        if normalize_for_match(span) not in seed:
            problems.append(f"{where}: evidence not found in {name}: {span[:40]!r}")
    for point in item.key_points:
        norm = normalize_for_match(point)
        if not norm or norm not in seed:
            problems.append(f"{where}: key point not found in {name}: {point!r}")
        elif not contains(item.answer, point):
            # the reference answer must itself pass the key-point check it defines
            problems.append(f"{where}: key point missing from the reference answer: {point!r}")
    return problems


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
        share = sum(1 for _, item in items if item.type == "unanswerable") / len(items)
        if share < MIN_UNANSWERABLE_SHARE:
            problems.append(
                f"only {share:.1%} of {len(items)} items are unanswerable; "
                f"need at least {MIN_UNANSWERABLE_SHARE:.0%}"
            )
    else:
        problems.append(f"{path}: no gold items")
    return problems
