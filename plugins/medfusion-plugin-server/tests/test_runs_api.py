"""Runs, metrics, reports and the model registry through the API (SQLite)."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient


def test_runs_metrics_reports_and_models(sqlite_client: TestClient, bearer, tmp_path: Path) -> None:
    store = sqlite_client.app.state.context.store
    run_dir = tmp_path / "runs" / "r1"
    (run_dir / "fused" / "checkpoints").mkdir(parents=True)
    (run_dir / "fused" / "checkpoints" / "best.pt").write_bytes(b"weights")
    run_id = store.create_run("r1", run_dir=run_dir)
    store.log_params(run_id, {"lr": 0.01})
    store.log_metrics(run_id, [("val_auroc", 0.7, 0, 1.0), ("val_auroc", 0.8, 1, 2.0)])
    store.set_status(run_id, "finished")
    viewer, researcher = bearer(sqlite_client, "viewer"), bearer(sqlite_client, "researcher")

    listed = sqlite_client.get("/api/runs", params={"filter": "metrics.val_auroc > 0.75"}, headers=viewer)
    assert [run["name"] for run in listed.json()] == ["r1"]
    assert (
        sqlite_client.get("/api/runs", params={"filter": "metrics.val_auroc > 0.9"}, headers=viewer).json()
        == []
    )
    detail = sqlite_client.get("/api/runs/r1", headers=viewer).json()
    assert detail["params"] == {"lr": "0.01"} and detail["reports"] == {"html": False, "pdf": False}
    history = sqlite_client.get(f"/api/runs/{run_id}/metrics", headers=viewer).json()
    assert [(p["step"], p["value"]) for p in history["val_auroc"]] == [(0, 0.7), (1, 0.8)]

    missing = sqlite_client.get("/api/runs/r1/report.pdf", headers=viewer)
    assert missing.status_code == 404 and "no report/report.pdf" in missing.json()["detail"]
    (run_dir / "report").mkdir()
    (run_dir / "report" / "report.html").write_text("<h1>report</h1>")
    assert sqlite_client.get("/api/runs/r1/report.html", headers=viewer).text == "<h1>report</h1>"
    assert sqlite_client.get("/api/runs/nope", headers=viewer).status_code == 404

    registered = sqlite_client.post("/api/models", json={"run": "r1", "name": "m"}, headers=researcher)
    assert registered.status_code == 201, registered.text
    moved = sqlite_client.put("/api/models/m/aliases/champion", json={"version": 1}, headers=researcher)
    assert moved.json()["aliases"] == {"champion": 1}
    assert sqlite_client.get("/api/models", headers=viewer).json()[0]["versions"][0]["run_id"] == run_id
    kept = sqlite_client.delete("/api/runs/r1", headers=researcher)
    assert kept.status_code == 409 and "backs model versions m/1" in kept.json()["detail"]
