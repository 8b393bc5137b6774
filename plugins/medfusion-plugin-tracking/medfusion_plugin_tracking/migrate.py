"""Alembic migrations shipped in a package, run programmatically (no ``alembic.ini``).

A :class:`Migrations` is one package's migration scripts with a version table of its own, so
that several share one database: the tracking store (``medfusion_tracking_version``, not Alembic's
default ``alembic_version``, which Optuna's RDB storage and MLflow's own store both keep), and the
plugins whose tables live beside it (workflows, server). :meth:`Migrations.upgrade` brings a
database to a revision under a lock (``BEGIN IMMEDIATE`` on SQLite, an advisory transaction lock
on PostgreSQL), so that two processes opening a new database at once migrate it once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, MetaData


@dataclass(frozen=True)
class Migrations:
    """One package's migrations: its ``scripts`` folder, version table and PostgreSQL lock key."""

    scripts: Path
    version_table: str
    lock_key: int

    def _config(self, connection: Connection | None = None) -> Config:
        config = Config()
        config.set_main_option("script_location", str(self.scripts))
        config.attributes["connection"] = connection
        return config

    def head_revision(self) -> str:
        """The newest revision shipped with the package."""
        head = ScriptDirectory.from_config(self._config()).get_current_head()
        assert head is not None
        return head

    def current_revision(self, engine: Engine) -> str | None:
        """The database's revision of these tables, or None before the first."""
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"version_table": self.version_table})
            return context.get_current_revision()

    def upgrade(self, engine: Engine, revision: str = "head") -> None:
        """Migrate the database to ``revision`` (the head by default), holding the writers' lock."""
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({self.lock_key})")
            command.upgrade(self._config(connection), revision)

    def ensure_current(self, engine: Engine) -> None:
        """Upgrade the database to the head unless it is there already (the cheap common case)."""
        if self.current_revision(engine) != self.head_revision():
            self.upgrade(engine)

    def run_env(self, metadata: MetaData) -> None:
        """The body of the package's ``migrations/env.py``: migrate on the connection that
        :meth:`upgrade` passes (the scripts are never run through the ``alembic`` command)."""
        from alembic import context

        connection = context.config.attributes.get("connection")
        if connection is None:
            raise RuntimeError(f"the migrations in {self.scripts} run through Migrations.upgrade")
        context.configure(connection=connection, target_metadata=metadata, version_table=self.version_table)
        with context.begin_transaction():
            context.run_migrations()


#: The tracking store's migrations.
TRACKING = Migrations(
    scripts=Path(__file__).resolve().parent / "migrations",
    version_table="medfusion_tracking_version",
    lock_key=0x6D656466,  # "medf"
)
