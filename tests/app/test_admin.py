"""文件管理 in a running server: uploads over HTTP and in Chromium, answering never interrupted.

The server runs on its own index (one seed gazette as the base corpus) with QA_AUTH and QA_API_KEY;
uploads are the three new policies of examples/new-policies (a Word file, a PDF and a saved web page,
made by scripts/make_examples.py with python-docx, reportlab and an HTML page template).
"""

from __future__ import annotations

import shutil
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest



def _load(name: str, file: str):  # type: ignore[no-untyped-def]
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(file))
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


_app = _load("qa_test_app_conftest", "conftest.py")
ROOT, start_server, stop_server = _app.ROOT, _app.start_server, _app.stop_server

pytestmark = pytest.mark.slow

KEY = "admin-key-789"
AUTH = ("admin", "pw-admin-1")
EXPECT = {
    "招政办发〔2023〕15号": ("加装电梯每台能补贴多少钱？", "第五条"),
    "临兰政办发〔2023〕9号": ("兰山区个人创业担保贷款最多能贷多少？", "第四条"),
    "青政办字〔2023〕21号": ("青岛新建公共直流充电桩每千瓦补贴多少钱？", "二、（一）"),
}


@pytest.fixture(scope="module")
def policies(tmp_path_factory) -> dict[str, Path]:
    import sys

    sys.path.insert(0, str(ROOT / "scripts"))
    from make_examples import make

    out = tmp_path_factory.mktemp("new-policies")
    files = make(out)
    return {p.suffix.lstrip("."): p for p in files}


@pytest.fixture(scope="module")
def admin_server(tmp_path_factory, seeds_dir):
    base = tmp_path_factory.mktemp("base")
    shutil.copy(seeds_dir / "003_4507ffc9cc3e9098.txt", base)
    s = start_server(tmp_path_factory.mktemp("admin-index"), tmp_path_factory.mktemp("logs") / "admin.log", build=True,
                     QA_API_KEY=KEY, QA_AUTH=":".join(AUTH), QA_SEEDS_DIR=str(base), QA_MAX_FILE_MB="2",
                     QA_RATE_LIMIT_PER_MINUTE="0")
    s.api_key = KEY
    yield s
    stop_server(s)


def _h() -> dict[str, str]:
    return {"X-API-Key": KEY}


def _numbers(server) -> set[str]:
    r = httpx.get(server.url + "/api/documents", headers=_h(), timeout=30)
    return {d["number"] for d in r.json()["documents"] if d["number"]}


def _wait(predicate, timeout: float, what: str) -> float:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if predicate():
            return time.monotonic() - t0
        time.sleep(0.5)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")


def _ask(server, question: str) -> dict:
    r = httpx.post(server.url + "/api/ask", json={"question": question, "with_hits": False}, headers=_h(), timeout=120)
    assert r.status_code == 200, r.text
    return r.json()


def test_admin_needs_authentication(server, admin_server):
    r = httpx.get(server.url + "/admin/api/status", timeout=10)  # no QA_AUTH / QA_API_KEY: never open
    assert r.status_code == 403 and "QA_AUTH" in r.json()["error"]["message"]
    assert httpx.get(admin_server.url + "/admin/api/status", timeout=10).status_code == 401
    assert httpx.get(admin_server.url + "/admin/api/status", auth=AUTH, timeout=10).status_code == 200
    assert httpx.get(admin_server.url + "/admin/api/status", headers=_h(), timeout=10).status_code == 200
    page = httpx.get(server.url + "/config", timeout=10).text
    assert "文件管理" not in page  # no tab without a password


