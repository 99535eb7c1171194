"""The coverage decision's hard rules, its model and the named-document guarantee."""

from __future__ import annotations

import json

import pytest

from qa.answer.coverage import after_term, later_year, only_totals, other_grants, other_year, quotes_above, sibling_subject
from qa.answer.evidence import ARTICLE_FEATURES, ArticleEvidence
from qa.answer.model import AnswerModels
from qa.models import Hit
from qa.retrieve.intent import Intent


def _doc_hits(corpus, number: str, n: int = 3) -> list[Hit]:
    docs = {d.doc_id: d for d in corpus.documents}
    chunks = [c for c in corpus.chunks if docs[c.doc_id].number == number][:n]
    assert chunks, number
    return [Hit(chunk=c, document=docs[c.doc_id], score=1.0, rank=i + 1) for i, c in enumerate(chunks)]


def test_other_year_names_the_year_and_the_document_found(corpus):
    hits = _doc_hits(corpus, "招政办字〔2022〕10号")  # 招远市2022年居民养老保险征缴工作实施方案
    year, title = other_year("招远2024年居民养老保险什么时候开始交？", hits)
    assert year == "2024" and "2022年居民养老保险" in title
    assert other_year("招远2022年居民养老保险什么时候开始交？", hits) is None  # the year it covers
    assert other_year("招远居民养老保险什么时候开始交？", hits) is None  # no year asked
    assert other_year("招远2024年居民养老保险什么时候开始交？", []) is None


def test_later_year_sees_a_year_before_or_after_what_the_documents_speak_of(corpus):
    # 青政办字〔2020〕86号 (智慧社区, 2020) sets targets for 2020–2022 and says nothing of 2018 or 2024
    docs = {d.doc_id: d for d in corpus.documents}
    target = next(c for c in corpus.chunks if docs[c.doc_id].number == "青政办字〔2020〕86号" and "建设目标" in c.text_simplified)
    cited = [ArticleEvidence(0, Hit(chunk=target, document=docs[target.doc_id], score=1.0, rank=1), 1.0, [], True)]
    assert later_year("2018年那会儿青岛有几个智慧社区？", cited) == "2018"  # before the document: not what it states
    assert later_year("2024年全市要建成多少智慧社区？", cited) == "2024"  # after its last target year
    assert later_year("2018年以来建了多少智慧社区？", cited) is None  # from then on: a later document may answer
    assert later_year("2021年城阳区要有多少社区建成智慧社区？", cited) is None  # a year the article speaks of
    assert later_year("全市要建成多少智慧社区？", cited) is None  # no year asked


def test_other_year_accepts_a_year_the_text_mentions(corpus):
    docs = {d.doc_id: d for d in corpus.documents}
    c = next(c for c in corpus.chunks if "2025年" in c.text_simplified and "2025" not in docs[c.doc_id].title)
    hits = [Hit(chunk=c, document=docs[c.doc_id], score=1.0, rank=1)]
    assert other_year("到2025年要达到多少？", hits) is None


def test_after_term_sees_a_question_about_who_comes_after_a_term_of_office(corpus):
    # 青政字〔2020〕23号 appoints advisers "聘期3年，自2020年10月1日—2023年9月30日"
    cited = [ArticleEvidence(0, h, 1.0, [], True) for h in _doc_hits(corpus, "青政字〔2020〕23号", 1)]
    assert after_term("2023年10月起新一届法律顾问有哪些人？", cited, "2026-12-05") == "2023年9月聘期届满"
    assert after_term("2024年的法律顾问名单", cited, "2026-12-05") == "2023年9月聘期届满"
    assert after_term("23年到期又换了一批，新聘的都有谁", cited, "2026-12-05") == "2023年9月聘期届满"
    assert after_term("23年到期又换了一批，新聘的都有谁", cited, "2022-01-01") is None  # the term still runs
    assert after_term("2022年的法律顾问有哪些人？", cited, "2026-12-05") is None  # within the term
    assert after_term("2023年9月法律顾问有哪些人？", cited, "2026-12-05") is None  # its last month
    assert after_term("市政府法律顾问有哪些人？", cited, "2026-12-05") is None  # the appointment answers
    other = [ArticleEvidence(1, h, 1.0, [], True) for h in _doc_hits(corpus, "招政办字〔2022〕10号", 1)]
    assert after_term("2024年的法律顾问名单", cited + other, "2026-12-05") is None  # a document without a term


