"""How much of the question the retrieved articles answer: full, partial or none.

- none: a hard rule (the question names a place the collection does not cover, or asks about
  a year while the documents found are another year's plans), or the coverage model (fitted
  on tuning questions) finds nothing that answers. A question that names an indexed document
  is never declined: the document itself is the answer's subject.
- partial: the topic is covered but what the question asks for is not — an amount, a deadline,
  a department — in none of the articles that would be cited; or the best article is only a
  weak match (between the model's two thresholds).
- full: otherwise.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

from qa import data
from qa.answer.evidence import (
    FIGURE_SLOTS, MONEY_SLOTS, NEUTRAL_BEST_DENSE, NEUTRAL_BEST_SENTENCE, ArticleEvidence, centred, content_grams, has_slot,
    leaves_open,
)
from qa.answer.model import LogisticModel
from qa.models import Document, Hit
from qa.retrieve.intent import asks_cash, asks_materials
from qa.retrieve.places import gazetteer
from qa.retrieve.synonyms import official_terms
from qa.text import sentences, to_simplified

COVERAGE_FEATURES = [
    "best_prob",  # P(answers) of the best article
    "dense",  # best cosine similarity, centred
    "bm25",  # log(1 + best BM25 score)
    "q_cov",  # the best article's share of the question's words
    "oov",  # share of the question's bigrams found nowhere in the collection
    "slot_found",  # an article among the first three holds what is asked
    "word_oov",  # IDF-weighted share of the question's words found nowhere in the collection
    "word_miss",  # … found in the collection but not in the three best articles
    "max_miss",  # the rarest question word missing from the three best articles (IDF / max IDF)
    "sentence",  # the closest sentence of the three best hits to the question (cosine, centred)
]
SLOT_NAMES = {
    **{slot: "金额或标准" for slot in FIGURE_SLOTS},
    "cash": "金额",
    "share": "比例",
    "score": "分数",
    "deadline": "时间或期限",
    "date": "日期",
    "department": "负责部门",
    "contact": "联系电话或地址",
    "condition": "条件",
    "materials": "所需材料",
    "validity": "施行日期或有效期",
    "list": "名单（文件所引的名录未收录）",  # Assistant.refers_list
    "local": "本级金额或标准（下列金额出自文件所引的上级政策原文）",  # quotes_above
}

PARTIAL_SLOTS = (*FIGURE_SLOTS, "deadline", "date")
_NEAREST_HITS = 3  # how far down the hits to look for a dated plan or another batch
_YEAR = re.compile(r"(20\d\d)\s*年")


@dataclass
class Coverage:
    level: str  # full | partial | none
    score: float = 0.0  # P(answerable) from the coverage model
    reason: str = ""  # said to the person, e.g. 已收录的文件不包含历下的政策
    missing: str | None = None  # the slot no cited article fills (partial); "year": the year in `reason` (later_year);
    # "term": after the term of office in `reason` (after_term)
    unknown_places: list[str] = field(default_factory=list)
    lacking: str = ""  # the region whose documents leave `missing` unsaid, when others' articles are cited beside

    @property
    def topical(self) -> bool:
        """Answered in full, or hedged without naming a detail the documents lack: a broad question
        is then answered by its document's measures (the one nearest article holds a fraction of it)."""
        return self.level != "none" and not self.missing


def _nearest_text(top: list[Hit]) -> str:
    """What the nearest hits say, with their documents' titles: a year or a batch the question asks
    about that is not in it is not what was found."""
    return "".join(f"{h.document.title}{h.document.notice_title or ''}{h.chunk.text_simplified}" for h in top)


def other_year(question: str, hits: list[Hit]) -> tuple[str, str] | None:
    """(asked year, the nearest document's title) when the question asks about a year that none
    of the top documents mentions while they are dated plans of another year."""
    asked = list(dict.fromkeys(_YEAR.findall(question)))
    if not asked or not hits:
        return None
    top = hits[:_NEAREST_HITS]
    seen = _nearest_text(top)
    missing = [y for y in asked if y not in seen]
    if len(missing) < len(asked):
        return None  # one year asked about is the year of what was found (a comparison of two years)
    for hit in top:
        titled = _YEAR.findall(hit.document.title)
        if titled:
            # the nearest dated plan is another year's and no article found mentions the year asked
            return missing[0], hit.document.title
    return None


