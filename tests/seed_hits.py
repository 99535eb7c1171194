"""Hits over the real text of seed articles, for tests of the answer stage that need no index."""

from __future__ import annotations

from qa.models import Chunk, Document, Hit
from support import ROOT

SEEDS = ROOT / "seeds"

ZHAOYUAN = dict(title="全市重点项目建设专项扶持资金补助办法", number="招政发〔2022〕11号",
                issuer="招远市人民政府", date="2022-02-07", region="招远市")  # fmt: skip
QINGDAO = dict(title="青岛市活禽交易管理办法", number="青岛市人民政府令第279号",
               issuer="青岛市人民政府", date="2020-09-11", region="青岛市")  # fmt: skip


def seed_hit(prefix: str, begin: str, end: str, rank: int = 0, **doc: str) -> Hit:
    """A Hit over the real text of one article in a seed file (begin…end markers)."""
    path = next(SEEDS.glob(prefix + "_*.txt"))
    raw = path.read_text(encoding="utf-8")
    s = raw.index(begin)
    e = raw.index(end, s)
    text = raw[s:e].strip()
    locator = begin.split()[0]
    doc_id = f"{prefix}-{doc.get('number', 'x')}"
    document = Document(doc_id=doc_id, source_file=path.name, start=0, end=len(raw), **doc)  # type: ignore[arg-type]
    chunk = Chunk(f"{doc_id}#{locator}", doc_id, locator, [document.title, locator], text, text, s, e)
    return Hit(chunk=chunk, document=document, score=1.0 / (rank or 1), rank=rank)


def three_hits() -> list[Hit]:
    """Two 招远 articles and one 青岛 article, ranked 1–3."""
    return [
        seed_hit("000", "第三条 专项扶持项目的资金扶持标准", "第四条 对我市", rank=1, **ZHAOYUAN),
        seed_hit("003", "第五条 活禽交易实行", "第六条 市场监管", rank=2, **QINGDAO),
        seed_hit("000", "第五条 为优化营商环境", "第六条 专项扶持资金", rank=3, **ZHAOYUAN),
    ]
