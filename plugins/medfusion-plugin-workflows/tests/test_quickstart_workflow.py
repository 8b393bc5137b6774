"""The shipped templates end to end on a small demo dataset: quickstart (three trainings in
parallel branches -> evaluate -> compare -> register the champion; the dataset, checkpoints and
model versions recorded), then export-the-champion
(ONNX, verified against eager PyTorch), then a re-run that comes entirely from the cache."""

from __future__ import annotations

import hashlib
from pathlib import Path

import attrs
from medfusion_plugin_tracking.store import TrackingStore
from medfusion_plugin_workflows import templates
from medfusion_plugin_workflows.engine import WorkflowEngine
from medfusion_plugin_workflows.format import NodeDef, Workflow

SMALL = [
    "data.image.size=[32, 32]",
    "data.loader.workers=0",
    "trainer.params.epochs=1",
    "trainer.params.progress=never",
    "evaluation.bootstrap=20",
]


def _with(workflow: Workflow, changes: dict[str, dict]) -> Workflow:
    """``workflow`` with some nodes' parameters changed."""

    def change(node: NodeDef) -> NodeDef:
        return attrs.evolve(node, params={**node.params, **changes.get(node.id, {})})

    return attrs.evolve(workflow, nodes=tuple(change(node) for node in workflow.nodes))


def _check_records(engine: WorkflowEngine, eid: str, champion: dict, version: int) -> None:
    """The dataset node recorded the dataset, each train node its runs' checkpoints (true sizes
    and sha256), register and alias the champion's version."""
    records = engine.records(eid)
    attempt = {row["node_id"]: row["id"] for row in engine.node_attempts(eid)}
    nodes = engine.execution(eid)["nodes"]
    dataset = nodes["data"]["outputs"]["dataset"]
    assert [(r["node_execution_id"], r["fingerprint"], r["patients"]) for r in records["datasets"]] == [
        (attempt["data"], dataset["fingerprint"], 40)
    ]
    found = {(r["node_execution_id"], r["variant"], r["role"]) for r in records["checkpoints"]}
    assert found == {
        (attempt[f"train_{variant}"], variant, role)
        for variant in ("fused", "image", "clinical")
        for role in ("best", "last")
    }
    for row in records["checkpoints"]:
        data = Path(row["path"]).read_bytes()
        assert (row["size"], row["sha256"]) == (len(data), hashlib.sha256(data).hexdigest())
        assert row["run_id"] == nodes[f"train_{row['variant']}"]["outputs"]["run"]["run_id"]
        assert row["epoch"] == 1  # one epoch: the best is the last
    models = [(r["node_execution_id"], r["name"], r["version"], r["alias"]) for r in records["models"]]
    assert models == [
        (attempt["register"], "demo", version, None),
        (attempt["champion"], "demo", version, "champion"),
    ]
    assert records["models"][0]["run_id"] == champion["run_id"]


def test_quickstart_then_export_the_champion(url, tmp_path) -> None:
    engine = WorkflowEngine(url, tmp_path / "runs", max_parallel=2, env={"OMP_NUM_THREADS": "1"})
    quickstart = _with(templates.load("quickstart"), {"data": {"demo_patients": 40, "overrides": SMALL}})
    record = engine.execution(engine.run(quickstart))
    assert record["state"] == "finished", {k: v.get("error") for k, v in record["nodes"].items()}
    comparison = record["nodes"]["compare"]["outputs"]["comparison"]
    assert {model["variant"] for model in comparison["models"]} == {"fused", "image", "clinical"}
    assert len(comparison["paired"]) == 2 and comparison["skipped"] == []
    champion = comparison["champion"]
    assert champion["value"] == max(model["value"] for model in comparison["models"])
    with TrackingStore(url) as store:
        runs = store.search_runs()
        assert sorted(run.name for run in runs) == ["demo-clinical", "demo-fused", "demo-image"]
        version = store.resolve_model("demo@champion")
        assert version.run_id == champion["run_id"] and version.variant == champion["variant"]
    _check_records(engine, record["id"], champion, version.version)

    export = templates.load("export-champion")
    export = attrs.evolve(export, nodes=export.nodes[:2], edges=export.edges[:1])  # ONNX only
    exported = engine.execution(engine.run(export))
    assert exported["state"] == "finished", {k: v.get("error") for k, v in exported["nodes"].items()}
    artifact = exported["nodes"]["onnx"]["outputs"]["artifact"]
    assert artifact["path"].endswith("demo.onnx") and artifact["verification"]["max_abs_diff"] < 1e-3

    predict = {
        "schema_version": 1,
        "name": "predict",
        "nodes": [
            next(node.to_json() for node in quickstart.nodes if node.id == "data"),
            {"id": "champion", "kind": "model", "params": {"ref": "demo@champion"}},
            {"id": "score", "kind": "predict", "params": {}},
        ],
        "edges": [
            {"source": "champion", "source_output": "model", "target": "score", "target_input": "model"},
            {"source": "data", "source_output": "dataset", "target": "score", "target_input": "dataset"},
        ],
    }
    scored = engine.execution(engine.run(predict))
    assert scored["state"] == "finished", {k: v.get("error") for k, v in scored["nodes"].items()}
    assert scored["nodes"]["data"]["state"] == "cached"
    assert scored["nodes"]["score"]["outputs"]["predictions"]["rows"] == 40

    again = engine.node_attempts(engine.run(quickstart))
    assert {row["state"] for row in again} == {"cached"}
