"""Read a question: normalise it and infer filters and boosts from the corpus metadata.

Everything here is derived from the indexed documents (their regions, issuers,
numbers and titles) when the analyzer is built, so a new corpus brings its own
alias table; nothing is tied to particular questions.

- A named region (兰山 / 兰山区 / 临沂 → 临沂市兰山区) is a hard filter, but only
  when that region exists in the corpus: a question about 济南 must not be
  silently answered from 青岛 documents, and neither must it be filtered to
  nothing. A place that is *not* in the corpus is reported in `other_places`,
  so the answer stage can refuse.
- A 发文字号 (招政发〔2022〕8号, 招政发[2022]8号, 招政发2022 8号 …) restricts to
  that document.
- A title (《…》 or a distinctive part of it) is a boost, not a filter: title
  matching is fuzzy and a wrong hard filter would hide the right answer.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from dataclasses import asdict, dataclass, field
from difflib import SequenceMatcher
from typing import Any, Iterable

from qa.models import Document, Filters
from qa.text import to_simplified
from qa.retrieve.intent import DETAIL_SLOTS, Intent, classify
from qa.retrieve.places import gazetteer, uncovered_places



# Colloquial openings and closings that carry no content (longest first).
_FILLER = [
    "我想咨询一下", "我想了解一下", "想咨询一下", "想了解一下", "麻烦问一下", "请问一下", "我想问一下",
    "想问一下", "我想问下", "想问下", "我想问", "问一下", "请问", "你好", "您好", "麻烦", "谢谢", "多谢", "急急急", "急",
]
_FILLER_RE = re.compile(r"^(?:" + "|".join(map(re.escape, _FILLER)) + r")[，,。！!、\s]*")
_TAIL_RE = re.compile(r"[，,。\s]*(?:谢谢|多谢|谢谢了|感谢)[！!。\s]*$")
# Spoken forms → written ones, only where the meaning is unambiguous.
_COLLOQUIAL = [("啥时候", "什么时候"), ("咋办", "怎么办"), ("咋样", "怎么样"), ("咋", "怎么"), ("啥", "什么"), ("俺", "我")]

# 发文字号: prefix 〔year〕 n 号, with any (or no) bracket style; 令: …人民政府令第n号.
_NUMBER_RE = re.compile(
    r"(?P<pre>[\u4e00-\u9fff]{1,14}?)\s*[〔\[［【(（]?\s*(?P<year>(?:19|20)\d{2})\s*[〕\]］】)）]?\s*年?\s*第?\s*(?P<n>\d{1,4})\s*号"
)
# … and without 号 when the year is bracketed (青政办字[2020]71 主要讲了什么): only an indexed number counts
_BRACKETED_RE = re.compile(
    r"(?P<pre>[\u4e00-\u9fff]{1,14}?)[〔\[［【(（](?P<year>(?:19|20)\d{2})[〕\]］】)）]第?(?P<n>\d{1,4})(?![\d号])"
)
# … and with no brackets and no 号, the year and the number apart (临兰司发2022 15): only an indexed number counts
_SPACED_RE = re.compile(r"(?P<pre>[\u4e00-\u9fff]{1,14}?)\s*(?P<year>(?:19|20)\d{2})\s+(?P<n>\d{1,4})(?![\d号])")
_ORDER_RE = re.compile(r"(?P<pre>[\u4e00-\u9fff]{2,20}?令)\s*第?\s*(?P<n>\d{1,4})\s*号")
# a document number's prefix ends like one (招政发, 临兰政办字, 青岛市人民政府令); words before it are not part of it
_NUMBER_PREFIX_END = re.compile(r"[发字函令办告规]$")
# words that end the talk before a 发文字号 ("周村区落实国发〔2017〕46号" names 国发〔2017〕46号)
_NOT_PREFIX = re.compile(r"落实|贯彻|执行|关于|转发|印发|[的了吗呢是问下看个那这想要说和与跟及把按照据依]")
# … and a bare "146号" after a full number ("周政办字〔2017〕145号和146号"): the same prefix and year, when indexed
_ELLIPTICAL_RE = re.compile(r"(?<![\d〕\]］】)）年月第])(?P<n>\d{1,4})\s*号(?!前|之前|以前|后|以后|起|止|至|到|截止|[上中下]午|晚)")  # not a day
_QUOTED_TITLE = re.compile(r"《([^《》]{2,80})》")
# a question that says "文件/意见/办法…" is about a document even when it names it loosely
_DOC_NOUN = re.compile(r"文件|通知|意见|办法|方案|条例|规定|细则|规划|决定|批复|公告|通告|政策清单|《")
_EACH_ONLY = re.compile(r"分别|各(?:自|是)(?:多少|什么)")  # comparison cues that also just list several asks
_COMPARE_WORDS = re.compile(r"相比|比较|对比|区别|不同|不一样|差别|差异|两份|两个|两地|两边|几个区|这俩|二者|两者")
NAMED_TITLE_MIN = 0.7  # title-match strength at which a loosely named document counts as named

_ADMIN_SUFFIX = re.compile(r"^市?([\u4e00-\u9fff]{1,3}?(?:区|县|市))")
_DISTRICT_NOT = ("社区", "园区", "学区", "城区", "景区", "片区", "小区", "市区", "辖区", "示范区", "开发区", "试验区", "全区", "本区", "该区")

# Words every title has; they say nothing about which document is meant.
_TITLE_STOP = re.compile(
    r"关于|印发|转发|公布|下发|的|通知|实施|意见|方案|办法|规划|工作|年度|暂行|试行|修订版|进一步|加快|推进|加强|建立|完善|"
    r"人民政府|办公室|办公厅|全市|全区|我市|我区|\d{4}年?|[（(][^）)]*[）)]|[“”\"《》〈〉、，,·\s—\-]"
)


def normalize_question(text: str) -> str:
    """Traditional → simplified, full-width → half-width, spoken filler removed."""
    t = unicodedata.normalize("NFKC", text or "")
    t = to_simplified(t)
    t = re.sub(r"\s+", " ", t).strip()
    prev = None
    while prev != t:  # "你好，请问…" has two openings
        prev = t
        t = _FILLER_RE.sub("", t)
    t = _TAIL_RE.sub("", t)
    for spoken, written in _COLLOQUIAL:
        t = t.replace(spoken, written)
    return t.strip() or (text or "").strip()


def number_key(number: str) -> tuple[str, str, str] | None:
    """招政发〔2022〕8号 → ("招政发", "2022", "8"); 青岛市人民政府令第279号 → ("青岛市人民政府令", "", "279")."""
    s = re.sub(r"\s+", "", unicodedata.normalize("NFKC", number or ""))
    s = to_simplified(s)
    m = re.fullmatch(r"([\u4e00-\u9fff]{1,14})[〔\[［【(（]?((?:19|20)\d{2})[〕\]］】)）]?年?第?(\d{1,4})号", s)
    if m:
        return m[1], m[2], str(int(m[3]))
    m = re.fullmatch(r"([\u4e00-\u9fff]{2,20}令)第?(\d{1,4})号", s)
    if m:
        return m[1], "", str(int(m[2]))
    return None


@dataclass
class QueryAnalysis:
    """What the question itself says about where the answer is."""

    question: str  # as asked
    text: str  # normalised: what the retrievers see
    filters: Filters = field(default_factory=Filters)  # hard restrictions inferred from the question
    boosts: dict[str, float] = field(default_factory=dict)  # doc_id → title-match strength in (0, 1]
    regions: list[str] = field(default_factory=list)  # corpus regions named
    numbers: list[str] = field(default_factory=list)  # corpus document numbers named
    unknown_numbers: list[str] = field(default_factory=list)  # numbers named that no indexed document has
    other_places: list[str] = field(default_factory=list)  # places named that the corpus does not cover
    titles: list[str] = field(default_factory=list)  # titles of boosted documents, best first
    intent: Intent = field(default_factory=Intent)  # what the question asks for
    corrections: list[tuple[str, str]] = field(default_factory=list)  # typos fixed: (typed, understood)

    @property
    def named_documents(self) -> list[str]:
        """Documents the question names: by 发文字号, else the best title match if it is strong."""
        if self.filters.doc_ids:
            return list(self.filters.doc_ids)
        best = max(self.boosts.values(), default=0.0)
        return [d for d, s in self.boosts.items() if s == best and s >= NAMED_TITLE_MIN][:1]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _region_aliases(region: str) -> list[tuple[str, str]]:
    """(alias, level) pairs for one region name; level is "full", "local" or "parent"."""
    out = [(region, "full")]
    m = re.fullmatch(r"(.{2,}?[市州盟])(.{2,}?[区县市旗])", region)
    if m:
        parent, local = m[1], m[2]
        out += [(local, "local"), (local[:-1], "local"), (parent, "parent"), (parent[:-1], "parent")]
    elif len(region) >= 3 and region[-1] in "市区县":
        out.append((region[:-1], "local"))
    return [(a, lvl) for a, lvl in out if len(a) >= 2]


def _city_aliases(region: str) -> list[tuple[str, str]]:
    """The city a county-level region lies in when its name does not say so (招远市 → 烟台, qa/data/places.toml):
    a question about 烟台 is asked of 招远's documents, as one about 临沂 is of 兰山's."""
    g = gazetteer()
    names = g.mentioned(region)
    city = g.city_of[names[-1]] if names else None
    if city is None or city in region:
        return []
    return [(city, "parent"), (city + "市", "parent")]


def _town_aliases(issuer: str | None, title: str | None = None) -> list[str]:
    """Towns and streets that issue documents or that a title is about (义堂镇人民政府 → 义堂镇, 义堂;
    关于枣园镇大桥社区村庄规划的批复 → 枣园镇, 枣园)."""
    towns = []
    if issuer:
        m = re.match(r"^([\u4e00-\u9fff]{2,4}?(?:镇|乡|街道))(?:人民政府|办事处|党委)", issuer)
        if m:
            towns.append(m[1])
    if title:
        m = re.match(r"^(?:关于)?([\u4e00-\u9fff]{2,3}?(?:镇|乡|街道))", title)
        if m:
            towns.append(m[1])
    out: list[str] = []
    for town in towns:
        stem = re.sub(r"(镇|乡|街道)$", "", town)
        out += [town] + ([stem] if len(stem) >= 2 else [])
    return out


def _bigrams(s: str) -> list[str]:
    return [s[i : i + 2] for i in range(len(s) - 1)]


def _in_order(core: str, text: str) -> float:
    """Share of a title core's characters that `text` says in the same order, in runs of two or more."""
    blocks = SequenceMatcher(None, core, text, autojunk=False).get_matching_blocks()
    return sum(b.size for b in blocks if b.size >= 2) / len(core) if core else 0.0


