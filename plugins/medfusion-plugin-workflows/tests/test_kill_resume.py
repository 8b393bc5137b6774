"""kill -9 of the process running a workflow: the execution shows interrupted after ``recover()``
and ``resume`` finishes it without running a finished node again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from medfusion_plugin_workflows.engine import WorkflowEngine

WORKER = Path(__file__).resolve().parent / "engine_worker.py"


def _wait_for(predicate, what: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_kill_9_then_resume_runs_no_finished_node_again(steps_host, steps, store_url, tmp_path) -> None:
    record = tmp_path / "record.txt"
    doc = steps(
        {
            "first": {"record": str(record)},
            "slow": {"seconds": 5, "record": str(record)},
            "last": {"record": str(record)},
        },
        [("first", "slow"), ("slow", "last")],
    )
    path = tmp_path / "kill.medfusion"
    path.write_text(json.dumps(doc))
    worker = subprocess.Popen([sys.executable, str(WORKER), store_url, str(tmp_path / "runs"), str(path)])
    engine = WorkflowEngine(store_url, tmp_path / "runs")
    try:
        _wait_for(
            lambda: (
                engine.executions()
                and engine.execution(engine.executions()[0]["id"])["nodes"]["slow"]["state"] == "running"
            ),
            "slow to start",
        )
        eid = engine.executions()[0]["id"]
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(30)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert engine.execution(eid)["state"] == "running"  # nobody has noticed yet
    assert engine.recover() == [eid]
    interrupted = engine.execution(eid)
    assert interrupted["state"] == "interrupted" and interrupted["nodes"]["slow"]["state"] == "interrupted"
    assert engine.events(eid)[-1]["type"] == "execution_interrupted"

    engine.resume(eid, wait=True)
    final = engine.execution(eid)
    assert final["state"] == "finished", final
    attempts = engine.node_attempts(eid)
    ran = [(row["node_id"], row["state"]) for row in attempts]
    assert ran == [
        ("first", "finished"),
        ("slow", "interrupted"),
        ("first", "cached"),
        ("slow", "finished"),
        ("last", "finished"),
    ]
    assert record.read_text().split() == [
        "first",
        "slow",
        "last",
    ]  # first ran once; killed slow never recorded
