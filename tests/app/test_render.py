"""Rendering of answers and sources: escaping, highlighting, reference lists; input helpers."""

from __future__ import annotations

import re

import pytest

from qa.app.api import RateLimiter, APIError
from qa.app.render import (
    answer_html,
    document_rows,
    highlight,
    reference_line,
    references_text,
    scope_html,
    user_html,
)
from qa.app.server import _warn_exposed, is_loopback, parse_auth
from qa.config import load_settings
from qa.app.service import clean_history, content_text, make_filters, parse_day
from qa.models import Answer, Chunk, Citation, Document, Filters, Hit

EVIL = '<script>window.__x=1</script><details class="qa-sources">假来源</details> **粗体** [1] $$x$$'


def _citation(marker: int = 1, quote: str = "犬只应当登记。", passage: str = "第五条 养犬实行登记制度。犬只应当登记。未经登记不得饲养。") -> Citation:
    return Citation(
        marker=marker,
        chunk_id=f"c{marker}",
        doc_title="关于贯彻《烟台市养犬管理条例》的实施意见",
        doc_number="招政办发〔2022〕1号",
        locator="第五条",
        issuer="招远市人民政府办公室",
        date="2022-01-10",
        region="招远市",
        quote=quote,
        passage=passage,
    )


def test_user_text_is_inert():
    out = user_html(EVIL)
    assert "<script" not in out and "<details" not in out
    assert "&lt;script&gt;" in out and "&lt;details" in out
    # Markdown and LaTeX markers are neutralised so the renderer shows them literally
    assert "**" not in out and "[1]" not in out and "$$" not in out
    assert "\n" not in out  # one line = one raw HTML block for the Markdown renderer


def test_answer_html_marks_citations_and_escapes_documents():
    cite = _citation(quote="犬只应当登记。<b>x</b>", passage="养犬实行登记制度。犬只应当登记。<b>x</b>")
    ans = Answer(question="q", text="需要登记[1]。<img src=x onerror=alert(1)> 未知标记[9]", citations=[cite])
    out = answer_html(ans)
    assert '<sup class="qa-cite qa-cite-1"' in out and ">1</sup>" in out
    assert "&#91;9&#93;" in out  # a marker without a citation stays plain text
    assert "<img" not in out and "<b>x" not in out
    assert "《关于贯彻《烟台市养犬管理条例》的实施意见》" in out
    for field in ("招政办发〔2022〕1号", "第五条", "招远市人民政府办公室", "2022&#45;01&#45;10", "招远市"):
        assert field in out, field
    assert "<details" in out and "<mark>" in out
    assert out.count('class="qa-src qa-src-1"') == 1


def test_refused_answer_shows_nearest_documents():
    doc = Document(doc_id="d1", title="青岛市活禽交易管理办法", source_file="f", start=0, end=1, number="青岛市人民政府令第1号", region="青岛市")
    chunk = Chunk(chunk_id="k1", doc_id="d1", locator="第七条", heading_path=["x"], text="下列区域禁止设置活禽交易市场", text_simplified="", start=0, end=1)
    ans = Answer(question="q", text="抱歉，没有找到。", coverage="none", hits=[Hit(chunk=chunk, document=doc, score=0.1)])
    out = answer_html(ans)
    assert "未找到可依据的规定" in out and "最接近的文件内容" in out
    assert "青岛市活禽交易管理办法" in out and "第七条" in out
    assert "参考来源" not in out


def test_highlight_marks_quote_or_its_sentences():
    passage = "一、总则。二、犬只应当登记。三、违者处罚。"
    assert highlight(passage, "犬只应当登记。") == "一、总则。二、<mark>犬只应当登记。</mark>三、违者处罚。"
    # quote joined from two sentences that are not adjacent in the passage
    out = highlight(passage, "一、总则。三、违者处罚。")
    assert out.count("<mark>") == 2
    assert highlight(passage, "不在原文里的话。") == passage
    # a quote whose closing punctuation or spacing differs from the article still finds it
    art = "第七条 下列区域禁止设置活禽交易市场，禁止从事活禽交易：\n（一）城区；"
    assert "<mark>下列区域禁止设置活禽交易市场，禁止从事活禽交易</mark>" in highlight(art, "下列区域禁止设置活禽交易市场，禁止从事活禽交易：。")
    assert highlight("犬只 应当\n登记。", "犬只应当登记。").startswith("<mark>犬只 应当<br>登记。</mark>")


def test_reference_list_format():
    text = references_text([_citation(1), _citation(2)])
    assert text.startswith("\n\n参考来源：\n")
    line = reference_line(_citation(1))
    assert line == "[1] 《关于贯彻《烟台市养犬管理条例》的实施意见》（招政办发〔2022〕1号）第五条，招远市人民政府办公室，2022-01-10"
    assert reference_line(_citation(2).to_dict()).startswith("[2] 《")
    assert references_text([]) == ""


def test_scope_tells_inferred_from_chosen():
    used = Filters(regions=["临沂市兰山区"], doc_ids=["d1"])
    out = scope_html(used, Filters(doc_ids=["d1"]), {"d1": "某办法"})
    assert re.search(r"临沂市兰山区.*根据问题推断", out)
    assert re.search(r"某办法.*您的筛选", out)
    assert scope_html(Filters(), None, {}) == ""


def test_document_rows_newest_first():
    docs = [
        Document(doc_id="a", title="旧", source_file="f", start=0, end=1, date="2017-01-01"),
        Document(doc_id="b", title="新", source_file="f", start=0, end=1, date="2022-01-01", region="青岛市"),
    ]
    rows = document_rows(docs, {"a": 3, "b": 5})
    assert [r[0] for r in rows] == ["新", "旧"] and rows[0][-1] == 5 and rows[0][3] == "青岛市"