def later_year(question: str, cited: list[ArticleEvidence]) -> str | None:
    """The one year a question asks about ("2023年又新增了哪些行业", "2019年的时候已经建成多少个") when every
    cited document speaks of other years: issued before it with no term reaching into it, or issued after it
    (targets from then on), and none mentions it: what they say is not about that year."""
    asked = list(dict.fromkeys(_YEAR.findall(question)))
    if len(asked) != 1 or not cited:
        return None  # no year, or two (a comparison of years)
    year = asked[0]
    docs = {e.hit.document.doc_id: e.hit.document for e in cited}
    since = re.search(rf"{year}\s*年\s*(?:以来|至今|起|开始|后|以后)", question)  # from then on: later documents answer
    def outside(d: Document) -> bool:
        if not d.date:
            return False
        before = d.date[:4] < year and (d.expiry_date or "")[:4] < year  # a stated term into the year answers for it
        return before or (d.date[:4] > year and not since)
    if not all(outside(d) for d in docs.values()):
        return None
    said = "".join(to_simplified(e.hit.chunk.text) for e in cited) + "".join(d.title for d in docs.values())
    return None if year in said else year


def after_term(question: str, cited: list[ArticleEvidence], today: str) -> str | None:
    """"2023年9月聘期届满" when every document cited states a term of office that ended before what the
    question asks about: a later date (2023年10月起新一届法律顾问) or, once the term is over, the next term
    (到期又换了一批，新聘的都有谁). The appointment that ended does not name who came after it."""
    if not cited:
        return None
    pattern, q = data.patterns("slots.toml", "term"), to_simplified(question)
    ends: dict[str, tuple[int, int]] = {}
    for e in cited:
        m = pattern["ends"].search(to_simplified(e.hit.chunk.text))
        if m:
            end = (int(m.group(1)), int(m.group(2)))
            ends[e.hit.document.doc_id] = max(end, ends.get(e.hit.document.doc_id, end))
    if not ends or len(ends) < len({e.hit.document.doc_id for e in cited}):
        return None  # a document cited without a term may answer for any date
    last = max(ends.values())
    later = False
    for m in pattern["after"].finditer(q):
        year = int(m.group(1)) if len(m.group(1)) == 4 else 2000 + int(m.group(1))
        # a month after the end's (2023年10月起), or a year after the end's year (2024年的顾问)
        later = later or ((year, int(m.group(2))) > last if m.group(2) else year > last[0])
    over = pattern["succession"].search(q) and f"{last[0]:04d}-{last[1]:02d}" < today[:7]
    return f"{last[0]}年{last[1]}月聘期届满" if later or over else None


def quotes_above(question: str, cited: list[ArticleEvidence]) -> bool:
    """The question asks what the district itself gives (省里那笔奖励，区里具体能给多少) and every cited article
    with a figure is the higher level's policy a compilation quotes (政策原文：…): its figure is not the answer."""
    pattern = data.patterns("slots.toml", "local", district=gazetteer().district_alternation)
    if not pattern["ask"].search(to_simplified(question)):
        return False
    figures = [e for e in cited if e.slot]
    return bool(figures) and all(pattern["quoted"].search(to_simplified(e.hit.chunk.text)) for e in figures)


def only_totals(question: str, cited: list[ArticleEvidence]) -> bool:
    """The question asks a sum per thing (一张券能抵多少钱) and no cited article with a figure states one per
    anything (安排消费季资金100万元, 救助50人): the totals are not the sum asked."""
    pattern = data.patterns("slots.toml", "per_unit")
    if not pattern["ask"].search(to_simplified(question)):
        return False
    figures = [e for e in cited if e.slot]
    return bool(figures) and not any(pattern["marks"].search(to_simplified(e.hit.chunk.text)) for e in figures)


def other_grants(question: str, cited: list[ArticleEvidence], slot: str) -> str | None:
    """The kind of grant asked for ("护理补贴…每月多少元" → 护理; qa/data/slots.toml [grant_kind]) when the cited
    articles have sums and no sentence with one names that kind: their sums are other grants' (缴费补贴 60 元)."""
    table = data.patterns("slots.toml", "grant_kind")
    kind = next((m.group(1) for m in table["grant"].finditer(to_simplified(question)) if not table["not_kind"].search(m.group(1))), None)
    if kind is None:
        return None
    figures = [x for e in cited for x in sentences(to_simplified(e.hit.chunk.text)) if has_slot(slot, x)]
    return kind if figures and not any(kind in x for x in figures) else None


_ORDINAL = re.compile(r"第([一二三四五六七八九十百\d]+)(批|届|次|期|轮)")


