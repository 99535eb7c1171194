"""What a question asks for, from its wording (qa/data/intents.toml)."""

from __future__ import annotations

import pytest

from qa.retrieve.intent import aspect_words, aspects, classify, compared_sides


@pytest.mark.parametrize(
    "question, named, kind, slot",
    [
        ("我家狗要办证吗？", False, "yesno", "yesno"),
        ("青岛哪些地方不能卖活禽？", False, "list", "list"),
        ("招远对生物医药企业有什么扶持？", False, "broad", None),
        ("咱们区对养老服务往后有啥规划？", False, "broad", None),
        ("守信的企业在周村能享受到哪些激励？", False, "broad", None),
        ("咱村里搞养殖的，区里都有些啥扶持？", False, "broad", None),  # 有些啥 of chat
        ("新上黄金深加工项目，设备投资能补多少？", False, "amount", "grant"),  # a sum granted
        ("办狗证要交多少钱？", False, "amount", "money"),  # a fee: 免费 answers it
        ("困难残疾人生活补贴每月能领多少钱？", False, "amount", "grant"),  # a subsidy: 免费 does not
        ("每年吸引多少大学毕业生？", False, "amount", "amount"),  # a head count
        # the figure is what is asked, not whether there is a rule: 有没有 does not make the slot yes/no
        ("建充电桩有没有补贴？每个能补多少？", False, "amount", "grant"),
        ("创业担保贷款怎么申请，最多能贷多少？", False, "amount", "amount"),
        # a subsidy asked after a comma or a question mark is still a sum granted, not a head count
        ("社区要配体育指导员吗？指导员有补贴没，一个月给多少", False, "amount", "grant"),
        ("开托育点政府能减房租吗？能减多少？", False, "amount", "grant"),
        # the sum named after 多少, with the giver before it (能给我们多少奖励, 能给减免多少房租)
        ("建个加氢站，区里能给我们多少奖励？", False, "amount", "grant"),
        ("办托育机构，社区能给减免多少房租？", False, "amount", "grant"),
        ("引进的重大项目一事一议，最多能拿到多少扶持资金？", False, "amount", "grant"),  # not a head count (前50名)
        ("入驻园区能领多少钱的补贴", False, "amount", "grant"),
        ("免多少天房租？", False, "deadline", "amount"),  # days, not a sum
        ("城乡公益性岗位计划开发多少个？", False, "amount", "amount"),  # 开发多少个 is a count
        # a fee named in passing asks no amount: the office is what is asked
        ("殡仪馆万一乱收费，归哪个部门管？", False, "department", "department"),
        # 归哪些部门负责 asks the offices as 哪个部门 does; a 哪些 of another thing still asks a list
        ("洪涝灾害这类应急物资归哪些部门负责？", False, "department", "department"),
        ("生物灾害类应急物资都包括哪些？由哪些部门储备？", False, "list", "department"),
        ("临兰司发[2022]15号由哪些单位联合印发?", True, "by-doc", "department"),
        ("哪些单位可以申请这个补贴？", False, "list", "list"),  # who qualifies, not which office
        ("办狗证的费用是多少？", False, "amount", "money"),
        # a share asked for: a percentage answers it, not a sum or a cap
        ("新买的设备在所得税前扣除，能按多大比例扣？", False, "amount", "share"),
        ("行政许可网上办理的比例要达到多少？", False, "amount", "share"),
        # a score asked for (分数线, 多少分): a head count or a sum does not answer it
        ("今年中考普通高中录取分数线是多少？", False, "amount", "score"),
        ("孩子考了560分，公办高中要多少分才能上？", False, "amount", "score"),
        ("专利质押贷款的贴息能补百分之几？", False, "amount", "share"),
        # an explicit may-I / must-I question is yes/no even when it names a period or a sum
        ("补缴的钱能不能分几年交？", False, "yesno", "deadline"),
        ("变更金额比较大，能不能拆成几个小变更分开报？", False, "yesno", "yesno"),  # 金额 in passing asks no sum
        ("想转到同一学区的另一个学校，可以不?", False, "yesno", "yesno"),
        ("青政发〔2020〕13号文件主要讲了什么？", True, "by-doc", None),
        ("青政发〔2020〕13号是关于什么的？", True, "by-doc", None),
        ("听说有个青政办字(2020)71，这文件讲了个啥？", True, "by-doc", None),
        ("周政办字(2017)143这个通知说的是啥？", True, "by-doc", None),  # 说的是 / 讲的是
        ("青政办字(2020)84号是在什么时间发的？", True, "by-doc", "deadline"),  # 什么时间 as 什么时候
        ("临兰统字〔2022〕9号这个方案主要查哪几方面？", True, "by-doc", None),  # its outline answers
        ("招远对残疾人的扶持主要有哪几方面？", False, "list", "list"),
        ("园区重点打造的是哪五大产业板块，看看能不能入驻？", False, "list", "list"),  # 看看能不能: why, not what
        ("临兰政字〔2022〕33号批复的是什么？", True, "by-doc", None),
        ("临兰政字(2022)36号批的是啥？俺们沟上村是不是改成社区了", True, "by-doc", None),
        ("临兰政字〔2022〕36 这个文是说沟上村啥事的?", True, "by-doc", None),
        ("周政办字[2017]156 公布的是个啥名单？", True, "by-doc", None),
        ("招政办字〔2022〕3号由谁在何时印发？", True, "by-doc", "department"),
        ("青政办发[2020]17号 啥时候发的？", True, "by-doc", "deadline"),
        ("这个文件主要讲了什么", False, "general", None),  # by-doc only when a document is named
        ("招远那个黄金深加工扶持意见现在还能申请吗？", True, "validity", "validity"),
        # 到期 / 作废 / 还能享受 ask about a document's term only when the question speaks of a document
        ("那个残疾儿童康复救助方案啥时候到期？", False, "validity", "validity"),
        ("这个扶持政策现在还能享受吗？", False, "validity", "validity"),
        ("公益性岗位干满三年到期了，还能接着干吗？", False, "yesno", "yesno"),
        ("手里的食盐批发许可证是不是马上就作废了？", False, "yesno", "yesno"),
        ("孩子8岁了还能享受康复救助吗？", False, "yesno", "yesno"),
        # … and 什么时候开始执行 of a new system asks its date, of a document its term
        ("新的管理体制从啥时候开始执行？", False, "deadline", "deadline"),
        ("这个办法什么时候开始执行？", False, "validity", "validity"),
        # … and 从啥时候起 of a step of the work asks its date, of a document (or 起施行) its term
        ("没整改到位的，从啥时候起会被列入严重失信名单？", False, "deadline", "deadline"),
        ("这个办法从什么时候起？", False, "validity", "validity"),
        ("市政府令第280号从哪天起施行？", False, "validity", "validity"),
        ("招远和周村对企业上市的奖励分别是多少？", False, "comparison", "grant"),  # each side a sum granted
        ("招政发〔2022〕8号和招政发〔2022〕10号对贷款贴息的规定有什么不同？", True, "comparison", None),
        ("周村和招远的物业覆盖目标有啥不一样？", False, "comparison", None),
        ("两个规划的服务对象有何异同？", False, "comparison", None),
        # two areas compared: each side is answered by an article that draws its bounds
        ("养狗的重点管理区跟放鞭炮的禁放区，划的范围是一样的吗？", False, "comparison", "area"),
        ("俺们平度跟市南区出钱的比例一样不？", False, "comparison", "amount"),
        ("放鞭炮的禁放区和养狗的重点管理区是不是一个范围？", False, "comparison", "area"),
        # … said colloquially: 是一个范围不 / 是不是同一片地方
        ("养狗的重点管理区和禁放区是一个地方不？", False, "comparison", None),
        ("两份方案划的是不是同一片区域？", False, "comparison", "area"),
        # 现行 asks about validity only as a question about the document itself
        ("这个办法现行有效吗", True, "validity", "validity"),
        # … and 还有效的 / 仍然有效的 before a noun names the documents asked about, not their term
        ("这个文件现在还有效吗", True, "validity", "validity"),
        ("各部门还有效的规范性文件要不要在网站上公开？", False, "yesno", "contact"),  # 网站: where
        ("兰山区现行的养犬政策是什么", False, "broad", None),
        ("狗咬人了找谁？", False, "department", "department"),
        ("办狗证要多久", False, "deadline", "deadline"),
        # a month asked for (从几月到几月, 哪个月) is a time: an article without one does not answer it
        ("防汛一般是从几月到几月？", False, "deadline", "deadline"),
        ("补贴哪个月发放", False, "deadline", "deadline"),
        # a time span or a milestone asked for (哪个时间段 / 时间节点) is a time as 什么时候 is
        ("村里的整改要在哪个时间段弄完？", False, "deadline", "deadline"),
        ("这项改革的时间节点是怎么安排的", False, "deadline", "deadline"),
        # 几号 / 哪天 ask for a day: 每月 or a period does not answer them
        ("劳动之星比赛报名到几号截止？", False, "deadline", "date"),
        ("文件有没有规定每月几号前必须报？", False, "deadline", "date"),
        ("菜市场卖活鸡的礼拜几歇业？", False, "deadline", "date"),  # a day of the week
        ("青政办字（2020）83号这个意见是哪天印发的？", True, "by-doc", "date"),
        ("申请补贴需要什么材料", False, "condition", "condition"),
        ("一业一证这个咋申请啊", False, "condition", "condition"),
        ("啥情况下会被取消低保？", False, "condition", "condition"),
        # in chat a yes/no question may end in 不 after its modal, or be 中不中 / 成不成
        ("俺在禁放区开了个小卖部，还能卖点鞭炮不？", False, "yesno", "yesno"),
        ("地里的秸秆一把火烧了，中不中", False, "yesno", "yesno"),
        ("老板说砂石用不完要拉出去卖了，这样行不？", False, "yesno", "yesno"),
        ("这个办法现在还算数不？", True, "validity", "validity"),
        ("养犬登记办公室的电话是多少？", False, "contact", "contact"),
        # 好几万 / 几千人的 tell the story, they ask no sum: a yes/no question stays one (能补几万？ asks one)
        ("住院花了好几万，救助基金能给垫付抢救费不？", False, "yesno", "yesno"),
        ("想搞一场几千人的演唱会，安全许可能不能直接在片区办？", False, "yesno", "yesno"),
        ("能补几万？", False, "amount", "amount"),
        ("残联地址在哪，怎么联系？", False, "contact", "contact"),
        # 前几天 / 好几年 / 这几个月 / 十几年 tell the story, they ask no period; 提前几年 / 能领几年 ask one
        ("上周四晚上，不，前几天吧，厂里有人摔伤了，工伤认定要啥条件？", False, "condition", "condition"),
        ("在这边开店十几年了，门头招牌要换新的，需要审批吗？", False, "yesno", "yesno"),
        ("养老保险能不能把好几年的钱一次交了？", False, "yesno", "yesno"),
        ("残疾人养老金能提前几年领？", False, "deadline", "deadline"),
        ("失业金一般能领几个月？", False, "deadline", "deadline"),
        ("啥样的企业才能申请技改补贴？", False, "condition", "condition"),
        # 讲了什么 / 规定了哪些 ask what a named document says; 规定了哪些<thing> and 说啥时候 ask a list or a date in it
        ("《青岛市活禽交易管理办法》规定了哪些禁止交易的区域？", True, "list", "list"),
        ("青政办字〔2020〕87号说啥时候签责任书？", True, "deadline", "deadline"),
        ("周政办字〔2017〕131号讲的是啥事情啊", True, "by-doc", None),
        # 都用啥办法 asks all the ways, an enumeration; 用啥办法好 alone asks for advice
        ("镇上治理秸秆焚烧都用什么办法？", False, "list", "list"),
        ("村里清理乱堆的柴草垛，都是用啥法子弄的", False, "list", "list"),
    ],
)
def test_kinds_and_slots(question, named, kind, slot):
    intent = classify(question, names_document=named)
    assert (intent.kind, intent.slot) == (kind, slot)


