"""Alembic environment of the workflow tables: runs on the connection the caller passes in."""

from __future__ import annotations

from alembic import context
from medfusion_plugin_workflows.migrate import VERSION_TABLE
from medfusion_plugin_workflows.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("the workflow tables migrate through medfusion_plugin_workflows.migrate")
context.configure(connection=connection, target_metadata=metadata, version_table=VERSION_TABLE)
with context.begin_transaction():
    context.run_migrations()
