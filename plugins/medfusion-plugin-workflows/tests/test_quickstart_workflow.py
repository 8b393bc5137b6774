"""The shipped templates end to end on a small demo dataset: quickstart (three trainings in
parallel branches -> evaluate -> compare -> register the champion), then export-the-champion
(ONNX, verified against eager PyTorch), then a re-run that comes entirely from the cache."""

from __future__ import annotations

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
