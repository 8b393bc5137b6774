"""SIGKILL while logging leaves the store consistent, and the same run continues afterwards."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import time
from pathlib import Path

import sqlalchemy as sa
from medfusion_plugin_tracking.store import TrackingStore

sys.path.insert(0, str(Path(__file__).parent))
from tracking_workers import log_until_killed

METRICS = 5


def test_sigkill_mid_logging_keeps_the_store_consistent(store_url: str) -> None:
    with TrackingStore(store_url) as store:
        run_id = store.create_run("killed")
    context = multiprocessing.get_context("spawn")
    started = context.Event()
    process = context.Process(target=log_until_killed, args=(store_url, run_id, METRICS, started))
    process.start()
    assert started.wait(120), "the logging process did not start"
    time.sleep(0.3)
    os.kill(process.pid, signal.SIGKILL)
    process.join(30)
    assert process.exitcode == -signal.SIGKILL

    with TrackingStore(store_url) as store:
        total = store.count_metric_points(run_id)
        assert total >= 21 * METRICS and total % METRICS == 0  # every batch is all or nothing
        steps = total // METRICS
        histories = [store.metric_history(run_id, f"m{key}") for key in range(METRICS)]
        assert all([step for step, _, _ in history] == list(range(steps)) for history in histories)
        assert store.get_run(run_id).metrics == {f"m{key}": float(steps - 1) for key in range(METRICS)}
        if store_url.startswith("sqlite"):
            with store.read() as session:
                assert session.execute(sa.text("PRAGMA integrity_check")).scalar() == "ok"
        store.set_status(run_id, "running")  # --resume continues the same run
        store.log_metrics(run_id, [(f"m{key}", -1.0, steps, 0.0) for key in range(METRICS)])
        store.set_status(run_id, "finished")
        resumed = store.get_run(run_id)
        assert resumed.status == "finished" and resumed.metrics["m0"] == -1.0
        assert store.count_metric_points(run_id) == total + METRICS
