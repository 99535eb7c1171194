"""Which places a question names that the collection covers (qa/data/places.toml)."""

from __future__ import annotations

from qa.retrieve.places import uncovered_places

REGIONS = ["招远市", "临沂市兰山区", "淄博市周村区", "青岛市"]


def test_places_outside_are_reported():
    assert uncovered_places("北京的公积金贷款额度是多少", REGIONS) == ["北京"]
    assert uncovered_places("济南市历下区禁止卖活禽吗", REGIONS) == ["济南", "历下"]
    assert uncovered_places("淄博张店区有什么政策", REGIONS) == ["张店"]  # another district of a covered city
    assert uncovered_places("临沂罗庄区", REGIONS) == ["罗庄"]


def test_places_inside_or_around_a_region_are_covered():
    for q in ("黄岛区能卖活禽吗", "市南区能卖活鸡吗", "烟台养狗要登记吗", "周村区稳增长", "兰山区", "淄博市周村区"):
        assert uncovered_places(q, REGIONS) == [], q
