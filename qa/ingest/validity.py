"""Is a document in force? Validity facts from its own text, and its status on a date.

One job: read what a document says about its own validity, and turn that into a
status on a given day, and into plain Chinese for the person asking.

Facts (`parse_validity`, run at ingest, kept in the index as `Document.validity`):

- effective date: "本办法自2022年10月1日起施行/实施/执行/生效"; "自印发/公布/发布之日起"
  is the document's own date; a 政府令's "现予公布，自…起施行";
- expiry: "有效期至2025年9月30日", "有效期三年" / "有效期3个月" counted from the
  effective date (three years from 2022-02-07 end on 2025-02-06);
- 试行 / 暂行 in the title: provisional;
- repeals: "《…》（招政发〔2018〕27号）同时废止" → ["招政发〔2018〕27号"]; `link_repeals`
  marks an indexed document that another indexed document repeals (repealed_by, from its
  effective date);
- revisions: a second effective date for the same document ("第二十条 本暂行办法自2024年
  7月31日起施行…") and notes like "…（临兰政办字〔2024〕19号）此文件有修改": the earliest
  date is when the document first took effect, later ones are revisions;
- "本办法由XX负责解释": the department to ask;
- a planning period or year in the title (规划（2021—2025年）, “十四五”, 2022年…方案) is kept as
  `period`: it is not a term of validity, but it ends.

A sentence counts only if it speaks about the document itself: the clause must follow
"本办法 / 本意见 / 本通知 …", "现予公布" or the document's own 《title》 in the same
sentence with no other 《…》 in between, so "《条例》于2022年1月1日起施行" or "根据《X》
（自…起施行）制定本办法" are not taken for the document's own dates.

Status on a date (`status`): repealed > not_yet_effective > expired > in_force; a
document stating no effective date and no term is `unknown` (in force until repealed,
but it states no term).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from qa.ingest.documents import cn_number, iso_date, normalize_number
from qa.models import Document, Revision, Validity

__all__ = [
    "NOT_IN_FORCE",
    "STATUSES",
    "STATUS_LABELS",
    "Revision",
    "Validity",
    "annotate_answer",
    "as_of_date",
    "asks_about_validity",
    "citation_validity",
    "cn_date",
    "is_in_force",
    "link_repeals",
    "locate_term",
    "term_chunks",
    "passage_validity",
    "parse_validity",
    "status",
    "validity_notes",
    "validity_statement",
    "warning",
]

STATUSES = ("in_force", "expired", "not_yet_effective", "repealed", "unknown")
NOT_IN_FORCE = ("expired", "not_yet_effective", "repealed")
STATUS_LABELS = {
    "in_force": "现行有效",
    "expired": "已过有效期",
    "not_yet_effective": "尚未施行",
    "repealed": "已废止",
    "unknown": "未载明有效期",
}

# --- patterns (on simplified text without whitespace) ------------------------------------------

_DATE = r"((?:19|20)\d{2})年(\d{1,2})月(\d{1,2})日"
_CN_DATE = r"([〇零一二三四五六七八九]{4})年([一二三四五六七八九十]{1,3})月([一二三四五六七八九十]{1,3})日"
_ANY_DATE = f"(?:{_DATE}|{_CN_DATE})"
_VERB = r"(?:施行|实施|执行|生效)"
_COUNT = r"([一二两三四五六七八九十\d]{1,3})"

# what a document calls itself: 本办法, 本暂行办法, 本实施意见, 本预案 …
_SELF = re.compile(
    r"本(?:暂行|实施|补助|管理|试行)?"
    r"(?:办法|意见|通知|方案|规定|细则|预案|政策|决定|规划|制度|规则|措施|条例|标准|计划|要点|实施意见|实施方案|实施细则)"
    r"|现予(?:公布|发布|印发)"
)
_EFFECTIVE_ON = re.compile(rf"[自从]{_ANY_DATE}起{_VERB}")
_EFFECTIVE_PUBLISHED = re.compile(rf"[自从](?:公布|印发|发布|下发|颁布)之日起{_VERB}")
_EXPIRY_ON = re.compile(rf"有效期(?:为|自)?(?:{_ANY_DATE}起?)?(?:至|到){_ANY_DATE}止?")
_TERM_YEARS = re.compile(rf"有效期(?:为|暂定为?)?{_COUNT}年")
_TERM_MONTHS = re.compile(rf"有效期(?:为|暂定为?)?{_COUNT}个月")
_INTERPRETER = re.compile(r"由([^，,。；;：:《》]{2,40}?)负责解释")
_REPEAL = re.compile(r"(?:同时|予以|一并)(?:废止|失效)|同时停止执行")
_NUMBER_IN_BRACKETS = re.compile(r"[（(]([^（()）《》]{1,16}?[〔\[［(（]\d{4}[〕\]］)）]\d{1,4}号)[)）]")
_NUMBER_BARE = re.compile(r"([\u4e00-\u9fff]{2,8}[〔\[［]\d{4}[〕\]］]\d{1,4}号)")
_TITLE_QUOTE = re.compile(r"《([^《》]{2,80})》")
_REVISION_NOTE = re.compile(r"(?:此|本)(?:文件|件)有(?:修改|修订|修正)")
_REVISED_TITLE = re.compile(r"[(（]?(修订版|修订稿|修正版|修订)[)）]?$")
_PROVISIONAL = re.compile(r"试行|暂行")
_SENTENCE = re.compile(r"[^。；;！!？?]+[。；;！!？?]?")
# a single measure's own deadline inside an article: "…免征增值税…执行期限至2022年12月31日"
_ARTICLE_DEADLINE = re.compile(rf"(?:执行期限|执行期|实施期限|政策期限|享受期限)(?:为|延长)?(?:至|到|截至){_ANY_DATE}")

_PLAN_FIVE_YEARS = {"十二五": (2011, 2015), "十三五": (2016, 2020), "十四五": (2021, 2025), "十五五": (2026, 2030)}
_PERIOD_RANGE = re.compile(r"[(（]((?:19|20)\d{2})\s*[—–\-－~至]+\s*((?:19|20)\d{2})年?[)）]")
_PERIOD_YEAR = re.compile(r"((?:19|20)\d{2})年度?")
_ANNUAL_KINDS = re.compile(r"(?:方案|要点|计划|目录|汇编|清单)$")

# the kind of document, for "该意见 / 该办法 …"
_KINDS = ("意见", "办法", "通知", "方案", "规划", "预案", "规定", "细则", "决定", "批复", "通报", "计划", "要点", "目录", "清单", "汇编", "条例", "制度", "规则", "政策")


def _date_of(groups: tuple[str | None, ...]) -> str | None:
    """(y, m, d, cy, cm, cd) match groups of _ANY_DATE → ISO date."""
    y, m, d, cy, cm, cd = groups[:6]
    if y:
        return iso_date(int(y), int(m or 0), int(d or 0))
    if cy:
        digits = {"〇": "0", "零": "0", "一": "1", "二": "2", "三": "3", "四": "4", "五": "5", "六": "6", "七": "7", "八": "8", "九": "9"}
        return iso_date(int("".join(digits[c] for c in cy)), cn_number(cm or ""), cn_number(cd or ""))
    return None


def _count(s: str) -> int:
    return cn_number(s.replace("两", "二"))


def add_term(start: str, years: int = 0, months: int = 0) -> str:
    """The last day of a term that starts on `start`: 3 years from 2022-02-07 → 2025-02-06."""
    d = date.fromisoformat(start)
    total = d.year * 12 + (d.month - 1) + years * 12 + months
    y, m = divmod(total, 12)
    try:
        end = date(y, m + 1, d.day)
    except ValueError:  # 29 February, or the 31st of a shorter month: the term ends with that month
        end = date(y + (m + 1) // 12, (m + 1) % 12 + 1, 1)
    return (end - timedelta(days=1)).isoformat()


def _numbers_in(sentence: str) -> list[str]:
    found = [normalize_number(m) for m in _NUMBER_IN_BRACKETS.findall(sentence)]
    if not found:
        found = [normalize_number(m) for m in _NUMBER_BARE.findall(sentence)]
    out: list[str] = []
    for n in found:
        if n not in out:
            out.append(n)
    return out


def _anchor(sentence: str, start: int, own_title: str | None) -> tuple[int, bool] | None:
    """Where the document names itself before the clause at `start` (see module doc):
    (position, named as 本X) of the closest such mention with no other 《…》 in between, or None."""
    found: list[tuple[int, int, bool]] = [
        (m.start(), m.end(), m.group(0).startswith("本")) for m in _SELF.finditer(sentence, 0, start + 1) if m.end() <= start
    ]
    if own_title:
        quoted = f"《{own_title}》"
        i = sentence.find(quoted)
        if 0 <= i and i + len(quoted) <= start:
            found.append((i, i + len(quoted), False))
    ok = [(a, self_named) for a, e, self_named in found if "《" not in sentence[e:start]]
    return max(ok) if ok else None


@dataclass
class _Effective:
    date: str
    sentence: str


@dataclass
class _Clauses:
    """One sentence's clauses about the document itself (see module doc): where they stand,
    and the facts they state."""

    sentence: str
    own_title: str | None
    spans: list[tuple[int, int, bool]] = field(default_factory=list)  # (anchor, clause end, named as 本X)
    facts: set[str] = field(default_factory=set)
    start: str | None = None  # the first effective date the sentence states: a term in it runs from there

    def about(self, m: re.Match[str]) -> bool:
        """Does the clause matched by `m` speak about the document itself? (kept as a span if so)"""
        found = _anchor(self.sentence, m.start(), self.own_title)
        if found:
            self.spans.append((found[0], m.end(), found[1]))
        return found is not None

    def segment(self) -> tuple[str, bool, set[str]] | None:
        """The words stating the sentence's facts, whether it names the document as 本X, and the
        facts; None when it states no fact about its validity (the interpreter alone is none)."""
        if not (self.spans and self.facts - {"interpreter"}):
            return None
        start, end = min(a for a, _, _ in self.spans), max(e for _, e, _ in self.spans)
        return self.sentence[start:end] + "。", any(n for _, _, n in self.spans), self.facts


@dataclass
class _Stated:
    """What a document's sentences state about its validity, before it is settled into dates."""

    effective: list[_Effective] = field(default_factory=list)
    expiry: tuple[str, str] | None = None  # (date, sentence)
    term: tuple[int, int, str, str | None] | None = None  # (years, months, sentence, start date of that sentence)
    segments: list[tuple[str, bool, set[str]]] = field(default_factory=list)  # (words stating it, named as 本X, facts stated)


