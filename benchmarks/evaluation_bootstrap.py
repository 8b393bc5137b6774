"""Vectorised bootstrap of operating-point metrics vs the obvious per-resample loop.

Both compute sensitivity, specificity, PPV, NPV, accuracy, F1 and the Brier score on the same
bootstrap resamples (N patients); the loop calls scikit-learn once per metric and resample, as a
hand-written evaluation script would. Checks that both agree, then prints the speed-up.
"""

from __future__ import annotations

import time

import numpy as np
from medfusion_plugin_evaluation.binary import THRESHOLD_METRICS, confusion_counts, rates_from_counts
from medfusion_plugin_evaluation.bootstrap import bootstrap, resample_indices
from medfusion_plugin_evaluation.calibration import brier_scores
from sklearn import metrics as skm

N = 2000
RESAMPLES = 200
TARGET = 20.0


def vectorised(y: np.ndarray, predicted: np.ndarray, p: np.ndarray) -> np.ndarray:
    """All metrics for all resamples with the evaluation package."""

    def statistic(y_r: np.ndarray, pred_r: np.ndarray, p_r: np.ndarray) -> np.ndarray:
        rates = rates_from_counts(confusion_counts(y_r, pred_r))
        return np.stack([*(rates[name] for name in THRESHOLD_METRICS), brier_scores(y_r, p_r)], axis=-1)

    return bootstrap(statistic, [y, predicted, p], n_resamples=RESAMPLES, seed=0)


def loop(y: np.ndarray, predicted: np.ndarray, p: np.ndarray) -> np.ndarray:
    """The same numbers, one resample and one scikit-learn call at a time."""
    rows = []
    for idx in np.concatenate(list(resample_indices(N, RESAMPLES, 0))):
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


def best_of(function, *args: np.ndarray, repeats: int = 3) -> tuple[float, np.ndarray]:
    """Fastest wall time of ``repeats`` runs and the last result."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = function(*args)
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    """Run both, check agreement, print the RESULT line."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, N)
    p = 1.0 / (1.0 + np.exp(-((2 * y - 1) + rng.normal(0.0, 1.0, N))))
    predicted = (p >= 0.5).astype(np.int64)
    fast_time, fast = best_of(vectorised, y, predicted, p)
    slow_time, slow = best_of(loop, y, predicted, p, repeats=1)
    np.testing.assert_allclose(fast, slow, rtol=1e-12)
    ratio = slow_time / fast_time
    print(f"N={N}, resamples={RESAMPLES}: vectorised {fast_time * 1e3:.1f} ms, loop {slow_time:.2f} s")
    verdict = "ok" if ratio >= TARGET else "below"
    print(f"RESULT bootstrap_vectorised_vs_loop: {ratio:.1f} (target >= {TARGET:.0f}) {verdict}")


if __name__ == "__main__":
    main()
