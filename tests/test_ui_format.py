"""The UI's HTML formatting: escaping, citation links, quote highlights, search marks."""
from __future__ import annotations

from urllib.parse import parse_qs

from qa.query.retrieve import keyword_search
from qa.types import Answer, Citation, Clause, Document
from qa_ui import format as fmt

PLAN = "east-west-plan-2022-plan"
TITLE = "“十四五”东西部科技合作实施方案"
SALT_TEXT = "2.打造世界级盐湖产业基地。深化青海与天津等省市合作，提升盐湖产业竞争力。"
SALT = Citation(PLAN, TITLE, "二（三）2", ("二、重点任务", "（三）实施“科技援青”", "2.打造世界级盐湖产业基地"),
                SALT_TEXT, quote="深化青海与天津等省市合作，提升盐湖产业竞争力", score=0.98765)
MECHANISM = Citation(PLAN, TITLE, "三（一）", ("三、保障措施", "（一）健全协调推进机制"),
                     "（一）健全协调推进机制。科技部等联合建立协调推进机制。", score=0.5)
SALT_HREF = ("#qa-clause?doc=east-west-plan-2022-plan&amp;label=%E4%BA%8C%EF%BC%88%E4%B8%89%EF%BC%892"
             "&amp;quote=%E6%B7%B1%E5%8C%96%E9%9D%92%E6%B5%B7%E4%B8%8E%E5%A4%A9%E6%B4%A5%E7%AD%89%E7%9C%81"
             "%E5%B8%82%E5%90%88%E4%BD%9C%EF%BC%8C%E6%8F%90%E5%8D%87%E7%9B%90%E6%B9%96%E4%BA%A7%E4%B8%9A"
             "%E7%AB%9E%E4%BA%89%E5%8A%9B")
SALT_LINK = f'<a class="qa-cite" href="{SALT_HREF}" title="查看条款 二（三）2">［二（三）2］</a>'
# In an answer's text a citation also shows the clause's opening when the pointer rests on it.
SALT_TEXT_LINK = SALT_LINK.replace("查看条款 二（三）2", "［二（三）2］2.打造世界级盐湖产业基地。深化青海与天津等省市合作，提升盐湖产业竞争力。…")
MECHANISM_HREF = "#qa-clause?doc=east-west-plan-2022-plan&amp;label=%E4%B8%89%EF%BC%88%E4%B8%80%EF%BC%89"
MECHANISM_LINK = f'<a class="qa-cite" href="{MECHANISM_HREF}" title="查看条款 三（一）">［三（一）］</a>'
MECHANISM_TEXT_LINK = MECHANISM_LINK.replace("查看条款 三（一）", "［三（一）］（一）健全协调推进机制。科技部等联合建立协调推进机制。…")


def clause(label, path, text, doc_id=PLAN, title=TITLE):
    return Clause(doc_id, label, path, text, 0, len(text), title)


# --- escaping -------------------------------------------------------------------


def test_escape_turns_markup_into_text():
    assert fmt.esc('<script>alert("1")</script>') == "&lt;script&gt;alert(&quot;1&quot;)&lt;/script&gt;"
    assert fmt.esc("<img src=x onerror=alert(1)> & 'x'") == "&lt;img src=x onerror=alert(1)&gt; &amp; &#x27;x&#x27;"
    assert fmt.esc(None) == ""


def test_question_is_escaped_with_line_breaks_kept():
    assert fmt.question_html("<script>window.__pwned=1</script>\n第二行") == (
        '<div class="qa-question">&lt;script&gt;window.__pwned=1&lt;/script&gt;<br>第二行</div>')


def test_error_message_is_escaped():
    assert fmt.error_html("问题过长<b>") == '<div class="qa-answer qa-error">⚠ 问题过长&lt;b&gt;</div>'


# --- citation links -----------------------------------------------------------------


def test_clause_href_carries_doc_label_and_quote():
    href = fmt.clause_href(PLAN, "二（三）2", "深化青海")
    assert href.startswith("#qa-clause?")
    assert parse_qs(href.split("?", 1)[1]) == {"doc": [PLAN], "label": ["二（三）2"], "quote": ["深化青海"]}
    assert fmt.clause_href(PLAN, "三（一）") == MECHANISM_HREF.replace("&amp;", "&")


