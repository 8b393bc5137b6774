"""The server's tables, in the tracking store's database beside its tables: users, sessions
(cookie sessions and bearer tokens, stored as SHA-256 digests), the audit log, uploaded datasets
and saved workflow documents."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """Declarative base of the server tables (metadata separate from the tracking store's)."""


class User(Base):
    """A person who may log in, with one role."""

    __tablename__ = "server_users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(128), unique=True, nullable=False)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    created: Mapped[float] = mapped_column(Float, nullable=False)


class Session(Base):
    """A login: a cookie session (with its CSRF token) or a bearer token."""

    __tablename__ = "server_sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("server_users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(8), nullable=False)
    csrf_token: Mapped[str | None] = mapped_column(String(64))
    created: Mapped[float] = mapped_column(Float, nullable=False)
    expires: Mapped[float] = mapped_column(Float, nullable=False)


class AuditEntry(Base):
    """One state-changing request: who, what, from where, and the answer's status."""

    __tablename__ = "server_audit"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    time: Mapped[float] = mapped_column(Float, nullable=False, index=True)
    username: Mapped[str | None] = mapped_column(String(128))
    method: Mapped[str] = mapped_column(String(8), nullable=False)
    path: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[int] = mapped_column(Integer, nullable=False)
    client: Mapped[str | None] = mapped_column(String(64))


class Dataset(Base):
    """An uploaded, validated dataset: its folder and the summary shown by the API."""

    __tablename__ = "server_datasets"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    owner: Mapped[str | None] = mapped_column(String(128))
    folder: Mapped[str] = mapped_column(Text, nullable=False)
    data_config: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    created: Mapped[float] = mapped_column(Float, nullable=False)


class SavedWorkflow(Base):
    """A workflow document saved through the API, with its owner."""

    __tablename__ = "server_workflows"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    owner: Mapped[str | None] = mapped_column(String(128), index=True)
    document: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    created: Mapped[float] = mapped_column(Float, nullable=False)
    updated: Mapped[float] = mapped_column(Float, nullable=False)
