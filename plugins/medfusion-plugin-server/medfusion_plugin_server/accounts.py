"""Users, their argon2 password hashes and roles, and the sessions/tokens they log in with.

Tokens are random (``secrets.token_urlsafe``) and stored only as SHA-256 digests, so that a copy
of the database holds no usable token. Unknown users cost one argon2 verification as known ones
do, so that the answer time does not tell which usernames exist.

A looked-up session is remembered in memory for :data:`SESSION_CACHE_SECONDS` (never past its
expiry), so that a busy client costs no database query per request. Logout, a password or role
change and a user's removal through this server take effect at once; made by another process
(``medfusion users`` while the server runs) they take effect within that time.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select

from medfusion_plugin_server.db import ServerDatabase
from medfusion_plugin_server.errors import ApiError
from medfusion_plugin_server.schema import Session, User

ROLES = ("admin", "researcher", "viewer")
#: Role rank: a role may do what every lower-ranked role may.
RANK = {"viewer": 0, "researcher": 1, "admin": 2}
MIN_PASSWORD = 8
SESSION_SECONDS = 12 * 3600
TOKEN_SECONDS = 30 * 24 * 3600
#: How long a looked-up session is answered from memory.
SESSION_CACHE_SECONDS = 5.0
_CACHE_LIMIT = 10_000

_HASHER = PasswordHasher()
_DUMMY_HASH = _HASHER.hash("not a password of anyone")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def user_dict(user: User) -> dict[str, Any]:
    """The public form of a user (never the hash)."""
    return {"id": user.id, "username": user.username, "role": user.role, "created": user.created}


def _check(username: str | None, password: str | None, role: str | None) -> None:
    if username is not None and not (0 < len(username) <= 128 and username.isprintable()):
        raise ApiError(422, "username: 1 to 128 printable characters")
    if password is not None and len(password) < MIN_PASSWORD:
        raise ApiError(422, f"password: at least {MIN_PASSWORD} characters")
    if role is not None and role not in ROLES:
        raise ApiError(422, f"role: {role!r} is not one of {', '.join(ROLES)}")


class Accounts:
    """Users and sessions in the server tables of ``db``."""

    def __init__(self, db: ServerDatabase) -> None:
        self.db = db
        # (token digest, kind) -> (remembered until, user, csrf token); dicts are thread-safe enough
        # for this: a lost race costs one more lookup
        self._sessions: dict[tuple[str, str], tuple[float, dict[str, Any], str | None]] = {}

    def _forget(self, user_id: int | None = None) -> None:
        """Drop remembered sessions (of one user, or all)."""
        if user_id is None:
            self._sessions.clear()
            return
        for key, (_, user, _) in list(self._sessions.items()):
            if user["id"] == user_id:
                self._sessions.pop(key, None)

    def add(self, username: str, password: str, role: str) -> dict[str, Any]:
        """Create a user; refuses a taken name, a short password or an unknown role."""
        _check(username, password, role)
        with self.db.write() as session:
            if session.scalar(select(User.id).where(User.username == username)) is not None:
                raise ApiError(409, f"user {username!r} exists already")
            user = User(
                username=username, password_hash=_HASHER.hash(password), role=role, created=time.time()
            )
            session.add(user)
            session.flush()
            return user_dict(user)

    def list(self) -> list[dict[str, Any]]:
        """Every user, by id."""
        with self.db.read() as session:
            return [user_dict(user) for user in session.scalars(select(User).order_by(User.id))]

    def count(self) -> int:
        """How many users exist (none: authentication is not configured)."""
        return len(self.list())

    def get(self, ref: int | str) -> dict[str, Any]:
        """The user with this id or username."""
        with self.db.read() as session:
            user = self._find(session, ref)
            return user_dict(user)

    @staticmethod
    def _find(session: Any, ref: int | str) -> User:
        column = User.id if isinstance(ref, int) else User.username
        user = session.scalar(select(User).where(column == ref))
        if user is None:
            raise ApiError(404, f"no user {ref!r} (see `medfusion users list`)")
        return user

    def update(
        self, ref: int | str, *, role: str | None = None, password: str | None = None
    ) -> dict[str, Any]:
        """Change a user's role and/or password (a new password ends the user's sessions)."""
        _check(None, password, role)
        with self.db.write() as session:
            user = self._find(session, ref)
            if role is not None:
                user.role = role
            if password is not None:
                user.password_hash = _HASHER.hash(password)
                session.execute(delete(Session).where(Session.user_id == user.id))
            found = user_dict(user)
        self._forget(found["id"])  # after the commit: a lookup racing it cannot remember the old
        return found

    def remove(self, ref: int | str) -> dict[str, Any]:
        """Delete a user and their sessions."""
        with self.db.write() as session:
            user = self._find(session, ref)
            found = user_dict(user)
            session.execute(delete(Session).where(Session.user_id == user.id))
            session.delete(user)
        self._forget(found["id"])
        return found

    def authenticate(self, username: str, password: str) -> dict[str, Any] | None:
        """The user when the password matches, else None."""
        with self.db.read() as session:
            user = session.scalar(select(User).where(User.username == username))
        try:
            _HASHER.verify(user.password_hash if user else _DUMMY_HASH, password)
        except (VerificationError, InvalidHashError):
            return None
        return user_dict(user) if user else None

    def open_session(self, user_id: int, kind: str) -> tuple[str, str | None]:
        """A new ``cookie`` session (token, CSRF token) or ``bearer`` token (token, None);
        expired sessions of every user are dropped on the way."""
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(24) if kind == "cookie" else None
        now = time.time()
        lifetime = SESSION_SECONDS if kind == "cookie" else TOKEN_SECONDS
        with self.db.write() as session:
            session.execute(delete(Session).where(Session.expires <= now))
            session.add(
                Session(
                    token_hash=_digest(token),
                    user_id=user_id,
                    kind=kind,
                    csrf_token=csrf,
                    created=now,
                    expires=now + lifetime,
                )
            )
        return token, csrf

    def remembered(self, token: str, kind: str) -> tuple[dict[str, Any], str | None] | None:
        """``(user, csrf token)`` of a session looked up less than :data:`SESSION_CACHE_SECONDS`
        ago, without touching the database; None when not remembered (ask :meth:`session_user`)."""
        found = self._sessions.get((_digest(token), kind))
        if found is None or found[0] <= time.time():
            return None
        return found[1], found[2]

    def session_user(self, token: str, kind: str) -> tuple[dict[str, Any], str | None] | None:
        """``(user, csrf token)`` of a live session or token of this kind, else None."""
        remembered = self.remembered(token, kind)
        if remembered is not None:
            return remembered
        now = time.time()
        with self.db.read() as session:
            row = session.execute(
                select(User, Session.csrf_token, Session.expires)
                .join(Session, Session.user_id == User.id)
                .where(Session.token_hash == _digest(token), Session.kind == kind, Session.expires > now)
            ).first()
        if row is None:
            return None
        if len(self._sessions) >= _CACHE_LIMIT:
            self._sessions.clear()
        until = min(now + SESSION_CACHE_SECONDS, row[2])
        self._sessions[(_digest(token), kind)] = (until, user_dict(row[0]), row[1])
        return user_dict(row[0]), row[1]

    def close_session(self, token: str) -> None:
        """End a session or revoke a token."""
        with self.db.write() as session:
            session.execute(delete(Session).where(Session.token_hash == _digest(token)))
        for kind in ("cookie", "bearer"):
            self._sessions.pop((_digest(token), kind), None)
