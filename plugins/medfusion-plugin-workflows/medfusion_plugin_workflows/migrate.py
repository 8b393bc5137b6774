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


def ensure_current(engine: Engine) -> None:
    """Upgrade the database to the newest revision unless it is there (under the writers' lock)."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    with engine.connect() as connection:
        current = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        if current.get_current_revision() == head:
            return
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK_KEY})")
        command.upgrade(_config(connection), "head")
