"""The Gradio app in real headless Chromium: ask, click a citation, browse, stay safe and offline.

The app runs over an Assistant with a fresh temporary index on a free
loopback port; Debian's /usr/bin/chromium is driven through Playwright
(never `playwright install`). Screenshots of each view go to tests/artifacts/.
"""
from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright import sync_api

import qa_ui.app as ui_app
from qa import Assistant, Settings
from qa.saved.store import Store
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
def store(tmp_path_factory) -> Store:
    return Store(tmp_path_factory.mktemp("ui-data"))


@pytest.fixture(scope="module")
def base_url(assistant, store):
    url, app = serve(assistant, store)
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
    page.evaluate("localStorage.clear()")  # a fresh chat: the page reopens the last conversation otherwise
    page.reload()
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


@pytest.fixture
def histories_seen(assistant, monkeypatch):
    """The history the page passed with each question, in order."""
    seen: list = []
    real_ask = assistant.ask

    def recording_ask(question, *, history=(), doc_id=None, top_k=None, backend=None, on_token=None):
        seen.append(list(history))
        return real_ask(question, history=history, doc_id=doc_id, top_k=top_k, backend=backend, on_token=on_token)

    monkeypatch.setattr(assistant, "ask", recording_ask)
    return seen


def serve(assistant, store: Store | None = None) -> tuple[str, object]:
    app = ui_app.build_app(assistant, store or Store(tempfile.mkdtemp(prefix="qa-ui-test-")))
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
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
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


def test_follow_up_passes_earlier_questions_and_clear_empties_the_chat(page, histories_seen):
    seen = histories_seen
    ask(page, SALT_QUESTION)
    second = ask(page, "科技援藏有哪些重点任务？")
    assert seen == [[], [SALT_QUESTION]]
    assert second.locator(".qa-cite").count() >= 1
    page.click("#qa-new")
    page.wait_for_function("document.querySelectorAll('#qa-chat [data-testid=\"bot\"]').length === 0")
    ask(page, "科技援藏有哪些重点任务？", expect=1)
    assert seen[-1] == []  # a new conversation: no history any more


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


def choose(page, dropdown: str, option: str) -> None:
    """Pick `option` in the gradio dropdown `dropdown` (a CSS selector)."""
    page.locator(f"{dropdown} input").click()
    page.locator(f"{dropdown} input").fill(option)
    page.locator(f'li[role=option][aria-label="{option}"]').first.click()


