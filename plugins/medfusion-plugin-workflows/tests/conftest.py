"""Fixtures: a plugin host with the workflows plugin (and the third-party ``step`` node), store
URLs (``url``: SQLite in a temp folder; ``store_url``: SQLite and a real PostgreSQL server, from
:mod:`medfusion_plugin_tracking.testing`), helpers to build workflows of ``step`` nodes and a
small demo dataset."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from medfusion_plugin_tracking.testing import postgres_server, store_url  # noqa: F401

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


@pytest.fixture(scope="session")
def demo_config(tmp_path_factory) -> Path:
    """A small demo dataset (40 patients, 32 px, 1 epoch, no progress bars) and its config."""
    import subprocess

    import yaml

    folder = tmp_path_factory.mktemp("demo") / "data"
    subprocess.run(
        [sys.executable, "-m", "medfusion_core", "demo-data", str(folder), "--patients", "40", "--seed", "1"],
        check=True,
        capture_output=True,
    )
    config = yaml.safe_load((folder / "config.yaml").read_text())
    config["data"]["image"]["size"] = [32, 32]
    config["data"]["loader"]["workers"] = 0
    config["trainer"]["params"] = {**config["trainer"]["params"], "epochs": 1, "progress": "never"}
    config["evaluation"]["bootstrap"] = 20
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    return folder / "config.yaml"
