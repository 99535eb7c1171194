"""Citation markers in an LLM answer: parse, validate, renumber, and quote.

A model may write [1], [1][2], [1,2], [1、2], [1-3], 【1】 or full-width digits.
Markers that point to no passage are removed; the rest are renumbered 1..n in
order of first appearance, so the answer and its Citation list always agree and
a citation can never point outside the passages the model was given.
〔〕 is deliberately not a marker bracket: it is part of 发文字号 (招政发〔2022〕8号).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from qa.models import Chunk, Citation, Document, Hit
from qa.text import to_simplified

# The one fixed refusal sentence; qa.answer.prompts passes it to system.md as {{refusal}}
# so the prompt and the refusal detection can never drift apart.
REFUSAL = "根据现有文件无法回答该问题。"
_REFUSAL_CORE = REFUSAL.rstrip("。")

_DIGITS = "0-9０-９"
_SEP = r",，、;；\s"
# One bracketed group; the content class excludes brackets, so rewriting a group
# as "[a][b]" can never form a new group with its neighbours.
_GROUP = re.compile(rf"[\[【［]\s*[{_DIGITS}]+(?:\s*(?:[{_SEP}]+|[-–~～至])\s*[{_DIGITS}]+)*\s*[\]】］]")
_RUN = re.compile(rf"{_GROUP.pattern}(?:[ \t]*{_GROUP.pattern})*")
_NUMBER = re.compile(rf"[{_DIGITS}]+")
_RANGE = re.compile(rf"([{_DIGITS}]+)\s*[-–~～至]\s*([{_DIGITS}]+)")
_FULLWIDTH = str.maketrans("０１２３４５６７８９", "0123456789")
_MAX_RANGE = 20  # "[1-3]" expands; a huge range is a typo or a year, not a citation

# Sentence ends in an answer or a passage (marks after them still belong to the sentence).
_TERMINATORS = "。；！？!?;\n"
_PASSAGE_SENTENCE = re.compile(r"[^。；！？!?;\n]+(?:[。；！？!?;]+[”’」』）)]*)?")


def _numbers(group: str) -> list[int]:
    """Numbers of one marker group, in written order, without duplicates."""
    group = group.translate(_FULLWIDTH)
    out: list[int] = []
    pos = 0
    for m in _RANGE.finditer(group):
        out += [int(x) for x in _NUMBER.findall(group[pos : m.start()])]
        lo, hi = int(m.group(1)), int(m.group(2))
        out += list(range(lo, hi + 1)) if 0 <= hi - lo <= _MAX_RANGE else [lo, hi]
        pos = m.end()
    out += [int(x) for x in _NUMBER.findall(group[pos:])]
    return list(dict.fromkeys(out))


def parse_markers(text: str) -> list[int]:
    """All marker numbers in `text`, in order of first appearance, without duplicates."""
    out: list[int] = []
    for m in _GROUP.finditer(text):
        out += _numbers(m.group(0))
    return list(dict.fromkeys(out))


def strip_markers(text: str) -> str:
    """The text with every citation marker removed (to a fixed point: "[[1]2]" leaves nothing)."""
    while True:
        stripped = _GROUP.sub("", text)
        if stripped == text:
            return text
        text = stripped


def is_refusal(text: str) -> bool:
    """The model's answer is (or starts with) the fixed refusal sentence."""
    squeezed = "".join(strip_markers(text).split()).lstrip("“\"'「")
    return squeezed.startswith(_REFUSAL_CORE)


def _drop_invalid(text: str, valid: range) -> str:
    """Remove numbers outside `valid` from every group; drop groups left empty.

    Repeated to a fixed point: removing "[9]" from "[[9]1]" would otherwise
    leave a new, unvalidated "[1]" behind.
    """
    while True:
        changed = False

        def fix(m: re.Match[str]) -> str:
            nonlocal changed
            nums = _numbers(m.group(0))
            keep = [n for n in nums if n in valid]
            if len(keep) == len(nums):
                return m.group(0)
            changed = True
            return "".join(f"[{n}]" for n in keep)

        text = _GROUP.sub(fix, text)
        if not changed:
            return text


def map_citations(answer_text: str, passages: Sequence[Hit]) -> tuple[str, list[Citation], bool]:
    """Validate and renumber the markers of `answer_text` against `passages` ([1] = passages[0]).

    Returns (clean text, citations ordered by marker 1..n, flagged) where
    flagged means the answer makes claims but carries no valid citation.
    """
    text = _drop_invalid(answer_text or "", range(1, len(passages) + 1))

    renumber: dict[int, int] = {}  # old marker -> new marker, by first appearance
    for m in _RUN.finditer(text):
        for n in _numbers(m.group(0)):
            renumber.setdefault(n, len(renumber) + 1)

    def canonical(m: re.Match[str]) -> str:
        new = sorted({renumber[n] for n in _numbers(m.group(0))})
        return "".join(f"[{n}]" for n in new)

    clean = _RUN.sub(canonical, text)
    clean = re.sub(r"[ \t]+(?=[，。；！？、,.;!?\n])", "", clean)  # space left before punctuation
    clean = re.sub(r"[ \t]{2,}", " ", clean).strip()

    claims: dict[int, list[str]] = {}
    for sentence, markers in _answer_sentences(clean):
        for n in markers:
            claims.setdefault(n, []).append(sentence)

    old_of = {new: old for old, new in renumber.items()}
    citations = []
    for new in sorted(old_of):
        hit = passages[old_of[new] - 1]
        citations.append(_citation(new, hit, claims.get(new, [])))

    has_claims = any(ch.isalnum() for ch in strip_markers(clean)) and not is_refusal(clean)
    return clean, citations, has_claims and not citations