def test_assistant_marks_the_next_term_of_office_partial(assistant):
    ans = assistant.ask("青岛市人民政府2023年10月起新一届政府法律顾问聘任了哪些人员？")
    assert ans.coverage == "partial" and not ans.refused and ans.citations
    assert "没有写明2023年9月聘期届满以后的情况" in ans.text
    assert assistant.ask("青岛市人民政府法律顾问有哪些人？").coverage == "full"


def test_quotes_above_sees_a_provincial_figure_quoted_by_a_district(corpus):
    # 周村's compilation quotes each provincial policy under 政策原文 before saying what the district does
    quote = next(c for c in corpus.chunks if "政策原文" in c.text_simplified and "1200万元" in c.text_simplified)
    docs = {d.doc_id: d for d in corpus.documents}
    cited = [ArticleEvidence(0, Hit(chunk=quote, document=docs[quote.doc_id], score=1.0, rank=1), 1.0, [], True)]
    assert quotes_above("听说省里有最高1200万的奖补，周村能拿到多少？", cited)
    assert quotes_above("省里那笔奖励，区里具体能给企业补多少？", cited)
    assert not quotes_above("省里对新型智慧城市最高奖补多少？", cited)  # the province's figure is what is asked
    own = [ArticleEvidence(1, h, 1.0, [], True) for h in _doc_hits(corpus, "招政办字〔2022〕10号", 1)]
    assert not quotes_above("周村能拿到多少？", cited + own)  # another article states a figure of its own


def test_a_figure_only_another_region_gives_leaves_the_best_articles_region_partial(assistant, corpus):
    # answered for each region: 青岛's 宅基地 article states no sum; 招远's 厂房补助 does, for itself only
    docs = {d.doc_id: d for d in corpus.documents}

    def evidence(number: str, words: str, prob: float, slot: bool) -> ArticleEvidence:
        c = next(c for c in corpus.chunks if docs[c.doc_id].number == number and words in c.text_simplified)
        return ArticleEvidence(0, Hit(chunk=c, document=docs[c.doc_id], score=1.0, rank=1), prob, [0.5] * len(ARTICLE_FEATURES), slot)

    best = evidence("青政办发〔2020〕17号", "宅基地", 0.9, False)
    other = evidence("招政发〔2022〕8号", "厂房补助", 0.8, True)
    judge = assistant.judge
    question = "老家宅基地自愿退出能补多少钱？"
    cov = judge.run(question, [best, other], [best, other], "amount", assistant.corpus_grams, True)
    assert (cov.level, cov.missing, cov.lacking) == ("partial", "amount", "青岛市")
    text = assistant.answerer.run(question, Intent(kind="amount", slot="amount"), [best, other], cov, [], [], [best, other]).text
    assert text.startswith("青岛市的文件中有相关规定，但没有写明具体的金额") and "招远市：" in text
    # the region named: its own articles decide, as before (a figure cited may be the one asked)
    cov = judge.run(question, [best, other], [best, other], "amount", assistant.corpus_grams, True, named_regions=["青岛市"])
    assert cov.level == "partial" and not cov.lacking
    # one region cited: nothing to name
    cov = judge.run(question, [best], [best], "amount", assistant.corpus_grams, True)
    assert (cov.level, cov.missing, cov.lacking) == ("partial", "amount", "")


def test_a_sum_per_thing_is_not_answered_by_totals(corpus):
    docs = {d.doc_id: d for d in corpus.documents}

    def cited(words: str) -> list[ArticleEvidence]:
        c = next(c for c in corpus.chunks if words in c.text_simplified)
        return [ArticleEvidence(0, Hit(chunk=c, document=docs[c.doc_id], score=1.0, rank=1), 1.0, [], True)]

    fund = cited("安排消费季资金100万元")  # a total for the season, no sum per coupon
    assert only_totals("发的消费券一张能抵多少钱？", fund)
    assert not only_totals("消费季一共安排了多少资金？", fund)  # a total is what is asked
    per_pupil = cited("生均教学仪器设备值分别达到")  # 生均: a sum per pupil
    assert not only_totals("小学每个学生的仪器设备值要达到多少钱？", per_pupil)
    assert not only_totals("一年能补多少钱？", fund)  # a time is no thing counted


