"""Text helpers every stage shares. A leaf module: it imports nothing of the pipeline.

- `to_simplified`: traditional → simplified (one OpenCC converter per process).
- `compact` / `tidy`: whitespace as gazettes and PDFs scatter it.
- `normalize`: NFKC (full-width → half-width) + simplified, for matching people's typing.
- `sentences`: a passage cut at sentence ends (。；！？), keeping the end marks.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import opencc


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    return _t2s().convert(text)


_SPACES = re.compile(r"[ \u3000\u00a0]+")
_CJK_GAP = re.compile(r"(?<=[\u4e00-\u9fff“”《》（）、，])\s+(?=[\u4e00-\u9fff“”《》（）、，])")


def compact(text: str) -> str:
    """Drop all whitespace: gazette line breaks and PDF spacing put spaces anywhere."""
    return re.sub(r"\s+", "", text)


def tidy(text: str) -> str:
    """Collapse runs of spaces and remove spaces between Chinese characters (PDF artefacts)."""
    return _CJK_GAP.sub("", _SPACES.sub(" ", text)).strip()


def normalize(text: str) -> str:
    """Full-width → half-width, traditional → simplified, whitespace runs → one space."""
    t = to_simplified(unicodedata.normalize("NFKC", text or ""))
    return re.sub(r"\s+", " ", t).strip()


# a sentence: text up to and including its end marks (and a closing quote or bracket)
SENTENCE = re.compile(r"[^。；！？!?;\n]+(?:[。；！？!?;]+[”’」』）)]*)?")


def sentences(text: str, min_chars: int = 4) -> list[str]:
    """The sentences of a passage, stripped; fragments shorter than `min_chars` dropped."""
    return [s.strip() for s in SENTENCE.findall(text) if len(s.strip()) >= min_chars]
