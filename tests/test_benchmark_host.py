"""The host's parallel ceiling (benchmarks/_host.py), timed in the same rounds as a thread-scaling
figure (benchmarks/_timing.py ``thread_scaling``)."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import _host
import _timing


def test_busy_loop_sums_squares() -> None:
    assert _host.busy_loop(5) == 0 + 1 + 4 + 9 + 16


def test_the_ceiling_is_timed_in_the_scaling_rounds(capsys) -> None:
    calls: list[int] = []
    with _host.BusyProcesses(iterations=20_000) as host:
        scaling = _timing.thread_scaling(lambda: calls.append(1), work=1, repeats=3, title="t", host=host)
    out = capsys.readouterr().out
    assert "host: 1 busy process(es)" in out and "host: 2 busy process(es)" in out
    assert "3 calls" in out and "host ceiling" in out
    assert math.isfinite(scaling.ceiling) and scaling.ceiling > 0
    assert scaling.of_ceiling == pytest.approx(scaling.speedup / scaling.ceiling)
    assert len(calls) >= 2 + 2 * 3  # warm-ups (per thread count and pool switch), 3 rounds of 2


def test_without_a_probe_there_is_no_ceiling() -> None:
    scaling = _timing.thread_scaling(lambda: None, work=1, repeats=2, title="t")
    assert scaling.ceiling is None and scaling.of_ceiling is None


def test_the_processes_run_only_inside_the_context() -> None:
    host = _host.BusyProcesses(iterations=1_000)
    with host:
        host.call(2)()
    with pytest.raises(AssertionError, match="context manager"):
        host.call(1)()