def other_ordinal(question: str, hits: list[Hit]) -> tuple[str, str] | None:
    """(asked, the nearest document's title) when the question asks about one batch or session
    (第三批首席技师) and the top documents are another one's (第二批…名单) without a word on it."""
    asked = [m.group(0) for m in _ORDINAL.finditer(to_simplified(question))]
    if not asked or not hits:
        return None
    top = hits[:_NEAREST_HITS]
    seen = _nearest_text(top)
    if any(a in seen for a in asked):
        return None
    units = {a[-1] for a in asked}
    for hit in top:
        if any(m.group(2) in units for m in _ORDINAL.finditer(to_simplified(hit.document.title))):
            return asked[0], hit.document.title  # the nearest document is another batch's
    return None


def content_words(question: str, skip: list[str]) -> list[str]:
    """The question's content words (jieba), without filler, stop words and the places it names."""
    from qa.index.lexical import STOPWORDS_ZH, tokenize_zh

    filler = set(_filler_words())
    out = []
    for w in tokenize_zh(to_simplified(question)):
        if w in filler or w in STOPWORDS_ZH or any(w in s for s in skip) or not re.search(r"[\u4e00-\u9fff]", w):
            continue
        if len(w) == 1 and w in _FUNCTION_CHARS:
            continue
        out.append(w)
    return list(dict.fromkeys(out))


@lru_cache(maxsize=1)
def _likened() -> tuple[list[re.Pattern[str]], list[str]]:
    from qa import data

    table = data.load("intents.toml")["likened"]
    return [re.compile(p) for p in table["patterns"]], list(table["kinds"])


@lru_cache(maxsize=1)
def _lead() -> tuple[re.Pattern[str], tuple[str, ...], tuple[str, ...]]:
    from qa import data

    table = data.load("sections.toml")["lead"]
    return re.compile(table["upper"]), tuple(table["local"]), tuple(table["higher"])


def upper_policy(text: str) -> bool:
    """The article quotes a higher level's policy with that level's lead ("（牵头单位：省财政厅）")."""
    return bool(_lead()[0].search(text))


def asks_here(question: str, regions: list[str]) -> bool:
    """The question is about the place: it names a region or says 区里 / 我区 (sections.toml [lead] local)."""
    return bool(regions) or any(w in question for w in _lead()[1])


def asks_local_sum(question: str) -> bool:
    """The question asks what the place itself gives ("区里能给多少"), naming no higher level."""
    _, local, higher = _lead()
    return any(w in question for w in local) and not any(w in question for w in higher)


def _of_kind(word: str) -> set[int]:
    """The kinds of thing (intents.toml [likened] kinds) a word names, by the characters that mark them."""
    return {n for n, k in enumerate(_likened()[1]) if set(word) & set(k)}


def neighbour_subject(question: str, evidence: list[ArticleEvidence], rare: Callable[[str], bool]) -> tuple[str, list[str]] | None:
    """(what the subject is likened to, the subject's words) when the question likens something the
    collection never names to something the best articles speak of ("卖活鱼活虾的是不是也像活禽一样要
    休市？" → ("活禽", ["活鱼", "活虾"])); None otherwise. Only words naming a thing of the same kind as
    what they are likened to (intents.toml [likened] kinds), without an official term (个体户 is 个体工商户)."""
    import jieba

    q = to_simplified(question)
    m = next((m for p in _likened()[0] if (m := p.search(q))), None)
    if not m or not evidence:
        return None
    likened = [w for w in jieba.lcut(m.group("x")) if _of_kind(w)]
    kinds = set().union(*(_of_kind(w) for w in likened)) if likened else set()
    top = sorted(evidence, key=lambda e: -e.prob)[:3]
    top_text = "".join(to_simplified(e.hit.chunk.text) + e.hit.document.title for e in top)
    if not likened or not any(_spoken_of(w, top_text) for w in likened):
        return None  # the articles found are not about what the subject is likened to
    rest = q[: m.start("x")] + "，" + q[m.end("x") :]
    unknown = [
        w for w in jieba.lcut(rest)
        if _of_kind(w) & kinds and rare(w) and not official_terms(w) and w not in top_text
    ]
    return ("、".join(dict.fromkeys(likened)), list(dict.fromkeys(unknown))) if unknown else None


@lru_cache(maxsize=1)
def _siblings() -> list[list[tuple[str, re.Pattern[str]]]]:
    return [[(name, re.compile(said)) for name, said in family] for family in data.load("intents.toml")["siblings"].values()]