def test_clause_link_escapes_its_text_and_attributes():
    assert fmt.clause_link('d"x', "<一>", text="<b>标题</b>") == (
        '<a class="qa-cite" href="#qa-clause?doc=d%22x&amp;label=%3C%E4%B8%80%3E" title="查看条款 &lt;一&gt;">'
        "&lt;b&gt;标题&lt;/b&gt;</a>")


def test_only_labels_of_real_citations_become_links():
    text = "提升盐湖产业竞争力。［二（三）2］另见［九（九）9］与［三（一）］。"
    assert fmt.linkify_citations(text, [SALT, MECHANISM]) == (
        f"提升盐湖产业竞争力。{SALT_TEXT_LINK}另见［九（九）9］与{MECHANISM_TEXT_LINK}。")


def test_linkify_escapes_the_text_around_citations():
    text = "1. <b>加强</b> & 协同［三（一）］\n2. 其他"
    assert fmt.linkify_citations(text, [MECHANISM]) == (
        f"1. &lt;b&gt;加强&lt;/b&gt; &amp; 协同{MECHANISM_TEXT_LINK}<br>2. 其他")


def test_linkify_without_citations_is_escaped_text():
    assert fmt.linkify_citations("［二（三）2］<i>", []) == "［二（三）2］&lt;i&gt;"


# --- quote highlight -----------------------------------------------------------------


def test_quote_is_marked_in_the_clause_text():
    assert fmt.highlight_quote(SALT_TEXT, SALT.quote) == (
        '2.打造世界级盐湖产业基地。<mark class="qa-quote">深化青海与天津等省市合作，提升盐湖产业竞争力</mark>。')


def test_quote_is_found_across_whitespace_differences():
    assert fmt.find_quote("甲乙。丙 丁\n戊。", "丙丁 戊") == (3, 8)
    assert fmt.highlight_quote("甲 <乙> 丙", "<乙>丙") == '甲 <mark class="qa-quote">&lt;乙&gt; 丙</mark>'


def test_missing_or_empty_quote_leaves_the_text_unmarked():
    assert fmt.highlight_quote("a<b", "不在其中") == "a&lt;b"
    assert fmt.highlight_quote("a<b", None) == "a&lt;b"
    assert fmt.highlight_quote("a<b", "  ") == "a&lt;b"


def test_clause_panel_shows_title_path_and_highlight():
    c = clause("二（三）2", SALT.heading_path, SALT_TEXT)
    doc = Document(PLAN, TITLE, "", doc_number="国科发区〔2022〕25号", date="2022-03-03")
    assert fmt.clause_panel_html(c, SALT.quote, doc) == (
        '<div class="qa-clause"><div class="qa-clause-label">［二（三）2］</div>'
        "<div class=\"qa-doc-title\">《“十四五”东西部科技合作实施方案》</div>"
        '<div class="qa-muted">国科发区〔2022〕25号 2022-03-03</div>'
        '<div class="qa-path">二、重点任务 › （三）实施“科技援青” › 2.打造世界级盐湖产业基地</div>'
        '<div class="qa-clause-text">2.打造世界级盐湖产业基地。<mark class="qa-quote">深化青海与天津等省市合作，'
        "提升盐湖产业竞争力</mark>。</div>"
        '<div class="qa-permalink"><a href="?clause=%E4%BA%8C%EF%BC%88%E4%B8%89%EF%BC%892&amp;doc=east-west-plan-2022-plan"'
        ' title="可复制或收藏的条款链接">本条款的链接</a></div></div>')


def test_clause_panel_says_when_the_quote_is_not_in_the_clause():
    c = clause("三（一）", MECHANISM.heading_path, "科技部<牵头>。")
    assert fmt.clause_panel_html(c, "别的句子") == (
        '<div class="qa-clause"><div class="qa-clause-label">［三（一）］</div>'
        "<div class=\"qa-doc-title\">《“十四五”东西部科技合作实施方案》</div>"
        '<div class="qa-path">三、保障措施 › （一）健全协调推进机制</div>'
        '<div class="qa-clause-text">科技部&lt;牵头&gt;。</div>'
        '<div class="qa-muted">（引用的句子未在条款原文中逐字找到）</div>'
        '<div class="qa-permalink"><a href="?clause=%E4%B8%89%EF%BC%88%E4%B8%80%EF%BC%89&amp;doc=east-west-plan-2022-plan"'
        ' title="可复制或收藏的条款链接">本条款的链接</a></div></div>')


# --- search marks ----------------------------------------------------------------------


