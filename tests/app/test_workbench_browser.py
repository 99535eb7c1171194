"""The evaluator's workbench and the finished chat, in Chromium, on a desktop (1366×900) and a phone (390×844).

An evaluator imports a CSV with only a question and a reference answer, runs it, reads the metrics
and plots, judges three answers, reloads the page and finds the judgements, runs again and compares
the two runs. A citizen asks, sees the question at once with "正在查找…", clicks [1] and lands on its
source card, opens the whole document, marks the answer 没用 with a comment; the evaluator finds it
in the review queue and turns it into a draft gold question. The status on a source card, the
"只看现行有效" filter, the as-of date, the document search, an invalid date and a region filter that
excludes what the question names. Screenshots of every step go to artifacts/wb-<viewport>-*.png.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.conftest import FUNCTIONAL_RATE, Server, start_server, stop_server
from support import ROOT

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]  # fmt: skip
TIMEOUT_MS = 90_000
ARTIFACTS = ROOT / "artifacts"
USER, PASSWORD = "evaluator", "pw-workbench-3f1"
VIEWPORTS = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}
GOLD_CSV = (
    "\ufeff问题,参考答案\n"
    "新上黄金深加工项目，设备投资能补多少？,按新升级设备改造投资总额的20%给予扶持，最多不超过100万元。\n"
    "我家狗要办证吗？,需要。养犬应当办理养犬登记。\n"
    "在禁止区域卖活禽会被罚多少钱？,由市场监管部门责令改正，可处罚款。\n"
    "火星移民需要办理什么签证？,文件中没有规定。\n"
)


@pytest.fixture(scope="module")
def wb_server(server: Server, app_index_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A page password (the 评测 tab exists) and a workbench directory of its own."""
    work = tmp_path_factory.mktemp("workbench")
    s = start_server(app_index_dir, tmp_path_factory.mktemp("logs") / "workbench.log", build=False,
                     QA_AUTH=f"{USER}:{PASSWORD}", QA_WORKBENCH_DIR=str(work), QA_RATE_LIMIT_PER_MINUTE=FUNCTIONAL_RATE)  # fmt: skip
    s.workbench = work  # type: ignore[attr-defined]
    yield s
    stop_server(s)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        pytest.fail("chromium is not installed: run scripts/install-browser.sh")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture(params=list(VIEWPORTS))
def page(request: pytest.FixtureRequest, browser, wb_server: Server):  # noqa: ANN001, ANN201
    ctx = browser.new_context(viewport=VIEWPORTS[request.param], locale="zh-CN")
    pg = ctx.new_page()
    pg.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.view = request.param  # type: ignore[attr-defined]
    pg.errors = errors  # type: ignore[attr-defined]
    pg.server = wb_server  # type: ignore[attr-defined]
    _open(pg)
    yield pg
    assert not errors, errors
    ctx.close()


def _open(pg) -> None:  # noqa: ANN001
    pg.goto(pg.server.url + "/")
    pg.wait_for_selector("input[type=password], #qa-question textarea")
    if pg.locator("input[type=password]").count():
        pg.locator("input[type=text]").first.fill(USER)
        pg.locator("input[type=password]").fill(PASSWORD)
        pg.keyboard.press("Enter")
    pg.wait_for_selector("#qa-question textarea")


def shot(pg, name: str) -> None:  # noqa: ANN001
    ARTIFACTS.mkdir(exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / f"wb-{pg.view}-{name}.png"), full_page=False)


def tab(pg, name: str) -> None:  # noqa: ANN001
    """Select a tab by its name (on a narrow screen it may sit in the overflow menu)."""
    t = pg.get_by_role("tab", name=name, exact=True)
    if not t.first.is_visible():
        pg.locator("button[aria-label='更多标签页'], .overflow-menu button, button:has-text('⋯')").first.click()
        # the overflow menu lists plain buttons (no tab role); the chosen one then joins the tab bar
        pg.locator(".overflow-dropdown").get_by_role("button", name=name, exact=True).first.click()
        return
    t.first.click()


