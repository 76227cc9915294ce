"""The Gradio app: a thin shell over `qa.Assistant`.

`build_app(assistant, store)` makes the page — chat with clickable clause citations, saved
conversations (reopened after a reload, exported as Markdown or Word), 👍/👎 feedback, document
outlines and keyword search, the 部门职责 responsibility map with a "who owns measure X" search,
and settings; `launch(settings)` serves it alone on `settings.ui_host:ui_port` (127.0.0.1:7860 by
default), `qa_ui.server` beside the HTTP API. No request leaves the machine: analytics off,
system fonts, no share link.

Every answer, clause and search comes from the library; this module only moves values between
the library and the page, formats them with `qa_ui.format`, and keeps each tab's chat in a
`qa_ui.session.ChatSession`.
"""
from __future__ import annotations

import ipaddress
import json
import logging
import tempfile
import threading
from pathlib import Path

import gradio as gr

from qa import Assistant, Settings
from qa.errors import ConfigError, QAError
from qa.owners.render import who_to_json
from qa.saved.export import export_name, to_docx, to_markdown, when
from qa.saved.store import SavedConversation, Store, UnknownConversation
from qa.settings import ANSWER_BACKENDS

from . import format as fmt
from .owners_view import GROUPS, SORTS, ResponsibilityView
from .session import ChatSession, ChatSessions
from .stream import stream_answer

log = logging.getLogger(__name__)

TITLE = "政策文件问答助手"
EXAMPLES = (
    "如何打造世界级盐湖产业基地？",
    "科技援疆有哪些重点任务？",
    "东西部科技合作协调推进机制由哪些部门建立？",
    "这份方案是哪天印发的？",
)
ERROR_MESSAGE = "抱歉，处理这个问题时出错了，请稍后再试或换个问法。"
ANSWERS_AT_ONCE = 4  # answers produced at the same time across all visitors; more wait in gradio's queue
ALL = "（全部）"

# Font stacks as plain strings: a GoogleFont would make the browser fetch from the internet.
THEME = gr.themes.Default(
    font=["Noto Sans CJK SC", "Noto Sans SC", "PingFang SC", "Microsoft YaHei", "sans-serif"],
    font_mono=["Noto Sans Mono CJK SC", "DejaVu Sans Mono", "monospace"],
)

