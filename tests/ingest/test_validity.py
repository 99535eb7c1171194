"""Validity facts of every seed document, and status / warnings on a date, against the real seeds.

The table was made by reading the closing articles (附则, the last paragraphs) and the covering
notice of each of the 78 documents (and the gazette's list of appointments, a 79th item), and by searching each for 施行 / 实施 / 执行 / 之日起 /
有效期 / 废止 / 失效 / 试行 / 暂行 / 解释 / 修改. 14 documents state an effective date or a
term; the other 64 state neither (their dates about other things — "《条例》于2022年1月1日起施行",
"许可证…有效期延长至2018年12月31日", "管理期限为3年", "聘期3年", the 2022年7月1日至8月31日
攻坚行动, the 2022年1月1日起实施 of the province's policy list — are not the document's own term).
"""

from __future__ import annotations

import copy
from collections import Counter

import pytest

from qa.ingest import ingest_paths
from qa.ingest.validity import (
    add_term,
    annotate_answer,
    asks_about_validity,
    citation_validity,
    department,
    is_in_force,
    parse_validity,
    status,
    validity_notes,
    validity_statement,
    warning,
)
from qa.models import Citation, Document, Validity

# (发文字号, or the title of the one document without one) → effective, expiry, repeals
TABLE = [
    # 000 招远市人民政府公报
    ("招政发〔2022〕8号", "2022-02-07", "2025-02-06", []),  # 五、3. 本意见自公布之日起实施，有效期三年。
    ("招政发〔2022〕9号", "2022-02-07", "2025-02-06", []),  # 本意见自公布之日起实施，有效期3年，由…工业和信息化局负责解释。
    ("招政发〔2022〕10号", "2022-02-07", "2027-02-06", []),  # 六、（一）本意见自公布之日起实施，有效期五年。(修订版)
    ("招政发〔2022〕11号", "2022-02-07", "2025-02-06", ["招政发〔2018〕27号"]),  # 第十条 …自印发之日起执行, 有效期三年, 《…》(招政发〔2018〕27 号)同时废止
    ("招政发〔2022〕16号", None, None, []),  # “十四五”规划: no term
    ("招政办发〔2022〕3号", None, None, []),
    ("招政办字〔2022〕2号", None, None, []),  # 2022年1月1日 is the 条例's date, not this 意见's
    ("招政办字〔2022〕3号", None, None, []),
    ("招政办字〔2022〕4号", "2022-02-06", "2025-02-05", []),  # 本办法自印发之日起施行，有效期三年。
    ("招政办字〔2022〕10号", None, None, []),
    ("招政办发〔2022〕7号", None, None, []),
    # 001 临沂市兰山区
    ("临兰政办发〔2022〕11号", "2022-10-01", "2025-09-30", []),  # 第十三条 本办法自2022年10月1日起实施,有效期至2025年9月30日。
    ("临兰政办字〔2022〕43号", None, None, []),
    ("临兰政办字〔2022〕33号", None, None, []),
    ("临兰政字〔2022〕37号", None, None, []),
    ("临兰政字〔2022〕36号", None, None, []),
    ("临兰政办字〔2022〕36号", None, None, []),
    ("临兰政字〔2022〕35号", None, None, []),
    ("临兰政办字〔2022〕35号", None, None, []),
    ("临兰政字〔2022〕34号", None, None, []),  # 规划期限为2022-2035年: the village plan's period, not a term
    ("临兰政字〔2022〕33号", None, None, []),
    ("临兰政字〔2022〕32号", None, None, []),
    ("临兰政字〔2022〕31号", None, None, []),
    ("临兰政字〔2022〕30号", None, None, []),
    ("临兰文旅发〔2022〕146号", None, None, []),
    ("汪政发〔2022〕61号", None, None, []),
    ("临兰政办字〔2022〕47号", None, None, []),
    ("临兰政办发〔2022〕7号", None, None, []),
    ("临兰司发〔2022〕15号", None, None, []),
    ("临兰政办字〔2022〕30号", None, None, []),
    ("临兰统字〔2022〕9号", None, None, []),
    ("义政发〔2022〕30号", None, None, []),
    ("方政发〔2022〕87号", None, None, []),  # 从2022年7月1日至8月31日…攻坚行动: an action period, not a term
    # two dates: 第十九条 本暂行办法自公布之日起实施 (2022-06-30), and, added by the 2024 clean-up
    # (临兰政办字〔2024〕19号, "此文件有修改"), 第二十条 本暂行办法自2024年7月31日起施行,有效期至2029年7月30日。
    ("临兰政办发〔2022〕8号", "2022-06-30", "2029-07-30", []),
    ("临兰政办字〔2022〕26号", "2022-06-23", None, ["临兰政办字〔2020〕35号"]),  # 10.3 本预案自印发之日起实施,《…》(临兰政办字〔2020〕35号)同时废止。
    ("兰人社发〔2022〕10号", None, None, []),
    ("临兰政办字〔2022〕24号", None, None, []),
    ("临兰政办字〔2022〕29号", None, None, []),
    ("临兰政发〔2022〕2号", None, None, []),
    ("临兰政办发〔2022〕3号", None, None, []),  # single measures run 至2022/2023/2024年…; the notice states no term
    # 002 周村区
    ("周政发〔2017〕62号", None, None, []),
    ("周政发〔2017〕63号", None, None, []),
    ("周政发〔2017〕71号", None, None, []),  # 改革过渡期 to 2017-12-31; 许可证有效期延长至2018年12月31日
    ("周政发〔2017〕72号", None, None, []),
    ("周政字〔2017〕41号", None, None, []),
    ("周政字〔2017〕44号", None, None, []),
    ("周政字〔2017〕52号", None, None, []),  # 首席技师管理期限为3年
    ("周政办发〔2017〕15号", None, None, []),
    ("周政办字〔2017〕126号", None, None, []),
    ("周政办字〔2017〕130号", None, None, []),
    ("周政办字〔2017〕131号", "2017-11-01", "2019-09-30", []),  # 本实施办法自 2017 年 11 月 1 日起施行，有效期至 2019 年 9 月 30 日。(dated 11-17)
    ("周政办字〔2017〕136号", None, None, []),
    ("周政办字〔2017〕138号", None, None, []),
    ("周政办字〔2017〕143号", None, None, []),
    ("周政办字〔2017〕144号", None, None, []),
    ("周政办字〔2017〕145号", None, None, []),
    ("周政办字〔2017〕146号", None, None, []),
    ("周政办字〔2017〕148号", None, None, []),
    ("周政办字〔2017〕152号", "2018-01-01", "2022-12-31", []),  # 本通知自2018年1月1日起施行，有效期至2022年12月31日。
    ("周政办字〔2017〕153号", "2017-12-21", None, []),  # 本办法由区水务局负责解释，自公布之日起施行。
    ("周政办字〔2017〕154号", None, None, []),
    ("周政办字〔2017〕156号", None, None, []),
    # 003 青岛市
    ("青岛市人民政府令第279号", "2020-11-01", None, []),  # 第十七条 本办法自2020年11月1日起施行。
    ("青岛市人民政府令第280号", "2020-11-01", None, []),  # 第二十六条 (traditional: 本辦法自2020年11月1日起施行)
    ("青政发〔2020〕12号", None, None, []),
    ("青政发〔2020〕13号", None, None, []),
    ("青政字〔2020〕23号", None, None, []),  # 法律顾问聘期 2020-10-01—2023-09-30
    # 第三十四条 本办法自2020年8月1日起施行，有效期至2025年7月31日。The notice: 2015年8月5日印发的
    # 《…》（青政办发〔2015〕17号）同時廢止。
    ("青政办发〔2020〕12号", "2020-08-01", "2025-07-31", ["青政办发〔2015〕17号"]),
    ("青政办发〔2020〕16号", None, None, []),
    ("青政办发〔2020〕17号", None, None, []),
    ("青政办字〔2020〕71号", None, None, []),
    ("青政办字〔2020〕77号", None, None, []),
    ("青政办字〔2020〕82号", None, None, []),
    ("青政办字〔2020〕83号", None, None, []),
    ("青政办字〔2020〕84号", None, None, []),
    ("青政办字〔2020〕86号", None, None, []),
    ("青政办字〔2020〕87号", None, None, []),
    ("近期市政府任免的工作人员名单", None, None, []),  # the gazette's list of appointments after the last document
    # 004 周村区 compilation (no 发文字号); "2022年起实施的新政策清单…从2022年1月1日起实施" is the province's list
    ("周村区落实省2022年“稳中求进”高质量发展政策清单（第一批）实施方案汇编", None, None, []),
]

