"""What the host itself allows: the speed-up of two independent processes over one.

A 2-thread figure cannot exceed what two unrelated busy processes reach on the same machine at the
same minute; on a shared virtual machine that is often under 2 (a sibling hyperthread or a
neighbour's load). :func:`parallel_ceiling` measures it with a pure-Python loop in worker
processes (no shared memory, no GIL between them), in interleaved rounds of one and two tasks, so
that a thread-scaling figure can be printed beside the ceiling measured in the same run.
"""

from __future__ import annotations

import multiprocessing
import statistics
import time
from concurrent.futures import ProcessPoolExecutor


def busy_loop(iterations: int) -> int:
    """CPU work only: a sum of squares (returned, so that it cannot be skipped)."""
    total = 0
    for i in range(iterations):
        total += i * i
    return total


def _wall(pool: ProcessPoolExecutor, tasks: int, iterations: int) -> float:
    start = time.perf_counter()
    results = list(pool.map(busy_loop, [iterations] * tasks))
    elapsed = time.perf_counter() - start
    expected = (iterations - 1) * iterations * (2 * iterations - 1) // 6
    if results != [expected] * tasks:
        raise RuntimeError("a worker process returned a wrong result")
    return elapsed


def parallel_ceiling(*, rounds: int = 7, iterations: int = 1_000_000) -> float:
    """How many times more work two independent processes do than one in the same wall time
    (median over ``rounds`` interleaved rounds of one task, then two tasks at once)."""
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        list(pool.map(busy_loop, [1, 1]))  # start both workers before timing
        ratios = []
        for index in range(rounds):
            order = (1, 2) if index % 2 == 0 else (2, 1)
            walls = {tasks: _wall(pool, tasks, iterations) for tasks in order}
            ratios.append(2 * walls[1] / walls[2])
    return statistics.median(ratios)


def print_parallel_ceiling() -> float:
    """Measure :func:`parallel_ceiling` and print it as the bound of this run's 2-thread figures."""
    ceiling = parallel_ceiling()
    print(f"host: two independent processes ran {ceiling:.2f}x one (the ceiling of a 2-thread figure here)")
    return ceiling
