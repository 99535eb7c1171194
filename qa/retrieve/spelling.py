"""Typos of everyday words, fixed by sound: 养够 → 养狗, 补帖 → 补贴.

People type Chinese by pinyin, so a wrong character usually sounds like the right one. A word
of the question is corrected only when it is not a word at all — in neither jieba's dictionary
nor the collection, or in jieba's only as a slip a thousand times rarer than the word it sounds
like (时侯 beside 时候) — and exactly one everyday word of qa/data/terms.toml, differing from it in
one character only, has the same toneless pinyin. Anything else is left as typed. (The collection's
own vocabulary is not a target: it sits too close to jieba's cross-word tokens, 被查 → 备查.)
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cached_property, lru_cache

_CJK = re.compile(r"^[\u4e00-\u9fff]{2,4}$")


@lru_cache(maxsize=4096)
def _sound(word: str) -> tuple[str, ...]:
    from pypinyin import lazy_pinyin

    return tuple(lazy_pinyin(word))


def _one_char_apart(a: str, b: str) -> bool:
    return len(a) == len(b) and sum(x != y for x, y in zip(a, b)) == 1


_SLIP_RATIO = 1000  # a dictionary word this many times rarer than its sound-alike is a common slip (时侯)


def _frequency(token: str) -> int:
    import jieba

    jieba.dt.check_initialized()
    return jieba.dt.FREQ.get(token) or 0


class Speller:
    def __init__(self, vocabulary: Iterable[str], corpus_text: str = "") -> None:
        self.corpus_text = corpus_text
        self._known = {w for w in vocabulary if _CJK.match(w)}
        by_sound: dict[tuple[str, ...], set[str]] = {}
        for w in self._known:
            by_sound.setdefault(_sound(w), set()).add(w)
        self._by_sound = by_sound

    @cached_property
    def _top_frequency(self) -> int:
        """How common the most common everyday word is in jieba's dictionary."""
        return max((_frequency(w) for w in self._known), default=0)

    def correct(self, text: str) -> tuple[str, list[tuple[str, str]]]:
        """The text with typos replaced, and the (typed, corrected) pairs."""
        import jieba

        fixes: list[tuple[str, str]] = []
        for token in dict.fromkeys(jieba.lcut(text)):
            if not _CJK.match(token) or token in self._known or token in self.corpus_text:
                continue
            seen = _frequency(token)
            if seen * _SLIP_RATIO > self._top_frequency:
                continue  # a word too common to be anyone's slip: no sound to look up
            # a slip of one character: same sound, all other characters as typed ("狗要" → "购药"
            # changes two characters and is a word boundary, not a typo)
            candidates = {c for c in self._by_sound.get(_sound(token), set()) if _one_char_apart(token, c)}
            if seen:  # a word in its own right unless it is a rare slip of the word it sounds like
                candidates = {c for c in candidates if _frequency(c) >= _SLIP_RATIO * seen}
            if len(candidates) == 1:
                fixes.append((token, next(iter(candidates))))
        for typed, right in fixes:
            text = text.replace(typed, right)
        return text, fixes