def number_label(key: tuple[str, str, str]) -> str:
    """A number key written canonically: ("招政发", "2022", "8") → 招政发〔2022〕8号; an order → …令第279号."""
    return f"{key[0]}〔{key[1]}〕{key[2]}号" if key[1] else f"{key[0]}第{key[2]}号"


def _name(out: QueryAnalysis, found: list[str], key: tuple[str, str, str], ids: list[str]) -> None:
    """Record the indexed documents a 发文字号 names: a filter on them, and the number as written canonically."""
    for doc_id in ids:
        if doc_id not in out.filters.doc_ids:
            out.filters.doc_ids.append(doc_id)
    label = number_label(key)
    if label not in found:
        found.append(label)


class QueryAnalyzer:
    """Builds alias, number and title tables from the documents once; `analyze` is cheap."""

    def __init__(
        self,
        documents: Iterable[Document],
        title_boost_min: float = 0.55,  # share of a title's distinctive bigrams the question must contain
        quoted_title_min: float = 0.5,
        max_title_boosts: int = 3,
    ) -> None:
        self.documents = list(documents)
        self.speller: Any = None  # qa.retrieve.spelling.Speller, set by the retriever that owns the vocabulary
        self.title_boost_min = title_boost_min
        self.quoted_title_min = quoted_title_min
        self.max_title_boosts = max_title_boosts
        self.regions = sorted({d.region for d in self.documents if d.region})
        self._build_regions()
        self._by_number: dict[tuple[str, str, str], list[str]] = {}
        for d in self.documents:
            key = number_key(d.number or "")
            if key:
                self._by_number.setdefault(key, []).append(d.doc_id)
        self._build_titles()

    # ---- tables ---------------------------------------------------------------------------
    def _build_regions(self) -> None:
        rank = {"full": 0, "local": 1, "town": 2, "parent": 3}
        table: dict[str, tuple[int, set[str]]] = {}
        self._cities: set[str] = set()  # aliases known only from places.toml (烟台 of 招远市)
        for region in self.regions:
            cities = _city_aliases(region)
            self._cities.update(a for a, _ in cities)
            for alias, level in _region_aliases(region) + cities:
                self._add_alias(table, alias, rank[level], region)
        for d in self.documents:
            if d.region:
                for alias in _town_aliases(d.issuer, d.title):
                    self._add_alias(table, alias, rank["town"], d.region)
        # a parent name covers every region under it (临沂 → 临沂市兰山区 and 临沂市 if both exist)
        self._alias: dict[str, tuple[int, list[str]]] = {a: (lvl, sorted(r)) for a, (lvl, r) in table.items()}
        self._alias_re = (
            re.compile("|".join(map(re.escape, sorted(self._alias, key=len, reverse=True)))) if self._alias else None
        )

    @staticmethod
    def _add_alias(table: dict[str, tuple[int, set[str]]], alias: str, level: int, region: str) -> None:
        old = table.get(alias)
        if old is None or level < old[0]:
            table[alias] = (level, {region})
        elif level == old[0]:
            old[1].add(region)

    @property
    def region_pattern(self) -> re.Pattern[str] | None:
        """Every alias of the collection's regions (兰山, 兰山区, 临沂 …), longest first."""
        return self._alias_re

    def _build_titles(self) -> None:
        # the region's own names are no help in telling its documents apart
        # (a city known only from places.toml, 烟台 of 招远, names a law in a title: 《烟台市养犬管理条例》 stays)
        region_words = sorted({a for a in self._alias if a not in self._cities}, key=len, reverse=True)
        region_re = re.compile("|".join(map(re.escape, region_words))) if region_words else None
        self._title_cores: list[tuple[Document, str, set[str]]] = []
        df: Counter[str] = Counter()
        for d in self.documents:
            names = [d.title] + _QUOTED_TITLE.findall(d.notice_title or "")
            core = ""
            for name in names:
                c = _TITLE_STOP.sub("", to_simplified(unicodedata.normalize("NFKC", name)))
                if region_re is not None:
                    c = region_re.sub("", c)
                core = core if len(core) >= len(c) else c
            grams = set(_bigrams(core))
            self._title_cores.append((d, core, grams))
            df.update(grams)
        n = max(1, len(self.documents))
        self._idf = {g: math.log(1 + n / c) for g, c in df.items()}

    # ---- analysis -------------------------------------------------------------------------
    def analyze(self, question: str) -> QueryAnalysis:
        text = normalize_question(question)
        corrections: list[tuple[str, str]] = []
        if self.speller is not None:
            text, corrections = self.speller.correct(text)
        out = QueryAnalysis(question=question, text=text, corrections=corrections)
        self._find_numbers(text, out)
        self._find_regions(text, out)
        loose = self._find_titles(text, out)
        # a named document decides the region; an unrelated region filter would only empty the list
        if out.filters.doc_ids:
            out.filters.regions = []
        names_document = bool(out.filters.doc_ids or out.boosts or _DOC_NOUN.search(text))
        out.intent = classify(text, names_document=names_document)
        if (
            out.intent.kind == "comparison" and _EACH_ONLY.fullmatch(out.intent.cue) and not _COMPARE_WORDS.search(text)
            and len(out.filters.doc_ids) <= 1 and len(out.regions) < 2 and len(out.boosts) < 2
        ):
            # "…面积、人口容量分别是多少" about one document lists what it asks, it compares nothing (two
            # documents named by title, "A联席会议与B联席会议…分别设在哪", are two sides)
            out.intent = classify(text, names_document=names_document, exclude=("comparison",))
        if len(out.regions) >= 2 and out.intent.kind not in ("by-doc", "validity", "comparison"):
            # two regions named: whatever is asked, it is asked of both
            out.intent = Intent("comparison", out.intent.slot if out.intent.slot in DETAIL_SLOTS else None, "regions")
        self._name_loosely(out, loose)
        return out

    def _find_numbers(self, text: str, out: QueryAnalysis) -> None:
        compacted = re.sub(r"\s+", "", text)
        found: list[str] = []
        spans: list[tuple[int, int]] = []  # where full numbers are written (in `compacted`)
        for rx, has_year, where in ((_NUMBER_RE, True, compacted), (_BRACKETED_RE, True, compacted), (_SPACED_RE, True, text), (_ORDER_RE, False, compacted)):
            for m in rx.finditer(where):
                if rx is _NUMBER_RE or rx is _BRACKETED_RE:
                    spans.append(m.span())
                hits = self._indexed(m, has_year)
                if hits:
                    for k, ids in hits:
                        _name(out, found, k, ids)
                elif (rx is _NUMBER_RE or rx is _ORDER_RE) and (label := self._unknown_label(m, rx is _NUMBER_RE)):
                    out.unknown_numbers.append(label)
        if found and spans:
            self._find_elliptical(compacted, sorted(spans), found, out)
        out.numbers = found

    def _find_elliptical(self, compacted: str, spans: list[tuple[int, int]], found: list[str], out: QueryAnalysis) -> None:
        """Numbers written after a full one (`spans`, in order) without its prefix and year, when that
        document is indexed."""
        first = number_key(found[0])
        if first is None or not first[1]:
            return
        for m in _ELLIPTICAL_RE.finditer(compacted):
            if any(a <= m.start() < b for a, b in spans) or m.start() < spans[0][1]:
                continue  # part of a full number, or before the one it would abbreviate
            key = (first[0], first[1], str(int(m["n"])))
            if ids := self._by_number.get(key):
                _name(out, found, key, ids)

    def _unknown_label(self, m: re.Match[str], has_year: bool) -> str | None:
        """A 发文字号 no indexed document has, written canonically without the words before it
        ("想问下招政发[2022]30号" → 招政发〔2022〕30号); None when the match is no document number
        ("孩子2015年3号出生": neither a bracketed year nor a prefix ending like one)."""
        pre = m["pre"]
        if has_year and not (re.search(r"[〔\[［【(（]", m.group(0)) or _NUMBER_PREFIX_END.search(pre)):
            return None
        known = [k[0] for k in self._by_number if pre.endswith(k[0])]
        pre = max(known, key=len) if known else (_NOT_PREFIX.split(pre)[-1] or pre)
        year, n = (m["year"] if has_year else ""), str(int(m["n"]))
        if any(k[1:] == (year, n) and (k[0].endswith(pre) or not has_year) for k in self._by_number):
            return None  # a shortened prefix of an indexed number (市政府令第280号, 政办字〔2022〕3号)
        return number_label((pre, year, n))

    def _indexed(self, m: re.Match[str], has_year: bool = True) -> list[tuple[tuple[str, str, str], list[str]]]:
        """The indexed documents whose 发文字号 the match spells: (number key, doc ids)."""
        pre, year, n = m["pre"], m["year"] if has_year else "", str(int(m["n"]))
        return [(k, ids) for k, ids in self._by_number.items() if k[1] == year and k[2] == n and pre.endswith(k[0])]

    def _find_regions(self, text: str, out: QueryAnalysis) -> None:
        if self._alias_re is None:
            self._find_other_places(text, out, set())
            return
        # document numbers (临兰政办发…) and quoted titles name regions too, but as part of the name
        scrub = text
        for rx in (_NUMBER_RE, _BRACKETED_RE):
            scrub = rx.sub(lambda m: " " * len(m.group(0)), scrub)
        scrub = _SPACED_RE.sub(lambda m: " " * len(m.group(0)) if self._indexed(m) else m.group(0), scrub)  # "兰山2022 15个村" names 兰山
        covered: set[int] = set()
        for m in self._alias_re.finditer(scrub):
            alias = m.group(0)
            level, regions = self._alias[alias]
            tail = scrub[m.end() : m.end() + 5]
            if level == 3:  # a parent city name: "淄博张店区" is another district of that city
                t = _ADMIN_SUFFIX.match(tail)
                if t and not t.group(1).endswith(_DISTRICT_NOT) and not any(t.group(1) in r for r in regions):
                    out.other_places.append(alias + t.group(1))
                    covered.update(range(m.start(), m.end() + len(t.group(0))))
                    continue
            covered.update(range(m.start(), m.end()))
            for r in regions:
                if r not in out.regions:
                    out.regions.append(r)
        out.filters.regions = list(out.regions)
        # a place inside a quoted title (《烟台市养犬管理条例》) names the law, not where the asker is
        unquoted = _QUOTED_TITLE.sub(lambda m: " " * len(m.group(0)), scrub)
        self._find_other_places(unquoted, out, covered)

    def _find_other_places(self, text: str, out: QueryAnalysis, covered: set[int]) -> None:
        """Places (qa/data/places.toml) outside what the collection's regions cover."""
        free = "".join(" " if i in covered else ch for i, ch in enumerate(text))
        for place in uncovered_places(free, self.regions):
            if not any(place in p for p in out.other_places):
                out.other_places.append(place)

    def _find_titles(self, text: str, out: QueryAnalysis) -> tuple[float, Document] | None:
        q = re.sub(r"\s+", "", text)
        quoted = [_TITLE_STOP.sub("", t) for t in _QUOTED_TITLE.findall(q)]
        scored: list[tuple[float, Document]] = []
        loose: list[tuple[float, Document]] = []
        # the question's words as a title's core is written, when it names a document at all (for _in_order)
        q_core = _TITLE_STOP.sub("", q) if _DOC_NOUN.search(q) else None
        for d, core, grams in self._title_cores:
            if len(grams) < 2:
                continue
            total = sum(self._idf[g] for g in grams)
            best = 0.0
            # 《…》: the quoted name against the title (either may contain the other)
            for name in quoted:
                if name and (name in core or core in name):
                    best = 1.0
                elif name:
                    qg = set(_bigrams(name))
                    inter = sum(self._idf[g] for g in grams & qg)
                    union = total + sum(self._idf.get(g, 1.0) for g in qg - grams)
                    if union and inter / union >= self.quoted_title_min:
                        best = max(best, inter / union)
            # no quotes: share of the title's distinctive bigrams that the question contains
            cover = sum(self._idf[g] for g in grams if g in q) / total if total else 0.0
            if cover >= self.title_boost_min:
                best = max(best, cover)
                if q_core is not None and (said := _in_order(core, q_core)) >= NAMED_TITLE_MIN > best:
                    loose.append((said, d))
            if best > 0:
                scored.append((best, d))
        scored.sort(key=lambda x: -x[0])
        for s, d in scored[: self.max_title_boosts]:
            out.boosts[d.doc_id] = round(min(1.0, s), 3)
            out.titles.append(d.title)
        # one document named by its title with words left out ("…稳中求进政策清单…汇编" for "…稳中求进”高质量发展
        # 政策清单…汇编"): the title's words the question says in order. Two such are titles of one pattern (two
        # villages' plans), and say nothing about which is meant.
        return loose[0] if len(loose) == 1 and loose[0][1].doc_id in out.boosts else None

    @staticmethod
    def _name_loosely(out: QueryAnalysis, loose: tuple[float, Document] | None) -> None:
        """A question about a document itself (谁发的, 还有效吗) names the one its title was said loosely of; a
        question asking a detail only leans on that document (its boost), as before."""
        if loose and out.intent.kind in ("by-doc", "validity"):
            out.boosts[loose[1].doc_id] = round(min(1.0, loose[0]), 3)


def merge_filters(explicit: Filters | None, inferred: Filters) -> Filters:
    """Explicit filters win; inferred ones fill in what the caller left open."""
    # validity (in_force, as_of) is only ever set by the caller, never inferred
    in_force = bool(explicit and explicit.in_force)
    as_of = explicit.as_of if explicit else None
    if explicit is None or explicit.is_empty():
        return Filters(
            regions=list(inferred.regions),
            doc_ids=list(inferred.doc_ids),
            date_from=inferred.date_from,
            date_to=inferred.date_to,
            in_force=in_force,
            as_of=as_of,
        )
    return Filters(
        regions=list(explicit.regions) or ([] if explicit.doc_ids else list(inferred.regions)),
        doc_ids=list(explicit.doc_ids) or list(inferred.doc_ids),
        date_from=explicit.date_from or inferred.date_from,
        date_to=explicit.date_to or inferred.date_to,
        in_force=in_force,
        as_of=as_of,
    )
