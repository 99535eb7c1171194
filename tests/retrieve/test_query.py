"""QueryAnalyzer on the real corpus metadata: regions, document numbers, titles, normalisation."""

from __future__ import annotations

import pytest

from qa.models import Filters
from qa.retrieve.query import QueryAnalyzer, _in_order, merge_filters, normalize_question, number_key


@pytest.fixture(scope="module")
def analyzer(corpus) -> QueryAnalyzer:
    return QueryAnalyzer(corpus.documents)


@pytest.fixture(scope="module")
def doc_by_number(corpus):
    return {d.number: d for d in corpus.documents if d.number}


@pytest.mark.parametrize(
    "question, region",
    [
        ("兰山区的小学几岁能报名？", "临沂市兰山区"),
        ("在兰山开饭店房租能减免吗", "临沂市兰山区"),
        ("临沂这边防汛应急响应谁启动", "临沂市兰山区"),
        ("周村老旧小区改造什么时候完工", "淄博市周村区"),
        ("招远养狗要登记吗", "招远市"),
        ("青岛活禽交易市场休市", "青岛市"),
        ("义堂镇飞线整治谁负责", "临沂市兰山区"),
    ],
)
def test_named_region_becomes_a_hard_filter(analyzer, question, region):
    a = analyzer.analyze(question)
    assert a.filters.regions == [region]
    assert region in analyzer.regions  # derived from the documents, not invented


def test_region_aliases_come_from_the_corpus(analyzer, corpus):
    assert set(analyzer.regions) == {d.region for d in corpus.documents if d.region}
    # a city outside the corpus is reported, not filtered to nothing or mapped to another city
    a = analyzer.analyze("济南市历下区对高校毕业生有租房补贴吗？")
    assert a.filters.regions == []
    assert any(p.startswith("济南") for p in a.other_places)
    # "淄博张店区" is another district of 淄博, not 周村
    b = analyzer.analyze("淄博张店区老旧小区加装电梯补多少")
    assert b.filters.regions == []
    assert "淄博张店区" in b.other_places
    # 招远市's name does not say its city (places.toml does): a question about 烟台 is asked of 招远's documents,
    # as one about 临沂 is of 兰山's, and 烟台's other districts stay outside the collection
    c = analyzer.analyze("俺老家是烟台的，烟台那边交通事故救助基金丧葬费最多能垫多少？")
    assert c.filters.regions == ["招远市"] and c.other_places == []
    assert "芝罘" in "".join(analyzer.analyze("烟台芝罘区养狗要登记吗").other_places)


@pytest.mark.parametrize(
    "written",
    ["招政发〔2022〕8号", "招政发[2022]8号", "招政发 2022 8号", "招政发（2022）8号", "招政发【2022】第8号", "招政发2022年8号",
     "招政发[2022]8 ", "招政发〔2022〕8",  # 号 left out: the bracketed year says it is a number
     "招政发2022 8 "],  # no brackets, no 号: year and number apart, and an indexed number
)
def test_document_number_variants_restrict_to_that_document(analyzer, doc_by_number, written):
    a = analyzer.analyze(f"{written}里研发投入怎么补贴？")
    assert a.filters.doc_ids == [doc_by_number["招政发〔2022〕8号"].doc_id]
    assert a.filters.regions == []  # the document decides; no competing region filter
    assert a.numbers == ["招政发〔2022〕8号"]


def test_order_number_and_unknown_number(analyzer, doc_by_number):
    a = analyzer.analyze("青岛市人民政府令第279号从哪天施行")
    assert a.filters.doc_ids == [doc_by_number["青岛市人民政府令第279号"].doc_id]
    b = analyzer.analyze("国发〔2017〕46号文件是什么")
    assert b.filters.doc_ids == []
    assert b.unknown_numbers
    c = analyzer.analyze("招政发〔2022〕81 讲了什么")  # without 号 only an indexed number counts, no false 8号
    assert c.filters.doc_ids == [] and c.unknown_numbers == []
    d = analyzer.analyze("兰山2022 15个村有补贴吗")  # a year and a count, no document: the region stays
    assert d.filters.doc_ids == [] and d.filters.regions == ["临沂市兰山区"]


def test_unknown_numbers_are_written_canonically_and_only_when_they_are_numbers(analyzer):
    # the words before the prefix are not part of it; square brackets become 〔〕
    assert analyzer.analyze("俺想问下招政发[2022]30号讲了啥").unknown_numbers == ["招政发〔2022〕30号"]
    assert analyzer.analyze("青岛市人民政府令第281号是关于什么的").unknown_numbers == ["青岛市人民政府令第281号"]
    # nor are the words that carry it out (落实, 贯彻, 执行)
    assert analyzer.analyze("周村区落实国发〔2017〕46号取消了几项").unknown_numbers == ["国发〔2017〕46号"]
    assert analyzer.analyze("招远贯彻鲁政发[2021]9号怎么办").unknown_numbers == ["鲁政发〔2021〕9号"]
    # a shortened prefix of an indexed number is that number, not an unknown one
    assert analyzer.analyze("市政府令第280号何时起施行？").unknown_numbers == []
    # a date is no document number
    assert analyzer.analyze("孩子2015年3号出生能上小学吗").unknown_numbers == []