def test_mark_terms_escapes_first_and_never_matches_inside_entities():
    assert fmt.mark_terms("a<b & amp", ["amp", "<b"]) == "a<mark>&lt;b</mark> &amp; <mark>amp</mark>"


def test_mark_terms_prefers_longer_terms_and_ignores_case():
    assert fmt.mark_terms("盐湖产业与盐湖，AI与ai", ["盐湖", "盐湖产业", "Ai"]) == (
        "<mark>盐湖产业</mark>与<mark>盐湖</mark>，<mark>AI</mark>与<mark>ai</mark>")


def test_search_results_mark_hits_and_link_clauses():
    c = clause("三（一）", MECHANISM.heading_path, "科技部<牵头>协调。")
    html = fmt.search_results_html(keyword_search([c], "协调"), "协调")
    assert html == (
        '<p class="qa-muted">共 1 个条款包含“协调”。</p><ol class="qa-hits"><li class="qa-hit">'
        f'{MECHANISM_LINK} <span class="qa-path">三、保障措施 › （一）健全<mark>协调</mark>推进机制</span>'
        '<div class="qa-hit-text">科技部&lt;牵头&gt;<mark>协调</mark>。</div></li></ol>')


def test_search_results_when_nothing_matches():
    assert fmt.search_results_html([], "<x>") == '<p class="qa-muted">没有包含“&lt;x&gt;”的条款。</p>'


# --- answers -------------------------------------------------------------------------


def test_answer_html_has_links_sources_and_backend():
    answer = Answer("如何打造世界级盐湖产业基地？", "深化青海与天津等省市合作，提升盐湖产业竞争力。［二（三）2］",
                    citations=(SALT,))
    assert fmt.answer_html(answer) == (
        '<div class="qa-answer"><div class="qa-text">深化青海与天津等省市合作，提升盐湖产业竞争力。'
        f'{SALT_TEXT_LINK}</div><div class="qa-sources"><b>出处</b><ul><li>{SALT_LINK} 《“十四五”东西部科技合作实施方案》'
        ' <span class="qa-path">2.打造世界级盐湖产业基地</span> <span class="qa-score" title="与问题的相关程度（与本回答中最相关的条款相比）">相关度：高</span></li></ul></div>'
        '<div class="qa-meta"><span class="qa-backend">回答方式：抽取式（离线）</span></div></div>')


def test_refusal_lists_the_nearest_clauses_and_notices():
    answer = Answer("北京有什么政策？", "文件中未找到与该问题直接相关的内容。\n相关条款：［三（一）］<健全>",
                    refused=True, refusal_reason="文件中未提及北京。", related=(MECHANISM,), backend="extractive",
                    notices=("大模型服务不可用，已改用抽取式回答。",))
    assert fmt.answer_html(answer) == (
        '<div class="qa-answer"><div class="qa-notice">⚠ 大模型服务不可用，已改用抽取式回答。</div>'
        f'<div class="qa-text">文件中未找到与该问题直接相关的内容。<br>相关条款：{MECHANISM_TEXT_LINK}&lt;健全&gt;</div>'
        f'<div class="qa-sources"><b>最相近的条款</b><ul><li>{MECHANISM_LINK} 《“十四五”东西部科技合作实施方案》'
        ' <span class="qa-path">（一）健全协调推进机制</span></li></ul></div>'
        '<div class="qa-meta"><span class="qa-backend">回答方式：抽取式（离线）</span></div></div>')


def test_llm_backend_is_named():
    assert fmt.backend_badge("llm") == '<span class="qa-backend">回答方式：大模型（LLM）</span>'


def test_streaming_text_is_escaped():
    assert fmt.streaming_html("<img src=x onerror=alert(1)>") == (
        '<div class="qa-answer qa-streaming"><div class="qa-text">&lt;img src=x onerror=alert(1)&gt;'
        '<span class="qa-cursor">▍</span></div></div>')


# --- outline -----------------------------------------------------------------------------


