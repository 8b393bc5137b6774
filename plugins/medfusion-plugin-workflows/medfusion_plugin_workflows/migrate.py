"""Alembic migrations of the plugin's tables, run programmatically, with the version table
``medfusion_workflows_alembic_version`` so that they never collide with the tracking store's."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

VERSION_TABLE = "medfusion_workflows_alembic_version"
_SCRIPTS = Path(__file__).resolve().parent / "migrations"
_PG_LOCK_KEY = 0x6D657766  # "mewf"


def _config(connection: object = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    config.attributes["connection"] = connection
    return config


def current_revision(engine: Engine) -> str | None:
    """The revision the database's workflow tables are at (None before the first)."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the workflow tables up to ``revision`` (under the writers' lock on PostgreSQL)."""
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK_KEY})")
        command.upgrade(_config(connection), revision)


def ensure_current(engine: Engine) -> None:
    """Upgrade the database to the newest revision unless it is there."""
    if current_revision(engine) != ScriptDirectory.from_config(_config()).get_current_head():
        upgrade(engine)
