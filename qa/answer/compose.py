"""Offline answers in the shape the question asks for, every statement quoted and cited.

`ArticleAnswerer.run` takes the question's intent, the scored evidence and the coverage
decision, chooses the articles to cite and writes:

- yes/no: a verdict (需要 / 不需要 / 可以 / 不可以 / 不得) when a cited article states the rule
  (应当、必须、须、不得、禁止、可以) for the ages asked — no 可以 where the document excludes the
  case — then the rule quoted with where it comes from;
- amount, deadline, department, condition: the article that holds it first;
- list: the whole enumeration (the article and the items that continue it, the last ones by their leads);
- by-doc and validity: a document card (title, 发文字号, issuer, date, term, purpose, outline);
- broad: the document's measures as an outline with locators — the ones most likely to answer among
  its articles a second search inside that document finds (qa.answer.pipeline), in its order;
- comparison: each region's (or each named document's) article, the region named;
- partial: what the documents say, and plainly what they do not.

Articles are quoted whole when short, else as a marked excerpt (qa.answer.quote); only
articles that answer are cited (qa.answer.evidence decides which), one citation per article (the
pieces of a split article share it), introduced with the names of the sections it sits in when the
quote does not show them (二、（十）2.（职责分工·水务管理部门）); a question with several asks also
cites the article about what the first ones leave out (qa.answer.evidence.complement); a rule its own
section says does not reach this place ("此项不涉及我市、区") is quoted with that note, and a question that asks who
is in charge — or asks about the place while the article quotes a higher level's policy — gets the line closing
the first article's item ("（区税务局牵头，联系人：…，联系电话：…）").
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import NamedTuple

from qa import data
from qa.answer.citations import citation_for, defuse_markers
from qa.answer.coverage import SLOT_NAMES, Coverage, asks_here, upper_policy
from qa.answer.evidence import ARTICLE_FEATURES, ArticleEvidence, ScoredSentence, content_grams, has_slot
from qa.answer.library import ANNOUNCES, GOAL_LABEL, TARGET, DocumentLibrary
from qa.answer.model import AnswerModels
from qa.answer.quote import excerpt, lead, own_text, section_title, strip_heading, strip_locator, verbatim_quote, whole
from qa.chunk.outline import split_number
from qa.models import Chunk, Citation, Document
from qa.retrieve.intent import Intent, asks_who, on_subject, slogan_items
from qa.retrieve.synonyms import official_terms
from qa.ingest.validity import term_chunks
from qa.text import cn_number, compact, sentences, tidy, to_simplified


@lru_cache(maxsize=1)
def _verdict_rules() -> tuple[re.Pattern[str], list[tuple[re.Pattern[str], list[tuple[re.Pattern[str], str]]]]]:
    """qa/data/verdicts.toml: the negated-question pattern, and per modal a question may ask
    (permission, obligation) its question pattern and the sentence rules that answer it."""
    table = data.load("verdicts.toml")
    asks = [
        (re.compile(pattern), [(re.compile(r["pattern"]), r["verdict"]) for r in table["rules"][kind]])
        for kind, pattern in table["asks"].items()
    ]
    return re.compile(table["negated_question"]), asks


_AGE = re.compile(r"(\d+)\s*(?:周)?岁")
_AGE_BOUND = re.compile(
    r"(?P<under>未满|不满|不足)?(?P<a>\d+)\s*(?:周)?岁?\s*(?:[-—－~～至到]\s*(?P<b>\d+)\s*(?:周)?岁)?\s*(?P<side>以下|以上|及以下|及以上)?"
)


def _asked_modals(q: str, asks: list[tuple[re.Pattern[str], list]]) -> list[tuple[int, int]]:
    """(position, index into `asks`) of the modals the question asks, from its last clause that has
    one: "项目要做设计变更，建设单位自己批了就能变吗？" asks 能 (may), not 要 — the story comes first."""
    for clause in reversed(re.split(r"[，,。；;：:]", q)):
        found = sorted((m.start(), n) for n, (rx, _) in enumerate(asks) if (m := rx.search(clause)))
        if found:
            return found
    return []


def _states(sentence: str, asked: list[tuple[int, int]], asks: list[tuple[re.Pattern[str], list]]) -> str:
    """The verdict `sentence` gives on the modals asked (the first rule that matches), "" for none."""
    for _, n in asked:
        for rx, verdict in asks[n][1]:
            if rx.search(sentence):
                return verdict
    return ""


def _meets_condition(sentence: str, q_grams: set[str]) -> bool:
    """The sentence states its own condition ("已经委托他人…处理的，") and the question (its content
    grams) meets it: more than half of the condition's words are the question's."""
    m = _CONDITION.match(sentence)
    cond = content_grams(m.group(1)) if m else set()
    return bool(cond) and len(cond & q_grams) >= CONDITION_MET * len(cond)


def _touches_condition(sentence: str, q_grams: set[str]) -> bool:
    """The sentence states its own condition and the question says some of its words (CONDITION_TOUCHED):
    whether the asker falls under it is not for the words to decide."""
    m = _CONDITION.match(sentence)
    cond = content_grams(m.group(1)) if m else set()
    return bool(cond) and len(cond & q_grams) >= CONDITION_TOUCHED * len(cond)


def _ages_within(question: str, rule: str) -> bool:
    """The ages a question names (孩子7岁, 3至6岁) are inside the age range the rule sets (未满8周岁,
    3岁以下, 3-6岁); True when either names none. A rule for 3岁以下 decides nothing for 3至6岁."""
    asked = [int(a) for a in _AGE.findall(question)]
    bounds = [m for m in _AGE_BOUND.finditer(rule) if "岁" in m.group(0) and (m.group("under") or m.group("b") or m.group("side"))]
    if not asked or not bounds:
        return True
    for m in bounds:
        a = int(m.group("a"))
        if m.group("under"):
            lo, hi = 0, a - 1
        elif m.group("b"):
            lo, hi = a, int(m.group("b"))
        elif "以上" in m.group("side"):
            lo, hi = a, 200
        else:
            lo, hi = 0, a
        if all(lo <= x <= hi for x in asked):
            return True
    return False


_NUM = r"\d+(?:\.\d+)?|[一二三四五六七八九十百千两]+"


class _Limits(NamedTuple):
    """qa/data/verdicts.toml [limits], each pattern with its unit."""

    figure: re.Pattern[str]  # a figure asked (beyond_limit)
    limit: re.Pattern[str]  # a maximum a rule sets
    tier: re.Pattern[str]  # a rung's floor
    given: re.Pattern[str]  # a figure the question gives (rungs: a wider unit list, 万 = 万元)


@lru_cache(maxsize=1)
def _limits() -> _Limits:
    t = data.load("verdicts.toml")["limits"]
    figure = re.compile(rf"(?<![第\d.])(?P<n>{_NUM})\s*(?P<u>{t['unit']})")
    limit = re.compile(rf"{t['limit']}\s*(?P<n>{_NUM})\s*(?P<u>{t['unit']})")
    return _Limits(figure, limit, re.compile(t["tier"]), re.compile(t["asked_figure"]))


def _amount(n: str) -> float:
    return float(n) if n[0].isdigit() else float(cn_number(n))


def beyond_limit(question: str, sentences_: list[str]) -> bool:
    """The question asks for a figure beyond the maximum one of the sentences sets, in the same unit
    (30年 against 最长不得超过20年); a year of the calendar (2022年) is no figure asked."""
    figure, limit, _, _ = _limits()
    asked = [(_amount(m["n"]), m["u"]) for m in figure.finditer(question)
             if not (m["u"] == "年" and re.fullmatch(r"(?:19|20)\d{2}", m["n"]))]  # fmt: skip
    if not asked:
        return False
    caps = [(_amount(m["n"]), m["u"]) for s in sentences_ for m in limit.finditer(s)]
    return any(n > cap for n, u in asked for cap, cu in caps if u == cu and cap > 0)


def _unit(u: str) -> str:
    return u.removesuffix("元") or u  # 万元 and 万 are one unit (元 stays 元)


def _given(question: str, unit: str) -> list[float]:
    """The figures the question gives in `unit` (每亩270万 → [270.0] for 万)."""
    return [float(m["n"]) for m in _limits().given.finditer(question) if _unit(m["u"]) == unit]


RUNG_MEASURE = 4  # rungs of one ladder say the same words before their floor (投资强度达到 280 / 260)


def rung(question: str, text: str) -> tuple[float, float, str] | None:
    """(the floor of the one rung `text` states, the question's figure in its unit, the words before the
    floor): "投资强度达到 260 万元/亩(含)以上的" against "每亩270万" is (260, 270, "投资强度达到"[-4:]).
    None when the text states no rung or several, or the question gives no figure in its unit (万元/亩
    also needs 亩 in the question)."""
    flat = compact(text)
    rungs = {(float(m["n"]), _unit(m["u"]), m["per"] or "", flat[max(0, m.start("n") - RUNG_MEASURE):m.start("n")])
             for m in _limits().tier.finditer(flat)}
    if len(rungs) != 1:
        return None
    floor, unit, per, measure = rungs.pop()
    given = _given(question, unit)
    if not given or (per and per[1:] not in question):
        return None
    return floor, max(given), measure


def reached_rung(question: str, evidence: list[ArticleEvidence]) -> ArticleEvidence | None:
    """Of a ladder retrieved (two or more articles, each one rung of the same measure in the question's
    unit), the highest rung the question's figure reaches: "每亩270万，够不够" is answered by 260万元/亩
    (8%), not by the 280 and 320 rungs above it. None without a ladder, or when the figure is below
    every rung."""
    rungs = [(r, e) for e in evidence if (r := rung(question, e.hit.chunk.text))]
    for measure in dict.fromkeys(r[2] for r, _ in rungs):
        ladder = [(floor, figure, e) for (floor, figure, m), e in rungs if m == measure]
        reached = [(floor, e) for floor, figure, e in ladder if floor <= figure]
        if len(ladder) >= 2 and reached:
            return max(reached, key=lambda fe: fe[0])[1]
    return None


class _Caveats(NamedTuple):
    """qa/data/verdicts.toml [caveats]."""

    excluded: re.Pattern[str]  # a sentence that excludes the case asked
    scope: re.Pattern[str]  # a note that the rule does not reach this place
    carved: re.Pattern[str]  # the rule's own sentence carves a group out


@lru_cache(maxsize=1)
def _caveats() -> _Caveats:
    table = data.load("verdicts.toml")["caveats"]
    return _Caveats(re.compile(table["excluded"]), re.compile(table["scope"]), re.compile(table["carved"]))


@lru_cache(maxsize=1)
def _duties() -> re.Pattern[str]:
    return re.compile(data.load("verdicts.toml")["duties"]["section"])


@lru_cache(maxsize=1)
def _lead_lines() -> list[re.Pattern[str]]:
    """The lines naming who leads an item (the contact line first)."""
    table = data.load("sections.toml")["lead"]
    return [re.compile(table["contact"]), re.compile(table["task"])]


MERGED_ITEMS = "–"  # the chunker's locator of a run of one-line items merged into one chunk ("第十一条（一）–（三）")
BYDOC_DETAIL_OFFSET = 0.2  # a document card quotes an article for a further ask when it is this much surer than an extra
LIST_CHARS_FACTOR = 3  # announced items are quoted whole up to this many articles' length, the rest by their leads
# an excluding sentence is about the case asked when it shares this share of the question's words and
# nearly as much as the article the permission comes from ("不得低于最低库存" shares 食盐生产企业 only)
CAVEAT_MIN_COVERAGE = 0.15
CAVEAT_RATIO = 0.8
OTHER_REGION_FLOOR = 0.5  # a question naming no region also cites another region's article scoring this share of extra_min
OTHER_REGIONS_MAX = 1  # … of so many other regions at most
_BARE_ITEM = re.compile(r"[（(]?[一二三四五六七八九十\d]{1,3}[）)]?[.．、]?")  # a heading that is only an item's number
_GOAL_LABEL = re.compile(rf"^{GOAL_LABEL}\s*")
SIDE_FLOOR = 0.25  # another document is a side of a comparison when its article scores this share of extra_min
_SENT_COV = ARTICLE_FEATURES.index("sent_cov")  # the share of the question's words in an article's best sentence
_LEADING_MARK = re.compile(r"^\s*[（(][一二三四五六七八九十]+[)）]")  # an article's own number
VERDICT_MIN_SCORE = 0.3  # a sentence sharing less of the question states some other rule
# a rule with its own condition ("…的，可以不…") decides when the question meets the condition
_CONDITION = re.compile(r"^(.{4,40}?)的[，,]")
CONDITION_MET = 0.5  # share of the condition's words (bigrams) in the question: more than half
CONDITION_BONUS = 0.1  # how far below the best sentence such a rule may score
# … and such a rule ruling the other way makes the verdict doubtful when the question says at least this share
# of its condition's words: people say "签了合同让别人家拉走做肥料处理" for "已经委托他人…代为…处理"
CONDITION_TOUCHED = 0.1
_ITEM_LEAD = re.compile(r"^\s*(\d+)[.．、]\s*")
_ARTICLE_LEAD = re.compile(r"^\s*(第[一二三四五六七八九十百零〇]+条)\s*")


_ATTACHMENT_TITLE = re.compile(r"^\s*附件\s*\d*\s*[:：]?\s*\n?\s*([^\n|]{6,60})")
ATTACHMENT_NAMED_CHARS = 8  # the question repeats this much of an attachment's title in one run


_LISTED_AFTER = re.compile(r"(?:哪几|哪些|几|都(?:是)?(?:用|采取|采用)(?:的)?(?:什么|啥))(?:种|类|项|样)?的?([\u4e00-\u9fff]{2,10})")


def listed_kind(question: str) -> list[str]:
    """What kind of thing a list question asks for ("有哪几种整治办法" → 办法, and the documents' 方式 / 措施
    for it), from intents.toml [listed] kinds; [] when it names none."""
    m = _LISTED_AFTER.search(to_simplified(question))
    if not m:
        return []
    said = [k for k in data.load("intents.toml")["listed"]["kinds"] if k in m.group(1)]
    # the documents' words for a kind, looked up as it is asked in the terms table ("啥办法" → 方式, 措施)
    return list(dict.fromkeys(said + [t for k in said for t in official_terms("啥" + k)])) if said else []


_LEAD_NAME = re.compile(r"^\s*第[一二三四五六七八九十百零〇]+条\s*([^，,。；;：:\n]{2,12})[：:]")  # "第二条 扶持条件："


def heads_list(chunk: Chunk, kinds: list[str]) -> bool:
    """An article headed by one of the kinds of thing a list question asks for that opens an enumeration
    ("四、整治方式 在确保安全规范的前提下,可以采取但不限于以下方式进行:"; a numbered article names itself in its
    first words: "第二条 扶持条件：")."""
    if chunk.kind != "article" or not chunk.heading_path or not ANNOUNCES.search(chunk.text):
        return False
    lead = _LEAD_NAME.match(chunk.text)
    name = to_simplified(chunk.heading_path[-1] + (lead.group(1) if lead else ""))
    return any(k in name for k in kinds)


def names_attachment(question: str, text: str) -> bool:
    """The chunk opens an attachment (附件 and its title) whose title the question names."""
    m = _ATTACHMENT_TITLE.match(to_simplified(text))
    if m is None:
        return False
    title, q = m.group(1).strip(), to_simplified(question)
    run = SequenceMatcher(None, title, q, autojunk=False).find_longest_match(0, len(title), 0, len(q))
    return run.size >= ATTACHMENT_NAMED_CHARS


_PARENTHETICAL = re.compile(r"[（(][^（）()]*[)）]")
BARE_TAIL_CHARS = 10  # a piece saying less than this outside its parentheses names no measure


def _bare_tail(text: str) -> bool:
    """A piece that is only a parenthetical note ("（责任单位：市人力资源社会保障局…）"), the tail of a
    split article."""
    return len(re.sub(r"\s+", "", _PARENTHETICAL.sub("", text))) < BARE_TAIL_CHARS


def _said(e: ArticleEvidence) -> float:
    """How likely an article answers, times the share of the question's words one of its sentences says."""
    return e.prob * e.features[_SENT_COV]


