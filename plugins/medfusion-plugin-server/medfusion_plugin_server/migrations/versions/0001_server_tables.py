"""Server tables: users, sessions, audit log, datasets, saved workflows.

Revision ID: s0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "s0001"
down_revision = None


def _owned_table(name: str, *columns: sa.Column) -> None:
    """A table of named things with an owner: id, name, owner, created and ``columns``."""
    op.create_table(
        name,
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("owner", sa.String(128)),
        sa.Column("created", sa.Float, nullable=False),
        *columns,
    )


def upgrade() -> None:
    """Create the server's tables."""
    op.create_table(
        "server_users",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(128), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("created", sa.Float, nullable=False),
    )
    op.create_table(
        "server_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column(
            "user_id", sa.Integer, sa.ForeignKey("server_users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("csrf_token", sa.String(64)),
        sa.Column("created", sa.Float, nullable=False),
        sa.Column("expires", sa.Float, nullable=False),
    )
    op.create_index("ix_server_sessions_user_id", "server_sessions", ["user_id"])
    op.create_table(
        "server_audit",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("time", sa.Float, nullable=False),
        sa.Column("username", sa.String(128)),
        sa.Column("method", sa.String(8), nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("client", sa.String(64)),
    )
    op.create_index("ix_server_audit_time", "server_audit", ["time"])
    _owned_table(
        "server_datasets",
        sa.Column("folder", sa.Text, nullable=False),
        sa.Column("data_config", sa.JSON, nullable=False),
        sa.Column("summary", sa.JSON, nullable=False),
    )
    _owned_table(
        "server_workflows",
        sa.Column("document", sa.JSON, nullable=False),
        sa.Column("updated", sa.Float, nullable=False),
    )
    op.create_index("ix_server_workflows_owner", "server_workflows", ["owner"])


def downgrade() -> None:
    """Drop the server's tables."""
    for table in ("server_workflows", "server_datasets", "server_audit", "server_sessions", "server_users"):
        op.drop_table(table)
