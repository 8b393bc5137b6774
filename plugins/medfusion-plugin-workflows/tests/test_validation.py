"""Validation: each problem one line naming the node and field; the first-party catalog; a
third-party node added with nothing but the hook."""

from __future__ import annotations

import pytest
from medfusion_plugin_workflows import catalog, templates
from medfusion_plugin_workflows.format import load_workflow
from medfusion_plugin_workflows.validation import validate

FIRST_PARTY = {
    "dataset",
    "split",
    "kfold",
    "train",
    "evaluate",
    "compare",
    "register",
    "alias",
    "model",
    "export",
    "predict",
}


def _doc(nodes, edges):
    return {
        "schema_version": 1,
        "name": "bad",
        "nodes": [{"id": i, "kind": k, "params": p} for i, k, p in nodes],
        "edges": [
            {"source": s, "source_output": so, "target": t, "target_input": ti} for s, so, t, ti in edges
        ],
    }


def test_templates_are_valid(steps_host) -> None:
    for name in templates.names():
        assert validate(templates.load(name)) == [], name


def test_each_problem_names_node_and_field(steps_host) -> None:
    workflow = load_workflow(
        _doc(
            [
                ("data", "dataset", {"demo_patients": "many"}),
                ("train", "train", {"modalities": "both"}),
                ("oops", "no_such_node", {}),
                ("cmp", "compare", {}),
                ("reg", "register", {}),
                ("a", "step", {"name": "a"}),
                ("b", "step", {"name": "b"}),
            ],
            [
                ("data", "dataset", "train", "dataset"),
                ("data", "dataset", "cmp", "runs"),
                ("train", "nothing", "cmp", "runs"),
                ("a", "names", "b", "after"),
                ("b", "names", "a", "after"),
            ],
        )
    )
    lines = [str(issue) for issue in validate(workflow)]
    assert all("\n" not in line for line in lines)
    expected = [
        "node 'oops', kind: unknown node 'no_such_node'",
        "node 'cmp', inputs.runs: expects run[] but data.dataset gives dataset",
        "node 'train', outputs.nothing: no such output (has run, runs)",
        "node 'a', edges: cycle: a -> b -> a",
        "node 'data', params.demo_patients: 'many' is not a integer",
        "node 'train', params.modalities: 'both' is not one of fused, image, clinical, all",
        "node 'reg', params.name: required parameter missing",
    ]
    for text in expected:
        assert any(line.startswith(text) for line in lines), (text, lines)


def test_missing_required_input(steps_host) -> None:
    issues = validate(load_workflow(_doc([("ev", "evaluate", {})], [])))
    assert [str(issue) for issue in issues] == ["node 'ev', inputs.runs: required input is not connected"]


def test_catalog_lists_first_party_and_third_party_nodes(steps_host) -> None:
    kinds = {entry["name"]: entry for entry in catalog.node_kinds()}
    assert FIRST_PARTY | {"step"} == set(kinds)
    train = kinds["train"]
    assert train["plugin"] == "medfusion-plugin-workflows" and train["category"] == "training"
    assert train["inputs"] == {"dataset": "dataset[]"} and train["outputs"] == {"run": "run", "runs": "run[]"}
    assert train["params_schema"]["properties"]["modalities"]["enum"] == ["fused", "image", "clinical", "all"]
    assert kinds["register"]["params_schema"]["required"] == ["name"]
    assert kinds["step"]["plugin"] == "medfusion-plugin-teststeps"


@pytest.mark.parametrize("kind", sorted(FIRST_PARTY))
def test_first_party_nodes_conform(steps_host, kind) -> None:
    catalog.load_node(kind)  # raises on a conformance failure
