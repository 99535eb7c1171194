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


def test_a_name_that_is_also_a_word_is_no_place():
    # 惠民医疗 is no 惠民县, 全市中小企业 no 市中区: such a question is not declined for a place it never named
    for q in ("全市中小企业有什么扶持", "城市中心的老旧小区", "高密度住宅", "惠民医疗市里和区里的出资比例", "平原地区的农田", "过街天桥谁管"):
        assert uncovered_places(q, REGIONS) == [], q
    # … while the place with its suffix, or with its city before it, still is one
    assert uncovered_places("惠民县的低保标准", REGIONS) == ["惠民"]
    assert uncovered_places("滨州惠民的养老", REGIONS) == ["滨州", "惠民"]
    assert uncovered_places("济南市中区有啥政策", REGIONS) == ["济南", "市中"]
    assert uncovered_places("在高密上班", REGIONS) == ["高密"]
