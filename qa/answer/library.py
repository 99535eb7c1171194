"""The indexed documents as the answer stage reads them: a document's articles in order, its
opening, its outline, and what the whole collection covers (regions and years)."""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from functools import lru_cache

from qa import data
from qa.answer.quote import wrapped_mid_sentence
from qa.chunk.outline import split_number
from qa.models import Chunk, Document, Hit
from qa.text import ANY_DATE_LINE, compact, to_simplified

TITLE_CHARS = 30  # an article no longer than this, without a sentence, is a title
RARE_ARTICLES = 2  # a word in no more articles than this is one the collection does not speak of
ANNOUNCES = re.compile(r"[:：]\s*$")  # a text that ends announcing what follows ("扶持条件：")
_ADDRESSEE = re.compile(r"^各[^。]{2,80}[:：]")  # 各镇人民政府，各街道办事处…： (also with a stray word after it)
# lines of a document's head and covering notice that say nothing about what it is for
_NUMBER_LINE = re.compile(r"[〔\[【(（]\s*\d{4}\s*[〕\]】)）]\s*\d+\s*号$|^第\d+号$")
_BOILERPLATE = re.compile(r"印发给你们|现予印发|请认真(?:贯彻|遵照|组织|抓好)|遵照执行|请结合实际|此件公开发布")
_TITLE_LIKE = re.compile(r"^[^。；，,：:]{0,30}关于[^。；，,]{2,60}$")  # a title line, broken or with its issuer
_PURPOSE = re.compile(
    r"^(第[一二三四五六七八九十百]+条\s*)?(为|根据|按照|依据|现就|为了|为进一步|为切实|为深入|为全面|为加快|为推动|为贯彻)"
)
_CONTENTS = re.compile(r"^[一二三四五六七八九十]{1,3}、\s*(?:主要|重点|核心)内容\s*$")
CONTENTS_DEPTH = 2  # title, section
_GOAL = re.compile(r"(?:工作|总体|主要|发展|规划)目标|目标任务")
# an item of a top-level section labelled as the targets ("二、基本原则、任务目标和时间要求 / 2. 任务目标：完成
# 投保人数…"); deeper items (a compilation's "1. 明确任务目标") are one measure's, not the document's
GOAL_ITEM_DEPTH = 3  # title, section, item
GOAL_LABEL = r"(?:(?:工作|总体|主要|发展|规划|任务)目标|目标任务)\s*[：:]"  # "任务目标：" (compose drops it when quoting)
# a sentence of a goal section that sets a target ("到2025年，全面建立…"), not its guiding-thought preamble
TARGET = re.compile(r"(?:到|至|力争)\s*\d{4}\s*年|\d{4}\s*年(?:底|前|以前)")
_GOAL_ITEM = re.compile(
    r"^\s*(?:[一二三四五六七八九十]{1,3}、\s*)?(?:[（(][一二三四五六七八九十]{1,3}[）)]|\d{1,2}\s*[.．、])\s*" + GOAL_LABEL
)


@lru_cache(maxsize=1)
def _rosters() -> tuple[re.Pattern[str], re.Pattern[str]]:
    table = data.load("sections.toml")["rosters"]
    return re.compile(table["titles"]), re.compile(table["asks"])


def _roster(c: Chunk, titles: re.Pattern[str]) -> bool:
    """A chunk of an attachment listing people: its part's title says so and it states at most one sentence."""
    return c.locator.startswith("附件") and len(c.heading_path) > 1 and bool(titles.search(c.heading_path[1])) and c.text.count("。") <= 1


def _lines(text: str) -> list[tuple[str, str]]:
    """(line, key) for each line of `text`: the line without a list mark ("- ", "* "), and its compact simplified form."""
    out = []
    for line in text.splitlines():
        line = line.strip().lstrip("-* ").strip()
        out.append((line, compact(to_simplified(line))))
    return out


def _with_wrapped_start(text: str, prev: str, line: str) -> str:
    """`line` with the line before it when the source wrapped a sentence there ("《…关于修改〈烟台市燃放烟花爆" /
    "竹管理条例〉的决定》已于…"): a statement quoted from its start, not from mid-word."""
    joined = f"{prev}\n{line}"
    return joined if prev and wrapped_mid_sentence(prev, line) and joined in text else line