def parse_validity(
    text: str,
    title: str | None = None,
    number: str | None = None,
    issued: str | None = None,
) -> Validity:
    """Validity facts from a document's text (simplified characters; whitespace is ignored).

    `issued` is the document's own date (自印发/公布之日起 resolves to it), `title` its own
    title (试行/暂行, planning period, and 《title》 as a way the text names itself).
    """
    key = re.sub(r"\s+", "", text or "")
    own_title = re.sub(r"\s+", "", title) if title else None
    own = normalize_number(number) if number else None
    v = Validity(issued=issued)
    stated = _Stated()
    for m_sent in _SENTENCE.finditer(key):
        _read_sentence(m_sent.group(0), v, stated, own_title, own, issued)
    _settle_effective(v, stated.effective)
    _settle_expiry(v, stated, issued)
    term = _term_text(stated.segments)
    if term:
        v.term = term
    if own_title:
        _title_facts(v, own_title)
    if not v.period:
        v.period, v.period_end = _campaign(key)
    return v


def _read_sentence(
    s: str, v: Validity, stated: _Stated, own_title: str | None, own: str | None, issued: str | None
) -> None:
    """One sentence: its dates and term into `stated`; interpreter, repeals and revision notes into `v`."""
    clauses = _Clauses(s, own_title)
    _effective_stated(clauses, stated, issued)
    _end_stated(clauses, stated)
    m = _INTERPRETER.search(s)
    if m and clauses.about(m):
        v.interpreter = v.interpreter or m.group(1)
        clauses.facts.add("interpreter")
    _repeals_stated(clauses, v, own, own_title)
    if _REVISION_NOTE.search(s):
        v.revisions.append(Revision(note=s, by=next(iter(_numbers_in(s)), None)))
    segment = clauses.segment()
    if segment:
        stated.segments.append(segment)


