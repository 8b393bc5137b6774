"""Named compute kernels: the bootstrap reference and the way to reach any kernel.

The core owns the numpy reference of every kernel (this module's bootstrap, the image kernels of
:mod:`medfusion_core.imageops` and :mod:`medfusion_core.viewops`), registered as kernel specs by
the core's own plugin; an accelerator plugin (``medfusion-plugin-native``) registers faster
implementations under the same names. :func:`get_kernel` returns the current host's choice (the
accelerated one when it is installed, healthy and not forced off with
``MEDFUSION_KERNELS=reference``); :func:`backend_report` says which backend is active and why.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

from medfusion_core.host import get_host

#: SplitMix64 increment (2^64 / golden ratio) and the mask of 64-bit arithmetic.
_GOLDEN = 0x9E3779B97F4A7C15
_MASK64 = (1 << 64) - 1


def _mix64(z: np.ndarray) -> np.ndarray:
    """SplitMix64 output function on a uint64 array (arithmetic wraps modulo 2^64)."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def resample_indices(seed: int, stream: int, n: int) -> np.ndarray:
    """Bootstrap indices of resample ``stream``: ``n`` draws from ``0 .. n-1`` (int64).

    A portable counter-based generator, so every backend draws exactly the same resamples
    (all arithmetic modulo 2^64; ``mix64`` is the SplitMix64 finaliser):
    ``key = mix64(mix64(seed + GOLDEN) + stream)``; draw ``j`` is
    ``(mix64(key + (j + 1) * GOLDEN) * n) >> 64`` (multiply-shift onto ``0 .. n-1``), with
    ``GOLDEN = 0x9E3779B97F4A7C15``. ``seed`` is taken modulo 2^64; ``n`` must be below 2^32.
    """
    return resample_index_matrix(seed, np.array([stream]), n)[0]


def resample_index_matrix(seed: int, streams: np.ndarray, n: int) -> np.ndarray:
    """Indices of several resamples at once: row ``r`` is ``resample_indices(seed, streams[r], n)``.

    One vectorised pass over ``[len(streams), n]`` words instead of a call per resample.
    """
    if not 0 <= n < 2**32:
        raise ValueError(f"resample_indices: n={n} must be in [0, 2^32)")
    seed_key = _mix64(np.array([(seed + _GOLDEN) & _MASK64], dtype=np.uint64))[0]
    keys = _mix64(np.asarray(streams, dtype=np.uint64) + seed_key)
    words = _mix64(np.arange(1, n + 1, dtype=np.uint64)[None, :] * np.uint64(_GOLDEN) + keys[:, None])
    # (words * n) >> 64 without 128-bit integers: split the word into 32-bit halves.
    n64 = np.uint64(n)
    high = (words >> np.uint64(32)) * n64 + (((words & np.uint64(0xFFFFFFFF)) * n64) >> np.uint64(32))
    return (high >> np.uint64(32)).astype(np.int64)


def bootstrap_auc(
    y_true: np.ndarray, scores: np.ndarray, n_resamples: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """AUROC and AUPRC (average precision) on ``n_resamples`` bootstrap resamples.

    Resample ``i`` uses the indices :func:`resample_indices` ``(seed, i, n)``, a documented
    counter-based generator that any backend reproduces exactly. Resamples with a single class
    give ``nan``. ``y_true`` holds 0/1 labels; ``scores`` must not contain NaN (both raise
    :class:`~medfusion_core.errors.DataError`). Returns two float64 arrays of length ``n_resamples``.
    """
    y_true, scores = check_binary_scores(y_true, scores)
    n = y_true.shape[0]
    auroc = np.full(n_resamples, np.nan)
    auprc = np.full(n_resamples, np.nan)
    for i in range(n_resamples):
        idx = resample_indices(seed, i, n)
        auroc[i], auprc[i] = auc_pair(y_true[idx], scores[idx])
    return auroc, auprc


def check_binary_scores(y_true: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Validated ``(uint8 labels, float64 scores)``: 1D, equal length, labels 0/1, no NaN score."""
    from medfusion_core.errors import DataError

    labels = np.asarray(y_true)
    values = np.asarray(scores, dtype=np.float64)
    if labels.ndim != 1 or values.ndim != 1 or labels.shape != values.shape:
        raise DataError(
            f"bootstrap_auc: y_true {labels.shape} and scores {values.shape} must be 1D of equal length"
        )
    bad = np.flatnonzero((labels != 0) & (labels != 1))
    if bad.size:
        raise DataError(
            f"bootstrap_auc: y_true[{bad[0]}] = {labels[bad[0]]!r} is not 0 or 1; binarise the labels"
        )
    nan = np.flatnonzero(np.isnan(values))
    if nan.size:
        raise DataError(f"bootstrap_auc: scores[{nan[0]}] is NaN; drop or impute missing predictions")
    return labels.astype(np.uint8), values


def auc_pair(y_true: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    """Exact AUROC (ties count one half) and average precision of one sample."""
    positives = int(y_true.sum())
    negatives = y_true.shape[0] - positives
    if positives == 0 or negatives == 0:
        return float("nan"), float("nan")
    order = np.argsort(-scores, kind="mergesort")
    sorted_scores = scores[order]
    sorted_true = y_true[order]
    # group tied scores: the last index of each distinct score
    distinct = np.flatnonzero(np.diff(sorted_scores)) if sorted_scores.size > 1 else np.array([], int)
    ends = np.r_[distinct, sorted_true.size - 1]
    tps = np.cumsum(sorted_true, dtype=np.float64)[ends]
    fps = (ends + 1) - tps
    tpr = np.r_[0.0, tps / positives]
    fpr = np.r_[0.0, fps / negatives]
    auroc = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2.0))
    precision = tps / (tps + fps)
    recall = tps / positives
    auprc = float(np.sum(np.diff(np.r_[0.0, recall]) * precision))
    return auroc, auprc


def get_kernel(name: str) -> Callable[..., Any]:
    """The active implementation of kernel ``name`` (accelerated if available)."""
    return get_host().kernel(name)


def backend_report() -> dict[str, Any]:
    """Which implementation each kernel uses and why (loads the kernels), for ``doctor``."""
    return get_host().kernel_report()


def reset_kernels() -> None:
    """Forget the current host's resolved kernels (they are resolved again on next use)."""
    get_host().forget()


class _References(Mapping[str, Callable[..., Any]]):
    """The reference implementation of every kernel, by name, from the current host."""

    def __getitem__(self, name: str) -> Callable[..., Any]:
        return get_host().kernel(name, reference=True)

    def __iter__(self) -> Iterator[str]:
        return iter(get_host().registry().names("kernel"))

    def __len__(self) -> int:
        return len(get_host().registry().names("kernel"))


#: name -> numpy reference implementation (what every accelerated kernel must reproduce).
REFERENCE: Mapping[str, Callable[..., Any]] = _References()