def test_a_number_written_after_another_without_its_prefix_and_year(analyzer, doc_by_number):
    both = [doc_by_number["周政办字〔2017〕145号"].doc_id, doc_by_number["周政办字〔2017〕146号"].doc_id]
    a = analyzer.analyze("营商环境方案（周政办字〔2017〕145号）和“一窗受理”方案（146号）对证照发放规定一样吗？")
    assert a.filters.doc_ids == both and a.intent.kind == "comparison"
    assert analyzer.analyze("周政办字[2017]145号、146号有啥不同").filters.doc_ids == both
    # a day of the month, a number no document of that prefix and year has, or one before the full number: not a document
    for q in ("周政办字〔2017〕145号要求146号前报送", "周政办字〔2017〕145号6月146号施行吗", "周政办字〔2017〕145号和999号",
              "146号和周政办字〔2017〕145号"):
        assert analyzer.analyze(q).filters.doc_ids == both[:1], q
    # a number written without brackets or 号 abbreviates nothing after it (and breaks nothing)
    assert analyzer.analyze("招政发2022 8 和9号有啥不同").numbers == ["招政发〔2022〕8号"]


def test_number_key_normalises_brackets_and_width():
    assert number_key("招政发〔2022〕8号") == number_key("招政发[２０２２]８号") == ("招政发", "2022", "8")
    assert number_key("青岛市人民政府令第279号") == ("青岛市人民政府令", "", "279")
    assert number_key("没有文号") is None


def test_title_is_a_boost_not_a_filter(analyzer, doc_by_number):
    target = doc_by_number["临兰政办发〔2022〕11号"]  # 兰山区政府投资项目变更管理办法
    a = analyzer.analyze("兰山区政府投资项目变更管理办法什么时候施行？")
    assert target.doc_id in a.boosts
    assert target.doc_id not in a.filters.doc_ids
    quoted = analyzer.analyze("《烟台市养犬管理条例》在招远怎么落实")
    dog = doc_by_number["招政办字〔2022〕2号"]
    assert quoted.boosts.get(dog.doc_id) == 1.0
    assert not any(p.startswith("烟台") for p in quoted.other_places)  # inside a quoted title


def test_a_title_said_with_words_left_out_names_its_document_for_a_question_about_the_document(analyzer):
    # "…稳中求进政策清单…" for "…“稳中求进”高质量发展政策清单…": too few of the title's bigrams to name it, but its
    # words in order; a question about the document itself names it, one asking a detail only leans on it
    title = "周村区落实省2022年“稳中求进”高质量发展政策清单（第一批）实施方案汇编"
    doc = next(d for d in analyzer.documents if d.title == title)
    about = analyzer.analyze("周村落实省里2022年稳中求进政策清单第一批实施方案汇编是谁印发的")
    assert about.intent.kind == "by-doc" and about.named_documents == [doc.doc_id]
    detail = analyzer.analyze("周村落实省里2022年稳中求进政策清单第一批实施方案汇编里数据中心建得怎么样")
    assert doc.doc_id in detail.boosts and detail.named_documents == []
    # the measure: the title's characters said in order, in runs of two or more (a lone character is chance)
    assert _in_order("落实省稳中求进高质量发展政策清单汇编", "落实省稳中求进政策清单汇编") == 13 / 18
    assert _in_order("政策清单汇编", "政x策x清x单") == 0.0


def test_unrelated_question_has_no_boost(analyzer):
    a = analyzer.analyze("今天天气怎么样")
    assert a.boosts == {} and a.filters.is_empty()


def test_normalize_question():
    assert normalize_question("請問，臨沂蘭山區的補貼是多少？") == "临沂兰山区的补贴是多少?"
    assert normalize_question("你好，我想问一下啥时候开始施行，谢谢") == "什么时候开始施行"
    assert normalize_question("补贴１２３万元") == "补贴123万元"
    assert normalize_question("请问") == "请问"  # nothing left: keep the original rather than an empty query


def test_merge_filters_explicit_wins():
    inferred = Filters(regions=["青岛市"])
    assert merge_filters(None, inferred).regions == ["青岛市"]
    explicit = Filters(regions=["招远市"], date_from="2022-01-01")
    merged = merge_filters(explicit, inferred)
    assert merged.regions == ["招远市"] and merged.date_from == "2022-01-01"
    # an explicit document makes an inferred region irrelevant
    assert merge_filters(Filters(doc_ids=["x"]), inferred).regions == []
