"""The core's view of the trackers (``medfusion_core.tracking``): every registered tracker in one
dispatch, ``MEDFUSION_TRACKING=off``, run references resolved through the trackers, and a failing
third-party tracker that never fails a training and is reported once."""

from __future__ import annotations

import logging
import types
from pathlib import Path
from typing import ClassVar

import medfusion_plugin_aggregators.hooks as aggregators
import medfusion_plugin_fusion.hooks as fusions
import medfusion_plugin_readers.hooks as readers
import medfusion_plugin_tracking.hooks as tracking_hooks
import medfusion_plugin_trainer.hooks as trainer
import pytest
import yaml
from medfusion_plugin_pipeline.demo import write_demo
from medfusion_plugin_pipeline.training import train_run
from medfusion_plugin_tracking.store import TrackingStore

from medfusion_core import ComponentSpec, hookimpl
from medfusion_core.config import load_config
from medfusion_core.errors import DataError
from medfusion_core.testing import tiny_backbone
from medfusion_core.tracking import active_trackers, resolve_run, stored_run_id


class Broken:
    """A third-party tracker whose every metric batch raises."""

    calls = 0

    def start_run(self, run):
        pass

    def log_params(self, run_id, params):
        pass

    def log_metrics(self, run_id, points):
        Broken.calls += 1
        raise ConnectionError("tracking server unreachable")

    def log_artifact(self, run_id, path, kind):
        pass

    def set_status(self, run_id, status):
        pass

    def end_run(self, run_id, status):
        pass


class Unbuildable:
    """A tracker whose factory raises."""

    def __init__(self) -> None:
        raise RuntimeError("no credentials")


def tracker_plugin(*specs: tuple[str, str]) -> types.ModuleType:
    """A plugin module registering the trackers ``(name, class name in this module)``."""
    module = types.ModuleType("medfusion_test_trackers")

    @hookimpl
    def medfusion_register_trackers():
        return [ComponentSpec(name, "tracker", f"{__name__}:{attr}", "test tracker") for name, attr in specs]

    module.medfusion_register_trackers = medfusion_register_trackers
    return module


def test_no_tracker_is_an_empty_dispatch(medfusion_host):
    assert active_trackers().active == []


def test_off_switch_and_unbuildable_tracker(medfusion_host, monkeypatch, caplog):
    medfusion_host.register(tracker_plugin(("broken", "Broken"), ("nocreds", "Unbuildable")), "test-trackers")
    with caplog.at_level(logging.WARNING, logger="medfusion.tracking"):
        assert active_trackers().active == ["test-trackers:broken"]
    (warning,) = [r.getMessage() for r in caplog.records if "nocreds" in r.getMessage()]
    assert "no credentials" in warning
    monkeypatch.setenv("MEDFUSION_TRACKING", "off")
    assert active_trackers().active == []


def test_run_references(medfusion_host, tmp_path):
    assert resolve_run(tmp_path) == (tmp_path, None)
    with pytest.raises(DataError, match=r"^nobody@champion: neither a run folder nor a registered model"):
        resolve_run("nobody@champion")


class Recorder(Broken):
    """A tracker remembering the params it received and how runs ended."""

    ends: ClassVar[list[str]] = []
    params: ClassVar[dict[str, object]] = {}

    def log_params(self, run_id, params):
        Recorder.params.update(params)

    def log_metrics(self, run_id, points):
        pass

    def end_run(self, run_id, status):
        Recorder.ends.append(status)


class Interrupted:
    """A trainer interrupted by Ctrl-C (or failing) before its first step."""

    def __init__(self, error: str = "ctrl-c") -> None:
        self.error = error

    def fit(self, job, variant_dir, *, resume=False):
        raise KeyboardInterrupt if self.error == "ctrl-c" else RuntimeError("out of memory")


@pytest.fixture
def demo_config(medfusion_host, tmp_path, monkeypatch) -> Path:
    """A tiny demo run config on a host with the training plugins, the store tracker and the
    test trackers (``broken``, ``recorder``) and trainer (``interrupted``)."""
    tiny = tiny_backbone
    tests = tracker_plugin(("broken", "Broken"), ("recorder", "Recorder"))

    @hookimpl
    def medfusion_register_trainers():
        return [ComponentSpec("interrupted", "trainer", f"{__name__}:Interrupted", "test trainer")]

    tests.medfusion_register_trainers = medfusion_register_trainers
    for module, name in [
        (tiny, tiny.PLUGIN),
        (trainer, "medfusion-plugin-trainer"),
        (aggregators, "medfusion-plugin-aggregators"),
        (fusions, "medfusion-plugin-fusion"),
        (readers, "medfusion-plugin-readers"),
        (tracking_hooks, "medfusion-plugin-tracking"),
        (tests, "test-trackers"),
    ]:
        medfusion_host.register(module, name)
    monkeypatch.setenv("MEDFUSION_TRACKING_URI", f"sqlite:///{tmp_path / 'store.db'}")
    folder = write_demo(tmp_path / "data", patients=24, seed=2)
    config = yaml.safe_load((folder / "config.yaml").read_text())
    config["model"]["backbone"] = {"name": "tiny"}
    config["data"]["image"]["size"] = [32, 32]
    config["data"]["loader"]["batch_size"] = 8
    config["trainer"]["params"] = {"epochs": 2, "lr": 0.01, "progress": "never", "log_every": 1}
    config["runs_dir"] = str(tmp_path / "runs")
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    Broken.calls, Recorder.ends, Recorder.params = 0, [], {}
    return folder / "config.yaml"


def test_failing_third_party_tracker_never_fails_training(demo_config, caplog):
    with caplog.at_level(logging.WARNING, logger="medfusion.tracking"):
        paths, summaries = train_run(load_config(demo_config))
    assert set(summaries) == {"fused"} and Broken.calls == 1 and Recorder.ends == ["finished"]
    # a tracker that only implements the events gets the config's params as a params event
    assert Recorder.params["model.backbone.name"] == "tiny" and Recorder.params["trainer.params.epochs"] == 2
    warnings = [r.getMessage() for r in caplog.records if r.name == "medfusion.tracking"]
    assert len(warnings) == 1 and "test-trackers:broken" in warnings[0] and "unreachable" in warnings[0]
    with TrackingStore() as store:  # the store tracker still received everything
        info = store.get_run(stored_run_id(paths.root))
        assert info.status == "finished" and "fused/val_auroc" in info.metrics


@pytest.mark.parametrize(
    ("error", "raised", "status"), [("ctrl-c", KeyboardInterrupt, "killed"), ("oom", RuntimeError, "failed")]
)
def test_interrupted_or_failed_training_ends_the_tracked_run(demo_config, error, raised, status):
    config = yaml.safe_load(demo_config.read_text())
    config["trainer"] = {"name": "interrupted", "params": {"error": error}}
    demo_config.write_text(yaml.safe_dump(config))
    with pytest.raises(raised):
        train_run(load_config(demo_config))
    assert Recorder.ends == [status]
    with TrackingStore() as store:
        assert [run.status for run in store.search_runs()] == [status]
