"""Tracking store vs MLflow's own SQLite tracking store: logging 200 runs x 20 metrics x 500 steps,
then listing the 200 runs with a metric filter.

Both stores get the same workload on a local SQLite file: each run logs 10 params, then its metric
points in batches of 1000 (50 steps x 20 metrics, MLflow's ``log_batch`` limit) and ends. MLflow is
timed logging the full workload for ``MLFLOW_SLICE`` of the runs and its time is scaled to all runs
(its cost per run is constant); the other runs get their params and last step only, so both stores
hold 200 runs with the same latest values when they are listed. Listing is
``metrics.m0 > 0.5`` ordered by ``m1`` descending, returning runs with their params and metrics.

Needs the ``bench`` dependency group: ``python3 -m uv sync --all-packages --group bench``.
"""

from __future__ import annotations

import logging
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import median_seconds, result_line
from medfusion_plugin_tracking.store import TrackingStore

RUNS, METRICS, STEPS, PARAMS, STEPS_PER_BATCH, MLFLOW_SLICE = 200, 20, 500, 10, 50, 20
FILTER = "metrics.m0 > 0.5"


def _value(run: int, key: int, step: int) -> float:
    return ((run * 7 + key * 13 + step) % 100) / 100.0


def _batches(run: int, steps: range):
    for start in range(steps.start, steps.stop, STEPS_PER_BATCH):
        chunk = range(start, min(start + STEPS_PER_BATCH, steps.stop))
        yield [
            (f"m{key}", _value(run, key, step), step, 1.7e9 + step)
            for step in chunk
            for key in range(METRICS)
        ]


def _steps(run: int, full: bool) -> range:
    return range(STEPS) if full else range(STEPS - 1, STEPS)


def log_medfusion(store: TrackingStore, runs: int) -> float:
    """Seconds to log the whole workload into the tracking store."""
    start = time.perf_counter()
    for run in range(runs):
        run_id = store.create_run(f"run{run}", experiment="bench")
        store.log_params(run_id, {f"p{index}": f"value{(run + index) % 5}" for index in range(PARAMS)})
        for batch in _batches(run, _steps(run, True)):
            store.log_metrics(run_id, batch)
        store.set_status(run_id, "finished")
    return time.perf_counter() - start


def log_mlflow(client, experiment_id: str, runs: int) -> float:
    """Seconds to log the full workload of ``MLFLOW_SLICE`` runs (the rest get their last step)."""
    from mlflow.entities import Metric, Param

    elapsed = 0.0
    for run in range(runs):
        full = run < MLFLOW_SLICE
        start = time.perf_counter()
        run_id = client.create_run(experiment_id, run_name=f"run{run}").info.run_id
        params = [Param(f"p{index}", f"value{(run + index) % 5}") for index in range(PARAMS)]
        client.log_batch(run_id, params=params)
        for batch in _batches(run, _steps(run, full)):
            client.log_batch(run_id, metrics=[Metric(k, v, int(ts * 1000), s) for k, v, s, ts in batch])
        client.set_terminated(run_id, "FINISHED")
        if full:
            elapsed += time.perf_counter() - start
    return elapsed * runs / min(runs, MLFLOW_SLICE)


def main(runs: int = RUNS) -> None:
    """Run both workloads, check both stores list the same runs, print the figures."""
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    from mlflow.tracking import MlflowClient

    folder = Path(tempfile.mkdtemp(prefix="medfusion-bench-"))
    with TrackingStore(f"sqlite:///{folder / 'medfusion.db'}") as store:
        ours_log = log_medfusion(store, runs)
        client = MlflowClient(tracking_uri=f"sqlite:///{folder / 'mlflow.db'}")
        experiment_id = client.create_experiment("bench", artifact_location=str(folder / "mlruns"))
        theirs_log = log_mlflow(client, experiment_id, runs)

        def ours_list() -> list:
            return store.search_runs(FILTER, order_by=["metrics.m1 desc"])

        def theirs_list() -> list:
            return client.search_runs([experiment_id], FILTER, order_by=["metrics.m1 DESC"], max_results=1000)

        ours_seconds = median_seconds(ours_list, repeats=5)
        theirs_seconds = median_seconds(theirs_list, repeats=5)
        same = {run.name for run in ours_list()} == {run.info.run_name for run in theirs_list()}
    points = runs * METRICS * STEPS
    print(
        f"logging {points} points in {runs} runs: tracking store {ours_log:.2f} s, MLflow {theirs_log:.2f} s "
        f"(measured on {min(runs, MLFLOW_SLICE)} runs, scaled to {runs})"
    )
    print(
        f"list {runs} runs with {FILTER!r}: tracking store {ours_seconds * 1000:.1f} ms, MLflow "
        f"{theirs_seconds * 1000:.1f} ms; same runs: {same}"
    )
    print(result_line("tracking_logging_vs_mlflow", theirs_log / ours_log, ">=", 5))
    print(result_line("tracking_list_filter_seconds", ours_seconds, "<=", 0.2))
    print(result_line("tracking_list_vs_mlflow", theirs_seconds / ours_seconds, ">=", 10))


if __name__ == "__main__":
    main()
