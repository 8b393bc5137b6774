"""Initial workflow tables: workflows, executions, node executions, node cache, events, jobs.

Revision ID: wf0001
Revises:

The tables as they were at this revision (later changes come in later revisions).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "wf0001"
down_revision = None

_BIG_KEY = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def _owned_by_execution() -> sa.Column:
    return sa.Column(
        "execution_id",
        sa.String(32),
        sa.ForeignKey("workflow_executions.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    )


def upgrade() -> None:
    """Create the six tables of the first schema."""
    op.create_table(
        "workflows",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("document", sa.JSON, nullable=False),
        sa.Column("owner", sa.String(255)),
        sa.Column("created", sa.Float, nullable=False),
        sa.Column("updated", sa.Float, nullable=False),
    )
    op.create_table(
        "workflow_executions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("workflow_id", sa.String(32), index=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("document", sa.JSON, nullable=False),
        sa.Column("state", sa.String(16), nullable=False, index=True),
        sa.Column("owner", sa.String(255)),
        sa.Column("host", sa.String(255)),
        sa.Column("pid", sa.Integer),
        sa.Column("cancel_requested", sa.Boolean, nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("created", sa.Float, nullable=False),
        sa.Column("started", sa.Float),
        sa.Column("ended", sa.Float),
    )
    op.create_table(
        "node_executions",
        sa.Column("id", _BIG_KEY, primary_key=True, autoincrement=True),
        _owned_by_execution(),
        sa.Column("node_id", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(255), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("cache_key", sa.String(64)),
        sa.Column("outputs", sa.JSON),
        sa.Column("error", sa.Text),
        sa.Column("started", sa.Float, nullable=False),
        sa.Column("ended", sa.Float),
    )
    op.create_table(
        "node_cache",
        sa.Column("cache_key", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(255), nullable=False),
        sa.Column("outputs", sa.JSON, nullable=False),
        sa.Column("created", sa.Float, nullable=False),
    )
    op.create_table(
        "events",
        sa.Column("seq", _BIG_KEY, primary_key=True, autoincrement=True),
        _owned_by_execution(),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("node", sa.String(255)),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("time", sa.Float, nullable=False),
    )
    op.create_table(
        "training_jobs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("config_path", sa.Text, nullable=False),
        sa.Column("modalities", sa.String(16), nullable=False),
        sa.Column("priority", sa.Integer, nullable=False),
        sa.Column("state", sa.String(16), nullable=False, index=True),
        sa.Column("owner", sa.String(255)),
        sa.Column("executor", sa.String(32), nullable=False),
        sa.Column("handle", sa.String(255)),
        sa.Column("host", sa.String(255)),
        sa.Column("resume", sa.Boolean, nullable=False),
        sa.Column("log_path", sa.Text, nullable=False),
        sa.Column("run_dir", sa.Text),
        sa.Column("run_ids", sa.JSON, nullable=False),
        sa.Column("exit_code", sa.Integer),
        sa.Column("error", sa.Text),
        sa.Column("created", sa.Float, nullable=False),
        sa.Column("started", sa.Float),
        sa.Column("ended", sa.Float),
    )


def downgrade() -> None:
    """Drop the six tables."""
    for table in (
        "training_jobs",
        "events",
        "node_cache",
        "node_executions",
        "workflow_executions",
        "workflows",
    ):
        op.drop_table(table)