# Colours are set for light and dark mode separately: every text colour has a contrast of at
# least 4.5:1 on its background (WCAG AA), highlights included. gradio scopes this CSS and gets
# `.dark` right only in the first selector of a list: dark-mode rules have one selector each.
CSS = """
.qa-cite { color: var(--link-text-color, #1d4ed8); text-decoration: none; cursor: pointer; white-space: nowrap; }
.qa-cite:hover { text-decoration: underline; }
.qa-muted, .qa-score, .qa-path, .qa-backend { color: #4b5563; }
.dark .qa-muted { color: #cbd5e1; }
.dark .qa-score { color: #cbd5e1; }
.dark .qa-path { color: #cbd5e1; }
.dark .qa-backend { color: #cbd5e1; }
.qa-muted { font-size: 0.9em; }
.qa-backend { font-size: 0.85em; }
.qa-notice { background: #fef3c7; color: #78350f; border-radius: 6px; padding: 4px 8px; margin-bottom: 6px; }
.dark .qa-notice { background: #451a03; color: #fde68a; }
.qa-understood { font-size: 0.9em; margin-bottom: 6px; color: #374151; }
.dark .qa-understood { color: #e5e7eb; }
.qa-error { color: #b91c1c; }
.dark .qa-error { color: #fca5a5; }
.qa-sources { margin-top: 8px; font-size: 0.92em; }
.qa-sources ul { margin: 2px 0 0 0; padding-left: 1.2em; }
.qa-meta { margin-top: 6px; }
.qa-clause-label { font-weight: 600; font-size: 1.1em; }
.qa-doc-title { font-weight: 600; margin: 4px 0; }
.qa-clause-text { margin-top: 8px; line-height: 1.8; }
.qa-permalink { margin-top: 6px; font-size: 0.85em; }
mark, .qa-quote { background: #fde68a; color: #1f2937; padding: 0 1px; }
.dark mark { background: #facc15; color: #111827; }
.qa-outline ul { margin: 2px 0 2px 0; padding-left: 1.2em; }
.qa-outline summary { font-weight: 600; cursor: pointer; }
.qa-outline a, .qa-hits a { white-space: normal; overflow-wrap: anywhere; }
.qa-hits li { margin-bottom: 8px; }
.qa-table-wrap { overflow-x: auto; }
.qa-orgs { border-collapse: collapse; width: 100%; }
.qa-orgs td, .qa-orgs th { border: 1px solid var(--border-color-primary, #e5e7eb); padding: 4px 6px; vertical-align: top; }
.qa-nowrap, .qa-role, .qa-org-name { white-space: nowrap; }
.qa-measure { margin-bottom: 8px; }
#qa-clause-panel { min-height: 200px; }
/* gradio's container hides overflow, which makes it the scroll box of the sticky panel and the
   panel scroll away with the page; clipping sideways only keeps the page as the scroll box. */
.gradio-container { overflow-x: clip !important; overflow-y: visible !important; }
#qa-side { position: sticky; top: 8px; align-self: flex-start; max-height: calc(100vh - 16px); overflow-y: auto; }
#qa-panel-close { display: none; }
.qa-outline li, .qa-hits li { font-size: var(--text-md, 15px); }
@media (max-width: 768px) {
  #qa-side { position: fixed; left: 0; right: 0; bottom: 0; top: auto; max-height: 60vh; z-index: 1000;
             background: var(--background-fill-primary, #fff); border-top: 2px solid var(--border-color-primary, #e5e7eb);
             box-shadow: 0 -4px 16px rgba(0, 0, 0, 0.2); padding: 8px 12px; transform: translateY(110%);
             transition: transform 0.2s; min-width: 0 !important; }
  #qa-side.qa-open { transform: none; }
  #qa-panel-close { display: block; }
}
"""

# The page says it is Chinese before anything renders (gradio's template says lang="en").
HEAD = '<script>document.documentElement.lang = "zh-CN";</script>'

# Clicks on links in the chat, outline, search results and tables:
# - `a.qa-cite` writes {doc, label, quote} into a hidden textbox and presses the hidden button,
#   whose handler fills the clause panel; the panel is brought into view (a drawer on phones);
# - `a.qa-ask-standalone` asks a follow-up again as a question of its own.
CLICK_JS = """
() => {
  if (window.__qaCiteInstalled) return;
  window.__qaCiteInstalled = true;
  const press = (target, button, value) => {
    const box = document.querySelector(`#${target} textarea, #${target} input`);
    const press = document.querySelector(`#${button}`);
    if (!box || !press) return;
    box.value = value;
    box.dispatchEvent(new Event("input", {bubbles: true}));
    setTimeout(() => press.click(), 0);
  };
  if (new URLSearchParams(location.search).get("clause")) {  // opened from a clause's link
    const side = document.querySelector("#qa-side");
    if (side) side.classList.add("qa-open");
  }
  const params = (link) => {
    const href = link.getAttribute("href") || "";
    return new URLSearchParams(href.slice(href.indexOf("?") + 1));
  };
  document.addEventListener("click", (event) => {
    const link = event.target && event.target.closest ? event.target.closest("a.qa-cite, a.qa-ask-standalone") : null;
    if (!link) return;
    event.preventDefault();
    event.stopPropagation();
    const p = params(link);
    if (link.classList.contains("qa-ask-standalone")) {
      press("qa-standalone-target", "qa-standalone-button", p.get("question") || "");
      return;
    }
    press("qa-cite-target", "qa-cite-button",
          JSON.stringify({doc: p.get("doc") || "", label: p.get("label") || "", quote: p.get("quote") || ""}));
    const side = document.querySelector("#qa-side");
    if (!side) return;
    side.classList.add("qa-open");
    const box = side.getBoundingClientRect();
    if (box.top < 0 || box.top > window.innerHeight - 80) side.scrollIntoView({block: "start"});
  }, true);
}
"""
CLOSE_PANEL_JS = "() => { const s = document.querySelector('#qa-side'); if (s) s.classList.remove('qa-open'); }"


