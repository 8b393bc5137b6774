"""The workflow tables' migrations on SQLite and PostgreSQL: a fresh database migrates to exactly
the tables of ``schema.py``, and a database of the first schema (wf0001) holding rows in every
table (and the tracking store's tables beside them) keeps every row when it is upgraded to the
record tables (wf0002), which then take records of the old executions."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from medfusion_plugin_tracking.store import TrackingStore
from medfusion_plugin_workflows import schema
from medfusion_plugin_workflows.engine import WorkflowEngine
from medfusion_plugin_workflows.migrate import WORKFLOWS
from medfusion_plugin_workflows.store import WorkflowStore

FIRST_TABLES = (
    "workflows",
    "workflow_executions",
    "node_executions",
    "node_cache",
    "events",
    "training_jobs",
)


def _differences(url: str) -> list[Any]:
    """What alembic's autogenerate finds between the database's workflow tables and ``schema.py``."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection,
                opts={
                    "version_table": WORKFLOWS.version_table,
                    "compare_type": True,
                    "include_name": lambda name, kind, _parent: (
                        kind != "table" or name in schema.metadata.tables
                    ),
                },
            )
            return compare_metadata(context, schema.metadata)
    finally:
        engine.dispose()


def _snapshot(engine: sa.Engine) -> dict[str, list[str]]:
    """Every row of every table, as sorted reprs by table name."""
    tables = sa.MetaData()
    tables.reflect(engine)
    with engine.connect() as connection:
        return {
            name: sorted(repr(tuple(row)) for row in connection.execute(sa.select(table)))
            for name, table in tables.tables.items()
        }


def _fill_first_schema(engine: sa.Engine) -> str:
    """One row in each table of the first schema; returns the execution id."""
    eid, now = "e" * 32, 1_700_000_000.0
    document = {"schema_version": 1, "name": "old", "nodes": [], "edges": []}
    with engine.begin() as db:
        db.execute(
            schema.workflows.insert().values(
                id="w" * 32, name="old", document=document, owner="ann", created=now, updated=now
            )
        )
        db.execute(
            schema.workflow_executions.insert().values(
                id=eid,
                workflow_id="w" * 32,
                name="old",
                document=document,
                state="finished",
                owner="ann",
                host="h",
                pid=1,
                cancel_requested=False,
                created=now,
                started=now,
                ended=now + 1,
            )
        )
        db.execute(
            schema.node_executions.insert().values(
                execution_id=eid,
                node_id="data",
                kind="dataset",
                state="finished",
                cache_key="k" * 64,
                outputs={"dataset": {"name": "old"}},
                started=now,
                ended=now + 1,
            )
        )
        db.execute(
            schema.node_cache.insert().values(
                cache_key="k" * 64, kind="dataset", outputs={"dataset": {"name": "old"}}, created=now
            )
        )
        db.execute(
            schema.events.insert().values(execution_id=eid, type="execution_finished", data={}, time=now)
        )
        db.execute(
            schema.training_jobs.insert().values(
                id="j" * 32,
                config_path="/c.yaml",
                modalities="all",
                priority=2,
                state="finished",
                executor="local",
                resume=False,
                log_path="/j.log",
                run_ids=["r1"],
                exit_code=0,
                created=now,
            )
        )
    return eid


def test_a_fresh_database_migrates_to_the_schema(store_url) -> None:
    WorkflowStore(store_url).close()
    assert _differences(store_url) == []


def test_upgrade_from_the_first_schema_keeps_every_row(store_url, tmp_path) -> None:
    TrackingStore(store_url).close()  # the tracking store's tables and version table beside ours
    engine = sa.create_engine(store_url)
    try:
        WORKFLOWS.upgrade(engine, "wf0001")
        assert WORKFLOWS.current_revision(engine) == "wf0001"
        assert set(FIRST_TABLES) <= set(sa.inspect(engine).get_table_names())
        assert "workflow_datasets" not in sa.inspect(engine).get_table_names()
        eid = _fill_first_schema(engine)
        before = _snapshot(engine)
        assert all(before[name] for name in FIRST_TABLES)

        WorkflowStore(store_url).close()  # opening the store upgrades to the newest revision
        assert WORKFLOWS.current_revision(engine) == "wf0002"
        after = _snapshot(engine)
        assert after.pop(WORKFLOWS.version_table) == ["('wf0002',)"]
        assert before.pop(WORKFLOWS.version_table) == ["('wf0001',)"]
        assert {name: after[name] for name in before} == before
        assert {name: after[name] for name in set(after) - set(before)} == {
            "workflow_datasets": [],
            "workflow_checkpoints": [],
            "workflow_models": [],
        }
    finally:
        engine.dispose()
    assert _differences(store_url) == []

    workflows = WorkflowEngine(store_url, tmp_path / "runs")
    assert workflows.execution(eid)["nodes"] == {}
    assert workflows.records(eid) == {"datasets": [], "checkpoints": [], "models": []}
    attempt = workflows.node_attempts(eid)[0]["id"]
    workflows.store.add_record(
        "datasets", eid, attempt, {"name": "old", "fingerprint": "sha256:0", "manifest": "/m.csv"}
    )
    assert [row["node_execution_id"] for row in workflows.records(eid)["datasets"]] == [attempt]
    workflows.store.close()
