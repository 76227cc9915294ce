"""The Gradio app: a thin shell over `qa.Assistant`.

`build_app(assistant)` makes the page (chat with clickable clause citations,
document outlines and keyword search, the 部门职责 responsibility map, and
settings); `launch(settings)` serves it on `settings.ui_host:ui_port`
(127.0.0.1:7860 by default) with no request leaving the machine: analytics
off, system fonts, no share link.

Every answer, clause and search comes from the library; this module only
moves values between the library and the page and formats them with
`qa_ui.format`.
"""
from __future__ import annotations

import os

# Before gradio is imported: otherwise it looks up remote hosts at launch.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import ipaddress  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import queue  # noqa: E402
import re  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, Iterator  # noqa: E402

import gradio as gr  # noqa: E402

from qa import Assistant, Settings, normalise_label  # noqa: E402
from qa.errors import ConfigError, QAError  # noqa: E402
from qa.owners import orgs_to_csv, orgs_to_json  # noqa: E402
from qa.types import Answer  # noqa: E402

from . import format as fmt  # noqa: E402

log = logging.getLogger(__name__)

TITLE = "政策文件问答助手"
EXAMPLES = (
    "如何打造世界级盐湖产业基地？",
    "科技援疆有哪些重点任务？",
    "东西部科技合作协调推进机制由哪些部门建立？",
    "这份方案是哪天印发的？",
)
ERROR_MESSAGE = "抱歉，处理这个问题时出错了，请稍后再试或换个问法。"
STREAM_TIMEOUT_S = 600  # a worker that says nothing for this long is given up on

# Font stacks as plain strings: a GoogleFont would make the browser fetch from the internet.
THEME = gr.themes.Default(
    font=["Noto Sans CJK SC", "Noto Sans SC", "PingFang SC", "Microsoft YaHei", "sans-serif"],
    font_mono=["Noto Sans Mono CJK SC", "DejaVu Sans Mono", "monospace"],
)

CSS = """
.qa-cite { color: var(--link-text-color, #2563eb); text-decoration: none; cursor: pointer; white-space: nowrap; }
.qa-cite:hover { text-decoration: underline; }
.qa-muted { color: var(--body-text-color-subdued, #6b7280); font-size: 0.9em; }
.qa-notice { background: #fef3c7; color: #92400e; border-radius: 6px; padding: 4px 8px; margin-bottom: 6px; }
.qa-error { color: #b91c1c; }
.qa-sources { margin-top: 8px; font-size: 0.92em; }
.qa-sources ul { margin: 2px 0 0 0; padding-left: 1.2em; }
.qa-score, .qa-path { color: var(--body-text-color-subdued, #6b7280); }
.qa-backend { font-size: 0.8em; color: var(--body-text-color-subdued, #6b7280); }
.qa-meta { margin-top: 6px; }
.qa-clause-label { font-weight: 600; font-size: 1.1em; }
.qa-doc-title { font-weight: 600; margin: 4px 0; }
.qa-clause-text { margin-top: 8px; line-height: 1.8; }
mark, .qa-quote { background: #fde68a; color: inherit; padding: 0 1px; }
.qa-outline ul { margin: 2px 0 2px 0; padding-left: 1.2em; }
.qa-outline summary { font-weight: 600; cursor: pointer; }
.qa-hits li { margin-bottom: 8px; }
.qa-orgs { border-collapse: collapse; width: 100%; }
.qa-orgs td, .qa-orgs th { border: 1px solid var(--border-color-primary, #e5e7eb); padding: 4px 6px; vertical-align: top; }
#qa-clause-panel { min-height: 200px; }
#qa-side { position: sticky; top: 8px; align-self: flex-start; max-height: 100vh; overflow-y: auto; }
.qa-outline li, .qa-hits li { font-size: var(--text-md, 15px); }
"""