# --- files offered for download ----------------------------------------------------------


class ConversationFiles:
    """A saved conversation as Markdown and Word files to download, rewritten after each answer."""

    def __init__(self) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="qa-ui-")  # removed when the app exits

    def write(self, saved: SavedConversation) -> tuple[str, str]:
        folder = Path(self._folder.name) / saved.id
        folder.mkdir(exist_ok=True)
        name = export_name(saved.title)
        markdown, word = folder / f"{name}.md", folder / f"{name}.docx"
        markdown.write_text(to_markdown(saved), encoding="utf-8")
        word.write_bytes(to_docx(saved))
        return str(markdown), str(word)


# --- the page -----------------------------------------------------------------------------


def build_app(assistant: Assistant, store: Store) -> gr.Blocks:
    """The Gradio Blocks over `assistant`, saving conversations and feedback in `store`.
    Serve it with `app.launch(**page_options(), ...)` or mount it (`mount_options()`)."""
    with gr.Blocks(title=TITLE, analytics_enabled=False) as app:
        gr.Markdown(f"## {TITLE}\n基于已索引的政策文件回答问题，每句回答都标注条款出处；点击［条款编号］可查看原文。")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                with gr.Tabs():
                    with gr.Tab("问答", id="chat"):
                        chat = _chat_tab(app, assistant, store)
                    with gr.Tab("文档", id="docs"):
                        _documents_tab(assistant)
                    with gr.Tab("部门职责", id="owners"):
                        _owners_tab(app, assistant)
                    with gr.Tab("设置", id="settings"):
                        top_k, backend = _settings_tab(assistant.settings)
            with gr.Column(scale=2, elem_id="qa-side"):
                with gr.Row():
                    gr.Markdown("#### 条款原文")
                    close = gr.Button("关闭", size="sm", elem_id="qa-panel-close", scale=0, min_width=60)
                panel = gr.HTML(fmt.panel_message_html("点击回答或目录中的［条款编号］，在这里查看条款原文。"),
                                label="条款原文", elem_id="qa-clause-panel")
                cite_target = gr.Textbox(visible="hidden", elem_id="qa-cite-target")
                cite_button = gr.Button("show clause", visible="hidden", elem_id="qa-cite-button")
        chat(top_k, backend, panel)
        close.click(None, js=CLOSE_PANEL_JS)
        cite_button.click(lambda payload: _clause_panel(assistant, payload), inputs=cite_target, outputs=panel,
                          concurrency_limit=None)
        def linked_clause(request: gr.Request):  # gradio passes the request to a parameter annotated so
            return _linked_clause(assistant, request)

        app.load(linked_clause, outputs=panel)
        app.load(None, js=CLICK_JS)
    return app