def _rows(text: str) -> str:
    """Lines quoted after "…名单（共10名）公布如下：" as one run: an entry without an end mark of its own
    ("尹晶（女）\t淄博广晟生物科技有限公司") ends with "；", its cells apart ("，"), the last with "。"."""
    out = ""
    for row in text.splitlines():
        row = tidy(defuse_markers(row.strip().replace("\t", "，")))
        if row:
            out += row if re.search(r"[。；;！？!?：:，,]$", row) else row + "；"
    return out[:-1] + "。" if out.endswith("；") else out


def _goes_on(line: str) -> str:
    """A statement quoted on its own: "…名单如下：" ends in …… (what it announces is not quoted)."""
    return ANNOUNCES.sub("……", defuse_markers(tidy(line)))


# a broad answer names the document's other measures down to this level: 一、 / （一） / 1., where the
# measures of an incentive policy are named ("(四) 加大企业培育力度" holds 2. 强化房租和装修补贴)
BROAD_DEPTH = 3


def _other_measures(outline: list[tuple[str, str, int]], quoted: list[str], limit: int) -> list[str]:
    """The headings of a broad answer's "该文件还规定了" line, at most `limit`: those not in a quoted
    article nor in a section that frames the policy (指导思想, 适用范围 …: qa/data/sections.toml), the
    deepest level's items after their section's heading ("(四) 加大企业培育力度：1. …、2. …") or, when
    that heading went with a quoted article, after their own locator."""
    framing = data.load("sections.toml")["framing"]["words"]
    deepest = max((level for _, _, level in outline), default=0)
    lines: list[str] = []
    under = items = framed = False  # the last line is a heading its items join / items have joined it
    taken = 0
    for locator, heading, level in outline:
        if level == 0:
            framed = any(w in heading for w in framing)
        if framed or any(w in heading for w in framing) or any(heading in text for text in quoted):
            under = under and level == deepest  # a quoted item leaves its section's line open
            continue
        if taken >= limit:
            break
        taken += 1
        if level < deepest or deepest == 0:
            lines.append(heading)
            under, items = True, False
        elif under:
            lines[-1] += ("、" if items else "：") + heading
            items = True
        else:
            lines.append(f"{locator}{split_number(compact(heading))[1]}" if locator else heading)
    return lines