def sibling_subject(question: str, cited: list[ArticleEvidence]) -> tuple[str, str] | None:
    """(what the cited articles speak of, what the question asks of) when the question names one member of
    a family of like things (intents.toml [siblings]) and the cited articles speak only of others
    ("职工医疗保险费能不能缓缴" answered by "缓缴养老、失业、工伤保险费"): they leave it unsaid."""
    if not cited:
        return None
    q = to_simplified(question)
    said = "".join(to_simplified(e.hit.chunk.text) for e in cited)
    for family in _siblings():
        asked = [(name, p) for name, p in family if p.search(q)]
        if len(asked) != 1:
            continue
        [(name, ask)] = asked
        others = [other for other, p in family if other != name and p.search(said)]
        if others and not ask.search(said):
            return "、".join(others), name
    return None


def _spoken_of(word: str, text: str) -> bool:
    """The articles speak of the thing: the word or its official term (活鸡 is 活禽)."""
    return word in text or any(f in text for f in official_terms(word))


_FUNCTION_CHARS = set("的了吗呢吧啊呀是有要能会和与及在对给把被让得去来到从向也都还就才又再很太更最个只些这那哪啥咋么怎多少几点下上中里外前后说想看做用行好")


def _filler_words() -> list[str]:
    from qa import data

    return list(data.load("terms.toml")["filler"]["words"])


def word_features(words: list[str], evidence: list[ArticleEvidence], corpus_text: str, word_idf: Callable[[str], float], max_idf: float) -> list[float]:
    """Which question words the collection and the three best articles lack, weighted by rarity."""
    if not words:
        return [0.0, 0.0, 0.0]
    top = sorted(evidence, key=lambda e: -e.prob)[:3]
    top_text = "".join(
        to_simplified(e.hit.chunk.text) + e.hit.document.title + "".join(e.hit.chunk.heading_path) for e in top
    )
    # a word weighs what its rarest bigram (a single character: that character) weighs
    weights = [word_idf(w) for w in words]
    total = sum(weights) or 1.0
    # an everyday word counts as present when its official term is (办狗证 → 犬只登记)
    oov = sum(wt for w, wt in zip(words, weights) if not _spoken_of(w, corpus_text)) / total
    missing = [
        wt for w, wt in zip(words, weights) if _spoken_of(w, corpus_text) and not _spoken_of(w, top_text)
    ]
    return [oov, sum(missing) / total, max(missing, default=0.0) / max_idf]


def coverage_features(
    question: str,
    evidence: list[ArticleEvidence],
    corpus_grams: frozenset[str],
    slot: str | None,
    words: list[float] | None = None,
) -> list[float]:
    best = max(evidence, key=lambda e: e.prob, default=None)
    dense = max((e.hit.scores.get("dense", NEUTRAL_BEST_DENSE) for e in evidence), default=NEUTRAL_BEST_DENSE)
    bm25 = max((e.hit.scores.get("bm25", 0.0) for e in evidence), default=0.0)
    q = content_grams(question)
    oov = sum(g not in corpus_grams for g in q) / len(q) if q and corpus_grams else 0.0
    return [
        best.prob if best else 0.0,
        centred(dense),
        math.log1p(max(bm25, 0.0)),
        best.features[4] if best else 0.0,
        oov,
        1.0 if any(e.slot for e in evidence[:3]) else (0.5 if not slot else 0.0),
        *(words or [0.0, 0.0, 0.0]),
        centred(max((e.hit.scores.get("sentence", NEUTRAL_BEST_SENTENCE) for e in evidence[:3]), default=NEUTRAL_BEST_SENTENCE)),
    ]


