"""The store tracker through the tracker contract: start, events, resume, isolation of failures."""

from __future__ import annotations

import time

from medfusion_plugin_tracking import hooks
from medfusion_plugin_tracking.store import TrackingStore
from medfusion_plugin_tracking.tracker import StoreTracker

from medfusion_core.kinds.tracker import RunStart, Tracker, TrackerDispatch, check_tracker, flatten


def test_hook_registers_the_store_tracker() -> None:
    (spec,) = hooks.medfusion_register_trackers()
    assert (spec.name, spec.kind) == ("store", "tracker")
    assert spec.load() is StoreTracker
    assert isinstance(StoreTracker(), Tracker)


def test_events_reach_the_store(store_url: str, tmp_path) -> None:
    tracker = StoreTracker(store_url)
    start = RunStart(
        run_id="a" * 32,
        name="swin-a",
        experiment="chest",
        run_dir=str(tmp_path / "swin-a"),
        config={"model": {"backbone": {"name": "swin_tiny"}}, "train": {"epochs": 2}},
        data_fingerprint="sha256:00",
        lineage={"core": "0.1.0", "git": {"commit": "abc", "dirty": False}},
    )
    dispatch = TrackerDispatch({"store": tracker})
    dispatch.start_run(start)
    dispatch.log_metrics(start.run_id, [("loss", 0.5, 0, time.time()), ("loss", 0.4, 1, time.time())])
    dispatch.log_artifact(start.run_id, "fused/best.pt", "checkpoint")
    dispatch.end_run(start.run_id, "killed")
    dispatch.start_run(RunStart(start.run_id, "swin-a", "chest", start.run_dir, resumed=True))
    dispatch.log_metrics(start.run_id, [("loss", 0.3, 2, time.time())])
    dispatch.end_run(start.run_id, "finished")
    assert dispatch.failures == {}
    with TrackingStore(store_url) as store:
        run = store.get_run(start.run_id)
        assert run.status == "finished" and run.metrics == {"loss": 0.3}
        assert run.params == {"model.backbone.name": "swin_tiny", "train.epochs": "2"}
        assert run.lineage["config"] == dict(start.config) and run.lineage["git"]["commit"] == "abc"
        assert run.data_fingerprint == "sha256:00"
        assert store.artifacts(start.run_id) == [("fused/best.pt", "checkpoint")]


def test_flatten() -> None:
    assert flatten({"a": {"b": {"c": 1}, "d": [1, 2]}, "e": {}}) == {"a.b.c": 1, "a.d": [1, 2], "e": {}}


def test_store_tracker_passes_the_conformance_check(store_url: str, tmp_path) -> None:
    check_tracker(StoreTracker(store_url), str(tmp_path / "conformance"))
    with TrackingStore(store_url) as store:
        run = store.get_run("conformance")
        assert run.status == "finished" and run.metrics == {"loss": 0.25, "val_auroc": 0.7}


def test_resolve_answers_model_references(store_url: str, tmp_path) -> None:
    with TrackingStore(store_url) as store:
        run_id = store.create_run("r", run_dir=tmp_path / "r")
        store.register_model_version("chest", run_id, variant="image", checkpoint="image-only/best.pt")
        store.set_alias("chest", "champion", 1)
    tracker = StoreTracker(store_url)
    assert tracker.resolve("chest@champion") == (tmp_path / "r", "image")
    assert tracker.resolve("chest/1") == (tmp_path / "r", "image")
    assert tracker.resolve("chest@nobody") is None and tracker.resolve("plainname") is None


def test_resolve_creates_no_store_file(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'none.db'}"
    assert StoreTracker(url).resolve("chest@champion") is None
    assert not (tmp_path / "none.db").exists()
