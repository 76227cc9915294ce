"""The Gradio app in real headless Chromium: ask, click a citation, browse, stay safe and offline.

The app runs over an Assistant with a fresh temporary index on a free
loopback port; Debian's /usr/bin/chromium is driven through Playwright
(never `playwright install`). Screenshots of each view go to tests/artifacts/.
"""
from __future__ import annotations

import os
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright import sync_api

import qa_ui.app as ui_app
from qa import Assistant, Settings
from qa.types import Answer

from tests.fake_openai import FakeOpenAI, status
from tests.servers import free_port
from tests.fake_openai import answer as llm_says

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"
CORPUS = Path(__file__).parents[1] / "corpus"
SECRET = "sk-test-not-a-real-key-7f3a"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
SALT_QUESTION = "如何打造世界级盐湖产业基地？"
SALT_QUOTE_START = "深化青海与天津、山东、安徽、重庆等省市合作"

pytestmark = [
    pytest.mark.browser,
    # gradio's queue calls pandas in ways pandas 3 deprecates; not ours to fix.
    pytest.mark.filterwarnings("ignore:'future.no_silent_downcasting' is deprecated"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
    # Skipped only on a developer machine without Chromium; in CI a missing browser is a failure.
    pytest.mark.skipif(not CHROMIUM.exists() and not os.environ.get("CI"),
                       reason="needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium fonts-noto-cjk)"),
]


@pytest.fixture(scope="module")
def index_dir(request, tmp_path_factory) -> Path:
    """The session's shared temporary index of the plan (conftest's plan_index_dir), else a new one."""
    try:
        return Path(request.getfixturevalue("plan_index_dir"))
    except pytest.FixtureLookupError:
        return tmp_path_factory.mktemp("idx")


@pytest.fixture(scope="module")
def assistant(index_dir) -> Assistant:
    """An Assistant over a temporary index of the plan, with an API key set (that must never be shown)."""
    settings = Settings.load({"index_dir": str(index_dir), "corpus_dir": str(CORPUS), "llm_api_key": SECRET})
    assistant = Assistant(settings)
    assistant.search("东西部科技合作", top_k=1)  # build/load the index and the model before timing anything
    return assistant


@pytest.fixture(scope="module")
def base_url(assistant):
    url, app = serve(assistant)
    yield url
    app.close()


@pytest.fixture(scope="module")
def fake_llm_server():
    server = FakeOpenAI().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def llm_url(assistant, fake_llm_server):
    """The app over an assistant whose LLM backend is the scripted local OpenAI-protocol server."""
    settings = assistant.settings.replace(llm_base_url=fake_llm_server.base_url, llm_model="fake-model",
                                          llm_timeout=5.0, llm_max_retries=0)
    url, app = serve(Assistant(settings, embedder=assistant.embedder, segmenter=assistant.segmenter))
    yield url
    app.close()


@pytest.fixture(scope="module")
def browser_context(tmp_path_factory):
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=str(CHROMIUM), headless=True,
            args=FLAGS, viewport={"width": 1400, "height": 1000}, locale="zh-CN")
        yield context
        context.close()


@contextmanager
def app_page(browser_context, url: str):
    """A fresh page on the app at `url`; afterwards, every request it made must have gone to the app itself."""
    page = browser_context.new_page()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(url + "/")
    page.wait_for_selector("#qa-question textarea")
    page.wait_for_function("window.__qaCiteInstalled === true")
    yield page
    page.close()
    outside = sorted({u for u in requests if not u.startswith(url + "/")})
    assert not outside, f"the page loaded resources from outside the app: {outside}"


@pytest.fixture
def page(browser_context, base_url):
    with app_page(browser_context, base_url) as page:
        yield page


def serve(assistant) -> tuple[str, object]:
    app = ui_app.build_app(assistant)
    port = free_port()
    app.queue().launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True,
                       **ui_app.page_options())
    return f"http://127.0.0.1:{port}", app