def _effective_stated(clauses: _Clauses, stated: _Stated, issued: str | None) -> None:
    """"自2022年10月1日起施行", and "自印发之日起施行" (the document's own date)."""
    dates: list[tuple[re.Match[str], str | None]] = [(m, _date_of(m.groups())) for m in _EFFECTIVE_ON.finditer(clauses.sentence)]
    dates += [(m, issued) for m in _EFFECTIVE_PUBLISHED.finditer(clauses.sentence)]
    for m, d in dates:
        if d and clauses.about(m):
            stated.effective.append(_Effective(d, clauses.sentence))
            clauses.start = clauses.start or d
            clauses.facts.add("effective:" + d)


def _end_stated(clauses: _Clauses, stated: _Stated) -> None:
    """"有效期至…", or else a term ("有效期三年") counted from the sentence's own start date."""
    s = clauses.sentence
    for m in _EXPIRY_ON.finditer(s):
        d = _date_of(m.groups()[6:12])
        if d and clauses.about(m):
            stated.expiry = (d, s)
            clauses.facts.add("expiry:" + d)
    if stated.expiry is not None and stated.expiry[1] == s:
        return
    for pattern, unit in ((_TERM_YEARS, "y"), (_TERM_MONTHS, "m")):
        m = pattern.search(s)
        if m and clauses.about(m):
            n = _count(m.group(1))
            stated.term = (n, 0, s, clauses.start) if unit == "y" else (0, n, s, clauses.start)
            clauses.facts.add(f"term:{unit}{n}")
            break


