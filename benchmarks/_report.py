"""Shared helpers for benchmark scripts: timing medians and the RESULT line format."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_seconds(func: Callable[[], object], repeats: int, warmup: int = 1) -> float:
    """Median wall time of ``func()`` over ``repeats`` runs after ``warmup`` runs."""
    for _ in range(warmup):
        func()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def result_line(figure: str, value: float, op: str, target: float) -> str:
    """``RESULT <figure>: <value> (target <op> <target>) ok|below`` as DESIGN.md specifies."""
    met = value <= target if op == "<=" else value >= target
    return f"RESULT {figure}: {value:.3g} (target {op} {target:g}) {'ok' if met else 'below'}"
