"""Vectorised bootstrap of operating-point metrics vs the obvious per-resample loops.

All contenders compute sensitivity, specificity, PPV, NPV, accuracy, F1 and the Brier score on
the same ``RESAMPLES`` bootstrap resamples of ``N`` patients:

- vectorised: the evaluation plugin's ``bootstrap`` (all resamples at once);
- numpy loop: one resample at a time, the confusion counts and the Brier score with numpy (what
  a careful hand-written script does; no per-call input validation);
- scikit-learn loop: one resample at a time, one ``sklearn.metrics`` call per metric (what a
  typical evaluation script does; most of its time is scikit-learn's input checks).

All on 1 thread, warmed up and interleaved by ``benchmarks/_timing.py``. The script checks that
all three agree before timing.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from medfusion_plugin_evaluation.binary import operating_point_bootstrap
from medfusion_plugin_evaluation.bootstrap import resample_indices
from sklearn import metrics as skm

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import result_line
from _timing import Contender, measure, ratio

N, RESAMPLES, REPEATS = 2000, 200, 5


def vectorised(y: np.ndarray, predicted: np.ndarray, p: np.ndarray) -> np.ndarray:
    """All metrics for all resamples with the evaluation package (what ``evaluate`` runs)."""
    return operating_point_bootstrap(y, predicted, p, n_resamples=RESAMPLES, seed=0)


def resamples() -> list[np.ndarray]:
    """The resample indices the evaluation package draws (seed 0)."""
    return list(np.concatenate(list(resample_indices(N, RESAMPLES, 0))))


def numpy_loop(y: np.ndarray, predicted: np.ndarray, p: np.ndarray) -> np.ndarray:
    """The same numbers, one resample at a time with plain numpy."""
    rows = []
    for idx in resamples():
        yr, pr, sr = y[idx], predicted[idx], p[idx]
        tp = np.count_nonzero((yr == 1) & (pr == 1))
        tn = np.count_nonzero((yr == 0) & (pr == 0))
        fp = np.count_nonzero((yr == 0) & (pr == 1))
        fn = np.count_nonzero((yr == 1) & (pr == 0))
        rows.append(
            [
                tp / (tp + fn),
                tn / (tn + fp),
                tp / (tp + fp),
                tn / (tn + fn),
                (tp + tn) / len(yr),
                2 * tp / (2 * tp + fp + fn),
                np.mean((sr - yr) ** 2),
            ]
        )
    return np.array(rows)


def sklearn_loop(y: np.ndarray, predicted: np.ndarray, p: np.ndarray) -> np.ndarray:
    """The same numbers, one resample and one scikit-learn call at a time."""
    rows = []
    for idx in resamples():
        yr, pr, sr = y[idx], predicted[idx], p[idx]
        rows.append(
            [
                skm.recall_score(yr, pr),
                skm.recall_score(yr, pr, pos_label=0),
                skm.precision_score(yr, pr),
                skm.precision_score(yr, pr, pos_label=0),
                skm.accuracy_score(yr, pr),
                skm.f1_score(yr, pr),
                skm.brier_score_loss(yr, sr),
            ]
        )
    return np.array(rows)


def main() -> None:
    """Check agreement, time the three, print the RESULT lines."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, N)
    p = 1.0 / (1.0 + np.exp(-((2 * y - 1) + rng.normal(0.0, 1.0, N))))
    predicted = (p >= 0.5).astype(np.int64)
    calls = {
        "vectorised": lambda: vectorised(y, predicted, p),
        "numpy_loop": lambda: numpy_loop(y, predicted, p),
        "sklearn_loop": lambda: sklearn_loop(y, predicted, p),
    }
    expected = calls["vectorised"]()
    for name in ("numpy_loop", "sklearn_loop"):
        np.testing.assert_allclose(expected, calls[name](), rtol=1e-12)
    timings = measure(
        [Contender(name, call, threads=1) for name, call in calls.items()],
        repeats=REPEATS,
        title=f"N={N}, {RESAMPLES} resamples, 7 metrics, 1 thread each",
    )
    fast = timings["vectorised"]
    print(result_line("bootstrap_vectorised_vs_numpy_loop", ratio(timings["numpy_loop"], fast), ">=", 1))
    print(result_line("bootstrap_vectorised_vs_sklearn_loop", ratio(timings["sklearn_loop"], fast), ">=", 20))


if __name__ == "__main__":
    main()
