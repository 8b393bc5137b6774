"""Fixtures: an app on SQLite or the tracking plugin's real PostgreSQL, with one user per role."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from medfusion_plugin_server.app import create_app
from medfusion_plugin_server.settings import Settings
from medfusion_plugin_tracking.testing import postgres_server, store_url  # noqa: F401 (fixtures)

PASSWORD = "correct horse"
ROLES = ("admin", "researcher", "viewer")


def make_client(url: str, runs_dir: Path, **settings: object) -> TestClient:
    """A TestClient of a fresh app with users ``admin``, ``researcher``, ``viewer`` (+ ``researcher2``)."""
    app = create_app(Settings(url=url, runs_dir=runs_dir, **settings), serve_web=False)
    for role in ROLES:
        app.state.context.accounts.add(role, PASSWORD, role)
    app.state.context.accounts.add("researcher2", PASSWORD, "researcher")
    return TestClient(app)


def token_header(client: TestClient, username: str) -> dict[str, str]:
    """The Authorization header of a fresh token for ``username``."""
    answer = client.post("/api/auth/token", json={"username": username, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


@pytest.fixture
def client(store_url: str, tmp_path: Path) -> Iterator[TestClient]:  # noqa: F811
    """An app on each backend (SQLite file, PostgreSQL database)."""
    with make_client(store_url, tmp_path / "runs", max_upload_bytes=200_000) as test_client:
        yield test_client


@pytest.fixture
def sqlite_client(tmp_path: Path) -> Iterator[TestClient]:
    """An app on a SQLite file."""
    with make_client(f"sqlite:///{tmp_path / 'medfusion.db'}", tmp_path / "runs") as test_client:
        yield test_client


@pytest.fixture
def bearer() -> object:
    """``bearer(client, username)``: the Authorization header of a fresh token."""
    return token_header
