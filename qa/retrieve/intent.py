"""What a question asks for: its kind (by-doc, validity, comparison, broad, list, department,
deadline, amount, condition, yesno, or general) and the slot an answer must fill.

The patterns are data (qa/data/intents.toml). A question can match several kinds: the first in
the file's order is the kind (how the answer is shaped), and the first of the slot kinds is the
slot (what a cited article must contain): "招远和周村的奖励分别是多少" is a comparison whose slot is
an amount.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

from qa import data
from qa.models import Chunk
from qa.text import normalize

SLOT_KINDS = ("amount", "deadline", "contact", "department", "condition", "list", "yesno", "validity")
# the slots a whole-document or comparison question can still ask for ("…分别是多少")
DETAIL_SLOTS = ("amount", "money", "grant", "share", "score", "deadline", "date", "contact", "department", "condition")


@dataclass
class Intent:
    kind: str = "general"
    slot: str | None = None  # amount | money | grant | deadline | contact | department | condition | list | yesno | validity
    cue: str = ""  # the words that decided the kind

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Kind:
    name: str
    pattern: re.Pattern[str]
    needs_document: bool
    loose: re.Pattern[str] | None = None  # cues that count only beside `subject` (validity: 到期 of a document)
    subject: re.Pattern[str] | None = None

    def search(self, text: str) -> re.Match[str] | None:
        m = self.pattern.search(text)
        if m is None and self.loose is not None and self.subject is not None and self.subject.search(text):
            m = self.loose.search(text)
        return m


@lru_cache(maxsize=1)
def _kinds() -> tuple[_Kind, ...]:
    table = data.load("intents.toml")
    out = []
    for name in table["order"]:
        k = table["kinds"][name]
        loose, subject = k.get("loose"), k.get("subject")
        out.append(_Kind(
            name, re.compile(k["pattern"]), bool(k.get("needs_document")),
            re.compile(loose) if loose else None, re.compile(subject) if subject else None,
        ))
    return tuple(out)


_FIGURE_KINDS = ("amount",)  # its slot is its own figure …
_LOOSE_SLOTS = ("yesno", "condition", "list")  # … not one of these, which nearly any rule fills
_YIELD_TO_YESNO = ("amount", "deadline", "contact", "department", "condition", "general")


@lru_cache(maxsize=1)
def _strong_yesno() -> re.Pattern[str]:
    return re.compile(data.load("intents.toml")["kinds"]["yesno"]["strong"])


@lru_cache(maxsize=None)
def _cue(kind: str, name: str) -> re.Pattern[str]:
    """One of the cues that narrow what a kind asks (intents.toml: [kinds.amount] money, grant, fee, share,
    score; [kinds.deadline] date; [kinds.comparison] area)."""
    return re.compile(data.load("intents.toml")["kinds"][kind][name])


def _amount_cue(name: str) -> re.Pattern[str]:
    return _cue("amount", name)


@lru_cache(maxsize=1)
def _asks() -> tuple[re.Pattern[str], re.Pattern[str]]:
    table = data.load("intents.toml")["asks"]
    return re.compile(table["ask"]), re.compile(table["several"])


@lru_cache(maxsize=1)
def _slogan() -> re.Pattern[str]:
    return re.compile(data.load("intents.toml")["slogan"]["pattern"])


def slogan_items(question: str) -> re.Pattern[str] | None:
    """A list named by its count and the word its items start with ("哪几个“一”", "六个“一”"): the
    pattern of such an enumeration (一次告知、一套材料、一窗受理); None when the question names none."""
    m = _slogan().search(normalize(question))
    if m is None:
        return None
    w = re.escape((m.group(1) or m.group(2))[0])
    return re.compile(rf"{w}[^、，,。；;“”]{{1,9}}(?:、{w}[^、，,。；;“”]{{1,9}}){{2,}}")


@lru_cache(maxsize=1)
def _aspect() -> dict[str, Any]:
    t = data.load("intents.toml")["aspect"]
    return {**t, "pattern": re.compile(t["pattern"]), "cut": re.compile(t["cut"]), "split": re.compile(t["split"])}


def aspects(question: str) -> list[str]:
    """The subjects a broad question narrows to ("融资这块" → 融资, "在养老和托育这块" → 养老, 托育,
    "创新平台、融资、用地这些方面" → 创新平台, 融资, 用地); [] when it names none."""
    a = _aspect()
    out: list[str] = []
    for m in a["pattern"].finditer(normalize(question)):
        for word in a["split"].split(a["cut"].sub("", m.group(1))):
            word = word[-a["longest"]:]
            if len(word) >= 2 and word not in a["not_subject"]:
                out.append(word)
    return list(dict.fromkeys(out))


def aspect_words(question: str, title: str = "", regions: list[str] | tuple[str, ...] = ()) -> list[str]:
    """The subjects a broad question narrows to with the words the documents use for them
    (intents.toml [aspect.widen]: 融资 → 金融, 信贷, 贴息 …). A subject the document's `title` names
    (普惠金融 of a 普惠金融 plan) narrows nothing; a place before it is no part of it (周村办事 → 办事)."""
    words = [w[2:] if any(w[:2] in r for r in regions) else w for w in aspects(question)]
    words = [w for w in words if len(w) >= 2 and w not in title]
    widen = _aspect().get("widen", {})
    return list(dict.fromkeys(words + [w for a in words for w in widen.get(a, [])]))


NARROW_SHARE = 0.5  # a subject narrows a broad question when at most this share of the document's measures found are on it


def on_subject(words: list[str], chunk: Chunk) -> bool:
    """The article, or a heading above it, says one of the subject's words."""
    return any(t in chunk.text_simplified or t in "".join(chunk.heading_path) for t in words)


