"""The mlflow tracker through the hook and the dispatch, read back from a local SQLite MLflow store."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from medfusion_plugin_mlflow import hooks
from medfusion_plugin_mlflow import tracker as tracker_module
from medfusion_plugin_mlflow.tracker import MlflowTracker
from mlflow.tracking import MlflowClient

from medfusion_core.kinds.tracker import RunStart, Tracker, TrackerDispatch, check_tracker
from medfusion_core.registry import get_registry

RUN_ID = "c" * 32


@pytest.fixture
def mlflow_uri(tmp_path: Path) -> str:
    """A fresh local SQLite MLflow tracking store."""
    return f"sqlite:///{tmp_path / 'mlflow.db'}"


@pytest.fixture
def no_uri(monkeypatch: pytest.MonkeyPatch) -> None:
    """Neither URI variable is set, and the tracker has not said it is inactive yet."""
    for name in tracker_module.URI_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(tracker_module, "_said_inactive", False)


def _start(run_dir: Path, **changes: object) -> RunStart:
    fields: dict = {
        "run_id": RUN_ID,
        "name": "swin-a",
        "experiment": "chest",
        "run_dir": str(run_dir),
        "config": {"model": {"backbone": {"name": "swin_tiny"}}, "train": {"epochs": 3, "lr": 0.001}},
        "data_fingerprint": "sha256:00",
        "lineage": {"git": {"commit": "abc", "dirty": False}, "versions": {"medfusion-core": "0.1.0"}},
    }
    return RunStart(**{**fields, **changes})


def _mirrored(client: MlflowClient):
    (run,) = client.search_runs([client.get_experiment_by_name("chest").experiment_id])
    return run


def test_hook_registers_the_tracker_through_the_registry(medfusion_host, mlflow_uri: str) -> None:
    medfusion_host.register(hooks, "medfusion-plugin-mlflow")
    tracker = get_registry().create("tracker", "mlflow", uri=mlflow_uri)
    assert isinstance(tracker, MlflowTracker)
    assert isinstance(tracker, Tracker)
    assert tracker.uri == mlflow_uri


def test_a_run_is_mirrored_point_by_point(medfusion_host, mlflow_uri: str, tmp_path: Path) -> None:
    medfusion_host.register(hooks, "medfusion-plugin-mlflow")
    dispatch = TrackerDispatch({"mlflow": get_registry().create("tracker", "mlflow", uri=mlflow_uri)})
    points = [
        (key, 1.0 / (step + 1) + index, step, 1.7e9 + step)
        for step in range(1200)
        for index, key in enumerate(("loss", "val_auroc"))
    ]
    dispatch.start_run(_start(tmp_path / "swin-a"))
    dispatch.log_params(RUN_ID, {"variant": "fused"})
    dispatch.set_status(RUN_ID, "running")
    dispatch.log_metrics(RUN_ID, points)  # 2400 points: three log_batch calls
    dispatch.log_artifact(RUN_ID, "fused/checkpoints/best.pt", "checkpoint")
    dispatch.end_run(RUN_ID, "finished")
    assert dispatch.failures == {}

    client = MlflowClient(tracking_uri=mlflow_uri)
    run = _mirrored(client)
    assert run.info.run_name == "swin-a"
    assert run.info.status == "FINISHED"
    assert run.info.end_time is not None
    assert run.data.params == {
        "model.backbone.name": "swin_tiny",
        "train.epochs": "3",
        "train.lr": "0.001",
        "variant": "fused",
    }
    tags = run.data.tags
    assert tags["medfusion.run_id"] == RUN_ID
    assert tags["medfusion.run_dir"] == str(tmp_path / "swin-a")
    assert tags["medfusion.data_fingerprint"] == "sha256:00"
    assert tags["medfusion.lineage.versions.medfusion-core"] == "0.1.0"
    assert tags["mlflow.source.git.commit"] == "abc"
    assert tags["medfusion.artifact.fused/checkpoints/best.pt"] == "checkpoint"
    for key in ("loss", "val_auroc"):
        history = client.get_metric_history(run.info.run_id, key)
        expected = sorted((s, round(t * 1000), v) for k, v, s, t in points if k == key)
        assert sorted((m.step, m.timestamp, m.value) for m in history) == expected


def test_resume_continues_the_same_mlflow_run(mlflow_uri: str, tmp_path: Path) -> None:
    first = TrackerDispatch({"mlflow": MlflowTracker(mlflow_uri)})
    first.start_run(_start(tmp_path))
    first.log_metrics(RUN_ID, [("loss", 1.0, 0, 1.7e9)])
    first.end_run(RUN_ID, "killed")
    client = MlflowClient(tracking_uri=mlflow_uri)
    assert _mirrored(client).info.status == "KILLED"

    second = TrackerDispatch({"mlflow": MlflowTracker(mlflow_uri)})  # another process
    second.start_run(_start(tmp_path, resumed=True, config={"train": {"epochs": 5, "lr": 0.001}}))
    assert _mirrored(client).info.status == "RUNNING"
    second.log_metrics(RUN_ID, [("loss", 0.5, 1, 1.7e9 + 1)])
    second.end_run(RUN_ID, "finished")
    assert second.failures == {}
    run = _mirrored(client)
    assert run.info.status == "FINISHED"
    assert run.data.params["train.epochs"] == "3"  # MLflow params never change ...
    assert run.data.tags["medfusion.param.train.epochs"] == "5"  # ... the new value is a tag
    assert [m.value for m in client.get_metric_history(run.info.run_id, "loss")] == [1.0, 0.5]


def test_points_wait_in_the_buffer_until_due(mlflow_uri: str, tmp_path: Path) -> None:
    client = MlflowClient(tracking_uri=mlflow_uri)
    tracker = MlflowTracker(mlflow_uri, flush_seconds=3600)
    tracker.start_run(_start(tmp_path))
    mlflow_id = _mirrored(client).info.run_id
    tracker.log_metrics(RUN_ID, [("loss", 1.0, 0, 1.7e9)])
    assert client.get_metric_history(mlflow_id, "loss") == []
    tracker.log_metrics(RUN_ID, [("loss", 0.5, step, 1.7e9) for step in range(1, 1000)])
    assert len(client.get_metric_history(mlflow_id, "loss")) == 1000  # a full batch goes at once
    tracker.log_metrics(RUN_ID, [("loss", 0.25, 1000, 1.7e9)])
    tracker.set_status(RUN_ID, "running")  # a status change sends what waits
    assert len(client.get_metric_history(mlflow_id, "loss")) == 1001
    tracker.log_metrics(RUN_ID, [("loss", 0.1, 1001, 1.7e9)])
    tracker.end_run(RUN_ID, "finished")
    assert len(client.get_metric_history(mlflow_id, "loss")) == 1002

    eager = MlflowTracker(mlflow_uri, flush_seconds=0)
    eager.start_run(_start(tmp_path, run_id="d" * 32, experiment="eager"))
    eager.log_metrics("d" * 32, [("loss", 1.0, 0, 1.7e9)])
    (run,) = client.search_runs([client.get_experiment_by_name("eager").experiment_id])
    assert len(client.get_metric_history(run.info.run_id, "loss")) == 1


def test_resolve_finds_mlflow_model_versions(mlflow_uri: str, tmp_path: Path, no_uri: None) -> None:
    run_dir = tmp_path / "swin-a"
    (run_dir / "fused").mkdir(parents=True)
    tracker = MlflowTracker(mlflow_uri)
    tracker.start_run(_start(run_dir))
    tracker.end_run(RUN_ID, "finished")
    client = MlflowClient(tracking_uri=mlflow_uri)
    mlflow_id = _mirrored(client).info.run_id
    client.create_registered_model("chest")
    client.create_model_version("chest", f"runs:/{mlflow_id}/fused", run_id=mlflow_id)
    client.create_model_version(
        "chest", "s3://elsewhere/model", run_id=mlflow_id, tags={"medfusion.variant": "image"}
    )
    client.set_registered_model_alias("chest", "champion", "1")
    assert tracker.resolve("chest@champion") == (str(run_dir), "fused")
    assert tracker.resolve("chest/2") == (str(run_dir), "image")
    for unknown in ("chest@challenger", "chest/9", "other@champion", "chest", str(tmp_path / "missing")):
        assert tracker.resolve(unknown) is None
    assert MlflowTracker().resolve("chest@champion") is None  # inactive


def test_conformance(mlflow_uri: str, tmp_path: Path) -> None:
    check_tracker(MlflowTracker(mlflow_uri), run_dir=str(tmp_path))
    run = _conformance_run(MlflowClient(tracking_uri=mlflow_uri))
    assert run.info.status == "FINISHED"


def _conformance_run(client: MlflowClient):
    (run,) = client.search_runs([client.get_experiment_by_name("conformance").experiment_id])
    return run


def test_copy_artifacts_uploads_the_file(mlflow_uri: str, tmp_path: Path) -> None:
    run_dir = tmp_path / "swin-a"
    (run_dir / "fused").mkdir(parents=True)
    (run_dir / "fused" / "metrics.json").write_text('{"auroc": 0.8}')
    tracker = MlflowTracker(mlflow_uri, copy_artifacts=True)
    tracker.start_run(_start(run_dir))
    tracker.log_artifact(RUN_ID, "fused/metrics.json", "metrics")
    tracker.log_artifact(RUN_ID, "fused/missing.pt", "checkpoint")  # not there: tag only
    tracker.end_run(RUN_ID, "finished")
    client = MlflowClient(tracking_uri=mlflow_uri)
    run = _mirrored(client)
    assert [item.path for item in client.list_artifacts(run.info.run_id, "fused")] == ["fused/metrics.json"]
    assert (tmp_path / "mlartifacts").is_dir()  # next to the database, not in the working folder
    assert run.data.tags["medfusion.artifact.fused/missing.pt"] == "checkpoint"


def test_uri_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch, no_uri: None) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///b.db")
    assert MlflowTracker().uri == "sqlite:///b.db"
    monkeypatch.setenv("MEDFUSION_MLFLOW_URI", "sqlite:///a.db")
    assert MlflowTracker().uri == "sqlite:///a.db"
    assert MlflowTracker("sqlite:///c.db").uri == "sqlite:///c.db"


def test_without_a_uri_the_tracker_is_inactive_and_says_so_once_at_info_level(
    no_uri: None, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    with caplog.at_level(logging.INFO, logger="medfusion.tracking"):
        trackers = [MlflowTracker(), MlflowTracker()]
        check_tracker(trackers[0], run_dir=str(tmp_path))
    assert not trackers[0].active
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 1
    assert "mlflow tracker inactive" in messages[0]
    assert "MEDFUSION_MLFLOW_URI" in messages[0]


@pytest.mark.parametrize("uri", ["sqlite:///{tmp}/a-file/mlflow.db", "bogus-scheme://x"])
def test_a_broken_uri_never_raises_out_of_the_dispatch(
    uri: str, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    (tmp_path / "a-file").write_text("a file where the database's folder should be")
    uri = uri.format(tmp=tmp_path)
    dispatch = TrackerDispatch({"mlflow": MlflowTracker(uri)})
    with caplog.at_level(logging.WARNING, logger="medfusion.tracking"):
        dispatch.start_run(_start(tmp_path))
        dispatch.log_metrics(RUN_ID, [("loss", 1.0, 0, 1.7e9)])
        dispatch.end_run(RUN_ID, "failed")
    assert list(dispatch.failures) == ["mlflow"]
    assert dispatch.active == []
    reports = [record.getMessage() for record in caplog.records if record.name == "medfusion.tracking"]
    assert len(reports) == 1
    assert "'mlflow' failed in start_run" in reports[0]
