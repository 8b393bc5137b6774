"""Alembic environment of the server tables (see :meth:`Migrations.run_env`)."""

from medfusion_plugin_server.migrate import SERVER
from medfusion_plugin_server.schema import Base

SERVER.run_env(Base.metadata)
