"""Cross-references between articles of one document ("按照本政策第13条执行").

An article that says "see article 13" cannot be understood without article 13,
so the retriever attaches the referenced article as context. The table is
built once when the retriever loads (a regex pass over the chunks, a few ms);
a query only looks it up.
"""

from __future__ import annotations

import re
from collections import defaultdict

from qa.text import cn_number
from qa.models import Chunk

_NUM = r"[一二三四五六七八九十百零〇两\d]+"
_SCOPE = r"(?:政策|办法|暂行办法|实施办法|管理办法|意见|实施意见|方案|实施方案|规定|细则|条例|规划|预案|通知|决定)"
# "本办法第七条", "本政策第 13 条", "按照第十条", "违反第七条规定"; not "本条第一款" (that is itself),
# not "《…法》第十条" (another law: no "本…" and no verb right before 第).
REF_RE = re.compile(
    rf"(?:本{_SCOPE}\s*第\s*(?P<a>{_NUM})\s*条|(?:按照|依照|依据|根据|参照|适用|违反|符合|执行|按)\s*第\s*(?P<b>{_NUM})\s*条)"
)
# what may follow a reference: "第一款", "第（三）项", "、第八条", "和第十条第一款" …
_MORE_RE = re.compile(rf"\s*(?:第\s*{_NUM}\s*[款项]|第[（(]{_NUM}[）)]项|[、，,和及与或至到]\s*第\s*(?P<n>{_NUM})\s*条)")


def referenced_numbers(text: str) -> list[int]:
    """Article numbers a text refers to within its own document, in order."""
    out: list[int] = []
    for m in REF_RE.finditer(text):
        nums = [m.group("a") or m.group("b")]
        pos = m.end()
        while (more := _MORE_RE.match(text, pos)) is not None:
            if more.group("n"):
                nums.append(more.group("n"))
            pos = more.end()
        for n in nums:
            v = cn_to_int(n)
            if v and v not in out:
                out.append(v)
    return out


_ARTICLE_LOC = re.compile(rf"^第({_NUM})条")
_ARTICLE_RANGE = re.compile(rf"^第({_NUM})条[–\-~至]第({_NUM})条")
_ITEM_LOC = re.compile(r"(\d{1,3})\.(?:[–\-~](\d{1,3})\.)?$")



cn_to_int = cn_number  # one numeral parser for every stage (qa.text)


def _article_numbers(chunk: Chunk) -> tuple[str, list[int]]:
    """("article", [7]) for 第七条…, ("item", [13]) for 三、（四）13., else ("", [])."""
    loc = chunk.locator.replace(" ", "")
    m = _ARTICLE_RANGE.match(loc)
    if m:
        a, b = cn_to_int(m[1]), cn_to_int(m[2])
        return "article", list(range(a, b + 1)) if 0 < b - a < 20 else [a]
    m = _ARTICLE_LOC.match(loc)
    if m:
        return "article", [cn_to_int(m[1])]
    m = _ITEM_LOC.search(loc)
    if m:
        a = int(m[1])
        b = int(m[2]) if m[2] else a
        return "item", list(range(a, b + 1)) if 0 <= b - a < 20 else [a]
    return "", []


def build_reference_table(chunks: list[Chunk], max_refs: int = 4) -> dict[int, list[int]]:
    """row → rows of the articles its text refers to (same document, not itself)."""
    # per document: article number → rows (第N条 locators win over numbered items "13.")
    articles: dict[str, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
    items: dict[str, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
    for row, c in enumerate(chunks):
        kind, nums = _article_numbers(c)
        target = articles if kind == "article" else items if kind == "item" else None
        if target is not None:
            for n in nums:
                target[c.doc_id][n].append(row)
    table: dict[int, list[int]] = {}
    for row, c in enumerate(chunks):
        text = c.text_simplified
        if "第" not in text:
            continue
        found: list[int] = []
        for n in referenced_numbers(text):
            rows = articles[c.doc_id].get(n) if c.doc_id in articles else None
            if not rows:
                cand = items[c.doc_id].get(n, []) if c.doc_id in items else []
                # a numbered item is only meant if the number is unique in the document
                rows = cand if len({chunks[r].locator for r in cand}) == 1 else []
            for r in rows:
                if r != row and r not in found and chunks[r].locator != c.locator:
                    found.append(r)
        if found:
            table[row] = found[:max_refs]
    return table
