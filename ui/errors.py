"""Library errors as HTTP responses, in the OpenAI error shape every route shares:
{"error": {"message": <a complete Chinese sentence>, "type": …, "code": …}}."""
from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from qa.errors import BackendUnavailable, BadQuestion, ConfigError, IndexUnavailable, QAError, UnknownLabel
from qa.saved.store import BadFeedback, StoreUnavailable

log = logging.getLogger(__name__)

class UnknownModel(QAError):
    """A chat model name the API does not serve."""


INTERNAL_ERROR = "抱歉，处理请求时出错了，请稍后再试。"
# Most specific first: the first class an error is an instance of decides.
STATUS = (
    (BadQuestion, 400, "invalid_request_error"),
    (BadFeedback, 400, "invalid_request_error"),
    (ConfigError, 400, "invalid_request_error"),
    (UnknownLabel, 404, "not_found_error"),
    (UnknownModel, 404, "invalid_request_error"),
    (IndexUnavailable, 503, "service_unavailable"),
    (StoreUnavailable, 503, "service_unavailable"),
    (BackendUnavailable, 502, "upstream_error"),
    (QAError, 400, "invalid_request_error"),
)


def error_body(message: str, kind: str, code: str | None = None) -> dict:
    return {"error": {"message": message, "type": kind, "code": code}}


def status_of(error: QAError) -> tuple[int, str]:
    return next((status, kind) for cls, status, kind in STATUS if isinstance(error, cls))


def install(app: FastAPI) -> None:
    """Answer every failure of `app`'s routes with the shared error shape; unexpected ones are logged."""

    @app.exception_handler(QAError)
    async def library_error(request: Request, error: QAError) -> JSONResponse:
        status, kind = status_of(error)
        return JSONResponse(error_body(str(error), kind), status_code=status)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, error: RequestValidationError) -> JSONResponse:
        problems = "；".join(f"{'.'.join(str(p) for p in e['loc'][1:]) or '请求体'}：{e['msg']}"
                            for e in error.errors())
        return JSONResponse(error_body(f"请求格式有误：{problems}。", "invalid_request_error"), status_code=422)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> JSONResponse:
        kind = "authentication_error" if error.status_code == 401 else "invalid_request_error"
        return JSONResponse(error_body(str(error.detail), kind), status_code=error.status_code,
                            headers=error.headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        log.error("%s %s failed", request.method, request.url.path, exc_info=error)
        return JSONResponse(error_body(INTERNAL_ERROR, "server_error"), status_code=500)