def bot_messages(page):
    return page.locator('#qa-chat [data-testid="bot"]')


def ask(page, question: str, *, expect: int | None = None):
    """Type `question`, press send, wait for the answer to finish; the last bot message."""
    before = bot_messages(page).count()
    page.fill("#qa-question textarea", question)
    page.click("#qa-send")
    wanted = expect or before + 1
    page.wait_for_function(
        """n => { const m = document.querySelectorAll('#qa-chat [data-testid="bot"]');
                  return m.length >= n && m[n - 1].querySelector('.qa-meta, .qa-error'); }""",
        arg=wanted, timeout=60_000)
    return bot_messages(page).nth(wanted - 1)


def test_page_is_offline_and_renders_chinese(page):
    assert page.title() == "政策文件问答助手"
    assert "政策文件问答助手" in page.inner_text("body")
    # System fonts only (a web font would be fetched from the internet), and a CJK one is installed.
    font = page.evaluate("getComputedStyle(document.querySelector('#qa-question textarea')).fontFamily")
    assert font.startswith('"Noto Sans CJK SC"')
    fonts = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True).stdout
    assert "Noto Sans CJK SC" in fonts, "install fonts-noto-cjk, or Chinese renders as boxes"
    page.screenshot(path=str(ARTIFACTS / "ui-home.png"))


def test_answer_cites_a_clause_that_opens_with_the_quote_highlighted(page):
    page.evaluate("""() => {
        window.__qaTimes = {};
        document.querySelector('#qa-send').addEventListener('click', () => {
            window.__qaTimes = {sent: performance.now()};
        }, true);
        new MutationObserver(() => {
            const t = window.__qaTimes;
            const bots = document.querySelectorAll('#qa-chat [data-testid="bot"]');
            const last = bots[bots.length - 1];
            if (!t.sent || !last) return;
            const text = last.querySelector('.qa-text');
            if (!t.first && text && text.textContent.trim()) t.first = performance.now();
            if (!t.done && last.querySelector('.qa-meta')) t.done = performance.now();
        }).observe(document.body, {childList: true, subtree: true, characterData: true});
    }""")
    answer = ask(page, SALT_QUESTION)
    times = page.evaluate("window.__qaTimes")
    first_ms, done_ms = times["first"] - times["sent"], times["done"] - times["sent"]
    print(f"\nbrowser timing (extractive backend): first token {first_ms:.0f} ms, full answer {done_ms:.0f} ms")

    assert SALT_QUOTE_START in answer.inner_text()
    assert "回答方式：抽取式（离线）" in answer.inner_text()
    sources = answer.locator(".qa-sources")
    assert "出处" in sources.inner_text() and "“十四五”东西部科技合作实施方案" in sources.inner_text()
    citation = answer.locator(".qa-text a.qa-cite").first
    assert citation.inner_text() == "［二（三）2］"
    page.screenshot(path=str(ARTIFACTS / "ui-chat-answer.png"))

    citation.click()
    page.wait_for_selector("#qa-clause-panel mark.qa-quote")
    panel = page.locator("#qa-clause-panel")
    assert "［二（三）2］" in panel.inner_text()
    assert "《“十四五”东西部科技合作实施方案》" in panel.inner_text()
    assert "二、重点任务 › （三）实施“科技援青”，共建青藏高原生态文明高地 › 2.打造世界级盐湖产业基地" in panel.inner_text()
    assert panel.locator("mark.qa-quote").inner_text().startswith(SALT_QUOTE_START)
    assert page.url.endswith("/")  # the click opened the panel, it did not navigate
    page.screenshot(path=str(ARTIFACTS / "ui-clause-panel.png"))


