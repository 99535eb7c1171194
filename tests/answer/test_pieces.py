"""An article split at the token limit is still one article: the piece that says what is asked is
quoted beside the piece retrieval found (qa.answer.library.pieces, EvidenceScorer.with_pieces)."""

from __future__ import annotations

import re

from qa.answer.coverage import Coverage
from qa.models import Hit
from qa.retrieve.intent import classify


def _pension_article(assistant):  # noqa: ANN001, ANN202
    lib = assistant.library
    doc = next(d for d in lib.by_id.values() if "居民养老保险征缴" in d.title)
    first = next(c for c in lib.chunks(doc.doc_id) if c.locator == "三、（二）1.")
    return lib, doc, lib.pieces(first)


def test_pieces_are_the_adjacent_chunks_of_one_article(assistant):
    lib, doc, pieces = _pension_article(assistant)
    assert len(pieces) >= 3
    assert len({(p.locator, tuple(p.heading_path)) for p in pieces}) == 1
    assert all(a.end <= b.start for a, b in zip(pieces, pieces[1:]))
    assert all(lib.pieces(p) == pieces for p in pieces)  # the same article from any of its pieces
    whole = next(c for c in lib.chunks(doc.doc_id) if c.locator != "三、（二）1.")
    assert lib.pieces(whole) == [whole]


def test_the_piece_that_answers_is_quoted_beside_the_one_retrieved(assistant):
    lib, doc, pieces = _pension_article(assistant)
    tiers = next(p for p in pieces if "13000" in p.text)
    subsidy = next(p for p in pieces if "每人每年 80 元" in p.text)
    question = "选择800元以上缴费档次的，市财政每人每年给多少缴费补贴？"
    intent = classify(question)
    hits = [Hit(tiers, doc, 1.0, rank=1)]  # retrieval found only the piece with the tiers
    evidence = assistant.scorer.run(question, intent, hits, [], [])
    cited = assistant.scorer.with_pieces(question, intent, evidence, hits, [], [])
    assert [e.hit.chunk.chunk_id for e in cited] == [tiers.chunk_id, subsidy.chunk_id]
    composed = assistant.answerer.run(question, intent, evidence, Coverage("full"), [], [], cited=cited)
    assert "该条还规定：" in composed.text and "80 元" in composed.text
    # one article, one citation: both lines carry its marker; its passage is the two pieces quoted
    assert [c.chunk_id for c in composed.citations] == [tiers.chunk_id]
    assert composed.text.count("[1]") == 2 and "[2]" not in composed.text
    c = composed.citations[0]
    assert c.passage == "\n".join(p.text for p in pieces if p in (tiers, subsidy))
    assert any(part in subsidy.text for part in c.quote.split("……"))
    assert all(part in c.passage for part in c.quote.split("……"))


def test_a_piece_that_says_less_than_the_one_retrieved_is_left_out(assistant):
    lib, doc, pieces = _pension_article(assistant)
    tiers = next(p for p in pieces if "13000" in p.text)
    question = "居民养老保险符合条件的年补交最高标准是多少？"
    intent = classify(question)
    hits = [Hit(tiers, doc, 1.0, rank=1)]
    evidence = assistant.scorer.run(question, intent, hits, [], [])
    assert [e.hit.chunk.chunk_id for e in assistant.scorer.with_pieces(question, intent, evidence, hits, [], [])] == [tiers.chunk_id]


def test_a_list_question_quotes_every_piece_of_its_first_article(assistant):
    from qa.answer.evidence import LIST_PIECES

    lib, doc, pieces = _pension_article(assistant)
    question = "居民养老保险的缴费档次有哪些？"
    intent = classify(question)
    assert intent.kind == "list"
    hits = [Hit(pieces[0], doc, 1.0, rank=1)]
    evidence = assistant.scorer.run(question, intent, hits, [], [])
    cited = assistant.scorer.with_pieces(question, intent, evidence, hits, [], [])
    # the list runs on past the piece retrieval found: the next pieces follow it, in order
    assert [e.hit.chunk.chunk_id for e in cited] == [p.chunk_id for p in pieces[: 1 + LIST_PIECES]]