def test_upload_over_http_while_answering(admin_server, policies):
    s = admin_server
    codes: list[int] = []
    stop = threading.Event()

    def keep_asking() -> None:
        while not stop.is_set():
            r = httpx.post(s.url + "/api/ask", json={"question": "在禁止区域卖活禽会被罚多少钱？", "with_hits": False},
                           headers=_h(), timeout=120)
            codes.append(r.status_code)

    asker = threading.Thread(target=keep_asking, daemon=True)
    asker.start()
    try:
        files = [("files", (p.name, p.read_bytes())) for p in policies.values()]
        r = httpx.post(s.url + "/admin/api/preview", files=files, headers=_h(), timeout=120)
        assert r.status_code == 200, r.text
        docs = {d["number"]: d for f in r.json()["files"] for d in f["documents"]}
        assert set(docs) == set(EXPECT)
        assert docs["招政办发〔2023〕15号"]["articles"] == 14 and docs["招政办发〔2023〕15号"]["issuer"] == "招远市人民政府办公室"
        assert set(EXPECT).isdisjoint(_numbers(s))  # preview changed nothing

        t0 = time.monotonic()
        r = httpx.post(s.url + "/admin/api/documents", files=files, headers=_h(), timeout=120)
        assert r.status_code == 200, r.text
        assert len(r.json()["added"]) == 3
        waited = _wait(lambda: set(EXPECT) <= _numbers(s), 60, "the new documents in /api/documents")
        print(f"keyword search covers the uploads {time.monotonic() - t0:.1f}s after the upload ({waited:.1f}s wait)")
        for number, (question, locator) in EXPECT.items():
            answer = _ask(s, question)
            cited = [(c["doc_number"], c["locator"]) for c in answer["citations"]]
            assert (number, locator) in cited, (question, cited, answer["answer"], answer["filters"])
        _wait(lambda: httpx.get(s.url + "/admin/api/status", headers=_h(), timeout=10).json()["retrieval"] == "hybrid",
              240, "the uploads' vectors")
        for number, (question, locator) in EXPECT.items():
            cited = [(c["doc_number"], c["locator"]) for c in _ask(s, question)["citations"]]
            assert (number, locator) in cited, (question, cited)
    finally:
        stop.set()
        asker.join(180)
    assert codes and set(codes) == {200}, codes  # answering went on, every answer arrived

    # the same 发文字号 uploaded again (as a web page this time) replaces the old one
    before = len(httpx.get(s.url + "/admin/api/documents", headers=_h(), timeout=30).json()["documents"])
    html = policies["html"].read_text(encoding="utf-8")
    r = httpx.post(s.url + "/admin/api/documents", files=[("files", ("电梯补贴（修订）.html", html.encode()))],
                   headers=_h(), timeout=120)
    assert r.status_code == 200 and r.json()["added"], r.text
    # remove by 发文字号
    r = httpx.delete(s.url + "/admin/api/documents/招政办发〔2023〕15号", headers=_h(), timeout=60)
    assert r.status_code == 200 and r.json()["removed"][0]["number"] == "招政办发〔2023〕15号"
    _wait(lambda: "招政办发〔2023〕15号" not in _numbers(s), 60, "the removal")
    _wait(lambda: "青政办字〔2023〕21号" in _numbers(s), 60, "the replacing web page")
    rows = httpx.get(s.url + "/admin/api/documents", headers=_h(), timeout=30).json()["documents"]
    assert [r["source_file"] for r in rows if r["number"] == "青政办字〔2023〕21号"] == ["电梯补贴（修订）.html"]
    assert len(rows) == before - 1, [(r["number"], r["source_file"]) for r in rows]