def _repeals_stated(clauses: _Clauses, v: Validity, own: str | None, own_title: str | None) -> None:
    """"《…》（招政发〔2018〕27号）同时废止" → v.repeals, by 发文字号 or else by 《title》."""
    s = clauses.sentence
    m = _REPEAL.search(s)
    if not m:
        return
    refs = [n for n in _numbers_in(s[: m.start()]) if n != own]
    if not refs:  # repealed by name only: 原《X办法》同时废止
        refs = [f"《{t}》" for t in _TITLE_QUOTE.findall(s[: m.start()]) if t != own_title]
    v.repeals += [r for r in refs if r not in v.repeals]
    if refs and clauses.spans:  # "本办法自印发之日起执行，…（招政发〔2018〕27号）同时废止": one statement
        clauses.spans.append((clauses.spans[0][0], m.end(), clauses.spans[0][2]))


def _settle_effective(v: Validity, effective: list[_Effective]) -> None:
    """The earliest effective date is when the document took effect; later ones are revisions."""
    if not effective:
        return
    dates = sorted({e.date for e in effective})
    v.effective_date = dates[0]
    # a later effective date of the same document is a revision taking effect
    notes = [r for r in v.revisions if r.effective_date is None]
    later = [next(e for e in effective if e.date == d) for d in dates[1:]]
    for e in later:
        if notes:  # "第二十条 …自2024年7月31日起施行" + "…（临兰政办字〔2024〕19号）此文件有修改"
            notes[0].effective_date = e.date
            notes.pop(0)
        else:
            v.revisions.append(Revision(note=e.sentence, effective_date=e.date))


def _settle_expiry(v: Validity, stated: _Stated, issued: str | None) -> None:
    """A stated expiry date wins; a term runs from its sentence's date, else the latest
    revision's, else the effective date, else the document's own date."""
    if stated.expiry:
        v.expiry_date = stated.expiry[0]
    elif stated.term:
        years, months, _, start = stated.term
        start = start or (v.revisions[-1].effective_date if v.revisions and v.revisions[-1].effective_date else None)
        start = start or v.effective_date or issued
        if start:
            v.expiry_date = add_term(start, years, months)


def _term_text(segments: list[tuple[str, bool, set[str]]]) -> str | None:
    """The words that state the term, each once; None when no sentence states one."""
    # "现予公布，自2020年11月1日起施行" says nothing "第十七条 本办法自2020年11月1日起施行" does not
    said = set().union(*(f for _, named, f in segments if named)) if segments else set()
    kept = [text for text, named, f in segments if named or not f <= said]
    return "".join(dict.fromkeys(kept)) if kept else None


def _title_facts(v: Validity, own_title: str) -> None:
    """What the title says: 试行/暂行, a revised text (修订版), a planning period or year."""
    v.provisional = bool(_PROVISIONAL.search(own_title))
    m = _REVISED_TITLE.search(own_title)
    if m and not v.revisions:
        v.revisions.append(Revision(note=f"标题注明“{m.group(1)}”：本文件是此前同名文件的修订文本"))
    v.period, v.period_end = _period(own_title)


# an action the document sets for a stated stretch of time: "从2022年7月1日至8月31日,在全镇范围内开展…"
_CAMPAIGN = re.compile(
    r"(?:自|从)?(20\d\d)年(\d{1,2})月(?:(\d{1,2})日)?起?(?:至|到|—|－|-|～|~)(?:(20\d\d)年)?(\d{1,2})月(?:(\d{1,2})日|底|末)?"
    r"[，,]?(?:在[^，,。；]{0,12})?(?:开展|集中开展|组织开展|为期)"
)