def _ask(pg, question: str) -> None:  # noqa: ANN001
    """Ask; the question and "正在查找…" must show before the answer (a MutationObserver records it)."""
    pg.evaluate("""() => {
        window.__seen = {user: 0, pending: false, answerFirst: false};
        const chat = document.querySelector('#qa-chat');
        const n0 = chat.querySelectorAll('.qa-user').length, m0 = chat.querySelectorAll('.qa-msg').length;
        const obs = new MutationObserver(() => {
            const users = chat.querySelectorAll('.qa-user').length, msgs = chat.querySelectorAll('.qa-msg').length;
            if (users > n0 && !window.__seen.user) window.__seen.user = performance.now();
            if (users > n0 && chat.querySelector('.qa-pending') && chat.innerText.includes('正在查找')) window.__seen.pending = true;
            if (msgs > m0 && !window.__seen.user) window.__seen.answerFirst = true;
            if (msgs > m0) obs.disconnect();
        });
        obs.observe(chat, {subtree: true, childList: true, characterData: true});
    }""")
    before = pg.locator("#qa-chat .qa-msg").count()
    box = pg.locator("#qa-question textarea")
    box.fill(question)
    box.press("Enter")
    pg.wait_for_function("n => document.querySelectorAll('#qa-chat .qa-msg').length > n", arg=before, timeout=TIMEOUT_MS)
    seen = pg.evaluate("() => window.__seen")
    assert seen["user"] and not seen["answerFirst"] and seen["pending"], seen


def _wait_in_viewport(pg, locator, timeout_ms: int = 3000) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout_ms / 1000
    while not _in_viewport(pg, locator) and time.monotonic() < deadline:
        pg.wait_for_timeout(100)


def _in_viewport(pg, locator) -> bool:  # noqa: ANN001
    box = locator.bounding_box()
    vp = pg.viewport_size
    return box is not None and box["y"] < vp["height"] and box["y"] + min(box["height"], 60) > 0


# --- the evaluator ------------------------------------------------------------------------------------


def _upload_and_run(pg, csv_path: Path) -> None:  # noqa: ANN001
    tab(pg, "评测")
    tab(pg, "运行")
    pg.locator("#qa-wb-upload input[type=file]").set_input_files(str(csv_path))
    notes = pg.locator("#qa-wb-import")
    notes.get_by_text("已载入 4 个问题").wait_for()
    assert "没有“证据”列" in notes.inner_text() and "不计算检索召回率" in notes.inner_text()
    shot(pg, "e01-imported")
    pg.locator("#qa-wb-run-btn").click()
    pg.wait_for_function("() => (document.querySelector('#qa-wb-status textarea')?.value || '').includes('已完成')", timeout=TIMEOUT_MS)


def _judge(pg, verdict: str, comment: str) -> str:  # noqa: ANN001
    qid = pg.locator("#qa-wb-qid input").input_value()
    pg.locator("#qa-wb-verdict").get_by_label(verdict, exact=True).check()
    pg.locator("#qa-wb-comment textarea").fill(comment)
    pg.locator("#qa-wb-save").click()
    pg.wait_for_function("q => (document.querySelector('#qa-wb-status textarea')?.value || '').includes('已保存 ' + q.split(' · ')[0])",
                         arg=qid, timeout=30_000)  # fmt: skip
    return qid.split(" · ")[0]


def test_evaluator_imports_runs_judges_reloads_and_compares(page, tmp_path: Path) -> None:
    pg = page
    csv_path = tmp_path / "gold-question-answer.csv"
    csv_path.write_text(GOLD_CSV, encoding="utf-8")  # the BOM is in the text
    _upload_and_run(pg, csv_path)
    # the metrics, human ones first, with plots; readable at this width (no horizontal page scroll)
    metrics = pg.locator("#qa-wb-metrics")
    metrics.get_by_text("人工评价正确率").wait_for()
    assert "要点覆盖" in metrics.inner_text() and "按类型" in metrics.inner_text() and "按人群" in metrics.inner_text()
    assert metrics.locator(".qa-wb-plots img").count() >= 4
    assert pg.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")
    shot(pg, "e02-metrics")
    metrics.locator(".qa-wb-plots").scroll_into_view_if_needed()
    shot(pg, "e03-plots")

    # judge three answers, side by side with the reference, sources and evidence
    tab(pg, "评审")
    pg.locator("#qa-wb-detail .qa-wb-grid").wait_for()
    assert "参考答案" in pg.locator("#qa-wb-detail").inner_text() and "引用来源" in pg.locator("#qa-wb-detail").inner_text()
    judged = {}
    for verdict, comment in (("正确", "数额和上限都对"), ("部分正确", "没说明有效期"), ("错误", "答非所问")):
        qid = _judge(pg, verdict, comment)
        judged[qid] = (verdict, comment)
        shot(pg, f"e04-judged-{len(judged)}")
        pg.locator("#qa-wb-next").click()
        pg.wait_for_function("q => !(document.querySelector('#qa-wb-qid input')?.value || '').startsWith(q)", arg=qid)
    assert len(judged) == 3
    run_dirs = [p for p in (pg.server.workbench / "runs").iterdir() if (p / "judgements.json").is_file()]
    assert run_dirs, "judgements are saved next to the run"

    # reload: the newest run opens with its judgements, and they count in the metrics
    pg.reload()
    _open(pg)
    tab(pg, "评测")
    tab(pg, "评审")
    for verdict, comment in judged.values():
        pg.wait_for_function("t => document.querySelector('#qa-wb-table').innerText.includes(t)", arg=f"{verdict}：{comment}")
    shot(pg, "e05-reloaded-judgements")
    tab(pg, "指标")
    assert "已评 3/4" in pg.locator("#qa-wb-metrics").inner_text()

    # a second run of the same file, then compare the two, question by question
    pg.locator("#qa-wb-upload button[aria-label='清空'], #qa-wb-upload button[aria-label='Clear']").first.click() if pg.locator(
        "#qa-wb-upload button[aria-label='清空'], #qa-wb-upload button[aria-label='Clear']").count() else None
    _upload_and_run(pg, csv_path)
    pg.reload()
    _open(pg)
    tab(pg, "评测")
    tab(pg, "对比")
    assert pg.locator("#qa-wb-cmp-a input").input_value() and pg.locator("#qa-wb-cmp-b input").input_value()
    pg.locator("#qa-wb-cmp-btn").click()
    view = pg.locator("#qa-wb-compare")
    view.get_by_text("变差").first.wait_for()
    text = view.inner_text()
    assert "变好" in text and "不变" in text and any(q in text for q in judged)
    shot(pg, "e06-compare")