def test_parse_day_and_filters():
    assert parse_day("2021") == "2021-01-01" and parse_day("2021", end=True) == "2021-12-31"
    assert parse_day("2020-2", end=True) == "2020-02-29"
    assert parse_day("2021年3月5日") == "2021-03-05"
    assert parse_day("") is None
    with pytest.raises(ValueError):
        parse_day("昨天")
    with pytest.raises(ValueError):
        parse_day("2021-02-30")
    f = make_filters(["青岛市"], [], "2020", "2021")
    assert f == Filters(regions=["青岛市"], date_from="2020-01-01", date_to="2021-12-31")
    assert make_filters([""], [], None, "") is None
    with pytest.raises(ValueError):
        make_filters([], [], "2022", "2020")


def test_history_and_content_helpers():
    msgs = [
        {"role": "system", "content": "be nice"},
        {"role": "user", "content": [{"type": "text", "text": "狗"}, {"type": "image_url", "image_url": {}}]},
        {"role": "assistant", "content": "要登记"},
        {"role": "user", "content": "  "},
    ]
    assert clean_history(msgs) == [{"role": "user", "content": "狗"}, {"role": "assistant", "content": "要登记"}]
    assert content_text(None) == ""


def test_rate_limiter():
    rl = RateLimiter(2)
    rl.check("a")
    rl.check("a")
    rl.check("b")  # per client
    with pytest.raises(APIError) as err:
        rl.check("a")
    assert err.value.status == 429 and "Retry-After" in (err.value.headers or {})
    RateLimiter(0).check("a")  # disabled


def test_server_helpers():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.0.2.1")
    assert parse_auth("u:p:w") == ("u", "p:w") and parse_auth("") is None
    with pytest.raises(ValueError):
        parse_auth("nopassword")


def test_follow_up_shows_how_it_was_understood():
    a = Answer(question="这个政策什么时候到期？", text="x", standalone_question="《某意见》什么时候到期？")
    assert "理解为：《某意见》什么时候到期" in answer_html(a)
    same = Answer(question="狗要登记吗？", text="x", standalone_question="狗要登记吗")
    assert "理解为" not in answer_html(same)


def test_loud_warning_when_exposed_without_protection(capsys):
    _warn_exposed(load_settings(host="0.0.0.0", port=8000, auth="", api_key=""))
    err = capsys.readouterr().err
    assert "WARNING" in err and "QA_AUTH" in err and "QA_API_KEY" in err
    _warn_exposed(load_settings(host="0.0.0.0", port=8000, auth="u:p", api_key="k"))
    _warn_exposed(load_settings(host="127.0.0.1", port=8000, auth="", api_key=""))
    assert capsys.readouterr().err == ""


def test_source_card_shows_status_dates_and_opens_the_document():
    cite = _citation()
    cite.validity = {"status": "expired", "effective_date": "2022-02-07", "expiry_date": "2025-02-06", "repealed_by": None, "as_of": "2026-12-01"}
    out = answer_html(Answer(question="q", text="需要登记[1]。", citations=[cite]))
    assert 'qa-status qa-status-expired">已过有效期<' in out
    assert "2022年2月7日起施行" in out and "有效期至2025年2月6日" in out and "按2026年12月1日判断" in out
    assert "qa-open-doc qa-ck-" in out and "查看文件全文" in out


def test_partial_answer_is_marked_and_pending_says_searching():
    from qa.app.render import pending_html

    out = answer_html(Answer(question="q", text="只有一部分[1]。", citations=[_citation()], coverage="partial"))
    assert "qa-partial" in out and "部分解答" in out
    assert "部分解答" not in answer_html(Answer(question="q", text="全部[1]。", citations=[_citation()]))
    assert "正在查找…" in pending_html()


def test_document_search_and_view():
    from qa.app.render import document_html, documents_html, search_documents

    docs = [
        Document(doc_id="a", title="关于加快黄金深加工产业发展的扶持意见", source_file="f", start=0, end=1, date="2022-02-07",
                 number="招政发〔2022〕8号", region="招远市"),
        Document(doc_id="b", title="青岛市活禽交易管理办法", source_file="f", start=0, end=1, date="2018-05-01", region="青岛市"),
    ]
    assert [d.doc_id for d in search_documents(docs, "招政发〔2022〕8号")] == ["a"]
    assert [d.doc_id for d in search_documents(docs, "招政发2022 8号")] == ["a"]  # brackets and spaces do not matter
    assert [d.doc_id for d in search_documents(docs, "", region="青岛市")] == ["b"]
    assert [d.doc_id for d in search_documents(docs, "", year="2022")] == ["a"]
    assert [d.doc_id for d in search_documents(docs, "办法", status_of=lambda d: "expired", status="in_force")] == []
    html_ = documents_html(docs, {"a": 3}, lambda d: {"status": "in_force", "effective_date": "2022-02-07"})
    assert "找到 2 份文件" in html_ and "qa-status-in_force" in html_ and html_.count("qa-dk-") == 4
    chunks = [Chunk(chunk_id=f"k{i}", doc_id="a", locator=f"第{i}条", heading_path=[], text=f"条文{i}<b>", text_simplified="", start=i, end=i + 1)
              for i in range(3)]
    view = document_html(docs[0], chunks, None, "k1")
    assert view.count('class="qa-article"') == 2 and view.count("qa-article-hit") == 1 and "<b>" not in view