def _framing(chunk: Chunk) -> bool:
    """A section that frames the policy (适用范围, 指导思想 …) or an article that says what it covers,
    what its words mean, when it takes effect (qa/data/sections.toml [framing])."""
    table = data.load("sections.toml")["framing"]
    head = " ".join(chunk.heading_path[1:]) + chunk.text[:20]
    text = to_simplified(chunk.text)
    return any(w in head for w in table["words"]) or any(c in text for c in table.get("clauses", []))


@dataclass
class Composed:
    text: str
    citations: list[Citation] = field(default_factory=list)
    cited: list[ArticleEvidence] = field(default_factory=list)


TRADITIONAL_NOTE = "注：所引原文有繁体字，以上按简体显示；原文字形见各出处引文。"


class _Writer:
    """Collects answer lines and the citations their markers point to."""

    def __init__(self, pieces: Callable[[Chunk], list[Chunk]] | None = None) -> None:
        self.lines: list[str] = []
        self.citations: list[Citation] = []
        self._pieces = pieces  # an article split at the token limit → its pieces (DocumentLibrary.pieces)
        self._marker: dict[str, int] = {}  # an article's first piece → its citation's marker
        self._quoted: dict[str, list[str]] = {}  # … → the pieces quoted
        self._items: dict[str, list[Chunk]] = {}  # … → the items it announces, quoted after it

    def cite(self, chunk: Chunk, document: Document, quote: str) -> str:
        """The marker of the article `chunk` is (a piece of)."""
        return f"[{self._number(chunk, document, quote)}]"

    def cite_item(self, head: Chunk, item: Chunk, document: Document, quote: str) -> str:
        """The marker of the article `head` that announces `item` ("以下方式：" … 1、入地): the items
        it lists are part of it, so the item joins its citation."""
        n = self._number(head, document, "")
        key, article = self._article(head)
        if item.chunk_id not in self._quoted[key] and item not in self._items[key]:
            self._items[key].append(item)
            self._join(n, key, article, quote)
        return f"[{n}]"

    def _article(self, chunk: Chunk) -> tuple[str, list[Chunk]]:
        article = self._pieces(chunk) if self._pieces is not None else [chunk]
        return article[0].chunk_id, article

    def _number(self, chunk: Chunk, document: Document, quote: str) -> int:
        """The article is the unit of citation, so a second piece quoted joins the first one's citation."""
        key, article = self._article(chunk)
        n = self._marker.get(key)
        if n is None:
            n = self._marker[key] = len(self.citations) + 1
            self._quoted[key], self._items[key] = [chunk.chunk_id], []
            self.citations.append(citation_for(n, chunk, document, quote))
        elif chunk.chunk_id not in self._quoted[key]:
            self._quoted[key].append(chunk.chunk_id)
            self._join(n, key, article, quote)
        return n

    def _join(self, n: int, key: str, article: list[Chunk], quote: str) -> None:
        """The citation's passage: the article's pieces quoted, in order, then the items it announces."""
        c = self.citations[n - 1]
        c.passage = "\n".join([p.text for p in article if p.chunk_id in self._quoted[key]] + [x.text for x in self._items[key]])
        c.quote = f"{c.quote}……{quote}" if quote and quote not in c.quote else c.quote

    def text(self) -> str:
        # Some pages were published in traditional characters (the 青岛 gazette's 繁體 pages): the answer
        # reads in simplified and says so; each citation keeps the source's own characters.
        lines = [line for line in self.lines if line.strip()]
        shown = [to_simplified(line) for line in lines]
        if shown != lines:
            shown.append(TRADITIONAL_NOTE)
        # a table's cells, printed tab-separated, read as words apart (a tab is no character of the answer)
        shown = [_TABS.sub(" ", line) for line in shown]
        return "\n".join(shown)


