"""The simple thing every report compares against: quote the two best retrieved articles whole.

`qa eval --config quote-top2` answers this way (Settings.answerer = "quote-top2"); an answerer
that holds fewer of the facts than this baseline is not done.
"""

from __future__ import annotations

from qa.answer.citations import citation_for, defuse_markers
from qa.models import Citation, Hit


class QuoteTopAnswerer:
    def __init__(self, n: int = 2) -> None:
        self.n = n

    def run(self, hits: list[Hit]) -> tuple[str, list[Citation]]:
        lines, citations = [], []
        for i, hit in enumerate(hits[: self.n], 1):
            d, c = hit.document, hit.chunk
            lines.append(f"《{d.title}》{c.locator}：{defuse_markers(c.text.strip())}[{i}]")
            citations.append(citation_for(i, c, d, c.text))
        return "\n".join(lines), citations