def test_analysis_carries_the_intent(retriever):
    a = retriever.analyzer.analyze("招政发[2022]8号主要内容是什么")
    assert a.intent.kind == "by-doc" and a.named_documents
    two = retriever.analyzer.analyze("兰山区和周村区的防空地下室易地建设费降到多少")
    assert two.intent.kind == "comparison" and two.intent.slot == "amount"


def test_typos_of_everyday_words_are_fixed_and_word_boundaries_are_not(retriever):
    a = retriever.analyzer
    assert a.analyze("养够要上户口吗").corrections == [("养够", "养狗")]
    # the everyday words of dealing with an office are targets too (terms.toml [spelling])
    assert a.analyze("孩子上小学网上报明是哪几天？").corrections == [("报明", "报名")]
    # a dictionary word that is a rare slip of its sound-alike is one too (时侯: 10 in jieba, 时候: 31,521);
    # 截至 beside 截止 is a word of its own
    slip = a.analyze("砂石整治要搞到啥时侯才结束啊")
    assert slip.corrections == [("时侯", "时候")] and slip.intent.kind == "deadline"
    assert a.analyze("截至今年底补贴发了多少").corrections == []
    for q in ("我家狗要办证吗？", "开网吧的,未成年人进网吧被查到店里要罚多少", "今年的演出要在什么时候前演完？"):
        assert a.analyze(q).corrections == [], q


