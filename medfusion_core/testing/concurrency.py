"""Running one function from several threads at once, to expose races in first-use code."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def race(func: Callable[[], T], threads: int = 8) -> list[T]:
    """Call ``func`` from ``threads`` threads released together by a barrier, with the
    interpreter switching threads as often as it can; returns every result (in finishing order).
    An exception in any thread is raised here."""
    barrier = threading.Barrier(threads)
    results: list[T] = []
    errors: list[BaseException] = []

    def run() -> None:
        barrier.wait()
        try:
            results.append(func())
        except BaseException as exc:  # re-raised below, in the caller's thread
            errors.append(exc)

    workers = [threading.Thread(target=run) for _ in range(threads)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    finally:
        sys.setswitchinterval(interval)
    if errors:
        raise errors[0]
    return results
