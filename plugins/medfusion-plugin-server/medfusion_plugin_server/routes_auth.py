"""``/api/auth/*`` (login, bearer tokens, logout, me) and ``/api/users`` (admin only)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from medfusion_plugin_server import answers
from medfusion_plugin_server.accounts import SESSION_SECONDS
from medfusion_plugin_server.context import context
from medfusion_plugin_server.errors import ApiError
from medfusion_plugin_server.security import COOKIE, Admin, Identified, bearer_token

router = APIRouter(prefix="/api")


class Credentials(BaseModel):
    """A login."""

    username: str
    password: str


class NewUser(BaseModel):
    """A user to create."""

    username: str
    password: str
    role: str = "viewer"


class UserChange(BaseModel):
    """A change of role and/or password."""

    role: str | None = None
    password: str | None = None


def _check_credentials(request: Request, body: Credentials) -> dict[str, Any]:
    """The user, or 401; over the rate limit (per client and per username) 429."""
    ctx = context(request)
    client = request.client.host if request.client else "?"
    keys = (f"client:{client}", f"user:{body.username}")
    wait = ctx.limiter.retry_after(*keys)
    if wait > 0:
        raise ApiError(429, f"too many failed logins: try again in {int(wait) + 1} s")
    user = ctx.accounts.authenticate(body.username, body.password)
    if user is None:
        ctx.limiter.failed(*keys)
        raise ApiError(401, "wrong username or password")
    ctx.limiter.succeeded(*keys)
    request.state.user = user
    return user


@router.post("/auth/login", response_model=answers.Login)
def login(body: Credentials, request: Request, response: Response) -> dict[str, Any]:
    """Log in: sets the HttpOnly session cookie; returns the user and the CSRF token that
    state-changing requests must send as ``X-CSRF-Token``."""
    user = _check_credentials(request, body)
    token, csrf = context(request).accounts.open_session(user["id"], "cookie")
    response.set_cookie(
        COOKIE,
        token,
        max_age=SESSION_SECONDS,
        httponly=True,
        samesite="strict",
        secure=context(request).settings.secure_cookie,
        path="/",
    )
    return {"user": user, "csrf_token": csrf}


@router.post("/auth/token", response_model=answers.Token)
def token(body: Credentials, request: Request) -> dict[str, Any]:
    """A bearer token for scripts (``Authorization: Bearer <token>``; no CSRF header needed)."""
    user = _check_credentials(request, body)
    access, _ = context(request).accounts.open_session(user["id"], "bearer")
    return {"access_token": access, "token_type": "bearer", "user": user}


@router.post("/auth/logout", response_model=answers.LoggedOut)
def logout(user: Identified, request: Request, response: Response) -> dict[str, Any]:
    """End this session (or revoke this bearer token)."""
    credential = bearer_token(request) or request.cookies.get(COOKIE)
    if credential:
        context(request).accounts.close_session(credential)
    response.delete_cookie(COOKIE, path="/")
    return {"logged_out": user["username"]}


@router.get("/auth/me", response_model=answers.User)
def me(user: Identified) -> dict[str, Any]:
    """The logged-in user."""
    return user


@router.get("/users", response_model=list[answers.User])
def list_users(_: Admin, request: Request) -> list[dict[str, Any]]:
    """Every user."""
    return context(request).accounts.list()


@router.post("/users", status_code=201, response_model=answers.User)
def add_user(_: Admin, body: NewUser, request: Request) -> dict[str, Any]:
    """Create a user."""
    return context(request).accounts.add(body.username, body.password, body.role)


@router.patch("/users/{user_id}", response_model=answers.User)
def change_user(_: Admin, user_id: int, body: UserChange, request: Request) -> dict[str, Any]:
    """Change a user's role or password."""
    return context(request).accounts.update(user_id, role=body.role, password=body.password)


@router.delete("/users/{user_id}", response_model=answers.User)
def remove_user(user: Admin, user_id: int, request: Request) -> dict[str, Any]:
    """Delete a user (not yourself)."""
    if user_id == user["id"]:
        raise ApiError(409, "you cannot delete your own account")
    return context(request).accounts.remove(user_id)
