"""Workflow engine: parallel branches and the engine's own overhead.

Both figures train the demo data's fused model (``medfusion train``, regnetx_002 at 32x32, one
intra-op thread per training via ``OMP_NUM_THREADS=1``, no progress bar) in child processes, as
the ``train`` node always does.

- ``workflow_two_branch_wall_ratio``: wall of a workflow with two independent training branches
  (``max_parallel=2``) over the wall of the same workflow with one branch. Each repeat names its
  runs afresh, so that no training comes from the cache (the dataset node does, in both).
- ``workflow_engine_overhead_pct``: the one-branch workflow (dataset node from the cache + one
  train node, every state and event persisted in SQLite) against running the same
  ``medfusion train`` command directly, in percent of the direct wall.

Timed by ``benchmarks/_timing.py``: one warm-up run of each (it also caches the dataset node),
then interleaved rounds; median wall times. ``--patients``, ``--epochs`` and ``--repeats`` make
a quick check cheaper.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import result_line
from _timing import Contender, measure
from medfusion_plugin_workflows.engine import WorkflowEngine

THREADS = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def write_data(folder: Path, patients: int, epochs: int) -> Path:
    """The demo dataset and a config trained at 32x32 for ``epochs`` epochs."""
    subprocess.run(
        [sys.executable, "-m", "medfusion_core", "demo-data", str(folder), "--patients", str(patients)],
        check=True,
        capture_output=True,
    )
    config = yaml.safe_load((folder / "config.yaml").read_text())
    config["data"]["image"]["size"] = [32, 32]
    config["data"]["loader"]["workers"] = 0
    config["trainer"]["params"] = {**config["trainer"]["params"], "epochs": epochs, "progress": "never"}
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    return folder / "config.yaml"


def workflow(config: Path, runs: list[str]) -> dict:
    """A dataset node feeding one train node per run name (independent branches)."""
    nodes = [{"id": "data", "kind": "dataset", "params": {"config": str(config)}}]
    edges = []
    for name in runs:
        nodes.append(
            {"id": f"train_{name}", "kind": "train", "params": {"modalities": "fused", "name": name}}
        )
        edges.append(
            {
                "source": "data",
                "source_output": "dataset",
                "target": f"train_{name}",
                "target_input": "dataset",
            }
        )
    return {"schema_version": 1, "name": "bench", "nodes": nodes, "edges": edges}


def run_workflow(engine: WorkflowEngine, document: dict) -> None:
    """One blocking run; a failed run stops the benchmark."""
    eid = engine.run(document)
    record = engine.execution(eid)
    if record["state"] != "finished":
        errors = {node: state.get("error") for node, state in record["nodes"].items() if state.get("error")}
        raise SystemExit(f"workflow failed: {json.dumps(errors)}")


def run_direct(config: Path, runs_dir: Path, name: str, work: Path) -> None:
    """The ``medfusion train`` command the train node runs, called directly."""
    copy = work / f"{name}.yaml"
    document = yaml.safe_load(config.read_text())
    document["name"] = name
    document["data"]["manifest"] = str(config.parent / "manifest.csv")
    copy.write_text(yaml.safe_dump(document))
    argv = [sys.executable, "-m", "medfusion_core", "train", str(copy), "--modalities", "fused"]
    argv += ["--runs-dir", str(runs_dir), "--overwrite"]
    subprocess.run(argv, check=True, capture_output=True, env={**os.environ, **THREADS})


def main() -> None:
    """Print the two RESULT lines."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=120)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        config = write_data(root / "data", args.patients, args.epochs)
        runs_dir = root / "runs"
        engine = WorkflowEngine(f"sqlite:///{root / 'medfusion.db'}", runs_dir, max_parallel=2, env=THREADS)
        names = iter(range(1_000_000))

        def one() -> None:
            run_workflow(engine, workflow(config, [f"one{next(names)}"]))

        def two() -> None:
            run_workflow(engine, workflow(config, [f"a{next(names)}", f"b{next(names)}"]))

        def direct() -> None:
            run_direct(config, runs_dir, f"direct{next(names)}", root)

        timings = measure(
            [Contender("one branch", one), Contender("two branches", two), Contender("direct train", direct)],
            repeats=args.repeats,
            title="workflow runs (1 intra-op thread per training process)",
        )
    one_s, two_s, direct_s = (timings[name].median for name in ("one branch", "two branches", "direct train"))
    print(result_line("workflow_two_branch_wall_ratio", two_s / one_s, "<=", 1.3))
    print(result_line("workflow_engine_overhead_pct", 100 * (one_s - direct_s) / direct_s, "<=", 5))


if __name__ == "__main__":
    main()
