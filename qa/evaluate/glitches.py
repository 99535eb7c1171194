"""Text glitches an answer must never show (issue: answers that hold on unseen questions).

Each check names a defect a reader notices at once: markdown residue (**, ##, ```), a
colon with nothing after it (a list announced and cut off), an addressee line (各镇人民政府，
各街道办事处…：) or a signature line (issuer, date) quoted as if it were the answer, and a
line that starts with punctuation ("；…", "，…"), and a flattened table's cell bars ("要点任务 |：||："). Used by `qa eval` (share of answers with a
glitch) and by the test that runs every gold question.
"""

from __future__ import annotations

import re

_MARKERS = re.compile(r"[\[［]\s*\d+(?:\s*[,，、]\s*\d+)*\s*[\]］]")
_MARKDOWN = re.compile(r"\*\*|__|^#{1,6}\s|```|^\s*[-*]\s*$", re.M)
# a colon followed by nothing, by a full stop or by a marker and a line end
_DANGLING = re.compile(r"[:：]\s*(?:[。；;]|\Z)")
_ADDRESSEE = re.compile(r"(?:^|[：:“\"])\s*各[\u4e00-\u9fff]{1,12}(?:人民政府|办事处|委员会|管委会?|部门|单位)[^。\n]{0,80}?[:：]\s*(?:[。；]|$|\[)", re.M)
_DATE_ONLY = re.compile(r"^[\s（(]*(?:\d{4}|[〇○零一二三四五六七八九十]{4})\s*年\s*[\d一二三四五六七八九十]{1,3}\s*月\s*[\d一二三四五六七八九十]{1,3}\s*日[）)]?\s*(?:\[\d+\])?[。]?$")
_ISSUER_ONLY = re.compile(r"^[\u4e00-\u9fff（）()]{2,30}(?:人民政府|办公室|委员会|局|指挥部)\s*(?:\[\d+\])?[。]?$")
_CELL_BARS = re.compile(r"\|")
_LEADING_PUNCT = re.compile(r"^\s*[，,。；;：:、！!？?）)】」』”]")


def find_glitches(text: str) -> list[str]:
    """Names of the glitches in an answer text ([] when clean)."""
    found: list[str] = []
    if _MARKDOWN.search(text):
        found.append("markdown")
    plain = _MARKERS.sub("", text)
    if _DANGLING.search(plain):
        found.append("dangling-colon")
    if _ADDRESSEE.search(text):
        found.append("addressee")
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if any(_DATE_ONLY.match(ln) or _ISSUER_ONLY.match(ln) for ln in lines):
        found.append("signature")
    if any(_LEADING_PUNCT.match(ln) for ln in lines):
        found.append("leading-punctuation")
    if _CELL_BARS.search(text):
        found.append("table-bars")
    return found