PROVISIONAL = {"临兰政办发〔2022〕8号", "周政办字〔2017〕131号", "青岛市人民政府令第280号"}  # 暂行 / 试行 in the title

INTERPRETERS = {
    "招政发〔2022〕8号": "招远市工业和信息化局",
    "招政发〔2022〕9号": "招远市工业和信息化局",
    "招政发〔2022〕10号": "市生物医药产业园工作指挥部办公室",
    "招政发〔2022〕11号": "市发改局",
    "临兰文旅发〔2022〕146号": "兰山区文化和旅游局",
    "临兰政办字〔2022〕26号": "区防指办公室",
    "临兰政发〔2022〕2号": "兰山区妇女儿童工作委员会",
    "周政办字〔2017〕153号": "区水务局",
    "青政办发〔2020〕12号": "市财政局、市公安局",
}


def _key(d: Document) -> str:
    return d.number or d.title


@pytest.fixture(scope="module")
def docs(corpus) -> dict[str, Document]:
    out = {_key(d): d for d in corpus.documents}
    assert len(out) == len(corpus.documents) == 79
    return out


def test_table_covers_every_seed_document(docs):
    assert [row[0] for row in TABLE] == list(docs)  # same documents, in corpus order


def test_validity_table(docs):
    wrong = []
    for key, effective, expiry, repeals in TABLE:
        v = docs[key].validity
        got = (v.effective_date, v.expiry_date, v.repeals)
        if got != (effective, expiry, repeals):
            wrong.append(f"{key}: got {got}, expected {(effective, expiry, repeals)}")
        d = docs[key]
        assert (d.effective_date, d.expiry_date) == (v.effective_date, v.expiry_date)  # the flat copies agree
    assert not wrong, "\n".join(wrong)