def test_ministry_tab_finds_owners_filters_sorts_and_pages(page):
    page.get_by_role("tab", name="部门职责").click()
    page.wait_for_selector("#qa-org-table table.qa-orgs")
    table = page.locator("#qa-org-table")
    assert "第 1 / " in table.inner_text()
    assert table.locator("tbody tr").count() == 20  # one page
    page.click("#qa-org-next")
    page.wait_for_function("document.querySelector('#qa-org-table').innerText.includes('第 2 / ')")

    # Who owns a measure: the clauses that name parties, and the plan-wide owners.
    page.fill("#qa-who textarea", "盐湖产业")
    page.click("#qa-who-button")
    page.wait_for_selector("#qa-who-result .qa-measure")
    who = page.locator("#qa-who-result")
    assert "［二（三）2］" in who.inner_text() and "方案的总体分工" in who.inner_text()
    page.screenshot(path=str(ARTIFACTS / "ui-who.png"))

    # Regions are a group of their own, not bodies.
    page.locator("#qa-org-group").get_by_text("地区", exact=True).click()
    page.wait_for_function("document.querySelector('#qa-org-table').innerText.includes('第 1 / ')")
    groups = set(page.locator("#qa-org-table tbody tr td:nth-child(2)").all_inner_texts())
    assert groups == {"地区"}
    page.locator("#qa-org-group").get_by_text("（全部）", exact=True).click()

    choose(page, "#qa-org", "科学技术部")
    page.wait_for_function(
        "[...document.querySelectorAll('#qa-org-table tbody td:first-child b')].every(b => b.innerText === '科学技术部')")
    # The role column reads on one line.
    lines = page.locator("#qa-org-table td.qa-role").first.evaluate(
        "e => { const r = document.createRange(); r.selectNodeContents(e); return r.getClientRects().length; }")
    assert lines == 1
    page.screenshot(path=str(ARTIFACTS / "ui-ministries.png"))
    choose(page, "#qa-org-label", "三（一）")
    page.wait_for_function(
        """() => [...document.querySelectorAll('#qa-org-table a.qa-cite')].length > 0 &&
                 [...document.querySelectorAll('#qa-org-table a.qa-cite')].every(a => a.innerText === '［三（一）］')""")
    table.locator("a.qa-cite").first.click()
    page.wait_for_function("document.querySelector('#qa-clause-panel').innerText.includes('［三（一）］')")
    with page.expect_download() as download:
        page.click("#qa-org-csv")
    assert download.value.suggested_filename == "部门职责-科学技术部-三（一）.csv"
    rows = Path(download.value.path()).read_text(encoding="utf-8").splitlines()
    assert rows[0] == "\ufeff单位,别名,文件,条款,角色,角色说明,依据"
    assert len(rows) >= 2 and all(",三（一）," in row for row in rows[1:])
    assert "qa docs" not in page.inner_text("body") and "--doc" not in page.inner_text("body")


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
    events = list(ui_app.stream_answer(assistant, SALT_QUESTION, top_k=None))
    assert isinstance(events[-1], Answer) and events[-1].citations[0].clause_label == "二（三）2"
    assert events[:-1] == []  # an extractive answer arrives whole: nothing streamed before it


LLM_ANSWER = "青海将深化与天津、山东等省市合作，「健全盐湖产业上下游协同创新机制」［二（三）2］。"
LLM_INVENTED = "中央财政每年投入一百亿元建设盐湖基地［二（三）2］。"
LLM_MORE = "推动数字盐湖、智慧盐湖建设［二（三）2］。提升盐湖产业竞争力［二（三）2］。"


def test_llm_answer_streams_and_a_failed_llm_says_so(browser_context, llm_url, fake_llm_server):
    with app_page(browser_context, llm_url) as page:
        page.get_by_role("tab", name="设置").click()
        backend = page.locator("#qa-backend")
        assert backend.locator("input[value=llm]").is_checked()
        assert not backend.locator("input[value=llm]").is_disabled()
        page.get_by_role("tab", name="问答").click()

        # Verified sentence by sentence: the invented one between them never reaches the page.
        fake_llm_server.script(llm_says(LLM_ANSWER + LLM_INVENTED + LLM_MORE, chunk_chars=2, pause=0.01))
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
        partials = page.evaluate("[...window.__qaPartials]")
        assert len(partials) >= 2 and not any("一百亿" in p for p in partials)
        assert all(LLM_ANSWER + LLM_MORE == p or (LLM_ANSWER + LLM_MORE).startswith(p.rstrip("▍")) for p in partials)
        assert "回答方式：大模型（LLM）" in answer.inner_text() and "一百亿" not in answer.inner_text()
        assert "已删除 1 句" in answer.locator(".qa-notice").inner_text()
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


REPLAY_FILE = Path(__file__).resolve().parents[2] / "shared" / "llm-replays" / "qwen2.5-coder-0.5b.jsonl"


