"""Which retrieved articles answer the question, and which of their sentences say it.

For each of the first `max_hits` hits an `ArticleEvidence` record: the probability that the
article answers (qa.answer.model, fitted on tuning questions), the features behind it, whether
it holds what the question asks for (its slot: a figure for "多少", a department for "找谁" …,
patterns in qa/data/slots.toml), and its sentences scored against the question.

Question overlap is measured on character bigrams of the question's content words (filler
words from qa/data/terms.toml removed), which is robust to segmentation and paraphrase.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

from qa import data
from qa.answer.library import ANNOUNCES
from qa.answer.model import LogisticModel
from qa.models import Chunk, Hit
from qa.retrieve.intent import Intent
from qa.text import compact, sentences, to_simplified

# the slots that ask for a sum of money, and with "amount" and "share" the figures a document may leave open (slots.toml)
MONEY_SLOTS: tuple[str, ...] = tuple(data.load("slots.toml")["money"])
FIGURE_SLOTS: tuple[str, ...] = ("amount", "share", "score", *MONEY_SLOTS)

ARTICLE_FEATURES = [
    "fused",  # fused retrieval score / the best one
    "rank",  # 1 / (1 + retrieval rank)
    "dense",  # cosine similarity, centred
    "bm25",  # BM25 score / the best one
    "q_cov",  # share of the question's words (IDF-weighted bigrams) in the article and its headings
    "rest_cov",  # … of the words its headings and title lack, in the article text
    "sent_cov",  # … in its best sentence
    "slot",  # the article holds what is asked (a figure for 多少 …); 0.5 when nothing is
    "slot_sent",  # its best sentence does
    "same_doc",  # same document as the first hit
    "region",  # +1 its region is the one asked about, -1 another, 0 none named
    "opening",  # a covering notice or preamble
    "named_doc",  # the document the question names
    "length",  # log of the article length
    "rest_gap",  # rest_cov minus the best rest_cov among the hits (0 for the best)
    "sent_gap",  # sent_cov minus the best among the hits
    "sentence",  # cosine of the question with the article's closest sentence, centred (qa.index.sentences)
    "dense_gap",  # dense minus the best among the hits
    "sentence_gap",  # sentence minus the best among the hits
    "q_cov_gap",  # q_cov minus the best among the hits
    "dense_rank",  # 1 / (1 + its place when the hits are ordered by dense)
    "sentence_rank",  # … by sentence
]
REST_WEIGHT = 0.7  # a sentence's overlap: share counted on the question words its headings lack
SLOT_BONUS = 0.25  # a sentence holding what is asked (a figure for 多少) comes before one that only repeats the words
SHORT_PENALTY = 0.3  # a fragment under 12 characters ("（一）总体要求。") is rarely the answer
# a question with several asks also cites the article that says this share of the question's words
# (idf-weighted) the cited ones do not, if the article model gives it at least the floor
COMPLEMENT_FLOOR = 0.02
COMPLEMENT_GAIN = 0.1
FIGURE_GAIN_SHARE = 0.5  # … of it for an article holding the figure a second ask asks for
LIST_PIECES = 3  # a list question's first article: its other pieces quoted, at most this many
# a list or a condition question's first article, split at the token limit, runs on into its next pieces: an
# enumeration of conditions or materials ("(1)报名条件…(2)所需信息:①…" / "②从业信息…") is not to be cut at the split
RUNS_ON = ("list", "condition")
PIECE_RATIO = 1.0  # another piece of a cited article is quoted when its best sentence scores this share of the cited piece's
# A hit without a dense score (keyword-only retrieval: `--mode bm25`, or a new document whose vectors are
# still being computed) is scored as if its cosine were typical, so the missing signal neither raises nor
# sinks it: the median of the first hits' cosines on the tuning questions.
NEUTRAL_DENSE = 0.906
NEUTRAL_BEST_DENSE = 0.924  # … and of the best hit's, for the coverage decision
NEUTRAL_SENTENCE = 0.917  # … and likewise for an article without sentence vectors (qa.index.sentences)
NEUTRAL_BEST_SENTENCE = 0.922


def centred(cosine: float) -> float:
    """A cosine of e5 vectors (≈ 0.75–0.95) on a scale the models fit well."""
    return (cosine - 0.85) * 10


@lru_cache(maxsize=1)
def _filler() -> re.Pattern[str]:
    words = sorted(data.load("terms.toml")["filler"]["words"], key=len, reverse=True)
    return re.compile("|".join(map(re.escape, words)) + r"|[？?！!，,。、；;：:\s\"“”《》（）()\[\]【】〔〕]")


@lru_cache(maxsize=1)
def _slots() -> dict[str, re.Pattern[str]]:
    table = data.load("slots.toml")["slots"]
    out = {name: re.compile(spec["pattern"], re.M) for name, spec in table.items()}
    out.setdefault("validity", re.compile(r"施行|有效期|废止|生效|起执行|起实施|之日起"))
    return out


def leaves_open(slot: str | None, text: str) -> bool:
    """Does `text` say what is asked without stating it ("给予一定补助" for 补多少)?"""
    return slot in FIGURE_SLOTS and bool(data.patterns("slots.toml", "unstated")["pattern"].search(text)) and not has_slot(slot, text)


def has_slot(slot: str | None, text: str) -> bool:
    """Does `text` hold what a question of this slot asks for? (True when nothing is asked.)"""
    if not slot:
        return True
    rx = _slots().get(slot)
    if rx is None:
        return True
    if slot in MONEY_SLOTS:
        text = data.patterns("slots.toml", "shares")["pattern"].sub(" ", text)  # 覆盖率达到90% is no sum of money
    return bool(rx.search(text))


def fills(intent: Intent, text: str) -> bool:
    """Does `text` hold what the question asks for: its slot, or what its own kind asks for
    ("多少天内申请" is a deadline question whose 多少 also reads as an amount: 30个工作日 answers it)."""
    if has_slot(intent.slot, text):
        return True
    own = intent.kind if intent.kind in ("amount", "deadline", "contact", "department") else None
    if intent.slot in (*MONEY_SLOTS, "share", "score", "date"):
        own = None  # a sum of money, a share, a score or a day is asked: a figure of another kind, a period, answers nothing
    return own is not None and own != intent.slot and has_slot(own, text)


def content_grams(text: str) -> set[str]:
    """Character bigrams of the content words (a lone character stands for itself)."""
    core = _filler().sub(" ", to_simplified(text))
    grams: set[str] = set()
    for piece in core.split():
        if len(piece) == 1:
            grams.add(piece)
        grams.update(piece[i : i + 2] for i in range(len(piece) - 1))
    return grams


@dataclass
class ScoredSentence:
    text: str  # verbatim from the article
    score: float
    slot: bool  # holds the question's slot
    coverage: float = 0.0  # IDF-weighted share of the question's words in the sentence


@dataclass
class ArticleEvidence:
    index: int  # position in the hit list
    hit: Hit
    prob: float  # P(this article answers the question)
    features: list[float]
    slot: bool  # the article holds what the question asks for
    sentences: list[ScoredSentence] = field(default_factory=list)

    @property
    def best_sentence(self) -> ScoredSentence | None:
        return max(self.sentences, key=lambda s: s.score, default=None)

    @property
    def topic_sentence(self) -> ScoredSentence | None:
        """The sentence that says most of the question's words, whatever it holds (the best sentence
        may win by a figure about something else)."""
        return max(self.sentences, key=lambda s: s.coverage, default=None)

    def slot_near(self, n: int = 2) -> bool:
        """The slot is in one of the article's `n` sentences closest to the question (a figure
        elsewhere in the article answers some other question)."""
        return any(s.slot for s in sorted(self.sentences, key=lambda s: -s.score)[:n])


def _says(e: ArticleEvidence) -> set[str]:
    """The words of an article, its headings and its document's title."""
    return content_grams(to_simplified(" ".join([e.hit.chunk.text, *e.hit.chunk.heading_path, e.hit.document.title])))


