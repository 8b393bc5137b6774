"""Bootstrap AUROC/AUPRC of 10,000 patients: the native Rust kernel vs the numpy reference and the
scikit-learn loop a user would write, all on the same resamples.

Every contender computes AUROC and AUPRC (average precision) on the same ``RESAMPLES``
resamples (``medfusion_core.kernels.resample_indices``): the native kernel in one call, the numpy
reference (``medfusion_core.kernels.REFERENCE``) in one call, and a loop calling
``sklearn.metrics.roc_auc_score`` and ``average_precision_score`` per resample. All three run on 1
thread for the ratios (a per-core figure: the kernel's parallelism is not part of it); the
native kernel's 2-thread speed-up over 1 thread is its own figure, also as a fraction of the
host's ceiling (two busy processes over one, ``_host.py``) timed in the same rounds. The script
checks that the three agree.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from sklearn import metrics as skm

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _host import BusyProcesses
from _report import result_line
from _timing import compare_single_thread, ratio, thread_scaling
from medfusion_plugin_native import kernels as native

from medfusion_core.kernels import REFERENCE, resample_indices

N, RESAMPLES, SEED, REPEATS = 10_000, 100, 42, 15


def sklearn_loop(y: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """AUROC and AUPRC per resample with one scikit-learn call each."""
    auroc, auprc = np.empty(RESAMPLES), np.empty(RESAMPLES)
    for i in range(RESAMPLES):
        idx = resample_indices(SEED, i, N)
        auroc[i] = skm.roc_auc_score(y[idx], scores[idx])
        auprc[i] = skm.average_precision_score(y[idx], scores[idx])
    return auroc, auprc


def main() -> None:
    """Time the contenders, check agreement, print the RESULT lines."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, N).astype(np.uint8)
    scores = np.round(rng.normal(size=N) + 0.8 * y, 3)
    reference = REFERENCE["bootstrap_auc"]
    calls = {
        "native": lambda: native.bootstrap_auc(y, scores, RESAMPLES, SEED),
        "numpy": lambda: reference(y, scores, RESAMPLES, SEED),
        "sklearn": lambda: sklearn_loop(y, scores),
    }
    results = {name: call() for name, call in calls.items()}
    for name in ("numpy", "sklearn"):
        agree = max(np.abs(a - b).max() for a, b in zip(results["native"], results[name], strict=True))
        print(f"max |native - {name}| over {RESAMPLES} resamples: {agree:.2e}")
    single = compare_single_thread(
        calls, work=RESAMPLES, repeats=REPEATS, title=f"{RESAMPLES} resamples of {N}, 1 thread each"
    )
    with BusyProcesses() as host:
        scaling = thread_scaling(
            calls["native"],
            work=RESAMPLES,
            repeats=REPEATS * 3,
            number=5,
            title="native kernel, 1 vs 2 threads",
            host=host,
        )
    print(
        result_line("bootstrap_native_vs_numpy_1thread", ratio(single["numpy"], single["native"]), ">=", 20)
    )
    print(
        result_line(
            "bootstrap_native_vs_sklearn_1thread", ratio(single["sklearn"], single["native"]), ">=", 20
        )
    )
    print(result_line("bootstrap_native_scaling_1_to_2_threads", scaling.speedup, ">=", 1.7))
    print(result_line("bootstrap_native_scaling_of_host_ceiling", scaling.of_ceiling, ">=", 0.85))


if __name__ == "__main__":
    main()