def _answer_sentences(text: str) -> list[tuple[str, list[int]]]:
    """Split an answer into (sentence without markers, its marker numbers).

    Markers written right after the sentence end ("…补助。[1]") belong to that sentence.
    """
    out: list[tuple[str, list[int]]] = []
    trailing = re.compile(rf"[ \t]*(?:{_RUN.pattern})")
    start = pos = 0
    while pos < len(text):
        if text[pos] in _TERMINATORS:
            end = pos + 1
            while end < len(text) and text[end] in _TERMINATORS:
                end += 1
            m = trailing.match(text, end)
            end = m.end() if m else end
            out.append(_sentence(text[start:end]))
            start = pos = end
        else:
            pos += 1
    if start < len(text):
        out.append(_sentence(text[start:]))
    return [s for s in out if s[0] or s[1]]


def _sentence(chunk: str) -> tuple[str, list[int]]:
    return strip_markers(chunk).strip(), parse_markers(chunk)


# --- quotes ---------------------------------------------------------------------------------


def _normal(text: str, traditional: bool) -> str:
    text = text.translate(_FULLWIDTH)
    if traditional:
        text = to_simplified(text)
    return "".join(ch for ch in text if ch.isalnum())


def _overlap(claim: str, sentence: str) -> tuple[int, int]:
    """Character-bigram overlap, then character overlap: Chinese has no word spaces."""
    cb = {claim[i : i + 2] for i in range(len(claim) - 1)}
    sb = {sentence[i : i + 2] for i in range(len(sentence) - 1)}
    return len(cb & sb), len(set(claim) & set(sentence))


def _sentence_spans(text: str) -> list[tuple[int, int]]:
    spans = []
    for m in _PASSAGE_SENTENCE.finditer(text):
        seg = m.group(0)
        start = m.start() + len(seg) - len(seg.lstrip())
        end = m.end() - (len(seg) - len(seg.rstrip()))
        if end > start:
            spans.append((start, end))
    return spans


def passage_sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in _sentence_spans(text)]


def best_quote(passage: str, claims: Sequence[str], traditional: bool = False) -> str:
    """The passage sentence(s) that best support the claims, verbatim.

    One best sentence per claim (maximal overlap); adjacent picks are quoted as
    one stretch of the passage, gaps are shown as ……. No claim text: the first sentence.
    """
    spans = _sentence_spans(passage)
    if not spans:
        return passage.strip()
    normal = [_normal(passage[a:b], traditional) for a, b in spans]
    picked: set[int] = set()
    for claim in claims:
        c = _normal(claim, False)
        if not c:
            continue
        scores = [_overlap(c, s) for s in normal]
        best = max(range(len(spans)), key=lambda i: (scores[i], -i))
        if scores[best] > (0, 0):
            picked.add(best)
    order = sorted(picked or {0})
    runs: list[list[int]] = [[order[0]]]
    for i in order[1:]:
        if i == runs[-1][-1] + 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    return "……".join(passage[spans[r[0]][0] : spans[r[-1]][1]] for r in runs)


def _citation(marker: int, hit: Hit, claims: Sequence[str]) -> Citation:
    return citation_for(marker, hit.chunk, hit.document, best_quote(hit.chunk.text, claims, hit.document.traditional))


def citation_for(marker: int, chunk: Chunk, document: Document, quote: str) -> Citation:
    """The Citation record of one article, quoting `quote` (verbatim from the article)."""
    return Citation(
        marker=marker,
        chunk_id=chunk.chunk_id,
        doc_title=document.title,
        doc_number=document.number,
        locator=chunk.locator,
        issuer=document.issuer,
        date=document.date,
        region=document.region,
        quote=quote,
        passage=chunk.text,
        source_file=document.source_file,
    )


def defuse_markers(text: str) -> str:
    """Source text that looks like a citation marker — 发文字号 written with ASCII brackets,
    (鲁文艺[2018]4号), footnotes [1] — is shown with 〔〕 in an answer, so every [n] in an
    answer is one of its citations (the Citation's quote keeps the verbatim text)."""
    return _GROUP.sub(lambda m: "〔" + m.group(0)[1:-1].strip() + "〕", text)
