"""The train node records the checkpoints of a training that did not finish: one killed mid-run
(the epoch and best value from the checkpoints, as the trainer's metrics.jsonl logged them),
then resumed (the same rows updated, none added); one cancelled; and a failed retrain of an
earlier run records none of the earlier run's files (demo data: 40 patients, 32 px, one batch
an epoch; the first on SQLite and PostgreSQL)."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

from medfusion_plugin_trainer.trainer import ENV_KILL_AT_STEP
from medfusion_plugin_workflows.engine import WorkflowEngine

ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _training(demo_config: Path, name: str, **train: Any) -> dict[str, Any]:
    """dataset (every patient in one batch) -> train ``name`` (fused) with ``train`` params."""
    return {
        "schema_version": 1,
        "name": name,
        "nodes": [
            {"id": "data", "kind": "dataset", "params": {"config": str(demo_config)}},
            {"id": "train", "kind": "train", "params": {"name": name, **train}},
        ],
        "edges": [
            {"source": "data", "source_output": "dataset", "target": "train", "target_input": "dataset"}
        ],
    }


def _metrics(run_dir: Path) -> list[dict[str, Any]]:
    lines = (run_dir / "fused" / "metrics.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def _checkpoints(engine: WorkflowEngine, eid: str) -> dict[str, dict[str, Any]]:
    """The execution's checkpoint rows by role (each role once), their size and sha256 checked."""
    rows = engine.records(eid)["checkpoints"]
    by_role = {row["role"]: row for row in rows}
    assert len(by_role) == len(rows), rows
    for row in rows:
        data = Path(row["path"]).read_bytes()
        assert (row["size"], row["sha256"]) == (len(data), hashlib.sha256(data).hexdigest())
    return by_role


def _attempt(engine: WorkflowEngine, eid: str, state: str) -> int:
    return next(
        row["id"] for row in engine.node_attempts(eid) if (row["node_id"], row["state"]) == ("train", state)
    )


def test_a_killed_training_records_its_checkpoints_and_the_resume_updates_them(
    demo_config, store_url, tmp_path
) -> None:
    runs_dir = tmp_path / "runs"
    overrides = ["data.loader.batch_size=64"]
    doc = _training(demo_config, "cut", epochs=3, overrides=overrides)
    killed = WorkflowEngine(store_url, runs_dir, env={**ONE_THREAD, ENV_KILL_AT_STEP: "2"})
    eid = killed.run(doc)
    failed = killed.execution(eid)
    assert failed["state"] == "failed" and failed["nodes"]["train"]["error"].startswith("exit code -9")
    rows = _checkpoints(killed, eid)
    assert set(rows) == {"best", "last"}
    logged = _metrics(runs_dir / "cut")
    saved = {r["file"]: r["epoch"] for r in logged if r["event"] == "checkpoint"}  # the last of each
    best = [r for r in logged if r["event"] == "epoch" and r["best"]][-1]
    assert (rows["last"]["epoch"], rows["best"]["epoch"]) == (saved["last.pt"], saved["best.pt"]) == (1, 1)
    assert rows["best"]["value"] == best[rows["best"]["monitor"]] and rows["last"]["value"] is None
    assert {row["node_execution_id"] for row in rows.values()} == {_attempt(killed, eid, "failed")}
    killed.store.close()

    engine = WorkflowEngine(store_url, runs_dir, env=ONE_THREAD)
    engine.resume(eid, wait=True)
    assert engine.execution(eid)["state"] == "finished"
    resumed = _checkpoints(engine, eid)
    assert {role: row["id"] for role, row in resumed.items()} == {
        role: row["id"] for role, row in rows.items()
    }
    assert resumed["last"]["epoch"] == 3
    assert {row["node_execution_id"] for row in resumed.values()} == {_attempt(engine, eid, "finished")}

    retrain = engine.run(_training(demo_config, "cut", epochs=-1, overrides=overrides))
    assert engine.execution(retrain)["nodes"]["train"]["error"].endswith("must be > 0, got -1")
    assert engine.records(retrain)["checkpoints"] == []  # the files on disk are the earlier run's
    engine.store.close()


def test_a_cancelled_training_records_the_checkpoint_it_wrote(demo_config, url, tmp_path) -> None:
    runs_dir = tmp_path / "runs"
    engine = WorkflowEngine(url, runs_dir, env=ONE_THREAD)
    eid = engine.start(_training(demo_config, "long", epochs=500))
    last = runs_dir / "long" / "fused" / "checkpoints" / "last.pt"
    deadline = time.monotonic() + 300
    while not last.is_file():
        assert time.monotonic() < deadline, engine.execution(eid)
        time.sleep(0.2)
    engine.cancel(eid)
    final = engine.wait(eid, timeout=120)
    assert final["state"] == "cancelled" and final["nodes"]["train"]["state"] == "cancelled"
    rows = _checkpoints(engine, eid)
    logged = [r["epoch"] for r in _metrics(runs_dir / "long") if r["event"] == "checkpoint"]
    # the write of the last logged checkpoint may have been cut short by the cancel
    assert 1 <= rows["last"]["epoch"] <= logged[-1]
    assert rows["last"]["node_execution_id"] == _attempt(engine, eid, "cancelled")
    engine.store.close()
