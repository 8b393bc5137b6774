"""The plugin's tables, in the tracking store's database (SQLAlchemy Core).

``workflows`` (saved documents), ``workflow_executions`` (one per run of a workflow, with the
document it ran), ``node_executions`` (one row per node attempt, including cache hits),
``node_cache`` (outputs by the hash of a node's kind, inputs and parameters), ``events`` (the
persisted event stream of each execution; the auto-increment id is the ``seq`` a client resumes
from), ``training_jobs`` (the training service's queue) and what nodes record of what they made
or used: ``workflow_datasets`` (a dataset and its fingerprint), ``workflow_checkpoints`` (a
training's checkpoint files, with size and sha256) and ``workflow_models`` (a registered model
version, or one an alias was moved to). Each record names its execution and node attempt.

Every change here comes with a migration in ``migrations/versions`` (a test checks that the
migrated database matches these tables).
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

_BIG_KEY = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def _execution_fk() -> sa.Column:
    """``execution_id``: the owning execution (rows go with it)."""
    return sa.Column(
        "execution_id",
        sa.String(32),
        sa.ForeignKey("workflow_executions.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    )


def _record_table(name: str, *columns: sa.Column) -> sa.Table:
    """A record table: ``id``, the execution and the node attempt that made the record (rows go
    with them), ``columns`` and ``created``."""
    return sa.Table(
        name,
        metadata,
        sa.Column("id", _BIG_KEY, primary_key=True, autoincrement=True),
        _execution_fk(),
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


workflows = sa.Table(
    "workflows",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("document", sa.JSON, nullable=False),
    sa.Column("owner", sa.String(255)),
    sa.Column("created", sa.Float, nullable=False),
    sa.Column("updated", sa.Float, nullable=False),
)

workflow_executions = sa.Table(
    "workflow_executions",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("workflow_id", sa.String(32), index=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("document", sa.JSON, nullable=False),
    sa.Column("state", sa.String(16), nullable=False, index=True),
    sa.Column("owner", sa.String(255)),
    sa.Column("host", sa.String(255)),
    sa.Column("pid", sa.Integer),
    sa.Column("cancel_requested", sa.Boolean, nullable=False, default=False),
    sa.Column("error", sa.Text),
    sa.Column("created", sa.Float, nullable=False),
    sa.Column("started", sa.Float),
    sa.Column("ended", sa.Float),
)

node_executions = sa.Table(
    "node_executions",
    metadata,
    sa.Column("id", _BIG_KEY, primary_key=True, autoincrement=True),
    _execution_fk(),
    sa.Column("node_id", sa.String(255), nullable=False),
    sa.Column("kind", sa.String(255), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("cache_key", sa.String(64)),
    sa.Column("outputs", sa.JSON),
    sa.Column("error", sa.Text),
    sa.Column("started", sa.Float, nullable=False),
    sa.Column("ended", sa.Float),
)

node_cache = sa.Table(
    "node_cache",
    metadata,
    sa.Column("cache_key", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(255), nullable=False),
    sa.Column("outputs", sa.JSON, nullable=False),
    sa.Column("created", sa.Float, nullable=False),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("seq", _BIG_KEY, primary_key=True, autoincrement=True),
    _execution_fk(),
    sa.Column("type", sa.String(32), nullable=False),
    sa.Column("node", sa.String(255)),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("time", sa.Float, nullable=False),
)

training_jobs = sa.Table(
    "training_jobs",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("config_path", sa.Text, nullable=False),
    sa.Column("modalities", sa.String(16), nullable=False),
    sa.Column("priority", sa.Integer, nullable=False, default=0),
    sa.Column("state", sa.String(16), nullable=False, index=True),
    sa.Column("owner", sa.String(255)),
    sa.Column("executor", sa.String(32), nullable=False),
    sa.Column("handle", sa.String(255)),
    sa.Column("host", sa.String(255)),
    sa.Column("resume", sa.Boolean, nullable=False, default=False),
    sa.Column("log_path", sa.Text, nullable=False),
    sa.Column("run_dir", sa.Text),
    sa.Column("run_ids", sa.JSON, nullable=False),
    sa.Column("exit_code", sa.Integer),
    sa.Column("error", sa.Text),
    sa.Column("created", sa.Float, nullable=False),
    sa.Column("started", sa.Float),
    sa.Column("ended", sa.Float),
)

workflow_datasets = _record_table(
    "workflow_datasets",
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("fingerprint", sa.String(128), nullable=False, index=True),
    sa.Column("manifest", sa.Text, nullable=False),
    sa.Column("config", sa.Text),
    sa.Column("patients", sa.Integer),
)

workflow_checkpoints = _record_table(
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

workflow_models = _record_table(
    "workflow_models",
    sa.Column("name", sa.String(255), nullable=False, index=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("alias", sa.String(255)),
    sa.Column("run_id", sa.String(32)),
    sa.Column("variant", sa.String(16)),
)
