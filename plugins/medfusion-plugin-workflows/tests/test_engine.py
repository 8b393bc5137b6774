"""The engine on ``step`` nodes: parallel branches, the cache, failures that stay in their branch,
cancel, persisted events."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa
from medfusion_plugin_tracking.store import TrackingStore
from medfusion_plugin_workflows.engine import WorkflowEngine
from medfusion_plugin_workflows.errors import WorkflowError


def _recorded(path) -> list[str]:
    return path.read_text().split() if path.exists() else []


def test_independent_branches_run_in_parallel_and_reruns_come_from_the_cache(
    steps_host, steps, store_url, tmp_path
) -> None:
    record = tmp_path / "record.txt"
    params = {"seconds": 1.0, "record": str(record)}
    recording = {**params, "fingerprint": "sha256:aa"}
    doc = steps(
        {"a": recording, "b": params, "join": {"record": str(record)}}, [("a", "join"), ("b", "join")]
    )
    engine = WorkflowEngine(store_url, tmp_path / "runs", max_parallel=2)
    first = engine.execution(engine.run(doc))
    assert first["state"] == "finished"
    assert sorted(first["nodes"]["join"]["outputs"]["names"]) == ["a", "b", "join"]
    attempts = {row["node_id"]: row for row in engine.node_attempts(first["id"])}
    a, b = attempts["a"], attempts["b"]
    assert a["started"] < b["ended"] and b["started"] < a["ended"], "a and b did not overlap"
    assert attempts["join"]["started"] >= max(a["ended"], b["ended"])
    datasets = engine.records(first["id"])["datasets"]
    assert [(row["node_execution_id"], row["name"], row["fingerprint"]) for row in datasets] == [
        (a["id"], "a", "sha256:aa")
    ]

    second = engine.execution(engine.run(doc))
    assert second["state"] == "finished"
    assert {row["state"] for row in engine.node_attempts(second["id"])} == {"cached"}
    assert engine.records(second["id"])["datasets"] == []  # a cached node records nothing again
    assert sorted(_recorded(record)) == ["a", "b", "join"]  # nothing ran twice

    changed = steps(
        {"a": recording, "b": {**params, "seconds": 0.5}, "join": {"record": str(record)}},
        [("a", "join"), ("b", "join")],
    )
    third = engine.node_attempts(engine.run(changed))
    assert {row["node_id"]: row["state"] for row in third} == {
        "a": "cached",
        "b": "finished",
        "join": "cached",  # b's outputs did not change, so join's inputs did not either
    }


def test_a_failed_node_fails_only_its_descendants(steps_host, steps, store_url, tmp_path) -> None:
    record = tmp_path / "record.txt"
    doc = steps(
        {
            "bad": {"fail": True},
            "after_bad": {"record": str(record)},
            "sibling": {"seconds": 0.5, "record": str(record)},
            "after_sibling": {"record": str(record)},
        },
        [("bad", "after_bad"), ("sibling", "after_sibling")],
    )
    engine = WorkflowEngine(store_url, tmp_path / "runs")
    record_ = engine.execution(engine.run(doc))
    nodes = record_["nodes"]
    assert record_["state"] == "failed" and record_["error"] == "failed node(s): bad"
    assert nodes["bad"]["state"] == "failed" and "step failed on purpose" in nodes["bad"]["error"]
    assert nodes["after_bad"]["state"] == "skipped" and "'bad' failed" in nodes["after_bad"]["error"]
    assert nodes["sibling"]["state"] == nodes["after_sibling"]["state"] == "finished"
    assert sorted(_recorded(record)) == ["after_sibling", "sibling"]
    types = [event["type"] for event in engine.events(record_["id"])]
    assert types[0] == "execution_started" and types[-1] == "execution_failed"
    assert {"node_failed", "node_skipped", "node_finished"} <= set(types)


def test_cancel_terminates_running_nodes(steps_host, steps, store_url, tmp_path) -> None:
    record = tmp_path / "record.txt"
    doc = steps(
        {"slow": {"seconds": 60, "record": str(record)}, "next": {"record": str(record)}}, [("slow", "next")]
    )
    engine = WorkflowEngine(store_url, tmp_path / "runs")
    eid = engine.start(doc)
    deadline = time.monotonic() + 60
    while engine.execution(eid)["nodes"]["slow"]["state"] != "running":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    began = time.monotonic()
    engine.cancel(eid)
    final = engine.wait(eid, timeout=30)
    assert time.monotonic() - began < 20
    assert final["state"] == "cancelled"
    assert final["nodes"]["slow"]["state"] == "cancelled" and final["nodes"]["next"]["state"] == "pending"
    assert _recorded(record) == []
    with pytest.raises(WorkflowError, match="already cancelled"):
        engine.cancel(eid)


def test_events_resume_after_a_seq_and_bad_ids_are_one_line(steps_host, steps, store_url, tmp_path) -> None:
    engine = WorkflowEngine(store_url, tmp_path / "runs")
    eid = engine.run(steps({"a": {}}, []))
    events = engine.events(eid)
    assert [e["seq"] for e in events] == sorted(e["seq"] for e in events)
    assert engine.events(eid, after=events[1]["seq"]) == events[2:]
    assert set(events[0]) == {"seq", "type", "node", "data", "time"}
    assert [row["id"] for row in engine.executions()] == [eid]
    with TrackingStore(store_url):  # the tracking store migrates the same database, beside us
        tables = set(sa.inspect(engine.store.reader).get_table_names())
    assert {"medfusion_workflows_alembic_version", "medfusion_tracking_version"} <= tables
    assert {
        "workflows",
        "workflow_executions",
        "node_executions",
        "events",
        "training_jobs",
        "runs",
    } <= tables
    with pytest.raises(WorkflowError, match="execution 'nope': no execution has this id"):
        engine.execution("nope")
    with pytest.raises(WorkflowError, match="only an interrupted, failed or cancelled"):
        engine.resume(eid)
    with pytest.raises(WorkflowError, match=r"steps: node 'a', kind: unknown node"):
        engine.run({**steps({"a": {}}, []), "nodes": [{"id": "a", "kind": "nope"}]})


def test_an_engine_error_fails_the_execution_in_one_line(
    steps_host, steps, url, tmp_path, monkeypatch
) -> None:
    engine = WorkflowEngine(url, tmp_path / "runs")

    def broken(_key: str) -> None:
        raise RuntimeError("database went away\nsecond line")

    monkeypatch.setattr(engine.store, "cached", broken)
    record = engine.execution(engine.run(steps({"a": {}}, [])))
    assert record["state"] == "failed" and record["error"] == "engine error: RuntimeError: database went away"
    assert engine.events(record["id"])[-1]["type"] == "execution_failed"