def _campaign(key: str) -> tuple[str | None, str | None]:
    """The period of an action the text sets ("从2022年7月1日至8月31日…开展为期两个月的…行动"):
    like a plan's year, not a term of validity, but it ends."""
    m = _CAMPAIGN.search(key[:4000])  # the opening and the 时间安排 of a work plan, not a long annex
    if not m:
        return None, None
    y1, m1, d1, y2, m2, d2 = m.groups()
    y2 = y2 or y1
    try:
        end = date(int(y2), int(m2), int(d2) if d2 else calendar.monthrange(int(y2), int(m2))[1])
        date(int(y1), int(m1), int(d1) if d1 else 1)
    except ValueError:
        return None, None
    start = f"{y1}年{int(m1)}月" + (f"{int(d1)}日" if d1 else "")
    stop = (f"{y2}年" if y2 != y1 else "") + f"{int(m2)}月" + (f"{int(d2)}日" if d2 else "")
    return f"{start}至{stop}开展的工作", end.isoformat()


def _period(title: str) -> tuple[str | None, str | None]:
    """Planning period or year named in a title: ('2021—2025年', '2025-12-31')."""
    m = _PERIOD_RANGE.search(title)
    if m:
        return f"{m.group(1)}—{m.group(2)}年", f"{m.group(2)}-12-31"
    for name, (a, b) in _PLAN_FIVE_YEARS.items():
        if f"“{name}”" in title or f"\"{name}\"" in title or name in title:
            return f"“{name}”时期（{a}—{b}年）", f"{b}-12-31"
    m = _PERIOD_YEAR.search(title)
    if m and _ANNUAL_KINDS.search(title):
        return f"{m.group(1)}年度", f"{m.group(1)}-12-31"
    return None, None


def term_chunks(validity: Validity, chunks: Iterable[Any]) -> list[Any]:
    """The chunks holding the term's sentences, in the order of the sentences (one chunk once)."""
    if not validity.term:
        return []
    chunks = list(chunks)
    texts = [re.sub(r"\s+", "", getattr(c, "text_simplified", "") or "") for c in chunks]
    found: list[Any] = []
    for sentence in validity.term.split("。"):
        probe = sentence[:16]
        if len(probe) < 6:
            continue
        for c, text in zip(chunks, texts):
            if probe in text:
                if c not in found:
                    found.append(c)
                break
    return found


def locate_term(validity: Validity, chunks: Iterable[Any]) -> None:
    """Set `term_locator`: the locators of the chunks holding the term's sentences ("第十九条、第二十条")."""
    if validity.term:
        validity.term_locator = "、".join(dict.fromkeys(c.locator for c in term_chunks(validity, chunks))) or None


def link_repeals(documents: list[Document]) -> None:
    """Mark indexed documents that another indexed document repeals (by 发文字号 or 《title》)."""
    by_number: dict[str, list[Document]] = {}
    by_title: dict[str, list[Document]] = {}
    for d in documents:
        if d.number:
            by_number.setdefault(normalize_number(d.number), []).append(d)
        by_title.setdefault("《" + re.sub(r"\s+", "", d.title) + "》", []).append(d)
    for newer in documents:
        v = newer.validity
        if v is None:
            continue
        for ref in v.repeals:
            targets = by_title.get(ref, []) if ref.startswith("《") else by_number.get(normalize_number(ref), [])
            for old in targets:
                if old is newer:
                    continue
                old.validity = old.validity or Validity(issued=old.date)
                since = v.effective_date or newer.date
                ov = old.validity
                if ov.repealed_by is None or (since and ov.repealed_on and since < ov.repealed_on):
                    ov.repealed_by = newer.number or newer.label()
                    ov.repealed_on = since


# --- status on a date ----------------------------------------------------------------------------


def as_of_date(value: str | date | None = None) -> date:
    """A day to judge validity on: None → today; '2023-06-01', '2023/6/1', '2023年6月1日' or a date."""
    if value is None or value == "":
        return date.today()
    if isinstance(value, date):
        return value
    s = str(value).strip()
    m = re.fullmatch(r"((?:19|20)\d{2})[-/.年](\d{1,2})[-/.月](\d{1,2})日?", s)
    if not m:
        raise ValueError(f"无法识别的日期 / not a date: {value!r}（格式：2023-06-01）")
    try:
        return date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError as exc:
        raise ValueError(f"无效的日期 / invalid date: {value!r}") from exc


