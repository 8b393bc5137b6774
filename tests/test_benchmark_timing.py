"""The benchmarks' timing helper (benchmarks/_timing.py): interleaving, warm-up, thread rules."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import _timing as timing


def test_rounds_interleave_with_rotating_order_after_warmup(capsys) -> None:
    calls: list[str] = []
    contenders = [timing.Contender(name, lambda name=name: calls.append(name)) for name in "abc"]
    result = timing.measure(contenders, repeats=3, warmup=2)
    assert calls[:6] == ["a", "a", "b", "b", "c", "c"]  # warm-up of each
    assert calls[6:] == ["a", "b", "c", "b", "c", "a", "c", "a", "b"]  # rotating rounds
    assert all(len(result[name].wall) == 3 == len(result[name].cpu) for name in "abc")
    assert "3 calls" in capsys.readouterr().out


def test_different_thread_counts_need_about_threads() -> None:
    contenders = [
        timing.Contender("one", lambda: None, threads=1),
        timing.Contender("two", lambda: None, threads=2),
    ]
    with pytest.raises(ValueError, match="different thread counts"):
        timing.measure(contenders, repeats=1)


def test_threads_are_set_per_contender_and_restored() -> None:
    before = torch.get_num_threads()
    seen: list[int] = []
    contenders = [
        timing.Contender(f"t{n}", lambda: seen.append(torch.get_num_threads()), threads=n) for n in (1, 2)
    ]
    timing.measure(contenders, repeats=2, warmup=0, about_threads=True)
    # a switch of thread count is followed by one untimed warm call, then the timed one; round 2
    # starts with t2 (rotated), which needs no switch
    assert seen == [1, 1, 2, 2, 2, 1, 1]
    assert torch.get_num_threads() == before


def test_ratio_is_per_unit_of_work() -> None:
    slow = timing.Timing("slow", 1, work=10, wall=[2.0, 2.0, 2.0])
    fast = timing.Timing("fast", 1, work=20, wall=[1.0, 1.0, 1.0])
    assert timing.ratio(slow, fast) == pytest.approx(4.0)
    assert fast.per_second == pytest.approx(20.0)
    assert timing.Timing("x", 1, 1, wall=[1.0, 2.0, 3.0, 4.0, 5.0]).spread == pytest.approx(2.0 / 3.0)


def test_a_sample_makes_number_calls_with_the_collector_paused() -> None:
    import gc

    states: list[bool] = []
    contender = timing.Contender("n", lambda: states.append(gc.isenabled()), number=4)
    result = timing.measure([contender], repeats=2, warmup=1)
    assert len(states) == 1 + 2 * 4 and states[0] is True and not any(states[1:])
    assert len(result["n"].wall) == 2 and gc.isenabled()


def test_number_above_one_refuses_a_prepare_step() -> None:
    with pytest.raises(ValueError, match="number"):
        timing.Contender("x", lambda: None, prepare=lambda: None, number=2)


class _Clock:
    """A stand-in for the ``time`` module whose clock moves only when a call says so."""

    def __init__(self) -> None:
        self.now = 0.0

    def perf_counter(self) -> float:
        return self.now

    def process_time(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def test_a_short_call_is_repeated_until_a_sample_lasts_min_sample_s(monkeypatch) -> None:
    clock = _Clock()
    monkeypatch.setattr(timing, "time", clock)
    calls: list[str] = []

    def short() -> None:
        calls.append("short")
        clock.advance(0.002)

    assert timing.calls_per_sample(short, 0.02) == 10
    assert timing.calls_per_sample(lambda: clock.advance(0.03), 0.02) == 1
    calls.clear()
    timings = timing.compare_single_thread(
        {"short": short, "long": lambda: clock.advance(0.03)}, work=1, repeats=2, title="", min_sample_s=0.02
    )
    assert len(calls) == 2 + 1 + 2 * 10  # calibration, warm-up, two samples of ten calls
    assert timings["short"].wall == pytest.approx([0.002, 0.002])
    assert timings["long"].median == pytest.approx(0.03)