def test_a_sum_of_another_grant_does_not_answer_a_named_grant(corpus):
    docs = {d.doc_id: d for d in corpus.documents}

    def cited(words: str) -> list[ArticleEvidence]:
        c = next(c for c in corpus.chunks if words in c.text_simplified)
        return [ArticleEvidence(0, Hit(chunk=c, document=docs[c.doc_id], score=1.0, rank=1), 1.0, [], True)]

    pension = cited("给予每人每年 60 元的缴费补贴")  # 招远's sums are subsidies of contributions
    assert other_grants("残疾人护理补贴一年发多少钱？", pension, "amount") == "护理"
    assert other_grants("缴费补贴一年补多少钱？", pension, "amount") is None  # the kind the sums are of
    assert other_grants("交养老保险政府能补贴多少？", pension, "amount") is None  # no kind named: 能补贴
    assert other_grants("另外还有额外奖励吗，多少钱？", pension, "amount") is None  # 额外 is no kind


def test_assistant_marks_a_sum_per_thing_partial_when_only_totals_are_stated(assistant):
    # 兰山 plans to help 50 women; 招远 sets up a fund of 1亿元: neither says how much each one gets
    for question, total in (
        ("听说兰山对农村低收入妇女两癌有救助,一个人能给救助多少钱?", "50人"),
        ("黄金深加工产业基金一个项目最多能投多少？", "1 亿元"),
    ):
        ans = assistant.ask(question)
        assert ans.coverage == "partial" and "没有写明具体的金额" in ans.text, question
        assert any(total in c.passage for c in ans.citations), question


def test_assistant_marks_a_district_figure_quoted_from_the_province_partial(assistant):
    ans = assistant.ask("咱周村也在搞新型智慧城市吧？听说省里有最高1200万的奖补，周村能拿到多少？")
    assert ans.coverage == "partial" and ans.citations and "上级政策原文" in ans.text


def test_a_list_kept_in_a_document_the_collection_lacks_is_partial(assistant):
    # 招政办字〔2022〕2号 only names 《烟台市禁养烈性犬品种名录和大型犬标准》; the breeds are in that list
    ans = assistant.ask("想养条比特犬，招远这边哪些烈性犬是不让养的？")
    assert ans.coverage == "partial" and ans.citations and "名录未收录" in ans.text
    # a list the collection holds as a document's attachment (兰山's 重大行政决策事项目录) is no such reference
    assert assistant.holds_list("兰山区人民政府2022年重大行政决策事项目录")
    assert not assistant.holds_list("烟台市禁养烈性犬品种名录和大型犬标准")


def test_assistant_declines_another_years_question_and_says_why(assistant):
    ans = assistant.ask("招远2024年居民养老保险什么时候开始交？")
    assert ans.refused and not ans.citations
    assert "2024年" in ans.text and "2022年居民养老保险征缴工作实施方案" in ans.text
    ok = assistant.ask("招远2022年居民养老保险集中缴费到哪天结束？")
    assert not ok.refused and "6月15日" in ok.text.replace(" ", "")


def test_a_named_document_is_never_declined(assistant, corpus):
    # every indexed document asked about by its number, in three bracket styles
    for d in corpus.documents:
        if not d.number or "〔" not in d.number:
            continue
        for number in (d.number, d.number.replace("〔", "[").replace("〕", "]"), d.number.replace("〔", "(").replace("〕", ")")):
            ans = assistant.ask(f"{number}是什么文件？")
            assert not ans.refused, (number, ans.text)
            assert any(c.doc_number == d.number for c in ans.citations), number


def test_places_outside_the_collection_are_declined_inside_are_not(assistant):
    assert assistant.ask("济南市历下区禁止卖活禽吗？").refused
    assert assistant.ask("淄博张店区老旧小区改造补多少钱？").refused
    assert not assistant.ask("黄岛区能卖活禽吗？").refused  # a district of 青岛, whose rules apply


def test_a_like_title_of_a_place_outside_the_collection_is_not_our_document(assistant):
    # 莱阳's and 罗庄's plans are named like 招远's and 兰山's: those are not the documents asked about
    ans = assistant.ask("莱阳市残疾人事业发展“十四五”规划中，困难重度残疾人家庭无障碍改造的目标户数是多少？")
    assert ans.refused and "莱阳" in ans.text
    assert assistant.ask("罗庄区的防汛抗旱应急预案里防汛指挥部办公室设在哪个部门？").refused
    # named by its 发文字号, a document is ours whatever place the question adds
    assert not assistant.ask("临兰政办字〔2022〕26号里罗庄区的人能参考吗？").refused


