"""The host's parallel ceiling (benchmarks/_host.py) that thread-scaling figures are printed beside."""

from __future__ import annotations

import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import _host


def test_busy_loop_sums_squares() -> None:
    assert _host.busy_loop(5) == 0 + 1 + 4 + 9 + 16


def test_the_ceiling_is_a_ratio_of_two_processes_to_one() -> None:
    ceiling = _host.parallel_ceiling(rounds=2, iterations=20_000)
    assert math.isfinite(ceiling) and 0 < ceiling < 4  # two processes: about 2x at most, plus noise