def test_provisional_and_interpreters(docs):
    assert {k for k, d in docs.items() if d.validity.provisional} == PROVISIONAL
    assert {k: d.validity.interpreter for k, d in docs.items() if d.validity.interpreter} == INTERPRETERS


def test_statuses_on_2026_12_01(docs):
    counts = Counter(status(d.validity, "2026-12-01") for d in docs.values())
    assert counts == {"unknown": 65, "expired": 8, "in_force": 6}
    in_force = {k for k, d in docs.items() if status(d, "2026-12-01") == "in_force"}
    assert in_force == {
        "招政发〔2022〕10号",  # to 2027-02-06
        "临兰政办发〔2022〕8号",  # to 2029-07-30
        "临兰政办字〔2022〕26号",
        "周政办字〔2017〕153号",
        "青岛市人民政府令第279号",
        "青岛市人民政府令第280号",
    }


def test_as_of_changes_the_verdict(docs):
    d = docs["招政发〔2022〕8号"]
    assert status(d.validity, "2023-06-01") == "in_force"
    assert status(d.validity, "2026-12-01") == "expired"
    assert status(d.validity, "2022-02-06") == "not_yet_effective"
    assert status(d.validity, "2025-02-06") == "in_force"  # the last day of the three years
    assert status(d.validity, "2025-02-07") == "expired"
    expired_2023 = {k for k, x in docs.items() if status(x, "2023-06-01") == "expired"}
    assert expired_2023 == {"周政办字〔2017〕131号", "周政办字〔2017〕152号"}  # 2019-09-30 and 2022-12-31
    assert status(docs["周政办字〔2017〕152号"], "2022-12-31") == "in_force"
    assert status(docs["周政办字〔2017〕152号"], "2023-01-01") == "expired"
    # nothing is in force before it is issued, even when it states no term
    assert status(docs["招政发〔2022〕16号"], "2021-12-31") == "not_yet_effective"
    assert status(docs["招政发〔2022〕16号"], "2026-12-01") == "unknown"
    assert is_in_force(docs["招政发〔2022〕16号"], "2026-12-01") and not is_in_force(d, "2026-12-01")