# Clicking any `a.qa-cite` (in the chat, the outline, search results or the
# responsibility table) writes {doc, label, quote} into the hidden textbox and
# presses the hidden button, whose handler fills the clause panel.
CLICK_JS = """
() => {
  if (window.__qaCiteInstalled) return;
  window.__qaCiteInstalled = true;
  document.addEventListener("click", (event) => {
    const link = event.target && event.target.closest ? event.target.closest("a.qa-cite") : null;
    if (!link) return;
    event.preventDefault();
    event.stopPropagation();
    const box = document.querySelector("#qa-cite-target textarea, #qa-cite-target input");
    const button = document.querySelector("#qa-cite-button");
    if (!box || !button) return;
    const href = link.getAttribute("href") || "";
    const params = new URLSearchParams(href.slice(href.indexOf("?") + 1));
    box.value = JSON.stringify({doc: params.get("doc") || "", label: params.get("label") || "",
                                quote: params.get("quote") || ""});
    box.dispatchEvent(new Event("input", {bubbles: true}));
    setTimeout(() => button.click(), 0);
  }, true);
}
"""


# --- streaming ------------------------------------------------------------------


def stream_answer(assistant: Assistant, question: str, **ask_kwargs: Any) -> Iterator[str | Answer]:
    """Run `assistant.ask` in a worker thread; yield the text so far after each token, then the Answer.

    Exceptions from `ask` are re-raised here, in the caller's thread.
    """
    events: queue.Queue = queue.Queue()

    def work() -> None:
        try:
            events.put(("answer", assistant.ask(question, on_token=lambda t: events.put(("token", t)), **ask_kwargs)))
        except BaseException as error:  # handed to the caller, who decides how to show it
            events.put(("error", error))

    threading.Thread(target=work, name="qa-ask", daemon=True).start()
    text = ""
    while True:
        kind, value = events.get(timeout=STREAM_TIMEOUT_S)
        if kind == "token":
            text += value
            yield text
        elif kind == "answer":
            yield value
            return
        else:
            raise value


# --- responsibility map -------------------------------------------------------------


class ResponsibilityView:
    """The 部门职责 tab's tables and CSV downloads over the assistant's responsibility map."""

    def __init__(self, assistant: Assistant):
        self._assistant = assistant
        self._downloads = tempfile.TemporaryDirectory(prefix="qa-ui-")  # removed when the app exits

    def org_names(self) -> list[str]:
        """Organisations in order of first mention (the issuing bodies come first)."""
        return self._assistant.responsibility_map.orgs()

    def table(self, org: str | None, label: str | None) -> tuple[str, str | None]:
        """(HTML table, path of a CSV file of the same rows) for the filters."""
        # Normalised here too so that 二(三)2 and 二（三）2 share one download file name.
        label = normalise_label(label) if label and label.strip() else None
        org = org.strip() if org and org.strip() else None
        entries = self._assistant.orgs(org, label)
        name = "-".join(["部门职责", *(re.sub(r'[\\/:*?"<>|\s]+', "_", x) for x in (org, label) if x)])
        path = Path(self._downloads.name) / f"{name[:80]}.csv"
        # Filtering runs on every keystroke and page load: one file per filter, rewritten
        # (same filter, same rows), so the folder does not grow with each call. Writing
        # a temporary file and renaming it means a download never sees half a file.
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", newline="", dir=self._downloads.name,
                                         suffix=".part", delete=False) as part:
            part.write(orgs_to_csv(entries))  # starts with a BOM so that Excel reads it as UTF-8
        os.replace(part.name, path)
        return fmt.org_rows_html(orgs_to_json(entries)), str(path)


# --- the page ---------------------------------------------------------------------