def status(validity: Validity | Document | None, as_of: str | date | None = None) -> str:
    """in_force | expired | not_yet_effective | repealed | unknown on `as_of` (default: today)."""
    if isinstance(validity, Document):
        validity = validity.validity
    if validity is None:
        return "unknown"
    day = as_of_date(as_of).isoformat()
    v = validity
    if v.repealed_by and (v.repealed_on is None or day >= v.repealed_on):
        return "repealed"
    if v.effective_date and day < v.effective_date:
        return "not_yet_effective"
    if not v.effective_date and v.issued and day < v.issued:
        return "not_yet_effective"  # not even issued yet
    if v.expiry_date and day > v.expiry_date:
        return "expired"
    return "in_force" if v.stated else "unknown"


def is_in_force(validity: Validity | Document | None, as_of: str | date | None = None) -> bool:
    """What the in-force filter keeps: in force, or stating no term (in force until repealed)."""
    return status(validity, as_of) not in NOT_IN_FORCE


def article_deadline(text: str) -> str | None:
    """The latest 执行期限至… a passage states for its own measures (None when it states none)."""
    key = re.sub(r"\s+", "", text or "")
    dates = [d for d in (_date_of(m.groups()) for m in _ARTICLE_DEADLINE.finditer(key)) if d]
    return max(dates) if dates else None


def passage_validity(doc: Document | None, passage: str, as_of: str | date | None = None) -> dict[str, Any]:
    """`citation_validity` of the document, unless the cited article's own measures ran out: a
    document in force (or stating no term) whose article says "执行期限至2024年12月31日" is, for
    that article after that day, "expired" with that expiry_date and scope "article"."""
    v = citation_validity(doc, as_of)
    end = article_deadline(passage)
    if end and v["status"] in ("in_force", "unknown") and v["as_of"] > end:
        v.update(status="expired", expiry_date=end, scope="article")
    return v


def citation_validity(doc: Document | None, as_of: str | date | None = None) -> dict[str, Any]:
    """The `validity` record of a citation: status, effective_date, expiry_date, repealed_by, as_of."""
    v = doc.validity if doc is not None else None
    return {
        "status": status(v, as_of),
        "effective_date": v.effective_date if v else (doc.effective_date if doc else None),
        "expiry_date": v.expiry_date if v else (doc.expiry_date if doc else None),
        "repealed_by": v.repealed_by if v else None,
        "as_of": as_of_date(as_of).isoformat(),
    }


# --- plain Chinese -------------------------------------------------------------------------------


def cn_date(iso: str | date | None) -> str:
    """'2025-02-06' → '2025年2月6日'."""
    if iso is None:
        return ""
    d = iso if isinstance(iso, date) else date.fromisoformat(str(iso))
    return f"{d.year}年{d.month}月{d.day}日"


def _kind(doc: Document) -> str:
    """意见 / 办法 / 通知 …: what the title ends with (a trailing "(修订版)" or "(2021—2025年)" aside)."""
    title = re.sub(r"[(（][^()（）]*[)）]$", "", re.sub(r"\s+", "", doc.title or ""))
    return next((k for k in _KINDS if title.endswith(k)), "文件")


def _local(region: str | None) -> str | None:
    """临沂市兰山区 → 兰山区, 招远市 → 招远市 (the issuing government's own name)."""
    if not region:
        return None
    m = re.search(r"([^市省州盟]{1,6}[区县旗])$", region)
    return m.group(1) if m else region


def department(doc: Document) -> str:
    """Whom to ask: the interpreting department the document names (qualified with its
    region: 市发改局 in a 招远 document → 招远市发改局), else the issuer."""
    v = doc.validity
    name = v.interpreter if v and v.interpreter else None
    if not name:
        return (doc.issuer or "发文机关").replace(" ", "")
    local = _local(doc.region)
    if local:
        level = local[-1]  # 市 / 区 / 县
        parts = []
        for part in re.split(r"([、和及])", name):
            if part.startswith(level) and not part.startswith(local) and len(part) > 2:
                part = local + part[1:]
            parts.append(part)
        name = "".join(parts)
    return name


def _subject(doc: Document, named: bool) -> str:
    return doc.label() if named else f"该{_kind(doc)}"


