"""qa.data: knowledge kept as TOML files, and the patterns compiled from them."""

from __future__ import annotations

import re

import pytest

from qa import data
from qa.retrieve.places import gazetteer


def test_patterns_compile_one_table_and_fill_its_placeholders():
    term = data.patterns("slots.toml", "term")
    assert set(term) == {"ends", "after", "succession"}
    m = term["ends"].search("聘期3年，自2020年10月1日—2023年9月30日")
    assert m and m.groups() == ("2023", "9")
    ask = data.patterns("slots.toml", "local", district=gazetteer().district_alternation)["ask"]
    assert "{district}" not in ask.pattern
    assert ask.search("周村能拿到多少") and ask.search("兰山区能给多少钱")  # districts from places.toml, not named in slots.toml
    assert not ask.search("全市中小企业能补多少")  # 市中 of 济南 is a district, but here only part of a word


def test_districts_leave_out_names_that_are_also_words():
    names = set(gazetteer().district_names)
    assert {"周村", "兰山", "招远", "黄岛"} <= names
    assert not names & {"平原", "惠民", "市中", "高密"}  # places.toml [words]
    assert all(re.escape(n) == n for n in names)


def test_a_missing_data_file_is_a_clear_error():
    with pytest.raises(FileNotFoundError, match="nosuch.toml"):
        data.load("nosuch.toml")
