"""The .medfusion format: byte-stable round trips, the published JSON Schema, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from medfusion_plugin_workflows import templates
from medfusion_plugin_workflows.errors import WorkflowError
from medfusion_plugin_workflows.format import WORKFLOW_SCHEMA, dump_workflow, load_workflow

DOCS = Path(__file__).resolve().parents[3] / "docs"


@pytest.mark.parametrize("name", ["quickstart", "kfold", "export-champion"])
def test_templates_round_trip_byte_stably_and_match_the_schema(name, tmp_path) -> None:
    text = templates.path(name).read_text(encoding="utf-8")
    jsonschema.validate(json.loads(text), WORKFLOW_SCHEMA)
    workflow = load_workflow(templates.path(name))
    assert dump_workflow(workflow) == text
    (tmp_path / "copy.medfusion").write_text(dump_workflow(workflow), encoding="utf-8")
    again = load_workflow(tmp_path / "copy.medfusion")
    assert again == workflow and dump_workflow(again).encode() == text.encode()
    assert load_workflow(text) == workflow == load_workflow(json.loads(text))


def test_published_schema_is_the_package_schema() -> None:
    assert json.loads((DOCS / "workflow.schema.json").read_text(encoding="utf-8")) == WORKFLOW_SCHEMA
    jsonschema.Draft202012Validator.check_schema(WORKFLOW_SCHEMA)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            '{"schema_version": 2, "name": "x", "nodes": [], "edges": []}',
            "workflow.schema_version: must be 1, got 2",
        ),
        ('{"schema_version": 1, "name": "x", "nodes": []}', "workflow: missing field 'edges'"),
        (
            '{"schema_version": 1, "name": "x", "nodes": [{"id": "a"}], "edges": []}',
            "workflow.nodes[0]: missing field 'kind'",
        ),
        (
            '{"schema_version": 1, "name": "x", "nodes": [{"id": "1a", "kind": "k"}], "edges": []}',
            "workflow.nodes[0].id: '1a' must be letters",
        ),
        ('{"schema_version": 1, "name": "x", "nodes": [], "edges": [], "extra": 1}', "unknown field 'extra'"),
        (
            '{"schema_version": 1, "name": "x", "nodes": {}, "edges": []}',
            "workflow.nodes: must be a JSON array",
        ),
        ("{not json", "workflow: not JSON (line 1, column 2"),
    ],
)
def test_bad_documents_are_one_line_errors(document, message) -> None:
    with pytest.raises(WorkflowError) as caught:
        load_workflow(document)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_a_missing_file_names_itself(tmp_path) -> None:
    with pytest.raises(WorkflowError, match=r"nope\.medfusion: cannot read the workflow file"):
        load_workflow(tmp_path / "nope.medfusion")
