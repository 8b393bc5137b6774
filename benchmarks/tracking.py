"""Tracking store vs MLflow's own SQLite tracking store: 200 runs x 20 metrics x 500 steps logged,
then the 200 runs listed with a metric filter.

Both stores are filled with the same workload on a local SQLite file: each run logs 10 params,
then its metric points in batches of 1000 (50 steps x 20 metrics, MLflow's ``log_batch`` limit)
and ends. MLflow gets the full workload for ``MLFLOW_SLICE`` of the runs and the last step only for
the rest (filling it fully takes several minutes), so both hold 200 runs with the same latest
values. Listing is ``metrics.m0 > 0.5`` ordered by ``m1`` descending, returning runs with their
params and metrics. Logging is timed as one more full run logged into each filled store, a run per
call. Both through ``benchmarks/_timing.py`` (warm-up, interleaved, median wall time, 1 thread;
25 listing rounds: one listing takes about a millisecond, MLflow's some tens). Other load on the
machine stretches MLflow's tens of milliseconds (preempted many times) far more than our one (often
done within one time slice), which flatters the ratio: on a loaded machine read the CPU columns
of the table beside the wall figure.

Needs the ``bench`` dependency group: ``python3 -m uv sync --all-packages --group bench``.
"""

from __future__ import annotations

import logging
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import result_line
from _timing import Contender, measure, ratio
from medfusion_plugin_tracking.store import TrackingStore

RUNS, METRICS, STEPS, PARAMS, STEPS_PER_BATCH, MLFLOW_SLICE = 200, 20, 500, 10, 50, 20
LIST_REPEATS, LOG_REPEATS = 25, 5
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


def log_medfusion(store: TrackingStore, run: int, full: bool = True) -> None:
    """Log run number ``run`` (its params, its metric points in batches, its end) into the store."""
    run_id = store.create_run(f"run{run}", experiment="bench")
    store.log_params(run_id, {f"p{index}": f"value{(run + index) % 5}" for index in range(PARAMS)})
    for batch in _batches(run, _steps(run, full)):
        store.log_metrics(run_id, batch)
    store.set_status(run_id, "finished")


def log_mlflow(client, experiment_id: str, run: int, full: bool = True) -> None:
    """The same run logged into MLflow with ``log_batch``."""
    from mlflow.entities import Metric, Param

    run_id = client.create_run(experiment_id, run_name=f"run{run}").info.run_id
    params = [Param(f"p{index}", f"value{(run + index) % 5}") for index in range(PARAMS)]
    client.log_batch(run_id, params=params)
    for batch in _batches(run, _steps(run, full)):
        client.log_batch(run_id, metrics=[Metric(k, v, int(ts * 1000), s) for k, v, s, ts in batch])
    client.set_terminated(run_id, "FINISHED")


def main(runs: int = RUNS) -> None:
    """Fill both stores, time listing and logging, check both list the same runs, print the figures."""
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    from mlflow.tracking import MlflowClient

    folder = Path(tempfile.mkdtemp(prefix="medfusion-bench-"))
    with TrackingStore(f"sqlite:///{folder / 'medfusion.db'}") as store:
        client = MlflowClient(tracking_uri=f"sqlite:///{folder / 'mlflow.db'}")
        experiment_id = client.create_experiment("bench", artifact_location=str(folder / "mlruns"))
        for run in range(runs):
            log_medfusion(store, run)
            log_mlflow(client, experiment_id, run, full=run < MLFLOW_SLICE)

        def ours_list() -> list:
            return store.search_runs(FILTER, order_by=["metrics.m1 desc"])

        def theirs_list() -> list:
            return client.search_runs([experiment_id], FILTER, order_by=["metrics.m1 DESC"], max_results=1000)

        same = {run.name for run in ours_list()} == {run.info.run_name for run in theirs_list()}
        listing = measure(
            [Contender("tracking store", ours_list), Contender("MLflow", theirs_list)],
            repeats=LIST_REPEATS,
            title=f"list {runs} runs with {FILTER!r} (same runs in both: {same})",
        )
        extra = iter(range(runs, runs + 10 * LOG_REPEATS))
        logging_ = measure(
            [
                Contender("tracking store", lambda: log_medfusion(store, next(extra))),
                Contender("MLflow", lambda: log_mlflow(client, experiment_id, next(extra))),
            ],
            repeats=LOG_REPEATS,
            title=f"log one more run of {METRICS * STEPS} points into the {runs}-run stores",
        )
    print(
        result_line(
            "tracking_logging_vs_mlflow", ratio(logging_["MLflow"], logging_["tracking store"]), ">=", 5
        )
    )
    print(result_line("tracking_list_filter_seconds", listing["tracking store"].median, "<=", 0.2))
    print(
        result_line("tracking_list_vs_mlflow", ratio(listing["MLflow"], listing["tracking store"]), ">=", 10)
    )


if __name__ == "__main__":
    main()
