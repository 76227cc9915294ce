"""Credentials never reach a user's screen or a log: one scrubber for every form they take.

A credential shows up as the value itself (an API key in an error body), as an HTTP
authorisation (`Bearer <key>`, `Basic <base64 of user:password>` — what an HTTP client
sends for a URL's user-info), as `key=value` text (`api_key=…`, `"password": "…"`), or
inside a URL (`https://user:password@host`). `scrub` masks all of them: the known
values and their derived forms exactly, the rest by their shape.
"""
from __future__ import annotations

import base64
import logging
import re
from typing import Iterable
from urllib.parse import unquote, urlsplit, urlunsplit

MASK = "***"
_MIN_SECRET = 4  # shorter values would mask ordinary words
# A credential after an auth scheme, told from a word ("Basic research") by a digit, a symbol or inner capitals.
_SCHEME_TOKEN = re.compile(
    r"(?i)\b(bearer|basic|digest|token)(\s+)(?=[A-Za-z0-9._~+/=-]{4,})(?-i:(?=\S*[0-9._~+/=-]|\S+[A-Z]))"
    r"[A-Za-z0-9._~+/=-]+")
_KEY_VALUE = re.compile(
    r"(?i)\b((?:proxy-)?authorization|x-api-key|api[-_]?key|access[-_]?token|password|passwd|secret)"
    r"([\"']?\s*[:=]\s*[\"']?)(?!(?:bearer|basic|digest|token)\s)(?!\*\*\*)([^\s\"',;&}]+)")
_USER_INFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@]+@")
_OPENAI_KEY = re.compile(r"\bsk-[A-Za-z0-9_\-*]{6,}")


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with every credential masked: the given `secrets` (and their derived forms), bearer and
    basic authorisations, `key=value` credentials, URL user-info and OpenAI-style keys."""
    for secret in sorted({form for s in secrets for form in derived_forms(s)}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    text = _SCHEME_TOKEN.sub(rf"\1\2{MASK}", text)
    text = _KEY_VALUE.sub(rf"\1\2{MASK}", text)
    text = _USER_INFO.sub(rf"\1{MASK}@", text)
    return _OPENAI_KEY.sub(f"sk-{MASK}", text)


def derived_forms(secret: str) -> tuple[str, ...]:
    """`secret` as it may appear on the wire: itself, percent-decoded, and base64 (how Basic sends user:password)."""
    if not secret or len(secret) < _MIN_SECRET:
        return ()
    plain = {secret, unquote(secret)}
    plain |= {form.partition(":")[2] for form in plain if ":" in form}  # user:password → the password too
    encoded = {base64.b64encode(form.encode("utf-8")).decode("ascii") for form in plain}
    return tuple(form for form in plain | encoded if len(form) >= _MIN_SECRET)


def url_secrets(url: str) -> tuple[str, ...]:
    """The credentials in `url`'s user-info: the password, and user:password (sent as Basic)."""
    user_info = _user_info(url)
    if not user_info:
        return ()
    password = user_info.partition(":")[2]
    return tuple(s for s in (user_info, password) if s)


def mask_url(url: str) -> str:
    """`url` without any user:password part (https://u:key@host/v1 → https://***@host/v1)."""
    try:
        parts = urlsplit(url)
    except ValueError:  # a broken [IPv6] host: mask by shape
        return _USER_INFO.sub(rf"\1{MASK}@", url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=f"{MASK}@" + parts.netloc.rsplit("@", 1)[1]))


def basic_auth(url: str) -> dict[str, str]:
    """The Authorization header `url`'s user-info stands for (empty without user-info): sent as a header,
    the URL itself can go without it, so no log line that prints the URL carries the password."""
    user_info = _user_info(url)
    if not user_info:
        return {}
    user, _, password = user_info.partition(":")
    pair = f"{unquote(user)}:{unquote(password)}"
    return {"Authorization": "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")}


def without_user_info(url: str) -> str:
    """`url` with its user-info removed (see `basic_auth`)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url  # settings validation reports such a URL before it is used
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def _user_info(url: str) -> str:
    try:
        netloc = urlsplit(url).netloc
    except ValueError:
        return ""
    return netloc.rsplit("@", 1)[0] if "@" in netloc else ""


class ScrubFilter(logging.Filter):
    """A log handler filter that scrubs each record's message and traceback before it is written."""

    def __init__(self, secrets: Iterable[str] = ()):
        super().__init__()
        self._secrets = tuple(secrets)
        self._formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = scrub(record.getMessage(), self._secrets), None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text, self._secrets)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info, self._secrets)
        return True