def test_document_with_two_dates(docs):
    """临兰政办发〔2022〕8号: in force since publication in 2022, revised text from 2024-07-31."""
    d = docs["临兰政办发〔2022〕8号"]
    v = d.validity
    assert [(r.effective_date, r.by) for r in v.revisions] == [("2024-07-31", "临兰政办字〔2024〕19号")]
    assert "此文件有修改" in v.revisions[0].note
    assert status(v, "2023-06-01") == "in_force"  # not "not yet effective": the 2022 text applied
    assert status(v, "2029-07-30") == "in_force" and status(v, "2029-07-31") == "expired"
    assert v.term == "本暂行办法自公布之日起实施。本暂行办法自2024年7月31日起施行,有效期至2029年7月30日。"
    notes = validity_notes([d], "2023-06-01")
    assert notes == [
        "提示：收录的该办法是2024年7月31日起施行的修改后文本（临兰政办字〔2024〕19号），2023年6月1日时适用的是修改前的文本。"
    ]
    assert validity_notes([d], "2026-12-01") == []


def test_warning_names_the_interpreting_department(docs):
    d = docs["招政发〔2022〕8号"]
    assert warning(d, "2026-12-01") == (
        "注意：该意见有效期至2025年2月6日，截至2026年12月1日已过有效期，现行政策请向招远市工业和信息化局咨询。"
    )
    assert warning(d, "2023-06-01") is None
    named = warning(docs["青政办发〔2020〕12号"], "2026-12-01", named=True, markers="[2]")
    assert named == (
        "注意：《青岛市道路交通事故社会救助基金管理办法》（青政办发〔2020〕12号）[2]有效期至2025年7月31日，"
        "截至2026年12月1日已过有效期，现行政策请向青岛市财政局、青岛市公安局咨询。"
    )
    assert department(docs["招政发〔2022〕11号"]) == "招远市发改局"
    assert department(docs["周政办字〔2017〕153号"]) == "周村区水务局"
    assert department(docs["临兰政办字〔2022〕26号"]) == "兰山区防指办公室"
    assert department(docs["招政办字〔2022〕4号"]) == "招远市人民政府办公室"  # names none: the issuer


def test_validity_statement_quotes_the_article(docs):
    s = validity_statement(docs["招政发〔2022〕8号"], "2023-06-01")
    assert s == "该意见自2022年2月7日起施行，有效期至2025年2月6日，截至2023年6月1日仍在有效期内（五、2.–3.：“本意见自公布之日起实施，有效期三年。”）。"
    s = validity_statement(docs["青岛市人民政府令第279号"], "2026-12-01")
    assert s.startswith("该办法自2020年11月1日起施行，文件未规定有效期") and "第十七条" in s
    s = validity_statement(docs["青政发〔2020〕12号"], "2026-12-01")
    assert "未载明施行日期和有效期" in s and "青岛市人民政府" in s


def test_validity_questions():
    for q in ("招远那个黄金深加工扶持意见现在还能申请吗？", "青岛活禽交易管理办法有没有到期时间？", "这个办法还有效吗",
              "有效期到什么时候", "什么时候开始施行？", "是不是已经废止了", "这办法啥时候开始施行，管到哪年？",
              "方城镇吉乐庄村那个村庄规划管到哪一年？现在还作数不？"):
        assert asks_about_validity(q), q
    for q in ("新上黄金深加工项目，设备投资能补多少？", "我家狗要办证吗？", "活禽市场哪天休市"):
        assert not asks_about_validity(q), q