def test_models_load_from_a_file_and_bad_files_say_so(tmp_path):
    shipped = AnswerModels.load()
    assert shipped.article.features and len(shipped.article.weights) == len(shipped.article.features)
    assert shipped.meta.get("fitted_on") and "eval/blind/test.jsonl" not in shipped.meta["fitted_on"]
    f = tmp_path / "m.json"
    f.write_text(json.dumps(shipped.to_dict()), encoding="utf-8")
    assert AnswerModels.load(f).to_dict() == shipped.to_dict()
    f.write_text("{}", encoding="utf-8")
    with pytest.raises(ValueError, match="answer model"):
        AnswerModels.load(f)
    with pytest.raises(ValueError, match="answer model"):
        AnswerModels.load(tmp_path / "missing.json")


def test_an_amount_the_rule_leaves_open_is_no_amount():
    from qa.answer.evidence import leaves_open

    assert leaves_open("money", "对符合条件的担保机构提供低成本担保服务的，给予一定补助。")
    assert leaves_open("amount", "补助标准另行制定。")
    assert leaves_open("grant", "认定一批标杆项目,分别给予一定经济奖励。")
    assert not leaves_open("money", "给予一定补助，单个企业最高50万元。")  # the figure is there
    assert not leaves_open("deadline", "给予一定补助。")  # nothing to leave open for a date


def test_a_subsidy_asked_for_is_not_answered_by_free_services():
    from qa.answer.evidence import has_slot

    assert has_slot("money", "残疾人免费乘坐公共交通工具。")  # what a fee question asks
    assert not has_slot("grant", "残疾人免费乘坐公共交通工具。")  # not what a subsidy pays
    assert has_slot("grant", "每人每年12000元。") and has_slot("grant", "给予全额补助。")


def test_a_month_is_a_time_for_a_deadline():
    from qa.answer.evidence import has_slot

    # 7月份 / 12月底前 say when, though no day is named
    for when in ("7月份两家医院先行试点,9月份全面推开。", "12月底前全部完成验收。", "力争6月中旬完成招标。"):
        assert has_slot("deadline", when)
    assert not has_slot("deadline", "各单位要加强领导,落实责任。")


def test_a_share_is_no_sum_of_money():
    from qa.answer.evidence import has_slot

    for share in (
        "住宅小区物业服务覆盖率达到90%。", "社会购买节目数量不得超出单场演出全部节目数量的30%。",
        "社会体育指导员数量占总人口的 2.3%以上", "社会工作专业人才比例达到 70% 以上", "争取实现线上销售年均增长20%",
        "困难群众救助标准在2021年年底保障标准基础上再提高8%以上", "2022年新增护理型养老床位1110张、护理型养老床位占比达到55%以上。",
    ):
        assert not has_slot("money", share) and not has_slot("grant", share) and has_slot("amount", share)
    assert has_slot("grant", "按投资额的20%给予补贴。") and has_slot("money", "收费标准为每平方米0.5元。")
    assert has_slot("grant", "补助比例为30%。")  # a share of a subsidy is what 补多少 asks


def test_a_scale_to_reach_is_no_sum_granted():
    from qa.answer.evidence import has_slot

    for scale in ("力争3年内园区产业规模达到 200 亿元", "全市规上工业产值突破5000亿元", "实现营业收入超过10亿元以上"):
        assert not has_slot("grant", scale) and not has_slot("money", scale) and has_slot("amount", scale)
    assert has_slot("grant", "营业收入首次突破1亿元的，给予50万元奖励。")  # the reward beside the threshold


def test_a_share_is_held_by_a_percentage_not_by_a_sum_and_left_open_by_a_certain_share():
    from qa.answer.evidence import has_slot, leaves_open

    assert has_slot("share", "按照新升级设备改造投资总额的 20% 给予资金扶持") and has_slot("share", "中央与地方按3：7比例分担")
    assert not has_slot("share", "单位价值在500万元以上的，最高不超过100万元") and not has_slot("share", "8:00至17:30")
    assert leaves_open("share", "按照单位价值的一定比例自愿选择在企业所得税税前扣除")


