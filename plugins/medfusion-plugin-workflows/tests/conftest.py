"""Fixtures: a plugin host with the workflows plugin (and the third-party ``step`` node), a
SQLite store URL in a temp folder, and helpers to build workflows of ``step`` nodes."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

TESTS = Path(__file__).resolve().parent


@pytest.fixture
def steps_host(medfusion_host, monkeypatch):
    """The host with the workflows plugin and the ``step`` test node registered."""
    monkeypatch.syspath_prepend(str(TESTS))
    import step_nodes
    from medfusion_plugin_workflows import hooks

    medfusion_host.register(hooks, "medfusion-plugin-workflows")
    medfusion_host.register(step_nodes, step_nodes.PLUGIN)
    yield medfusion_host
    sys.modules.pop("step_nodes", None)


@pytest.fixture
def url(tmp_path) -> str:
    """A fresh SQLite database (WAL) in the test's folder."""
    return f"sqlite:///{tmp_path / 'medfusion.db'}"


def step_workflow(
    steps: dict[str, dict[str, Any]], edges: list[tuple[str, str]], name: str = "steps"
) -> dict[str, Any]:
    """A workflow document of ``step`` nodes (``{id: params}``) and ``(source, target)`` edges."""
    return {
        "schema_version": 1,
        "name": name,
        "nodes": [
            {"id": node, "kind": "step", "params": {"name": node, **params}} for node, params in steps.items()
        ],
        "edges": [
            {"source": source, "source_output": "names", "target": target, "target_input": "after"}
            for source, target in edges
        ],
    }


@pytest.fixture
def steps() -> Callable[..., dict[str, Any]]:
    """:func:`step_workflow`."""
    return step_workflow