def build_app(assistant: Assistant) -> gr.Blocks:
    """The Gradio Blocks over `assistant`. Serve it with `app.launch(**page_options(), ...)`."""
    settings = assistant.settings
    view = ResponsibilityView(assistant)
    llm_ready = bool(settings.llm_base_url)

    def respond(message: str, chat: list, asked: list[str], top_k: float, backend: str):
        chat = list(chat or [])
        asked = list(asked or [])
        question = message or ""
        chat.append({"role": "user", "content": fmt.question_html(question if question.strip() else "（空白问题）")})
        chat.append({"role": "assistant", "content": fmt.pending_html()})
        yield "", chat, asked
        try:
            for item in stream_answer(assistant, question, history=list(asked) or None,
                                      top_k=int(top_k) if top_k else None, backend=backend or None):
                if isinstance(item, Answer):
                    chat[-1] = {"role": "assistant", "content": fmt.answer_html(item)}
                    # Earlier questions as the assistant understood them, so a chain of follow-ups keeps its topic.
                    asked.append(item.standalone_question or item.question)
                else:
                    chat[-1] = {"role": "assistant", "content": fmt.streaming_html(item)}
                yield "", chat, asked
        except QAError as error:
            chat[-1] = {"role": "assistant", "content": fmt.error_html(str(error))}
            yield "", chat, asked
        except Exception:
            log.exception("answering %r failed", question[:200])
            chat[-1] = {"role": "assistant", "content": fmt.error_html(ERROR_MESSAGE)}
            yield "", chat, asked

    def open_clause(payload: str) -> str:
        try:
            wanted = json.loads(payload or "{}")
            label, doc_id = str(wanted.get("label") or ""), str(wanted.get("doc") or "") or None
            clause = assistant.show(label, doc_id)
            return fmt.clause_panel_html(clause, wanted.get("quote") or None, assistant.document(clause.doc_id))
        except QAError as error:
            return fmt.panel_message_html(str(error))
        except Exception:
            log.exception("showing clause %r failed", (payload or "")[:200])
            return fmt.panel_message_html("无法显示这个条款。")

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
            return fmt.panel_message_html(str(error))
        except Exception:
            log.exception("listing the documents failed")
            return fmt.panel_message_html("无法显示文档目录。")

    def filter_orgs(org: str | None, label: str | None):
        try:
            table, csv_path = view.table(org, label)
            return table, gr.update(value=csv_path, interactive=True)
        except QAError as error:
            return fmt.panel_message_html(str(error)), gr.update(value=None, interactive=False)
        except Exception:
            log.exception("responsibility map (%r, %r) failed", org, label)
            return fmt.panel_message_html("无法生成部门职责表。"), gr.update(value=None, interactive=False)

    def org_choices():
        try:
            return gr.update(choices=[("（全部部门）", "")] + view.org_names())
        except Exception:
            log.exception("listing organisations failed")
            return gr.update()

    with gr.Blocks(title=TITLE, analytics_enabled=False) as app:
        gr.Markdown(f"## {TITLE}\n基于已索引的政策文件回答问题，每句回答都标注条款出处；点击［条款编号］可查看原文。")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                with gr.Tabs():
                    with gr.Tab("问答", id="chat"):
                        chatbot = gr.Chatbot(
                            label="对话", elem_id="qa-chat", height=520, render_markdown=False,
                            sanitize_html=True, latex_delimiters=[], feedback_options=None,
                            group_consecutive_messages=False, buttons=[],
                            placeholder="请输入关于政策文件的问题，例如下方的示例。")
                        with gr.Row():
                            question = gr.Textbox(placeholder="输入问题，回车发送", show_label=False,
                                                  elem_id="qa-question", scale=5, max_lines=4, autofocus=True)
                            send = gr.Button("发送", variant="primary", elem_id="qa-send", scale=1, min_width=80)
                        with gr.Row():
                            example_buttons = [gr.Button(q, size="sm", elem_classes=["qa-example"])
                                               for q in EXAMPLES]
                        clear = gr.Button("清空对话", size="sm", elem_id="qa-clear")
                    with gr.Tab("文档", id="docs"):
                        with gr.Row():
                            search_box = gr.Textbox(placeholder="在条款中搜索关键词，多个关键词用空格分隔",
                                                    show_label=False, elem_id="qa-search", scale=5)
                            search_button = gr.Button("搜索", elem_id="qa-search-button", scale=1, min_width=80)
                        search_results = gr.HTML(elem_id="qa-search-results")
                        gr.HTML(outlines, elem_id="qa-outline")
                    with gr.Tab("部门职责", id="owners"):
                        gr.Markdown("各部门在文件中承担的职责：按部门（可输入简称）或按条款编号筛选。")
                        with gr.Row():
                            org_box = gr.Dropdown(label="部门", choices=[], value=None, allow_custom_value=True,
                                                  elem_id="qa-org", scale=3)
                            label_box = gr.Textbox(label="条款编号", placeholder="如 二（三）2",
                                                   elem_id="qa-org-label", scale=2)
                            org_button = gr.Button("筛选", elem_id="qa-org-button", scale=1, min_width=80)
                        org_csv = gr.DownloadButton("下载 CSV", elem_id="qa-org-csv", size="sm")
                        org_table = gr.HTML(elem_id="qa-org-table")
                    with gr.Tab("设置", id="settings"):
                        if not llm_ready:
                            backend_note = "未配置大模型服务（llm_base_url），只能使用离线的抽取式回答。"
                        else:
                            backend_note = "大模型失败时会自动改用抽取式回答，并在回答上方提示。"
                        backend = gr.Radio(
                            choices=[("抽取式（离线）", "extractive"), ("大模型（LLM）", "llm")],
                            value=settings.effective_answer_backend, label="回答方式", info=backend_note,
                            interactive=llm_ready, elem_id="qa-backend")
                        top_k = gr.Slider(1, max(20, settings.top_k), value=settings.top_k, step=1, label="检索条款数（top-k）",
                                          elem_id="qa-top-k")
                        gr.JSON(value=settings.public_view(), label="当前配置（密钥已隐藏）")
            with gr.Column(scale=2, elem_id="qa-side"):
                gr.Markdown("#### 条款原文")
                panel = gr.HTML(fmt.panel_message_html("点击回答或目录中的［条款编号］，在这里查看条款原文。"),
                                label="条款原文", elem_id="qa-clause-panel")
                cite_target = gr.Textbox(visible="hidden", elem_id="qa-cite-target")
                cite_button = gr.Button("show clause", visible="hidden", elem_id="qa-cite-button")

        asked = gr.State([])
        chat_io = dict(inputs=[question, chatbot, asked, top_k, backend], outputs=[question, chatbot, asked])
        question.submit(respond, **chat_io)
        send.click(respond, **chat_io)
        for button, text in zip(example_buttons, EXAMPLES):
            button.click(lambda text=text: text, outputs=question, queue=False).then(respond, **chat_io)
        clear.click(lambda: ([], [], fmt.panel_message_html("对话已清空。")), outputs=[chatbot, asked, panel],
                    queue=False)
        chatbot.clear(lambda: [], outputs=asked, queue=False)  # the chat's own trash button
        cite_button.click(open_clause, inputs=cite_target, outputs=panel, concurrency_limit=None)
        search_box.submit(search, inputs=search_box, outputs=search_results)
        search_button.click(search, inputs=search_box, outputs=search_results)
        org_button.click(filter_orgs, inputs=[org_box, label_box], outputs=[org_table, org_csv])
        label_box.submit(filter_orgs, inputs=[org_box, label_box], outputs=[org_table, org_csv])
        org_box.input(filter_orgs, inputs=[org_box, label_box], outputs=[org_table, org_csv])
        app.load(org_choices, outputs=org_box).then(filter_orgs, inputs=[org_box, label_box],
                                                     outputs=[org_table, org_csv])
        app.load(None, js=CLICK_JS)
    return app