def test_a_share_the_rule_leaves_open_makes_a_partial_answer(assistant):
    # 兰山's 二十条: devices of 500万元 and more are deducted "按照单位价值的一定比例" — the share is not stated
    ans = assistant.ask("中小微企业新买了单价600万元的设备，企业所得税税前扣除按多大比例？")
    assert ans.coverage == "partial" and "没有写明具体的比例" in ans.text
    assert any("一定比例" in c.passage for c in ans.citations)


def test_the_office_a_duties_list_puts_in_charge_holds_the_department_asked_for():
    from qa.answer.evidence import has_slot

    assert has_slot("department", "（二）市公安局：负责市养犬管理联席会议办公室日常工作")
    assert not has_slot("department", "(十一) 市交通运输局: 协助养犬管理部门做好禁止携犬乘坐公共交通工具有关宣传教育工作。")


def test_the_sentence_on_the_topic_that_leaves_the_sum_open_makes_a_partial_answer(assistant):
    # the article's closest sentence by score holds a figure (1% for equity investment); the one about
    # guarantees says only "给予一定补助": the sum asked for is not stated
    ans = assistant.ask("我们是融资担保公司，给重点传统产业的中小企业做低成本担保，政府补助标准是多少？按担保额几个点？")
    assert ans.coverage == "partial" and "没有写明具体的金额或标准" in ans.text
    assert any("一定补助" in c.passage for c in ans.citations)


def test_a_subsidy_per_month_is_not_answered_by_free_bus_rides(assistant):
    ans = assistant.ask("兰山区困难残疾人生活补贴每月能领多少钱？")
    assert ans.coverage == "partial" and "没有写明具体的金额或标准" in ans.text


def test_another_batch_than_the_documents_found_is_declined_with_the_reason(assistant):
    ans = assistant.ask("周村第三批首席技师名单里都有谁？")
    assert ans.refused and ans.coverage == "none" and "第三批" in ans.text and "第二批" in ans.text
    same = assistant.ask("周村第二批首席技师有多少名？")
    assert not same.refused and "11" in same.text


def test_a_subject_likened_to_one_the_documents_cover_is_declined_when_they_never_name_it(assistant):
    # the 活禽 rules say nothing of live fish; 猫 is no 犬: declined, saying what was found and what is missing
    ans = assistant.ask("青岛农贸市场卖活鱼的也得像活禽一样每周休市吗？")
    assert ans.refused and ans.coverage == "none" and "活禽" in ans.text and "活鱼" in ans.text, ans.text
    assert assistant.ask("在招远养猫是不是也要像养狗一样登记？").refused
    # likened to several things, one of which the rules name (活鸡 is 活禽; 活鹅 is not said): still declined
    ans = assistant.ask("青岛能卖活兔子吗？是不是和活鸡活鹅一样也禁止")
    assert ans.refused and not ans.text.startswith("不可以"), ans.text
    # a word of another kind (泰迪, 钱), an everyday name of an official term (个体户) or two regions
    # likened to each other is no neighbour subject
    for question in ("俺家泰迪也得像大狗一样拴绳吗", "个体户能像企业一样享受房租减免吗",
                     "兰山跟周村的低保标准一样吗"):
        assert not assistant.ask(question).refused, question


