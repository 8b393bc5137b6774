"""The listing path: runs read as one row each, their params, tags and latest metrics from the
run's documents; exact values, documents equal to their tables after every kind of write, and two
writers of one run, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from medfusion_plugin_tracking.store import TrackingStore

#: Floats that SQLite's own JSON (15 digits) or quote() do not read back exactly, and edge values.
VALUES = [
    1 / 3,
    0.1,
    2 / 3 * 1e-300,
    -2.5e17,
    0.8734523456789012,
    5e-324,
    1.7976931348623157e308,
    float("inf"),
    float("-inf"),
    0.0,
]
PARAMS = {
    "text": 'it\'s "quoted" \\ back',
    "unicode": "Sjögren — 肺",
    "json_like": '{"a": [1, 2]}',
    "empty": "",
    "lr": 0.001,
}


@pytest.fixture
def store(store_url: str):
    with TrackingStore(store_url) as opened:
        yield opened


def _table(store: TrackingStore, table: str, run_id: str) -> dict[str, object]:
    """A run's rows of ``table`` read with plain SQL: the truth the documents must equal."""
    with store.read() as session:
        rows = session.execute(
            sa.text(f"SELECT key, value FROM {table} WHERE run_id = :run"), {"run": run_id}
        ).all()
    return dict(rows)


def test_listed_values_are_exact(store: TrackingStore) -> None:
    run_id = store.create_run("exact", lineage={"config": {"lr": 1 / 3, "name": "ä"}})
    store.log_params(run_id, PARAMS)
    store.set_tags(run_id, {"note": "a, b: c", "owner": "ana"})
    store.log_metrics(run_id, [(f"m{index}", value, 1, 1.0) for index, value in enumerate(VALUES)])
    store.log_metrics(run_id, [("nan", float("nan"), 1, 1.0)])
    expected = {f"m{index}": value for index, value in enumerate(VALUES)} | {"nan": None}
    for run in (store.get_run(run_id), store.search_runs("metrics.m0 > 0.3")[0]):
        assert run.metrics == expected
        assert run.params == {**PARAMS, "lr": "0.001"} == _table(store, "params", run_id)
        assert run.tags == {"note": "a, b: c", "owner": "ana"}
        assert run.lineage == {"config": {"lr": 1 / 3, "name": "ä"}}
        assert list(run.metrics) == sorted(run.metrics) and list(run.params) == sorted(run.params)
    assert _table(store, "latest_metrics", run_id) == expected


def test_documents_follow_their_tables(store: TrackingStore) -> None:
    run_id = store.create_run("r")
    empty = store.get_run(run_id)
    assert (empty.params, empty.tags, empty.metrics) == ({}, {}, {})
    store.log_metrics(run_id, [("loss", 1.0, 0, 1.0), ("loss", 0.5, 2, 2.0), ("acc", 0.6, 2, 2.0)])
    store.log_metrics(run_id, [("loss", 0.9, 1, 3.0)])  # an older step logged late: latest stays
    store.log_metrics(run_id, [("acc", 0.7, 2, 4.0)])  # the same step again, newer: replaces it
    store.log_params(run_id, {"a": 1, "b": "x"})
    store.log_params(run_id, {"b": "y"})
    store.set_tags(run_id, {"t": "1"})
    store.set_tags(run_id, {"t": "2", "u": "3"})
    run = store.get_run(run_id)
    assert run.metrics == {"acc": 0.7, "loss": 0.5} == _table(store, "latest_metrics", run_id)
    assert run.params == {"a": "1", "b": "y"} == _table(store, "params", run_id)
    assert run.tags == {"t": "2", "u": "3"} == _table(store, "tags", run_id)
    assert [r.name for r in store.search_runs("metrics.acc > 0.65 and params.b = 'y' and tags.u = '3'")] == [
        "r"
    ]
    store.delete_run(run_id)
    assert store.search_runs() == []


def test_two_writers_of_one_run_keep_its_documents_whole(store_url: str) -> None:
    """Two stores (two connections) log different keys into one run at the same moment, step after
    step: after every step the run's documents hold both keys' newest values, equal to the tables
    (on PostgreSQL the run's row lock orders the two transactions; without it the one committing
    last writes the document it read before the other committed)."""
    with TrackingStore(store_url) as store:
        run_id = store.create_run("shared")
    steps, barrier, errors, stale = 30, threading.Barrier(2), [], []

    def writer(name: str) -> None:
        try:
            with TrackingStore(store_url) as own:
                for step in range(steps):
                    barrier.wait()
                    own.log_metrics(run_id, [(f"{name}/loss", 1.0 / (step + 1), step, float(step))])
                    own.log_params(run_id, {f"{name}.step": step})
                    barrier.wait()
                    if name == "a":
                        run = own.get_run(run_id)
                        if (run.metrics, run.params) != (
                            _table(own, "latest_metrics", run_id),
                            _table(own, "params", run_id),
                        ):
                            stale.append(step)
        except BaseException as exc:
            barrier.abort()
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert errors == [] and stale == []
    with TrackingStore(store_url) as store:
        run = store.get_run(run_id)
        last = 1.0 / steps
        assert run.metrics == {"a/loss": last, "b/loss": last}
        assert run.params == {"a.step": str(steps - 1), "b.step": str(steps - 1)}