@pytest.mark.skipif(not REPLAY_FILE.exists(), reason=f"the recorded LLM exchanges are not here ({REPLAY_FILE})")
def test_replayed_small_model_never_shows_an_invention_in_the_chat(browser_context, llm_url, fake_llm_server):
    """The recorded replies of a real 0.5B model: an invented amount, then Qinghai's measure given to Tibet."""
    records = [json.loads(line) for line in REPLAY_FILE.read_text(encoding="utf-8").splitlines()]

    def reply_to(question: str) -> str:
        return next(r["reply"] for r in records if f"<问题>\n{question}\n</问题>" in r["messages"][-1]["content"])

    rewrite = next(r["reply"] for r in records if not r["stream"])  # the follow-up rewrite, not streamed
    watch = """() => {
        window.__qaSeen = new Set();
        new MutationObserver(() => {
            const chat = document.querySelector('#qa-chat');
            if (chat) window.__qaSeen.add(chat.innerText);
        }).observe(document.body, {childList: true, subtree: true, characterData: true});
    }"""
    with app_page(browser_context, llm_url) as page:
        page.evaluate(watch)
        fake_llm_server.script(llm_says(reply_to("财政部安排了多少资金？"), chunk_chars=2, pause=0.01))
        invented = ask(page, "财政部安排了多少资金？")
        # The plan names 财政部门, never 财政部: refused by name before the model is asked.
        assert "未提及“财政部”" in invented.inner_text()
        assert "10亿元" not in "\n".join(page.evaluate("[...window.__qaSeen]"))
    with app_page(browser_context, llm_url) as page:  # a new conversation: the follow-up's first turn
        page.evaluate(watch)
        fake_llm_server.script(llm_says(reply_to("如何打造世界级盐湖产业基地？"), chunk_chars=2), llm_says(rewrite),
                               llm_says(reply_to("西藏的盐湖基地是什么？"), chunk_chars=2, pause=0.01))
        ask(page, "如何打造世界级盐湖产业基地？")
        follow_up = ask(page, "那西藏呢？")
        # The recorded rewrite is used; no clause ties 盐湖 to 西藏, so the model is not asked to answer it.
        assert "没有把“盐湖”与“西藏”联系起来" in follow_up.inner_text()
        assert not any("<问题>\n西藏的盐湖基地是什么？\n</问题>" in r.user for r in fake_llm_server.requests)
        assert "西藏的盐湖基地是青海" not in "\n".join(page.evaluate("[...window.__qaSeen]"))
        page.screenshot(path=str(ARTIFACTS / "ui-llm-replay.png"))


def test_launch_binds_loopback_and_asks_for_the_login(browser_context, assistant):
    port = free_port()
    settings = assistant.settings.replace(ui_host="127.0.0.1", ui_port=port, ui_auth="reader:pw-7x9",
                                          data_dir=Path(tempfile.mkdtemp(prefix="qa-ui-test-")))
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


# --- a chat page that loses nothing ------------------------------------------------------------


@pytest.fixture
def slow_answers(assistant, monkeypatch):
    """`assistant.ask` streams its answer in small pieces over about three seconds, as an LLM does."""
    real_ask = assistant.ask

    def streaming_ask(question, *, history=None, doc_id=None, top_k=None, backend=None, on_token=None):
        answer = real_ask(question, history=history, doc_id=doc_id, top_k=top_k, backend=backend)
        for start in range(0, len(answer.text), 4):
            on_token(answer.text[start:start + 4])
            time.sleep(0.05)
        return answer

    monkeypatch.setattr(assistant, "ask", streaming_ask)


def wait_streaming(page):
    page.wait_for_function(
        "(() => { const s = document.querySelector('#qa-chat .qa-streaming .qa-text');"
        " return s && s.textContent.length > 4; })()")


def test_typing_during_an_answer_is_kept_and_a_second_question_queues(page, slow_answers):
    page.fill("#qa-question textarea", SALT_QUESTION)
    page.click("#qa-send")
    wait_streaming(page)
    page.locator("#qa-question textarea").press_sequentially("科技援藏有哪些重点任务？", delay=20)
    page.locator("#qa-question textarea").press("Enter")  # sent while the first answer streams
    page.wait_for_selector("#qa-chat .qa-queued")
    assert "排队中" in page.locator("#qa-chat .qa-queued").inner_text()
    page.screenshot(path=str(ARTIFACTS / "ui-queued.png"))
    page.locator("#qa-question textarea").press_sequentially("草稿", delay=20)  # typed during the answers
    page.wait_for_function(
        "document.querySelectorAll('#qa-chat [data-testid=\"bot\"] .qa-meta').length === 2", timeout=60_000)
    assert page.locator("#qa-chat .qa-queued").count() == 0
    answers = bot_messages(page)
    assert SALT_QUOTE_START in answers.nth(0).inner_text()
    assert "西藏" in answers.nth(1).inner_text()
    assert page.input_value("#qa-question textarea") == "草稿"


