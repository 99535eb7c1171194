"""Offline answers in the shape the question asks for, on the real seed index (the issue's examples)."""

from __future__ import annotations

import re

import pytest

from qa.answer.citations import parse_markers
from qa.evaluate.glitches import find_glitches


def _plain(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _consistent(ans) -> None:  # noqa: ANN001
    """Markers are exactly the citations; every quote is verbatim from its article."""
    assert sorted(set(parse_markers(ans.text))) == [c.marker for c in ans.citations]
    for c in ans.citations:
        assert c.quote and all(part in c.passage for part in c.quote.split("……"))
    assert find_glitches(ans.text) == [], ans.text


def test_amount_leads_with_the_article_that_holds_the_figure(assistant):
    ans = assistant.ask("新上黄金深加工项目，设备投资能补多少？")
    assert ans.coverage == "full" and ans.intent == "amount"
    first = ans.text.split("\n")[0]
    assert "20%" in _plain(first) and "100万元" in _plain(first)
    assert ans.citations[0].locator == "三、（三）10." and ans.citations[0].doc_number == "招政发〔2022〕8号"
    _consistent(ans)


def test_list_question_gets_the_whole_enumeration(assistant):
    ans = assistant.ask("青岛哪些地方不能卖活禽？")
    assert ans.intent == "list" and not ans.refused
    assert all(d in ans.text for d in ("市南区", "市北区", "李沧区", "崂山区"))
    _consistent(ans)


def test_a_list_of_a_kind_of_thing_is_led_by_the_section_headed_by_it(assistant):
    # "哪几种办法": the section headed 四、整治方式 ("…以下方式进行:") lists them, though its opening line scores
    # below 六、（四）督导考核 ("多种形式"); a kind the question does not ask for leaves the choice as it was
    from qa.answer.compose import listed_kind

    assert listed_kind("有哪几种整治办法？") == ["办法", "方式", "措施"]
    assert listed_kind("从哪几类标准去审？") == ["标准"] and listed_kind("目录共列入哪些事项？") == []
    ans = assistant.ask("义堂镇整治飞线，乱七八糟的电线到底咋处理，有哪几种办法？")
    assert ans.intent == "list" and ans.citations[0].locator == "四、", ans.text
    assert all(w in ans.text for w in ("入地", "捆套", "剪除", "扣盒")), ans.text
    _consistent(ans)


def test_a_list_counted_in_an_articles_own_words_gets_its_items_not_its_siblings(assistant):
    # "（一）集聚引领产业。…重点打造五大产业板块，…" announces its 1.–5. without a colon: the list asked
    # for is those, not the sections beside it; "…，看看能不能入驻" says why, it asks no yes/no
    ans = assistant.ask("青岛5G高新视频实验园区重点打造哪五大产业板块？我们看看能不能入驻")
    assert ans.intent == "list", ans.intent
    assert "高新视频云平台建设" in ans.text and "高新视频应用集成创新" in ans.text, ans.text
    assert "该文件列出的各项" not in ans.text, ans.text
    _consistent(ans)


def test_a_list_question_gets_every_announced_item_the_last_ones_by_their_leads(assistant):
    # 三、 announces "保留以下7支行政执法队伍：" and the seven follow as articles of their own, too long
    # to quote whole: those that do not fit are named by their leads ("（七）保留周村区劳动保障监察大队……")
    ans = assistant.ask("周村综合执法改革以后还保留了哪些执法队伍？")
    assert ans.intent == "list" and not ans.refused
    for n in "一二三四五六七":
        assert f"（{n}）" in ans.text, n
    assert "（七）保留周村区劳动保障监察大队……" in ans.text
    _consistent(ans)
    # the items are part of the article that announces them: one citation, its passage the article and its items
    head = next(c for c in ans.citations if "保留以下7支" in c.passage)
    assert "劳动保障监察大队" in head.passage and not any(c is not head and "劳动保障监察大队" in c.passage for c in ans.citations)
    # … and they stay in it when another piece of the same article is quoted after them (招商招展组's 职责 1.–6.)
    ans = assistant.ask("我们是做体育用品的企业,想对接体博会招商招展,兰山区这边是哪个组负责,组长是谁?")
    assert "拟定整体招展招商工作实施方案" in ans.text
    _consistent(ans)


def test_by_document_question_gets_a_document_card_in_any_bracket_style(assistant):
    for q in ("青政发〔2020〕13号文件主要讲了什么？", "青政发[2020]13号文件主要讲了什么？", "青政发(2020)13号讲了啥"):
        ans = assistant.ask(q)
        assert not ans.refused and ans.intent == "by-doc", q
        assert "青政发〔2020〕13号" in ans.text and "青岛市人民政府" in ans.text
        assert "主要内容：" in ans.text
        assert "“" + q[:10] not in ans.text  # not a refusal that misquotes the question
        _consistent(ans)


def test_comparison_names_each_region(assistant):
    ans = assistant.ask("兰山区和周村区的防空地下室易地建设费分别降到多少？")
    assert ans.intent == "comparison" and not ans.refused
    assert "临沂市兰山区" in ans.text and "淄博市周村区" in ans.text
    assert "1800" in ans.text
    _consistent(ans)


def test_a_comparison_of_two_named_documents_cites_each(assistant):
    # one district, two documents named by number: each is a side however weakly its articles match
    ans = assistant.ask("招政发〔2022〕8号和招政发〔2022〕10号对企业贷款贴息的规定有什么不同？")
    assert ans.intent == "comparison" and not ans.refused
    assert {c.doc_number for c in ans.citations} >= {"招政发〔2022〕8号", "招政发〔2022〕10号"}, ans.text
    assert all("贴息" in c.passage for c in ans.citations[:2])
    _consistent(ans)


def test_broad_question_lists_measures_with_locators(assistant):
    ans = assistant.ask("招远对生物医药企业有什么扶持？")
    assert ans.intent == "broad" and not ans.refused
    items = [ln for ln in ans.text.split("\n") if re.match(r"^\d+\. ", ln)]
    assert len(items) >= 3 and all(re.search(r"\[\d+\]$", ln) for ln in items)
    _consistent(ans)


def test_yes_no_gets_a_verdict_when_the_rule_says_so(assistant):
    ans = assistant.ask("在青岛市南区可以卖活鸡吗？")
    assert ans.intent == "yesno" and not ans.refused
    assert ans.text.startswith("不可以"), ans.text
    assert "第七条" in ans.text
    _consistent(ans)


def test_a_benefit_not_to_be_had_twice_answers_may_i_with_no(assistant):
    # 招远's 重点项目 fund: "已经享受市里有关优惠政策的项目，不再重复享受本政策"
    ans = assistant.ask("项目已经享受过市里别的优惠了，还能再拿重点项目专项扶持资金不？")
    assert ans.text.startswith("不可以。"), ans.text
    assert any("不再重复享受" in c.passage for c in ans.citations)
    _consistent(ans)


def test_an_exemption_answers_must_i_with_no(assistant):
    # "…的应税销售收入,免征增值税" exempts (不需要): 应税 (taxable) states no duty
    ans = assistant.ask("小规模纳税人一个月卖十二万，增值税还要交吗？")
    assert ans.text.startswith("不需要。"), ans.text
    _consistent(ans)


def test_a_question_naming_no_region_is_answered_for_each_region_with_a_rule(assistant):
    # 兰山's 二十条 and 周村's compilation both exempt small taxpayers: the answer says so, each cited
    ans = assistant.ask("小规模纳税人月销售额12万元，还用交增值税吗？")
    assert {c.region for c in ans.citations} >= {"临沂市兰山区", "淄博市周村区"}, ans.text
    assert "各地的规定不同" in ans.text and "15万元以下" in ans.text
    _consistent(ans)
    # a question about one region stays with it
    ans = assistant.ask("兰山区小规模纳税人月销售额12万元，还用交增值税吗？")
    assert {c.region for c in ans.citations} == {"临沂市兰山区"}, ans.text


def test_a_child_alone_at_home_is_answered_from_the_childrens_plan(assistant):
    # the everyday words (一个人在家 / 放家里) are not the plan's (单独留在家中): qa/data/terms.toml
    for q in ("孩子7岁能一个人在家吗？", "孩子7岁能一个人放家里吗？"):
        ans = assistant.ask(q)
        assert not ans.refused and "单独留在家中" in ans.citations[0].passage, ans.text
        assert ans.citations[0].doc_number == "临兰政发〔2022〕2号"
    assert assistant.ask("孩子7岁能一个人在家吗？").text.startswith("不可以。")
    _consistent(ans)
    # told as a parent tells it in chat: 闺女 for the child, 锁家里 for leaving her alone at home
    ans = assistant.ask("周末俺俩都得出去送货，闺女才7岁，把她自己锁家里半天行不行啊？兰山有说法没")
    assert ans.coverage == "full" and ans.text.startswith("不可以。"), ans.text
    assert "单独留在家中" in ans.citations[0].passage


def test_a_school_losing_its_honours_is_found_by_the_everyday_word(assistant):
    # 评先进 is the notice's 评先评优 (qa/data/terms.toml): without it the answer was hedged from other articles
    ans = assistant.ask("孩子学校今年夏天有学生溺水了，听说是学校防溺水宣传没做到位，那这个学校今年还能评先进吗？")
    assert ans.coverage == "full", ans.text
    assert "取消当年评先评优资格" in ans.citations[0].passage, ans.text


def test_selling_a_sites_sand_privately_is_answered_from_the_sand_opinion(assistant):
    # 偷偷 / 自个用 are the opinion's 私自 / 自用 (qa/data/terms.toml); 行不？ asks yes or no
    ans = assistant.ask("俺在工地上干活，工程挖出来一堆砂石，老板说自个用不完要偷偷拉出去卖了，这样行不？")
    assert ans.coverage == "full" and ans.text.startswith("不可以。"), ans.text
    assert "不得私自处置" in ans.citations[0].passage.replace(" ", "")


def test_a_special_rule_whose_condition_the_question_meets_decides_the_verdict(assistant):
    # 第十四条: 养殖场应当建设…处理设施 (the general rule); 已经委托他人…处理的，可以不自行建设 (the special one)
    ans = assistant.ask("我们养猪场已经委托别的公司对粪污做综合利用和无害化处理了，还必须自己建处理设施吗？")
    assert ans.text.startswith("不需要。"), ans.text
    _consistent(ans)
    # … and said in other words ("粪污每个月都有环保公司上门收走处理"), the special rule may still be the asker's:
    # no 需要 from the general one; both are quoted
    ans = assistant.ask("我家养鸡场的粪污每个月都有环保公司上门收走处理，还必须自己建粪污处理设施吗？")
    assert not ans.text.startswith("需要"), ans.text
    assert "可以不自行建设" in _plain(ans.text), ans.text
    _consistent(ans)


@pytest.mark.parametrize(
    "question, rule, within",
    [
        ("孩子7岁能一个人在家吗", "不得让未满8周岁儿童单独留在家中", True),
        ("孩子9岁能一个人在家吗", "不得让未满8周岁儿童单独留在家中", False),
        ("3至6岁的孩子能只参加非全日制训练吗", "3 岁以下的残疾儿童可采取非全日制康复训练", False),
        ("5岁的孩子要全日制训练吗", "3-6 岁的残疾儿童须在定点康复机构接受全日制康复训练", True),
        ("70岁能领吗", "年满60周岁及以上的可以按月领取", True),
        ("能提前领吗", "3 岁以下的残疾儿童可…", True),  # no age asked: the rule decides
    ],
)
def test_a_rule_for_other_ages_decides_nothing(question, rule, within):
    from qa.answer.compose import _ages_within

    assert _ages_within(question, rule) is within


@pytest.mark.parametrize(
    "question, rule, beyond",
    [
        ("能不能一次签30年的租赁？", "集体经营性建设用地使用权出租年限最长不得超过20年。", True),
        ("能不能签三十年？", "出租年限最长不得超过20年。", True),
        ("能不能签15年？", "出租年限最长不得超过20年。", False),
        ("2022年能签吗？", "出租年限最长不得超过20年。", False),  # a calendar year is no figure asked
        ("能补60万元吗？", "最高不超过50万元", True),
        ("能补60天吗？", "最高不超过50万元", False),  # another unit decides nothing
    ],
)
def test_a_figure_beyond_the_rules_maximum(question, rule, beyond):
    from qa.answer.compose import beyond_limit

    assert beyond_limit(question, [rule]) is beyond


def test_more_than_the_maximum_is_a_no(assistant):
    ans = assistant.ask("我们厂想租村集体的经营性建设用地建仓库，能不能一次签30年的租赁？")
    assert ans.text.startswith("不可以。") and "不得超过20年" in ans.text, ans.text
    _consistent(ans)


def test_no_verdict_from_a_rule_for_other_ages(assistant):
    ans = assistant.ask("孩子9岁能一个人在家吗？")  # the rule is for children under 8
    assert not ans.text.startswith(("可以", "不可以")), ans.text


def test_no_permission_where_the_document_excludes_the_case(assistant):
    # 招政发〔2022〕9号 grants its rewards and says "使用我市矿山资源的项目不享受上述政策": no 可以
    ans = assistant.ask("用本地矿山资源的企业可以申请招远扶持工业企业发展的奖励吗？")
    assert not ans.refused and not ans.text.startswith("可以"), ans.text
    # a provincial policy quoted in 周村's compilation, whose own item says it does not reach 周村:
    # no 可以, and the statement is quoted beside the rule
    ans = assistant.ask("周村能享受济青烟国际招商产业园的土地出让底价优惠吗？")
    assert not ans.text.startswith("可以") and "不涉及我市、区" in ans.text, ans.text
    _consistent(ans)
    # whatever the question, a provincial rule is not quoted as 周村's without the note that it does not apply
    ans = assistant.ask("周村对济青烟国际招商产业园重点项目的土地出让底价有什么规定？")
    assert "第48项（一）" in ans.text and "不涉及我市、区" in ans.text, ans.text
    # the note is worded in other ways too ("…无法承接相应工作", "目前全区尚未建成数据中心")
    ans = assistant.ask("周村的科创企业能在区里办再贴现专项额度吗？")
    assert not ans.text.startswith("可以") and "无法承接相应工作" in ans.text, ans.text
    ans = assistant.ask("周村区的数据中心能申请省里的用电补贴吗？")
    assert not ans.text.startswith("可以") and "尚未建成数据中心" in ans.text, ans.text
    # an unrelated prohibition in the same document (最低库存不得低于…) does not withhold the permission
    assert assistant.ask("盐改后食盐生产企业可以自己到外地卖盐吗？").text.startswith("可以。")


def test_no_verdict_where_the_rule_carves_out_a_group_or_is_an_offices_duty_or_is_contradicted(assistant):
    # "年满16周岁（不含在校学生）…可以在户籍地参加": a student asking gets the rule, not 可以
    ans = assistant.ask("我女儿20了在上大学，能不能在招远户籍地参加居民养老保险？")
    assert not ans.refused and not ans.text.startswith("可以"), ans.text
    assert "不含在校学生" in _plain(ans.text), ans.text
    # 职责分工 "市交通运输局：协助…做好禁止携犬乘坐公共交通工具有关宣传教育工作" is the office's task
    ans = assistant.ask("我是盲人，出门靠导盲犬，在招远坐公交能不能带着它？")
    assert not ans.text.startswith("不可以"), ans.text
    # "无自有住宅的…可按户籍迁入时间积分录取" next to "商业用房(含公寓)…不能作为入学房产": no 可以
    ans = assistant.ask("俺在兰山城区买了套商住公寓，户口也迁来了，能不能拿公寓给娃报名上一年级？")
    assert not ans.text.startswith("可以"), ans.text
    _consistent(ans)


def test_no_verdict_for_a_question_that_asks_no_may_or_must(assistant):
    # "是不是一个范围" asks whether two areas are the same: 需要/可以 would answer something not asked
    # (it once said 可以 because the quoted article mentions 许可证)
    ans = assistant.ask("招远城区的烟花爆竹禁放区和养犬重点管理区是不是一个范围？")
    assert not ans.refused
    assert not re.match(r"(需要|不需要|可以|不可以)。", ans.text), ans.text
    _consistent(ans)


def test_partial_when_the_figure_asked_for_is_not_in_the_documents(assistant):
    ans = assistant.ask("我家狗办证要交多少钱？")
    # the 实施意见 says a 养犬管理服务费 is charged but states no amount
    assert ans.coverage == "partial" and not ans.refused, ans.text
    assert "没有写明具体的金额" in ans.text
    assert ans.citations and "养犬管理服务费" in "".join(c.passage for c in ans.citations)


def test_decline_says_what_the_collection_covers(assistant):
    ans = assistant.ask("北京的公积金贷款额度是多少？")
    assert ans.refused and ans.coverage == "none" and not ans.citations
    assert "北京" in ans.text and "目前收录的是" in ans.text and "招远市" in ans.text


def test_coverage_is_in_the_answer_record(assistant):
    d = assistant.ask("新上黄金深加工项目，设备投资能补多少？").to_dict()
    assert d["coverage"] == "full" and d["refused"] is False and d["intent"] == "amount"
    d = assistant.ask("北京的公积金贷款额度是多少？").to_dict()
    assert d["coverage"] == "none" and d["refused"] is True


def test_list_answered_by_a_numbered_series_names_every_item(assistant):
    ans = assistant.ask("兰山区2022年关爱妇女儿童的十件实事包括哪些？")
    series = next(line for line in ans.text.splitlines() if line.startswith("该文件列出的各项："))
    for item in ("一、开展适龄妇女“两癌”免费筛查", "六、建设希望小屋100处", "十、免费监测500名妇女儿童体质"):
        assert item in series
    _consistent(ans)


def test_broad_outline_gives_measures_not_the_scope_clause(assistant):
    ans = assistant.ask("招远对生物医药企业有什么扶持？")
    assert ans.intent == "broad"
    items = [ln for ln in ans.text.split("\n") if re.match(r"^\d+\. ", ln)]
    assert items[0].startswith("1. 四、") and not any("政策适用范围" in ln for ln in items)
    _consistent(ans)


def test_broad_outline_names_the_other_measures_down_to_their_items():
    from qa.answer.compose import _other_measures

    outline = [
        ("一、", "一、总体要求", 0), ("", "（一）指导思想", 1),
        ("", "二、支持政策", 0), ("", "（一）金融支持", 1), ("二、（一）1.", "1. 设立引导基金", 2),
        ("二、（一）2.", "2. 贷款贴息", 2), ("", "（二）企业培育", 1), ("二、（二）1.", "1. 厂房补助", 2),
        ("二、（二）2.", "2. 上市奖励", 2),
    ]
    # framing sections are left out; items follow their section's heading; a section whose heading went
    # with a quoted article has its items named by their own locators
    quoted = ["（二）企业培育 1. 厂房补助。……"]
    assert _other_measures(outline, quoted, 24) == ["二、支持政策", "（一）金融支持：1. 设立引导基金、2. 贷款贴息", "二、（二）2.上市奖励"]
    assert _other_measures(outline, [], 3) == ["二、支持政策", "（一）金融支持：1. 设立引导基金"]


def test_broad_answer_names_the_items_of_sections_it_does_not_quote(assistant):
    ans = assistant.ask("招远有哪些政策支持生物医药产业发展？")
    assert ans.intent == "broad"
    rest = next(ln for ln in ans.text.split("\n") if ln.startswith("该文件还规定了"))
    # 招政发〔2022〕10号's 四、（四）: its measures by name, not only "(四) 加大企业培育力度"
    assert "加大企业培育力度：1. " in rest and "强化项目贡献补助" in rest and "指导思想" not in rest, rest
    _consistent(ans)


def test_document_card_names_every_part_of_the_document(assistant):
    # 临兰政办发〔2022〕3号 has six parts (一、加大防疫支持力度 … 六、拓展企业市场空间) and twenty numbered
    # measures: the card names all six, the measures only while there is room
    ans = assistant.ask("临兰政办发(2022)3号是个什么文件")
    parts = next(ln for ln in ans.text.split("\n") if ln.startswith("主要章节："))
    assert all(p in parts for p in ("一、加大防疫支持力度", "四、加大融资服务力度", "六、拓展企业市场空间")), parts
    _consistent(ans)


def test_a_list_of_a_named_kind_is_found_by_its_heading_when_retrieval_misses_it(assistant):
    # "有哪几种办法": 义政发〔2022〕30号's 四、整治方式 ("以下方式进行: 1、入地 2、捆套 3、剪除 …") shares none of the
    # question's story words, so retrieval ranks it low; the section headed by the kind asked for answers
    ans = assistant.ask("义堂镇清理村里乱拉的电线网线，有哪几种办法？")
    assert ans.coverage != "none" and "1、入地" in ans.text and "2、捆套" in ans.text, ans.text
    _consistent(ans)
    from qa.answer.compose import listed_kind

    assert "方式" in listed_kind("飞线整治都是用啥法子弄的")  # … and "都用啥办法" asks the same


def test_conditions_asked_lead_with_the_article_that_names_itself_the_conditions(assistant):
    # 招政发〔2022〕11号 第二条 names itself in its first words ("第二条 扶持条件：") and lists them 1.–4.; 第一条 only
    # says the fund is for "符合条件的重点项目"
    ans = assistant.ask("项目要申请全市重点项目建设专项扶持资金，必须具备哪些条件？")
    first = ans.text.split("\n")[0]
    assert "第二条规定：扶持条件" in first and "3. 项目完工投产并取得相关验收手续" in ans.text, ans.text
    _consistent(ans)


def test_validity_cites_the_article_that_states_the_term(assistant):
    ans = assistant.ask("青岛市道路交通事故社会救助基金管理办法什么时候到期？")
    assert "第三十四条规定：本办法自2020年8月1日起施行，有效期至2025年7月31日。[1]" in ans.text
    assert len(ans.citations) == 1 and "有效期至2025年7月31日" in ans.citations[0].quote
    _consistent(ans)


def test_document_card_says_what_the_document_is_for_not_its_heading(assistant):
    lib = assistant.answerer.library
    head = re.compile(r"[〔\[]\d{4}[〕\]]\d+号$|^（?\d{4}年\d{1,2}月\d{1,2}日）?$|^(?:现将)?《[^》]+》.{0,12}印发给你们|^各.{2,80}[:：]$")
    for d in lib.by_id.values():
        found = lib.purpose(d.doc_id)
        assert found is not None, d.title
        line = _plain(found[1])
        # the purpose is a statement, never the title, 发文字号, date, addressee or a bare 现将《…》印发给你们
        assert not head.search(line) and line not in _plain(d.title + (d.notice_title or "")), (d.number, line)
    # a 批复 is its decision; a plan with a 发展目标 section shows it
    ans = assistant.ask("临兰政字〔2022〕36号批复的主要内容是什么?")
    assert "原辖区管理范围不变" in ans.text and "2022年8月18日" in ans.text
    _consistent(ans)
    ans = assistant.ask("招政发〔2022〕9号讲了什么")
    assert "主要目标（二、发展目标）：" in ans.text and "1800" in ans.text
    _consistent(ans)
    # … and one whose targets are an item labelled so (二、基本原则、任务目标和时间要求 / 2. 任务目标：…); a
    # compilation's "1. 明确任务目标" deep inside one measure is not the document's
    ans = assistant.ask("招政办字[2022]10号讲了啥")
    assert "主要目标（二、2.）：完成投保人数 80000 人" in ans.text, ans.text
    _consistent(ans)
    assert "主要目标" not in assistant.ask("《周村区落实省“稳中求进”高质量发展政策清单（第一批）实施方案汇编》是哪个单位发的？").text
    # a section that calls itself the main content (二、主要内容) is shown after the purpose, headed as printed
    ans = assistant.ask("临兰统字（2022）9号主要讲了什么？")
    assert "二、主要内容：针对统计造假" in ans.text and "四个必查" in ans.text, ans.text
    _consistent(ans)
    ans = assistant.ask("青政办发（2020）16号讲了啥")
    assert "一、主要内容：按照深化医药卫生体制改革" in ans.text and "一、主要内容：一、" not in ans.text, ans.text
    # a goal section split at the token limit: the targets of its later piece are shown too, under one citation
    ans = assistant.ask("青岛自然资源资产产权制度改革那个方案讲了啥")
    goal = next(line for line in ans.text.split("\n") if line.startswith("主要目标"))
    assert "到2025年，全面建立归属清晰" in goal and re.findall(r"\[\d+\]", goal) == [goal[-3:]], goal
    _consistent(ans)
    # a document without sections: what its "具体情况如下：" announces is what it is about
    ans = assistant.ask("汪政发〔2022〕61 这个文件是说的啥事？")
    assert ans.intent == "by-doc" and "具体情况如下:许家寨村" in ans.text and "需增设村卫生室一处。[1]" in ans.text
    assert "2022年7月29日" not in ans.text.split("主要内容：")[1]  # the statements, not the date under them
    assert "其他内容" not in ans.text  # what it announces is already shown
    _consistent(ans)
    # … and one whose decisions follow its purpose, in its text or its attachment: shown after it in their own words
    ans = assistant.ask("青政发〔2020〕13号这份通知讲的是什么")
    more = next(line for line in ans.text.split("\n") if line.startswith("其他内容："))
    assert "一次赋权、分批承接" in more and "2020年10月底前" in more and re.findall(r"\[\d+\]", more) == [more[-3:]], more
    _consistent(ans)
    ans = assistant.ask("周政办字（2017）143号是一份什么文件")
    more = next(line for line in ans.text.split("\n") if line.startswith("其他内容："))
    assert "由区人社局负责牵头落实" in more and "门卫保安" not in more, more  # a statement, not the table's rows
    _consistent(ans)
    # … and a notice that publishes a list: its "名单（共10名）公布如下：", then the entries one by one
    ans = assistant.ask("周政办字[2017]156 公布的是个啥名单？一共几个人")
    assert "主要内容：经区人才工作领导小组研究" in ans.text and "（共10名）" in ans.text, ans.text
    assert "尹晶（女），淄博广晟生物科技有限公司；毕娟（女）" in ans.text and "南谢村。[1]" in ans.text
    _consistent(ans)


def test_comparison_within_one_district_has_a_side_per_document(assistant):
    # both plans are 兰山区's: one side per document, not one per region
    ans = assistant.ask("方城镇同利村与吉乐庄村两份村庄规划批复相比,永久基本农田保护面积各是多少?")
    assert ans.intent == "comparison" and not ans.refused
    assert {c.doc_number for c in ans.citations} >= {"临兰政字〔2022〕33号", "临兰政字〔2022〕34号"}
    assert "147.09" in ans.text and "130.37" in ans.text
    _consistent(ans)


def test_a_comparisons_side_is_the_article_that_says_it_not_a_one_line_sibling(assistant):
    # 养犬 二、（一）2. "除重点管理区以外的区域均为一般管理区" ranks first on its heading alone; the side
    # is 1., which draws the zone (国大路以南…), beside the fireworks zone (普照路以北…)
    ans = assistant.ask("招远城区的烟花爆竹禁放区和养犬重点管理区，划定的范围一样吗？")
    assert ans.intent == "comparison"
    assert "国大路以南" in ans.text and "普照路以北" in ans.text
    assert any(c.locator == "二、（一）1." for c in ans.citations)
    _consistent(ans)
    # … however weakly 1. scores against the chat wording: of a side's articles, the one drawing the bounds
    for q in ("问一下，城里养狗的重点管理区跟不让放鞭炮的禁放区是不是一个范围？", "养犬重点管理区与烟花爆竹禁放区的四至边界有什么不同？"):
        ans = assistant.ask(q)
        assert "国大路以南" in ans.text and "鑫汇路以南" in ans.text, ans.text
        _consistent(ans)


def test_a_cited_run_of_items_is_quoted_with_the_article_that_announces_them(assistant):
    # "第十一条（一）–（三）" (抢救费用超过交强险责任限额的；…) does not say what the items are for: the article's
    # lead does ("有下列情形之一的，…可以自…30个工作日内…申请垫付…："), so the article is cited whole
    ans = assistant.ask("家里老人被车撞了，撞人的车没上交强险，抢救费能找救助基金先垫吗？要满足啥条件？")
    assert "30个工作日内" in ans.text and "肇事机动车未参加交强险" in ans.text, ans.text
    assert not any("–" in c.locator for c in ans.citations), [c.locator for c in ans.citations]
    _consistent(ans)


def test_an_article_announcing_a_list_is_judged_with_its_items(assistant):
    # "第二条 扶持条件：" alone says nothing; with its items 1.–4. it answers the question
    q = "招政发〔2022〕11号《全市重点项目建设专项扶持资金补助办法》规定的扶持条件有哪些？"
    query, result = assistant.retrieve(q)
    ev = {e.hit.chunk.locator: e for e in assistant.decide(q, query, result).evidence}
    assert "第二条" in ev and ev["第二条"].slot
    ans = assistant.ask(q)
    assert "总投资亿元以上" in _plain(ans.text) and "完工投产" in ans.text, ans.text
    _consistent(ans)


def test_answer_layout_comes_from_settings(assistant):
    from qa.answer.pipeline import Assistant

    # the layout is configuration (qa/config.py), not constants in the answerer
    narrow = Assistant(assistant.settings.with_overrides(answer_max_articles=1, broad_items=2), retriever=assistant.retriever)
    assert (narrow.answerer.max_articles, narrow.answerer.broad_items) == (1, 2)
    ans = narrow.ask("招远对生物医药企业有什么扶持？")
    assert len([ln for ln in ans.text.split("\n") if re.match(r"^\d+\. ", ln)]) == 2
    assert len(narrow.ask("青岛哪些地方不能卖活禽？").citations) >= 1


def test_a_last_article_is_quoted_without_signature_and_web_widgets(assistant):
    from qa.answer.quote import whole

    lib = assistant.answerer.library
    d = next(d for d in lib.by_id.values() if d.number == "临兰政办发〔2022〕3号")
    last = next(c for c in lib.chunks(d.doc_id) if c.locator == "六、20.")
    assert "朗读" in last.text and "此件公开发布" in last.text  # the source has them after the article
    assert whole(last, d).endswith("按照从优不重复原则执行。")
    # a broad answer names the document's other measures, never a bare number ("3.")
    ans = assistant.ask("兰山区出了哪些纾困帮扶政策?")
    assert ans.intent == "broad"
    rest = next(ln for ln in ans.text.split("\n") if ln.startswith("该文件还规定了"))
    assert "稳岗返还" in ans.text and "免征小规模纳税人增值税" in rest and not re.search(r"[；：]\d+[.、]；", rest)
    _consistent(ans)


def test_a_passage_published_in_traditional_characters_reads_in_simplified(assistant):
    # the 青岛 gazette's pages on 5G高新视频 are in 繁體; the citation keeps the source's characters
    from qa.answer.compose import TRADITIONAL_NOTE
    from qa.text import to_simplified

    ans = assistant.ask("青岛中国广电5G高新视频实验园区有什么扶持政策？")
    assert any(c.quote != to_simplified(c.quote) for c in ans.citations)  # a traditional source was cited
    assert to_simplified(ans.text) == ans.text and ans.text.endswith(TRADITIONAL_NOTE)
    assert "争取国家广电总局" in ans.text
    _consistent(ans)


def test_a_simplified_answer_carries_no_script_note(assistant):
    from qa.answer.compose import TRADITIONAL_NOTE

    ans = assistant.ask("新上黄金深加工项目，设备投资能补多少？")
    assert TRADITIONAL_NOTE not in ans.text


def test_a_question_for_an_office_s_telephone_gets_the_article_with_it(assistant):
    ans = assistant.ask("想问问兰山的招生办，咨询电话是多少？")
    assert ans.intent == "contact" and ans.coverage == "full"
    assert "0539-8184032" in ans.text.split("\n")[0]
    _consistent(ans)


def test_a_card_shows_what_the_issued_document_says_of_itself_after_the_notice(assistant):
    # the compilation's own opening, after the covering notice's purpose: how many new policies, from when
    ans = assistant.ask("《周村区落实省稳中求进高质量发展政策清单(第一批)实施方案汇编》讲了什么？")
    plain = _plain(ans.text)
    assert "前言写明" in ans.text and "共计56项" in plain and "2022年1月1日起实施" in plain
    _consistent(ans)
    # a preamble that only says what the document is for again ("为…制定本方案") adds no line
    assert "前言写明" not in assistant.ask("临兰统字[2022]9号 讲了什么").text


def test_a_roster_attachment_answers_only_questions_about_people(assistant):
    # 义堂镇 repeats down the 附件's member list: it must not outrank the measures for a question about them …
    ans = assistant.ask("义堂镇飞线都有哪几种整治办法？")
    assert "入地" in ans.text and "捆套" in ans.text
    assert not any(c.locator == "附件" for c in ans.citations), [c.locator for c in ans.citations]
    # … and still answers one about who is in the group
    assert "孙伯成" in assistant.ask("义堂镇飞线专项整治领导小组组长是谁？").text


def test_a_named_document_asked_when_it_was_issued_gets_its_card_unhedged(assistant):
    ans = assistant.ask("招政发[2022]16 主要讲了什么？什么时候印发的？")
    assert ans.intent == "by-doc" and ans.coverage == "full"
    assert ans.text.startswith("《招远市残疾人事业发展“十四五”规划》（招政发〔2022〕16号）") and "2022年3月30日" in ans.text
    _consistent(ans)


def test_a_question_about_two_bodies_cites_each(assistant):
    # two joint meetings of two documents, asked in one question: the answer cites both documents
    ans = assistant.ask("青岛市道路交通事故社会救助基金联席会议和预防学生溺水工作联席会议，办公室各自设在哪里？")
    numbers = {c.doc_number for c in ans.citations}
    assert {"青政办发〔2020〕12号", "青政办字〔2020〕87号"} <= numbers, ans.text
    assert "市公安局" in ans.text and "市教育局" in ans.text
    _consistent(ans)


def test_an_item_is_introduced_with_the_section_it_sits_in(assistant):
    # 2. 负责所管辖大中型水库的安全监管… is the duty of the section "（十）水务管理部门", which only the heading says
    ans = assistant.ask("青岛的大中型水库防学生溺水归哪个部门负责？")
    line = next(ln for ln in ans.text.split("\n") if "大中型水库" in ln)
    assert "（职责分工·水务管理部门）规定：" in line
    _consistent(ans)


def test_an_items_own_number_is_said_once():
    from qa.answer.quote import strip_locator

    assert strip_locator("（二）强化督导。各镇…", "三、（二）") == "强化督导。各镇…"
    assert strip_locator("(二) 强化督导。", "三、（二）") == "强化督导。"  # either bracket style
    assert strip_locator("4．对新认定的…", "二、（一）4.") == "对新认定的…"
    assert strip_locator("五、附则：本方案…", "五、") == "附则：本方案…"
    assert strip_locator("第九条 本办法…", "第九条") == "本办法…"
    assert strip_locator("4.5万元以内的…", "二、4.") == "4.5万元以内的…"  # a sum, not item 4
    assert strip_locator("（三）加强…", "三、（二）") == "（三）加强…"  # another item's number stays
    assert strip_locator("（二）", "三、（二）") == "（二）"  # nothing left to quote: unchanged


def test_a_card_quotes_a_purpose_wrapped_mid_word_from_its_start(assistant):
    # the fireworks opinion's first statement is printed over two lines, broken inside 烟花爆 / 竹
    ans = assistant.ask("招政办字(2022)3号这个意见讲的是啥？")
    line = next(ln for ln in ans.text.split("\n") if ln.startswith("主要内容："))
    assert line.startswith("主要内容：《烟台市人民代表大会常务委员会关于修改〈烟台市燃放烟花爆竹管理条例〉的决定》"), line
    _consistent(ans)


def test_section_title_names_only_what_the_quote_does_not_show():
    from qa.answer.quote import section_title
    from qa.models import Chunk

    def chunk(path: list[str]) -> Chunk:
        return Chunk("c", "d", "x", path, "", "", 0, 0)

    under = chunk(["关于建立预防学生溺水长效工作机制的通知", "二、职责分工", "（十）水务管理部门", "2."])
    assert section_title(under, "2. 负责所管辖大中型水库的安全监管") == "职责分工·水务管理部门"
    assert section_title(under, "水务管理部门负责…", depth=1) == ""  # the quote names it
    own = chunk(["意见", "三、推进措施", "（一）强化招商引资", "1. **鼓励项目引进合作"])
    assert section_title(own, "1. 鼓励项目引进合作。鼓励…") == ""  # its own heading opens the quote
    assert section_title(chunk(["意见"]), "正文") == ""  # never the document's title


def test_a_broad_answer_reads_its_document_past_the_first_hits(assistant):
    q = "兰山区出了哪些纾困帮扶政策?"
    query, result = assistant.retrieve(q)
    d = assistant.decide(q, query, result)
    doc = d.cited[0].hit.document.doc_id
    measures = assistant.measures(q, d).evidence
    assert d.intent.kind == "broad" and measures
    assert all(e.hit.document.doc_id == doc for e in measures)
    first = {e.hit.chunk.chunk_id for e in d.evidence if e.hit.document.doc_id == doc}
    assert len({e.hit.chunk.chunk_id for e in measures} - first) >= 4  # measures the first hits did not reach


def test_a_broad_answer_from_a_regulation_lists_measures_not_its_scope(assistant):
    # 第二条 "在本市行政区域内从事…适用本办法。本办法所称…" says what the regulation covers, not what it does
    ans = assistant.ask("青岛对搞农业废弃物回收利用的企业有啥支持政策？")
    assert ans.intent == "broad"
    items = [ln for ln in ans.text.split("\n") if re.match(r"\d+\. ", ln)]
    assert items and not any(ln.startswith(tuple(f"{n}. 第二条" for n in range(1, 9))) for ln in items), ans.text
    assert any("鼓励" in ln for ln in items)
    locators = [ln.split("：")[0].split(". ", 1)[1] for ln in items]
    assert len(locators) == len(set(locators))  # a split article (第四条) is one measure, not two lines
    _consistent(ans)


def test_a_yes_no_question_asks_the_modal_of_its_last_clause():
    from qa.answer.compose import _asked_modals, _verdict_rules

    _, asks = _verdict_rules()
    permission, obligation = 0, 1  # qa/data/verdicts.toml [asks], in order
    # the story first ("要做变更"), the question last ("能变吗"): may I, not must I
    assert [n for _, n in _asked_modals("我们的项目要做设计变更，建设单位自己批了就能变吗？", asks)] == [permission]
    assert [n for _, n in _asked_modals("我家狗要办证吗？", asks)] == [obligation]
    assert _asked_modals("周村有哪些稳增长政策？", asks) == []


def test_who_leads_an_item_is_quoted_from_the_line_closing_it(assistant):
    # the compilation quotes the province's policy with the province's lead (省税务局); who acts in the
    # district is said once, in the line closing the item: "（区税务局牵头，联系人：…，联系电话：…）"
    ans = assistant.ask("我是小规模纳税人，月销售额不到15万，免征增值税这事在周村该找哪个部门咨询？")
    assert "区税务局牵头，联系人" in ans.text and "6431121" in ans.text
    _consistent(ans)
    # … its own item's line, not the one of the item before it
    ans = assistant.ask("我们是外资企业，想申请总部经济的支持政策，在周村区该找哪个部门对接？")
    assert "6195136" in ans.text
    # a question that asks no one's name gets no such line
    ans = assistant.ask("小规模纳税人月销售额多少以下免征增值税？")
    assert "联系人" not in ans.text


def test_a_higher_levels_policy_asked_about_the_place_says_who_carries_it_out_there(assistant):
    # the compilation quotes the province's policy with the province's lead (省发展改革委); a question
    # about 周村 also gets the district's lead, from the line closing the item ("（区发展改革局牵头，联系人：…）")
    ans = assistant.ask("我们打算在周村办普惠托育机构，要是进了国家普惠托育专项，每个托位能补多少钱？")
    assert "每个托位1万元" in ans.text and "区发展改革局牵头" in ans.text
    _consistent(ans)
    # without the place the province's policy is the answer, and nothing more is added
    ans = assistant.ask("列入国家普惠托育专项的项目每个托位补助多少？")
    assert "每个托位1万元" in ans.text and "区发展改革局" not in ans.text


def test_a_second_figure_asked_for_is_answered_by_the_article_that_states_it(assistant):
    # 第十一条 names 丧葬费用 among what the fund advances, without a sum: the 丧葬费 ask is answered by
    # 第十三条 (6倍 of the monthly wage), cited beside 第十二条 for the 抢救费
    ans = assistant.ask("交通事故救助基金垫付抢救费最多垫多少？丧葬费又最多能垫多少？")
    cited = [c.locator for c in ans.citations]
    assert "第十三条" in cited and "第十二条" in cited, cited
    assert "6倍" in ans.text and "10万元" in ans.text


def test_no_outline_heading_ends_with_a_colon(assistant):
    # "(一) 即办件:" in a document card's 主要章节 would read "即办件:；(二) 承诺件:；" (a dangling colon)
    lib = assistant.library
    ends = [(d.number, h) for d in lib.by_id.values() for _, h in lib.outline(d.doc_id) if h.endswith((":", "："))]
    assert not ends, ends[:5]


def test_a_flattened_table_with_numbered_rows_is_quoted_row_by_row(assistant):
    # PDF extraction left the 目录 as one "cell |" line per cell: quoted as rows, not cells glued by "：/，"
    from qa.answer.quote import whole

    lib = assistant.answerer.library
    doc = next(d for d in lib.by_id.values() if d.number == "临兰政办字〔2022〕36号")
    table = next(c for c in lib.chunks(doc.doc_id) if "序号 |" in c.text and "区发改局 |" in c.text)
    text = whole(table, doc)
    assert "（序号、重大行政决策事项、承办单位）1. 兰山区省级“十四五”服务业综合改革试点实施方案，区发改局；2. " in text, text
    assert "|" not in text and "6. 兰山区“十四五”生态环境保护规划，兰山生态环境分局；7. " in text
    # cells that do not fall into numbered rows of one width are read as text: in their order, bars gone
    other = next(c for d in lib.by_id.values() for c in lib.chunks(d.doc_id) if c.text.count(" |\n") >= 6 and c is not table)
    cells = [ln.strip().rstrip("|").strip() for ln in other.text.splitlines() if ln.strip().endswith("|")]
    shown = whole(other, lib.by_id[other.doc_id])
    assert "|" not in shown and all(c in shown for c in cells if c), shown
    ans = assistant.ask("兰山区人民政府2022年重大行政决策事项目录共列入哪些事项?")
    assert ans.intent == "list" and "企业上市五年行动计划" in ans.text and "临沂市畜牧局旧住宅区棚改项目二期" in ans.text
    _consistent(ans)


def test_a_list_named_by_its_count_finds_the_article_enumerating_it_beyond_the_first_hits(assistant):
    # "好几个“一”，都是哪几个": the words of the answer (一次告知、一套材料…) are not the question's, so the
    # article enumerating them ranks below the first hits; it is found in the documents retrieved
    # (whether it is among the first hits varies with the index a machine builds: it is taken out of them here)
    from qa.retrieve.intent import slogan_items

    question = "我想开个小饭馆，听说现在搞“一业一证”能省事，说是要做到好几个“一”，都是哪几个啊？"
    query, result = assistant.retrieve(question)
    hits = [h for h in result.hits if "一次告知、一套材料" not in h.chunk.text]
    a = result.analysis
    found = assistant.enumeration(query, a.intent, slogan_items(question), hits, [], a.regions, a.named_documents)
    assert found and "一次告知、一套材料" in found[0].hit.chunk.text and found[0].hit.chunk.chunk_id not in {h.chunk.chunk_id for h in hits}
    ans = assistant.ask(question)
    assert ans.intent == "list" and not ans.refused
    assert "一次告知、一套材料、一窗受理、一同核查、一网联动、一证准营" in ans.text
    assert ans.citations[0].doc_number == "青政办字〔2020〕77号" and ans.citations[0].locator == "三、"
    _consistent(ans)


def test_each_of_two_things_compared_is_searched_for_on_its_own(assistant):
    # the whole question's words favour the traffic-fund document, whose articles fill the first hits;
    # the 医保 joint meeting's office (设在市医保局) is found by a search for that side alone
    ans = assistant.ask("交通事故社会救助基金联席会议和医疗保障基金监管联席会议，办公室各自设在哪个部门？")
    assert not ans.refused
    numbers = {c.doc_number for c in ans.citations}
    assert {"青政办发〔2020〕12号", "青政办字〔2020〕82号"} <= numbers, numbers
    assert "联席会议办公室设在市医保局" in ans.text
    _consistent(ans)


def test_a_broad_question_judged_partial_still_lists_its_documents_measures(assistant):
    # the coverage model hedges it, but one nearest article (调优农业种植结构) held a fraction of the
    # answer: the hedged answer lists the measures found in the document, 农机购置与应用补贴 among them
    ans = assistant.ask("俺们是种粮合作社，兰山今年对农业这块有啥扶持？")
    assert ans.intent == "broad" and ans.coverage == "partial", (ans.intent, ans.coverage)
    assert ans.text.startswith("以下规定与问题最接近")
    items = [ln for ln in ans.text.split("\n") if re.match(r"\d+\. ", ln)]
    assert len(items) >= 4 and "相关措施：" in ans.text, ans.text
    assert "农机购置与应用补贴" in ans.text
    _consistent(ans)


def test_a_measure_retrieved_only_by_its_responsibility_tail_is_named_by_its_lead(assistant):
    # 二、（二） was split at the token limit and only its "（责任单位：…）" tail retrieved: the outline line
    # names the measure by its lead instead of listing departments alone
    ans = assistant.ask("俺在工地干活，老板拖了好几个月工钱，去年的也没给，青岛这边对农民工讨薪都有啥政策？")
    items = [ln for ln in ans.text.split("\n") if re.match(r"\d+\. ", ln)]
    assert items and not [ln for ln in items if re.match(r"\d+\. [^：]+：\s*[（(]责任单位", ln)], items
    assert any("建立信息化平台监管机制" in ln for ln in items), items
    _consistent(ans)


def test_a_flattened_table_without_numbered_rows_is_quoted_without_its_cell_bars(assistant):
    # the 任务分解表 of 临兰政办字〔2022〕24号 is "cell |" lines with empty "||" rows: quoted as text, each
    # cell's bar gone, while the citation still quotes the source verbatim
    from qa.answer.quote import uncell, whole

    assert uncell("工作要求 | 责任单位 | |") == "工作要求，责任单位" and uncell("||") == ""
    lib = assistant.answerer.library
    doc = next(d for d in lib.by_id.values() if d.number == "临兰政办字〔2022〕24号")
    table = [c for c in lib.chunks(doc.doc_id) if c.text.count(" |") >= 4]
    assert table and all("|" not in whole(c, doc) for c in table)
    ans = assistant.ask("想看看政府公开的文件纸质版,兰山有哪些地方能查?")
    assert "区档案馆" in ans.text and "|" not in ans.text, ans.text
    assert any("|" in c.quote for c in ans.citations)


def test_a_tables_rules_tabs_and_label_cells_do_not_reach_the_answer(assistant):
    # "|------|------|" is a rule, not text; "组长： | 刘伟" reads "组长：刘伟", not "组长：，刘伟"; a cell's "—"
    # (no value) stays
    from qa.answer.quote import whole
    from qa.models import Chunk

    text = "一、领导小组：\n|-----------|-----------|\n| 组长： | 刘伟 |\n| 培训人数(人/次) | — | >900 |"
    shown = whole(Chunk("c", "d", "一、", ["t", "一、领导小组："], text, text, 0, len(text)), None)
    assert "---" not in shown and "组长：刘伟" in shown and "(人/次)，—，>900" in shown, shown
    # a table printed with tabs: its cells read apart and its rows one after another, never glued
    lib = assistant.answerer.library
    doc = next(d for d in lib.by_id.values() if d.number == "招政办发〔2022〕7号")
    table = next(c for c in lib.chunks(doc.doc_id) if "\t≥ 30 平方米\t" in c.text)
    assert "面积，≥ 30 平方米，约束性；每万名城镇常住人口拥有社区工作者，18 人，预期性" in whole(table, doc)
    # … and an excerpt finds such a row in the article as quoted, cells apart
    from qa.answer.quote import excerpt, own_text
    from qa.text import sentences

    row = next(s for s in sentences(own_text(table)) if "\t18 人" in s)
    shown, used = excerpt(table, [row], 240, doc)
    assert used == [row] and "社区工作者，18 人，预期性" in shown, shown
    ans = assistant.ask("招远城乡社区服务体系规划定的指标里，社区综合服务设施面积要达到多少？")
    assert "\t" not in ans.text and "≥ 30 平方米" in ans.text, ans.text
    # an outline heading that ends in "；" is not followed by a second one
    ans = assistant.ask("招政发〔2022〕11号讲了什么")
    assert "；；" not in ans.text and "主要章节：" in ans.text, ans.text


def test_a_line_wrapped_before_de_is_joined_without_a_colon(assistant):
    # "3. 取缔和关停无营业执照开设" / "的选（洗）砂场…" is one sentence the source wrapped: no "开设：的"
    from qa.answer.quote import whole

    lib = assistant.answerer.library
    doc = next(d for d in lib.by_id.values() if d.number == "招政办发〔2022〕3号")
    chunk = next(c for c in lib.chunks(doc.doc_id) if "无营业执照开设\n" in c.text)
    assert "无营业执照开设的选（洗）砂场" in whole(chunk, doc)


def test_a_sentence_wrapped_mid_word_is_joined_as_one(assistant):
    # "…指导和" / "监督,对委托实施…", "…、定点免疫" / "机构公布和…": the source broke one sentence; a roster's
    # "…副市长" / next name, a table's cells and a heading before its text keep their marks
    from qa.answer.quote import _join, whole

    lib = assistant.answerer.library
    for number, joined in (("青政发〔2020〕13号", "加强对赋权事项的指导和监督,"), ("招政办字〔2022〕2号", "定点免疫机构公布")):
        doc = next(d for d in lib.by_id.values() if d.number == number)
        assert any(joined in whole(c, doc) for c in lib.chunks(doc.doc_id)), number
    assert _join(["一、总体要求", "坚持以人民为中心，统筹推进。"], False) == "一、总体要求：坚持以人民为中心，统筹推进。"
    assert "副大队长李" not in _join(["张某某市交警支队直属一大队副大队长", "李某某，区司法局副局长，负责协调。"], False)
    assert "单位五、" not in _join(["各项工作要落实到每一个具体的责任单位", "五、强化保障，抓好落实。"], False)
    # "13. 深化工业与互联网融合发" / "展。推广运用…": a word broken after its heading's first characters, no "发：展"
    doc = next(d for d in lib.by_id.values() if d.number == "招政发〔2022〕9号")
    assert any("融合发展。推广运用" in whole(c, doc) for c in lib.chunks(doc.doc_id))
    assert _join(["城乡社区服务体系主要发展指标", "指标，2025 年，属性"], False).startswith("城乡社区服务体系主要发展指标：")


def test_a_notice_quoted_for_a_question_drops_its_head_addressee_and_attachment_list(assistant):
    # the head printed as "青岛市人民政府关于…的通知 / (2020 年 9 月 18 日) / 青政发〔2020〕13 号", the addressee
    # under it ("区政府有关部门：") and "附件：…分配表周村区人民政府办公室" before the signature are no answer text
    from qa.answer.quote import whole

    lib = assistant.answerer.library
    for number, first in (("青政发〔2020〕13号", "根据市人大常委会"), ("周政办字〔2017〕143号", "为进一步贯彻落实")):
        doc = next(d for d in lib.by_id.values() if d.number == number)
        text = whole(lib.chunks(doc.doc_id)[0], doc)
        assert text.startswith(first) and "附件" not in text, text[:120]


def test_list_items_of_a_roster_are_joined_as_items(assistant):
    # "- 王志乐 …研究员" / "- 王国华 …教授": one item after another, not "研究员：王国华" as if a heading led a sentence
    from qa.answer.quote import whole

    lib = assistant.answerer.library
    doc = next(d for d in lib.by_id.values() if d.number == "青政字〔2020〕23号")
    chunk = next(c for c in lib.chunks(doc.doc_id) if "- 王国华" in c.text)
    text = whole(chunk, doc)
    assert "研究员；王国华上海海事大学教授；王敬波" in text and "研究员：王国华" not in text, text[:300]


def test_a_rung_is_read_in_the_questions_unit():
    from qa.answer.compose import rung

    assert rung("投资强度每亩270万左右", "3. 投资强度达到 260 万元/亩(含)以上的, 给予…8%的专项扶持资金补助。")[:2] == (260.0, 270.0)
    assert rung("投资了270万", "投资强度达到 260 万元/亩(含)以上的") is None  # 万元/亩 needs 亩
    assert rung("每亩270万", "达到320万元/亩(含)以上的给予12%；达到280万元/亩(含)以上的给予10%") is None  # a ladder in one article


def test_the_rung_a_projects_figure_reaches_answers_it(assistant):
    # 第三条 sets 320 / 280 / 260 万元/亩 rungs in three articles: 270 reaches 260 (8%), 290 reaches 280 (10%)
    for figure, reached, above in (("270", "260万元/亩", "280万元/亩"), ("290", "280万元/亩", "320万元/亩")):
        ans = assistant.ask(f"我们是省重点项目，投资强度每亩{figure}万左右，重点项目专项扶持资金能补百分之几？")
        passages = [c.passage.replace(" ", "") for c in ans.citations]
        assert reached in passages[0], ans.text
        assert not any(above in p for p in passages), ans.text


def test_the_lead_of_the_item_asked_is_the_line_after_it_not_an_earlier_items(assistant):
    # 三、（五）1. lists (4)…(7) with a lead line after each; (7)'s "(牵头单位:区人社局…)" opens the next piece,
    # while the piece quoting (7) also holds (4)'s "(牵头单位:区司法局…)"
    ans = assistant.ask("《兰山区“十四五”儿童发展规划》中“禁止使用童工，维护未成年工的合法权益”这一目标由哪个部门牵头？")
    assert "牵头单位:区人社局" in ans.text, ans.text


def test_a_broad_question_narrowed_to_a_subject_leads_with_its_measures(assistant):
    # "融资这块": 三、（二）加强金融支持 (4. 产业基金, 5. 信贷, 6. 贷款贴息), which the question's other words
    # (企业, 入驻, 产业园) outrank in a search of the whole question
    ans = assistant.ask("我们是黄金珠宝深加工企业，打算入驻招远黄金深加工产业园，融资这块市里都有哪些扶持？")
    locators = [c.locator for c in ans.citations]
    assert {"三、（二）4.", "三、（二）6."} <= set(locators), locators


def test_a_subject_that_is_the_documents_theme_narrows_nothing(assistant):
    # "农业这块" of the agricultural plan says what most of its measures found are about: no narrowing;
    # "融资这块" of the gold opinion is one of its sections (三、（二）加强金融支持): a narrowing, decided
    # once by Assistant.measures and read by the outline
    from qa.retrieve.intent import narrows

    def measures(question: str):
        query, result = assistant.retrieve(question)
        return assistant.measures(question, assistant.decide(question, query, result))

    farm = measures("俺们是种粮合作社，兰山今年对农业这块有啥扶持？")
    gold = measures("我们是黄金珠宝深加工企业，打算入驻招远黄金深加工产业园，融资这块市里都有哪些扶持？")
    assert farm.evidence and gold.evidence
    assert farm.subject == []
    assert "融资" in gold.subject
    assert not narrows([], [e.hit.chunk for e in gold.evidence])


def test_the_document_a_question_names_by_title_answers_before_another_on_the_same_work(assistant):
    # 周村's 营商环境 plan also has an article on 一窗受理 that outscores it; the 一窗受理 plan itself lists the areas
    ans = assistant.ask("我们公司经常去周村区政务服务中心办事，听说搞了“一窗受理”改革，大厅按功能分成了几个综合受理区？分别是哪些？")
    assert ans.citations[0].doc_number == "周政办字〔2017〕146号"
    assert "不动产登记服务" in ans.text.split("\n")[0]


def test_a_sum_asked_with_the_office_that_pays_it_also_quotes_the_office(assistant):
    # 招远's 市场主体培育扶持办法: the sum is in 一、（三）, the office in the duties clause of 二、（三）
    # ("物流企业补助由市发展和改革委员会负责"), which scores low as an answer to a question about a sum
    ans = assistant.ask("招远的物流企业首次评上国家5A级，这笔补助找哪个部门兑现？能给多少？")
    assert ans.coverage == "full"
    assert "20万元" in ans.text and "物流企业补助由市发展和改革委员会负责" in ans.text
    assert [c.locator for c in ans.citations][:2] == ["一、（三）", "二、（三）"]
    _consistent(ans)


def test_an_article_with_the_figure_leads_only_from_the_best_articles_region(assistant, corpus):
    # 宅基地有偿退出 (青岛, no sum) is the best article; 招远's 厂房补助 holds a sum but answers another question
    from qa.answer.evidence import ArticleEvidence
    from qa.models import Hit
    from qa.retrieve.intent import Intent

    docs = {d.doc_id: d for d in corpus.documents}

    def evidence(number: str, words: str, prob: float, slot: bool, not_in: str = "") -> ArticleEvidence:
        c = next(
            c for c in corpus.chunks
            if docs[c.doc_id].number == number and words in c.text_simplified
            and not (not_in and not_in in c.text_simplified)
        )
        return ArticleEvidence(0, Hit(chunk=c, document=docs[c.doc_id], score=1.0, rank=1), prob, [], slot)

    best = evidence("青政办发〔2020〕17号", "宅基地", 0.9, False)
    other_region = evidence("招政发〔2022〕8号", "厂房补助", 0.8, True)
    intent = Intent(kind="amount", slot="amount")
    assert assistant.answerer.select(intent, [best, other_region], [])[0] is best
    same_region = evidence("青政办发〔2020〕17号", "（市自然资源和规划局", 0.8, True, not_in="宅基地")
    assert same_region.hit.chunk.chunk_id != best.hit.chunk.chunk_id  # another article of the same document
    assert assistant.answerer.select(intent, [best, other_region, same_region], [])[0] is same_region


def test_a_list_answer_does_not_cite_the_covering_notice_after_the_list(assistant):
    # the 目录's own table answers "都有哪些事项"; the notice that publishes it ("…现予以公布") answers nothing asked
    ans = assistant.ask("兰山区2022年重大行政决策事项目录里都有哪些事项？")
    assert ans.citations and ans.citations[0].locator == "前言", [c.locator for c in ans.citations]
    assert "印发通知" not in [c.locator for c in ans.citations]
    assert "服务业综合改革试点实施方案" in ans.text