def test_each_of_one_document_is_no_comparison(retriever):
    # 分别 lists what is asked of one document; with two documents or a comparison word it compares
    one = retriever.analyzer.analyze("临兰政字〔2022〕30号批复的村庄规划,总规划用地面积和远期人口容量分别是多少?")
    assert one.intent.kind == "amount"
    two = retriever.analyzer.analyze("方城镇同利村与吉乐庄村两份村庄规划批复相比,永久基本农田面积各是多少?")
    assert two.intent.kind == "comparison"
    assert retriever.analyzer.analyze("招远和周村对企业上市的奖励分别是多少？").intent.kind == "comparison"


def test_an_office_s_telephone_or_address_fills_a_contact_question():
    from qa.answer.evidence import has_slot

    assert has_slot("contact", "工作日咨询电话:0539-8184032。")
    assert has_slot("contact", "招生办公室设在第六中学三级部(银雀山路131号)")
    assert not has_slot("contact", "每人每年补贴 80 元，补贴期限 3 年。")
    assert not has_slot("contact", "受理时间为2022年7月25日。")


def test_an_office_named_as_the_lead_unit_fills_a_department_question():
    from qa.answer.evidence import has_slot

    assert has_slot("department", "区房管局是全区物业管理全覆盖工作的牵头实施单位，负责统筹推进此项工作。")
    assert not has_slot("department", "物业管理全覆盖工作是市委、市政府确定的2017年全市重点工作。")


