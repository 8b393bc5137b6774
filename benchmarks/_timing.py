"""The one timing helper of every benchmark: warm-up, interleaved repeats, wall time.

A benchmark names its contenders (:class:`Contender`: a call, the threads it may use) and
:func:`measure` runs them in rounds: every round calls each contender once, in an order that
rotates from round to round, so that all sides see the same background load and none is always
first after a pause. Each side is warmed up first. A short call is timed ``number`` times in a row
per sample (as ``timeit`` does) so that one sample is long against timer and scheduler noise, and
the garbage collector is paused while a sample runs (also as ``timeit`` does; it collects between
rounds), so that a collection triggered by one side is not charged to the other. The figure is the
median wall time of the same calls; process CPU time is recorded beside it, never instead of it
(work on native pool threads and in child processes is under-counted there). Thread counts are
set by the helper before each call (torch intra-op, BLAS/OpenMP through threadpoolctl, the native
accelerator's pool when it is installed) and must be equal on all sides unless the figure is about
threads; a thread-scaling figure can time the host's own ceiling (``_host.py``) in its rounds.
"""

from __future__ import annotations

import gc
import math
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Contender:
    """One side of a comparison: ``call()`` is timed; ``threads`` is how many threads it may use.

    ``prepare()``, when given, runs untimed before every timed call (fresh inputs, a cleared
    cache); ``work`` is how many units one call processes, for per-unit figures (images, rows);
    ``number`` is how many calls one timed sample makes back to back (times are per call).
    """

    name: str
    call: Callable[[], object]
    threads: int = 1
    prepare: Callable[[], object] | None = None
    work: int = 1
    number: int = 1

    def __post_init__(self) -> None:
        if self.number < 1 or (self.prepare is not None and self.number != 1):
            raise ValueError(f"{self.name}: number must be >= 1, and 1 when prepare is given")


@dataclass
class Timing:
    """Wall and CPU seconds of every timed call of one contender."""

    name: str
    threads: int
    work: int
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        """Median wall seconds per call."""
        return statistics.median(self.wall)

    @property
    def cpu_median(self) -> float:
        """Median process CPU seconds per call (reported beside wall time only)."""
        return statistics.median(self.cpu)

    @property
    def spread(self) -> float:
        """Interquartile range of the wall times relative to their median (0.05 = 5 %)."""
        if len(self.wall) < 2:
            return 0.0
        low, _, high = statistics.quantiles(self.wall, n=4, method="inclusive")
        return (high - low) / self.median

    @property
    def per_second(self) -> float:
        """Units of work per wall second, from the median call."""
        return self.work / self.median


def ratio(slower: Timing, faster: Timing) -> float:
    """How many times faster ``faster`` is than ``slower``, by median wall time per unit of work."""
    return (slower.median / slower.work) / (faster.median / faster.work)


class ThreadSetting:
    """The thread count of torch, BLAS/OpenMP pools (threadpoolctl) and the native accelerator's
    pool, switched only when it changes (a switch restarts pools, so it is never timed)."""

    def __init__(self) -> None:
        self.current: int | None = None
        self._limits = None
        self._torch_default: int | None = None

    def use(self, threads: int) -> bool:
        """Switch every pool to ``threads``; whether anything changed."""
        if threads == self.current:
            return False
        import torch
        from threadpoolctl import threadpool_limits

        self.restore()
        self._torch_default = torch.get_num_threads()
        torch.set_num_threads(threads)
        native = _native_module()
        if native is not None:
            native.set_threads(threads)
        self._limits = threadpool_limits(limits=threads)
        self.current = threads
        return True

    def restore(self) -> None:
        """Give the pools their defaults back."""
        if self._torch_default is not None:
            import torch

            torch.set_num_threads(self._torch_default)
            self._torch_default = None
        if self._limits is not None:
            self._limits.restore_original_limits()
            self._limits = None
        native = _native_module()
        if native is not None and self.current is not None:
            native.set_threads(None)
        self.current = None


def _native_module():
    try:
        import medfusion_plugin_native
    except ImportError:
        return None
    return medfusion_plugin_native


def measure(
    contenders: Sequence[Contender],
    *,
    repeats: int = 7,
    warmup: int = 1,
    min_seconds: float = 0.0,
    about_threads: bool = False,
    title: str = "",
) -> dict[str, Timing]:
    """Time ``contenders`` in interleaved rounds and print a table of the results.

    Runs ``warmup`` untimed calls of each, then at least ``repeats`` rounds (more until
    ``min_seconds`` of rounds have passed). Unless ``about_threads``, every contender must use the
    same thread count (:class:`ValueError` otherwise). Returns the timings by contender name.
    """
    threads = {contender.threads for contender in contenders}
    if len(threads) > 1 and not about_threads:
        raise ValueError(f"contenders use different thread counts {sorted(threads)}; pass about_threads")
    timings = {c.name: Timing(c.name, c.threads, c.work) for c in contenders}
    setting = ThreadSetting()
    try:
        for contender in contenders:
            setting.use(contender.threads)
            for _ in range(warmup):
                _untimed(contender)
        deadline = time.perf_counter() + min_seconds
        round_index = 0
        while round_index < repeats or time.perf_counter() < deadline:
            shift = round_index % len(contenders)
            gc.collect()
            for contender in [*contenders[shift:], *contenders[:shift]]:
                if setting.use(contender.threads):
                    _untimed(contender)  # warm the pools just started
                _untimed_prepare(contender)
                wall, cpu = _timed_sample(contender)
                timings[contender.name].wall.append(wall)
                timings[contender.name].cpu.append(cpu)
            round_index += 1
    finally:
        setting.restore()
    print_table(timings.values(), title)
    return timings


