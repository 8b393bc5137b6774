"""Bootstrap confidence intervals.

Every resample ``i`` uses the indices ``medfusion_core.kernels.resample_indices(seed, i, n)``,
the same scheme as the ``bootstrap_auc`` kernel, so AUROC and every other metric of one model
share their resamples, and two models evaluated on the same patients are paired resample by
resample. The interval is the percentile interval of the resampled statistic; resamples where
the statistic is undefined (``nan``, e.g. a resample with one class) are dropped.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Sequence

import attrs
import numpy as np

from medfusion_core.kernels import get_kernel, resample_index_matrix
from medfusion_plugin_evaluation.result import Result

#: Coverage of every confidence interval.
LEVEL = 0.95
#: Upper bound on resampled elements materialised at once.
_CHUNK_ELEMENTS = 2_000_000


@attrs.frozen
class Estimate(Result):
    """A point estimate with its percentile bootstrap confidence interval (``nan`` if undefined)."""

    value: float
    low: float
    high: float

    def format(self, digits: int = 2) -> str:
        """``"0.81 (0.76–0.86)"``; ``"n/a"`` when the value is undefined."""
        if not np.isfinite(self.value):
            return "n/a"
        if not (np.isfinite(self.low) and np.isfinite(self.high)):
            return f"{self.value:.{digits}f}"
        return f"{self.value:.{digits}f} ({self.low:.{digits}f}–{self.high:.{digits}f})"


def percentile_ci(resamples: np.ndarray, level: float = LEVEL) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper percentile bounds along axis 0, ignoring ``nan`` resamples."""
    values = np.asarray(resamples, dtype=np.float64)
    if values.shape[0] == 0:
        return np.full(values.shape[1:], np.nan), np.full(values.shape[1:], np.nan)
    tail = (1.0 - level) / 2.0 * 100.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-nan columns give nan, which is meant
        low, high = np.nanpercentile(values, [tail, 100.0 - tail], axis=0)
    return low, high


def estimate(value: float, resamples: np.ndarray) -> Estimate:
    """An :class:`Estimate` from a point value and its 1-D bootstrap resamples."""
    low, high = percentile_ci(resamples)
    return Estimate(float(value), float(low), float(high))


def resample_indices(n: int, n_resamples: int, seed: int) -> Iterator[np.ndarray]:
    """Bootstrap index arrays of shape ``[r, n]`` in chunks, resample ``i`` seeded ``[seed, i]``."""
    chunk = max(1, _CHUNK_ELEMENTS // max(n, 1))
    for start in range(0, n_resamples, chunk):
        stop = min(start + chunk, n_resamples)
        yield resample_index_matrix(seed, np.arange(start, stop), n)


def resample_counts(n: int, n_resamples: int, seed: int) -> Iterator[np.ndarray]:
    """How often each patient is drawn in each resample: float64 chunks of shape ``[r, n]``.

    The same resamples as :func:`resample_indices`. A statistic that is a sum over patients
    (confusion counts, the Brier score) is then one matrix product per chunk, ``counts @ values``,
    instead of gathering every resample.
    """
    for idx in resample_indices(n, n_resamples, seed):
        rows = idx.shape[0]
        flat = (idx + (np.arange(rows) * n)[:, None]).ravel()
        yield np.bincount(flat, minlength=rows * n).reshape(rows, n).astype(np.float64)


def bootstrap(
    statistic: Callable[..., np.ndarray],
    arrays: Sequence[np.ndarray],
    *,
    n_resamples: int,
    seed: int,
) -> np.ndarray:
    """Resampled values of a vectorised ``statistic``.

    ``statistic`` receives each array resampled to shape ``[r, n, ...]`` and returns an array whose
    first axis is ``r`` (one value, or a vector of values, per resample). Returns the resampled
    values concatenated to ``[n_resamples, ...]``.
    """
    n = len(arrays[0])
    chunks = list(resample_indices(n, n_resamples, seed)) or [np.zeros((0, n), dtype=np.intp)]
    parts = [statistic(*(array[idx] for array in arrays)) for idx in chunks]
    return np.concatenate(parts, axis=0)


def bootstrap_auc(
    y_true: np.ndarray, scores: np.ndarray, *, n_resamples: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """AUROC and average-precision resamples from the active ``bootstrap_auc`` kernel."""
    kernel = get_kernel("bootstrap_auc")
    y = np.ascontiguousarray(y_true, dtype=np.uint8)
    s = np.ascontiguousarray(scores, dtype=np.float64)
    return kernel(y, s, int(n_resamples), int(seed))
