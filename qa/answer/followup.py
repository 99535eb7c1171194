"""Rewrite a follow-up question ("那残疾人呢？", "兰山区呢？", "这个政策什么时候到期？")
into a standalone question, using the conversation. Rule-based: works without an LLM."""

from __future__ import annotations

import re

from qa.ingest.lines import to_simplified

from qa.models import History

# Place names a follow-up may switch to ("兰山区呢？"). The assistant passes the pattern of the
# collection's own region aliases (QueryAnalyzer.region_pattern); this generic one (a name ending in
# 区/市/县) serves when there is none.
_ANY_REGION = re.compile(r"[\u4e00-\u9fff]{2,6}?[区市县]")
_THIS_DOC = re.compile(r"这个政策|该政策|这项政策|这个文件|该文件|这份文件|这个办法|该办法|这个意见|这个方案|上述政策|它")
_ELLIPSIS = re.compile(r"^(那么?|还有|另外|再问一下|那如果是?|如果是)?(?P<x>.{1,24}?)(呢|怎么样|怎么办|如何|行吗|可以吗)?[？?。!！]*$")
_ANAPHORA = re.compile(r"^(那么?|还有|另外|如果是)|呢[？?]?$|这个|该|上述|同样|也")
_DOC_TITLE = re.compile(r"《([^《》]{4,60})》")


def last_turns(history: History | None) -> tuple[str | None, str | None]:
    """The previous user question and assistant answer."""
    prev_q = prev_a = None
    for msg in reversed(history or []):
        role, content = msg.get("role"), msg.get("content")
        if not isinstance(content, str):
            continue
        if role == "assistant" and prev_a is None and prev_q is None:
            prev_a = content
        elif role == "user":
            prev_q = content
            break
    return prev_q, prev_a


def is_followup(question: str, history: History | None) -> bool:
    if not history:
        return False
    q = question.strip()
    return bool(_ANAPHORA.search(q)) or len(re.sub(r"[？?。！!\s]", "", q)) <= 6


def rewrite_followup(question: str, history: History | None, regions: re.Pattern[str] | None = None) -> str:
    """A standalone question; the question itself when it already stands alone."""
    q = to_simplified(question.strip())
    if not is_followup(q, history):
        return q
    prev_q, prev_a = last_turns(history)
    if not prev_q:
        return q
    prev_q = to_simplified(prev_q.strip())
    # "这个政策什么时候到期？" → name the document the previous answer cited
    if _THIS_DOC.search(q) and prev_a:
        m = _DOC_TITLE.search(prev_a)
        if m:
            return _THIS_DOC.sub(f"《{m.group(1)}》", q, count=1)
    m = _ELLIPSIS.match(q)
    x = m.group("x") if m else q
    x = re.sub(r"^(那么?|还有|另外|如果是)", "", x).strip()
    rx = regions or _ANY_REGION
    region = rx.fullmatch(x) or (rx.match(x) if x.endswith(("区", "市", "县")) else None)
    if region:
        # "兰山区呢？": same question, other region
        if rx.search(prev_q):
            return rx.sub(x, prev_q, count=1)
        return f"{x}{prev_q}"
    if not x:
        return prev_q
    # "那残疾人呢？": the previous question about someone or something else
    base = prev_q.rstrip("？?。")
    return f"{base}（{x}）？"
