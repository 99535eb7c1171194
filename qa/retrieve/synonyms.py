"""Everyday words → the words the documents use (狗 → 犬, 办证 → 登记, 房租 → 租金).

People ask "我家狗要办证吗？"; the 招远 opinion says 犬只登记. One table serves two places:
The table is data (qa/data/terms.toml, [official]); `expand` appends the official terms to the question (so the dense query and the sentence
scorer see them; the question itself is kept), and `qa.retrieve.lexical.LexicalQuery` adds
those of them that are indexed terms to the BM25 query.
"""

from __future__ import annotations

from qa import data

OFFICIAL_TERMS: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in data.load("terms.toml")["official"].items()}
# everyday words a typo is corrected to, beside those of OFFICIAL_TERMS (qa.retrieve.spelling)
SPELLING_WORDS: tuple[str, ...] = tuple(data.load("terms.toml").get("spelling", {}).get("words", []))
# a short everyday word inside these longer words means something else (补交 pays what is owed: no 补贴)
NOT_INSIDE: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in data.load("terms.toml").get("not_inside", {}).items()}


def _says(question: str, word: str) -> bool:
    """`word` occurs in the question other than inside one of the longer words it does not mean there."""
    if word not in question:
        return False
    for longer in NOT_INSIDE.get(word, ()):
        question = question.replace(longer, "")
    return word in question


def official_terms(question: str, table: dict[str, tuple[str, ...]] | None = None) -> list[str]:
    """The official terms for the everyday words in `question`, de-duplicated, in table order."""
    table = OFFICIAL_TERMS if table is None else table
    return list(dict.fromkeys(t for word, terms in table.items() if _says(question, word) for t in terms))


def expand(question: str) -> str:
    """The question with the official terms it does not already contain appended."""
    extra = [t for t in official_terms(question) if t not in question]
    return question if not extra else question + " " + " ".join(extra)