def page_options() -> dict:
    """`Blocks.launch()` arguments every serving of the app needs besides where to listen:
    the look (gradio 6 takes theme and css at launch), and nothing shared or
    recorded: no share link, no run history kept in the browser, no MCP server."""
    return {"theme": THEME, "css": CSS, "share": False, "show_error": False, "ssr_mode": False,
            "mcp_server": False, "pwa": False, "footer_links": [], "run_history": False}


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
    """Serve the app on settings.ui_host:ui_port, with a login page when settings.ui_auth is set.

    With `block=True` (the CLI) this returns only when the server stops; with
    `block=False` it returns the running app at once (call `.close()` to stop it).
    """
    auth = parse_auth(settings.ui_auth)
    assistant = assistant or Assistant(settings)
    assistant.documents  # load (or build) the index before the page is served
    # Load the embedding model and retriever now so the first question is not slow.
    threading.Thread(target=_warm_up, args=(assistant,), name="qa-warm-up", daemon=True).start()
    if not is_loopback(settings.ui_host):
        log.warning("界面监听在 %s，局域网中的其他机器也能访问%s。", settings.ui_host,
                    "" if auth else "（未设置登录口令，可用 --auth 用户名:密码）")
    app = build_app(assistant)
    # One answer at a time: requests queue (the page shows their place) rather than share the models.
    app.queue(default_concurrency_limit=1).launch(
        server_name=settings.ui_host, server_port=settings.ui_port, auth=auth, prevent_thread_lock=not block,
        **{**page_options(), **launch_kwargs})
    return app


def _warm_up(assistant: Assistant) -> None:
    try:
        assistant.search("东西部科技合作", top_k=1)
    except Exception:
        log.exception("warm-up search failed")


__all__ = ["EXAMPLES", "build_app", "launch", "page_options", "parse_auth", "stream_answer"]