def test_period_ended_hint_for_documents_without_a_term(docs):
    d = docs["招政办字〔2022〕10号"]  # 招远市2022年居民养老保险征缴工作实施方案
    assert (d.validity.period, d.validity.period_end) == ("2022年度", "2022-12-31")
    assert status(d, "2026-12-01") == "unknown"
    assert validity_notes([d], "2022-06-01") == []
    (note,) = validity_notes([d], "2026-12-01")
    assert note.startswith("提示：该方案未载明有效期，其针对的是2022年度，截至2026年12月1日已经结束")
    assert docs["招政发〔2022〕16号"].validity.period == "“十四五”时期（2021—2025年）"
    assert docs["临兰政字〔2022〕34号"].validity.period_end == "2035-12-31"


def test_an_action_with_stated_dates_ends_with_them(docs):
    # "从2022年7月1日至8月31日,在全镇范围内开展为期两个月的…攻坚行动": no term of validity, but an end
    d = docs["方政发〔2022〕87号"]
    assert (d.validity.period, d.validity.period_end) == ("2022年7月1日至8月31日开展的工作", "2022-08-31")
    assert status(d, "2026-12-01") == "unknown"
    during = validity_statement(d, "2022-08-01")
    assert "一般继续适用" in during and "已经结束" not in during
    (note,) = validity_notes([d], "2026-12-01", question="防溺水攻坚行动现在还有效吗")
    assert "截至2026年12月1日已经结束" in note and "继续适用" not in note and note.count("已经结束") == 1


def test_repeal_of_an_indexed_document(tmp_path, seeds_dir):
    """A later document that says the 招远 意见 is repealed marks it, from its own effective date."""
    newer = tmp_path / "zy2024.txt"
    newer.write_text(
        "招远市人民政府\n关于印发《关于加快黄金深加工产业高质量发展的扶持意见》的通知\n招政发〔2024〕3号\n"
        "各镇人民政府：\n现印发给你们，请认真贯彻执行。\n招远市人民政府\n2024年1月10日\n"
        "关于加快黄金深加工产业高质量发展的扶持意见\n一、扶持政策\n对新上项目给予补助。\n"
        "二、其他\n本意见自2024年2月1日起施行，有效期三年，《关于加快黄金深加工产业发展的扶持意见》"
        "（招政发〔2022〕8号）同时废止。\n",
        encoding="utf-8",
    )
    result = ingest_paths([seeds_dir, newer])
    by = {d.number: d for d in result.documents}
    assert by["招政发〔2024〕3号"].validity.repeals == ["招政发〔2022〕8号"]
    old = by["招政发〔2022〕8号"].validity
    assert (old.repealed_by, old.repealed_on) == ("招政发〔2024〕3号", "2024-02-01")
    assert status(old, "2024-01-31") == "in_force"
    assert status(old, "2024-02-01") == "repealed"
    assert warning(by["招政发〔2022〕8号"], "2024-06-01") == (
        "注意：该意见已被招政发〔2024〕3号自2024年2月1日起废止，截至2024年6月1日不再有效，现行规定以招政发〔2024〕3号为准。"
    )
    assert citation_validity(by["招政发〔2022〕8号"], "2024-06-01") == {
        "status": "repealed",
        "effective_date": "2022-02-07",
        "expiry_date": "2025-02-06",
        "repealed_by": "招政发〔2024〕3号",
        "as_of": "2024-06-01",
    }


