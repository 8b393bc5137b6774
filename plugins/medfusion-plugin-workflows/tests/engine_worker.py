"""Runs a workflow of ``step`` nodes in its own process (the kill -9 test kills it):
``python engine_worker.py URL RUNS_DIR WORKFLOW_FILE``."""

from __future__ import annotations

import sys
from pathlib import Path

from medfusion_plugin_workflows.engine import WorkflowEngine

from medfusion_core.host import get_host


def main() -> None:
    """Register the ``step`` node plugin, then run the workflow to its end."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import step_nodes

    get_host().register(step_nodes, step_nodes.PLUGIN)
    url, runs_dir, workflow = sys.argv[1:4]
    WorkflowEngine(url, Path(runs_dir)).run(Path(workflow).read_text())


if __name__ == "__main__":
    main()
