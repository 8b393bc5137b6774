"""The workflow tables' Alembic migrations, with the version table
``medfusion_workflows_alembic_version`` so that they never collide with the tracking store's."""

from __future__ import annotations

from pathlib import Path

from medfusion_plugin_tracking.migrate import Migrations

WORKFLOWS = Migrations(
    scripts=Path(__file__).resolve().parent / "migrations",
    version_table="medfusion_workflows_alembic_version",
    lock_key=0x6D657766,  # "mewf"
)
