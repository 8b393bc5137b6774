"""Answers remembered until the database changes, on SQLite and PostgreSQL: a change made by
another connection (as by a training process) shows at once; ``ETag``/``If-None-Match`` gives 304;
sessions remembered in memory still end at once when this server ends them."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fastapi.testclient import TestClient
from medfusion_plugin_server.freshness import AnswerCache, DataVersion
from medfusion_plugin_tracking.store import TrackingStore


def test_lists_and_details_follow_changes_from_other_connections(client: TestClient, bearer) -> None:
    viewer = bearer(client, "viewer")
    ctx = client.app.state.context
    other = TrackingStore(ctx.settings.url, runs_dir=ctx.settings.runs_dir)  # another writer, as a job
    try:
        first = other.create_run("first")
        listed = client.get("/api/runs", headers=viewer)
        assert [run["name"] for run in listed.json()] == ["first"]
        etag = listed.headers["etag"]
        unchanged = client.get("/api/runs", headers={**viewer, "If-None-Match": etag})
        assert unchanged.status_code == 304 and unchanged.content == b""
        assert client.get(f"/api/runs/{first}", headers=viewer).json()["params"] == {}

        other.create_run("second")
        other.log_params(first, {"lr": 0.1})
        changed = client.get("/api/runs", headers={**viewer, "If-None-Match": etag})
        assert changed.status_code == 200 and changed.headers["etag"] != etag
        assert [run["name"] for run in changed.json()] == ["second", "first"]
        assert client.get(f"/api/runs/{first}", headers=viewer).json()["params"] == {"lr": "0.1"}
        other.set_status(first, "finished")
        filtered = client.get("/api/runs", params={"status": "finished"}, headers=viewer).json()
        assert [run["name"] for run in filtered] == ["first"]
        bad = client.get("/api/runs", params={"filter": "metrics.x >"}, headers=viewer)
        assert bad.status_code == 422 and "\n" not in bad.json()["detail"]
        assert client.get("/api/runs", params={"filter": "metrics.x >"}, headers=viewer).status_code == 422
    finally:
        other.close()


def test_remembered_sessions_end_when_the_server_ends_them(client: TestClient, bearer) -> None:
    accounts = client.app.state.context.accounts
    researcher = bearer(client, "researcher")
    assert client.get("/api/auth/me", headers=researcher).json()["role"] == "researcher"
    accounts.update("researcher", role="viewer")
    assert client.get("/api/auth/me", headers=researcher).json()["role"] == "viewer"
    refused = client.post("/api/jobs", json={"config": {}, "modalities": "fused"}, headers=researcher)
    assert refused.status_code == 403
    viewer = bearer(client, "viewer")
    assert client.get("/api/runs", headers=viewer).status_code == 200
    accounts.remove("viewer")
    assert client.get("/api/runs", headers=viewer).status_code == 401
    admin = bearer(client, "admin")
    assert client.post("/api/auth/logout", headers=admin).status_code == 200
    assert client.get("/api/runs", headers=admin).status_code == 401


def test_without_a_version_nothing_is_remembered(tmp_path: Path) -> None:
    version = DataVersion(f"sqlite:///{tmp_path / 'v.db'}")
    version._sqlite.close()  # a broken connection: the cache stops asking and computes every time
    cache = AnswerCache(version)
    calls = []

    async def twice() -> list[int]:
        return [await cache.answer("k", lambda: calls.append(1) or len(calls)) for _ in range(2)]

    assert asyncio.run(twice()) == [1, 2]
    assert version.current() is None


def test_the_version_is_read_once_per_turn_of_the_event_loop(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'turns.db'}"
    store = TrackingStore(url)
    cache = AnswerCache(DataVersion(url))
    computed = []

    def compute() -> int:
        computed.append(1)
        return len(computed)

    async def turns() -> list[int]:
        together = await asyncio.gather(*(cache.answer("k", compute) for _ in range(3)))
        store.create_run("written between turns")  # a commit from another connection
        await asyncio.sleep(0)
        return [*together, await cache.answer("k", compute), await cache.answer("k", compute)]

    # three requests in one turn share one read and one computation; the commit is seen on the
    # next turn (computed again), then the answer is remembered
    assert asyncio.run(turns()) == [1, 1, 1, 2, 2]
    store.close()
