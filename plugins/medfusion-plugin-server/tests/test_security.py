"""The security suite, on SQLite and on a real PostgreSQL: no credentials 401, viewer 403, CSRF,
login rate limit, hostile or oversize archives refused, CORS closed, the audit log."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from medfusion_plugin_server.testing import tar_with_symlink, valid_members, zip_archive

PASSWORD = "correct horse"


def _upload(client: TestClient, data: bytes, headers: dict[str, str], name: str = "data.zip"):
    return client.post("/api/datasets", files={"file": (name, data)}, data={"name": "d"}, headers=headers)


def test_no_credentials_is_401(client: TestClient, bearer) -> None:
    for path in (
        "/api/runs",
        "/api/models",
        "/api/datasets",
        "/api/system",
        "/api/auth/me",
        "/api/executions/x/records",
    ):
        answer = client.get(path)
        assert answer.status_code == 401, path
        assert "not logged in" in answer.json()["detail"]
    assert client.get("/api/runs", headers={"Authorization": "Bearer forged"}).status_code == 401
    assert client.get("/api/health").status_code == 200


def test_viewer_cannot_start_or_delete(client: TestClient, bearer) -> None:
    viewer = bearer(client, "viewer")
    assert client.get("/api/runs", headers=viewer).status_code == 200
    refused = [
        client.post("/api/models", json={"run": "x", "name": "m"}, headers=viewer),
        client.delete("/api/runs/x", headers=viewer),
        client.put("/api/models/m/aliases/champion", json={"version": 1}, headers=viewer),
        _upload(client, zip_archive(valid_members()), viewer),
        client.post("/api/users", json={"username": "eve", "password": PASSWORD}, headers=viewer),
    ]
    assert [answer.status_code for answer in refused] == [403] * len(refused)
    assert "a viewer may not" in refused[0].json()["detail"]
    researcher = bearer(client, "researcher")
    assert client.get("/api/users", headers=researcher).status_code == 403


def test_cookie_session_needs_the_csrf_header(client: TestClient, bearer) -> None:
    login = client.post("/api/auth/login", json={"username": "admin", "password": PASSWORD})
    assert login.status_code == 200
    assert "httponly" in login.headers["set-cookie"].lower()
    assert client.get("/api/auth/me").json()["username"] == "admin"
    body = {"username": "eve", "password": PASSWORD, "role": "viewer"}
    assert client.post("/api/users", json=body).status_code == 403
    assert client.post("/api/users", json=body, headers={"X-CSRF-Token": "wrong"}).status_code == 403
    created = client.post("/api/users", json=body, headers={"X-CSRF-Token": login.json()["csrf_token"]})
    assert created.status_code == 201
    client.post("/api/auth/logout", headers={"X-CSRF-Token": login.json()["csrf_token"]})
    assert client.get("/api/auth/me").status_code == 401


def test_login_rate_limit(client: TestClient, bearer) -> None:
    attempts = client.app.state.context.settings.login_attempts
    for _ in range(attempts):
        wrong = client.post("/api/auth/login", json={"username": "viewer", "password": "nope nope"})
        assert wrong.status_code == 401
    # over the limit even the right password is refused, for this client and this username
    held = client.post("/api/auth/login", json={"username": "viewer", "password": PASSWORD})
    assert held.status_code == 429
    assert "too many failed logins" in held.json()["detail"]
    assert (
        client.post("/api/auth/token", json={"username": "viewer", "password": PASSWORD}).status_code == 429
    )


@pytest.mark.parametrize(
    ("members", "status", "message"),
    [
        ({"../evil.csv": b"a,b\n"}, 422, "'..' in a path is refused"),
        ({"/etc/evil.csv": b"a,b\n"}, 422, "absolute paths are refused"),
        ({"manifest.csv": b"a\n", "run.sh": b"#!/bin/sh\nrm -rf /\n"}, 415, "not an image, table or text"),
        ({"images/fake.png": b"MZ\x90\x00 not a png", "manifest.csv": b"a\n"}, 415, "fake.png"),
        ({"notes.txt": b"no manifest here"}, 422, "needs one manifest.csv"),
    ],
)
def test_hostile_archives_are_refused(
    client: TestClient, members: dict[str, bytes], status: int, message: str, bearer
) -> None:
    answer = _upload(client, zip_archive(members), bearer(client, "researcher"))
    assert answer.status_code == status, answer.text
    assert message in answer.json()["detail"]
    assert client.get("/api/datasets", headers=bearer(client, "viewer")).json() == []


def test_symlink_not_archive_and_oversize_refused(client: TestClient, bearer) -> None:
    researcher = bearer(client, "researcher")
    link = _upload(client, tar_with_symlink(), researcher, "data.tar.gz")
    assert link.status_code == 422 and "links" in link.json()["detail"]
    renamed = _upload(client, b"%PDF-1.4 not an archive", researcher, "data.zip")
    assert renamed.status_code == 415
    big = zip_archive({"manifest.csv": b"a\n" + b"1\n" * 150_000})  # stored: > 200 kB upload limit
    oversize = _upload(client, big, researcher)
    assert oversize.status_code == 413 and "limit" in oversize.json()["detail"]


def test_valid_upload_and_bad_manifest(client: TestClient, bearer) -> None:
    researcher = bearer(client, "researcher")
    answer = _upload(client, zip_archive(valid_members()), researcher)
    assert answer.status_code == 201, answer.text
    dataset = answer.json()
    assert dataset["patients"] == 6 and dataset["class_balance"] == {"0": 3, "1": 3}
    assert dataset["data_config"]["images"] == ["image"] and dataset["owner"] == "researcher"
    members = valid_members()
    del members["images/p3.png"]
    missing = _upload(client, zip_archive(members), researcher)
    assert missing.status_code == 422
    assert missing.json()["detail"].startswith("manifest.csv: row 4, column 'image': file images/p3.png")


def test_cors_closed_by_default(client: TestClient, bearer) -> None:
    preflight = client.options(
        "/api/runs",
        headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in preflight.headers


def test_audit_log_records_state_changes(client: TestClient, bearer) -> None:
    viewer = bearer(client, "viewer")
    client.delete("/api/runs/x", headers=viewer)
    entries = client.get("/api/audit", headers=bearer(client, "admin")).json()
    refused = next(entry for entry in entries if entry["path"] == "/api/runs/x")
    assert (refused["username"], refused["method"], refused["status"]) == ("viewer", "DELETE", 403)
    assert any(entry["path"] == "/api/auth/token" and entry["username"] == "viewer" for entry in entries)


def _steps(name: str = "mine") -> dict:
    """A valid one-node workflow (a demo dataset)."""
    return {
        "schema_version": 1,
        "name": name,
        "nodes": [
            {"id": "data", "kind": "dataset", "params": {"demo_patients": 20}, "position": {"x": 0, "y": 0}},
        ],
        "edges": [],
    }


def test_bad_workflow_files_are_one_line_errors(client: TestClient, bearer) -> None:
    researcher = bearer(client, "researcher")
    unknown = {
        "schema_version": 1,
        "name": "x",
        "nodes": [{"id": "a", "kind": "nope", "params": {}}],
        "edges": [],
    }
    answer = client.post("/api/workflows", json=unknown, headers=researcher)
    assert answer.status_code == 422
    detail = answer.json()["detail"]
    assert "\n" not in detail and "nope" in detail
    issues = client.post("/api/workflows/validate", json=unknown, headers=researcher).json()["issues"]
    assert issues and issues[0]["node"] == "a" and "nope" in issues[0]["message"]
    for bad in ([1, 2], {"schema_version": 99, "name": "x", "nodes": [], "edges": []}):
        refused = client.post("/api/workflows", json=bad, headers=researcher)
        assert refused.status_code == 422 and "\n" not in refused.json()["detail"]
    raw = client.post(
        "/api/workflows", content=b"{not json", headers={**researcher, "content-type": "application/json"}
    )
    assert raw.status_code == 422 and "\n" not in raw.json()["detail"]


def test_researcher_manages_only_their_own_workflows(client: TestClient, bearer) -> None:
    owner, other = bearer(client, "researcher"), bearer(client, "researcher2")
    saved = client.post("/api/workflows", json=_steps(), headers=owner)
    assert saved.status_code == 201, saved.text
    path = f"/api/workflows/{saved.json()['id']}"
    assert client.put(path, json=_steps("theirs"), headers=other).status_code == 403
    assert client.delete(path, headers=other).status_code == 403
    assert client.post(f"{path}/executions", headers=other).status_code == 403
    assert client.post(f"{path}/executions", headers=bearer(client, "viewer")).status_code == 403
    assert client.put(path, json=_steps("renamed"), headers=owner).json()["name"] == "renamed"
    assert client.delete(path, headers=bearer(client, "admin")).status_code == 200
    assert client.get(path, headers=owner).status_code == 404


def test_jobs_viewer_refused_and_only_the_owner_cancels(client: TestClient, bearer) -> None:
    missing = client.app.state.context.settings.datasets_dir / "nonexistent" / "manifest.csv"
    config = {"name": "nothing", "data": {"manifest": str(missing)}}
    body = {"config": config, "modalities": "fused", "priority": 1}
    assert client.post("/api/jobs", json=body, headers=bearer(client, "viewer")).status_code == 403
    owner = bearer(client, "researcher")
    job = client.post("/api/jobs", json=body, headers=owner)
    assert job.status_code == 201, job.text
    path = f"/api/jobs/{job.json()['id']}"
    assert client.post(f"{path}/cancel", headers=bearer(client, "researcher2")).status_code == 403
    cancelled = client.post(f"{path}/cancel", headers=owner)
    assert cancelled.status_code == 200
    assert client.get(path, headers=owner).json()["owner"] == "researcher"
    assert client.get("/api/jobs/nope", headers=owner).status_code == 404


def _dataset_node(params: dict) -> dict:
    """A one-node workflow reading the data that ``params`` name."""
    node = {"id": "data", "kind": "dataset", "params": params, "position": {"x": 0, "y": 0}}
    return {"schema_version": 1, "name": "paths", "nodes": [node], "edges": []}


def test_workflows_and_jobs_read_data_only_under_the_data_roots(
    client: TestClient, bearer, tmp_path: Path
) -> None:
    researcher = bearer(client, "researcher")
    root = client.app.state.context.settings.datasets_dir
    inside = root / "mine"
    inside.mkdir(parents=True)
    (inside / "config.yaml").write_text("name: mine\ndata: {manifest: manifest.csv}\n")
    (inside / "escape.yaml").write_text("name: escape\ndata: {manifest: ../../../../etc/passwd}\n")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "config.yaml").write_text("name: out\ndata: {manifest: manifest.csv}\n")
    (inside / "link.yaml").symlink_to(outside / "config.yaml")

    ok = client.post(
        "/api/workflows", json=_dataset_node({"config": str(inside / "config.yaml")}), headers=researcher
    )
    assert ok.status_code == 201, ok.text
    refused = {
        "config outside": {"config": str(outside / "config.yaml")},
        "traversal": {"config": str(inside / ".." / ".." / ".." / "elsewhere" / "config.yaml")},
        "symlink out": {"config": str(inside / "link.yaml")},
        "manifest out": {"config": str(inside / "escape.yaml")},
        "override out": {"config": str(inside / "config.yaml"), "overrides": ["data.manifest=/etc/passwd"]},
        "override with demo": {"demo_patients": 10, "overrides": ["data.manifest=/etc/passwd"]},
    }
    for what, params in refused.items():
        answer = client.post("/api/workflows", json=_dataset_node(params), headers=researcher)
        detail = answer.json()["detail"]
        assert answer.status_code == 403, (what, answer.text)
        assert detail.startswith("node data: params.") and "outside the server's data roots" in detail, what
        assert "\n" not in detail
    relative = client.post(
        "/api/workflows",
        json=_dataset_node(
            {"config": str(inside / "config.yaml"), "overrides": ["data.manifest=x/../m.csv"]}
        ),
        headers=researcher,
    )
    assert relative.status_code == 422 and "give an absolute path" in relative.json()["detail"]
    assert (
        "data.manifest"
        in client.post(
            "/api/workflows", json=_dataset_node(refused["manifest out"]), headers=researcher
        ).json()["detail"]
    )
    # a saved workflow whose file was swapped for a link out is refused when it starts
    started = client.post(f"/api/workflows/{ok.json()['id']}/executions", headers=researcher)
    assert started.status_code == 201, started.text
    (inside / "config.yaml").unlink()
    (inside / "config.yaml").symlink_to(outside / "config.yaml")
    again = client.post(f"/api/workflows/{ok.json()['id']}/executions", headers=researcher)
    assert again.status_code == 403 and "params.config" in again.json()["detail"]

    job = {"config": {"name": "j", "data": {"manifest": "../../../etc/passwd"}}, "modalities": "fused"}
    answer = client.post("/api/jobs", json=job, headers=researcher)
    assert answer.status_code == 403 and answer.json()["detail"].startswith("config.data.manifest: ")
    weights = {
        "name": "j",
        "data": {"manifest": str(inside / "m.csv")},
        "model": {"backbone": {"pretrained": "/etc/passwd"}},
    }
    answer = client.post("/api/jobs", json={"config": weights, "modalities": "fused"}, headers=researcher)
    assert answer.status_code == 403 and "model.backbone.pretrained" in answer.json()["detail"]