def narrows(words: list[str], chunks: list[Chunk]) -> bool:
    """The subject asked ("融资这块") is a part of what the document's measures found are about, not their
    theme ("农业这块" of an agricultural plan, where most articles say 农业)."""
    return bool(words) and bool(chunks) and sum(on_subject(words, c) for c in chunks) <= NARROW_SHARE * len(chunks)


def asks_who(question: str) -> bool:
    """Does any part of the question ask who is in charge or how to reach them (找谁 / 哪个部门 / 电话)?"""
    text = normalize(question)
    return any(k.name in ("department", "contact") and k.search(text) for k in _kinds())


@lru_cache(maxsize=1)
def _sides() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str], int]:
    t = data.load("intents.toml")["sides"]
    return re.compile(t["join"]), re.compile(t["end"]), re.compile(t["lead"]), int(t["min_chars"])


def compared_sides(question: str) -> list[str]:
    """The two things a question compares or asks of each, as the question names them ("周村区2017年残疾人
    “十三五”规划" and "2022年落实省政策清单实施方案"); [] when no clause joins two names long enough to be
    documents or bodies (周村和兰山 are regions, compared by the region logic)."""
    join, end, lead, min_chars = _sides()
    for clause in re.split(r"[，,。？?；;！!\s]", question):
        for m in join.finditer(clause):
            a = lead.sub("", clause[: m.start()])
            b = clause[m.end():]
            cut = end.search(b, min_chars)  # what follows the second name (分别…, 在…方面)
            b = b[: cut.start()] if cut else b
            if len(a) >= min_chars and len(b) >= min_chars:
                return [a, b]
    return []


def asks_of_each(question: str) -> bool:
    """The question asks the same of two bodies or documents (分别 / 各自 / 两者 …)."""
    return bool(_asks()[1].search(question))


@lru_cache(maxsize=1)
def _materials() -> re.Pattern[str]:
    return re.compile(data.load("intents.toml")["materials"]["pattern"])


def asks_materials(question: str) -> bool:
    """Does the question ask what to bring or hand in ("要带啥材料", "得交哪些资料", "带什么证明")?"""
    return bool(_materials().search(normalize(question)))


@lru_cache(maxsize=1)
def _cash() -> re.Pattern[str]:
    return re.compile(data.load("intents.toml")["cash"]["pattern"])


def asks_cash(question: str) -> bool:
    """Does the question insist on a sum in yuan ("具体是多少钱", "具体是几万块"), not how it is reckoned?"""
    return bool(_cash().search(normalize(question)))


def several_asks(question: str) -> bool:
    """The question asks about more than one thing: two of its sentences ask, or it asks of each of
    two bodies ("…和…，办公室各自设在哪里？", "能补多少？得去哪家店换？")."""
    ask = _asks()[0]
    asked = [s for s in re.split(r"[？?；;]", question) if ask.search(s)]
    return len(asked) >= 2 or asks_of_each(question)


def classify(question: str, names_document: bool = False, exclude: tuple[str, ...] = ()) -> Intent:
    """The intent of `question`; `names_document`: it names an indexed document (number or title);
    `exclude`: kinds the caller knows it is not (a 分别 about one document is no comparison)."""
    text = normalize(question)
    kind: str | None = None
    cue = ""
    slot: str | None = None
    for k in _kinds():
        m = k.search(text)
        if not m or (k.needs_document and not names_document) or k.name in exclude:
            continue
        if kind is None:
            kind, cue = k.name, m.group(0)
        if slot is None and k.name != kind and k.name in (SLOT_KINDS if kind in SLOT_KINDS else DETAIL_SLOTS):
            slot = k.name
    if kind in _FIGURE_KINDS and slot in _LOOSE_SLOTS:
        slot = kind  # 有没有补贴？每座能补多少？ asks for the figure: 有没有 alone would let any rule answer
    if kind == "validity":
        slot = "validity"  # what is asked is the document's term, whatever else the words say
    elif kind in SLOT_KINDS and slot is None:
        slot = kind
    strong = _strong_yesno().search(text) if (kind or "general") in _YIELD_TO_YESNO else None
    if strong:
        # a may-I / must-I question about a sum or a period: the verdict first, the figure as its slot
        slot = kind if kind in DETAIL_SLOTS else "yesno"
        kind, cue = "yesno", strong.group(0)
    if (slot == "deadline" or (kind == "deadline" and slot in _LOOSE_SLOTS)) and _cue("deadline", "date").search(text):
        slot = "date"  # 每月几号前 is answered by a day of the month, not by 每月 or a period
    granted = _amount_cue("grant").search(text)
    if slot == "amount" and (_amount_cue("money").search(text) or granted):
        slot = "money"  # 补多少钱 is answered by a sum of money, not by a head count
    if slot == "money" and granted and not _amount_cue("fee").search(text):
        slot = "grant"  # … and a subsidy's sum by a figure, not by 免费
    if slot == "amount" and _amount_cue("share").search(text):
        slot = "share"  # 按多大比例 is answered by a percentage, not by a sum or a cap (a sum asked beside it stays asked)
    if slot == "amount" and _amount_cue("score").search(text):
        slot = "score"  # 录取分数线是多少 is answered by a score (…分), not by a head count
    if kind == "comparison" and slot is None and _cue("comparison", "area").search(text):
        slot = "area"  # two areas compared: each side's article that draws its bounds
    return Intent(kind=kind or "general", slot=slot, cue=cue)
