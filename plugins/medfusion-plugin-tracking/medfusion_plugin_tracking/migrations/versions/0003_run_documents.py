"""Run documents: each run's params, tags and latest metric values as JSON on its row, for listing.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from alembic import op
from medfusion_plugin_tracking.documents import encode

revision = "0003"
down_revision = "0002"

_DOCUMENTS = {"params": "params_json", "tags": "tags_json", "latest_metrics": "metrics_json"}


def upgrade() -> None:
    """Add the three document columns and fill them from the rows of their tables."""
    for column in _DOCUMENTS.values():
        op.add_column("runs", sa.Column(column, sa.Text, nullable=False, server_default="{}"))
    connection = op.get_bind()
    for table, column in _DOCUMENTS.items():
        found: dict[str, dict[str, Any]] = defaultdict(dict)
        for run_id, key, value in connection.execute(sa.text(f"SELECT run_id, key, value FROM {table}")):
            found[run_id][key] = value
        if found:
            connection.execute(
                sa.text(f"UPDATE runs SET {column} = :document WHERE id = :run_id"),
                [{"run_id": run_id, "document": encode(values)} for run_id, values in found.items()],
            )


def downgrade() -> None:
    """Remove the document columns."""
    with op.batch_alter_table("runs") as batch:
        for column in _DOCUMENTS.values():
            batch.drop_column(column)