_TABS = re.compile(r"[ \t]*\t[ \t]*")


def _label(d: Document) -> str:
    return f"《{d.title}》" + (f"（{d.number}）" if d.number else "")


def _region_prefix(d: Document, named_regions: list[str], many_regions: bool, always: bool = False) -> str:
    """Name where a rule comes from when the question did not, unless the title already says it
    (`always`: a comparison names each side)."""
    if not d.region or (named_regions and not many_regions):
        return ""
    if always:
        return f"{d.region}："
    short = re.sub(r"^.*?[市州]", "", d.region) or d.region
    return "" if short.rstrip("市区县") in d.title else f"{d.region}："


def _date_cn(iso: str | None) -> str:
    if not iso:
        return ""
    y, m, dd = iso.split("-")
    return f"{int(y)}年{int(m)}月{int(dd)}日"


class ArticleAnswerer:
    def __init__(
        self,
        models: AnswerModels,
        library: DocumentLibrary,
        max_articles: int = 3,
        whole_max_chars: int = 360,  # longer articles are quoted as an excerpt
        excerpt_chars: int = 240,
        broad_items: int = 8,
        broad_chars: int = 260,  # each measure of a broad answer is quoted up to this length
        broad_more: int = 24,  # headings of its other measures named after them
        continuation_items: int = 4,  # items of an announced list ("以下条件：") quoted after it
        max_series: int = 15,  # a list answer names at most this many numbered items of a series
    ) -> None:
        self.models = models
        self.library = library
        self.max_articles = max_articles
        self.whole_max_chars = whole_max_chars
        self.excerpt_chars = excerpt_chars
        self.broad_items = broad_items
        self.broad_chars = broad_chars
        self.broad_more = broad_more
        self.continuation_items = continuation_items
        self.max_series = max_series

    # ---- which articles ---------------------------------------------------------------------
    def select(
        self, intent: Intent, evidence: list[ArticleEvidence], regions: list[str], named_docs: list[str] | None = None,
        question: str = "",
    ) -> list[ArticleEvidence]:
        """The articles to cite, the one that holds what is asked first."""
        if not evidence:
            return []
        ranked = sorted(evidence, key=lambda e: -e.prob)
        best = ranked[0]
        m = self.models
        chosen = [best] + [
            e for e in ranked[1:] if e.prob >= m.extra_min and e.prob >= m.extra_ratio * best.prob
        ]
        if intent.kind == "comparison":
            sides = self._one_per_region(ranked, regions, named_docs or [])
            # each side may need a second article of its document, as the single answer would
            chosen = [
                x for side in sides for x in [side] + [
                    e for e in ranked if e.hit.document.doc_id == side.hit.document.doc_id and e is not side
                    and e not in sides and e.prob >= max(m.extra_min, m.extra_ratio * side.prob)
                ][:1]
            ]
        chosen = chosen[: max(self.max_articles, 2 * len(regions))]
        if not regions and intent.kind not in ("comparison", "by-doc", "validity", "broad"):
            chosen = self._other_regions(chosen, ranked)
        if intent.slot and intent.kind != "comparison" and intent.slot != "yesno":  # nearly every rule has a modal
            # lead with an article that holds the slot, if one good enough was retrieved
            holder = next((e for e in ranked if e.slot and e.prob >= m.extra_ratio * best.prob
                           and e.hit.document.region == best.hit.document.region), None)
            if holder is not None and not chosen[0].slot:
                chosen = self._led_by(holder, chosen)
        if named_docs and intent.kind not in ("comparison", "by-doc", "validity") and chosen[0].hit.document.doc_id not in named_docs:
            # "听说搞了“一窗受理”改革，…分成了几个综合受理区": the document the question names answers it, before
            # another document's article on the same work that outscores it
            own = next((e for e in ranked if e.hit.document.doc_id in named_docs and (e.slot or not intent.slot)), None)
            if own is not None:
                chosen = self._led_by(own, chosen)
        if question and intent.kind != "comparison" and (reached := reached_rung(question, ranked)) is not None:
            # the rung the question's figure reaches answers it; the rungs above and below it do not
            chosen = [reached] + [e for e in chosen if e is not reached and rung(question, e.hit.chunk.text) is None]
            chosen = chosen[: self.max_articles]
        if intent.kind == "list" and not chosen[0].slot:
            # "目录里列了哪些事项": the attachment the question names by its title holds the list, however
            # weakly it scores beside the notice that publishes it
            named = next((e for e in ranked if e.slot and e.hit.document.doc_id == best.hit.document.doc_id
                          and names_attachment(question, e.hit.chunk.text)), None)
            if named is not None:
                chosen = self._led_by(named, chosen)
        if intent.kind == "list" and (kinds := listed_kind(question)):
            # "整治飞线有哪几种办法": the section of the best document headed by that kind of thing and opening an
            # enumeration ("四、整治方式 …以下方式进行:") lists them, however weakly its opening line scores
            headed = next((e for e in ranked if e.hit.document.doc_id == best.hit.document.doc_id
                           and heads_list(e.hit.chunk, kinds)), None)
            if headed is not None:
                chosen = self._led_by(headed, chosen)
        if intent.kind == "list" and (slogan := slogan_items(question)) is not None:
            # "六个“一”具体是哪几个": the article that enumerates them (一次告知、一套材料…) leads
            named = next((e for e in ranked if slogan.search(to_simplified(e.hit.chunk.text))), None)
            if named is not None and named is not chosen[0]:
                chosen = self._led_by(named, chosen)
        if intent.kind not in ("by-doc", "validity"):
            # the covering notice ("…现予以公布，请认真组织实施") after the article that answers answers nothing a
            # detail question asks, unless it holds what is asked
            chosen = chosen[:1] + [e for e in chosen[1:] if e.hit.chunk.kind != "notice" or e.slot]
        return chosen

    def _led_by(self, first: ArticleEvidence, chosen: list[ArticleEvidence]) -> list[ArticleEvidence]:
        """`chosen` with `first` leading it, at most max_articles."""
        return ([first] + [e for e in chosen if e is not first])[: self.max_articles]

    def _other_regions(self, chosen: list[ArticleEvidence], ranked: list[ArticleEvidence]) -> list[ArticleEvidence]:
        """A question that names no region is answered for each region with a rule on it: the best
        article of a region not yet cited, when it is not far below (小规模纳税人免征增值税: 兰山's
        二十条 and 周村's compilation both say it)."""
        have = {e.hit.document.region for e in chosen}
        more = []
        for e in ranked:
            r = e.hit.document.region
            if r and r not in have and e.prob >= OTHER_REGION_FLOOR * self.models.extra_min:
                have.add(r)
                more.append(e)
        return chosen + more[: OTHER_REGIONS_MAX]

    def _one_per_region(self, ranked: list[ArticleEvidence], regions: list[str], named_docs: list[str]) -> list[ArticleEvidence]:
        """A comparison's sides: the best article of each region; when that gives one side (two
        documents of one district, two villages' plans), the best article of each document — of
        each document the question names, however weak its articles' match."""
        best_of: dict[str, ArticleEvidence] = {}
        for e in ranked:
            r = e.hit.document.region or ""
            if r not in best_of and (not regions or r in regions) and (regions or e.prob >= self.models.extra_min):
                best_of[r] = e
        if len(best_of) < 2 and len(regions) < 2:
            # each document's article that is both likely and says the question's words in a sentence of
            # its own (what the sides are compared on), among those not far below: not a one-line item
            # whose heading alone matches ("2. …除重点管理区以外的区域均为一般管理区" beside the 1. that draws it)
            by_doc: dict[str, ArticleEvidence] = {}
            for e in ranked:
                d = e.hit.document.doc_id
                floor = self.models.extra_min if not by_doc else SIDE_FLOOR * self.models.extra_min
                # … and of a side already found, the article holding what is compared (the one that draws an
                # area by its bounds) over one that does not, however weak
                holds = e.slot and d in by_doc and not by_doc[d].slot
                if e.prob < floor and not (d in named_docs and (len(named_docs) >= 2 or by_doc)) and not holds:
                    continue
                if d not in by_doc or (e.slot, _said(e)) > (by_doc[d].slot, _said(by_doc[d])):
                    by_doc[d] = e
            if len(by_doc) >= 2:
                return list(by_doc.values())
        return list(best_of.values()) or ranked[:1]

    # ---- the answer -------------------------------------------------------------------------
    def run(
        self,
        question: str,
        intent: Intent,
        evidence: list[ArticleEvidence],
        coverage: Coverage,
        regions: list[str],
        named_docs: list[str],
        cited: list[ArticleEvidence] | None = None,
        subject: list[str] | None = None,
    ) -> Composed:
        cited = self.select(intent, evidence, regions, named_docs, question) if cited is None else cited
        cited = self._whole_lists(cited, intent)
        w = _Writer(self.library.pieces)
        doc_id = named_docs[0] if named_docs else (cited[0].hit.document.doc_id if cited else None)
        if intent.kind in ("by-doc", "validity") and doc_id and (named_docs or intent.kind == "validity"):
            self._document_card(w, doc_id, intent, cited)
            return Composed(w.text(), w.citations, cited)
        if coverage.level == "partial":
            what = SLOT_NAMES.get(coverage.missing or "", "")
            what = (
                f"{coverage.reason}年的情况" if coverage.missing == "year"
                else f"{coverage.reason}以后的情况" if coverage.missing == "term" else what and f"具体的{what}"
            )
            w.lines.append(
                f"{coverage.lacking}的文件中有相关规定，但没有写明{what}；各地的相关规定分别如下："
                if what and coverage.lacking
                else f"已收录的文件中有相关规定，但没有写明{what}。相关规定如下："
                if what
                else "以下规定与问题最接近，但未必直接回答了所问的内容，请核对原文："  # true whether or not one does
            )
        if intent.kind == "broad" and cited and coverage.topical:  # a partial one under the header above
            self._outline(w, cited[0], evidence, subject or [])
            return Composed(w.text(), w.citations, cited)
        many_regions = len({e.hit.document.region for e in cited}) > 1
        if many_regions and intent.kind != "comparison" and not regions and coverage.level == "full":
            w.lines.append("各地的规定不同，分别如下：")  # not under a partial answer's "最接近的内容"
        verdict = self.verdict(question, cited[0], regions, evidence) if intent.kind == "yesno" and coverage.level == "full" and cited else ""
        last_doc, last_article = None, None
        listed = False  # the first article's own items are quoted
        quoted: set[str] = set()
        for e in cited:
            d, c = e.hit.document, e.hit.chunk
            if c.chunk_id in quoted:
                continue  # already quoted as the items an article announced
            quoted.add(c.chunk_id)
            quote, source = self._quote(e, intent)
            where = _region_prefix(d, regions, many_regions, always=intent.kind == "comparison")
            body = strip_locator(quote, c.locator)
            section = section_title(c, body)
            at = f"{c.locator}（{section}）" if section else c.locator
            intro = f"同一文件{at}规定：" if d.doc_id == last_doc else f"{where}{_label(d)}{at}规定："
            if c.kind in ("notice", "preamble"):
                intro = intro.replace(f"{at}规定", "写明")
            if (d.doc_id, c.locator) == last_article:  # another piece of the article just quoted
                intro = "该部分还写明：" if c.kind in ("notice", "preamble") else "该条还规定："
            last_doc, last_article = d.doc_id, (d.doc_id, c.locator)
            if not body.strip():
                # a covering notice that is all heading and addressee: what the document is for instead
                purpose = self.library.purpose(d.doc_id)
                if purpose is None:
                    continue
                c, source = purpose
                body = _goes_on(source)
            announced = ANNOUNCES.search(body)
            # a list question's first article that lists nothing itself leads the items under it, colon or
            # not ("二、主要内容 …围绕“四个必查”内容,…开展全面自查。" before (一)查权力干预 …)
            # (the article's own number "（一）" is no list mark: "（一）…重点打造五大产业板块，…" announces its 1.–5.)
            lists = self.library.announces(c) or (
                intent.kind == "list" and e is cited[0] and (not e.slot or not has_slot("list", _LEADING_MARK.sub("", body)))
            )
            more = self._announced_items(c, intent) if lists else []
            listed = listed or (e is cited[0] and bool(more))
            quoted.update(x.chunk_id for x in more)
            if announced and not more:
                body = ANNOUNCES.sub("……", body)  # announced items not found: say the text goes on
            w.lines.append(verdict + defuse_markers(intro) + body + w.cite(c, d, source))
            verdict = ""
            room = LIST_CHARS_FACTOR * self.whole_max_chars
            for extra in more:
                # a list question asks for every announced item: whole while they fit, then by their leads
                shown, quoted_text = whole(extra, d), own_text(extra)
                if len(shown) > room:
                    shown, quoted_text = lead(shown, quoted_text)
                room -= len(shown)
                w.lines.append(shown + w.cite_item(c, extra, d, quoted_text))
            scope = self._scope_note(e.hit.chunk)
            if scope is not None and scope.chunk_id not in quoted:  # "此项不涉及我市、区" after the rule it limits
                quoted.add(scope.chunk_id)
                w.lines.append(f"同一文件{scope.locator}写明：{whole(scope, d)}{w.cite(scope, d, own_text(scope))}")
        lead_note = (
            self._lead_note(cited[0].hit.chunk, cited[0].best_sentence.text if cited[0].best_sentence else "")
            if cited and self._asks_lead(question, regions, cited[0].hit.chunk) else None
        )
        if lead_note is not None and not any(lead_note[1] in line for line in w.lines):
            # who leads the first article's item and whom to call ("（区发展改革局牵头，联系人：…）" closing it)
            c_lead, line = lead_note
            w.lines.append(f"同一文件{c_lead.locator}写明：{tidy(defuse_markers(line))}{w.cite(c_lead, cited[0].hit.document, line)}")
        if intent.kind == "list" and cited and coverage.level == "full" and not listed:
            w.lines.extend(self._items(question, cited[0]))  # the series it is one of, unless its own items were quoted
        return Composed(w.text(), w.citations, cited)

    def _whole_lists(self, cited: list[ArticleEvidence], intent: Intent) -> list[ArticleEvidence]:
        """A list or condition question answered by an item ("（二）财政补助资金；", "1. 列入…总投资亿元
        以上招商引资项目；"): the article announcing its list ("第六条 救助基金的来源主要包括：",
        "第二条 扶持条件：") instead, which is quoted with all its items. Any cited run of one-line items
        ("第十一条（一）–（三）": （一）抢救费用超过交强险责任限额的；（二）…) is its article too: alone it does
        not say what the items are for ("有下列情形之一的，…可以自…30个工作日内…申请…：")."""
        out: list[ArticleEvidence] = []
        for i, e in enumerate(cited):
            run = MERGED_ITEMS in e.hit.chunk.locator
            listed = i == 0 and intent.kind in ("list", "condition")
            head = self.library.announcer(e.hit.chunk, self.max_series) if run or listed else None
            if head is not None and len(whole(head, e.hit.document)) <= self.whole_max_chars:
                e = replace(e, hit=replace(e.hit, chunk=head), sentences=[])
            if all(x.hit.chunk.chunk_id != e.hit.chunk.chunk_id for x in out):
                out.append(e)
        return out

    def _announced_items(self, c: Chunk, intent: Intent) -> list[Chunk]:
        """The items a quoted article announces ("保留以下7支队伍："): a list question asks for all of them."""
        if intent.kind == "list":
            # however long they are: those beyond LIST_CHARS_FACTOR articles' length are shown by their leads
            return self.library.continuation(c, self.max_series, max_chars=None)
        return self.library.continuation(c, self.continuation_items, self.whole_max_chars)

    def series(self, question: str, e: ArticleEvidence) -> list[tuple[str, str]]:
        """A list question answered by a numbered series (十件实事: 一、… 十、) rather than by one
        article: (locator, heading) of the series' items, when the question is about what the
        series has in common (its words are in the parent heading or title more than in the item's
        own); [] otherwise."""
        items = self.library.siblings(e.hit.chunk)
        if not (3 <= len(items) <= self.max_series):
            return []
        q = content_grams(question)
        parent = content_grams(" ".join([e.hit.document.title, *e.hit.chunk.heading_path[:-1]]))
        own = content_grams(e.hit.chunk.heading_path[-1])
        if len(q & parent) < 2 or len(q & parent) <= len(q & own):
            return []
        return items

    def _items(self, question: str, e: ArticleEvidence) -> list[str]:
        items = self.series(question, e)
        return ["该文件列出的各项：" + "；".join(defuse_markers(h).rstrip("。；;") for _, h in items) + "。"] if items else []

    # ---- pieces -----------------------------------------------------------------------------
    def _quote(self, e: ArticleEvidence, intent: Intent, budget: int | None = None) -> tuple[str, str]:
        """(what the answer shows, what the citation quotes verbatim): the article whole when
        short, else its best sentences (those holding the slot first) as a marked excerpt."""
        c = e.hit.chunk
        full = whole(c, e.hit.document)
        limit = budget or self.whole_max_chars
        if len(full) <= limit or (budget is None and intent.kind == "list" and len(full) <= 2 * limit):
            return full, own_text(c)
        ranked = sorted(e.sentences, key=lambda s: -s.score)
        keep = [s.text for s in ranked if s.slot][:2] + [s.text for s in ranked[:3]]
        shown, used = excerpt(c, list(dict.fromkeys(keep)), budget or self.excerpt_chars, e.hit.document)
        return shown, (verbatim_quote(c.text, used) or own_text(c))

    def verdict(
        self, question: str, e: ArticleEvidence, regions: list[str], evidence: list[ArticleEvidence]
    ) -> str:
        """需要。/ 不可以。 … when a sentence close to the question states a rule on the modal the
        question asks (may I → permission or prohibition; must I → duty or exemption); "" otherwise,
        and the rule is quoted without a verdict. A rule of another region's document is no verdict
        for the region asked about."""
        negated, asks = _verdict_rules()
        q = to_simplified(question)
        if negated.search(q) or (regions and e.hit.document.region not in regions):
            return ""
        if any(_duties().search(h) for h in e.hit.chunk.heading_path[1:]):
            return ""  # an office's duty, not a rule on the person asking
        asked = _asked_modals(q, asks)
        if any("不可以" in (v for _, v in asks[n][1]) for _, n in asked) and beyond_limit(
            q, [to_simplified(x.text) for x in e.sentences]
        ):
            return "不可以。"  # more than the rule's maximum is a no, whichever sentence is closest
        sentence = self._rule_sentence(q, e)
        if sentence is None or not _ages_within(q, sentence):
            return ""
        verdict = _states(sentence, asked, asks)
        if not verdict:
            return ""
        if verdict == "可以" and (_caveats().carved.search(sentence) or self._caveat(e, evidence)):
            return ""
        # a sentence about as close to the question ruling the other way ("无自有住宅的…可按…录取" beside
        # "商业用房(含公寓)…不能作为入学房产"): which one the asker falls under is not for the words to decide;
        # a rule for a case the question does not speak of ("选择放弃免税…的，应开具…") is no rival, one for a case
        # it may be in, said in other words ("已经委托他人…处理的，可以不自行建设"), is
        best, q_grams = e.best_sentence, content_grams(q)
        if best is not None and not _meets_condition(sentence, q_grams):
            near = (to_simplified(x.text) for x in e.sentences if x.score >= best.score - CONDITION_BONUS)
            # (a carve-out from a duty or a permission the question may fall under, said in other words, makes a
            # 需要 / 可以 doubtful; an exemption's verdict is not undone by a duty for some other case)
            rivals = [t for t in near if t != sentence and (not _CONDITION.match(t) or _meets_condition(t, q_grams) or (
                not verdict.startswith("不") and _touches_condition(t, q_grams)))]
            if any(v and v != verdict for v in (_states(t, asked, asks) for t in rivals)):
                return ""
        return f"{verdict}。"

    def _caveat(self, e: ArticleEvidence, evidence: list[ArticleEvidence]) -> bool:
        """The document may exclude the case a permission is asked for (qa/data/verdicts.toml
        [caveats]): a sentence about it that excludes, or a note that the rule does not reach this place."""
        excluded = _caveats().excluded
        doc = e.hit.document.doc_id
        bar = max(CAVEAT_MIN_COVERAGE, CAVEAT_RATIO * max((s.coverage for s in e.sentences), default=0.0))
        return self._scope_note(e.hit.chunk) is not None or any(
            s.coverage >= bar and excluded.search(to_simplified(s.text))
            for x in evidence if x.hit.document.doc_id == doc for s in x.sentences
        )

    def _lead_note(self, chunk: Chunk, item: str = "") -> tuple[Chunk, str] | None:
        """The line closing `chunk`'s section with who leads it and whom to call (qa/data/sections.toml
        [lead]), with the article it is in; None when the section has none. `item`: the sentence asked
        about — the lead lines before it close earlier items ("(4)…(牵头单位:区司法局…)(7)禁止使用童工…"
        is led by the line after (7), which may open the next piece)."""
        rows = self.library.section(chunk)
        at = next((n for n, c in enumerate(rows) if c.chunk_id == chunk.chunk_id), 0)
        start = max(chunk.text.find(item), 0) if item else 0
        for rx in _lead_lines():
            for c in rows[at:] + rows[:at][::-1]:  # the item's own closing line: the first after it
                if m := rx.search(c.text, start if c.chunk_id == chunk.chunk_id else 0):
                    return c, m.group(0)
        return None

    @staticmethod
    def _asks_lead(question: str, regions: list[str], chunk: Chunk) -> bool:
        """Whether the answer names who leads the item: the question asks who, or it asks about the
        place while the article quotes a higher level's policy with that level's lead."""
        return asks_who(question) or (upper_policy(chunk.text) and asks_here(question, regions))

    def _scope_note(self, chunk: Chunk) -> Chunk | None:
        """The article of `chunk`'s section saying its rule does not reach this place (a district's
        compilation of provincial policies: 政策原文 followed by "情况说明：此项不涉及我市、区")."""
        scope = _caveats().scope
        return next((c for c in self.library.section(chunk) if c.chunk_id != chunk.chunk_id and scope.search(to_simplified(c.text))), None)

    @staticmethod
    def _rule_sentence(q: str, e: ArticleEvidence) -> str | None:
        """The sentence that decides: the best matching one, unless one nearly as close states its
        own condition and the question meets it ("已经委托他人…处理的，可以不自行建设") — the
        special rule before the general one."""
        best = e.best_sentence
        if best is None or best.score < VERDICT_MIN_SCORE:
            return None
        q_grams = content_grams(q)

        def rank(s: ScoredSentence) -> float:
            return s.score + (CONDITION_BONUS if _meets_condition(to_simplified(s.text), q_grams) else 0.0)

        near = [s for s in e.sentences if s.score >= max(VERDICT_MIN_SCORE, best.score - CONDITION_BONUS)]
        return to_simplified(max(near, key=rank).text)

    def _document_card(self, w: _Writer, doc_id: str, intent: Intent, cited: list[ArticleEvidence]) -> None:
        d = self.library.by_id[doc_id]
        opening = self.library.opening(doc_id)
        head = opening[0] if opening else None
        facts = [f for f in (d.issuer and f"发文机关：{d.issuer}", d.date and f"成文日期：{_date_cn(d.date)}") if f]
        term_chunk = self._term_chunk(doc_id) if intent.kind == "validity" else None
        # a validity answer cites the article that states the term; the heading facts are on its card
        marker = w.cite(head, d, own_text(head)) if head and term_chunk is None else ""
        w.lines.append(f"{_label(d)}" + (f"，{'，'.join(facts)}" if facts else "") + f"。{marker}")
        term = self._term_line(d) if intent.kind == "by-doc" else ""  # validity answers get the full statement
        if term:
            w.lines.append(term)
        if intent.kind == "validity":
            if term_chunk is not None:
                w.lines.append(self._term_quote(term_chunk, d, w))
            return
        purpose = self.library.purpose(doc_id)
        outline = self.library.outline(doc_id)
        if purpose:
            chunk, line = purpose
            # a document without sections says what it is about after its "具体情况如下：": quoted with it
            said = self.library.announced(chunk, line, self.whole_max_chars) if not outline and ANNOUNCES.search(line) else ""
            shown = f"{tidy(defuse_markers(line))}{_rows(said)}" if said else _goes_on(line)
            source = f"{line}\n{said}" if said else line
            w.lines.append(f"主要内容：{shown}{w.cite(chunk, d, source)}")
            if (preface := self.library.preface(doc_id, chunk)) is not None:
                # the issued document's own opening statements after the notice's purpose
                c_pre, lines = preface
                shown = "；".join(tidy(defuse_markers(f"{label}：{x}" if label else x)).rstrip("。") for label, x in lines) + "。"
                source = "\n".join(f"{label}\n{x}" if label else x for label, x in lines)
                w.lines.append(f"{c_pre.locator}写明：{shown}{w.cite(c_pre, d, source)}")
            elif not outline and not said:
                # a notice without sections says what it decides after its purpose ("按照“一次赋权、分批承接”
                # 的原则…2020年10月底前…完成对接"), in its text or its attachment: quoted in its own words
                rest: dict[str, tuple[Chunk, list[str]]] = {}
                for c_more, x in self.library.statements_after(chunk, line, self.excerpt_chars):
                    rest.setdefault(c_more.chunk_id, (c_more, []))[1].append(x)
                parts: list[list[str]] = []  # [text, marker]: pieces of one article share their marker
                for c_more, xs in rest.values():
                    marker = w.cite(c_more, d, "\n".join(xs))
                    if parts and parts[-1][1] == marker:
                        parts[-1][0] += tidy(defuse_markers("".join(xs)))
                    else:
                        parts.append([tidy(defuse_markers("".join(xs))), marker])
                if parts:
                    w.lines.append("其他内容：" + "".join(text + marker for text, marker in parts))
        goal = self.library.goal(doc_id)
        if goal is not None and not (purpose and purpose[0].chunk_id == goal.chunk_id):
            shown, source = self._opening_quote(goal, d, TARGET)
            heading = goal.heading_path[-1].strip()
            shown = strip_heading(shown, heading)  # "二、工作目标：…" under a label that names it
            if _BARE_ITEM.fullmatch(heading):  # "2. 任务目标：完成…": the item's locator, its label dropped
                heading, shown = goal.locator, _GOAL_LABEL.sub("", shown, count=1)
            marker = w.cite(goal, d, source)
            for more in self.library.pieces(goal)[1:]:
                # a goal section split at the token limit: its later targets ("到2025年，全面建立…") too
                targets = [x for x in sentences(own_text(more)) if TARGET.search(x)]
                if targets:
                    more_shown, used = excerpt(more, targets, self.excerpt_chars, d)
                    shown += more_shown  # the same article: one marker, its quote joined
                    marker = w.cite(more, d, verbatim_quote(more.text, used) or own_text(more))
            w.lines.append(f"主要目标（{heading}）：{shown}{marker}")
        contents = self.library.contents(doc_id)
        if contents is not None and contents.chunk_id not in {purpose and purpose[0].chunk_id, goal and goal.chunk_id}:
            # "二、主要内容：针对…围绕“四个必查”…": the section that says what the document is mainly about
            shown, source = self._opening_quote(contents, d)
            heading = to_simplified(contents.heading_path[-1].strip())
            shown = strip_heading(shown, heading)
            w.lines.append(f"{heading}：{shown}{w.cite(contents, d, source)}")
        if outline:
            w.lines.append("主要章节：" + "；".join(h.rstrip("；;。，,") for _, h in outline) + "。")
        # a detail the question also asks about ("…由谁负责解释？"), when an article clearly holds it
        detail = [e for e in cited if e.hit.document.doc_id == doc_id and e.hit.chunk.kind not in ("notice", "preamble")]
        for e in [e for e in detail if e.prob >= self.models.extra_min + BYDOC_DETAIL_OFFSET][:1]:
            quote, source = self._quote(e, intent)
            if ANNOUNCES.search(strip_locator(quote, e.hit.chunk.locator)):
                continue  # a heading that announces what follows ("三、职 责:") says nothing on its own
            w.lines.append(f"{e.hit.chunk.locator}规定：{strip_locator(quote, e.hit.chunk.locator)}{w.cite(e.hit.chunk, d, source)}")

    def _opening_quote(self, c: Chunk, d: Document, prefer: re.Pattern[str] | None = None) -> tuple[str, str]:
        """(shown, cited) for a section quoted for what it is, not for a question: whole when short,
        else its first sentences as a marked excerpt, or those `prefer` picks (a goal section's targets,
        which follow a long guiding-thought sentence)."""
        full = whole(c, d)
        if len(full) <= self.whole_max_chars:
            return full, own_text(c)
        said = sentences(own_text(c))
        picked = [s for s in said if prefer.search(s)] if prefer is not None else []
        shown, used = excerpt(c, picked or said[:4], self.excerpt_chars, d)
        return shown, (verbatim_quote(c.text, used) or own_text(c))

    def _term_chunk(self, doc_id: str) -> Chunk | None:
        """The part of the document that states its term (`Validity.term`, parsed at ingest): the one
        holding the term's last sentence, which carries the expiry when there is one."""
        v = self.library.by_id[doc_id].validity
        found = term_chunks(v, self.library.chunks(doc_id)) if v else []
        return found[-1] if found else None

    def _term_quote(self, c: Chunk, d: Document, w: _Writer) -> str:
        """"第三十四条规定：本办法自…起施行，有效期至…。[n]": the chunk's sentences of the term, under
        their own article when one chunk holds several (第三十二条–第三十四条)."""
        probes = [p[:16] for p in (d.validity.term if d.validity and d.validity.term else "").split("。") if len(p[:16]) >= 6]
        term = [s for s in sentences(c.text) if any(p in compact(to_simplified(s)) for p in probes)][:2]
        locator, source = c.locator, " ".join(term) or own_text(c)
        quote = tidy(defuse_markers(source))
        if term and (m := _ARTICLE_LEAD.match(term[0])):
            locator, quote = m.group(1), tidy(defuse_markers(source[m.end():].strip()))
        elif term and "–" in locator and (m := _ITEM_LEAD.match(term[0])):  # 五、2.–3. → 五、3.
            locator = re.sub(r"[^、）)]*–.*$", f"{m.group(1)}.", locator)
            quote = tidy(defuse_markers(source[m.end():].strip()))
        label = "印发通知写明：" if c.kind == "notice" else f"{locator}规定："
        return f"{label}{strip_locator(quote, locator)}{w.cite(c, d, source)}"

    @staticmethod
    def _term_line(d: Document) -> str:
        parts = []
        if d.effective_date:
            parts.append(f"自{_date_cn(d.effective_date)}起施行")
        if d.expiry_date:
            parts.append(f"有效期至{_date_cn(d.expiry_date)}")
        return ("施行与有效期：" + "，".join(parts) + "。") if parts else ""

    def _outline(self, w: _Writer, best: ArticleEvidence, evidence: list[ArticleEvidence], subject: list[str]) -> None:
        """A broad question: the best document's measures found for it, each with its locator; those on
        the subject the question narrows to ("融资这块"; Assistant.measures decides it) first."""
        d = best.hit.document
        # every retrieved measure of the best document, in the document's order
        items = [e for e in evidence if e.hit.document.doc_id == d.doc_id and e.hit.chunk.kind not in ("notice", "preamble")]
        measures = [e for e in items if not _framing(e.hit.chunk)]
        items = measures if len(measures) >= 2 else items  # what the policy does, not its scope or aims
        ranked = sorted(items, key=lambda e: (bool(subject) and not on_subject(subject, e.hit.chunk), -e.prob))  # the subject asked first
        items = sorted(ranked[: self.broad_items], key=lambda e: e.hit.chunk.start) or [best]
        w.lines.append(f"{_label(d)}的相关措施：")
        # the pieces of an article split at the token limit (DocumentLibrary.pieces, as the citations
        # count them) are one measure: one numbered line, one citation
        groups: dict[str, list[ArticleEvidence]] = {}
        for e in items:
            groups.setdefault(self.library.pieces(e.hit.chunk)[0].chunk_id, []).append(e)
        for n, group in enumerate(groups.values(), 1):
            shown, marker = [], ""
            first = self.library.pieces(group[0].hit.chunk)[0]
            if all(e.hit.chunk.chunk_id != first.chunk_id for e in group) and all(_bare_tail(e.hit.chunk.text) for e in group):
                # only the article's tail was retrieved ("（责任单位：…）"): the measure is named by its lead
                head, source = lead(whole(first, d), own_text(first))
                shown.append(strip_locator(head, first.locator))
                marker = w.cite(first, d, source)
            for e in group:
                c = e.hit.chunk
                quote, source = self._quote(e, Intent("broad"), budget=self.broad_chars)
                shown.append(strip_locator(quote, c.locator))
                marker = w.cite(c, d, source)
            w.lines.append(f"{n}. {group[0].hit.chunk.locator}：{' '.join(shown)}{marker}")
        outline = self.library.outline_levels(d.doc_id, depth=BROAD_DEPTH, limit=self.broad_more + len(items))
        others = _other_measures(outline, [e.hit.chunk.text for e in items], self.broad_more)
        if others:
            w.lines.append("该文件还规定了：" + "；".join(others) + "。")
