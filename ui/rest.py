"""The REST API under /api: the same JSON as the CLI's `--json`, documented at /docs.

    POST /api/ask                       an answer (`qa ask --json`), saved as a turn of a conversation
    GET  /api/search?q=…                retrieval hits, best first (mode=keywords: `qa find --json`)
    GET  /api/documents                 `qa docs --json`
    GET  /api/clauses/{doc}/{label}     `qa show --json`
    GET  /api/orgs?org=…&label=…        `qa orgs --json`
    GET  /api/who?q=…                   `qa who --json`
    POST /api/feedback                  👍/👎 and a comment on a saved answer
    GET  /api/conversations[/{id}]      saved conversations; DELETE one
    GET  /api/conversations/{id}/export?format=markdown|docx   one as a file, cited clauses as notes
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from qa import Assistant
from qa.owners.render import orgs_to_json, who_to_json
from qa.saved.export import export_name, to_docx, to_markdown
from qa.saved.store import Store
from qa.settings import ANSWER_BACKENDS
from qa.views import clause_json, found_json, hits_json, works_json

@dataclass(frozen=True)
class ExportKind:
    suffix: str
    media_type: str


EXPORTS = {
    "markdown": ExportKind("md", "text/markdown; charset=utf-8"),
    "docx": ExportKind("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
}

Backend = Literal[tuple(ANSWER_BACKENDS)]  # type: ignore[valid-type]


class AskRequest(BaseModel):
    question: str = Field(description="问题，如 如何打造世界级盐湖产业基地？")
    conversation_id: str | None = Field(None, description="接着这个对话问（追问据此理解）；不填则开始新对话")
    doc: str | None = Field(None, description="只在这份文档中检索")
    top_k: int | None = Field(None, ge=1, le=50, description="检索条款数")
    backend: Backend | None = Field(None, description="回答方式（默认：配置了大模型则用 llm）")


class FeedbackRequest(BaseModel):
    turn_id: int = Field(description="/api/ask 返回的 turn_id")
    rating: Literal["up", "down"] = Field(description="up 表示有用，down 表示有问题")
    comment: str = Field("", max_length=2000, description="可选的说明")


def rest_router(assistant: Assistant, store: Store) -> APIRouter:
    router = APIRouter(prefix="/api", tags=["REST 接口"])

    @router.post("/ask", summary="提问：带条款引用的回答（同 qa ask --json），并保存到对话中")
    def ask(request: AskRequest) -> dict:
        history = store.conversation(request.conversation_id).understood if request.conversation_id else ()
        answer = assistant.ask(request.question, history=history, doc_id=request.doc, top_k=request.top_k,
                               backend=request.backend)
        conversation_id = request.conversation_id or store.new_conversation()
        turn = store.add_turn(conversation_id, answer)
        return {**answer.to_json(), "conversation_id": conversation_id, "turn_id": turn.id}

    @router.get("/search", summary="检索条款（mode=keywords 时为精确关键词查找，同 qa find --json）")
    def search(q: str = Query(description="问题或关键词"), top_k: int | None = Query(None, ge=1, le=50),
               doc: str | None = None, mode: Literal["hybrid", "keywords"] = "hybrid") -> list[dict]:
        if mode == "keywords":
            return found_json(assistant.find(q))
        return hits_json(assistant.search(q, top_k, doc))

    @router.get("/documents", summary="已索引的文档及其条款编号（同 qa docs --json）")
    def documents() -> list[dict]:
        return works_json(assistant.scoper.works, assistant.clauses)

    @router.get("/clauses/{doc}/{label}", summary="一个条款的原文（同 qa show --json）")
    def clause(doc: str, label: str) -> dict:
        return clause_json(assistant.show(label, doc))

    @router.get("/orgs", summary="单位及其在各条款中的角色（同 qa orgs --json）")
    def orgs(org: str | None = Query(None, description="单位，可用简称，如 工信部"),
             label: str | None = Query(None, description="条款编号，如 二（三）2")) -> list[dict]:
        return orgs_to_json(assistant.orgs(org or None, label or None))

    @router.get("/who", summary="某项措施归哪些部门负责（同 qa who --json）")
    def who(q: str = Query(description="措施，如 盐湖产业")) -> dict:
        return who_to_json(assistant.who(q))

    @router.post("/feedback", summary="对一条回答的评价（👍/👎 与说明）")
    def feedback(request: FeedbackRequest) -> dict:
        return store.add_feedback(request.turn_id, request.rating, request.comment).to_json()

    @router.get("/conversations", summary="保存的对话，最近的在前")
    def conversations(limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0)) -> list[dict]:
        return [c.to_json() for c in store.conversations(limit, offset)]

    @router.get("/conversations/{conversation_id}", summary="一个对话的全部问答")
    def conversation(conversation_id: str) -> dict:
        return store.conversation(conversation_id).to_json()

    @router.get("/conversations/{conversation_id}/export", summary="导出对话（Markdown 或 Word，引用的条款作为注释）",
                response_class=Response)
    def export(conversation_id: str, format: Literal["markdown", "docx"] = "markdown") -> Response:
        saved = store.conversation(conversation_id)
        kind = EXPORTS[format]
        content = to_markdown(saved).encode("utf-8") if format == "markdown" else to_docx(saved)
        name = quote(f"{export_name(saved.title)}.{kind.suffix}")
        return Response(content, media_type=kind.media_type,
                        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{name}"})

    @router.delete("/conversations/{conversation_id}", summary="删除一个对话", status_code=204)
    def delete_conversation(conversation_id: str) -> None:
        store.delete_conversation(conversation_id)

    return router
