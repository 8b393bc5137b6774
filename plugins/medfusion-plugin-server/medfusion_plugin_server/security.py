"""Who is asking: the session cookie (state-changing requests also need the ``X-CSRF-Token``
header holding the session's CSRF token) or an ``Authorization: Bearer`` token; WebSockets
use the cookie (browsers, same origin or an allowed one) or ``?token=``. Roles rank viewer <
researcher < admin; a handler asks for the lowest role it allows."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from medfusion_plugin_server.accounts import RANK
from medfusion_plugin_server.context import context
from medfusion_plugin_server.errors import ApiError

COOKIE = "medfusion_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def bearer_token(connection: HTTPConnection) -> str | None:
    """The token of an ``Authorization: Bearer`` header, or None."""
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def _lookup(
    connection: HTTPConnection, token: str, kind: str
) -> tuple[dict[str, Any], str | None] | None:
    """The session behind ``token``: from memory when recently seen (no thread hop, no query),
    else from the database in a worker thread."""
    accounts = context(connection).accounts
    return accounts.remembered(token, kind) or await run_in_threadpool(accounts.session_user, token, kind)


async def identify(request: Request) -> dict[str, Any]:
    """The user behind the request; 401 without valid credentials, 403 on a missing CSRF token."""
    token = bearer_token(request)
    if token is not None:
        found = await _lookup(request, token, "bearer")
        if found is None:
            raise ApiError(401, "invalid or expired token: get a new one from POST /api/auth/token")
        user = found[0]
    else:
        cookie = request.cookies.get(COOKIE)
        found = await _lookup(request, cookie, "cookie") if cookie else None
        if found is None:
            raise ApiError(401, "not logged in: POST /api/auth/login or send Authorization: Bearer <token>")
        user, csrf = found
        request.state.user = user
        sent = request.headers.get(CSRF_HEADER, "")
        if request.method not in SAFE_METHODS and not hmac.compare_digest(sent, csrf or ""):
            raise ApiError(403, f"missing or wrong {CSRF_HEADER} header (the csrf_token from login)")
    request.state.user = user
    return user


def require(role: str) -> Callable[[Request], Awaitable[dict[str, Any]]]:
    """A dependency admitting users of ``role`` or higher (403 for lower roles)."""

    async def dependency(request: Request) -> dict[str, Any]:
        user = await identify(request)
        if RANK[user["role"]] < RANK[role]:
            raise ApiError(403, f"a {user['role']} may not do this (needs {role})")
        return user

    dependency.__name__ = f"require_{role}"
    return dependency


viewer = require("viewer")
researcher = require("researcher")
admin = require("admin")


def may_manage(user: dict[str, Any], owner: str | None) -> bool:
    """Whether ``user`` may change or delete something owned by ``owner`` (admins: anything)."""
    return user["role"] == "admin" or (user["role"] == "researcher" and owner == user["username"])


def check_owner(user: dict[str, Any], owner: str | None, what: str) -> None:
    """403 unless ``user`` may manage ``what``, owned by ``owner`` (see :func:`may_manage`)."""
    if not may_manage(user, owner):
        raise ApiError(403, f"{what} belongs to {owner or 'nobody'}: a researcher manages only their own")


def _origin_allowed(connection: HTTPConnection) -> bool:
    origin = connection.headers.get("origin")
    if origin is None:
        return True
    if origin in context(connection).settings.cors_origins:
        return True
    return urlsplit(origin).netloc == connection.headers.get("host", "")


async def websocket_user(connection: HTTPConnection) -> dict[str, Any] | None:
    """The user of a WebSocket (``?token=`` or the cookie from an allowed origin), or None."""
    token = connection.query_params.get("token") or bearer_token(connection)
    if token:
        found = await _lookup(connection, token, "bearer")
        return found[0] if found else None
    cookie = connection.cookies.get(COOKIE)
    if cookie and _origin_allowed(connection):
        found = await _lookup(connection, cookie, "cookie")
        return found[0] if found else None
    return None


#: Handler parameter types: the user, admitted at that role or higher.
Viewer = Annotated[dict[str, Any], Depends(viewer)]
Researcher = Annotated[dict[str, Any], Depends(researcher)]
Admin = Annotated[dict[str, Any], Depends(admin)]
Identified = Annotated[dict[str, Any], Depends(identify)]
