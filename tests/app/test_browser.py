"""End to end in headless Chromium (Debian's /usr/bin/chromium, see scripts/install-browser.sh).

A person opens the page, asks, reads the answer and its sources, asks a follow-up, starts over.
Screenshots go to artifacts/ (git-ignored) for a human to look at.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from support import ROOT

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Only loopback traffic: every host but 127.0.0.1 fails to resolve. This is
    # done in the browser, not with Playwright's request interception (ctx.route): intercepted
    # requests can have their streamed responses held back, and the chat then waits forever for
    # Gradio's server-sent events (seen once in CI).
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
TIMEOUT_MS = 90_000
ARTIFACTS = ROOT / "artifacts"


@pytest.fixture(scope="module")
def page(server, tmp_path_factory):
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        pytest.fail("chromium is not installed: run scripts/install-browser.sh")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),  # fresh user-data dir
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1280, "height": 900},
            locale="zh-CN",
        )
        pg = ctx.new_page()
        errors: list[str] = []
        pg.on("pageerror", lambda exc: errors.append(str(exc)))
        pg.set_default_timeout(TIMEOUT_MS)
        pg.goto(server.url + "/")
        pg.wait_for_selector("#qa-question textarea")
        pg.page_errors = errors  # type: ignore[attr-defined]
        pg.qa_server = server  # type: ignore[attr-defined]
        yield pg
        ctx.close()


def _bot_messages(page):
    return page.locator("#qa-chat .qa-msg")


def _restart(page) -> None:
    page.get_by_role("button", name="重新开始").click()
    page.wait_for_function("() => document.querySelectorAll('#qa-chat .qa-msg, #qa-chat .qa-user').length === 0")


def _ask(page, question: str) -> None:
    """Type a question, press Enter, see it in the chat, wait for the finished answer (its .qa-msg block)."""
    before = _bot_messages(page).count()
    asked = page.locator("#qa-chat .qa-user").count()
    box = page.locator("#qa-question textarea")
    box.fill(question)
    box.press("Enter")
    try:
        # the question shows at once (a lost Enter fails here, not after the answer's timeout)
        page.wait_for_function(
            "n => document.querySelectorAll('#qa-chat .qa-user').length > n", arg=asked, timeout=20_000
        )
        page.wait_for_function(
            "n => document.querySelectorAll('#qa-chat .qa-msg').length > n", arg=before, timeout=TIMEOUT_MS
        )
    except Exception:
        _dump(page, "ui-timeout")
        raise


def _dump(page, name: str) -> None:
    """On a timeout, keep what the page showed for the person reading the CI log."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    chat = page.locator("#qa-chat").inner_text(timeout=5_000)
    print(f"--- chat when the answer did not arrive ---\n{chat[-2000:]}\n--- page errors: {page.page_errors}")
    print(f"--- server log (tail) ---\n{page.qa_server.output()[-3000:]}")


def test_home_page(page, artifacts):
    assert "政策问答" in page.title()
    assert page.get_by_text("根据已收录的政府文件回答，每句都注明出处").is_visible()
    assert page.get_by_role("button", name="我家狗要办证吗？").is_visible()
    assert page.get_by_text("离线摘录模式", exact=False).first.is_visible()
    assert page.get_by_text("您好，请问有什么可以帮您？").is_visible()
    page.screenshot(path=str(artifacts / "ui-01-home.png"), full_page=True)


