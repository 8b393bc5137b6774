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

Runs alternate between the variants so that machine load affects them alike; medians are
reported. ``--patients``, ``--epochs`` and ``--repeats`` make a quick check cheaper.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import result_line
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


def timed_workflow(engine: WorkflowEngine, document: dict) -> float:
    """Wall seconds of one blocking run; a failed run stops the benchmark."""
    start = time.perf_counter()
    eid = engine.run(document)
    seconds = time.perf_counter() - start
    record = engine.execution(eid)
    if record["state"] != "finished":
        errors = {node: state.get("error") for node, state in record["nodes"].items() if state.get("error")}
        raise SystemExit(f"workflow failed: {json.dumps(errors)}")
    return seconds


def timed_direct(config: Path, runs_dir: Path, name: str, work: Path) -> float:
    """Wall seconds of the ``medfusion train`` command the train node runs, called directly."""
    copy = work / f"{name}.yaml"
    document = yaml.safe_load(config.read_text())
    document["name"] = name
    document["data"]["manifest"] = str(config.parent / "manifest.csv")
    copy.write_text(yaml.safe_dump(document))
    argv = [sys.executable, "-m", "medfusion_core", "train", str(copy), "--modalities", "fused"]
    argv += ["--runs-dir", str(runs_dir), "--overwrite"]
    start = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, env={**os.environ, **THREADS})
    return time.perf_counter() - start


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
        timed_workflow(engine, workflow(config, ["warmup"]))  # caches the dataset node, warms the disk
        one, two, direct = [], [], []
        for repeat in range(args.repeats):
            one.append(timed_workflow(engine, workflow(config, [f"one{repeat}"])))
            two.append(timed_workflow(engine, workflow(config, [f"a{repeat}", f"b{repeat}"])))
            direct.append(timed_direct(config, runs_dir, f"direct{repeat}", root))
    one_s, two_s, direct_s = (statistics.median(values) for values in (one, two, direct))
    print(f"one branch {one_s:.2f} s, two branches {two_s:.2f} s, direct train {direct_s:.2f} s (medians)")
    print(result_line("workflow_two_branch_wall_ratio", two_s / one_s, "<=", 1.3))
    print(result_line("workflow_engine_overhead_pct", 100 * (one_s - direct_s) / direct_s, "<=", 5))


if __name__ == "__main__":
    main()