def _title_only(text: str) -> bool:
    """An article that is only its title ("第七条 变更应提供的资料"): its items follow it."""
    return len(compact(text)) <= TITLE_CHARS and not re.search(r"[。；;]", text)


def _named(heading: str) -> bool:
    """A numbered section with a name (一、总体要求, （一）申请), not a bare number (第六条, 3.)."""
    number, name = split_number(compact(heading))
    return bool(number) and bool(name.strip("、.．:："))


class DocumentLibrary:
    def __init__(self, documents: list[Document], chunks: list[Chunk]) -> None:
        self.by_id = {d.doc_id: d for d in documents}
        self._chunks: dict[str, list[Chunk]] = defaultdict(list)
        for c in chunks:
            self._chunks[c.doc_id].append(c)
        for rows in self._chunks.values():
            rows.sort(key=lambda c: c.start)
        # each article's place in its document: pieces, continuation and every citation look it up
        self._at = {c.chunk_id: n for rows in self._chunks.values() for n, c in enumerate(rows)}
        # how rare each character bigram is across articles: a question's rare words decide
        # which article answers it ("犬" matters, "规定" does not)
        df: Counter[str] = Counter()
        for c in chunks:
            t = c.text_simplified
            df.update({t[i : i + 2] for i in range(len(t) - 1)} | set(t))  # bigrams and single characters
        n = max(len(chunks), 1)
        self._idf = {g: math.log(1 + n / k) for g, k in df.items()}
        self._idf_unseen = self.max_idf = math.log(1 + n)
        self._rare_idf = math.log(1 + n / RARE_ARTICLES)
        self.grams = frozenset(g for g in self._idf if len(g) == 2)  # every bigram of the collection

    def word_idf(self, word: str) -> float:
        """What a word weighs: the idf of its rarest bigram (a single character: that character)."""
        return max((self.idf(word[i : i + 2]) for i in range(len(word) - 1)), default=self.idf(word))

    def rare(self, word: str) -> bool:
        """The collection (nearly) never says `word`: one of its bigrams (a single character: itself)
        is in at most RARE_ARTICLES articles (猫 only in 天猫, 活鱼 nowhere)."""
        return bool(word) and self.word_idf(word) >= self._rare_idf

    def idf(self, gram: str) -> float:
        """Inverse article frequency of a bigram (single characters and unseen grams: the maximum)."""
        return self._idf.get(gram, self._idf_unseen)

    def chunks(self, doc_id: str) -> list[Chunk]:
        return self._chunks.get(doc_id, [])

    def opening(self, doc_id: str) -> list[Chunk]:
        """The covering notice and the preamble, or else the first article."""
        rows = self.chunks(doc_id)
        lead = [c for c in rows[:4] if c.kind in ("notice", "preamble")]
        return lead or rows[:1]

    def purpose(self, doc_id: str) -> tuple[Chunk, str] | None:
        """The paragraph that says what the document is for (为…，制定本办法 / 现就…提出如下意见),
        else its first statement (a 批复's decision); with the chunk it comes from. The head's
        title, 发文字号, date, addressee and the notice's 现印发给你们 are not statements."""
        d = self.by_id.get(doc_id)
        candidates: list[tuple[Chunk, str]] = []
        announcing: list[tuple[Chunk, str]] = []  # "现将第一届…名单（共10名）公布如下："
        others: list[tuple[Chunk, str]] = []
        opening = self.opening(doc_id)
        for c in opening + [c for c in self.chunks(doc_id)[:3] if c not in opening]:
            prev = ""
            for line, key in _lines(c.text):
                joined = _with_wrapped_start(c.text, prev, line)
                if joined != line and not self._head_line(compact(to_simplified(prev)), d, title_like=False):
                    line = joined  # not the title before the first statement
                prev = line.rsplit("\n", 1)[-1]
                if len(key) < 12:
                    continue
                if _PURPOSE.match(key) and re.search(r"[，,。]", key):
                    return c, line  # even when it ends by announcing a list (名单如下：) or 现将…印发给你们
                if self._head_line(key, d):
                    continue
                if key.endswith(("：", ":")):
                    if re.search(r"[，,。]", key):
                        announcing.append((c, line))
                    continue
                # a statement before a heading ("2.2 指挥机构") or a list entry (尹晶（女） 淄博…公司)
                statement = bool(re.search(r"[，,。；;]", key)) or len(key) >= 30
                (candidates if statement else others).append((c, line))
        # a statement announcing what follows says more of what the document is for than an entry of its list
        return (candidates or announcing or others or [None])[0]

    def announced(self, chunk: Chunk, line: str, max_chars: int) -> str:
        """The statements that follow `line` ("…具体情况如下：") in `chunk`, up to the signature or
        date and at most `max_chars` characters; "" when none follows."""
        at = chunk.text.find(line)
        if at < 0:
            return ""
        d = self.by_id.get(chunk.doc_id)
        out: list[str] = []
        for row in chunk.text[at + len(line) :].splitlines():
            row = row.strip()
            key = compact(to_simplified(row))
            if not key:
                continue
            if self._head_line(key, d) or sum(map(len, out)) + len(row) > max_chars:
                break
            out.append(row)
        return "\n".join(out)

    @staticmethod
    def _head_line(key: str, d: Document | None, title_like: bool = True) -> bool:
        """A line of the document's head or covering notice: its title (with the issuer before
        it), 发文字号, date, addressee, signature or 现印发给你们; with `title_like`, also any line shaped
        like a title (…关于…, no punctuation), which may be the wrapped start of a sentence naming one."""
        if _NUMBER_LINE.search(key) or ANY_DATE_LINE.match(key) or _BOILERPLATE.search(key) or (title_like and _TITLE_LIKE.match(key)):
            return True
        if len(key) < 100 and _ADDRESSEE.match(key):
            return True
        if d is None:
            return False
        titles = [compact(to_simplified(t)) for t in (d.title, d.notice_title or "", d.issuer or "") if t]
        bare = key.strip("《》")
        # the title or issuer, whole, with the issuer before it, or a piece of a title broken over lines
        return any(t and ((t in key and len(key) <= len(t) + 16) or bare in t) for t in titles)

    def without_rosters(self, hits: list[Hit], question: str) -> list[Hit]:
        """The hits less those in an attachment listing people (qa/data/sections.toml [rosters]), unless the
        question asks about people."""
        titles, asks = _rosters()
        if asks.search(question):
            return hits
        return [h for h in hits if not _roster(h.chunk, titles)]

    def preface(self, doc_id: str, purpose: Chunk | None, max_lines: int = 3) -> tuple[Chunk, list[tuple[str, str]]] | None:
        """What the issued document says of itself before its first section, when its purpose was
        taken from the covering notice ("2022年起实施的新政策清单 共计56项，从2022年1月1日起实施。"):
        the preamble's statements (sentences ending in 。, not its title or contents lines), each with
        the short line before it that names what it is about ("" when none)."""
        if purpose is None or purpose.kind != "notice":
            return None
        d = self.by_id.get(doc_id)
        for c in self.opening(doc_id):
            if c.kind != "preamble":
                continue
            lines: list[tuple[str, str]] = []
            label = ""  # a short line naming what the statement after it is about ("2022年起实施的新政策清单")
            for line, key in _lines(c.text):
                if len(key) >= 8 and key.endswith("。") and not self._head_line(key, d) and not _PURPOSE.match(key):
                    lines.append((label, line))  # not a second "为…制定本方案" after the notice's
                    label = ""
                else:
                    label = line if 4 <= len(key) <= 30 and not re.search(r"[，,。；;：:\d]$", key) else ""
            return (c, lines[:max_lines]) if lines else None
        return None

    def statements_after(self, chunk: Chunk, line: str, max_chars: int) -> list[tuple[Chunk, str]]:
        """What a document without sections says after its purpose `line` (in `chunk`): the following
        statements of its text, attachments included ("2020年10月底前与市政府有关部门完成对接…",
        "要求：由区人社局负责牵头落实…"), at most `max_chars` characters. A line wrapped inside a
        sentence is joined to the next; table rows, the head and signature lines are not statements."""
        at, d = self._place(chunk), self.by_id.get(chunk.doc_id)
        if at is None:
            return []
        out: list[tuple[Chunk, str]] = []
        for n, c in enumerate(self.chunks(chunk.doc_id)[at:]):
            if c.kind not in ("notice", "preamble"):
                break  # its articles are answered by the outline and the cited articles
            text = c.text[c.text.find(line) + len(line) :] if n == 0 and line in c.text else c.text
            pending = ""
            for row, _ in _lines(text):
                if "\t" in row or "|" in row:
                    pending = ""  # a table row
                    continue
                pending += row
                if not re.search(r"[。；;]$", pending):
                    continue
                key, said = compact(to_simplified(pending)), pending
                pending = ""
                if len(key) < 12 or self._head_line(key, d):
                    continue
                if sum(len(x) for _, x in out) + len(said) > max_chars:
                    return out
                out.append((c, said))
        return out

    def goal(self, doc_id: str) -> Chunk | None:
        """The section stating the document's targets (工作目标 / 总体目标 …), if it has one."""
        body = [c for c in self.chunks(doc_id) if c.kind not in ("notice", "preamble")]
        return next((c for c in body if c.heading_path and _GOAL.search(c.heading_path[-1])), None) or next(
            (c for c in body if len(c.heading_path) <= GOAL_ITEM_DEPTH and _GOAL_ITEM.match(c.text)), None
        )

    def contents(self, doc_id: str) -> Chunk | None:
        """The section that says it is the document's main content ("二、主要内容"), if one has text of its own."""
        return next(
            (c for c in self.chunks(doc_id) if len(c.heading_path) == CONTENTS_DEPTH
             and _CONTENTS.match(to_simplified(c.heading_path[-1].strip()))
             and len(compact(c.text)) > len(compact(c.heading_path[-1])) + 4),
            None,
        )

    def _place(self, chunk: Chunk) -> int | None:
        """The chunk's index among its document's articles; None when it is not in the library."""
        at = self._at.get(chunk.chunk_id)
        rows = self.chunks(chunk.doc_id)
        return at if at is not None and at < len(rows) and rows[at].chunk_id == chunk.chunk_id else None

    def continuation(self, chunk: Chunk, max_items: int = 4, max_chars: int | None = 360) -> list[Chunk]:
        """The items that continue a list announced with a colon ("扶持条件：", "应当符合以下条件：")
        in the following articles, one level deeper; [] when the next article is not one of them.
        At most `max_items` items and `max_chars` characters (None: however long)."""
        at = self._place(chunk)
        if at is None:
            return []
        out: list[Chunk] = []
        depth = len(chunk.heading_path)
        for nxt in self.chunks(chunk.doc_id)[at + 1 :][:max_items]:
            too_long = max_chars is not None and sum(len(x.text) for x in out) + len(nxt.text) > max_chars
            if len(nxt.heading_path) <= depth or nxt.heading_path[:depth] != chunk.heading_path or too_long:
                break  # not under the article (a section whose heading has no text of its own starts)
            out.append(nxt)
        return out

    @staticmethod
    def announces(chunk: Chunk) -> bool:
        """Items follow the article: it ends announcing them ("扶持条件：") or is only a title
        ("第七条 变更应提供的资料")."""
        return bool(ANNOUNCES.search(chunk.text)) or _title_only(chunk.text)

    def announcer(self, chunk: Chunk, max_items: int = 15) -> Chunk | None:
        """The article announcing the list `chunk` is an item of ("第六条 救助基金的来源主要包括："
        for its （一）): a list question asks for the whole list. None when `chunk` is no such item."""
        at = self._place(chunk)
        parent = chunk.heading_path[:-1]
        if at is None or not parent or not split_number(compact(parent[-1]))[0]:
            return None  # the items of a numbered article or section, not a preamble's "特制定本意见如下："
        for r in reversed(self.chunks(chunk.doc_id)[max(0, at - max_items) : at]):
            if len(r.heading_path) < len(chunk.heading_path):
                head = r.heading_path == parent and self.announces(r)
                return r if head and chunk in self.continuation(r, max_items, max_chars=None) else None
        return None

    def pieces(self, chunk: Chunk) -> list[Chunk]:
        """The pieces of the article `chunk` belongs to, in order (itself alone when the article was
        not split to the token limit): adjacent chunks of its document with its locator and headings."""
        rows = self.chunks(chunk.doc_id)
        at = self._place(chunk)
        if at is None:
            return [chunk]

        def same(r: Chunk) -> bool:
            return r.locator == chunk.locator and r.heading_path == chunk.heading_path

        lo = at
        while lo > 0 and same(rows[lo - 1]):
            lo -= 1
        hi = at + 1
        while hi < len(rows) and same(rows[hi]):
            hi += 1
        return rows[lo:hi]

    def outline(self, doc_id: str, depth: int = 2, limit: int = 14) -> list[tuple[str, str]]:
        """(locator, heading) of the document's sections, at most `depth` levels deep."""
        return [(locator, heading) for locator, heading, _ in self.outline_levels(doc_id, depth, limit)]

    def outline_levels(self, doc_id: str, depth: int = 2, limit: int = 14) -> list[tuple[str, str, int]]:
        """(locator, heading, level) of the document's sections, at most `depth` levels deep (level 0:
        一、…; 1: （一）…; 2: 1. …) and at most `limit`, in the document's order: every top-level one
        (a card that named 3 of a document's 6 parts would misstate what it is about), the others in
        order while there is room."""
        found: list[tuple[str, str, int]] = []
        keys: set[str] = set()
        d = self.by_id.get(doc_id)
        title = compact(to_simplified(d.title)) if d else ""
        for c in self.chunks(doc_id):
            path = [h for h in c.heading_path if compact(to_simplified(h)) != title]
            for level, heading in enumerate(path[:depth]):
                key = compact(heading)
                if key in keys or len(key) < 2 or not _named(key):
                    continue  # only numbered sections (一、 （一） 1. 第X章 …) with a name, not repeated titles
                keys.add(key)
                # "(一) 即办件:" names its section; the colon announced the text under it, not the next heading
                found.append((c.locator if level == len(path) - 1 else "", heading.strip().rstrip(":：").rstrip(), level))
        tops = [n for n, entry in enumerate(found) if entry[2] == 0][:limit]
        kept = set(tops) | set([n for n, entry in enumerate(found) if entry[2] > 0][: max(0, limit - len(tops))])
        return [entry for n, entry in enumerate(found) if n in kept]

    def section(self, chunk: Chunk) -> list[Chunk]:
        """The articles of the section `chunk` is in (under the same parent headings: 第48项's 政策原文
        and 情况说明), in order; itself alone at the top of a document."""
        parent = chunk.heading_path[:-1]
        if len(parent) < 2:
            return [chunk]
        return [c for c in self.chunks(chunk.doc_id) if c.heading_path[: len(parent)] == parent]

    def siblings(self, chunk: Chunk) -> list[tuple[str, str]]:
        """(locator, heading) of the numbered items the chunk's own item is one of (一、… 十、 of
        a 十件实事 plan), in document order; [] when it is not a numbered item."""
        path = chunk.heading_path
        if len(path) < 2 or not split_number(compact(path[-1]))[0]:
            return []
        out: list[tuple[str, str]] = []
        seen: set[str] = set()
        for c in self.chunks(chunk.doc_id):
            p = c.heading_path
            if len(p) == len(path) and p[:-1] == path[:-1] and _named(p[-1]) and p[-1] not in seen:
                seen.add(p[-1])
                out.append((c.locator, p[-1].strip()))
        return out

    def collection(self) -> str:
        """What the collection covers: 招远市（2022年）、临沂市兰山区（2017—2022年）…"""
        years: dict[str, set[str]] = defaultdict(set)
        for d in self.by_id.values():
            if d.region:
                years[d.region].update([d.date[:4]] if d.date else [])
        parts = []
        for region in sorted(years):
            ys = sorted(years[region])
            span = f"{ys[0]}年" if len(ys) == 1 else (f"{ys[0]}—{ys[-1]}年" if ys else "")
            parts.append(f"{region}（{span}）" if span else region)
        return "、".join(parts)
