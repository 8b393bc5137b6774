"""Alembic environment of the tracking store: runs on the connection the caller passes in."""

from __future__ import annotations

from alembic import context
from medfusion_plugin_tracking.migrate import VERSION_TABLE
from medfusion_plugin_tracking.schema import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("the tracking store's migrations run through medfusion_plugin_tracking.migrate")
context.configure(connection=connection, target_metadata=Base.metadata, version_table=VERSION_TABLE)
with context.begin_transaction():
    context.run_migrations()