def _chat_tab(app: gr.Blocks, assistant: Assistant, store: Store):
    """The chat and its saved conversations; returns a function that wires the events once the
    settings' top-k and backend controls and the clause panel exist."""
    files = ConversationFiles()
    sessions = ChatSessions()  # one per browser tab, shared by its events
    saved_id = gr.BrowserState("", storage_key="qa-conversation")  # survives a reload
    rated = gr.State(None)  # (turn id, rating) of the last 👍/👎, for its comment
    with gr.Row():
        conversations = gr.Dropdown(label="历史对话", choices=[], value=None, elem_id="qa-conversations", scale=4)
        new = gr.Button("新对话", size="sm", elem_id="qa-new", scale=1, min_width=80)
    chatbot = gr.Chatbot(
        label="对话", elem_id="qa-chat", height=520, render_markdown=False, sanitize_html=True,
        latex_delimiters=[], feedback_options=("Like", "Dislike"), group_consecutive_messages=False,
        buttons=["copy"], placeholder="请输入关于政策文件的问题，例如下方的示例。")
    with gr.Row(visible=False, elem_id="qa-comment-row") as comment_row:
        comment = gr.Textbox(placeholder="可选：说明这条回答好在哪里或错在哪里", show_label=False, elem_id="qa-comment", scale=5)
        comment_send = gr.Button("提交说明", size="sm", elem_id="qa-comment-send", scale=1, min_width=80)
    thanks = gr.Markdown(elem_id="qa-feedback-note")
    with gr.Row():
        question = gr.Textbox(placeholder="输入问题，回车发送；回答时可继续输入", show_label=False, elem_id="qa-question",
                              scale=5, max_lines=4, autofocus=True)
        send = gr.Button("发送", variant="primary", elem_id="qa-send", scale=1, min_width=70)
        stop = gr.Button("停止", variant="stop", elem_id="qa-stop", scale=1, min_width=70)
    with gr.Row():
        example_buttons = [gr.Button(q, size="sm", elem_classes=["qa-example"]) for q in EXAMPLES]
    with gr.Row():
        markdown_file = gr.DownloadButton("导出 Markdown", size="sm", elem_id="qa-export-md", interactive=False)
        word_file = gr.DownloadButton("导出 Word", size="sm", elem_id="qa-export-docx", interactive=False)
    standalone_target = gr.Textbox(visible="hidden", elem_id="qa-standalone-target")
    standalone_button = gr.Button("ask standalone", visible="hidden", elem_id="qa-standalone-button")

    def listing(selected: str | None):
        choices = [(f"{c.title or '（无标题）'} · {when(c.updated)}", c.id) for c in store.conversations()]
        return gr.update(choices=choices, value=selected if selected in {v for _, v in choices} else None)

    def exports(conversation_id: str | None):
        if not conversation_id:
            return gr.update(value=None, interactive=False), gr.update(value=None, interactive=False)
        markdown, word = files.write(store.conversation(conversation_id))
        return gr.update(value=markdown, interactive=True), gr.update(value=word, interactive=True)

    def shown(s: ChatSession):
        """Everything that changes when the conversation does."""
        return (s.messages(), listing(s.conversation_id), s.conversation_id or "", *exports(s.conversation_id))

    def accept(message: str, request: gr.Request):
        s = sessions.of(request.session_hash)
        s.enqueue(message or "")
        return "", s.messages()

    def accept_standalone(message: str, request: gr.Request):
        s = sessions.of(request.session_hash)
        s.enqueue(message or "", standalone=True)
        return s.messages()

    def answer_waiting(top_k: float, backend: str, request: gr.Request):
        """Answer the queued questions one after another; a run already going picks up new ones."""
        s = sessions.of(request.session_hash)
        run = s.start()
        if run is None:
            yield (gr.skip(),) * 5
            return
        while (next_one := s.next_question(run)) is not None:
            pending, exchange = next_one
            yield s.messages(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
            try:
                for item in stream_answer(assistant, pending.question, history=s.history_for(pending),
                                          top_k=int(top_k) if top_k else None, backend=backend or None):
                    if not s.current(run):  # stopped: what the worker says now is ignored
                        yield s.messages(), gr.skip(), gr.skip(), gr.skip(), gr.skip()  # over any update in flight
                        return
                    if isinstance(item, str):
                        s.streamed(exchange, item)
                        yield s.messages(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
                        continue
                    conversation_id = s.conversation_id or store.new_conversation()
                    s.answered(exchange, item, store.add_turn(conversation_id, item))
            except QAError as error:
                s.failed(exchange, fmt.web_message(str(error)))
            except Exception:
                log.exception("answering %r failed", pending.question[:200])
                s.failed(exchange, ERROR_MESSAGE)
            if s.current(run):
                yield shown(s)

    def stopped(request: gr.Request):
        s = sessions.of(request.session_hash)
        s.stop()
        return s.messages()

    def fresh(request: gr.Request):
        s = sessions.of(request.session_hash)
        s.reset()
        return (*shown(s), fmt.panel_message_html("已开始新对话；之前的对话可在「历史对话」中找到。"))

    def reopen(conversation_id: str | None, request: gr.Request):
        s = sessions.of(request.session_hash)
        try:
            if conversation_id:
                s.load(store.conversation(conversation_id))
            else:
                s.reset()
        except UnknownConversation:  # deleted meanwhile, or saved by another installation
            s.reset()
        return shown(s)

    def rate(like: gr.LikeData, request: gr.Request):
        s = sessions.of(request.session_hash)
        turn = s.turn_at(like.index if isinstance(like.index, int) else like.index[0])
        if turn is None or like.liked not in (True, False):
            return gr.update(visible=False), None, ""
        rating = "up" if like.liked else "down"
        store.add_feedback(turn, rating)
        note = "感谢评价。" + ("欢迎补充说明错在哪里，帮助我们改进。" if rating == "down" else "")
        return gr.update(visible=True), (turn, rating), note

    def send_comment(text: str, last: tuple[int, str] | None):
        if last is None or not (text or "").strip():
            return gr.update(), "", "请先点 👍 或 👎，再填写说明。" if last is None else "说明为空，未提交。"
        store.add_feedback(last[0], last[1], text)
        return gr.update(visible=False), "", "说明已记录，谢谢。"

    conversation_outputs = [chatbot, conversations, saved_id, markdown_file, word_file]

    def wire(top_k, backend, panel):
        answering = dict(fn=answer_waiting, inputs=[top_k, backend], outputs=conversation_outputs,
                         concurrency_limit=ANSWERS_AT_ONCE)
        for trigger in (question.submit, send.click):
            trigger(accept, inputs=question, outputs=[question, chatbot], queue=False,
                    trigger_mode="multiple").then(**answering)
        for button, text in zip(example_buttons, EXAMPLES):
            button.click(_asking(accept, text), outputs=chatbot, queue=False,
                         trigger_mode="multiple").then(**answering)
        standalone_button.click(accept_standalone, inputs=standalone_target, outputs=chatbot,
                                queue=False, trigger_mode="multiple").then(**answering)
        stop.click(stopped, outputs=chatbot, queue=False)
        new.click(fresh, outputs=[*conversation_outputs, panel], queue=False)
        chatbot.clear(fresh, outputs=[*conversation_outputs, panel], queue=False)
        conversations.input(reopen, inputs=conversations, outputs=conversation_outputs, queue=False)
        chatbot.like(rate, outputs=[comment_row, rated, thanks], queue=False)
        comment.submit(send_comment, inputs=[comment, rated], outputs=[comment_row, comment, thanks], queue=False)
        comment_send.click(send_comment, inputs=[comment, rated], outputs=[comment_row, comment, thanks], queue=False)
        app.load(reopen, inputs=saved_id, outputs=conversation_outputs)

    return wire


def _asking(accept, text: str):
    """The click handler of an example button: `text` is sent as the tab's next question."""
    def ask_example(request: gr.Request):  # gradio passes the request to a parameter annotated so
        return accept(text, request)[1]
    return ask_example


def _linked_clause(assistant: Assistant, request: gr.Request):
    """The clause named in the page's address (`?clause=二（三）2&doc=…`), if any."""
    label = request.query_params.get("clause")
    if not label:
        return gr.skip()
    return _clause_panel(assistant, json.dumps({"label": label, "doc": request.query_params.get("doc", "")}))


def _clause_panel(assistant: Assistant, payload: str) -> str:
    try:
        wanted = json.loads(payload or "{}")
        label, doc_id = str(wanted.get("label") or ""), str(wanted.get("doc") or "") or None
        clause = assistant.show(label, doc_id)
        return fmt.clause_panel_html(clause, wanted.get("quote") or None, assistant.document(clause.doc_id))
    except QAError as error:
        return fmt.panel_message_html(fmt.web_message(str(error)))
    except Exception:
        log.exception("showing clause %r failed", (payload or "")[:200])
        return fmt.panel_message_html("无法显示这个条款。")


def _documents_tab(assistant: Assistant) -> None:
    def search(query: str) -> str:
        try:
            return fmt.search_results_html(assistant.find(query), query)
        except Exception:
            log.exception("keyword search %r failed", (query or "")[:200])
            return fmt.panel_message_html("搜索出错，请稍后再试。")

    def outlines() -> str:
        try:
            return fmt.outlines_html(assistant.documents, assistant.clauses)
        except QAError as error:
            return fmt.panel_message_html(fmt.web_message(str(error)))
        except Exception:
            log.exception("listing the documents failed")
            return fmt.panel_message_html("无法显示文档目录。")

    with gr.Row():
        search_box = gr.Textbox(placeholder="在条款中搜索关键词，多个关键词用空格分隔", show_label=False,
                                elem_id="qa-search", scale=5)
        search_button = gr.Button("搜索", elem_id="qa-search-button", scale=1, min_width=80)
    results = gr.HTML(elem_id="qa-search-results")
    gr.HTML(outlines, elem_id="qa-outline")
    search_box.submit(search, inputs=search_box, outputs=results)
    search_button.click(search, inputs=search_box, outputs=results)


def _owners_tab(app: gr.Blocks, assistant: Assistant) -> None:
    view = ResponsibilityView(assistant)

    def who(query: str) -> str:
        try:
            return fmt.who_html(who_to_json(assistant.who(query)))
        except QAError as error:
            return fmt.panel_message_html(fmt.web_message(str(error)))
        except Exception:
            log.exception("who owns %r failed", (query or "")[:200])
            return fmt.panel_message_html("查询出错，请稍后再试。")

    def table(group: str, org: str | None, label: str | None, sort: str, page: int):
        group = None if group == ALL else group
        try:
            shown = view.page(org, label, group, sort, page)
            csv = gr.update(value=view.csv_file(org, label), interactive=True)
            return fmt.owner_table_html(shown), shown.page, csv
        except QAError as error:
            return fmt.panel_message_html(fmt.web_message(str(error))), 1, gr.update(value=None, interactive=False)
        except Exception:
            log.exception("responsibility table (%r, %r) failed", org, label)
            return fmt.panel_message_html("无法生成部门职责表。"), 1, gr.update(value=None, interactive=False)

    def choices(group: str):
        try:
            names = [n for g in GROUPS for n in view.names(g)] if group == ALL else view.names(group)
            labels = [c.clause_label for c in assistant.clauses]
            return (gr.update(choices=[(ALL, "")] + names, value=""),
                    gr.update(choices=[(ALL, "")] + list(dict.fromkeys(labels))))
        except Exception:
            log.exception("listing organisations failed")
            return gr.update(), gr.update()

    gr.Markdown("**谁负责这项措施？** 输入措施或任务，列出条款点名的单位及方案的总体分工。")
    with gr.Row():
        who_box = gr.Textbox(placeholder="如 盐湖产业、科技援疆、绩效评估", show_label=False, elem_id="qa-who", scale=5)
        who_button = gr.Button("查询", elem_id="qa-who-button", scale=1, min_width=80)
    who_result = gr.HTML(elem_id="qa-who-result")
    gr.Markdown("**各单位的职责**：按类别、单位（可输入简称）或条款筛选，可排序、翻页、下载。")
    with gr.Row():
        group_box = gr.Radio([ALL, *GROUPS], value=ALL, label="类别", elem_id="qa-org-group", scale=2)
        org_box = gr.Dropdown(label="单位或地区", choices=[(ALL, "")], value="", allow_custom_value=True,
                              elem_id="qa-org", scale=3)
        label_box = gr.Dropdown(label="条款", choices=[(ALL, "")], value="", elem_id="qa-org-label", scale=2)
    with gr.Row():
        sort_box = gr.Radio(list(SORTS), value=SORTS[0], label="排序", elem_id="qa-org-sort", scale=3)
        previous = gr.Button("上一页", size="sm", elem_id="qa-org-previous", scale=1, min_width=70)
        following = gr.Button("下一页", size="sm", elem_id="qa-org-next", scale=1, min_width=70)
        csv_button = gr.DownloadButton("下载 CSV", size="sm", elem_id="qa-org-csv", scale=1, min_width=90)
    page = gr.State(1)
    owners_table = gr.HTML(elem_id="qa-org-table")

    filters = [group_box, org_box, label_box, sort_box]
    outputs = [owners_table, page, csv_button]
    who_box.submit(who, inputs=who_box, outputs=who_result)
    who_button.click(who, inputs=who_box, outputs=who_result)
    for control in (org_box, label_box, sort_box):
        control.input(lambda *f: table(*f, 1), inputs=filters, outputs=outputs)
    group_box.input(choices, inputs=group_box, outputs=[org_box, label_box]).then(
        lambda *f: table(*f, 1), inputs=filters, outputs=outputs)
    previous.click(lambda *f: table(*f[:-1], f[-1] - 1), inputs=[*filters, page], outputs=outputs)
    following.click(lambda *f: table(*f[:-1], f[-1] + 1), inputs=[*filters, page], outputs=outputs)
    app.load(choices, inputs=group_box, outputs=[org_box, label_box]).then(
        lambda *f: table(*f, 1), inputs=filters, outputs=outputs)


def _settings_tab(settings: Settings):
    llm_ready = bool(settings.llm_base_url)
    if not llm_ready:
        note = "未配置大模型服务（llm_base_url），只能使用离线的抽取式回答。"
    else:
        note = "大模型失败时会自动改用抽取式回答，并在回答上方提示。"
    backend = gr.Radio(choices=[(shown, name) for name, shown in ANSWER_BACKENDS.items()],
                       value=settings.effective_answer_backend, label="回答方式", info=note, interactive=llm_ready,
                       elem_id="qa-backend")
    top_k = gr.Slider(1, max(20, settings.top_k), value=settings.top_k, step=1, label="检索条款数（top-k）",
                      elem_id="qa-top-k")
    gr.JSON(value=settings.public_view(), label="当前配置（密钥已隐藏）")
    return top_k, backend


# --- serving --------------------------------------------------------------------------------


def mount_options() -> dict:
    """Arguments every serving of the app needs besides where to listen, both for
    `Blocks.launch()` and for `gr.mount_gradio_app()`: the look (gradio 6 takes theme, css
    and head there), and nothing recorded: no run history kept in the browser, no MCP server."""
    return {"theme": THEME, "css": CSS, "head": HEAD, "show_error": False, "ssr_mode": False, "mcp_server": False,
            "pwa": False, "footer_links": [], "run_history": False}


def page_options() -> dict:
    """`Blocks.launch()` arguments: `mount_options()` and no share link."""
    return {**mount_options(), "share": False}


def parse_auth(auth: str) -> tuple[str, str] | None:
    """`user:password` → (user, password); empty → None (no login page)."""
    if not auth:
        return None
    user, sep, password = auth.partition(":")
    if not sep or not user or not password:
        raise ConfigError("ui_auth 的格式应为 用户名:密码")
    return user, password


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def launch(settings: Settings, assistant: Assistant | None = None, *, block: bool = True,
           **launch_kwargs) -> gr.Blocks:
    """Serve the app on settings.ui_host:ui_port, with a login page when settings.ui_auth is set;
    conversations are saved in settings.data_dir.

    With `block=True` (the CLI) this returns only when the server stops; with
    `block=False` it returns the running app at once (call `.close()` to stop it).
    """
    auth = parse_auth(settings.ui_auth)
    assistant = assistant or Assistant(settings)
    assistant.documents  # load (or build) the index before the page is served
    threading.Thread(target=warm_up, args=(assistant,), name="qa-warm-up", daemon=True).start()
    if not is_loopback(settings.ui_host):
        log.warning("界面监听在 %s，局域网中的其他机器也能访问%s。", settings.ui_host,
                    "" if auth else "（未设置登录口令，可用 --auth 用户名:密码）")
    app = build_app(assistant, Store(settings.data_dir))
    app.queue().launch(
        server_name=settings.ui_host, server_port=settings.ui_port, auth=auth, prevent_thread_lock=not block,
        **{**page_options(), **launch_kwargs})
    return app


def warm_up(assistant: Assistant) -> None:
    """Load the embedding model and the retriever, so the first question is not slow."""
    try:
        assistant.search("东西部科技合作", top_k=1)
    except Exception:
        log.exception("warm-up search failed")


__all__ = ["EXAMPLES", "build_app", "launch", "mount_options", "page_options", "parse_auth", "stream_answer"]
