"""Answers from any OpenAI-compatible chat endpoint, verified sentence by sentence before they are shown.

The model sees the retrieved clauses as delimited data and must cite a label
after every sentence. Its reply is checked as it streams (`qa.answer.verify`):
a sentence reaches `on_token` only once a given clause supports it, so nothing
the final answer does not contain is ever displayed. Any failure of the
endpoint (see `qa.answer.llm_client`) and any answer with nothing left to show
ends in the fallback answerer's answer with a one-line notice, never in an
exception for the user; a refusal gets a second opinion from the fallback.
A follow-up question first has the LLM rewrite it (its own budget), so a
conversation turn can take up to about twice `llm_timeout`. Raise it for slow
local models.
"""
from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import Sequence

from qa.answer.base import Answerer, TokenSink
from qa.answer.llm_client import LLMClient, LLMFailure, Reply
from qa.answer.llm_prompt import build_messages
from qa.answer.structured import StructuredReader, response_format
from qa.answer.support import SupportChecker
from qa.answer.verify import SentenceChecker, Verification, VerifiedStream, failure_reason, verified_answer
from qa.query.question import Question
from qa.settings import Settings
from qa.text.segment import Segmenter
from qa.types import Answer, Hit

log = logging.getLogger(__name__)

_MIDSTREAM_NOTICE = "大模型服务在生成回答的过程中中断（{reason}），已丢弃不完整的回答，以下为离线摘录答案。"
_PARTIAL_NOTICE = "大模型服务在生成回答的过程中中断（{reason}），以下只是已核验的部分回答，可能不完整。"
_UNAVAILABLE_NOTICE = "大模型服务不可用（{reason}），以下为离线摘录答案。"
_UNVERIFIED_NOTICE = "大模型的回答未通过逐句核验：{reason}。以下为离线摘录答案。"
_UNVERIFIED_REFUSED_NOTICE = "大模型的回答未通过逐句核验：{reason}。离线核对也没有在文件中找到直接相关的内容。"
_SECOND_OPINION_NOTICE = "大模型认为检索到的条款没有涉及这个问题，但离线摘录在同一批条款中找到了相关内容，以下为离线摘录答案。"
_UNANSWERABLE_NOTICE = "离线核对认为文件没有直接回答这个问题（{reason}），以上只保留了能在条款中逐句核实的内容。"


