"""What nodes record: datasets (with their fingerprint), checkpoints and models.

Revision ID: wf0002
Revises: wf0001

Only new tables: every row of the first schema stays as it is.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "wf0002"
down_revision = "wf0001"

_BIG_KEY = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def _create(name: str, *columns: sa.Column) -> None:
    """A record table: ``id``, its execution and node attempt (deleted with them), ``columns``
    and ``created``."""
    op.create_table(
        name,
        sa.Column("id", _BIG_KEY, primary_key=True, autoincrement=True),
        sa.Column(
            "execution_id",
            sa.String(32),
            sa.ForeignKey("workflow_executions.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column(
            "node_execution_id",
            _BIG_KEY,
            sa.ForeignKey("node_executions.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        *columns,
        sa.Column("created", sa.Float, nullable=False),
    )


def upgrade() -> None:
    """Create ``workflow_datasets``, ``workflow_checkpoints`` and ``workflow_models``."""
    _create(
        "workflow_datasets",
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("fingerprint", sa.String(128), nullable=False, index=True),
        sa.Column("manifest", sa.Text, nullable=False),
        sa.Column("config", sa.Text),
        sa.Column("patients", sa.Integer),
    )
    _create(
        "workflow_checkpoints",
        sa.Column("run_id", sa.String(32), index=True),
        sa.Column("variant", sa.String(16), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("epoch", sa.Integer),
        sa.Column("monitor", sa.String(64)),
        sa.Column("value", sa.Float),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
    )
    _create(
        "workflow_models",
        sa.Column("name", sa.String(255), nullable=False, index=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("alias", sa.String(255)),
        sa.Column("run_id", sa.String(32)),
        sa.Column("variant", sa.String(16)),
    )


def downgrade() -> None:
    """Drop the three tables."""
    for table in ("workflow_models", "workflow_checkpoints", "workflow_datasets"):
        op.drop_table(table)
