"""The WebSocket streams on a real uvicorn server on loopback: live metric points of a running
run, resume after a seq, the end message, refusal without a token, the system stream."""

from __future__ import annotations

import json
import threading
import time

import pytest
from fastapi.testclient import TestClient
from medfusion_plugin_server.testing import running_server
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect


def _ws_url(base: str, path: str) -> str:
    return base.replace("http://", "ws://") + path


def test_metric_points_arrive_live_and_resume(sqlite_client: TestClient, bearer) -> None:
    store = sqlite_client.app.state.context.store
    run_id = store.create_run("live")
    token = bearer(sqlite_client, "viewer")["Authorization"].split()[1]
    with running_server(sqlite_client.app) as base:
        url = _ws_url(base, f"/api/ws/runs/{run_id}/metrics?token={token}")
        with connect(url, open_timeout=20) as socket:

            def log() -> None:
                for step in range(5):
                    store.log_metric(run_id, "train_loss", 1.0 / (step + 1), step)
                    time.sleep(0.05)

            writer = threading.Thread(target=log)
            writer.start()
            received = [json.loads(socket.recv(timeout=20)) for _ in range(5)]
            writer.join()
        assert [m["data"]["step"] for m in received] == [0, 1, 2, 3, 4]
        assert {m["type"] for m in received} == {"metric"}
        assert received[2]["data"]["value"] == pytest.approx(1 / 3)
        seqs = [m["seq"] for m in received]
        assert seqs == sorted(seqs)
        store.set_status(run_id, "finished")
        with connect(f"{url}&after={seqs[2]}", open_timeout=20) as socket:
            resumed = [json.loads(socket.recv(timeout=20)) for _ in range(3)]
        assert [m["data"]["step"] for m in resumed[:2]] == [3, 4]
        assert resumed[2]["type"] == "end" and resumed[2]["data"] == {"status": "finished"}


def test_streams_need_a_token_and_system_stream_reports(sqlite_client: TestClient, bearer) -> None:
    token = bearer(sqlite_client, "viewer")["Authorization"].split()[1]
    with running_server(sqlite_client.app) as base:
        with pytest.raises(InvalidStatus) as refused:
            connect(_ws_url(base, "/api/ws/system"), open_timeout=20)
        assert refused.value.response.status_code == 403
        with pytest.raises(InvalidStatus):
            connect(_ws_url(base, "/api/ws/system?token=forged"), open_timeout=20)
        with connect(_ws_url(base, f"/api/ws/system?token={token}"), open_timeout=20) as socket:
            message = json.loads(socket.recv(timeout=20))
        assert message["type"] == "system"
        assert 0 < message["data"]["memory_used_bytes"] <= message["data"]["memory_total_bytes"]


def _until_end(url: str) -> list[dict]:
    messages: list[dict] = []
    with connect(url, open_timeout=20) as socket:
        while not messages or messages[-1]["type"] != "end":
            messages.append(json.loads(socket.recv(timeout=300)))
    return messages


def test_execution_events_and_job_log_streams(sqlite_client: TestClient, bearer) -> None:
    researcher = bearer(sqlite_client, "researcher")
    token = researcher["Authorization"].split()[1]
    document = {
        "schema_version": 1,
        "name": "data only",
        "nodes": [
            {"id": "data", "kind": "dataset", "params": {"demo_patients": 12}, "position": {"x": 0, "y": 0}}
        ],
        "edges": [],
    }
    saved = sqlite_client.post("/api/workflows", json=document, headers=researcher).json()
    missing = sqlite_client.app.state.context.settings.datasets_dir / "nonexistent.csv"
    eid = sqlite_client.post(f"/api/workflows/{saved['id']}/executions", headers=researcher).json()["id"]
    job = sqlite_client.post(
        "/api/jobs",
        json={"config": {"name": "broken", "data": {"manifest": str(missing)}}, "modalities": "fused"},
        headers=researcher,
    ).json()
    with running_server(sqlite_client.app) as base:
        events = _until_end(_ws_url(base, f"/api/ws/executions/{eid}?token={token}"))
        assert events[-1]["data"] == {"state": "finished"}
        assert any(m["data"].get("node") == "data" for m in events[:-1])
        seqs = [m["seq"] for m in events[:-1]]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
        replay = _until_end(_ws_url(base, f"/api/ws/executions/{eid}?token={token}&after={seqs[0]}"))
        assert [m["seq"] for m in replay[:-1]] == seqs[1:]
        log = _until_end(_ws_url(base, f"/api/ws/jobs/{job['id']}/log?token={token}"))
    assert log[-1]["data"]["state"] == "failed"
    text = "".join(m["data"]["text"] for m in log if m["type"] == "log")
    assert "nonexistent.csv" in text
