"""``medfusion serve`` and ``medfusion users``, the web app mount, OpenAPI and Prometheus."""

from __future__ import annotations

import importlib.metadata as md
import sys
import types
from pathlib import Path

from click.testing import CliRunner
from fastapi.testclient import TestClient
from medfusion_plugin_server import webapp
from medfusion_plugin_server.app import create_app
from medfusion_plugin_server.cli_serve import serve
from medfusion_plugin_server.cli_users import users
from medfusion_plugin_server.settings import Settings


def test_off_loopback_needs_a_user_and_users_commands(tmp_path: Path) -> None:
    runner = CliRunner()
    refused = runner.invoke(serve, ["--host", "0.0.0.0", "--runs-dir", str(tmp_path)])
    assert refused.exit_code != 0 and "no user is configured" in refused.output
    env = {"MEDFUSION_USER_PASSWORD": "long enough"}
    added = runner.invoke(users, ["add", "ann", "--role", "admin", "--runs-dir", str(tmp_path)], env=env)
    assert added.exit_code == 0, added.output
    listed = runner.invoke(users, ["list", "--runs-dir", str(tmp_path)])
    assert "ann" in listed.output and "admin" in listed.output
    twice = runner.invoke(users, ["add", "ann", "--runs-dir", str(tmp_path)], env=env)
    assert twice.exit_code != 0 and "exists already" in twice.output
    assert runner.invoke(users, ["remove", "ann", "--runs-dir", str(tmp_path)]).exit_code == 0
    assert "ann" not in runner.invoke(users, ["list", "--runs-dir", str(tmp_path)]).output


def test_web_app_openapi_and_metrics(tmp_path: Path, monkeypatch) -> None:
    built = tmp_path / "dist"
    (built / "assets").mkdir(parents=True)
    (built / "index.html").write_text("<div id=root></div>")
    (built / "assets" / "app.js").write_text("console.log(1)")
    module = types.ModuleType("fake_web_assets")
    module.FOLDER = str(built)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "fake_web_assets", module)
    entry = md.EntryPoint("assets", "fake_web_assets:FOLDER", webapp.GROUP)
    monkeypatch.setattr(webapp.md, "entry_points", lambda group: [entry] if group == webapp.GROUP else [])
    app = create_app(Settings(url=f"sqlite:///{tmp_path / 'm.db'}", runs_dir=tmp_path / "runs"))
    with TestClient(app) as client:
        assert client.get("/").text == "<div id=root></div>"
        assert client.get("/runs/abc").text == "<div id=root></div>"  # the app routes itself
        assert client.get("/assets/app.js").text == "console.log(1)"
        assert client.get("/api/nothing").status_code == 404
        paths = client.get("/api/openapi.json").json()["paths"]
        assert {"/api/runs", "/api/datasets", "/api/workflows/{workflow_id}/executions"} <= set(paths)
        client.get("/api/runs")
        exposition = client.get("/metrics").text
    assert 'medfusion_http_requests_total{method="GET",route="/api/runs",status="401"} 1.0' in exposition
