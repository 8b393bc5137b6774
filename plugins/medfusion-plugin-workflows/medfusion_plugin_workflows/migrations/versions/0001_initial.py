"""Initial workflow tables: workflows, executions, node executions, node cache, events, jobs.

Revision ID: wf0001
Revises:
"""

from __future__ import annotations

from alembic import op
from medfusion_plugin_workflows.schema import metadata

revision = "wf0001"
down_revision = None


def upgrade() -> None:
    """Create every table of the first schema (as :mod:`medfusion_plugin_workflows.schema` has it)."""
    metadata.create_all(op.get_bind())


def downgrade() -> None:
    """Drop every table of the plugin."""
    metadata.drop_all(op.get_bind())