def _places(values: list[float]) -> list[int]:
    """Each value's place when ordered from the highest (0 for the highest; ties in hit order)."""
    order = sorted(range(len(values)), key=lambda i: -values[i])
    place = [0] * len(values)
    for n, i in enumerate(order):
        place[i] = n
    return place


def _is_heading(sentence: str, headings: set[str]) -> bool:
    simp = to_simplified(sentence)
    return compact(simp).rstrip("。") in headings or (len(simp) < 30 and not re.search(r"[。；！？，,]", simp))


def _weighted(grams: set[str], idf: Callable[[str], float]) -> float:
    # fsum: exact whatever the set's order, so equal scores tie exactly and the same question gets the
    # same answer in every process (a set's order follows PYTHONHASHSEED)
    return math.fsum(idf(g) for g in grams)


class EvidenceScorer:
    """Scores the first `max_hits` hits as answers to one question."""

    def __init__(
        self,
        model: LogisticModel,
        idf: Callable[[str], float] = lambda g: 1.0,
        max_hits: int = 8,
        continuation: Callable[[Chunk], list[Chunk]] | None = None,
        pieces: Callable[[Chunk], list[Chunk]] | None = None,
        whole_chars: int = 0,
    ) -> None:
        if model.features != ARTICLE_FEATURES:
            raise ValueError(f"article model features {model.features} != {ARTICLE_FEATURES}")
        self.model = model
        self.idf = idf
        self.max_hits = max_hits
        # an article that announces a list ("第二条 扶持条件：") is judged with the items that follow it,
        # as the answer quotes them (qa.answer.library.DocumentLibrary.continuation)
        self.continuation = continuation
        self.pieces = pieces  # an article's pieces (qa.answer.library.DocumentLibrary.pieces)
        # an article split at the token limit yet this short in all is quoted whole, every piece
        self.whole_chars = whole_chars

    def question_grams(self, question: str, hits: list[Hit], regions: list[str], named_docs: list[str]) -> set[str]:
        """The question's words that decide which article answers it."""
        q = content_grams(question)
        # a document the question names is found by its title and number; which of its articles
        # answers is decided by the other words ("《…办法》规定的扶持条件" → 条件)
        named = {h.document.doc_id: h.document for h in hits[: self.max_hits] if h.document.doc_id in named_docs}
        naming = set().union(*(content_grams(" ".join(filter(None, (d.title, d.notice_title, d.number)))) for d in named.values()))
        # so is the region it names: every article of that region's documents shares those words
        naming |= set().union(*(content_grams(r) for r in regions)) if regions else set()
        return q - naming if len(q - naming) >= 2 else q

    def with_pieces(
        self, question: str, intent: Intent, cited: list[ArticleEvidence], hits: list[Hit], regions: list[str], named_docs: list[str]
    ) -> list[ArticleEvidence]:
        """The cited articles, each split one (at the token limit) followed by its other pieces that
        say what is asked at least as closely as the piece retrieval found: the article is the unit
        of citation, and its answer may sit in the piece next to the one that matched. An article
        whose pieces together are no longer than `whole_chars` is cited with all of them."""
        if self.pieces is None:
            return cited
        q = self.question_grams(question, hits, regions, named_docs)
        seen = {e.hit.chunk.chunk_id for e in cited}
        out: list[ArticleEvidence] = []
        for e in cited:
            c, d = e.hit.chunk, e.hit.document
            bar = PIECE_RATIO * max((s.score for s in e.sentences), default=0.0)
            rest = q - content_grams(" ".join([d.title, *c.heading_path]))  # the pieces share the headings
            scored = []
            for p in self.pieces(c):
                if p.chunk_id not in seen:
                    hit = Hit(p, d, 0.0)
                    sents = self._sentences(q, rest, hit, intent)
                    scored.append((max((s.score for s in sents), default=0.0), hit, sents))

            def piece(hit: Hit, sents: list[ScoredSentence]) -> ArticleEvidence:
                seen.add(hit.chunk.chunk_id)
                return ArticleEvidence(e.index, hit, e.prob, list(e.features), fills(intent, hit.chunk.text), sents)

            if sum(len(p.text) for p in self.pieces(c)) <= self.whole_chars:
                # an article short in all is quoted whole, in its own order, as an unsplit one would be
                out.extend(sorted([e] + [piece(h, s) for _, h, s in scored], key=lambda x: x.hit.chunk.start))
                continue
            out.append(e)
            if intent.kind in RUNS_ON and e is cited[0]:
                # a list (or a list of conditions) runs on into the article's next pieces: all of them, not the closest one
                out.extend(piece(h, s) for _, h, s in scored[:LIST_PIECES])
                continue
            top, hit, sents = max(scored, key=lambda x: x[0], default=(0.0, None, []))
            if hit is not None and top >= max(bar, 1e-9):
                out.append(piece(hit, sents))
        return out

    def complement(
        self, question: str, cited: list[ArticleEvidence], evidence: list[ArticleEvidence], hits: list[Hit],
        regions: list[str], named_docs: list[str], figure: bool = False,
    ) -> list[ArticleEvidence]:
        """The cited articles and, for a question with several asks (two questions, two bodies), the
        article that says most of the question's words the cited ones do not. `figure`: the question
        asks for a figure, and a cited article that names a thing without its figure has not answered
        for it ("丧葬费最多能垫多少？抢救费又能垫多少？": the article listing when 丧葬费用 are advanced
        leaves 丧葬费's sum to the article that states it)."""
        if not cited:
            return cited
        q = self.question_grams(question, hits, regions, named_docs)
        q_w = _weighted(q, self.idf) or 1.0
        answered = [e for e in cited if e.slot] if figure else cited
        rest = q - set().union(*(_says(e) for e in answered or cited))
        # … and for a figure, only an article holding one answers the other ask: a share of the words
        # is then enough (a long question's story outweighs the two words of its second ask)
        gain, best = max(
            ((_weighted(rest & _says(e), self.idf) / q_w, e) for e in evidence
             if e not in cited and e.prob >= COMPLEMENT_FLOOR and (e.slot or not figure)),
            key=lambda x: x[0], default=(0.0, None),
        )
        bar = COMPLEMENT_GAIN * (FIGURE_GAIN_SHARE if figure else 1.0)
        return cited + [best] if best is not None and rest and gain >= bar else cited

    def office(
        self, question: str, cited: list[ArticleEvidence], evidence: list[ArticleEvidence], hits: list[Hit],
        regions: list[str], named_docs: list[str],
    ) -> list[ArticleEvidence]:
        """The cited articles and, for a question asking both a sum and the office in charge of it ("这个补助归
        哪个部门兑现？能补多少？") when none of them names an office, the article of the first one's document that
        names one and says most of the question's words: the duties clause at the document's end
        ("物流企业补助由市发展和改革委员会负责"), which scores low as an answer to a question about a sum."""
        if not cited or any(has_slot("department", to_simplified(e.hit.chunk.text)) for e in cited):
            return cited
        doc = cited[0].hit.document.doc_id
        q = self.question_grams(question, hits, regions, named_docs) - _says(cited[0])
        gain, best = max(
            ((_weighted(q & _says(e), self.idf), e) for e in evidence
             if e.hit.document.doc_id == doc and e not in cited and has_slot("department", to_simplified(e.hit.chunk.text))),
            key=lambda x: x[0], default=(0.0, None),
        )
        return cited + [best] if best is not None and gain > 0 else cited

    def run(
        self, question: str, intent: Intent, hits: list[Hit], regions: list[str], named_docs: list[str], limit: int | None = None
    ) -> list[ArticleEvidence]:
        head = hits[: limit or self.max_hits]
        q = self.question_grams(question, head, regions, named_docs)
        if not head or not q:
            return []
        idf = self.idf
        q_w = _weighted(q, idf)
        best_fused = max((h.score for h in head), default=0.0) or 1.0
        best_bm25 = max((h.scores.get("bm25", 0.0) for h in head), default=0.0) or 1.0
        top_doc = head[0].document.doc_id
        out: list[ArticleEvidence] = []
        for i, hit in enumerate(head):
            c, d = hit.chunk, hit.document
            headings = " ".join([d.title, *c.heading_path])
            article = to_simplified(c.text)
            if self.continuation is not None and ANNOUNCES.search(c.text):
                article += "\n" + "\n".join(to_simplified(x.text) for x in self.continuation(c))
            a_grams = content_grams(article)
            q_cov = _weighted(q & (a_grams | content_grams(headings)), idf) / q_w
            rest = q - content_grams(headings)
            rest_cov = _weighted(rest & a_grams, idf) / _weighted(rest, idf) if rest else q_cov
            sents = self._sentences(q, rest, hit, intent)
            best = max(sents, key=lambda s: s.score, default=None)
            slot_here = fills(intent, article)
            region = 0.0
            if regions:
                region = 1.0 if d.region in regions else -1.0
            x = [
                max(hit.score, 0.0) / best_fused,
                1.0 / (1.0 + i),
                centred(hit.scores.get("dense", NEUTRAL_DENSE)),
                max(hit.scores.get("bm25", 0.0), 0.0) / best_bm25,
                q_cov,
                rest_cov,
                best.coverage if best else 0.0,
                (1.0 if slot_here else 0.0) if intent.slot else 0.5,
                (1.0 if best is not None and best.slot else 0.0) if intent.slot else 0.5,
                1.0 if d.doc_id == top_doc else 0.0,
                region,
                1.0 if c.kind in ("notice", "preamble") else 0.0,
                1.0 if d.doc_id in named_docs else 0.0,
                math.log1p(len(c.text)) / 6.0,
            ]
            out.append(ArticleEvidence(i, hit, 0.0, x, slot_here, sents))
        # how each article compares with the other hits of this question: a signal means more
        # relative to its neighbours than on its own scale
        best_rest = max(e.features[5] for e in out)
        best_sent = max(e.features[6] for e in out)
        best_q = max(e.features[4] for e in out)
        sentence = [centred(e.hit.scores.get("sentence", NEUTRAL_SENTENCE)) for e in out]
        dense = [e.features[2] for e in out]
        dense_place, sentence_place = _places(dense), _places(sentence)
        for n, e in enumerate(out):
            e.features += [
                e.features[5] - best_rest, e.features[6] - best_sent, sentence[n],
                dense[n] - max(dense), sentence[n] - max(sentence), e.features[4] - best_q,
                1.0 / (1.0 + dense_place[n]), 1.0 / (1.0 + sentence_place[n]),
            ]
            e.prob = self.model.prob(e.features)
        return out

    def _sentences(self, q: set[str], rest: set[str], hit: Hit, intent: Intent) -> list[ScoredSentence]:
        idf = self.idf
        q_w = _weighted(q, idf) or 1.0
        rest_w = _weighted(rest, idf) or 1.0
        headings = {compact(to_simplified(h)) for h in hit.chunk.heading_path} | {compact(to_simplified(hit.document.title))}
        out = []
        for s in sentences(hit.chunk.text):
            if _is_heading(s, headings):
                continue
            simp = to_simplified(s)
            g = content_grams(simp)
            cov = _weighted(q & g, idf) / q_w
            overlap = cov
            if rest and rest != q:
                overlap = (1 - REST_WEIGHT) * cov + REST_WEIGHT * _weighted(rest & g, idf) / rest_w
            slot = bool(intent.slot) and fills(intent, simp)
            score = overlap + (SLOT_BONUS if slot else 0.0) - (SHORT_PENALTY if len(simp) < 12 else 0.0)
            out.append(ScoredSentence(s, score, slot, cov))
        return out
