"""The quickstart template through the API on a real uvicorn: upload the demo data archive, save
and start the workflow, receive the fused run's metric points on a WebSocket, then see three runs,
the registered champion and the execution's records (dataset, checkpoints, model versions; a
viewer reads them, without credentials 401, an unknown execution 404) (tiny: 40 patients, 32 px,
1 epoch)."""

from __future__ import annotations

import hashlib
import io
import json
import time
import zipfile
from pathlib import Path

import httpx2 as httpx
import yaml
from medfusion_plugin_server.app import create_app
from medfusion_plugin_server.settings import Settings
from medfusion_plugin_server.testing import running_server
from websockets.sync.client import connect

PASSWORD = "correct horse"


def _demo_archive(folder: Path) -> bytes:
    """The demo data of 40 patients, made tiny (32 px, 1 epoch, 20 bootstrap resamples), zipped."""
    from medfusion_plugin_pipeline.demo import write_demo

    write_demo(folder, patients=40, seed=1)
    config = yaml.safe_load((folder / "config.yaml").read_text())
    config["data"]["image"]["size"] = [32, 32]
    config["data"]["loader"]["workers"] = 0
    config["trainer"]["params"].update(epochs=1, progress="never")
    config["evaluation"]["bootstrap"] = 20
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return out.getvalue()


def _check_records(http: httpx.Client, eid: str, champion: int) -> None:
    """The execution's records as a viewer reads them: the dataset, each training's best and last
    checkpoint (true size and sha256, one epoch), the champion's version registered and aliased."""
    answer = http.get(f"/api/executions/{eid[:8]}/records")
    assert answer.status_code == 200, answer.text
    records = answer.json()
    assert [(r["node_id"], r["patients"]) for r in records["datasets"]] == [("data", 40)]
    checkpoints = {(r["node_id"], r["variant"], r["role"]): r for r in records["checkpoints"]}
    assert len(checkpoints) == len(records["checkpoints"]) and set(checkpoints) == {
        (f"train_{variant}", variant, role)
        for variant in ("fused", "image", "clinical")
        for role in ("best", "last")
    }
    for row in records["checkpoints"]:
        data = Path(row["path"]).read_bytes()
        assert (row["size"], row["sha256"], row["epoch"]) == (len(data), hashlib.sha256(data).hexdigest(), 1)
    models = [(r["node_id"], r["name"], r["version"], r["alias"]) for r in records["models"]]
    assert models == [("register", "demo", champion, None), ("champion", "demo", champion, "champion")]
    unknown = http.get("/api/executions/nosuchexecution/records")
    assert unknown.status_code == 404 and "no execution" in unknown.json()["detail"]


def test_quickstart_through_the_api(tmp_path: Path) -> None:
    runs_dir = tmp_path / "runs"
    app = create_app(
        Settings(url=f"sqlite:///{tmp_path / 'medfusion.db'}", runs_dir=runs_dir), serve_web=False
    )
    app.state.context.accounts.add("rita", PASSWORD, "researcher")
    app.state.context.accounts.add("vera", PASSWORD, "viewer")
    archive = _demo_archive(tmp_path / "demo")
    with running_server(app) as base, httpx.Client(base_url=base, timeout=60) as http:
        token = http.post("/api/auth/token", json={"username": "rita", "password": PASSWORD}).json()[
            "access_token"
        ]
        http.headers["Authorization"] = f"Bearer {token}"
        dataset = http.post("/api/datasets", files={"file": ("demo.zip", archive)}, data={"name": "demo"})
        assert dataset.status_code == 201, dataset.text
        assert dataset.json()["patients"] == 40 and dataset.json()["config"]
        document = http.get("/api/workflow-templates/quickstart").json()
        data_node = next(node for node in document["nodes"] if node["id"] == "data")
        data_node["params"] = {"config": dataset.json()["config"]}
        saved = http.post("/api/workflows", json=document)
        assert saved.status_code == 201, saved.text
        eid = http.post(f"/api/workflows/{saved.json()['id']}/executions").json()["id"]

        deadline = time.monotonic() + 600
        fused = []
        while not fused and time.monotonic() < deadline:
            fused = [run for run in http.get("/api/runs").json() if run["name"].endswith("fused")]
            time.sleep(0.2)
        assert fused, "the fused run never appeared"
        ws = base.replace("http://", "ws://") + f"/api/ws/runs/{fused[0]['id']}/metrics?token={token}"
        with connect(ws, open_timeout=30) as socket:
            messages = []
            while not messages or messages[-1]["type"] != "end":
                messages.append(json.loads(socket.recv(timeout=600)))
        points = [m for m in messages if m["type"] == "metric"]
        assert points and all("key" in m["data"] and "step" in m["data"] for m in points)
        assert messages[-1]["data"]["status"] == "finished"

        state = "running"
        while state not in ("finished", "failed", "cancelled", "interrupted") and time.monotonic() < deadline:
            execution = http.get(f"/api/executions/{eid}").json()
            state = execution["state"]
            time.sleep(0.5)
        assert state == "finished", execution
        runs = http.get("/api/runs").json()
        assert len(runs) == 3 and {run["status"] for run in runs} == {"finished"}
        model = http.get("/api/models/demo").json()
        assert model["aliases"].get("champion") in [v["version"] for v in model["versions"]]

        assert httpx.get(f"{base}/api/executions/{eid}/records").status_code == 401
        viewer = http.post("/api/auth/token", json={"username": "vera", "password": PASSWORD}).json()
        http.headers["Authorization"] = f"Bearer {viewer['access_token']}"
        _check_records(http, eid, model["aliases"]["champion"])
    app.state.context.close()