def test_one_of_a_family_of_like_things_is_not_answered_by_articles_on_the_others(corpus, assistant):
    docs = {d.doc_id: d for d in corpus.documents}
    c = next(c for c in corpus.chunks if "缓缴养老、失业、工伤保险费" in c.text_simplified)
    deferral = [ArticleEvidence(0, Hit(chunk=c, document=docs[c.doc_id], score=1.0, rank=1), 1.0, [], True)]
    # "养老、失业、工伤保险费" speaks of three insurances, never of 医疗保险
    assert sibling_subject("职工医疗保险费能不能缓缴？", deferral) == ("养老保险、失业保险、工伤保险", "医疗保险")
    assert sibling_subject("医保费能缓缴吗", deferral) is not None
    # the member the article speaks of, two members asked, or no member asked: no such subject
    for question in ("养老保险费能缓缴多久？", "医疗和养老保险费都能缓缴吗？", "社保费能缓缴吗？"):
        assert sibling_subject(question, deferral) is None, question
    ans = assistant.ask("我们是受疫情影响的小微企业,兰山区纾困政策里职工医疗保险费能不能申请缓缴?能缓多久?")
    assert ans.refused and ans.coverage == "none" and "没有涉及医疗保险" in ans.text, ans.text
    assert not assistant.ask("兰山区纾困政策里养老保险费能不能申请缓缴?").refused
    # pets: a cat asked of, the dog rules found — the documents say nothing of cats (天猫 is a shop, not a cat)
    ans = assistant.ask("住在招远城区，家里那只猫每年得去打针登记吗？没登记的话要罚多少")
    assert ans.refused and "没有涉及猫" in ans.text, ans.text
    assert not assistant.ask("住在招远城区，家里那只狗每年得去打针登记吗？").refused
    dog = next(c for c in corpus.chunks if "犬" in c.text_simplified and "天猫" not in c.text_simplified)
    dogs = [ArticleEvidence(0, Hit(chunk=dog, document=docs[dog.doc_id], score=1.0, rank=1), 1.0, [], True)]
    assert sibling_subject("在天猫上开店卖狗粮要办证吗", dogs) is None
    # sky lanterns: the fireworks rules say nothing of them
    ans = assistant.ask("招远禁放区里能放孔明灯吗")
    assert ans.refused and "没有涉及孔明灯" in ans.text, ans.text


def test_a_subject_asked_with_ye_after_the_rule_for_another_is_likened_to_it(assistant):
    # "X 不让卖了，Y 也…" likens Y to X as "像 X 一样" does: no 不可以 from the 活禽 rule for live fish
    ans = assistant.ask("青岛活鸡不让卖了，活鱼活虾是不是也不让卖？")
    assert ans.refused and ans.coverage == "none" and "活鱼" in ans.text and not ans.text.startswith("不可以"), ans.text
    # the rule's own subject asked with 也 is still answered
    assert not assistant.ask("青岛市南区不让卖活禽了，市北区也不让卖吗？").refused
    # … and so does "不让卖 X 了，那 Y 还…": the ban's object named after its verb, the subject after 那
    ans = assistant.ask("俺在菜市场卖活鱼活虾，听说青岛不让卖活禽了，那活鱼活虾还能接着卖吗？")
    assert ans.refused and "活鱼" in ans.text and not ans.text.startswith("不可以"), ans.text
    assert not assistant.ask("听说市南区不让卖活禽了，那市北区还能卖活禽吗？").refused


def test_a_subsidy_asked_after_a_question_mark_is_not_answered_by_a_count_or_a_period(assistant):
    # the articles give 1110张 beds and a 3年 term, no sum: "标准是多少" / "给多少" after 补贴 asks for one
    for question in ("想在兰山开个民办养老院,区里对新增护理型养老床位有没有建设或者运营补贴?标准是多少?",
                     "去干乡村公益性岗位，一个月补贴到底给多少？能干几年？"):
        ans = assistant.ask(question)
        assert ans.coverage == "partial", ans.text


def test_a_sum_the_district_gives_is_not_answered_by_the_provinces_budget(assistant):
    # 周村's compilation quotes "省级财政安排5000万元…（牵头单位：省工业和信息化厅、省财政厅）": not what 区里 pays
    assert assistant.ask("周村区里对新建加氢站每座能补多少？").coverage == "partial"
    # "多少奖励" read as any amount (not only a sum of money) is held to the same rule
    assert assistant.ask("准备在周村弄个加氢站，区里能给我们多少奖励？").coverage == "partial"
    # asked about the province, the province's sum is the answer
    assert assistant.ask("省里对各市加氢站建设的奖励资金有多少？我们在周村").coverage == "full"
    # the district's own target (区级) is not the province's either ("全省实现千兆光网覆盖60%以上家庭")
    assert assistant.ask("周村千兆光网家庭覆盖率，区级定的目标是多少？").coverage == "partial"


def test_a_sum_of_money_asked_for_is_not_answered_by_a_head_count(assistant):
    ans = assistant.ask("研究生到兰山区就业，一次性购房补贴能补多少钱？")
    assert ans.coverage == "partial" and "没有写明具体的金额或标准" in ans.text