def test_stop_ends_the_answer_and_the_next_question_is_answered(page, slow_answers):
    page.fill("#qa-question textarea", SALT_QUESTION)
    page.click("#qa-send")
    wait_streaming(page)
    page.click("#qa-stop")
    page.wait_for_selector("#qa-chat .qa-stopped")
    said = bot_messages(page).last.inner_text()
    assert "已停止，回答不完整" in said
    time.sleep(3)  # the rest of the stream would have arrived by now: it is ignored
    assert bot_messages(page).last.inner_text() == said and page.locator("#qa-chat .qa-meta").count() == 0
    answer = ask(page, "绩效评估委托给哪个单位？", expect=2)
    assert "中国农村技术开发中心" in answer.inner_text()


def test_reload_keeps_the_conversation_and_the_export_has_the_cited_clauses(page):
    ask(page, SALT_QUESTION)
    page.reload()
    page.wait_for_function(
        "document.querySelectorAll('#qa-chat [data-testid=\"bot\"] .qa-meta').length === 1", timeout=30_000)
    assert SALT_QUOTE_START in bot_messages(page).first.inner_text()
    follow_up = ask(page, "那西藏呢？", expect=2)
    assert "理解为" in follow_up.locator(".qa-understood").inner_text()  # the history survived the reload
    assert page.locator("#qa-conversations input").input_value().startswith(SALT_QUESTION)
    with page.expect_download() as download:
        page.click("#qa-export-md")
    assert download.value.suggested_filename.endswith(".md")
    markdown = Path(download.value.path()).read_text(encoding="utf-8")
    assert "## 问题 2：那西藏呢？" in markdown and "[^1]: ［二（三）2］《“十四五”东西部科技合作实施方案》" in markdown
    with page.expect_download() as word:
        page.click("#qa-export-docx")
    assert word.value.suggested_filename.endswith(".docx")


def test_a_follow_up_can_be_asked_as_a_new_question(page, histories_seen):
    seen = histories_seen
    ask(page, SALT_QUESTION)
    follow_up = ask(page, "那西藏呢？")
    follow_up.locator("a.qa-ask-standalone").click()
    alone = ask_pending(page, 3)
    assert seen[-1] == [] and alone.locator(".qa-understood").count() == 0
    assert page.url.endswith("/")


def ask_pending(page, n: int):
    """The n-th bot message once it is finished (for questions sent by a link, not the textbox)."""
    page.wait_for_function(
        """n => { const m = document.querySelectorAll('#qa-chat [data-testid="bot"]');
                  return m.length >= n && m[n - 1].querySelector('.qa-meta, .qa-error'); }""", arg=n, timeout=60_000)
    return bot_messages(page).nth(n - 1)


def test_thumbs_down_with_a_comment_is_stored(page, store):
    ask(page, "绩效评估委托给哪个单位？")
    page.locator('#qa-chat button[aria-label="踩"]').last.click()  # 👎, as a Chinese browser labels it
    page.wait_for_selector("#qa-comment-row textarea")
    page.fill("#qa-comment-row textarea", "应说明由谁委托")
    page.click("#qa-comment-send")
    page.wait_for_function("document.querySelector('#qa-feedback-note').innerText.includes('说明已记录')")
    rated = store.rated_turns("down")[-1]
    assert rated.turn.question == "绩效评估委托给哪个单位？" and rated.feedback.comment == "应说明由谁委托"


