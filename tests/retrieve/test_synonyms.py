"""Everyday words → the documents' words (qa/data/terms.toml)."""

from __future__ import annotations

from qa.retrieve.synonyms import expand, official_terms


def test_everyday_words_bring_the_official_terms():
    assert {"养犬", "犬只"} <= set(official_terms("我家养狗要办证吗"))
    assert expand("我家养狗要办证吗").startswith("我家养狗要办证吗 ")  # the question itself is kept


def test_a_short_word_inside_a_longer_one_means_something_else():
    assert "补贴" in official_terms("设备投资能补多少")
    assert "补贴" not in official_terms("超出的部分要补交土地价款吗")  # 补交 pays what is owed
    assert "补贴" in official_terms("补交了材料还能拿补助吗，能补多少")  # … unless 补 is also asked on its own
    assert "奖励" not in official_terms("孩子拿了奖状")


def test_fines_kept_by_the_office_are_the_documents_罚没收入():
    terms = set(official_terms("城管罚的款是不是能留在他们单位自己花"))
    assert {"罚没收入", "部门利益"} <= terms


def test_a_licence_sent_home_and_a_benefit_had_before_are_the_documents_words():
    assert {"免费邮寄", "快递送达"} <= set(official_terms("办下来的证能不能直接寄到家里"))
    assert "重复享受" in set(official_terms("已经享受过别的优惠了，还能再申请吗"))
    assert {"垫付", "抢救费用"} <= set(official_terms("救助基金最多能垫多少医药费"))


def test_applying_oneself_is_asked_of_免于申报(assistant):
    assert {"免于申报", "免申即享"} <= set(official_terms("这笔补助要我们企业自己去申报吗"))
    # … and the article saying the benefit comes without an application answers it
    ans = assistant.ask("重点项目扶持资金是不是得我们自己整理材料交上去？")
    assert "免申即享" in ans.text, ans.text


def test_setting_fire_to_something_is_the_documents_焚烧():
    # "一把火烧了" / "点火烧" say what "禁止露天焚烧秸秆" forbids
    assert {"露天焚烧", "焚烧"} <= set(official_terms("麦茬太多，点火烧掉行吗"))
    assert "露天焚烧" in official_terms("地头的杂草一把火烧了省事")
    assert "焚烧" not in official_terms("烧水做饭")