class CoverageJudge:
    def __init__(
        self, model: LogisticModel, partial_below: float | None = None, near_sentences: int = 2, focus_ratio: float = 0.5
    ) -> None:
        if model.features != COVERAGE_FEATURES:
            raise ValueError(f"coverage model features {model.features} != {COVERAGE_FEATURES}")
        self.model = model
        self.near_sentences = near_sentences
        self.focus_ratio = focus_ratio
        # between the decline threshold and this one, an answer is given but marked partial
        self.partial_below = model.threshold if partial_below is None else partial_below

    def run(
        self,
        question: str,
        evidence: list[ArticleEvidence],
        cited: list[ArticleEvidence],
        slot: str | None,
        corpus_grams: frozenset[str],
        named_document: bool,
        words: list[float] | None = None,
        named_by_number: bool = False,
        other_places: list[str] | None = None,
        named_regions: list[str] | None = None,
        neighbour: tuple[str, list[str]] | None = None,
        unknown_numbers: list[str] | None = None,
    ) -> Coverage:
        hits = [e.hit for e in evidence]
        if unknown_numbers and not named_by_number:
            # a 发文字号 the collection does not hold (nor quote): a document of a like title is not it
            return Coverage("none", 0.0, f"已收录的文件中没有{'、'.join(unknown_numbers)}")
        if not evidence:
            return Coverage("none", 0.0, "没有检索到相关条文")
        # a place the collection does not cover, and none it does: another region's rules would mislead
        # (a title named loosely, "莱阳市残疾人事业发展规划", is a like document of that place, not ours)
        places = list(other_places or []) if not named_regions and not named_by_number else []
        if places:
            return Coverage("none", 0.0, f"已收录的文件不包含{'、'.join(places)}的政策", unknown_places=places)
        # a subject likened to one the documents cover, and never named in them (活鱼 like 活禽)
        if neighbour and not named_document:
            likened, unknown = neighbour
            return Coverage("none", 0.0, f"找到的规定是关于{likened}的，文件中没有涉及{'、'.join(unknown)}")
        # one of a family of like things asked, and the articles found speak only of the others
        if not named_document and (siblings := sibling_subject(question, cited)):
            spoken, asked = siblings
            return Coverage("none", 0.0, f"找到的规定涉及{spoken}，文件中没有涉及{asked}")
        # a title named loosely with another year ("招远2024年居民养老保险") is not that document
        if not named_by_number and (mismatch := other_year(question, hits)):
            year, title = mismatch
            return Coverage("none", 0.0, f"找到的是《{title}》，文件中没有{year}年的规定")
        if not named_by_number and (mismatch := other_ordinal(question, hits)):
            asked, title = mismatch
            return Coverage("none", 0.0, f"找到的是《{title}》，文件中没有{asked}的内容")
        p = self.model.prob(coverage_features(question, evidence, corpus_grams, slot, words))
        if p < self.model.threshold and not named_document:
            return Coverage("none", p)
        # a figure or a date is asked for and none of the best articles has one: the topic is
        # covered, the detail is not (department and condition slots are too loose to say so)
        ranked = sorted(evidence, key=lambda e: -e.prob)
        # the articles that answer, not the tail: a figure in an unrelated article answers nothing
        top = [e for e in ranked[:3] if e.prob >= self.focus_ratio * ranked[0].prob]
        region, lacking = None, ""
        if not named_regions and len({e.hit.document.region for e in cited}) > 1:
            # answered for each region with a rule: a figure another region's article gives is not the best
            # article's region's, whose rule may leave it unsaid (兰山 names no 展会补贴 sum, 招远 does)
            region = ranked[0].hit.document.region
            # named only when another region's article does give one: otherwise no document says it
            others = [e for e in top + cited if e.hit.document.region != region]
            lacking = (region or "") if any(e.slot or e.slot_near(self.near_sentences) for e in others) else ""

        def at_home(e: ArticleEvidence) -> bool:
            return region is None or e.hit.document.region == region

        if slot in PARTIAL_SLOTS and not any(e.slot_near(self.near_sentences) for e in top if at_home(e)):
            # say which detail is missing only when no article the answer quotes has one at all
            # (it may lead with a figure the best article lacks)
            if not any(e.slot for e in top + cited if at_home(e)):
                return Coverage("partial", p, missing=slot, lacking=lacking)  # no figure at all: say which detail is missing
            # a figure elsewhere in the article may or may not be the one asked: hedge without claiming it is absent
            return Coverage("partial", p)
        # what to bring or hand in is asked ("要带啥材料") and no article the answer would quote names a
        # document to bring: the procedure is covered, the list of materials is not
        if asks_materials(question) and not any(has_slot("materials", to_simplified(e.hit.chunk.text)) for e in top + cited):
            return Coverage("partial", p, missing="materials")
        # a sum in yuan insisted on ("具体是几万块") and the articles only say how it is reckoned ("月平均工资的6倍")
        if (
            slot in MONEY_SLOTS and asks_cash(question)
            and not any(has_slot("cash", to_simplified(e.hit.chunk.text)) for e in top + cited)
        ):
            return Coverage("partial", p, missing="cash")
        # a sum the place gives ("区里…每座能补多少") found only in a higher level's policy quoted
        # with that level's lead ("省级财政安排5000万元…（牵头单位：省财政厅）"): the figure is not the one asked
        if slot in FIGURE_SLOTS and asks_local_sum(question):
            filling = [e for e in top + cited if e.slot]
            if filling and all(upper_policy(e.hit.chunk.text) for e in filling):
                return Coverage("partial", p)
        # the sentence that answers says the amount is left open ("给予一定补助")
        if slot in PARTIAL_SLOTS and any(
            s is not None and leaves_open(slot, to_simplified(s.text))
            for s in (ranked[0].best_sentence, ranked[0].topic_sentence)
        ):
            return Coverage("partial", p, missing=slot)
        if p < self.partial_below and not named_document:
            return Coverage("partial", p)
        return Coverage("full", p)