def test_failed_upload_never_runs_another_file(page, tmp_path: Path) -> None:
    pg = page
    tab(pg, "评测")
    tab(pg, "运行")
    bad = tmp_path / "policy.pdf"
    bad.write_bytes(b"%PDF-1.4 not a gold set")
    pg.locator("#qa-wb-upload input[type=file]").set_input_files(str(bad))
    pg.locator("#qa-wb-import").get_by_text("不是 .jsonl、.csv 或 .xlsx 文件").wait_for()
    pg.locator("#qa-wb-limit input").fill("-5")
    pg.locator("#qa-wb-run-btn").click()
    pg.wait_for_function("() => (document.querySelector('#qa-wb-status textarea')?.value || '').includes('负数')")
    pg.locator("#qa-wb-limit input").fill("0")
    pg.locator("#qa-wb-run-btn").click()
    pg.wait_for_function("() => (document.querySelector('#qa-wb-status textarea')?.value || '').includes('无法读取评测集')")
    status = pg.locator("#qa-wb-status textarea").input_value()
    assert "已完成" not in status and "gold.jsonl" not in status
    assert pg.locator(".toast-body, .error").filter(has_text="Error").count() == 0
    shot(pg, "e07-bad-upload")


# --- the citizen, and the loop back to the evaluator ---------------------------------------------------


def test_citizen_asks_jumps_opens_document_and_feedback_reaches_the_queue(page) -> None:
    pg = page
    shot(pg, "c01-home")
    question = "新上黄金深加工项目，设备投资能补多少？"
    _ask(pg, question)
    msg = pg.locator("#qa-chat .qa-msg").last
    shot(pg, "c02-answer")
    # [1] jumps to its source card
    msg.locator(".qa-cite-1").first.click()
    card = msg.locator(".qa-src-1")
    pg.wait_for_function("() => !!document.querySelector('#qa-chat .qa-msg:last-of-type .qa-src-flash, #qa-chat .qa-src-flash')")
    # in view, and still in view once the chat's own scrolling has settled (it can land after the jump)
    _wait_in_viewport(pg, card)
    pg.wait_for_timeout(1000)
    assert _in_viewport(pg, card), card.bounding_box()
    assert card.locator(".qa-status").first.inner_text() in ("已过有效期", "现行有效", "未载明有效期", "已废止", "尚未施行")
    shot(pg, "c03-jumped-to-source")
    # the source card opens the whole document with the article highlighted
    card.locator(".qa-open-doc").click()
    view = pg.locator("#qa-docview")
    view.locator(".qa-article-hit").wait_for()
    assert "黄金" in view.locator(".qa-docview-title").inner_text()
    assert view.locator(".qa-article").count() > 5  # the whole document, not one article
    pg.wait_for_timeout(400)
    assert _in_viewport(pg, view.locator(".qa-article-hit"))
    shot(pg, "c04-whole-document")
    pg.locator("#qa-doc-back").click()
    # 没用, with a comment
    pg.locator("#qa-fb-useless").click()
    pg.locator("#qa-fb-status").get_by_text("已记录：没用").wait_for()
    comment = f"没说清楚现在还能不能申请（{pg.view}）"
    pg.locator("#qa-fb-comment textarea").fill(comment)
    pg.locator("#qa-fb-send").click()
    pg.locator("#qa-fb-status").get_by_text("已收到您的说明").wait_for()
    pg.locator("#qa-fb-status").scroll_into_view_if_needed()
    shot(pg, "c05-feedback")

    # the evaluator's review queue
    tab(pg, "评测")
    tab(pg, "反馈")
    pg.locator("#qa-wb-refresh").click()
    queue = pg.locator("#qa-wb-queue")
    queue.get_by_text(comment).wait_for()
    assert question in queue.inner_text()
    shot(pg, "c06-review-queue")
    pg.locator("#qa-wb-draft").click()
    pg.wait_for_function("() => (document.querySelector('#qa-wb-status textarea')?.value || '').includes('已转为评测草稿')")
    drafts = [json.loads(x) for x in (pg.server.workbench / "drafts.jsonl").read_text(encoding="utf-8").splitlines() if x.strip()]
    mine = [d for d in drafts if d["feedback"]["comment"] == comment]
    assert mine and mine[0]["question"] == question and mine[0]["status"] == "draft"
    shot(pg, "c07-draft-gold")


