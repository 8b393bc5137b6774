"""What the host itself allows: the speed-up of two independent processes over one.

A 2-thread figure cannot exceed what two unrelated busy processes reach on the same machine at the
same minute; on a shared virtual machine that is often under 2 (a sibling hyperthread or a
neighbour's load). :class:`BusyProcesses` runs a pure-Python loop in one or in two worker processes
at once (no shared memory, no GIL between them); ``_timing.thread_scaling`` times both in the same
interleaved rounds as the kernel it scales, so that the ceiling is measured at the same moments.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from types import TracebackType


def busy_loop(iterations: int) -> int:
    """CPU work only: the sum of squares below ``iterations`` (returned, so it cannot be skipped)."""
    total = 0
    for i in range(iterations):
        total += i * i
    return total


class BusyProcesses:
    """Two started worker processes; :meth:`call` gives the timed call of ``tasks`` busy loops at
    once (1 or 2), checked against the closed form of their sum."""

    def __init__(self, iterations: int = 300_000) -> None:
        self.iterations = iterations
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> BusyProcesses:
        self._pool = ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn"))
        self._run(2)  # both workers started and warm before anything is timed
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        assert self._pool is not None
        self._pool.shutdown()
        self._pool = None

    def _run(self, tasks: int) -> None:
        assert self._pool is not None, "use BusyProcesses as a context manager"
        n = self.iterations
        if list(self._pool.map(busy_loop, [n] * tasks)) != [(n - 1) * n * (2 * n - 1) // 6] * tasks:
            raise RuntimeError("a worker process returned a wrong sum")

    def call(self, tasks: int) -> Callable[[], None]:
        """The call that runs ``tasks`` busy loops at once and returns when all are done."""
        return lambda: self._run(tasks)
