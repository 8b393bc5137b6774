"""Alembic environment of the workflow tables (see :meth:`Migrations.run_env`)."""

from medfusion_plugin_workflows.migrate import WORKFLOWS
from medfusion_plugin_workflows.schema import metadata

WORKFLOWS.run_env(metadata)
