"""Bearer API keys for the HTTP API: `Authorization: Bearer <key>`, one of `settings.api_keys`.

With no keys configured the API is open (it listens on loopback by default)."""
from __future__ import annotations

import hmac

from fastapi import HTTPException, Request

MISSING = "需要 API 密钥：请在请求头中加入 Authorization: Bearer <密钥>。"
WRONG = "API 密钥无效。"


def require_key(keys: frozenset[str]):
    """A FastAPI dependency that refuses requests (401) without one of `keys`; a no-op when `keys` is empty."""

    def check(request: Request) -> None:
        if not keys:
            return
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not given.strip():
            raise HTTPException(401, MISSING, headers={"WWW-Authenticate": "Bearer"})
        # Compared in constant time, against every key, so timing tells nothing about which is close.
        matches = [hmac.compare_digest(given.strip().encode(), key.encode()) for key in keys]
        if not any(matches):
            raise HTTPException(401, WRONG, headers={"WWW-Authenticate": "Bearer"})

    return check