def test_a_condition_question_quotes_the_pieces_its_conditions_run_on_into(assistant):
    # 临兰政办发〔2022〕7号's 二、（一）2. lists the entry conditions and the papers for migrant workers' children
    # over several pieces: "(2)所需信息:①身份信息…" ends one, "②从业信息…2022年8月1日前完成办理" opens the next
    ans = assistant.ask("外来务工人员的孩子在兰山上小学要满足什么条件")
    assert ans.intent == "condition"
    assert "(1)报名条件" in ans.text and "②从业信息" in ans.text and "2022年8月1日前完成办理" in ans.text, ans.text


def test_an_item_of_a_list_belongs_to_the_article_announcing_it(assistant):
    lib = assistant.library
    doc = next(d for d in lib.by_id.values() if d.number == "青政办发〔2020〕12号")
    rows = {c.locator: c for c in lib.chunks(doc.doc_id)}
    head = rows["第六条"]
    assert head.text.rstrip().endswith("：")  # "救助基金的来源主要包括："
    assert lib.announcer(rows["第六条（一）"]) == head
    assert lib.announcer(rows["第六条（二）–（七）"]) == head
    assert lib.announcer(head) is None and lib.announcer(rows["第七条"]) is None
    # an article that is only its title announces the items after it ("第七条 变更应提供的资料")
    other = next(d for d in lib.by_id.values() if d.number == "临兰政办发〔2022〕11号")
    rows = {c.locator: c for c in lib.chunks(other.doc_id)}
    assert lib.announces(rows["第七条"]) and lib.announcer(rows["第七条1."]) == rows["第七条"]
    # a preamble ending "…特制定实施意见如下：" announces no list: the sections after it are the document
    plan = next(d for d in lib.by_id.values() if d.number == "招政发〔2022〕9号")
    assert all(lib.announcer(c) is None for c in lib.chunks(plan.doc_id) if len(c.heading_path) <= 2)


def test_a_list_question_answered_by_one_item_gets_the_whole_list(assistant):
    lib = assistant.library
    doc = next(d for d in lib.by_id.values() if d.number == "青政办发〔2020〕12号")
    item = next(c for c in lib.chunks(doc.doc_id) if c.locator == "第六条（一）")
    question = "青岛交通事故救助基金的资金来源包括哪些？"
    intent = classify(question)
    hits = [Hit(item, doc, 1.0, rank=1)]  # retrieval found one item of the list
    evidence = assistant.scorer.run(question, intent, hits, [], [])
    composed = assistant.answerer.run(question, intent, evidence, Coverage("full"), [], [], cited=evidence)
    text = composed.text
    assert re.search(r"第六条(（[^）]*）)?规定：救助基金的来源主要包括：", text), text
    assert "第七条" not in text  # no list of the chapter's bare article numbers after it
    for source in ("交强险保险费", "财政补助资金", "救助基金孳息", "社会捐款"):
        assert source in text, source
    assert [c.locator for c in composed.citations][:1] == ["第六条"]


def test_a_condition_question_answered_by_one_item_gets_every_condition(assistant):
    # "需要满足什么条件": 第二条1. alone is one of four conditions; the article announcing them is quoted
    lib = assistant.library
    doc = next(d for d in lib.by_id.values() if d.number == "招政发〔2022〕11号")
    rows = {c.locator: c for c in lib.chunks(doc.doc_id)}
    question = "总投资1.5个亿的招商项目，想申请重点项目建设专项扶持资金，需要满足什么条件？"
    intent = classify(question)
    assert intent.kind == "condition"
    hits = [Hit(rows["第二条1."], doc, 1.0, rank=1)]
    evidence = assistant.scorer.run(question, intent, hits, [], [])
    composed = assistant.answerer.run(question, intent, evidence, Coverage("full"), [], [], cited=evidence)
    assert "第二条规定：" in composed.text and "扶持条件" in composed.text
    for item in ("总投资亿元以上", "完工投产", "建设年限不超过2年"):
        assert item in composed.text, item
    assert "第三条" not in composed.text  # the next article's amounts are not conditions


def test_items_under_an_article_stay_under_it(assistant):
    # 二、政策适用范围 is followed by 三、's items (三、 has no text of its own): they are not its items
    lib = assistant.library
    doc = next(d for d in lib.by_id.values() if d.number == "招政发〔2022〕10号")
    scope = next(c for c in lib.chunks(doc.doc_id) if c.locator == "二、")
    assert lib.continuation(scope, 10, max_chars=None) == []