def test_bad_uploads_get_clear_messages(admin_server, policies):
    s = admin_server
    url = s.url + "/admin/api/documents"
    docx = policies["docx"].read_bytes()
    r = httpx.post(url, files=[("files", ("broken.docx", docx[: len(docx) // 2]))], headers=_h(), timeout=60)
    assert r.status_code == 422 and "损坏" in r.json()["error"]["message"]
    r = httpx.post(url, files=[("files", ("table.xlsx", b"PK\x03\x04" + b"\x00" * 100))], headers=_h(), timeout=60)
    assert r.status_code == 422 and "不支持的文件类型" in r.json()["error"]["message"]
    r = httpx.post(url, files=[("files", ("big.pdf", b"%PDF-1.4\n" + b"0" * (3 * 1024 * 1024)))], headers=_h(), timeout=60)
    assert r.status_code == 413 and "过大" in r.json()["error"]["message"]
    r = httpx.post(url, files=[("files", ("x.pdf", b"%PDF-1.4"))], timeout=60)
    assert r.status_code == 401
    # two uploads at once: the second is told to wait, or both go through; none is half-done
    results: list[httpx.Response] = []
    pdf = policies["pdf"].read_bytes()

    def up() -> None:
        results.append(httpx.post(url.replace("/documents", "/preview"), files=[("files", ("a.pdf", pdf))], headers=_h(), timeout=120))

    threads = [threading.Thread(target=up) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {r.status_code for r in results} <= {200, 409}
    for r in results:
        if r.status_code == 409:
            assert "另一个文件正在上传" in r.json()["error"]["message"]


def test_upload_in_the_browser(admin_server, policies, artifacts, tmp_path_factory):
    browser = _load("qa_test_browser", "test_browser.py")
    CHROMIUM, CHROMIUM_ARGS = browser.CHROMIUM, browser.CHROMIUM_ARGS
    from playwright.sync_api import sync_playwright

    s = admin_server
    with sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(str(tmp_path_factory.mktemp("chromium-admin")), executable_path=CHROMIUM,
                                                   args=CHROMIUM_ARGS, headless=True, viewport={"width": 1280, "height": 1000},
                                                   locale="zh-CN")
        pg = ctx.new_page()
        pg.set_default_timeout(90_000)
        pg.goto(s.url + "/")
        pg.locator("input[type=password]").wait_for()
        pg.locator("input:not([type=password])").first.fill(AUTH[0])
        pg.locator("input[type=password]").fill(AUTH[1])
        pg.locator("input[type=password]").press("Enter")
        pg.wait_for_selector("#qa-question textarea")
        pg.get_by_role("tab", name="文件管理").click()
        pg.locator("#qa-admin-upload input[type=file]").set_input_files(str(policies["pdf"]))
        pg.wait_for_timeout(1500)
        pg.locator("#qa-admin-preview").click()
        pg.wait_for_function("() => document.querySelector('#qa-admin-preview-table')?.innerText.includes('临兰政办发〔2023〕9号')")
        assert "兰山区创业担保贷款贴息实施细则" in pg.locator("#qa-admin-preview-table").inner_text()
        pg.screenshot(path=str(artifacts / "admin-01-preview.png"), full_page=True)
        pg.locator("#qa-admin-add").click()
        pg.wait_for_function("() => document.querySelector('#qa-admin-message')?.innerText.includes('已收录')")
        _wait(lambda: "临兰政办发〔2023〕9号" in _numbers(s), 60, "the browser upload")
        # the page follows the new index generation without a reload: document list and filters
        pg.get_by_role("tab", name="已收录文件").click()
        pg.wait_for_function("() => document.querySelector('#qa-doc-table')?.innerText.includes('临兰政办发〔2023〕9号')",
                             timeout=30_000)
        pg.get_by_role("tab", name="咨询问答").click()
        pg.locator("#qa-filters").click()
        pg.locator("#qa-document input").click()
        pg.wait_for_function("() => [...document.querySelectorAll('#qa-document li[role=option]')]"
                             ".some(li => (li.getAttribute('aria-label') || '').includes('临兰政办发〔2023〕9号'))", timeout=30_000)
        pg.keyboard.press("Escape")
        pg.locator("#qa-filters").click()
        box = pg.locator("#qa-question textarea")
        box.fill("兰山区个人创业担保贷款最多能贷多少？")
        box.press("Enter")
        pg.wait_for_function("() => document.querySelectorAll('#qa-chat .qa-msg').length > 0")
        meta = pg.locator("#qa-chat .qa-msg").last.inner_text()
        assert "临兰政办发〔2023〕9号" in meta, meta
        pg.screenshot(path=str(artifacts / "admin-02-answer.png"), full_page=True)
        ctx.close()


def test_page_inputs_follow_the_index(admin_server, policies):
    """The page's gate checks a chosen document against the index as it is now: a document uploaded
    after the page was built may be chosen in the 文件 filter, an unknown one may not; 文件管理's
    multi-file input passes as a list of uploaded files."""
    s = admin_server
    docs = httpx.get(s.url + "/api/documents", headers=_h(), timeout=30).json()["documents"]
    if not any(d["number"] == "临兰政办发〔2023〕9号" for d in docs):
        r = httpx.post(s.url + "/admin/api/documents", files=[("files", (policies["pdf"].name, policies["pdf"].read_bytes()))],
                       headers=_h(), timeout=120)
        assert r.status_code == 200, r.text
        _wait(lambda: "临兰政办发〔2023〕9号" in _numbers(s), 60, "the upload")
        docs = httpx.get(s.url + "/api/documents", headers=_h(), timeout=30).json()["documents"]
    new_id = next(d["doc_id"] for d in docs if d["number"] == "临兰政办发〔2023〕9号")
    with httpx.Client(base_url=s.url, timeout=60) as c:
        assert c.post("/login", data={"username": AUTH[0], "password": AUTH[1]}).status_code == 200
        cfg = c.get("/config").json()
        chat = next(d["id"] for d in cfg["dependencies"] if len(d["inputs"]) == 9)  # the chat's submit
        join = "/gradio_api/queue/join"
        ok = c.post(join, json={"data": ["", [], None, "全部地区", new_id, "", "", False, ""], "fn_index": chat,
                                         "session_hash": "a1"})
        assert ok.status_code == 200, ok.text
        bad = c.post(join, json={"data": ["", [], None, "全部地区", "no-such-doc", "", "", False, ""], "fn_index": chat,
                                 "session_hash": "a2"})
        assert bad.status_code == 422 and "choices" in bad.json()["error"]["message"]
        ids = {x["id"]: x.get("props", {}) for x in cfg["components"]}
        preview = next(d["id"] for d in cfg["dependencies"]
                       if any(ids.get(t[0], {}).get("elem_id") == "qa-admin-preview" for t in d["targets"]))
        up = c.post("/gradio_api/upload", files={"files": (policies["docx"].name, policies["docx"].read_bytes())})
        assert up.status_code == 200, up.text
        ref = {"path": up.json()[0], "orig_name": policies["docx"].name, "meta": {"_type": "gradio.FileData"}}
        r = c.post(join, json={"data": [[ref]], "fn_index": preview, "session_hash": "a3"})
        assert r.status_code == 200, r.text
        r = c.post(join, json={"data": ["not a file"], "fn_index": preview, "session_hash": "a4"})
        assert r.status_code == 422
