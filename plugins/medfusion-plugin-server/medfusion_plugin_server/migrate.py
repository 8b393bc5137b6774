"""The server's Alembic migrations, run on open with their own version table
(``medfusion_server_alembic_version``) so that they never collide with the tracking store's."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

VERSION_TABLE = "medfusion_server_alembic_version"
_SCRIPTS = Path(__file__).resolve().parent / "migrations"
_PG_LOCK_KEY = 0x6D667376  # "mfsv"


def run_env() -> None:
    """The body of ``migrations/env.py``: migrate on the connection :func:`migrate_to_head` passes."""
    from alembic import context

    from medfusion_plugin_server.schema import Base

    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("the server's migrations run through medfusion_plugin_server.migrate")
    options = {"target_metadata": Base.metadata, "version_table": VERSION_TABLE}
    context.configure(connection=connection, **options)
    with context.begin_transaction():
        context.run_migrations()


def migrate_to_head(engine: Engine) -> None:
    """Bring the server tables to the newest revision (a no-op when they are there), holding a
    lock so that two processes starting at once migrate once."""
    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    head = ScriptDirectory.from_config(config).get_current_head()
    with engine.connect() as connection:
        current = MigrationContext.configure(
            connection, opts={"version_table": VERSION_TABLE}
        ).get_current_revision()
    if current == head:
        return
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK_KEY})")
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
