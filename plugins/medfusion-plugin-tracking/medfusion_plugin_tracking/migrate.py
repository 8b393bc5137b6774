"""Alembic migrations shipped in the package, run programmatically (no ``alembic.ini``).

:func:`upgrade` brings a database to a revision under a lock (``BEGIN IMMEDIATE`` on SQLite, an
advisory transaction lock on PostgreSQL), so that two processes opening a new store at once
migrate it once. The version table is ``medfusion_tracking_version``, not Alembic's default
``alembic_version``, so that the store shares a database with other Alembic users: Optuna's RDB
storage (``optuna/storages/_rdb``, configured without a ``version_table``) and MLflow's own store
both keep ``alembic_version``.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

VERSION_TABLE = "medfusion_tracking_version"
_SCRIPTS = Path(__file__).resolve().parent / "migrations"
_PG_LOCK_KEY = 0x6D656466  # "medf"


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision shipped with the package."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The database's revision, or None for an empty database."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database to ``revision`` (the head by default), holding the writers' lock."""
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK_KEY})")
        command.upgrade(_config(connection), revision)


def ensure_current(engine: Engine) -> None:
    """Upgrade the database to the head unless it is there already (the cheap common case)."""
    if current_revision(engine) != head_revision():
        upgrade(engine)
