"""The tracker kind: its hookspec, Protocol, and a dispatcher that isolates failing trackers."""

from __future__ import annotations

import logging
import subprocess
import sys

import pluggy

from medfusion_core import hookspecs
from medfusion_core.kinds.tracker import RunStart, Tracker, TrackerDispatch
from medfusion_core.specs import HOOK_FOR_KIND, KINDS


class Recorder:
    """A tracker that records its events."""

    def __init__(self) -> None:
        self.events: list[tuple] = []

    def start_run(self, run):
        self.events.append(("start_run", run.run_id))

    def log_params(self, run_id, params):
        self.events.append(("log_params", dict(params)))

    def log_metrics(self, run_id, points):
        self.events.append(("log_metrics", list(points)))

    def log_artifact(self, run_id, path, kind):
        self.events.append(("log_artifact", path, kind))

    def set_status(self, run_id, status):
        self.events.append(("set_status", status))

    def end_run(self, run_id, status):
        self.events.append(("end_run", status))


class Broken(Recorder):
    """A tracker whose server went away after the start."""

    def log_metrics(self, run_id, points):
        raise ConnectionError("server unreachable\nsecond line of detail")


def _run_all(dispatch: TrackerDispatch) -> None:
    dispatch.start_run(RunStart("r1", "run", "default", "/runs/run"))
    dispatch.log_params("r1", {"lr": 0.1})
    for step in range(3):
        dispatch.log_metrics("r1", [("loss", 1.0 / (step + 1), step, 0.0)])
    dispatch.log_artifact("r1", "fused/best.pt", "checkpoint")
    dispatch.set_status("r1", "running")
    dispatch.end_run("r1", "finished")


def test_kind_is_registered() -> None:
    assert "tracker" in KINDS and HOOK_FOR_KIND["tracker"] == "medfusion_register_trackers"
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    assert manager.hook.medfusion_register_trackers.spec is not None
    assert "Several trackers may be active" in (hookspecs.medfusion_register_trackers.__doc__ or "")


def test_a_failing_tracker_is_reported_once_and_disabled(caplog) -> None:
    good, broken = Recorder(), Broken()
    assert isinstance(good, Tracker) and isinstance(broken, Tracker)
    dispatch = TrackerDispatch({"good": good, "flaky": broken})
    with caplog.at_level(logging.WARNING, logger="medfusion.tracking"):
        _run_all(dispatch)
    assert [event[0] for event in good.events] == [
        "start_run",
        "log_params",
        "log_metrics",
        "log_metrics",
        "log_metrics",
        "log_artifact",
        "set_status",
        "end_run",
    ]
    assert [event[0] for event in broken.events] == ["start_run", "log_params"]
    assert dispatch.active == ["good"]
    assert dispatch.failures == {"flaky": "ConnectionError: server unreachable"}
    (record,) = caplog.records
    assert record.getMessage() == (
        "tracker 'flaky' failed in log_metrics (ConnectionError: server unreachable); "
        "it is disabled for the rest of this run"
    )


def test_kind_module_imports_neither_torch_nor_numpy() -> None:
    code = "import sys, medfusion_core.kinds.tracker; print(sorted({'torch', 'numpy'} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