class LLMAnswerer:
    """Grounded, cited, verified answers from an OpenAI-compatible endpoint.

    `fallback` (the offline chain) answers whenever the endpoint is not
    configured or fails, or nothing in the model's answer can be verified; it
    is also asked for a second opinion when the model refuses, and when the
    model answers a question the offline evidence says the documents do not.
    """

    def __init__(self, settings: Settings, fallback: Answerer, client: LLMClient | None = None,
                 segmenter: Segmenter | None = None):
        self.settings = settings
        self.fallback = fallback
        self.client = client if client is not None else LLMClient(settings) if settings.llm_base_url else None
        self.support = SupportChecker(segmenter or Segmenter())
        # Structured output until the server turns it down; then plain text for this answerer's life.
        self._structured = settings.llm_response_format == "json_schema"

    def answer(self, question: Question, hits: Sequence[Hit], *, on_token: TokenSink | None = None) -> Answer:
        """Answer `question` from `hits`, passing each verified sentence to `on_token` as it completes.

        Whatever reached `on_token` is exactly the returned `Answer.text` (the
        pieces, joined): unsupported sentences are never passed on. When
        nothing was passed on, the answer may be the fallback's altogether.
        `backend` is "llm" only for text the model wrote.
        """
        if self.client is None:
            return self._fallback(question, hits, "未配置大模型服务（QA_LLM_BASE_URL），以下为离线摘录答案。")
        if not hits:
            return self._fallback(question, hits)  # nothing to ground an answer on
        started = time.perf_counter()
        reply, stream, used = self._generate(question, hits, on_token, structured=self._structured)
        if reply.failure is not None and reply.failure.format_rejected:
            log.warning("LLM endpoint rejected response_format (%s); using plain text", reply.failure.reason)
            self._structured = False
            reply, stream, used = self._generate(question, hits, on_token, structured=False)
        checked = stream.verification()
        timings = {"llm": (time.perf_counter() - started) * 1000, "verify": checked.check_ms}
        if reply.failure is not None:
            return self._interrupted(question, hits, checked, reply, timings)
        return self._settle(question, hits, used, checked, reply, timings)

    def _generate(self, question: Question, hits: Sequence[Hit], on_token: TokenSink | None, *,
                  structured: bool) -> tuple[Reply, VerifiedStream, list[Hit]]:
        """One request, its text checked sentence by sentence on the way to `on_token`."""
        messages, used = build_messages(question.search_text, hits, self.settings, structured=structured)
        stream = VerifiedStream(SentenceChecker(used, question.search_text, self.support))
        reader = StructuredReader() if structured else None
        read = reader.feed if reader is not None else (lambda token: token)

        def show(text: str) -> None:
            if text and on_token is not None:
                on_token(text)

        fmt = response_format([h.clause.citation_label for h in used]) if structured else None
        reply = self.client.stream(messages, lambda token: show(stream.feed(read(token))), response_format=fmt)
        if reply.failure is None and reply.finish_reason is None:
            reply = replace(reply, failure=LLMFailure("回答未生成完整，连接即被关闭"), partial=True)  # no finish reason: cut off
        if reply.failure is None:
            tail = stream.feed(reader.close()) if reader is not None else ""
            show(tail + stream.close())  # the last sentence is complete only now
        return reply, stream, used

    def _interrupted(self, question: Question, hits: Sequence[Hit], checked: Verification, reply: Reply,
                     timings: dict) -> Answer:
        """The stream broke off: keep what was verified and shown, or fall back when nothing was."""
        log.warning("LLM answer failed: %s", reply.failure.reason)
        shown = verified_answer(question.text, checked)
        if shown is not None and checked.grounded:
            notice = _PARTIAL_NOTICE.format(reason=reply.failure.reason)
            return replace(shown, notices=(notice, *shown.notices), timings_ms=timings)
        template = _MIDSTREAM_NOTICE if reply.partial else _UNAVAILABLE_NOTICE
        return self._fallback(question, hits, template.format(reason=reply.failure.reason), **timings)

    def _settle(self, question: Question, hits: Sequence[Hit], used: Sequence[Hit], checked: Verification,
                reply: Reply, timings: dict) -> Answer:
        """The whole reply is in: the verified answer, the second opinion on a refusal, or the fallback."""
        result = verified_answer(question.text, checked)
        if result is None:
            fallen = self._fallback(question, hits, **timings)
            template = _UNVERIFIED_REFUSED_NOTICE if fallen.refused else _UNVERIFIED_NOTICE
            return replace(fallen, notices=(template.format(reason=failure_reason(checked)), *fallen.notices),
                           dropped_citations=tuple(dict.fromkeys((*checked.dropped_citations,
                                                                  *fallen.dropped_citations))))
        opinion_started = time.perf_counter()
        # The second opinion reads the same clauses the model was given.
        offline = self.fallback.answer(question, used)
        timings = {**timings, "second_opinion": (time.perf_counter() - opinion_started) * 1000}
        if result.refused and offline is not None and not offline.refused:
            return replace(offline, notices=(_SECOND_OPINION_NOTICE, *offline.notices),
                           timings_ms={**offline.timings_ms, **timings})
        notices = result.notices
        if not result.refused and offline is not None and offline.refused and offline.refusal_reason:
            notices = (*notices, _UNANSWERABLE_NOTICE.format(reason=offline.refusal_reason.rstrip("。")))
        if reply.finish_reason == "length":
            notices = (*notices, "回答达到长度上限，可能不完整。")
        return replace(result, notices=notices, timings_ms={**result.timings_ms, **timings})

    def _fallback(self, question: Question, hits: Sequence[Hit], notice: str = "", **timings: float) -> Answer:
        answer = self.fallback.answer(question, hits)
        notices = (notice, *answer.notices) if notice else answer.notices
        return replace(answer, notices=notices, timings_ms={**answer.timings_ms, **timings})