@pytest.mark.parametrize(
    "question, several",
    [
        ("创业担保贷款最多能贷多少？能贷几年？", True),  # two asked sentences
        ("两个区的联席会议办公室分别设在哪？", True),  # asked of each of two bodies
        ("养老服务补贴各自由哪个部门发放？", True),
        ("我家狗要办证吗？", False),
        ("为什么？因为我想知道补贴标准。", False),  # one asked sentence
    ],
)
def test_several_asks(question, several):
    from qa.retrieve.intent import several_asks

    assert several_asks(question) is several


def test_differences_asked_as_有何差异_compare():
    assert classify("两个村庄规划在生态保护红线上有何差异？").kind == "comparison"


def test_a_list_named_by_its_count_and_first_word():
    from qa.retrieve.intent import slogan_items

    rx = slogan_items("青岛“一业一证”改革要实现的“六个一”具体是哪几个？")
    assert rx is not None and rx.search("实现“一次告知、一套材料、一窗受理、一同核查、一网联动、一证准营”")
    assert not rx.search("统一公布“一业一证”改革指导目录清单，按照“成熟一批，公布一批”的原则")
    assert slogan_items("具体能实现哪几个“一”？") is not None
    assert slogan_items("这几个人是谁") is None and slogan_items("有几个部门负责") is None
    # items may be long ("一个全民健身活动中心、一个灯光篮球场…": 一 and nine more characters)
    four = slogan_items("乡镇“四个一”体育设施具体是哪四样？")
    assert four is not None and four.search("乡镇“四个一”(一个全民健身活动中心、一个灯光篮球场、一个多功能运动场、一个健身广场)")