def test_validity_status_and_in_force_filter(page) -> None:
    pg = page
    _ask(pg, "新上黄金深加工项目，设备投资能补多少？")
    msg = pg.locator("#qa-chat .qa-msg").last
    gold = msg.locator(".qa-src").filter(has_text="黄金深加工").first
    assert gold.locator(".qa-status-expired").inner_text() == "已过有效期"
    assert "有效期至2025年2月6日" in gold.locator(".qa-validity").inner_text()
    gold.scroll_into_view_if_needed()
    shot(pg, "v01-status-expired")

    pg.get_by_text("筛选范围（可选）").click()
    pg.locator("#qa-in-force input").check()
    _ask(pg, "新上黄金深加工项目，设备投资能补多少？")
    msg = pg.locator("#qa-chat .qa-msg").last
    assert msg.locator(".qa-status-expired, .qa-status-repealed, .qa-status-not_yet_effective").count() == 0
    assert "只看现行有效" in msg.inner_text()
    shot(pg, "v02-in-force-only")

    # on a day the 意见 was in force, it is current again
    pg.locator("#qa-in-force input").uncheck()
    pg.locator("#qa-as-of textarea, #qa-as-of input").first.fill("2023-06-01")
    _ask(pg, "新上黄金深加工项目，设备投资能补多少？")
    msg = pg.locator("#qa-chat .qa-msg").last
    assert msg.locator(".qa-src").filter(has_text="黄金深加工").first.locator(".qa-status-in_force").count() == 1
    shot(pg, "v03-as-of-2023")
    pg.locator("#qa-as-of textarea, #qa-as-of input").first.fill("")


def test_chat_explains_bad_dates_filter_conflicts_and_documents_tab(page) -> None:
    pg = page
    pg.get_by_text("筛选范围（可选）").click()
    date_box = pg.locator("#qa-as-of textarea, #qa-as-of input").first
    date_box.fill("2022/13/45")
    date_box.press("Enter")
    pg.locator("#qa-date-note").get_by_text("不是有效日期").wait_for()
    shot(pg, "d01-invalid-date")
    date_box.fill("")
    date_box.press("Enter")

    pg.locator("#qa-region input").click()
    pg.get_by_role("option", name="临沂市兰山区").click()
    _ask(pg, "青岛哪些地方不能卖活禽？")
    hint = pg.locator("#qa-chat .qa-msg").last.locator(".qa-hint")
    assert "被这一筛选排除了" in hint.first.inner_text()
    shot(pg, "d02-filter-conflict")
    pg.locator("#qa-region input").click()
    pg.get_by_role("option", name="全部地区").click()

    # no raw HTML is read aloud, no English labels on the chat
    labels = pg.evaluate("() => [...document.querySelectorAll('#qa-chat [aria-label]')].map(e => e.getAttribute('aria-label'))")
    assert labels and not [x for x in labels if "<" in x or "message:" in x], labels[:5]
    assert pg.locator("[aria-label='Textbox'], [aria-label='Clear']").count() == 0

    tab(pg, "已收录文件")
    pg.locator("#qa-doc-query textarea, #qa-doc-query input").first.fill("招政发〔2022〕8号")
    pg.locator("#qa-doc-search-btn").click()
    table = pg.locator("#qa-doc-table")
    table.get_by_text("找到 1 份文件").wait_for()
    assert table.locator(".qa-status-expired").count() == 1
    shot(pg, "d03-document-search")
    table.locator(".qa-btn-link").first.click()
    pg.locator("#qa-docview .qa-docview-title").get_by_text("黄金").wait_for()
    shot(pg, "d04-document-opened")
