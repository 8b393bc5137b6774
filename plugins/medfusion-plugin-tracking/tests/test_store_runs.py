"""Round trips of runs, params, tags, metrics and artifacts, on SQLite and PostgreSQL."""

from __future__ import annotations

import math

import pytest
from medfusion_plugin_tracking.errors import TrackingError
from medfusion_plugin_tracking.store import TrackingStore


@pytest.fixture
def store(store_url: str):
    with TrackingStore(store_url) as opened:
        yield opened


def test_run_round_trip(store: TrackingStore) -> None:
    run_id = store.create_run(
        "swin-a",
        experiment="chest",
        run_dir="/runs/swin-a",
        lineage={"git": {"commit": "abc", "dirty": True}},
    )
    store.log_params(
        run_id, {"model.backbone.name": "swin_tiny", "optim.lr": 0.001, "epochs": 3, "amp": True}
    )
    store.set_tags(run_id, {"owner": "ana"})
    store.log_artifact(run_id, "fused/best.pt", "checkpoint")
    store.log_artifact(run_id, "fused/best.pt", "checkpoint")
    run = store.get_run(run_id)
    assert (run.name, run.experiment, run.status, run.run_dir) == (
        "swin-a",
        "chest",
        "running",
        "/runs/swin-a",
    )
    assert run.lineage == {"git": {"commit": "abc", "dirty": True}}
    assert run.params == {
        "amp": "true",
        "epochs": "3",
        "model.backbone.name": "swin_tiny",
        "optim.lr": "0.001",
    }
    assert run.tags == {"owner": "ana"}
    assert store.artifacts(run_id) == [("fused/best.pt", "checkpoint")]
    assert run.end_time is None
    store.set_status(run_id, "finished")
    ended = store.get_run("swin-a")
    assert ended.status == "finished" and ended.end_time is not None and ended.end_time >= ended.start_time


def test_metrics_history_and_latest_value(store: TrackingStore) -> None:
    run_id = store.create_run("r")
    store.log_metrics(run_id, [("loss", 1.0, 0, 10.0), ("loss", 0.5, 2, 12.0), ("val_auroc", 0.7, 2, 12.0)])
    store.log_metrics(run_id, [("loss", 0.8, 1, 13.0)])  # an older step logged late moves nothing
    store.log_metrics(run_id, [("loss", float("nan"), 3, 14.0)])
    assert store.metric_history(run_id, "loss") == [
        (0, 10.0, 1.0),
        (1, 13.0, 0.8),
        (2, 12.0, 0.5),
        (3, 14.0, None),
    ]
    assert store.get_run(run_id).metrics == {"loss": None, "val_auroc": 0.7}
    store.log_metric(run_id, "loss", 0.25, step=4, timestamp=15.0)
    assert store.get_run(run_id).metrics["loss"] == 0.25
    assert store.count_metric_points(run_id) == 6


def test_batched_metrics_keep_every_point(store: TrackingStore) -> None:
    run_id = store.create_run("big")
    points = [(f"m{k}", math.sin(step + k), step, float(step)) for step in range(200) for k in range(5)]
    store.log_metrics(run_id, points)
    assert store.count_metric_points(run_id) == 1000
    assert store.get_run(run_id).metrics == {f"m{k}": pytest.approx(math.sin(199 + k)) for k in range(5)}