@pytest.mark.parametrize(
    "question, official",
    [
        ("持证残疾人在招远坐公交能免票吗？", "免费乘坐"),
        ("修路挖出来的沙子石头，村里能自己卖吗？", "砂石"),
        ("后山采石头留下的大坑积满了水，小孩老去玩水，归哪个部门管？", "积水矿坑"),
    ],
)
def test_everyday_words_find_the_rule_in_official_words(assistant, question, official):
    # 免票 / 沙子石头 are not words of the documents (qa/data/terms.toml maps them): without the
    # official words the question was declined
    ans = assistant.ask(question)
    assert not ans.refused and any(official in c.passage for c in ans.citations[:2]), ans.text


def test_a_day_asked_for_is_not_answered_by_a_period():
    from qa.answer.evidence import has_slot

    for day in ("报名截止时间为6月30日。", "每月26日前报送。", "于11月底前完成。", "自公布之日起施行。"):
        assert has_slot("date", day), day
    for period in ("每月报送一次国有资产情况。", "在30个工作日内办结。", "2022年完成改造。"):
        assert not has_slot("date", period) and has_slot("deadline", period), period


def test_a_day_the_documents_do_not_give_makes_a_partial_answer(assistant):
    ans = assistant.ask("我们是区属国有企业的财务，区国资监管机构向市国资委报国有资产情况，文件有没有规定每月几号前必须报？")
    assert ans.coverage == "partial" and "没有写明具体的日期" in ans.text
    # a day of the week: 青岛's 活禽 order leaves the days of closing to each district
    ans = assistant.ask("青岛的活禽市场一般星期几休市？")
    assert ans.coverage == "partial" and "没有写明具体的日期" in ans.text and any("休市" in c.passage for c in ans.citations)


def test_a_document_number_the_collection_does_not_hold_is_declined_by_name(assistant):
    # 令第281号 is not indexed: 令第280号's card would answer another document
    ans = assistant.ask("青岛市人民政府令第281号是关于什么的规章？")
    assert ans.refused and ans.coverage == "none" and "没有青岛市人民政府令第281号" in ans.text, ans.text
    # a misremembered prefix is pointed to the indexed document of the same year and number, and the
    # question is echoed with its brackets
    ans = assistant.ask("招政发[2022]2号讲了什么")
    assert ans.refused and "招政办字〔2022〕2号" in ans.text and "“招政发〔2022〕2号讲了什么”" in ans.text, ans.text
    # a number an indexed document quotes is not declined for being unindexed
    assert assistant.quotes_number("淄政发〔2017〕17号")
    assert not assistant.ask("淄政发〔2017〕17号在周村怎么落实？").refused
    # … nor when the words before it run into its prefix ("周村区落实国发…": the number is 国发〔2017〕46号, which
    # 周政字〔2017〕44号 carries out)
    ans = assistant.ask("周村区落实国发〔2017〕46号都取消了啥审批？")
    assert not ans.refused and any(c.doc_number == "周政字〔2017〕44号" for c in ans.citations), ans.text


def test_a_yes_no_question_hedged_only_by_the_model_is_answered_when_its_article_states_the_rule(assistant):
    # the coverage model alone would hedge it (partial, no detail missing); 第八条 says what users must do
    # with pesticide packaging, so the answer opens with the verdict and is no longer marked partial
    ans = assistant.ask("青岛农户打完农药，空药瓶药袋能随手扔吗？")
    assert ans.coverage == "full" and ans.text.startswith("不可以。"), ans.text
    # a detail the articles lack still hedges it (no verdict on a sum)
    ans = assistant.ask("听说过年城里不让放炮了，家里剩的烟花拿去置换点能换多少钱的东西？")
    assert ans.coverage != "full" and not ans.text.startswith(("可以。", "不可以。")), ans.text


def test_a_sum_the_best_article_refers_to_an_unheld_document_is_partial(assistant):
    # 三、（二）7. rewards a listing "按照《招远市支持企业对接资本市场推进上市挂牌的扶持政策》（招政发〔2020〕12号）
    # 执行": that document is not in the collection, so the sums of other articles (检测机构 100 万元) do not
    # answer it — partial, citing the article that refers
    ans = assistant.ask("我们是做黄金首饰加工的，计划明年去上市，按黄金深加工那个扶持意见能拿多少上市奖励？")
    assert ans.coverage == "partial" and "没有写明具体的金额或标准" in ans.text, ans.text
    assert ans.citations[0].locator == "三、（二）7." and len(ans.citations) == 1