def test_outline_nests_sections_and_links_clauses():
    doc = Document(PLAN, TITLE, "", doc_number="国科发区〔2022〕25号", date="2022-03-03",
                   issuing_bodies=("科技部", "教育部"))
    clauses = [
        clause("前言", ("前言",), "东西部科技合作……"),
        clause("二（三）2", SALT.heading_path, SALT_TEXT),
        clause("三（一）", MECHANISM.heading_path, "科技部牵头。"),
        clause("x", ("别的",), "不在这份文档", doc_id="other"),
    ]
    front = fmt.clause_link(PLAN, "前言", text="前言")
    salt = fmt.clause_link(PLAN, "二（三）2", text="2.打造世界级盐湖产业基地")
    mechanism = fmt.clause_link(PLAN, "三（一）", text="（一）健全协调推进机制")
    assert fmt.outline_html(doc, clauses) == (
        '<details class="qa-outline" open><summary>《“十四五”东西部科技合作实施方案》'
        ' <span class="qa-muted">3 个条款</span></summary>'
        '<div class="qa-muted">国科发区〔2022〕25号　2022-03-03　科技部、教育部</div><ul>'
        f'<li>{front} <span class="qa-muted">［前言］</span></li>'
        '<li><span class="qa-section">二、重点任务</span><ul><li><span class="qa-section">（三）实施“科技援青”</span>'
        f'<ul><li>{salt} <span class="qa-muted">［二（三）2］</span></li></ul></li></ul></li>'
        '<li><span class="qa-section">三、保障措施</span>'
        f'<ul><li>{mechanism} <span class="qa-muted">［三（一）］</span></li></ul></li></ul></details>')


def test_outline_of_no_documents():
    assert fmt.outlines_html([], []) == '<p class="qa-muted">索引中还没有文档。</p>'


# --- responsibility table ---------------------------------------------------------------------


def test_relevance_is_relative_to_the_best_clause_shown():
    assert [fmt.relevance(x, 1.2) for x in (1.2, 1.0, 0.7, 0.1)] == ["高", "高", "中", "低"]
    assert fmt.relevance(0.0, 0.0) == "低"


def test_a_rewritten_follow_up_says_how_it_was_understood_and_offers_it_alone():
    answer = Answer("那西藏呢？", "x", standalone_question="西藏的<盐湖>产业有什么措施？")
    assert fmt.answer_html(answer).startswith(
        '<div class="qa-answer"><div class="qa-understood">理解为：西藏的&lt;盐湖&gt;产业有什么措施？'
        ' <a class="qa-ask-standalone" href="#qa-ask?question=%E9%82%A3%E8%A5%BF%E8%97%8F%E5%91%A2%EF%BC%9F"'
        ' title="不结合前面的对话，单独回答这个问题">作为新问题</a></div>')


def test_queued_and_stopped_answers_say_so():
    assert "排队中（第 2 个）" in fmt.queued_html(2)
    assert fmt.stopped_html("半句<") == (
        '<div class="qa-answer qa-stopped"><div class="qa-text">半句&lt;</div>'
        '<div class="qa-notice">已停止，回答不完整。</div></div>')


def test_command_line_hints_become_page_hints():
    assert fmt.web_message("没有编号为 九 的条款。可用 qa docs 查看条款目录") == "没有编号为 九 的条款。可在「文档」页查看条款目录"


# --- responsibility table ---------------------------------------------------------------------


def test_owner_table_is_one_row_per_mention_with_names_marked():
    from qa_ui.owners_view import OwnerPage, OwnerRow

    row = OwnerRow("科学技术部", ("科技部",), "单位", PLAN, "三（一）", "牵头/协调", "科技部等联合建立<机制>")
    assert fmt.owner_table_html(OwnerPage((row,), 1, 3, 41, 12)) == (
        '<p class="qa-muted">12 个单位，41 处职责；第 1 / 3 页。</p><div class="qa-table-wrap"><table class="qa-orgs">'
        '<thead><tr><th>单位</th><th>类别</th><th>条款</th><th>角色</th><th>依据</th></tr></thead><tbody>'
        '<tr><td class="qa-org-name"><b>科学技术部</b><div class="qa-muted">科技部</div></td><td class="qa-nowrap">单位</td>'
        f'<td class="qa-nowrap">{MECHANISM_LINK}</td><td class="qa-role">牵头/协调</td>'
        '<td><mark>科技部</mark>等联合建立&lt;机制&gt;</td></tr></tbody></table></div>')
    assert fmt.owner_table_html(OwnerPage((), 1, 1, 0, 0)) == '<p class="qa-muted">没有符合条件的单位或条款。</p>'