def warning(doc: Document, as_of: str | date | None = None, named: bool = False, markers: str = "") -> str | None:
    """The plain-Chinese warning for a document not in force on `as_of` (None when it is).

    e.g. "注意：该意见有效期至2025年2月6日，截至2026年12月1日已过有效期，现行政策请向招远市工业和信息化局咨询。"
    `named` uses 《title》（number） instead of 该意见; `markers` ("[1]") follows the subject.
    """
    day = as_of_date(as_of)
    st = status(doc.validity, day)
    if st not in NOT_IN_FORCE:
        return None
    v = doc.validity
    assert v is not None
    subj = _subject(doc, named) + markers
    when = cn_date(day)
    if st == "expired":
        return f"注意：{subj}有效期至{cn_date(v.expiry_date)}，截至{when}已过有效期，现行政策请向{department(doc)}咨询。"
    if st == "repealed":
        since = f"自{cn_date(v.repealed_on)}起" if v.repealed_on else ""
        return f"注意：{subj}已被{v.repealed_by}{since}废止，截至{when}不再有效，现行规定以{v.repealed_by}为准。"
    if v.effective_date:
        return f"注意：{subj}自{cn_date(v.effective_date)}起施行，截至{when}尚未施行。"
    return f"注意：{subj}于{cn_date(v.issued)}印发，截至{when}尚未印发。"


def _hint(doc: Document, as_of: date, named: bool, markers: str) -> str | None:
    """Softer notes for a document in force or stating no term: a later revision, an ended period."""
    v = doc.validity
    if v is None:
        return None
    subj = _subject(doc, named) + markers
    day = as_of.isoformat()
    for r in v.revisions:
        if r.effective_date and day < r.effective_date and (not v.effective_date or day >= v.effective_date):
            by = f"（{r.by}）" if r.by else ""
            return (f"提示：收录的{subj}是{cn_date(r.effective_date)}起施行的修改后文本{by}，"
                    f"{cn_date(as_of)}时适用的是修改前的文本。")
    if status(v, as_of) == "unknown" and v.period_end and day > v.period_end:
        return (f"提示：{subj}未载明有效期，其针对的是{v.period}，截至{cn_date(as_of)}已经结束，"
                f"现行政策请向{department(doc)}咨询。")
    return None


def validity_statement(doc: Document, as_of: str | date | None = None, named: bool = False, markers: str = "") -> str:
    """Status, dates and the article that states them, for questions about validity."""
    day = as_of_date(as_of)
    v = doc.validity or Validity(issued=doc.date)
    st = status(v, day)
    subj = _subject(doc, named) + markers
    where = ""
    if v.term:
        where = f"（{v.term_locator + '：' if v.term_locator else '原文：'}“{v.term}”）"
    kind = ("（试行）" if "试行" in (doc.title or "") else "（暂行）") if v.provisional else ""
    if st in NOT_IN_FORCE:
        return (warning(doc, day, named, markers) or "") + where
    if st == "unknown":
        issued = f"于{cn_date(v.issued)}印发，" if v.issued else ""
        if v.period_end and day.isoformat() > v.period_end:  # a plan for 2022, an action from July to August
            return (f"{subj}{kind}{issued}文件未载明有效期，其针对的是{v.period}，截至{cn_date(day)}已经结束；"
                    f"现行政策请向{department(doc)}咨询。")
        return (f"{subj}{kind}{issued}文件未载明施行日期和有效期，在被废止或修改前一般继续适用；"
                f"是否仍在执行请向{department(doc)}核实。")
    parts = [f"{subj}{kind}自{cn_date(v.effective_date)}起施行" if v.effective_date else f"{subj}{kind}已施行"]
    for r in v.revisions:
        if r.effective_date and r.effective_date <= day.isoformat():
            parts.append(f"{cn_date(r.effective_date)}起施行修改后的文本" + (f"（{r.by}）" if r.by else ""))
    if v.expiry_date:
        parts.append(f"有效期至{cn_date(v.expiry_date)}，截至{cn_date(day)}仍在有效期内")
    else:
        parts.append(f"文件未规定有效期，截至{cn_date(day)}收录的文件中未见其被废止")
    return "，".join(parts) + where + "。"


_VALIDITY_QUESTION = re.compile(
    r"还有效|有效吗|是否有效|仍然有效|有效期|失效|过期|到期|废止|作废|现行|还能(?:申请|享受|用|执行|适用|办)"
    r"|还(?:适用|执行|管用|算数|作数)|还在执行|继续执行吗|(?:什么|啥)时(?:候|间)(?:开始)?(?:施行|实施|执行|生效)"
    r"|何时(?:开始)?(?:施行|实施|执行|生效)|几时(?:施行|实施|生效)|(?:施行|实施|生效)(?:日期|时间)|从(?:什么|啥)时候"
    r"|管到|有效到|到哪(?:一)?年"
)


def asks_about_validity(question: str) -> bool:
    """还有效吗 / 还能申请吗 / 有效期到什么时候 / 什么时候开始施行 …"""
    return bool(_VALIDITY_QUESTION.search(re.sub(r"\s+", "", question or "")))


