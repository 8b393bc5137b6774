"""The tracker kind: its hookspec, Protocol, and a dispatcher that isolates failing trackers."""

from __future__ import annotations

import logging
import subprocess
import sys

import pluggy

from medfusion_core import kinds
from medfusion_core.kinds.tracker import (
    RunStart,
    Tracker,
    TrackerDispatch,
    check_tracker,
    fingerprint_files,
    git_state,
    package_versions,
)


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
    assert kinds.get("tracker").hook == "medfusion_register_trackers"
    manager = pluggy.PluginManager(kinds.PROJECT)
    kinds.add_hookspecs(manager)
    assert manager.hook.medfusion_register_trackers.spec is not None
    assert "Several trackers may be active" in (kinds.get("tracker").spec.__doc__ or "")


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


def test_git_state(tmp_path) -> None:
    assert git_state(tmp_path) is None

    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "a.txt").write_text("one")
    git("add", "a.txt")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "first")
    state = git_state(tmp_path)
    assert state is not None and len(state["commit"]) == 40 and state["dirty"] is False
    (tmp_path / "untracked.txt").write_text("not counted")
    assert git_state(tmp_path)["dirty"] is False
    (tmp_path / "a.txt").write_text("two")
    assert git_state(tmp_path) == {"commit": state["commit"], "dirty": True}


def test_fingerprint_files(tmp_path) -> None:
    manifest, image = tmp_path / "manifest.csv", tmp_path / "x.png"
    manifest.write_text("patient_id,image\n1,x.png\n")
    image.write_bytes(bytes(range(256)) * 10)
    first = fingerprint_files([manifest, image])
    assert first.startswith("sha256:") and first == fingerprint_files([manifest, image])
    assert fingerprint_files([image, manifest]) != first
    image.write_bytes(bytes(range(256)) * 9 + bytes([1]) + bytes(range(1, 256)))
    assert fingerprint_files([manifest, image]) != first
    assert fingerprint_files([manifest, image], chunk=7) == fingerprint_files([manifest, image])


def test_package_versions() -> None:
    versions = package_versions(["medfusion-core", "no-such-distribution-xyz"])
    assert versions == {"medfusion-core": "0.1.0", "no-such-distribution-xyz": None}


def test_conformance_check() -> None:
    recorder = Recorder()
    check_tracker(recorder)
    assert [event[0] for event in recorder.events][-3:] == ["start_run", "log_metrics", "end_run"]
    try:
        check_tracker(Broken())
    except AssertionError as error:
        assert str(error).startswith("Broken.log_metrics raised ConnectionError: server unreachable")
    else:
        raise AssertionError("a broken tracker passed the conformance check")
    try:
        check_tracker(object())
    except AssertionError as error:
        assert "object lacks tracker methods: start_run, log_params" in str(error)
