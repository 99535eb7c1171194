"""Hybrid retrieval: BM25 + dense candidates, fused, with filters and cross-reference context.

`Retriever.run(question)`:
1. `QueryAnalyzer` normalises the question and infers filters (region, 发文字号)
   and title boosts; explicit filters win over inferred ones.
2. BM25 (question terms plus indexed substrings and official synonyms of
   everyday words, see qa.retrieve.lexical) and dense retrieval each take
   `candidates` chunks among the allowed ones (filters are applied inside both
   searches, so a filter never empties a list that had answers under it).
3. Fusion of the union of both lists. Default "score": a convex combination of
   the BM25 score divided by the best BM25 score and the cosine min-max scaled
   over the dense candidates (alpha = bm25_weight / (bm25_weight + dense_weight));
   "rrf": weighted reciprocal-rank fusion. On the gold set score fusion found
   more evidence in the first 1,000 characters than RRF (docs/BENCHMARKS.md).
   Documents whose title the question names get a small bonus.
4. Optional second stage (`rerank`, off unless settings.rerank and the vectors
   exist): the top `rerank_depth` candidates re-scored with the e5 similarity
   of the question to the article text without its heading path. Measured: no
   reliable gain over score fusion (docs/BENCHMARKS.md), so it is not the default.
5. Articles a hit refers to ("按照本政策第13条执行") are attached as `context`.

All per-chunk tables (documents, regions, dates, references) are built once at load.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from qa.config import Settings
from qa.index.base import Selection
from qa.index.lexical import STOPWORDS_ZH, tokenize_zh
from qa.index.sentences import SentenceVectors, load_sentence_vectors
from qa.models import Chunk, Document, Filters, Hit
from qa.retrieve.lexical import LexicalQuery, bm25_vocabulary
from qa.retrieve.query import QueryAnalysis, QueryAnalyzer, merge_filters, number_key
from qa.retrieve.refs import build_reference_table
from qa.retrieve.spelling import Speller
from qa.retrieve.synonyms import OFFICIAL_TERMS, SPELLING_WORDS, expand

MODES = ("bm25", "dense", "hybrid")
# questions about a document as a whole: retrieval leads with the named document's opening
WHOLE_DOCUMENT_KINDS = ("by-doc", "validity")
# a by-document question: after the opening, the short closing articles among its last few (负责解释, 施行,
# the signature and date), then the first article of so many sections
ENDING_ROWS = 3
ENDING_CHARS = 300
_ENDING_WORDS = re.compile(r"负责解释|\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日\s*$")
MAX_SECTION_ROWS = 8
_TERM_WORDS = re.compile(r"施行|有效期|废止|生效|起执行|起实施|自印发之日|自发布之日|自公布之日")
FUSIONS = ("score", "rrf")


def _closes(chunk: Chunk) -> bool:
    """A short article that closes a document: its term, who interprets it, or the signature and date."""
    text = chunk.text_simplified
    return len(chunk.text) <= ENDING_CHARS and bool(_TERM_WORDS.search(text) or _ENDING_WORDS.search(text))


class RetrievalError(ValueError):
    """Bad input to retrieval (empty question, unknown mode); the message is for people."""


@dataclass
class RetrievalResult:
    hits: list[Hit]
    filters: Filters  # explicit merged with inferred: what was actually applied
    inferred: Filters  # what the question itself implied
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage
    analysis: QueryAnalysis | None = None
    mode: str = "hybrid"

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "filters": self.filters.to_dict(),
            "inferred": self.inferred.to_dict(),
            "analysis": self.analysis.to_dict() if self.analysis else None,
            "timings": self.timings,
            "hits": [h.to_dict() for h in self.hits],
        }


def _top(scores: np.ndarray, k: int, positive: bool = False) -> np.ndarray:
    """Indices of the k best finite scores, best first (ties by index: deterministic)."""
    ok = np.isfinite(scores)
    if positive:
        ok &= scores > 0
    cand = np.flatnonzero(ok)
    if cand.size > k:
        cand = cand[np.argpartition(-scores[cand], k - 1)[:k]]
    return cand[np.lexsort((cand, -scores[cand]))]


@dataclass
class _Candidates:
    """What the searches found for one question: BM25 scores of every row and its best rows,
    the dense search's rows and cosines, and the question's vector (dense search, re-scoring)."""

    bm25_all: np.ndarray | None = None
    bm25_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    dense_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    dense_scores: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    qvec: np.ndarray | None = None


class Retriever:
    """Filters + BM25 + dense + fusion (+ optional re-scoring) over one loaded store (qa.index.base)."""

    def __init__(
        self,
        store: Any,  # qa.index.base.RetrievalStore: IndexStore (files) or MilvusStore
        embedder: Any,  # qa.embed.Embedder
        settings: Settings,
        analyzer: QueryAnalyzer | None = None,
        rerank_vectors: np.ndarray | None = None,
        sentence_vectors: SentenceVectors | None = None,
        **overrides: Any,  # any retrieval weight of Settings (fusion="rrf", expand_terms=False …) for variants
    ) -> None:
        settings = settings.with_overrides(**overrides)
        if settings.fusion not in FUSIONS:
            raise ValueError(f"unknown fusion {settings.fusion!r}; use one of {', '.join(FUSIONS)}")
        self.store = store
        self.embedder = embedder
        self.settings = settings
        self.chunks: list[Chunk] = store.chunks
        self.documents: list[Document] = store.documents
        self.analyzer = analyzer or QueryAnalyzer(
            self.documents,
            title_boost_min=settings.title_boost_min,
            quoted_title_min=settings.quoted_title_min,
            max_title_boosts=settings.max_title_boosts,
        )
        # the weights, named in Settings (qa/config.py)
        self.fusion = settings.fusion
        self.title_boost = settings.title_boost
        self.rerank_vectors = rerank_vectors
        self.sentence_vectors = sentence_vectors  # Hit.scores["sentence"] for the answer stage
        self.rerank_depth = settings.rerank_depth
        self.rerank_weight = settings.rerank_weight
        self.max_context = settings.context_refs
        self.expand_terms = settings.expand_terms
        n = len(self.chunks)
        doc_index = {d.doc_id: i for i, d in enumerate(self.documents)}
        self._doc_of_row = np.fromiter((doc_index.get(c.doc_id, -1) for c in self.chunks), dtype=np.int64, count=n)
        self._doc_region = [d.region for d in self.documents]
        self._doc_date = [d.date for d in self.documents]
        self._refs = build_reference_table(self.chunks)
        self._doc_rows: dict[str, list[int]] = {}
        for row, c in enumerate(self.chunks):
            self._doc_rows.setdefault(c.doc_id, []).append(row)
        self.lexical = LexicalQuery(bm25_vocabulary(store.bm25), stopwords=STOPWORDS_ZH)
        if self.analyzer.speller is None:
            corpus = "".join(c.text_simplified for c in self.chunks)
            # only everyday words are typo targets: the collection's own vocabulary sits too close
            # to jieba's cross-word tokens (前演 → 前沿, 被查 → 备查)
            self.analyzer.speller = Speller(set(OFFICIAL_TERMS) | set(SPELLING_WORDS), corpus)
        # chunks saved before their vectors were computed (the first run, a new upload) have zero rows:
        # dense search skips them until the next generation has them (qa.manage)
        self.dense_ready: np.ndarray | None = None
        pending = int(((getattr(store, "manifest", None) or {}).get("extra") or {}).get("dense_pending") or 0)
        if pending and n and store.dense.size == n:
            norms = np.linalg.norm(store.dense.vectors(np.arange(n, dtype=np.int64)), axis=1)
            self.dense_ready = norms > 0
        self.dense_waiting = 0 if self.dense_ready is None else int((~self.dense_ready).sum())

    # ---- construction ---------------------------------------------------------------------
    @classmethod
    def load(cls, settings: Settings, **kw: Any) -> "Retriever":
        """Load the index named by settings.index_dir and the embedder it was built with.

        Raises the store's IndexMissing / IndexCorrupt / IndexMismatch (their
        messages say to run `qa index`) and EmbedderError for a bad embedder.
        """
        from qa.embed import make_embedder
        from qa.index.base import store_backend
        from qa.chunk import CHUNKER_VERSION

        embedder = make_embedder(settings.embedder, settings)
        store = store_backend(settings).load(
            expected_embedder_id=embedder.id,
            expected_chunker_version=str(CHUNKER_VERSION),
        )
        if settings.rerank and "rerank_vectors" not in kw:
            from qa.retrieve.rerank import load_article_vectors

            kw["rerank_vectors"] = load_article_vectors(store, embedder, settings.cache_dir)
        if "sentence_vectors" not in kw:
            kw["sentence_vectors"] = load_sentence_vectors(store.chunks, store.documents, embedder, settings.cache_dir)
        retriever = cls(store, embedder, settings, **kw)
        retriever.warm_up()
        return retriever

    def warm_up(self) -> None:
        """Load the embedding model and jieba's dictionary now, not on the first question (~1-2 s)."""
        tokenize_zh("预热")
        if self.store.dense.size and (self.dense_ready is None or self.dense_ready.any()):
            self.embedder.embed_query_vec("预热")

    # ---- filters --------------------------------------------------------------------------
    def resolve_region(self, name: str) -> list[str]:
        """A region as a person writes it (兰山, 周村区, 青岛) → corpus region names ([] if none)."""
        return self.analyzer.analyze(name).regions

    def resolve_doc(self, ref: str) -> list[str]:
        """A document by 发文字号, doc id or (part of) its title → doc ids ([] if none)."""
        ref = (ref or "").strip()
        if not ref:
            return []
        if ref in self.store.doc_by_id:
            return [ref]
        key = number_key(ref)
        if key:
            ids = [d.doc_id for d in self.documents if number_key(d.number or "") == key]
            if ids:
                return ids
        a = self.analyzer.analyze(ref)
        if a.filters.doc_ids:
            return list(a.filters.doc_ids)
        plain = ref.strip("《》 ")
        ids = [d.doc_id for d in self.documents if plain and plain in d.title]
        return ids or [doc_id for doc_id, s in a.boosts.items() if s >= 0.8]

    def _resolve_filters(self, filters: Filters | None) -> Filters | None:
        """Explicit filters as people write them (兰山, 招政发〔2022〕8号) → corpus regions and doc ids.

        A value that resolves to nothing is kept as given, so it matches nothing: an explicit
        filter is never silently dropped.
        """
        if filters is None or filters.is_empty():
            return filters
        known = set(self.analyzer.regions)
        regions: list[str] = []
        for r in filters.regions:
            for name in [r] if r in known else (self.resolve_region(r) or [r]):
                if name not in regions:
                    regions.append(name)
        doc_ids: list[str] = []
        for ref in filters.doc_ids:
            for doc_id in [ref] if ref in self.store.doc_by_id else (self.resolve_doc(ref) or [ref]):
                if doc_id not in doc_ids:
                    doc_ids.append(doc_id)
        return replace(filters, regions=regions, doc_ids=doc_ids)  # date range, in_force, as_of as given

    def allowed_mask(self, filters: Filters) -> np.ndarray | None:
        """Bool mask over chunk rows for the filters; None when nothing is filtered."""
        if filters.is_empty():
            return None
        ok_docs = np.ones(len(self.documents), dtype=bool)
        if filters.doc_ids:
            wanted = set(filters.doc_ids)
            ok_docs &= np.array([d.doc_id in wanted for d in self.documents], dtype=bool)
        if filters.regions:
            regions = set(filters.regions)
            ok_docs &= np.array([r in regions for r in self._doc_region], dtype=bool)
        if filters.date_from or filters.date_to:
            lo, hi = filters.date_from or "0000-00-00", filters.date_to or "9999-99-99"
            # a document without a date cannot be shown to be inside the range
            ok_docs &= np.array([bool(d) and lo <= d <= hi for d in self._doc_date], dtype=bool)
        if filters.in_force:  # only documents in force on as_of (or stating no term: in force until repealed)
            ok_docs &= self.in_force_docs(filters.as_of)
        mask = np.zeros(len(self.chunks), dtype=bool)
        valid = self._doc_of_row >= 0
        mask[valid] = ok_docs[self._doc_of_row[valid]]
        return mask

    def selection(self, filters: Filters) -> Selection | None:
        """The filters as metadata conditions (what a Milvus store evaluates as its filter
        expression); the same rows as `allowed_mask`. None when nothing is filtered."""
        if filters.is_empty():
            return None
        doc_ids: list[str] | None = list(filters.doc_ids) if filters.doc_ids else None
        if filters.in_force:  # validity is judged here, on a date; Milvus gets the documents it leaves
            in_force = [d.doc_id for d, ok in zip(self.documents, self.in_force_docs(filters.as_of)) if ok]
            doc_ids = in_force if doc_ids is None else [d for d in doc_ids if d in set(in_force)]
        return Selection(
            regions=tuple(filters.regions),
            doc_ids=None if doc_ids is None else tuple(doc_ids),
            date_from=filters.date_from,
            date_to=filters.date_to,
        )

    def in_force_docs(self, as_of: str | None = None) -> np.ndarray:
        """Bool per document: in force on as_of (default today), see qa.ingest.validity.is_in_force."""
        from qa.ingest.validity import as_of_date, is_in_force

        try:
            day = as_of_date(as_of)
        except ValueError as exc:
            raise RetrievalError(str(exc)) from None
        cache: dict[object, np.ndarray] = self.__dict__.setdefault("_in_force_cache", {})
        if day not in cache:
            cache[day] = np.array([is_in_force(d.validity, day) for d in self.documents], dtype=bool)
        return cache[day]

    # ---- retrieval ------------------------------------------------------------------------
    def run(
        self,
        query: str,
        k: int | None = None,
        filters: Filters | None = None,
        mode: str | None = None,
        rerank: bool | None = None,
    ) -> RetrievalResult:
        """Analyse → candidates → rank (fuse, re-score, reorder) → hits; `timings` has each stage."""
        t_start = time.perf_counter()
        k, mode, use_rerank = self._request(query, k, mode, rerank)
        timings: dict[str, float] = {}

        t = time.perf_counter()
        analysis = self.analyzer.analyze(query)
        merged = merge_filters(self._resolve_filters(filters), analysis.filters)
        mask = self.allowed_mask(merged)
        timings["analyze"] = time.perf_counter() - t
        if k <= 0 or (mask is not None and not mask.any()):
            timings["total"] = time.perf_counter() - t_start
            return RetrievalResult([], merged, analysis.filters, timings, analysis, mode)

        n_cand = max(self.settings.candidates, k)
        cands = self._candidates(analysis.text, mode, use_rerank, merged, mask, n_cand, timings)
        ranked, per = self._rank(mode, use_rerank, cands, analysis, mask, timings)
        hits = self._hits(ranked[:k], per, cands.qvec)
        timings["total"] = time.perf_counter() - t_start
        return RetrievalResult(hits, merged, analysis.filters, timings, analysis, mode)

    def _request(self, query: str, k: int | None, mode: str | None, rerank: bool | None) -> tuple[int, str, bool]:
        """The call's k, mode and re-scoring, checked and resolved against the settings and what
        the index can do now; a bad question or mode raises RetrievalError (its message is for people)."""
        k = self.settings.top_k if k is None else int(k)
        mode = (mode or getattr(self.settings, "retrieval_mode", "hybrid") or "hybrid").lower()
        if mode not in MODES:
            raise RetrievalError(f"未知的检索模式 / unknown retrieval mode {mode!r}: use one of {', '.join(MODES)}")
        if not query or not query.strip():
            raise RetrievalError("问题为空 / the question is empty")
        use_rerank = (self.settings.rerank if rerank is None else rerank) and self.rerank_vectors is not None
        if self.dense_ready is not None and not self.dense_ready.any() and mode in ("dense", "hybrid"):
            mode = "bm25"  # no vector yet (first run): keyword search until the embeddings are ready
            use_rerank = False
        return k, mode, use_rerank

    def _candidates(
        self,
        text: str,
        mode: str,
        use_rerank: bool,
        merged: Filters,
        mask: np.ndarray | None,
        n_cand: int,
        timings: dict[str, float],
    ) -> _Candidates:
        """Each search the mode asks for, on the analysed question: up to n_cand rows each."""
        cands = _Candidates()
        if mode in ("bm25", "hybrid"):
            t = time.perf_counter()
            cands.bm25_all, cands.bm25_ids = self._bm25_candidates(text, mask, n_cand)
            timings["bm25"] = time.perf_counter() - t
        if mode in ("dense", "hybrid") or use_rerank:
            t = time.perf_counter()
            # the dense query also sees the official words for everyday ones (狗 → 犬只)
            cands.qvec = self.embedder.embed_query_vec(expand(text) if self.expand_terms else text)
            timings["embed"] = time.perf_counter() - t
        if mode in ("dense", "hybrid"):
            t = time.perf_counter()
            assert cands.qvec is not None
            cands.dense_ids, cands.dense_scores = self._dense_candidates(cands.qvec, merged, mask, n_cand)
            timings["dense"] = time.perf_counter() - t
        return cands

    def _bm25_candidates(self, text: str, mask: np.ndarray | None, n_cand: int) -> tuple[np.ndarray, np.ndarray]:
        """BM25 scores of every row (fusion normalises by them) and the best allowed rows."""
        terms = tokenize_zh(text)
        if self.expand_terms:
            terms = self.lexical.terms(text, terms)
        bm25_all = np.asarray(self.store.bm25.scores(terms), dtype=np.float32)
        scores = bm25_all if mask is None else np.where(mask, bm25_all, -np.inf)
        return bm25_all, _top(scores, n_cand, positive=True)

    def _dense_candidates(
        self, qvec: np.ndarray, merged: Filters, mask: np.ndarray | None, n_cand: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """The nearest allowed rows that have their vector: (rows, cosines), best first."""
        sel = self.selection(merged) if mask is not None else None
        if self.dense_ready is None:
            return self.store.dense.retrieve(qvec, k=n_cand, allowed=mask, selection=sel)
        # rows without their vector yet (zero vectors) never come from dense search: FAISS takes them
        # out by the mask, Milvus (filtered by the selection) after the search, with room for them in k
        dense_mask = self.dense_ready if mask is None else mask & self.dense_ready
        dense_ids, dense_scores = self.store.dense.retrieve(
            qvec, k=n_cand + self.dense_waiting, allowed=mask, selection=sel)
        keep = dense_mask[dense_ids]
        return dense_ids[keep][:n_cand], dense_scores[keep][:n_cand]

    def _rank(
        self,
        mode: str,
        use_rerank: bool,
        cands: _Candidates,
        analysis: QueryAnalysis,
        mask: np.ndarray | None,
        timings: dict[str, float],
    ) -> tuple[list[tuple[int, float]], dict[int, dict[str, float]]]:
        """The candidates in answer order, (row, score), with each row's scores per stage."""
        t = time.perf_counter()
        ranked, per = self._scored(mode, cands, analysis.boosts)
        timings["fuse"] = time.perf_counter() - t
        if use_rerank and cands.qvec is not None and ranked:
            t = time.perf_counter()
            ranked = self._rescore(ranked, per, cands.qvec)
            timings["rerank"] = time.perf_counter() - t
        return self._reorder(ranked, analysis, mask), per

    def _scored(
        self, mode: str, cands: _Candidates, boosts: dict[str, float]
    ) -> tuple[list[tuple[int, float]], dict[int, dict[str, float]]]:
        """One search's own scores, or both fused (hybrid)."""
        if mode == "bm25":
            assert cands.bm25_all is not None
            bm25_all, bm25_ids = cands.bm25_all, cands.bm25_ids
            ranked = [(int(i), float(bm25_all[i])) for i in bm25_ids]
            per = {int(i): {"bm25": float(bm25_all[i]), "bm25_rank": float(r)} for r, i in enumerate(bm25_ids, 1)}
            return ranked, per
        if mode == "dense":
            pairs = list(zip(cands.dense_ids, cands.dense_scores))
            ranked = [(int(i), float(s)) for i, s in pairs]
            per = {int(i): {"dense": float(s), "dense_rank": float(r)} for r, (i, s) in enumerate(pairs, 1)}
            return ranked, per
        assert cands.bm25_all is not None and cands.qvec is not None
        return self._fuse(cands.bm25_all, cands.bm25_ids, cands.dense_ids, cands.dense_scores, cands.qvec, boosts)

    def _reorder(
        self, ranked: list[tuple[int, float]], analysis: QueryAnalysis, mask: np.ndarray | None
    ) -> list[tuple[int, float]]:
        """What the question's kind asks for beyond relevance: a named document's opening first,
        or the sides of a comparison in turn."""
        if analysis.intent.kind in WHOLE_DOCUMENT_KINDS and analysis.named_documents:
            return self._lead_with_document(ranked, analysis.named_documents[0], analysis.intent.kind, mask)
        if analysis.intent.kind == "comparison":
            return self._interleave(ranked, analysis)
        return ranked

    def _hits(self, ranked: list[tuple[int, float]], per: dict[int, dict[str, float]], qvec: np.ndarray | None = None) -> list[Hit]:
        """Hits for the ranked rows, numbered from 1, with the articles each refers to and, when
        the question was embedded, the cosine of its closest sentence (qa.index.sentences)."""
        hits = []
        for rank, (row, score) in enumerate(ranked, 1):
            c = self.chunks[row]
            if qvec is not None and self.sentence_vectors is not None:
                closest = self.sentence_vectors.closest(row, qvec)
                if closest is not None:
                    per.setdefault(row, {})["sentence"] = closest
            hits.append(
                Hit(
                    chunk=c,
                    document=self.store.doc_by_id[c.doc_id],
                    score=float(score),
                    rank=rank,
                    scores=per.get(row, {}),
                    context=[self.chunks[r] for r in self._refs.get(row, [])[: self.max_context]],
                )
            )
        return hits

    def opening_rows(self, doc_id: str) -> list[int]:
        """A document's opening: its covering notice and preamble, or else its first article."""
        rows = self._doc_rows.get(doc_id, [])
        opening = [r for r in rows[:4] if self.chunks[r].kind in ("notice", "preamble")]
        return opening or rows[:1]

    def section_rows(self, doc_id: str) -> list[int]:
        """The first article of each top-level section (一、… 二、…), in the document's order: where its
        main measures are named. Only for a document that has such sections."""
        firsts: dict[str, int] = {}
        for r in self._doc_rows.get(doc_id, []):
            c = self.chunks[r]
            if c.kind in ("notice", "preamble") or len(c.heading_path) < 2:
                continue
            firsts.setdefault(c.heading_path[1], r)
        return list(firsts.values())[:MAX_SECTION_ROWS] if len(firsts) >= 2 else []

    def closing_rows(self, doc_id: str) -> list[int]:
        """The articles that state when a document takes effect, expires or repeals another."""
        return [r for r in self._doc_rows.get(doc_id, []) if _TERM_WORDS.search(self.chunks[r].text_simplified)]

    def ending_rows(self, doc_id: str) -> list[int]:
        """A document's short closing articles — who interprets it, when it takes effect, the issuer's
        signature and date — which a question about the document as a whole asks as often as its measures."""
        rows = self._doc_rows.get(doc_id, [])[-ENDING_ROWS:]
        return [r for r in rows if _closes(self.chunks[r])]

    def _lead_with_document(
        self, ranked: list[tuple[int, float]], doc_id: str, kind: str, mask: np.ndarray | None
    ) -> list[tuple[int, float]]:
        """A question about a named document as a whole: its opening first (and, for validity, the
        articles on its term), then everything else in rank order."""
        lead = self.opening_rows(doc_id) + (
            self.closing_rows(doc_id) if kind == "validity" else self.ending_rows(doc_id) + self.section_rows(doc_id)
        )
        lead = [r for r in dict.fromkeys(lead) if mask is None or mask[r]]
        if not lead:
            return ranked
        top = ranked[0][1] if ranked else 1.0
        head = [(r, top + 1e-3 * (len(lead) - n)) for n, r in enumerate(lead)]
        return head + [(r, sc) for r, sc in ranked if r not in set(lead)]

    def _interleave(self, ranked: list[tuple[int, float]], analysis: QueryAnalysis) -> list[tuple[int, float]]:
        """A comparison (招远和周村… / 两个意见…): the sides' best articles in turn, so each side is
        among the first hits even when one side's wording matches the question better."""
        if len(analysis.regions) >= 2:
            sides = analysis.regions
            side_of = lambda row: self._doc_region[self._doc_of_row[row]]  # noqa: E731
        elif len(analysis.boosts) >= 2:
            sides = list(analysis.boosts)
            side_of = lambda row: self.chunks[row].doc_id  # noqa: E731
        else:
            return ranked
        queues: dict[str, list[tuple[int, float]]] = {side: [] for side in sides}
        rest: list[tuple[int, float]] = []
        for item in ranked:
            side = side_of(item[0])
            (queues[side] if side in queues else rest).append(item)
        out: list[tuple[int, float]] = []
        while any(queues.values()):
            for side in sides:
                if queues[side]:
                    out.append(queues[side].pop(0))
        top = ranked[0][1] if ranked else 0.0
        # scores follow the new order, so later stages that sort by score keep it
        return [(r, top - 1e-6 * n) for n, (r, _) in enumerate(out + rest)]

    def _fuse(
        self,
        bm25_all: np.ndarray,
        bm25_ids: np.ndarray,
        dense_ids: np.ndarray,
        dense_scores: np.ndarray,
        qvec: np.ndarray,
        boosts: dict[str, float],
    ) -> tuple[list[tuple[int, float]], dict[int, dict[str, float]]]:
        """The union of both lists, each candidate scored by `self.fusion` plus its title bonus;
        best first (ties by row: deterministic)."""
        ids = np.unique(np.concatenate([bm25_ids, dense_ids])).astype(np.int64)
        if ids.size == 0:
            return [], {}
        bm_rank = {int(i): r for r, i in enumerate(bm25_ids, 1)}
        dn_rank = {int(i): r for r, i in enumerate(dense_ids, 1)}
        bm = bm25_all[ids].astype(np.float64)
        dn = self._cosines(ids, dense_ids, dense_scores, qvec)
        title = np.array([boosts.get(self.chunks[i].doc_id, 0.0) for i in ids.tolist()], dtype=np.float64)
        if self.fusion == "score":
            fused = self._score_fusion(ids, bm, dn, title, bm25_all, bm25_ids, dense_scores)
        else:
            fused = self._rrf_fusion(ids, bm_rank, dn_rank, title)
        per = self._fused_scores(ids, bm, dn, fused, title, bm_rank, dn_rank)
        order = np.lexsort((ids, -fused))
        return [(int(ids[j]), float(fused[j])) for j in order], per

    def _cosines(self, ids: np.ndarray, dense_ids: np.ndarray, dense_scores: np.ndarray, qvec: np.ndarray) -> np.ndarray:
        """Cosine for every candidate: the dense list has its own; BM25-only ones are read back."""
        cos = dict(zip(dense_ids.tolist(), dense_scores.tolist()))
        missing = np.array([i for i in ids.tolist() if i not in cos], dtype=np.int64)
        if missing.size:
            for i, v in zip(missing.tolist(), (self.store.dense.vectors(missing) @ qvec).tolist()):
                cos[i] = v
        return np.array([cos[i] for i in ids.tolist()], dtype=np.float64)

    def _weights(self) -> tuple[float, float]:
        """(BM25, dense) weights of the fusion, from the settings."""
        return float(self.settings.bm25_weight), float(self.settings.dense_weight)

    def _score_fusion(
        self,
        ids: np.ndarray,
        bm: np.ndarray,
        dn: np.ndarray,
        title: np.ndarray,
        bm25_all: np.ndarray,
        bm25_ids: np.ndarray,
        dense_scores: np.ndarray,
    ) -> np.ndarray:
        """Convex combination of BM25 / best BM25 and the cosine min-max scaled over the dense
        candidates (module doc, step 3), plus the title bonus."""
        wb, wd = self._weights()
        bmax = float(bm25_all[bm25_ids].max()) if bm25_ids.size else 0.0
        bn = bm / bmax if bmax > 0 else np.zeros_like(bm)
        if dense_scores.size:
            lo, hi = float(dense_scores.min()), float(dense_scores.max())
            dnn = np.clip((dn - lo) / (hi - lo), 0.0, 1.0) if hi > lo else np.ones_like(dn)
        else:
            dnn = np.zeros_like(dn)
        if self.dense_ready is not None:
            # an article without its vector yet has no cosine: neither rewarded nor sunk by it
            dnn = np.where(self.dense_ready[ids], dnn, 0.5)
        alpha = wb / (wb + wd) if wb + wd > 0 else 0.5
        return alpha * bn + (1 - alpha) * dnn + self.title_boost * title

    def _rrf_fusion(
        self, ids: np.ndarray, bm_rank: dict[int, int], dn_rank: dict[int, int], title: np.ndarray
    ) -> np.ndarray:
        """Weighted reciprocal-rank fusion; the title bonus is scaled to the size of an RRF score."""
        wb, wd = self._weights()
        kk = float(self.settings.rrf_k)
        fused = np.array(
            [
                (wb / (kk + bm_rank[i]) if i in bm_rank else 0.0) + (wd / (kk + dn_rank[i]) if i in dn_rank else 0.0)
                for i in ids.tolist()
            ]
        )
        return fused + self.title_boost * 5 * max(wb, wd) / (kk + 1.0) * title

    def _fused_scores(
        self,
        ids: np.ndarray,
        bm: np.ndarray,
        dn: np.ndarray,
        fused: np.ndarray,
        title: np.ndarray,
        bm_rank: dict[int, int],
        dn_rank: dict[int, int],
    ) -> dict[int, dict[str, float]]:
        """Each candidate's scores per stage (Hit.scores): what the answer stage and reports read."""
        per: dict[int, dict[str, float]] = {}
        for j, i in enumerate(ids.tolist()):
            d = {"bm25": float(bm[j]), "dense": float(dn[j]), "fused": float(fused[j])}
            if self.dense_ready is not None and not self.dense_ready[i]:
                del d["dense"]  # no vector yet: the answer stage treats the cosine as unknown
            if i in bm_rank:
                d["bm25_rank"] = float(bm_rank[i])
            if i in dn_rank:
                d["dense_rank"] = float(dn_rank[i])
            if title[j]:
                d["title"] = float(title[j])
            per[i] = d
        return per

    def _rescore(
        self, ranked: list[tuple[int, float]], per: dict[int, dict[str, float]], qvec: np.ndarray
    ) -> list[tuple[int, float]]:
        """Second stage over the head: fused score and article similarity, both min-max scaled."""
        head = ranked[: self.rerank_depth]
        rows = np.array([r for r, _ in head], dtype=np.int64)
        sims = self.rerank_vectors[rows] @ qvec  # type: ignore[index]
        fs = np.array([s for _, s in head], dtype=np.float64)
        fn = (fs - fs.min()) / (fs.max() - fs.min()) if fs.max() > fs.min() else np.ones_like(fs)
        sn = (sims - sims.min()) / (sims.max() - sims.min()) if sims.max() > sims.min() else np.ones_like(sims)
        w = self.rerank_weight
        combined = (1 - w) * fn + w * sn
        for r, sim in zip(rows.tolist(), sims.tolist()):
            per.setdefault(r, {})["rerank"] = float(sim)
        order = np.lexsort((rows, -combined))
        out = [(int(rows[j]), float(combined[j])) for j in order]
        # the tail keeps its order below every re-scored candidate
        floor = float(combined.min()) if len(combined) else 0.0
        out += [(r, floor - (n + 1) * 1e-6) for n, (r, _) in enumerate(ranked[self.rerank_depth :])]
        return out
