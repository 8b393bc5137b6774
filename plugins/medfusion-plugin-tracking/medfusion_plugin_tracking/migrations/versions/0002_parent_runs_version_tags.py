"""Parent runs (k-fold runs under their summary run), model version tags, fast metric filters.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    """Add ``runs.parent_run_id``, the ``model_version_tags`` table and the filters' key indexes."""
    op.add_column("runs", sa.Column("parent_run_id", sa.String(32)))
    op.create_index("ix_runs_parent_run_id", "runs", ["parent_run_id"])
    op.create_index("ix_latest_metrics_key_value", "latest_metrics", ["key", "value"])
    op.create_index("ix_params_key", "params", ["key"])
    op.create_table(
        "model_version_tags",
        sa.Column(
            "version_id",
            sa.Integer,
            sa.ForeignKey("model_versions.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )


def downgrade() -> None:
    """Remove what :func:`upgrade` added."""
    op.drop_table("model_version_tags")
    op.drop_index("ix_params_key", "params")
    op.drop_index("ix_latest_metrics_key_value", "latest_metrics")
    op.drop_index("ix_runs_parent_run_id", "runs")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("parent_run_id")