def test_ask_read_sources_follow_up_and_restart(page, artifacts):
    _restart(page)
    _ask(page, "新上黄金深加工项目，设备投资能补多少？")
    msg = _bot_messages(page).last
    assert msg.locator(".qa-cite").count() >= 1  # [n] markers became citation chips
    titles = msg.locator(".qa-src-title").all_inner_texts()
    assert titles and any("黄金" in t for t in titles), titles
    meta = msg.locator(".qa-src-meta").first.inner_text()
    assert "招远" in meta and "招政发" in meta  # issuer/region and 发文字号
    assert msg.locator(".qa-src-quote mark").first.is_visible()
    msg.locator(".qa-src-full summary").first.click()
    full = msg.locator(".qa-src-full").first.locator(".qa-src-passage")
    assert full.is_visible() and full.locator("mark").count() >= 1  # the cited sentence inside the article
    page.locator("#qa-chat .qa-user").first.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "ui-02-answer.png"), full_page=True)
    msg.locator(".qa-src-full").first.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "ui-03-sources.png"), full_page=True)

    # follow-up: "这个政策" only makes sense with the first turn
    _ask(page, "这个政策有效期到什么时候？")
    follow = _bot_messages(page).last
    assert "黄金" in follow.locator(".qa-understood").inner_text()
    assert any("黄金" in t for t in follow.locator(".qa-src-title").all_inner_texts())
    assert page.locator("#qa-chat .qa-user").count() == 2
    page.locator("#qa-chat .qa-user").last.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "ui-04-follow-up.png"), full_page=True)

    _restart(page)
    assert page.get_by_text("您好，请问有什么可以帮您？").is_visible()
    page.screenshot(path=str(artifacts / "ui-05-restart.png"), full_page=True)

    # the history went with it: the same follow-up is no longer completed from the gold question
    _ask(page, "这个政策有效期到什么时候？")
    understood = _bot_messages(page).last.locator(".qa-understood")
    assert understood.count() == 0 or "黄金" not in understood.inner_text()
    assert not page.page_errors, page.page_errors


def test_example_button_and_inferred_region(page, artifacts):
    _restart(page)
    page.get_by_role("button", name="兰山区政府投资项目变更要走什么程序？").click()
    page.wait_for_function("() => document.querySelectorAll('#qa-chat .qa-msg').length >= 1", timeout=TIMEOUT_MS)
    msg = _bot_messages(page).last
    assert any("变更" in t for t in msg.locator(".qa-src-title").all_inner_texts())
    scope = msg.locator(".qa-scope").inner_text()
    assert "临沂市兰山区" in scope and "根据问题推断" in scope
    page.screenshot(path=str(artifacts / "ui-06-example-region.png"), full_page=True)


def test_question_markup_is_shown_not_run(page, artifacts):
    _restart(page)
    evil = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script> <details class="qa-sources">假来源</details> **养狗** 要登记吗？'
    _ask(page, evil)
    user = page.locator("#qa-chat .qa-user").last
    assert "<script>" in user.inner_text() and "**养狗**" in user.inner_text()
    assert page.evaluate("() => window.__pwned === undefined")
    assert page.locator("#qa-chat .qa-user details, #qa-chat .qa-user img, #qa-chat .qa-user script").count() == 0
    page.screenshot(path=str(artifacts / "ui-07-markup-escaped.png"), full_page=True)


def test_refusal_is_honest(page, artifacts):
    _restart(page)
    _ask(page, "火星移民需要办理什么签证？")
    msg = _bot_messages(page).last
    assert msg.locator(".qa-refused").count() == 1
    assert msg.locator(".qa-cite").count() == 0
    assert msg.locator(".qa-sources-title").first.inner_text().startswith("最接近")
    page.screenshot(path=str(artifacts / "ui-08-refused.png"), full_page=True)


def test_filters_restrict_the_search(page, artifacts):
    _restart(page)
    page.get_by_text("筛选范围（可选）").click()
    page.locator("#qa-region input").click()
    page.get_by_role("option", name="青岛市").click()
    _ask(page, "新上黄金深加工项目，设备投资能补多少？")
    msg = _bot_messages(page).last
    scope = msg.locator(".qa-scope").inner_text()
    assert "青岛市" in scope and "您的筛选" in scope
    assert not any("黄金深加工" in t for t in msg.locator(".qa-src-title").all_inner_texts())
    page.screenshot(path=str(artifacts / "ui-09-filtered.png"), full_page=True)
    page.locator("#qa-region input").click()
    page.get_by_role("option", name="全部地区").click()


def test_documents_tab(page, artifacts):
    page.get_by_role("tab", name="已收录文件").click()
    table = page.locator("#qa-doc-table")
    table.get_by_text("兰山区政府投资项目变更管理办法").first.wait_for()
    assert table.get_by_text("发文字号").first.is_visible()
    page.screenshot(path=str(artifacts / "ui-10-documents.png"), full_page=True)
    page.get_by_role("tab", name="咨询问答").click()
