"""Concurrent writers: two processes logging at once lose no point; aliases move atomically."""

from __future__ import annotations

import multiprocessing
import sys
import threading
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from medfusion_plugin_tracking.store import TrackingStore

sys.path.insert(0, str(Path(__file__).parent))
from tracking_workers import log_runs

RUNS, METRICS, STEPS = 2, 5, 500


def test_two_processes_lose_no_metric_point(store_url: str) -> None:
    context = multiprocessing.get_context("spawn")
    barrier = context.Manager().Barrier(2)
    with ProcessPoolExecutor(2, mp_context=context) as pool:
        futures = [
            pool.submit(log_runs, store_url, worker, RUNS, METRICS, STEPS, barrier) for worker in (0, 1)
        ]
        ids = [run_id for future in futures for run_id in future.result(timeout=600)]
    with TrackingStore(store_url) as store:
        assert store.count_metric_points() == 2 * RUNS * METRICS * STEPS
        for run_id in ids:
            assert store.count_metric_points(run_id) == METRICS * STEPS
            run = store.get_run(run_id)
            assert run.status == "finished"
            assert run.metrics == {f"m{key}": (STEPS - 1) * 0.001 + key for key in range(METRICS)}
            assert [step for step, _, _ in store.metric_history(run_id, "m3")] == list(range(STEPS))


def test_concurrent_alias_moves_end_consistent(store_url: str) -> None:
    with TrackingStore(store_url) as store:
        run_id = store.create_run("r")
        for _ in range(2):
            store.register_model_version("chest", run_id, checkpoint="fused/best.pt")
        store.set_alias("chest", "champion", 1)
    seen: list[int] = []
    errors: list[BaseException] = []
    stop = threading.Event()
    reading = threading.Event()  # the movers start once the reader has read (opening a store takes a while)

    def mover(version: int) -> None:
        try:
            with TrackingStore(store_url) as own:
                for _ in range(40):
                    own.set_alias("chest", "champion", version)
        except BaseException as exc:
            errors.append(exc)

    def reader() -> None:
        try:
            with TrackingStore(store_url) as own:
                while not stop.is_set():
                    seen.append(own.resolve_model("chest@champion").version)
                    reading.set()
        except BaseException as exc:
            errors.append(exc)
            reading.set()

    threads = [threading.Thread(target=mover, args=(version,)) for version in (1, 2)]
    watcher = threading.Thread(target=reader)
    watcher.start()
    assert reading.wait(timeout=60)
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stop.set()
    watcher.join()
    assert not errors
    assert seen and set(seen) <= {1, 2}
    with TrackingStore(store_url) as store:
        versions = store.model_versions("chest")
        holders = [version.version for version in versions if "champion" in version.aliases]
        assert len(holders) == 1
        assert store.resolve_model("chest@champion").version == holders[0]


def test_concurrent_registrations_number_versions_once(store_url: str) -> None:
    with TrackingStore(store_url) as store:
        run_id = store.create_run("r")
    errors: list[BaseException] = []

    def register() -> None:
        try:
            with TrackingStore(store_url) as own:
                for _ in range(10):
                    own.register_model_version("skin", run_id, checkpoint="c.pt")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=register) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    with TrackingStore(store_url) as store:
        assert [version.version for version in store.model_versions("skin")] == list(range(1, 21))
