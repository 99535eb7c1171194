"""Offline answers without an LLM: pick the sentences of the retrieved articles that answer.

Each answer sentence is a verbatim quote from a cited passage, introduced by the
document and article it comes from, so nothing is stated that the sources do not say.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from qa.answer.citations import _GROUP as _MARKER_GROUP
from qa.ingest.lines import compact, tidy, to_simplified
from qa.models import Citation, Hit

_SENTENCE = re.compile(r"[^。；！？!?;\n]+(?:[。；！？!?;]+[”’」』）)]*)?")
# words that carry no content in a colloquial question
_FILLER = re.compile(
    r"请问|想问|问一下|咨询|一下|我们|我家|我的|我想|我要|我|你们|你|能不能|可不可以|可以吗|是不是|有没有|"
    r"怎么办|怎么样|怎么|如何|多少|几个|哪些|哪个|哪里|什么|啥|吗|呢|吧|啊|呀|了|的|地|得|是|有|要|能|会|和|与|及|在|对|给|"
    r"政策|规定|文件|具体|相关|有关|一般|现在|目前|[？?！!，,。、\s]"
)
_NUMERIC = re.compile(r"\d|[一二三四五六七八九十百千万]+(?:万|元|%|倍|年|个月|日|天)|‰|％|%")
_Q_NUMERIC = re.compile(r"多少|几|比例|金额|标准|补贴|补助|奖励|罚|费|额度|上限|最高|最多|钱")
_Q_TIME = re.compile(r"什么时候|何时|时间|期限|多久|几年|到期|截止|有效期|施行|实施日期")
_Q_WHO = re.compile(r"谁|哪个部门|什么部门|哪个单位|负责|牵头|找谁|主管")
_Q_LIST = re.compile(r"哪些|哪几|包括|有什么|都有|条件|材料|范围|内容")
_A_TIME = re.compile(r"\d{4}年|\d+月|之日起|有效期|期限|以前|之前|前完成|个工作日|日内|年内")
_A_WHO = re.compile(r"负责|牵头|部门|局|委员会|办公室|管委|政府")
REST_WEIGHT = 0.7  # share of a sentence's overlap counted on the question words its headings lack
_A_RULE = re.compile(r"应当|必须|不得|禁止|须|可以|给予|补助|奖励|补贴|罚款|处\d|收取")


def content_grams(text: str) -> set[str]:
    """Character bigrams of the content words (robust to segmentation and paraphrase)."""
    core = _FILLER.sub(" ", to_simplified(text))
    grams: set[str] = set()
    for piece in core.split():
        if len(piece) == 1:
            grams.add(piece)
        grams.update(piece[i : i + 2] for i in range(len(piece) - 1))
    return grams


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.findall(text) if len(s.strip()) >= 4]


@dataclass
class Pick:
    hit_index: int
    sentence: str
    score: float
    coverage: float  # share of the question's content bigrams found in the sentence's article


class ExtractiveAnswerer:
    """Select and quote the sentences that answer; group them by document."""

    def __init__(self, max_sentences: int = 4, max_chars: int = 420, max_hits: int = 5, min_ratio: float = 0.55) -> None:
        self.max_sentences = max_sentences
        self.max_chars = max_chars
        self.max_hits = max_hits
        self.min_ratio = min_ratio  # a sentence is kept if it scores this share of the best one

    def score_sentences(self, question: str, hits: list[Hit]) -> list[Pick]:
        q = content_grams(question)
        want_number = bool(_Q_NUMERIC.search(question))
        want_time = bool(_Q_TIME.search(question))
        want_who = bool(_Q_WHO.search(question))
        picks: list[Pick] = []
        for i, hit in enumerate(hits[: self.max_hits]):
            article = to_simplified(hit.chunk.text)
            head = " ".join(hit.chunk.heading_path[1:])
            art_cov = len(q & content_grams(article + head)) / max(len(q), 1)
            rank_w = 1.0 / (1.0 + 0.35 * i)
            headings = {compact(h) for h in hit.chunk.heading_path} | {compact(hit.document.title)}
            # question words that name the document or heading ("黄金深加工扶持意见") are
            # answered by where the sentence stands; the rest ("解释") must be in the sentence
            rest = q - content_grams(" ".join([hit.document.title, *hit.chunk.heading_path]))
            for s in sentences(hit.chunk.text):
                simp = to_simplified(s)
                if compact(simp).rstrip("。") in headings or (len(simp) < 30 and not re.search(r"[。；！？，,]", simp)):
                    continue  # a title or heading line, not a statement
                g = content_grams(simp)
                overlap = len(q & g) / max(len(q), 1)
                if rest and rest != q:
                    overlap = (1 - REST_WEIGHT) * overlap + REST_WEIGHT * len(rest & g) / len(rest)
                score = 0.6 * overlap + 0.4 * art_cov
                if want_number and _NUMERIC.search(simp):
                    score += 0.15
                if want_time and _A_TIME.search(simp):
                    score += 0.15
                if want_who and _A_WHO.search(simp):
                    score += 0.1
                if _A_RULE.search(simp):
                    score += 0.05
                if len(simp) < 12:  # headings and fragments say little on their own
                    score *= 0.5
                picks.append(Pick(i, s, score * rank_w, art_cov))
        return picks

    def run(self, question: str, hits: list[Hit]) -> tuple[str, list[Citation]]:
        """Answer text with [n] markers and the citations they point to."""
        picks = self.score_sentences(question, hits)
        if not picks:
            return "", []
        best = max(p.score for p in picks)
        ranked = sorted(picks, key=lambda p: -p.score)
        chosen: list[Pick] = []
        used = 0
        for p in ranked:
            if p.score < best * self.min_ratio or len(chosen) >= self.max_sentences:
                break
            if any(p.sentence == c.sentence for c in chosen):
                continue
            if used + len(p.sentence) > self.max_chars and chosen:
                continue
            chosen.append(p)
            used += len(p.sentence)
        # group by hit (document, article) in rank order; keep each article's sentence order
        by_hit: dict[int, list[Pick]] = {}
        for p in sorted(chosen, key=lambda p: (p.hit_index, hits[p.hit_index].chunk.text.find(p.sentence))):
            by_hit.setdefault(p.hit_index, []).append(p)
        regions = {hits[i].document.region for i in by_hit}
        parts: list[str] = []
        citations: list[Citation] = []
        # articles of one document are listed together under one mention of the document
        order = sorted(by_hit, key=lambda i: (min(j for j in by_hit if hits[j].document.doc_id == hits[i].document.doc_id), i))
        by_hit = {i: by_hit[i] for i in order}
        last_doc = None
        for n, (i, group) in enumerate(by_hit.items(), start=1):
            hit = hits[i]
            d = hit.document
            where = f"{d.region}" if len(regions) > 1 and d.region else ""
            if d.doc_id == last_doc:
                intro = f"{hit.chunk.locator}规定："
                parts[-1] = parts[-1] + "；"
            else:
                intro = f"{where}《{d.title}》" + (f"（{d.number}）" if d.number else "") + f"{hit.chunk.locator}规定："
            last_doc = d.doc_id
            quote = _defuse_markers("".join(_ensure_end(tidy(p.sentence)) for p in group))
            label = hit.chunk.locator
            if label.startswith("第") and to_simplified(quote).startswith(label):
                quote = quote[len(label) :].lstrip(" ，,")  # "第六条规定：第六条…" reads twice
            parts.append(f"{_defuse_markers(intro)}{quote}[{n}]")
            citations.append(
                Citation(
                    marker=n,
                    chunk_id=hit.chunk.chunk_id,
                    doc_title=d.title,
                    doc_number=d.number,
                    locator=hit.chunk.locator,
                    issuer=d.issuer,
                    date=d.date,
                    region=d.region,
                    quote=verbatim_quote(hit.chunk.text, [p.sentence for p in group]),
                    passage=hit.chunk.text,
                    source_file=d.source_file,
                )
            )
        text = ""
        for part in parts:
            text += part if (not text or text.endswith("；")) else "\n" + part
        return text, citations


def verbatim_quote(passage: str, picked: list[str]) -> str:
    """The picked sentences as they stand in the passage: neighbours as one stretch (with the
    line breaks between them), gaps shown as …… — the convention of LLM citations (best_quote)."""
    spans = sorted((i, i + len(s)) for s in picked if (i := passage.find(s)) >= 0)
    runs: list[list[int]] = []
    for a, b in spans:
        if runs and not passage[runs[-1][1] : a].strip():
            runs[-1][1] = max(runs[-1][1], b)
        else:
            runs.append([a, b])
    return "……".join(passage[a:b] for a, b in runs)


def _defuse_markers(text: str) -> str:
    """Source text that looks like a citation marker — 发文字号 written with ASCII brackets,
    (鲁文艺[2018]4号), footnotes [1] — is shown with 〔〕 in the answer, so every [n] in an
    answer is one of its citations (the Citation's quote keeps the verbatim text)."""
    return _MARKER_GROUP.sub(lambda m: "〔" + m.group(0)[1:-1].strip() + "〕", text)


def _ensure_end(s: str) -> str:
    return s if re.search(r"[。；！？!?;”」）)]$", s) else s + "。"
