"""Everyday words → the words the documents use (狗 → 犬, 办证 → 登记, 房租 → 租金).

People ask "我家狗要办证吗？"; the 招远 opinion says 犬只登记. One table serves two places:
`expand` appends the official terms to the question (so the dense query and the sentence
scorer see them; the question itself is kept), and `qa.retrieve.lexical.LexicalQuery` adds
those of them that are indexed terms to the BM25 query.
"""

from __future__ import annotations

OFFICIAL_TERMS: dict[str, tuple[str, ...]] = {
    "狗": ("犬", "犬只", "养犬"),
    "办狗证": ("犬只登记",),
    "办证": ("登记", "办理"),
    "遛狗": ("携犬出户",),
    "鸡鸭": ("活禽",),
    "活鸡": ("活禽",),
    "卖鸡": ("活禽交易",),
    "卖活禽": ("活禽交易",),
    "哪些地方": ("区域", "范围"),
    "哪里不能": ("禁止", "区域"),
    "不能": ("禁止", "不得"),
    "不让": ("禁止", "不得"),
    "罚": ("罚款", "处罚"),
    "补": ("补贴", "补助"),
    "奖": ("奖励",),
    "补多少": ("补助", "补贴", "奖励"),
    "给多少钱": ("补助", "补贴", "奖励"),
    "孩子": ("儿童", "子女"),
    "小孩": ("儿童", "子女"),
    "老人": ("老年人",),
    "上学": ("入学", "招生"),
    "上小学": ("小学", "入学", "招生"),
    "上幼儿园": ("幼儿园", "招生"),
    "看病": ("就医", "医疗"),
    "房租": ("租金", "租赁"),
    "工资": ("薪酬",),
    "拖欠工资": ("欠薪", "拖欠农民工工资"),
    "欠工资": ("欠薪", "拖欠农民工工资"),
    "买房": ("购房",),
    "开店": ("经营",),
    "开公司": ("企业开办",),
    "大学生": ("高校毕业生",),
    "毕业生": ("高校毕业生",),
    "退休": ("养老",),
    "养老金": ("养老保险",),
    "交社保": ("缴费", "社会保险"),
    "放鞭炮": ("燃放烟花爆竹",),
    "放烟花": ("燃放烟花爆竹",),
    "盖房子": ("建设",),
    "淹死": ("溺水",),
    "游泳": ("溺水", "水域"),
    "多长时间": ("时长", "期限"),
    "多久": ("期限", "时限"),
}


def official_terms(question: str, table: dict[str, tuple[str, ...]] | None = None) -> list[str]:
    """The official terms for the everyday words in `question`, de-duplicated, in table order."""
    table = OFFICIAL_TERMS if table is None else table
    return list(dict.fromkeys(t for word, terms in table.items() if word in question for t in terms))


def expand(question: str) -> str:
    """The question with the official terms it does not already contain appended."""
    extra = [t for t in official_terms(question) if t not in question]
    return question if not extra else question + " " + " ".join(extra)