def test_follow_up_passes_earlier_questions_and_clear_empties_the_chat(page, assistant, monkeypatch):
    seen: list = []
    real_ask = assistant.ask

    def recording_ask(question, *, history=None, doc_id=None, top_k=None, backend=None, on_token=None):
        seen.append(history)
        return real_ask(question, history=history, doc_id=doc_id, top_k=top_k, backend=backend, on_token=on_token)

    monkeypatch.setattr(assistant, "ask", recording_ask)
    ask(page, SALT_QUESTION)
    second = ask(page, "科技援藏有哪些重点任务？")
    assert seen == [None, [SALT_QUESTION]]
    assert second.locator(".qa-cite").count() >= 1
    page.click("#qa-clear")
    page.wait_for_function("document.querySelectorAll('#qa-chat [data-testid=\"bot\"]').length === 0")
    ask(page, "科技援藏有哪些重点任务？", expect=1)
    assert seen[-1] is None  # cleared: no history any more


def test_refusal_lists_nearest_clauses_that_open(page):
    answer = ask(page, "北京有什么政策？")
    assert "文件中未找到与该问题直接相关的内容" in answer.inner_text()
    assert "最相近的条款" in answer.inner_text()
    answer.locator(".qa-sources a.qa-cite").first.click()
    page.wait_for_function("document.querySelector('#qa-clause-panel .qa-clause-text') !== null")
    assert "保障措施" in page.inner_text("#qa-clause-panel")
    page.screenshot(path=str(ARTIFACTS / "ui-refusal.png"))


def test_injected_markup_in_a_question_runs_nothing(page):
    attack = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">盐湖'
    answer = ask(page, attack)
    assert page.evaluate("typeof window.__pwned") == "undefined"
    user = page.locator('#qa-chat [data-testid="user"]').last
    assert user.inner_text().strip() == attack
    assert user.locator("script, img").count() == 0 and answer.locator("script, img").count() == 0
    page.screenshot(path=str(ARTIFACTS / "ui-injection.png"))


def test_a_failing_request_shows_an_error_and_the_app_keeps_serving(page, assistant, monkeypatch):
    empty = ask(page, "   ")
    assert "问题不能为空" in empty.locator(".qa-error").inner_text()

    def broken_ask(question, *, history=None, doc_id=None, top_k=None, backend=None, on_token=None):
        raise RuntimeError("index exploded")

    monkeypatch.setattr(assistant, "ask", broken_ask)
    failed = ask(page, SALT_QUESTION)
    assert "抱歉，处理这个问题时出错了" in failed.locator(".qa-error").inner_text()
    assert "index exploded" not in page.inner_text("body")  # details stay in the server log
    monkeypatch.undo()
    recovered = ask(page, SALT_QUESTION)
    assert SALT_QUOTE_START in recovered.inner_text()


def test_tokens_stream_into_the_chat_before_the_answer_is_complete(page, assistant, monkeypatch):
    real_ask = assistant.ask

    def streaming_ask(question, *, history=None, doc_id=None, top_k=None, backend=None, on_token=None):
        answer = real_ask(question, history=history, doc_id=doc_id, top_k=top_k, backend=backend)
        for start in range(0, len(answer.text), 12):  # the way an LLM backend streams
            on_token(answer.text[start:start + 12])
            time.sleep(0.05)
        return answer

    monkeypatch.setattr(assistant, "ask", streaming_ask)
    page.evaluate("""() => {
        window.__qaPartials = new Set();
        new MutationObserver(() => {
            const s = document.querySelector('#qa-chat .qa-streaming .qa-text');
            if (s && s.textContent.length > 1) window.__qaPartials.add(s.textContent);
        }).observe(document.body, {childList: true, subtree: true, characterData: true});
    }""")
    answer = ask(page, SALT_QUESTION)
    partials = page.evaluate("window.__qaPartials.size")
    assert partials >= 3, f"saw {partials} partial states"
    assert answer.locator(".qa-streaming").count() == 0
    assert answer.locator(".qa-text a.qa-cite").count() == 1