def test_a_score_asked_for_is_not_answered_by_a_head_count(assistant):
    # the education plan gives school sizes (2000 人, 45 人), no admission score: partial, saying so
    ans = assistant.ask("周村今年中考普通高中录取分数线是多少？")
    assert ans.coverage != "full" and "分数" in ans.text.split("\n")[0], ans.text


def test_an_article_naming_a_document_to_bring_holds_the_materials_asked_for():
    from qa.answer.evidence import has_slot

    assert has_slot("materials", "由其家长或监护人携带残疾儿童本人残疾人证、残疾儿童 2 寸免冠照片 2 张，到户口所在地镇（街道）残联提出申请。")
    assert has_slot("materials", "申请人应当提交营业执照复印件。")
    assert not has_slot("materials", "建设希望小屋100处，配套志愿者跟踪帮扶。(责任单位:团区委)")


def test_a_multiple_of_a_wage_is_no_sum_in_yuan():
    from qa.answer.evidence import has_slot

    wage = "丧葬费垫付最高限额为事故发生地上一年度职工月平均工资的6倍。"
    assert has_slot("money", wage) and not has_slot("cash", wage)
    assert has_slot("cash", "对新认定的示范企业给予20万元奖励。")
    assert not has_slot("cash", "到2025年，覆盖率达到90%。")  # a share is no sum either


def test_a_sum_in_yuan_the_documents_only_reckon_makes_a_partial_answer(assistant):
    # 青岛's road-accident fund pays funeral costs up to six months' average wage: how much in yuan is not written
    ans = assistant.ask("交通事故救助基金垫付丧葬费，具体是几万块钱？")
    assert ans.coverage == "partial" and "没有写明具体的金额" in ans.text
    assert any("6倍" in c.passage for c in ans.citations)
    ans = assistant.ask("交通事故救助基金垫付丧葬费最多垫多少？")
    assert ans.coverage == "full" and "6倍" in ans.text


def test_a_list_of_a_year_after_the_documents_makes_a_partial_answer(assistant):
    # 青岛's 一业一证 plan (青政办字〔2020〕77号) adjusts its list of trades as it goes: it cannot say what 2023 added
    ans = assistant.ask("2023年一业一证改革又加了哪些行业？")
    assert ans.coverage == "partial" and "没有写明2023年的情况" in ans.text
    assert any(c.doc_number == "青政办字〔2020〕77号" for c in ans.citations)
    assert assistant.ask("一业一证改革都有哪些行业？").coverage == "full"
    # a year the document itself names is answered (招远's community plan: 90% by 2025)
    ans = assistant.ask("到2025年招远住宅小区物业服务覆盖率要达到多少？")
    assert ans.coverage == "full" and "90%" in ans.text
    # … and so is a year inside a document's stated term (招政发〔2022〕8号 runs to 2025-02-06)
    ans = assistant.ask("2024年在招远黄金深加工产业园买厂房，每平方米能补多少？")
    assert ans.coverage == "full" and "200 元" in ans.text


def test_materials_the_documents_do_not_list_make_a_partial_answer_and_those_they_list_a_full_one(assistant):
    # 兰山's 希望小屋 is item 六 of the 2022 women-and-children plan, which names no document to bring
    ans = assistant.ask("兰山的希望小屋项目，想给孩子报上，需要准备哪些材料？")
    assert ans.coverage == "partial" and "没有写明具体的所需材料" in ans.text
    assert any("希望小屋" in c.passage for c in ans.citations)
    # 周村's rescue rehabilitation: 四、（一） lists the 残疾人证 and two photos
    ans = assistant.ask("孩子要申请周村的残疾儿童抢救性康复救助，家长得带什么去？")
    assert ans.coverage == "full" and "残疾人证" in ans.text


def test_an_age_in_years_is_no_period_of_time():
    from qa.answer.evidence import has_slot

    # "55周岁" is how old a person is, not a deadline (周 alone is a week: "2周内")
    assert not has_slot("deadline", "1-2级重度残疾人可申请提前（55周岁）领取居民养老保险金。")
    assert not has_slot("deadline", "年满16周岁的居民可以参保。")
    assert has_slot("deadline", "请在2周内提交材料。") and has_slot("deadline", "缴费工作从4月1日开始至6月15日结束。")