def test_the_clause_panel_stays_in_view_after_scrolling_a_long_table(page):
    page.get_by_role("tab", name="部门职责").click()
    page.wait_for_selector("#qa-org-table a.qa-cite")
    links = page.locator("#qa-org-table a.qa-cite")
    last = links.nth(links.count() - 1)
    last.scroll_into_view_if_needed()
    scrolled = page.evaluate("scrollY")
    assert scrolled > 500
    last.click()
    page.wait_for_function("document.querySelector('#qa-clause-panel .qa-clause-text') !== null")
    box = page.locator("#qa-clause-panel").bounding_box()
    assert 0 <= box["y"] < 1000 and page.evaluate("scrollY") == scrolled  # in view, and the table stays put
    page.screenshot(path=str(ARTIFACTS / "ui-panel-scrolled.png"))


def test_on_a_phone_the_clause_panel_opens_as_a_drawer(browser_context, base_url):
    with app_page(browser_context, base_url) as page:
        page.set_viewport_size({"width": 390, "height": 844})
        answer = ask(page, SALT_QUESTION)
        assert page.locator("#qa-side").bounding_box()["y"] >= 844  # closed: below the screen
        answer.locator(".qa-text a.qa-cite").first.click()
        page.wait_for_selector("#qa-clause-panel mark.qa-quote")
        page.wait_for_timeout(300)  # the drawer slides in
        box = page.locator("#qa-side").bounding_box()
        assert box["y"] >= 0 and box["y"] + box["height"] <= 844 + 1 and box["width"] <= 390
        mark = page.locator("#qa-clause-panel mark.qa-quote").bounding_box()
        assert 0 <= mark["y"] < 844
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing sticks out sideways
        page.screenshot(path=str(ARTIFACTS / "ui-phone-panel.png"))
        page.click("#qa-panel-close")
        page.wait_for_timeout(300)
        assert page.locator("#qa-side").bounding_box()["y"] >= 844


CONTRAST_JS = """
(selector) => {
  const rgba = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const luminance = ([r, g, b]) => {
    const lin = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
  };
  const background = (e) => {
    for (; e; e = e.parentElement) {
      const c = rgba(getComputedStyle(e).backgroundColor);
      if (c.length >= 3 && (c.length < 4 || c[3] > 0.5)) return c;
    }
    return [255, 255, 255];
  };
  return [...document.querySelectorAll(selector)].map((e) => {
    const a = luminance(rgba(getComputedStyle(e).color)), b = luminance(background(e));
    return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  });
}
"""


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_highlights_and_grey_text_are_readable_in_both_themes(browser_context, base_url, theme):
    page = browser_context.new_page()
    try:
        page.goto(f"{base_url}/?__theme={theme}")
        page.evaluate("localStorage.clear()")
        page.reload()
        page.wait_for_function("window.__qaCiteInstalled === true")
        assert page.evaluate("document.body.classList.contains('dark')") == (theme == "dark")
        answer = ask(page, SALT_QUESTION)
        answer.locator(".qa-text a.qa-cite").first.click()
        page.wait_for_selector("#qa-clause-panel mark.qa-quote")
        page.screenshot(path=str(ARTIFACTS / f"ui-contrast-{theme}.png"))
        for selector in ("#qa-clause-panel mark.qa-quote", ".qa-path", ".qa-score", ".qa-backend", ".qa-muted"):
            ratios = page.evaluate(CONTRAST_JS, selector)
            assert ratios and min(ratios) >= 4.5, f"{selector} in {theme} mode: contrast {min(ratios):.2f}"
    finally:
        page.close()


def test_a_clause_link_opens_the_clause(browser_context, base_url):
    page = browser_context.new_page()
    try:
        page.goto(base_url + "/?clause=二(三)2&doc=east-west-plan-2022-plan")
        page.wait_for_selector("#qa-clause-panel")
        page.wait_for_function("document.querySelector('#qa-clause-panel').innerText.includes('［二（三）2］')")
        link = page.locator("#qa-clause-panel .qa-permalink a").get_attribute("href")
        assert link.startswith("?clause=") and "doc=east-west-plan-2022-plan" in link
    finally:
        page.close()
