"""Migrating an older database keeps every row, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa
from medfusion_plugin_tracking.engine import make_engines
from medfusion_plugin_tracking.migrate import TRACKING
from medfusion_plugin_tracking.store import TrackingStore

RUN = "0123456789abcdef0123456789abcdef"
ROWS_AT_0001 = {
    "experiments": [{"id": 1, "name": "chest", "created": 1.0}],
    "runs": [
        {
            "id": RUN,
            "name": "old-run",
            "experiment_id": 1,
            "status": "finished",
            "start_time": 10.0,
            "end_time": 20.0,
            "run_dir": "/runs/old-run",
            "data_fingerprint": "sha256:ab",
            "lineage": '{"git": {"commit": "abc"}}',
        }
    ],
    "params": [{"run_id": RUN, "key": "model.backbone.name", "value": "swin_tiny"}],
    "tags": [{"run_id": RUN, "key": "owner", "value": "ana"}],
    "metrics": [
        {
            "id": index + 1,
            "run_id": RUN,
            "key": "loss",
            "step": index,
            "timestamp": 10.0 + index,
            "value": 1.0 / (index + 1),
        }
        for index in range(50)
    ],
    "latest_metrics": [{"run_id": RUN, "key": "loss", "step": 49, "timestamp": 59.0, "value": 0.02}],
    "artifacts": [{"run_id": RUN, "path": "fused/best.pt", "kind": "checkpoint", "logged": 20.0}],
    "registered_models": [{"id": 1, "name": "chest-model", "created": 30.0}],
    "model_versions": [
        {
            "id": 1,
            "model_id": 1,
            "version": 1,
            "run_id": RUN,
            "variant": "fused",
            "checkpoint": "fused/best.pt",
            "artifacts": "[]",
            "metrics": '{"test_auroc": 0.9}',
            "lineage": "{}",
            "created": 31.0,
        }
    ],
    "model_aliases": [{"model_id": 1, "alias": "champion", "version_id": 1}],
}


def _table_rows(engine: sa.Engine, table: str, columns: list[str]) -> list[str]:
    with engine.connect() as connection:
        rows = connection.execute(sa.text(f"SELECT {', '.join(columns)} FROM {table}"))
        return sorted(repr(tuple(row)) for row in rows)


def test_upgrade_from_0001_keeps_every_row(store_url: str) -> None:
    write, read = make_engines(store_url)
    TRACKING.upgrade(write, "0001")
    assert TRACKING.current_revision(read) == "0001"
    with write.begin() as connection:
        for table, rows in ROWS_AT_0001.items():
            connection.execute(
                sa.text(
                    f"INSERT INTO {table} ({', '.join(rows[0])}) VALUES "
                    f"({', '.join(':' + c for c in rows[0])})"
                ),
                rows,
            )
    before = {table: _table_rows(read, table, list(rows[0])) for table, rows in ROWS_AT_0001.items()}
    assert {table: len(rows) for table, rows in before.items()} == {
        t: len(r) for t, r in ROWS_AT_0001.items()
    }

    with TrackingStore(store_url) as store:
        assert TRACKING.current_revision(read) == TRACKING.head_revision() == "0003"
        after = {table: _table_rows(read, table, list(rows[0])) for table, rows in ROWS_AT_0001.items()}
        assert after == before
        run = store.get_run("old-run")
        assert run.parent_run_id is None and run.lineage == {"git": {"commit": "abc"}}
        # the run's documents (revision 0003) are filled from the rows that were there
        assert run.params == {"model.backbone.name": "swin_tiny"} and run.metrics == {"loss": 0.02}
        assert run.tags == {"owner": "ana"}
        assert store.resolve_model("chest-model@champion").metrics == {"test_auroc": 0.9}
        assert [row.name for row in store.search_runs("metrics.loss < 0.05")] == ["old-run"]
        with store.write() as session:
            session.execute(sa.text("INSERT INTO model_version_tags VALUES (1, 'stage', 'prod')"))
        assert store.resolve_model("chest-model/1").tags == {"stage": "prod"}
    write.dispose()
    read.dispose()


def test_opening_a_current_store_does_not_migrate_again(store_url: str) -> None:
    with TrackingStore(store_url) as store:
        store.create_run("r")
    write, read = make_engines(store_url)
    TRACKING.ensure_current(write)
    assert TRACKING.current_revision(read) == "0003"
    write.dispose()
    read.dispose()


def test_store_shares_a_database_with_an_alembic_version_table(store_url: str) -> None:
    """Optuna's RDB storage (the tune plugin's studies) and MLflow keep Alembic's default
    ``alembic_version`` table; the store's own version table leaves theirs alone."""
    write, read = make_engines(store_url)
    with write.begin() as connection:
        connection.execute(
            sa.text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)")
        )
        connection.execute(sa.text("INSERT INTO alembic_version VALUES ('v3.2.0.a')"))
    with TrackingStore(store_url) as store:
        store.create_run("r")
    assert TRACKING.version_table != "alembic_version"
    assert TRACKING.current_revision(read) == TRACKING.head_revision()
    with read.connect() as connection:
        assert connection.execute(sa.text("SELECT version_num FROM alembic_version")).all() == [("v3.2.0.a",)]
    write.dispose()
    read.dispose()