def test_a_list_asked_by_its_count_is_a_list():
    # "都是哪十件", "是哪四样": the count stands where 哪些 would
    assert classify("听说区里给妇女儿童办十件实事，都是哪十件啊").kind == "list"
    assert classify("这四个一具体是指哪四样?").kind == "list"


def test_asks_who_reads_every_part_of_a_question():
    from qa.retrieve.intent import asks_who

    assert asks_who("一张券最多能补多少钱？区里找谁？") and asks_who("联系电话是多少")
    assert not asks_who("小规模纳税人月销售额多少以下免征增值税？")


@pytest.mark.parametrize(
    "question, words",
    [
        ("入驻招远黄金深加工产业园，融资这块市里都有哪些扶持？", ["融资"]),
        ("兰山区今年在养老和托育这块有啥政策和打算？", ["养老", "托育"]),
        ("想问问区里在创新平台、融资、用地这些方面对科技企业有啥扶持政策?", ["创新平台", "融资", "用地"]),
        ("政府这块有啥支持政策？", []),  # names no subject
        ("有啥扶持政策？", []),
    ],
)
def test_the_subject_a_broad_question_narrows_to(question, words):
    assert aspects(question) == words


def test_a_subjects_words_widen_to_the_documents_and_a_place_or_the_title_is_no_subject():
    assert {"金融", "贴息"} <= set(aspect_words("融资这块有哪些扶持？"))
    assert aspect_words("在周村办事、融资方面能享受到哪些守信激励？", regions=["淄博市周村区"])[0] == "办事"
    assert aspect_words("周村区在普惠金融方面对小微企业有哪些扶持？", title="关于推进普惠金融发展的实施意见") == []


@pytest.mark.parametrize(
    "question, sides",
    [
        ("医保基金监管联席会议和防溺水联席会议，办公室各自设在哪个部门？", ["医保基金监管联席会议", "防溺水联席会议"]),
        ("请比较招远的养犬实施意见与烟花爆竹实施意见在管理区域上的规定", ["招远的养犬实施意见", "烟花爆竹实施意见"]),
        ("青政办字〔2020〕87号跟方政发〔2022〕87号分别怎么规定责任书？", ["青政办字〔2020〕87号", "方政发〔2022〕87号"]),
        ("残疾孩子康复，周村和兰山都咋帮的？", []),  # two places: the region logic compares them
        ("我家狗要办证吗？", []),
    ],
)
def test_the_two_things_a_question_compares(question, sides):
    assert compared_sides(question) == sides


@pytest.mark.parametrize(
    "question, asks",
    [
        ("办电动车牌照要带啥？", True),
        ("申请补贴需要准备哪些资料", True),
        ("进货的活鸭得带什么证明", True),
        ("申报材料都有啥？", True),
        ("社区能提供哪些服务？", False),  # 提供哪些 of a service asks no document
        ("物业费要交啥钱", False),
        ("虚报申请材料的企业还能再申报吗", False),
    ],
)
def test_what_to_bring_or_hand_in_is_asked(question, asks):
    from qa.retrieve.intent import asks_materials

    assert asks_materials(question) is asks


@pytest.mark.parametrize(
    "question, asks",
    [
        ("抢救费最多垫多少？具体是多少钱？", True),
        ("这个补贴能拿几万块？", True),
        ("购房补贴具体能补多少钱啊", True),
        ("丧葬费最多能垫多少钱？", False),  # how it is reckoned (6倍) answers this one
        ("想一次交个几万块，把几年的保费补上行不行", False),  # a sum told, not asked
    ],
)
def test_a_sum_in_yuan_is_insisted_on(question, asks):
    from qa.retrieve.intent import asks_cash

    assert asks_cash(question) is asks
