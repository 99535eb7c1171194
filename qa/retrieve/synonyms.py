"""Colloquial words → the words the documents use (狗 → 犬, 办证 → 登记).

People ask "我家狗要办证吗？"; the 招远 opinion says 犬只登记. The official terms are appended
to the query, so both BM25 and the sentence scorer can match them; the question itself is kept.
"""

from __future__ import annotations

COLLOQUIAL: dict[str, str] = {
    "狗": "犬 犬只 养犬",
    "办狗证": "犬只登记",
    "办证": "登记 办理",
    "遛狗": "携犬出户",
    "鸡鸭": "活禽",
    "活鸡": "活禽",
    "卖鸡": "活禽交易",
    "罚多少": "罚款",
    "罚钱": "罚款",
    "补多少": "补助 补贴 奖励",
    "给多少钱": "补助 补贴 奖励",
    "能补": "补助 补贴",
    "上学": "入学 招生",
    "上小学": "小学 入学 招生",
    "上幼儿园": "幼儿园 招生",
    "开公司": "企业开办",
    "放鞭炮": "燃放烟花爆竹",
    "放烟花": "燃放烟花爆竹",
    "残疾人": "残疾人",
    "养老金": "养老保险",
    "交社保": "缴费 社会保险",
    "拖欠工资": "欠薪 拖欠农民工工资",
    "欠工资": "欠薪 拖欠农民工工资",
    "盖房子": "建设",
    "淹死": "溺水",
    "游泳": "溺水 水域",
}


def expand(question: str) -> str:
    """The question with the official terms for its colloquial words appended."""
    extra = [terms for word, terms in COLLOQUIAL.items() if word in question and terms not in question]
    return question if not extra else question + " " + " ".join(dict.fromkeys(extra))