def test_a_step_logged_again_replaces_its_point(store: TrackingStore) -> None:
    """A resumed training replays the steps after the checkpoint it resumes from (SIGKILL while
    the next checkpoint was still being written, after its points were sent): each step stays once."""
    run_id = store.create_run("resumed")
    other = store.create_run("other")
    store.log_metrics(other, [("loss", 9.0, 3, 1.0)])
    store.log_metrics(
        run_id, [(key, 1.0 / step, step, float(step)) for step in (1, 2, 3, 4) for key in ("loss", "lr")]
    )
    replay = [(key, 2.0 / step, step, 10.0 + step) for step in (3, 4, 5) for key in ("loss", "lr")]
    store.log_metrics(run_id, replay)
    assert store.metric_history(run_id, "loss") == [
        (1, 1.0, 1.0),
        (2, 2.0, 0.5),
        (3, 13.0, 2.0 / 3),
        (4, 14.0, 0.5),
        (5, 15.0, 0.4),
    ]
    assert store.count_metric_points(run_id) == 10
    assert store.get_run(run_id).metrics == {"loss": 0.4, "lr": 0.4}
    store.log_metrics(run_id, [("test_auroc", 0.7, 0, 20.0)])
    store.log_metrics(run_id, [("test_auroc", 0.8, 0, 21.0)])  # evaluate run again
    assert store.metric_history(run_id, "test_auroc") == [(0, 21.0, 0.8)]
    assert store.get_run(run_id).metrics["test_auroc"] == 0.8
    assert store.metric_history(other, "loss") == [(3, 1.0, 9.0)]


def test_run_refs_statuses_and_deletion(store: TrackingStore) -> None:
    first = store.create_run("same")
    second = store.create_run("same")
    with pytest.raises(TrackingError, match="several runs"):
        store.resolve_run("same")
    assert store.resolve_run(first[:12]) == first
    named_a = store.create_run("a")
    store.create_run("other", run_id="a" + "0" * 31)  # an id that starts with the name "a"
    assert store.resolve_run("a") == named_a  # a name wins over an id prefix
    assert store.resolve_run("a00000") == "a" + "0" * 31
    with pytest.raises(TrackingError, match="no run '%'"):  # a prefix is matched literally
        store.resolve_run("%")
    with pytest.raises(TrackingError, match="no run 'nope'"):
        store.get_run("nope")
    with pytest.raises(TrackingError, match="already exists"):
        store.create_run("again", run_id=first)
    with pytest.raises(TrackingError, match="unknown run status"):
        store.set_status(first, "done")
    store.log_metric(second, "loss", 1.0)
    store.log_params(second, {"a": 1})
    store.delete_run(second)
    assert not store.has_run(second) and store.count_metric_points() == 0
    assert store.resolve_run("same") == first


def test_reopening_keeps_everything(store_url: str) -> None:
    with TrackingStore(store_url) as store:
        run_id = store.create_run("kept")
        store.log_metric(run_id, "loss", 0.5, step=1)
    with TrackingStore(store_url) as store:
        assert store.get_run(run_id).metrics == {"loss": 0.5}


def test_default_url_uses_env_or_runs_dir(tmp_path, monkeypatch) -> None:
    from medfusion_plugin_tracking.engine import default_url, normalise_url

    monkeypatch.delenv("MEDFUSION_TRACKING_URI", raising=False)
    assert default_url(tmp_path) == f"sqlite:///{tmp_path.resolve() / 'medfusion.db'}"
    monkeypatch.setenv("MEDFUSION_TRACKING_URI", "postgresql://u@h/db")
    assert default_url(tmp_path) == "postgresql://u@h/db"
    assert normalise_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"


def test_sqlite_settings(tmp_path) -> None:
    with TrackingStore(f"sqlite:///{tmp_path / 'x.db'}") as store, store.write() as session:
        pragmas = {
            name: session.connection().exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "foreign_keys", "busy_timeout")
        }
    assert pragmas == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 60000}


def test_a_batch_with_many_keys(store: TrackingStore) -> None:
    # 7000 keys x 5 columns is over SQLite's default limit of 32766 bound variables (some builds raise it).
    run_id = store.create_run("wide")
    store.log_metrics(run_id, [(f"k{index}", float(index), 1, 1.0) for index in range(7000)])
    store.log_params(run_id, {f"p{index}": index for index in range(1200)})
    run = store.get_run(run_id)
    assert len(run.metrics) == 7000 and run.metrics["k6999"] == 6999.0 and run.params["p7"] == "7"
