"""Place names a question may mention, to notice when it asks about a region the corpus lacks.

A question about 济南市历下区 must not be answered from 兰山区's policy just because the topic
matches: parallel policies of different districts carry different figures.
"""

from __future__ import annotations

import re

# Shandong's cities and their districts/counties, plus the largest cities elsewhere.
_SHANDONG = {
    "济南": "历下 市中 槐荫 天桥 历城 长清 章丘 济阳 莱芜 钢城 平阴 商河",
    "青岛": "市南 市北 黄岛 崂山 李沧 城阳 即墨 胶州 平度 莱西 西海岸",
    "淄博": "淄川 张店 博山 临淄 周村 桓台 高青 沂源",
    "枣庄": "薛城 峄城 台儿庄 山亭 滕州",
    "东营": "东营区 河口 垦利 利津 广饶",
    "烟台": "芝罘 福山 牟平 莱山 蓬莱 龙口 莱阳 莱州 招远 栖霞 海阳",
    "潍坊": "潍城 寒亭 坊子 奎文 青州 诸城 寿光 安丘 高密 昌邑 临朐 昌乐",
    "济宁": "任城 兖州 曲阜 邹城 微山 鱼台 金乡 嘉祥 汶上 泗水 梁山",
    "泰安": "泰山区 岱岳 新泰 肥城 宁阳 东平",
    "威海": "环翠 文登 荣成 乳山",
    "日照": "东港 岚山 五莲 莒县",
    "临沂": "兰山 罗庄 河东 沂南 郯城 沂水 兰陵 费县 平邑 莒南 蒙阴 临沭",
    "德州": "德城 陵城 禹城 乐陵 宁津 庆云 临邑 齐河 平原 夏津 武城",
    "聊城": "东昌府 茌平 临清 阳谷 莘县 东阿 冠县 高唐",
    "滨州": "滨城 沾化 邹平 惠民 阳信 无棣 博兴",
    "菏泽": "牡丹区 定陶 曹县 单县 成武 巨野 郓城 鄄城 东明",
}
_OTHER = "北京 上海 天津 重庆 广州 深圳 杭州 南京 苏州 武汉 成都 西安 郑州 长沙 合肥 沈阳 大连 哈尔滨 石家庄 太原 厦门 福州 宁波 无锡 昆明 南宁 贵阳 兰州 乌鲁木齐 呼和浩特 香港 澳门 台北"

PLACES: list[str] = sorted(
    {c for c in _SHANDONG} | {d for ds in _SHANDONG.values() for d in ds.split()} | set(_OTHER.split()),
    key=len,
    reverse=True,
)
_PATTERN = re.compile("|".join(map(re.escape, PLACES)))


def mentioned_places(text: str) -> list[str]:
    return list(dict.fromkeys(_PATTERN.findall(text)))


def unknown_places(question: str, corpus_text: str) -> list[str]:
    """Places the question names that appear nowhere in the corpus."""
    return [p for p in mentioned_places(question) if p not in corpus_text]
