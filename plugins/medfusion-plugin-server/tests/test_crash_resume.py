"""kill -9 of a real ``medfusion serve`` process (a subprocess on loopback) mid-training: after a
restart the execution shows ``interrupted``, ``POST /api/executions/{id}/resume`` finishes it,
the training continues from its checkpoint, and no finished node runs again (the node executions
are counted in the database); the dataset and the finished training's checkpoints are recorded.
Linux (the test finds the orphaned training in /proc).

The workflow is dataset (40 demo patients, 32 px) -> train (fused, 20 epochs, one thread) ->
evaluate; the server is killed once the training has written its first checkpoint. On SQLite
and on the tracking plugin's real PostgreSQL.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2 as httpx
import sqlalchemy as sa
from medfusion_plugin_tracking.engine import normalise_url
from medfusion_plugin_workflows.engine import WorkflowEngine

PASSWORD = "correct horse"
EPOCHS = 20
SMALL = [
    "data.image.size=[32, 32]",
    "data.loader.workers=0",
    f"trainer.params.epochs={EPOCHS}",
    "trainer.params.progress=never",
    "evaluation.bootstrap=20",
]
WORKFLOW = {
    "schema_version": 1,
    "name": "crash",
    "nodes": [
        {"id": "data", "kind": "dataset", "params": {"demo_patients": 40, "seed": 1, "overrides": SMALL}},
        {"id": "train", "kind": "train", "params": {"modalities": "fused", "name": "crash"}},
        {"id": "evaluate", "kind": "evaluate", "params": {}},
    ],
    "edges": [
        {"source": "data", "source_output": "dataset", "target": "train", "target_input": "dataset"},
        {"source": "train", "source_output": "run", "target": "evaluate", "target_input": "runs"},
    ],
}


def _wait_for(predicate: Callable[[], Any], what: str, timeout: float = 300.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := predicate()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _serve(runs_dir: Path, url: str, port: int, log: Path, *extra: str) -> Iterator[subprocess.Popen]:
    """``medfusion serve`` in its own process (one intra-op thread for the trainings it starts);
    yields it once ``/api/health`` answers; terminated at the end if still alive."""
    argv = [str(Path(sys.executable).with_name("medfusion")), "serve", "--port", str(port)]
    argv += ["--runs-dir", str(runs_dir), "--store", url, *extra]
    env = {**os.environ, "MEDFUSION_ADMIN_PASSWORD": PASSWORD, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    with open(log, "ab") as output:
        server = subprocess.Popen(argv, env=env, stdout=output, stderr=subprocess.STDOUT)

    def healthy() -> bool:
        assert server.poll() is None, f"medfusion serve exited: {log.read_text()[-2000:]}"
        try:
            return httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    try:
        _wait_for(healthy, "medfusion serve to answer", timeout=180)
        yield server
    finally:
        if server.poll() is None:
            server.terminate()
            server.wait(60)


@contextmanager
def _client(port: int) -> Iterator[httpx.Client]:
    """A client of the server on ``port``, logged in as the admin with a bearer token."""
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
        answer = client.post("/api/auth/token", json={"username": "ann", "password": PASSWORD})
        assert answer.status_code == 200, answer.text
        client.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
        yield client


def _trainings(runs_dir: Path) -> list[int]:
    """Pids of the ``medfusion train`` processes working in ``runs_dir``."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"train" in argv and any(str(runs_dir).encode() in arg for arg in argv):
            found.append(int(entry.name))
    return found


def _attempts(url: str, eid: str) -> list[tuple[str, str]]:
    """``(node_id, state)`` of every node execution of ``eid`` in the database, in order."""
    engine = sa.create_engine(normalise_url(url))
    try:
        with engine.connect() as db:
            rows = db.execute(
                sa.text("SELECT node_id, state FROM node_executions WHERE execution_id = :e ORDER BY id"),
                {"e": eid},
            )
            return [(row.node_id, row.state) for row in rows]
    finally:
        engine.dispose()


def test_kill_9_of_the_server_mid_training_then_resume(store_url: str, tmp_path: Path) -> None:
    runs_dir, url, port = tmp_path / "runs", store_url, _free_port()
    log, checkpoint = tmp_path / "serve.log", runs_dir / "crash" / "fused" / "checkpoints" / "last.pt"
    with _serve(runs_dir, url, port, log, "--create-admin", "ann") as server, _client(port) as http:
        saved = http.post("/api/workflows", json=WORKFLOW)
        assert saved.status_code == 201, saved.text
        eid = http.post(f"/api/workflows/{saved.json()['id']}/executions").json()["id"]
        _wait_for(checkpoint.is_file, "the training's first checkpoint")
        os.kill(server.pid, signal.SIGKILL)
        assert server.wait(30) == -signal.SIGKILL
    assert not (checkpoint.parent.parent / "summary.json").exists(), "the training ended before the kill"
    assert _attempts(url, eid) == [("data", "finished"), ("train", "running")]
    # the orphaned training got SIGTERM when the server died (PR_SET_PDEATHSIG)
    _wait_for(lambda: not _trainings(runs_dir), "the killed server's training to stop", timeout=60)

    with _serve(runs_dir, url, port, log) as server, _client(port) as http:
        interrupted = http.get(f"/api/executions/{eid}").json()
        assert interrupted["state"] == "interrupted", interrupted
        assert interrupted["nodes"]["train"]["state"] == "interrupted"
        assert interrupted["nodes"]["evaluate"]["state"] == "pending"
        resumed = http.post(f"/api/executions/{eid}/resume")
        assert resumed.status_code == 200, resumed.text

        def ended() -> dict[str, Any] | None:
            found = http.get(f"/api/executions/{eid}").json()
            return found if found["state"] not in ("pending", "running") else None

        final = _wait_for(ended, "the resumed execution to end", timeout=600)
        assert final["state"] == "finished", {
            node: value.get("error") for node, value in final["nodes"].items()
        }
    assert _attempts(url, eid) == [
        ("data", "finished"),
        ("train", "interrupted"),
        ("data", "cached"),  # the finished dataset node did not run again
        ("train", "finished"),
        ("evaluate", "finished"),
    ]
    node_log = (runs_dir / "workflows" / eid / "train" / "node.log").read_text().splitlines()
    trains = [line for line in node_log if line.startswith("$ ") and " train " in line]
    assert len(trains) == 2 and trains[0].endswith("--overwrite") and trains[1].endswith("--resume")
    assert json.loads((checkpoint.parent.parent / "summary.json").read_text())["epochs"] == EPOCHS

    engine = WorkflowEngine(url, runs_dir)
    attempts = {(row["node_id"], row["state"]): row["id"] for row in engine.node_attempts(eid)}
    records = engine.records(eid)
    engine.store.close()
    assert [row["node_execution_id"] for row in records["datasets"]] == [attempts["data", "finished"]]
    last = [row for row in records["checkpoints"] if row["role"] == "last"]
    assert [(row["node_execution_id"], row["epoch"]) for row in last] == [
        (attempts["train", "finished"], EPOCHS)
    ]
