"""Worker functions for the multi-process tests (importable by spawned children)."""

from __future__ import annotations

from typing import Any

from medfusion_plugin_tracking.store import TrackingStore


def log_runs(url: str, worker: int, runs: int, metrics: int, steps: int, barrier: Any) -> list[str]:
    """Open the store, wait for the other workers, then log ``runs`` runs point by point (one
    batch of ``metrics`` points per step, as a training loop does) and return their ids."""
    barrier.wait()
    with TrackingStore(url) as store:
        ids = [store.create_run(f"worker{worker}-run{index}") for index in range(runs)]
        for step in range(steps):
            for run_id in ids:
                store.log_metrics(
                    run_id, [(f"m{key}", step * 0.001 + key, step, float(step)) for key in range(metrics)]
                )
        for run_id in ids:
            store.set_status(run_id, "finished")
    return ids


def log_until_killed(url: str, run_id: str, metrics: int, started: Any) -> None:
    """Log steps of ``metrics`` points into an existing run until the process is killed."""
    with TrackingStore(url) as store:
        for step in range(10**9):
            store.log_metrics(run_id, [(f"m{key}", float(step), step, float(step)) for key in range(metrics)])
            if step == 20:
                started.set()
