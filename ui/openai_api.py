"""The assistant as an OpenAI-compatible chat model: `POST /v1/chat/completions` and `GET /v1/models`.

Any OpenAI client (the `openai` package, Open WebUI, Chatbox, LobeChat …) can talk to it:
the last user message is the question, the earlier user messages are the conversation
(follow-ups such as 「那西藏呢？」 are understood from them), and the reply's text is what
`qa ask` prints — the answer with its ［label］ citations, then the sources. The citations
also come structured under the extra `citations` field of the response (of the last chunk
when streaming).

Models: `qa` (the configured answer backend), `qa-extractive` and `qa-llm`.
"""
from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Iterator

from fastapi import APIRouter
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from qa import Answer, Assistant, BadQuestion, QAError
from qa.cli.ask import format_answer
from qa.query.question import read_question

from .errors import INTERNAL_ERROR, UnknownModel, error_body, status_of
from .stream import stream_answer

log = logging.getLogger(__name__)

# Model name → answer backend (None: the configured one).
MODELS = {"qa": None, "qa-extractive": "extractive", "qa-llm": "llm"}
VERIFIED = "\n\n—— 核验后的回答 ——\n"


class Message(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: str
    content: str | list[dict] | None = None

    @property
    def text(self) -> str:
        """The message's text; of a multi-part message, its text parts joined."""
        if isinstance(self.content, list):
            return "".join(str(part.get("text", "")) for part in self.content if part.get("type") == "text")
        return self.content or ""


class ChatRequest(BaseModel):
    # temperature, max_tokens, user … are accepted and ignored: the answer quotes the documents.
    model_config = ConfigDict(extra="allow")

    model: str = "qa"
    messages: list[Message] = Field(min_length=1)
    stream: bool = False


def read_chat(request: ChatRequest) -> tuple[str, list[str]]:
    """(the question, the earlier questions as asked) from the messages; the question is the
    last message, which must come from the user."""
    last = request.messages[-1]
    if last.role != "user":
        raise BadQuestion("最后一条消息应当是用户的问题（role 为 user）。")
    earlier = [m.text for m in request.messages[:-1] if m.role == "user" and m.text.strip()]
    return last.text, earlier


def understood_history(assistant: Assistant, questions: list[str]) -> list[str]:
    """The earlier questions as the assistant understands them (what `Conversation` keeps):
    each follow-up made standalone by the offline rules, so no LLM is called for old turns."""
    rewriter = assistant.backend("extractive").rewriter
    history: list[str] = []
    for question in questions:
        try:
            asked = read_question(question, assistant.settings.max_question_chars)
        except BadQuestion:
            continue
        history.append(rewriter.standalone(asked, history).text)
    return history


def closing_text(streamed: str, answer: Answer) -> str:
    """What follows the streamed tokens so that the reply reads as `qa ask` prints it: the
    sources when the stream was the final text, else the verified answer in full."""
    if not streamed:
        return format_answer(answer)
    if streamed == answer.text:
        return "\n" + format_answer(answer, with_text=False)
    return VERIFIED + format_answer(answer)


def citations_json(answer: Answer) -> list[dict]:
    return [c.to_json() for c in answer.citations]


def chat_router(assistant: Assistant) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["OpenAI 兼容接口"])

    @router.get("/models", summary="可用的模型")
    def models() -> dict:
        return {"object": "list",
                "data": [{"id": name, "object": "model", "created": 0, "owned_by": "qa"} for name in MODELS]}

    @router.post("/chat/completions", summary="对话补全（OpenAI 兼容，stream=true 时以 SSE 推送）")
    def chat_completions(request: ChatRequest):
        if request.model not in MODELS:
            raise UnknownModel(f"没有名为 {request.model} 的模型。可用的模型：{'、'.join(MODELS)}。")
        question, earlier = read_chat(request)
        read_question(question, assistant.settings.max_question_chars)  # a bad question is a 400, not a broken stream
        options = dict(history=understood_history(assistant, earlier), backend=MODELS[request.model])
        reply = Reply(request.model)
        if request.stream:
            return StreamingResponse(reply.stream(stream_answer(assistant, question, **options)),
                                     media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
        answer = assistant.ask(question, **options)
        return JSONResponse(reply.completion(answer))

    return router


class Reply:
    """One response's id, model and creation time, and its JSON or SSE form."""

    def __init__(self, model: str):
        self.id = f"chatcmpl-{uuid.uuid4().hex}"
        self.model = model
        self.created = int(time.time())

    def completion(self, answer: Answer) -> dict:
        message = {"role": "assistant", "content": format_answer(answer)}
        return {"id": self.id, "object": "chat.completion", "created": self.created, "model": self.model,
                "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                "citations": citations_json(answer)}

    def chunk(self, delta: dict, finish_reason: str | None = None, **extra) -> str:
        data = {"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}], **extra}
        return _event(data)

    def stream(self, events: Iterator[str | Answer]) -> Iterator[str]:
        """SSE: the role, each piece of text as it is produced, the closing text, then a last
        chunk with `finish_reason` and the `citations`; a failure is an `error` event."""
        yield self.chunk({"role": "assistant", "content": ""})
        streamed = ""
        try:
            for event in events:
                if isinstance(event, Answer):
                    yield self.chunk({"content": closing_text(streamed, event)})
                    yield self.chunk({}, "stop", citations=citations_json(event))
                else:  # the text so far: send what is new
                    yield self.chunk({"content": event[len(streamed):]})
                    streamed = event
        except QAError as error:
            yield _event(error_body(str(error), status_of(error)[1]))
        except Exception:
            log.exception("streaming an answer failed")
            yield _event(error_body(INTERNAL_ERROR, "server_error"))
        yield "data: [DONE]\n\n"


def _event(data: dict) -> str:
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"