def test_documents_outline_and_keyword_search(page):
    page.get_by_role("tab", name="文档").click()
    outline = page.locator("#qa-outline")
    outline.get_by_text("“十四五”东西部科技合作实施方案", exact=False).first.wait_for()
    assert "二、重点任务" in outline.inner_text()
    outline.locator("a.qa-cite", has_text="2.打造世界级盐湖产业基地").click()
    page.wait_for_function("document.querySelector('#qa-clause-panel').innerText.includes('［二（三）2］')")
    assert page.locator("#qa-clause-panel mark").count() == 0  # browsing quotes nothing
    page.screenshot(path=str(ARTIFACTS / "ui-documents.png"))

    page.fill("#qa-search textarea", "盐湖 青海")
    page.click("#qa-search-button")
    page.wait_for_selector("#qa-search-results .qa-hit mark")
    results = page.locator("#qa-search-results")
    assert "［二（三）2］" in results.inner_text()
    assert set(results.locator("mark").all_inner_texts()) == {"盐湖", "青海"}
    results.locator("a.qa-cite").first.click()
    page.wait_for_function("document.querySelector('#qa-clause-panel .qa-clause-text') !== null")
    page.screenshot(path=str(ARTIFACTS / "ui-search.png"))


def test_ministry_tab_filters_by_organisation(page):
    page.get_by_role("tab", name="部门职责").click()
    page.wait_for_selector("#qa-org-table table.qa-orgs")
    page.locator("#qa-org input").fill("科技部")
    page.click("#qa-org-button")
    page.wait_for_function(
        "document.querySelector('#qa-org-table').innerText.includes('科学技术部')"
        " || document.querySelector('#qa-org-table').innerText.includes('科技部')")
    table = page.locator("#qa-org-table")
    assert table.locator("a.qa-cite").count() >= 1
    page.screenshot(path=str(ARTIFACTS / "ui-ministries.png"))
    page.fill("#qa-org-label textarea, #qa-org-label input", "三（一）")
    page.click("#qa-org-button")
    page.wait_for_function(
        """() => [...document.querySelectorAll('#qa-org-table a.qa-cite')].every(a => a.innerText === '［三（一）］')""")
    table.locator("a.qa-cite").first.click()
    page.wait_for_function("document.querySelector('#qa-clause-panel').innerText.includes('［三（一）］')")
    with page.expect_download() as download:
        page.click("#qa-org-csv")
    assert download.value.suggested_filename == "部门职责-科技部-三（一）.csv"
    rows = Path(download.value.path()).read_text(encoding="utf-8").splitlines()
    assert rows[0] == "\ufeff单位,别名,文件,条款,角色,角色说明,依据"
    assert len(rows) >= 2 and all(",三（一）," in row for row in rows[1:])


def test_settings_show_backend_and_hide_secrets(page):
    page.get_by_role("tab", name="设置").click()
    backend = page.locator("#qa-backend")
    backend.wait_for()
    assert "未配置大模型服务" in backend.inner_text()
    assert backend.locator("input[value=llm]").is_disabled()
    assert backend.locator("input[value=extractive]").is_checked()
    page.get_by_text("当前配置（密钥已隐藏）").wait_for()
    assert SECRET not in page.content()
    page.screenshot(path=str(ARTIFACTS / "ui-settings.png"))


def test_answer_type_is_unchanged_by_the_ui(assistant):
    """The UI calls the library's ask(): what it renders is the library's Answer."""
    events = list(ui_app.stream_answer(assistant, SALT_QUESTION, history=None, top_k=None))
    assert isinstance(events[-1], Answer) and events[-1].citations[0].clause_label == "二（三）2"
    assert events[:-1] == [events[-1].text]


LLM_ANSWER = "青海将深化与天津、山东等省市合作，「健全盐湖产业上下游协同创新机制」［二（三）2］。"