def test_a_list_question_gets_the_items_under_a_lead_that_lists_nothing(assistant):
    # "二、主要内容 …围绕“四个必查”内容,…开展全面自查。" lists nothing itself: its (一)–(四) are the list
    ans = assistant.ask("兰山区统计造假不收手不收敛问题专项纠治实施方案中的“四个必查”具体包括哪几项？")
    for item in ("查权力干预", "查执法不严", "查入退库"):
        assert item in ans.text, item
    # … while a lead that is itself the list brings no items of another section
    ans = assistant.ask("招远市生物医药产业政策的适用对象涵盖从事哪些领域的企业和机构？")
    assert "生物制品、化学药物、现代中药" in ans.text and "强化项目引进合作" not in ans.text


def test_a_list_named_by_its_count_is_answered_by_the_article_enumerating_it(assistant):
    ans = assistant.ask("我们准备在青岛开连锁便利店，听说在推“一业一证”改革，具体能实现哪几个“一”？")
    assert "一次告知、一套材料、一窗受理、一同核查、一网联动、一证准营" in ans.text
    assert ans.citations[0].locator == "三、"


def test_a_list_question_about_a_series_is_answered_by_its_items_in_full(assistant):
    # "十件实事都有啥": no article lists them, the series' headings do — an answer, not a hedge
    ans = assistant.ask("兰山区今年给妇女儿童办的十件实事都有啥?")
    assert ans.coverage == "full" and "该文件列出的各项：" in ans.text
    for item in ("“两癌”免费筛查", "康复救助残疾儿童360名", "建设希望小屋100处"):
        assert item in ans.text, item


def test_an_article_short_in_all_is_quoted_whole_in_its_own_order(assistant):
    # 5.6.1 (Ⅱ级应急响应的启动条件) was split at the token limit after its sixth item; the closest piece
    # to "…启动Ⅱ级应急响应" is the tail ((7)(8)), the answer — the typhoon — is in the first piece
    from qa.answer.evidence import PIECE_RATIO

    lib = assistant.library
    doc = next(d for d in lib.by_id.values() if d.number == "临兰政办字〔2022〕26号")
    tail = next(c for c in lib.chunks(doc.doc_id) if c.locator == "5.6.1" and c.text.lstrip().startswith("(7)"))
    pieces = lib.pieces(tail)
    assert len(pieces) == 2 and pieces[-1] == tail
    assert sum(len(p.text) for p in pieces) <= assistant.settings.quote_whole_max_chars
    question = "防汛预案里，台风达到什么程度要启动Ⅱ级应急响应？"
    intent = classify(question)
    hits = [Hit(tail, doc, 1.0, rank=1)]
    evidence = assistant.scorer.run(question, intent, hits, [], [])
    cited = assistant.scorer.with_pieces(question, intent, evidence, hits, [], [])
    assert [e.hit.chunk.chunk_id for e in cited] == [p.chunk_id for p in pieces]
    composed = assistant.answerer.run(question, intent, evidence, Coverage("full"), [], [], cited=cited)
    assert composed.text.index("12~13级") < composed.text.index("(8)其他需要启动")
    # … while a long article keeps to the pieces that say what is asked (PIECE_RATIO of the one found)
    assert PIECE_RATIO > 0 and sum(len(p.text) for p in _pension_article(assistant)[2]) > assistant.settings.quote_whole_max_chars


def test_sentence_weights_do_not_depend_on_the_order_a_set_is_read_in():
    # 0.1 + 0.2 + 0.3 is 0.6000000000000001 or 0.6 by the order of addition, and a set's order follows
    # PYTHONHASHSEED: two pieces scoring the same must tie exactly in every process (same answer each time)
    from qa.answer.evidence import _weighted

    idf = {"甲乙": 0.1, "乙丙": 0.2, "丙丁": 0.3}.__getitem__
    assert _weighted({"甲乙", "乙丙", "丙丁"}, idf) == 0.6
    assert (0.1 + 0.2) + 0.3 != 0.6  # what a plain sum in that order would give