@pytest.mark.parametrize(
    "text, effective, expiry",
    [
        # another document's dates are not this one's
        ("《烟台市养犬管理条例》于2022年1月1日起施行。为贯彻《条例》，制定本实施意见。", None, None),
        ("根据《青岛市条例》（自2021年1月1日起施行），制定本办法。", None, None),
        ("对已公告的许可证，有效期至2018年12月31日。", None, None),
        # Chinese numerals, 两年, months, a range, a 令's preamble
        ("本办法自二〇二一年三月一日起施行，有效期两年。", "2021-03-01", "2023-02-28"),
        ("本通知自印发之日起执行，有效期6个月。", "2020-05-20", "2020-11-19"),
        ("本规定有效期自2020年1月1日至2021年12月31日。", None, "2021-12-31"),
        ("《X办法》已经市政府常务会议审议通过，现予公布，自2020年11月1日起施行。", "2020-11-01", None),
        ("本意见自公布之日起实施，有效期三年。", "2020-05-20", "2023-05-19"),
    ],
)
def test_parse_validity_sentences(text, effective, expiry):
    v = parse_validity(text, title="X办法", issued="2020-05-20")
    assert (v.effective_date, v.expiry_date) == (effective, expiry)


def test_add_term_edges():
    assert add_term("2022-02-07", years=3) == "2025-02-06"
    assert add_term("2020-02-29", years=1) == "2021-02-28"
    assert add_term("2021-08-31", months=6) == "2022-02-28"
    assert add_term("2021-01-01", months=12) == "2021-12-31"


def test_validity_survives_the_index_store_round_trip(docs):
    """The store writes Document.to_dict() as JSON and rebuilds Document(**row)."""
    import json

    d = docs["临兰政办发〔2022〕8号"]
    again = Document(**json.loads(json.dumps(d.to_dict(), ensure_ascii=False)))
    assert again == d and isinstance(again.validity, Validity)
    assert again.validity.revisions[0].by == "临兰政办字〔2024〕19号"


def test_annotate_answer_sets_citation_validity_and_appends_the_warning(corpus, docs):
    d = docs["招政发〔2022〕8号"]
    chunk = next(c for c in corpus.chunks if c.doc_id == d.doc_id and "20%" in c.text)

    class Store:
        doc_by_id = {x.doc_id: x for x in corpus.documents}
        chunks = corpus.chunks
        row_of = {c.chunk_id: i for i, c in enumerate(corpus.chunks)}

    class Ans:
        question = "新上黄金深加工项目，设备投资能补多少？"
        standalone_question = question
        text = "按设备投资的20%给予补助[1]。"
        citations = [Citation(1, chunk.chunk_id, d.title, d.number, chunk.locator, d.issuer, d.date, d.region, "20%", chunk.text)]

    a = Ans()
    extra = annotate_answer(a, Store(), "2026-12-01")
    assert extra == "\n\n注意：该意见[1]有效期至2025年2月6日，截至2026年12月1日已过有效期，现行政策请向招远市工业和信息化局咨询。"
    assert a.text.endswith(extra)
    assert a.citations[0].validity == {
        "status": "expired", "effective_date": "2022-02-07", "expiry_date": "2025-02-06", "repealed_by": None, "as_of": "2026-12-01"
    }
    b = Ans()
    b.citations = [copy.copy(Ans.citations[0])]
    assert annotate_answer(b, Store(), "2023-06-01") == ""
    assert b.citations[0].validity["status"] == "in_force"


def test_article_with_its_own_deadline(corpus, docs):
    """临兰政办发〔2022〕3号 states no term, but its measures do: 二、8. runs 至2024年12月31日."""
    from qa.ingest.validity import article_deadline, passage_validity

    d = docs["临兰政办发〔2022〕3号"]
    chunk = next(c for c in corpus.chunks if c.doc_id == d.doc_id and "城镇土地使用税,执行期限至2024年12月31日" in c.text)
    assert article_deadline(chunk.text) == "2024-12-31"
    assert passage_validity(d, chunk.text, "2023-06-01")["status"] == "unknown"
    after = passage_validity(d, chunk.text, "2026-12-01")
    assert (after["status"], after["expiry_date"], after["scope"]) == ("expired", "2024-12-31", "article")
    assert passage_validity(docs["招政发〔2022〕10号"], "执行期限至2024年12月31日", "2026-12-01")["status"] == "expired"
    assert passage_validity(docs["招政发〔2022〕8号"], "执行期限至2030年12月31日", "2026-12-01")["status"] == "expired"  # the document's own term wins
    assert article_deadline("本办法自2020年11月1日起施行。") is None