def calls_per_sample(call: Callable[[], object], min_sample_s: float) -> int:
    """How many back-to-back calls of ``call`` on 1 thread last at least ``min_sample_s`` (from one
    call timed after a warm-up), so that a sample of a short call is long against noise."""
    setting = ThreadSetting()
    try:
        setting.use(1)
        call()
        start = time.perf_counter()
        call()
        elapsed = time.perf_counter() - start
    finally:
        setting.restore()
    return max(1, math.ceil(min_sample_s / max(elapsed, 1e-9)))


def compare_single_thread(
    calls: dict[str, Callable[[], object]],
    *,
    work: int,
    repeats: int,
    title: str,
    number: int = 1,
    min_sample_s: float = 0.0,
) -> dict[str, Timing]:
    """:func:`measure` of every call on 1 thread, each processing ``work`` units; with
    ``min_sample_s``, each call is repeated in a sample until it lasts that long."""
    return measure(
        [
            Contender(name, call, threads=1, work=work, number=max(number, _number(call, min_sample_s)))
            for name, call in calls.items()
        ],
        repeats=repeats,
        title=title,
    )


class ParallelProbe(Protocol):
    """What measures the host's parallel ceiling (``_host.BusyProcesses``)."""

    def call(self, tasks: int) -> Callable[[], object]:
        """The call that runs ``tasks`` independent busy processes at once."""
        ...


@dataclass(frozen=True)
class Scaling:
    """A call's 2-thread speed-up over 1 thread, and the host's ceiling measured beside it (two
    independent busy processes over one, in the same rounds; None when not measured)."""

    speedup: float
    ceiling: float | None = None

    @property
    def of_ceiling(self) -> float | None:
        """The speed-up as a fraction of the ceiling (1.0: all the host allowed)."""
        return None if self.ceiling is None else self.speedup / self.ceiling


def thread_scaling(
    call: Callable[[], object],
    *,
    work: int,
    repeats: int,
    title: str,
    number: int = 1,
    min_sample_s: float = 0.0,
    host: ParallelProbe | None = None,
) -> Scaling:
    """How many times faster ``call`` runs on 2 threads than on 1 (interleaved, median wall); both
    sides make the same number of calls per sample (at least ``min_sample_s`` on 1 thread). With
    ``host`` (``_host.BusyProcesses``), one and two busy processes are timed in the same rounds."""
    number = max(number, _number(call, min_sample_s))
    contenders = [Contender(f"{n} thread(s)", call, threads=n, work=work, number=number) for n in (1, 2)]
    if host is not None:
        contenders += [
            Contender(f"host: {n} busy process(es)", host.call(n), threads=n, work=n) for n in (1, 2)
        ]
    timings = measure(
        contenders,
        repeats=repeats,
        about_threads=True,
        title=f"{title} ({number} call(s) per sample)",
    )
    speedup = ratio(timings["1 thread(s)"], timings["2 thread(s)"])
    if host is None:
        return Scaling(speedup)
    ceiling = ratio(timings["host: 1 busy process(es)"], timings["host: 2 busy process(es)"])
    scaling = Scaling(speedup, ceiling)
    print(f"  host ceiling {scaling.ceiling:.2f}x; the call reached {scaling.of_ceiling:.0%} of it")
    return scaling


def _number(call: Callable[[], object], min_sample_s: float) -> int:
    return calls_per_sample(call, min_sample_s) if min_sample_s > 0 else 1


def _timed_sample(contender: Contender) -> tuple[float, float]:
    """Wall and CPU seconds per call of ``contender.number`` back-to-back calls, collector paused."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(contender.number):
            contender.call()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    finally:
        if was_enabled:
            gc.enable()
    return wall / contender.number, cpu / contender.number


def _untimed(contender: Contender) -> None:
    _untimed_prepare(contender)
    contender.call()


def _untimed_prepare(contender: Contender) -> None:
    if contender.prepare is not None:
        contender.prepare()


def print_table(timings: Iterable[Timing], title: str = "") -> None:
    """Print one line per contender: threads, median wall, spread, CPU beside it, calls."""
    if title:
        print(title)
    for timing in timings:
        print(
            f"  {timing.name:<28} {timing.threads} thread(s)  wall {timing.median * 1e3:10.2f} ms"
            f" ±{timing.spread * 100:4.1f}% (IQR)  CPU {timing.cpu_median * 1e3:10.2f} ms"
            f"  {len(timing.wall)} calls"
        )