def validity_notes(
    docs: Iterable[Document],
    as_of: str | date | None = None,
    question: str | None = None,
    markers: Mapping[str, str] | None = None,
) -> list[str]:
    """What the answer should add about the cited documents, one paragraph each:

    - a warning ("注意：…") for each document not in force on `as_of`;
    - a hint ("提示：…") when the indexed text was revised after `as_of`, or a document
      stating no term was made for a period that has ended;
    - when the question asks about validity, the statement of status and dates for every
      cited document (in force or not).

    `markers` maps doc_id → its citation markers ("[1][2]"), written after the subject.
    With one document the subject is 该意见 / 该办法 …, with several its 《title》（number）.
    """
    day = as_of_date(as_of)
    unique: list[Document] = []
    for d in docs:
        if d is not None and all(d.doc_id != u.doc_id for u in unique):
            unique.append(d)
    named = len(unique) > 1
    asks = asks_about_validity(question or "")
    out: list[str] = []
    for d in unique:
        mk = (markers or {}).get(d.doc_id, "")
        if asks:
            text = validity_statement(d, day, named, mk)
        else:
            text = warning(d, day, named, mk) or _hint(d, day, named, mk)
        if asks:
            hint = _hint(d, day, named, mk)
            if hint and "已经结束" not in text:  # the statement already says the period has ended
                text = text + hint
        if text:
            out.append(text)
    return out


def _documents_of(citations: Iterable[Any], store: Any) -> list[Document | None]:
    """The Document behind each citation, via the index store (None when it cannot be found)."""
    doc_by_id: Mapping[str, Document] = getattr(store, "doc_by_id", {}) or {}
    row_of: Mapping[str, int] = getattr(store, "row_of", {}) or {}
    chunks = getattr(store, "chunks", []) or []
    out: list[Document | None] = []
    for c in citations:
        doc = None
        row = row_of.get(c.chunk_id)
        if row is not None and row < len(chunks):
            doc = doc_by_id.get(chunks[row].doc_id)
        if doc is None:
            doc = doc_by_id.get(str(c.chunk_id).split(":")[0])
        if doc is None:
            doc = next((d for d in doc_by_id.values() if d.title == c.doc_title and d.number == c.doc_number), None)
        out.append(doc)
    return out


def _article_warnings(expired: list[tuple[Document, str, str]], as_of: date, named: bool) -> list[str]:
    """One note per document whose cited articles' own deadlines have passed."""
    out: list[str] = []
    by_doc: dict[str, list[tuple[Document, str, str]]] = {}
    for item in expired:
        by_doc.setdefault(item[0].doc_id, []).append(item)
    for items in by_doc.values():
        doc = items[0][0]
        markers = "".join(m for _, m, _ in items)
        end = max(e for _, _, e in items)
        out.append(f"注意：{_subject(doc, named)}{markers}所引条款规定的执行期限至{cn_date(end)}，截至{cn_date(as_of)}已过执行期限，"
                   f"现行政策请向{department(doc)}咨询。")
    return out


def annotate_answer(answer: Any, store: Any, as_of: str | date | None = None) -> str:
    """Give each citation of `answer` its `validity` record and append the validity notes to
    `answer.text`. Returns the text appended ("" when nothing is added), so a streaming caller
    can send it too. For the answer stage: `yield from` nothing else is needed."""
    day = as_of_date(as_of)
    citations = list(getattr(answer, "citations", []) or [])
    if not citations:
        return ""
    docs = _documents_of(citations, store)
    markers: dict[str, str] = {}
    articles: list[tuple[Document, str, str]] = []  # (document, marker, deadline) of articles past their own deadline
    for c, d in zip(citations, docs):
        c.validity = passage_validity(d, getattr(c, "passage", "") or "", day)
        if d is not None:
            markers[d.doc_id] = markers.get(d.doc_id, "") + f"[{c.marker}]"
            if c.validity.get("scope") == "article":
                articles.append((d, f"[{c.marker}]", c.validity["expiry_date"]))
    found = [d for d in docs if d is not None]
    notes = validity_notes(found, day, getattr(answer, "standalone_question", "") or answer.question, markers)
    notes += _article_warnings(articles, day, named=len({d.doc_id for d in found}) > 1)
    notes.sort(key=lambda n: not n.startswith("注意"))  # warnings first, then hints
    if not notes:
        return ""
    extra = "\n\n" + "\n".join(notes)
    answer.text = (answer.text or "").rstrip("\n") + extra
    return extra