def test_who_lists_named_parties_by_role_then_the_plan_wide_owners():
    result = {"query": "盐湖产业", "notice": "", "measures": [
        {"doc": PLAN, "label": "二（三）2", "path": "二、重点任务 › 2.打造世界级盐湖产业基地", "orgs": [
            {"name": "天津", "role_name": "合作方"}, {"name": "山东", "role_name": "合作方"}]}],
        "inherited": [{"doc": PLAN, "label": "三（一）", "role_name": "牵头/协调", "orgs": [{"name": "科学技术部"}]}]}
    html = fmt.who_html(result)
    assert '<span class="qa-role">合作方</span>：天津、山东' in html
    assert f'<li>{MECHANISM_LINK} <span class="qa-role">牵头/协调</span>：科学技术部</li>' in html


def test_the_owner_view_groups_pages_and_sorts(plan_assistant):
    from qa_ui.owners_view import PAGE_SIZE, ResponsibilityView

    view = ResponsibilityView(plan_assistant)
    assert view.group_of("工信部") == view.group_of("中国科学院") == "单位"
    assert view.group_of("青海") == view.group_of("东部地区") == "地区"
    assert "科学技术部" in view.names("单位") and "青海" not in view.names("单位")
    first = view.page(None, None, None, "按单位", 1)
    assert len(first.rows) == PAGE_SIZE and first.pages == -(-first.total // PAGE_SIZE)
    last = view.page(None, None, None, "按单位", 999)
    assert last.page == first.pages  # clamped
    regions = view.page(None, None, "地区", "按条款", 1)
    assert {r.group for r in regions.rows} == {"地区"}
    order = [c.clause_label for c in plan_assistant.clauses]
    labels = [r.label for r in view.rows(None, None, "地区")]
    assert [r.label for r in regions.rows] == sorted(labels, key=order.index)[:PAGE_SIZE]


def test_each_filter_keeps_one_csv_file(plan_assistant):
    from pathlib import Path

    from qa_ui.owners_view import ResponsibilityView

    view = ResponsibilityView(plan_assistant)
    first = view.csv_file("科技部", "三(一)")
    again = view.csv_file(" 科技部 ", "三（一）")
    everything = view.csv_file(None, "")
    assert first == again != everything
    assert sorted(p.name for p in Path(first).parent.iterdir()) == ["部门职责-科技部-三（一）.csv", "部门职责.csv"]


# --- what the app shows of its settings, and how it is served ----------------------------


def test_settings_tab_masks_secrets_and_passwords_in_urls(tmp_path):
    import gradio as gr

    from qa import Assistant, Settings
    from qa.saved.store import Store
    from qa_ui.app import build_app

    settings = Settings(index_dir=tmp_path, llm_api_key="sk-secret", ui_auth="reader:pw",
                        llm_base_url="https://u:pw@llm.example/v1", embedding_base_url="http://127.0.0.1:8080/v1")
    app = build_app(Assistant(settings, auto_build=False), Store(tmp_path / "data"))
    view, = (b.value for b in app.blocks.values() if isinstance(b, gr.JSON))
    assert view == settings.public_view()
    assert (view["llm_api_key"], view["ui_auth"], view["embedding_api_key"]) == ("***", "***", "")
    assert view["llm_base_url"] == "https://***@llm.example/v1"
    assert view["embedding_base_url"] == "http://127.0.0.1:8080/v1"
    assert "sk-secret" not in repr(view) and ":pw" not in repr(view)


def test_login_setting_is_user_colon_password():
    import pytest

    from qa.errors import ConfigError
    from qa_ui.app import parse_auth

    assert parse_auth("") is None
    assert parse_auth("reader:pa:ss") == ("reader", "pa:ss")
    for bad in ("reader", ":pw", "reader:"):
        with pytest.raises(ConfigError, match="用户名:密码"):
            parse_auth(bad)


def test_only_loopback_hosts_count_as_local():
    from qa_ui.app import is_loopback

    assert [is_loopback(h) for h in ("127.0.0.1", "localhost", "::1", "0.0.0.0", "192.168.1.5", "example.org")] == [
        True, True, True, False, False, False]


def test_linkify_law_citations_name_the_law():
    law = Citation("科学技术进步法-2021-12-24", "中华人民共和国科学技术进步法", "第六条", ("第一章 总则", "第六条"),
                   "第六条 国家鼓励……", doc_name="科学技术进步法")
    html = fmt.linkify_citations("国家加强跨地区合作。［科学技术进步法 第六条］", [law])
    assert "［科学技术进步法 第六条］</a>" in html and "label=%E7%AC%AC%E5%85%AD%E6%9D%A1" in html
