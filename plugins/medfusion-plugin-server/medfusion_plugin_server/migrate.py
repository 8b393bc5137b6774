"""The server tables' Alembic migrations, run on open with the version table
``medfusion_server_alembic_version`` so that they never collide with the tracking store's."""

from __future__ import annotations

from pathlib import Path

from medfusion_plugin_tracking.migrate import Migrations

SERVER = Migrations(
    scripts=Path(__file__).resolve().parent / "migrations",
    version_table="medfusion_server_alembic_version",
    lock_key=0x6D667376,  # "mfsv"
)