def test_llm_answer_streams_and_a_failed_llm_says_so(browser_context, llm_url, fake_llm_server):
    with app_page(browser_context, llm_url) as page:
        page.get_by_role("tab", name="设置").click()
        backend = page.locator("#qa-backend")
        assert backend.locator("input[value=llm]").is_checked()
        assert not backend.locator("input[value=llm]").is_disabled()
        page.get_by_role("tab", name="问答").click()

        fake_llm_server.script(llm_says(LLM_ANSWER, chunk_chars=2))
        page.evaluate("""() => {
            window.__qaPartials = new Set();
            document.querySelector('#qa-send').addEventListener('click', () => {
                window.__qaTimes = {sent: performance.now()};
            }, true);
            new MutationObserver(() => {
                const t = window.__qaTimes || {};
                const s = document.querySelector('#qa-chat .qa-streaming .qa-text');
                if (s && s.textContent.length > 1) {
                    window.__qaPartials.add(s.textContent);
                    if (!t.first) t.first = performance.now();
                }
                const bots = document.querySelectorAll('#qa-chat [data-testid="bot"]');
                const last = bots[bots.length - 1];
                if (t.sent && !t.done && last && last.querySelector('.qa-meta')) t.done = performance.now();
            }).observe(document.body, {childList: true, subtree: true, characterData: true});
        }""")
        answer = ask(page, SALT_QUESTION)
        times = page.evaluate("window.__qaTimes")
        print(f"\nbrowser timing (LLM backend, local scripted server): first token {times['first'] - times['sent']:.0f} ms,"
              f" full answer {times['done'] - times['sent']:.0f} ms")
        assert page.evaluate("window.__qaPartials.size") >= 3
        assert "回答方式：大模型（LLM）" in answer.inner_text()
        assert answer.locator(".qa-notice").count() == 0
        answer.locator(".qa-text a.qa-cite").first.click()
        page.wait_for_selector("#qa-clause-panel mark.qa-quote")
        assert "健全盐湖产业上下游协同创新机制" in page.locator("#qa-clause-panel mark.qa-quote").inner_text()
        page.screenshot(path=str(ARTIFACTS / "ui-llm-answer.png"))

        fake_llm_server.script(status(500, "upstream exploded"))
        fallback = ask(page, SALT_QUESTION)
        assert fallback.locator(".qa-notice").count() >= 1
        assert "回答方式：抽取式（离线）" in fallback.inner_text()
        assert SALT_QUOTE_START in fallback.inner_text()
        page.screenshot(path=str(ARTIFACTS / "ui-llm-fallback.png"))

        page.get_by_role("tab", name="设置").click()
        page.locator("#qa-backend").get_by_text("抽取式（离线）").click()
        page.get_by_role("tab", name="问答").click()
        requests_before = len(fake_llm_server.requests)
        offline = ask(page, SALT_QUESTION)
        assert "回答方式：抽取式（离线）" in offline.inner_text() and offline.locator(".qa-notice").count() == 0
        assert len(fake_llm_server.requests) == requests_before  # the LLM was not asked


def test_launch_binds_loopback_and_asks_for_the_login(browser_context, assistant):
    port = free_port()
    settings = assistant.settings.replace(ui_host="127.0.0.1", ui_port=port, ui_auth="reader:pw-7x9")
    app = ui_app.launch(settings, assistant, block=False, quiet=True)
    url = f"http://127.0.0.1:{port}"
    try:
        page = browser_context.new_page()
        requests: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        page.goto(url + "/")
        page.wait_for_selector("input[type=password]")
        assert page.locator("#qa-question").count() == 0
        page.screenshot(path=str(ARTIFACTS / "ui-login.png"))
        page.locator("input[type=text]").first.fill("reader")
        page.fill("input[type=password]", "pw-7x9")
        page.keyboard.press("Enter")
        page.wait_for_selector("#qa-question textarea")
        answer = ask(page, SALT_QUESTION)
        assert SALT_QUOTE_START in answer.inner_text()
        assert "pw-7x9" not in page.content()
        page.close()
        assert all(u.startswith(url + "/") for u in requests), requests
    finally:
        app.close()
