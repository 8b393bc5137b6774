"""Alembic environment of the server tables (see :func:`medfusion_plugin_server.migrate.run_env`)."""

from medfusion_plugin_server.migrate import run_env

run_env()
