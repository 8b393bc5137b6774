"""Named compute kernels with numpy reference implementations.

The core owns the reference of every kernel; an accelerator plugin (``medfusion-plugin-native``)
registers faster implementations with the kernels hook under the same names. :func:`get_kernel`
returns the accelerated one when it is installed, healthy and not forced off with
``MEDFUSION_KERNELS=reference``, and the reference otherwise. :func:`backend_report` says which
backend is active and why.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

ENV_FORCE = "MEDFUSION_KERNELS"

#: name -> numpy reference implementation. Filled below.
REFERENCE: dict[str, Callable[..., Any]] = {}


def reference(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator registering a numpy reference kernel under ``name``."""

    def register(func: Callable[..., Any]) -> Callable[..., Any]:
        REFERENCE[name] = func
        return func

    return register


@reference("bootstrap_auc")
def bootstrap_auc(
    y_true: np.ndarray, scores: np.ndarray, n_resamples: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """AUROC and AUPRC (average precision) on ``n_resamples`` bootstrap resamples.

    Resample ``i`` draws indices with ``np.random.default_rng([seed, i]).integers(0, n, n)``,
    so any backend can reproduce it exactly. Resamples with a single class give ``nan``.
    Returns two float64 arrays of length ``n_resamples``.
    """
    y_true = np.asarray(y_true).astype(np.uint8, copy=False)
    scores = np.asarray(scores, dtype=np.float64)
    n = y_true.shape[0]
    auroc = np.full(n_resamples, np.nan)
    auprc = np.full(n_resamples, np.nan)
    for i in range(n_resamples):
        idx = np.random.default_rng([seed, i]).integers(0, n, n)
        auroc[i], auprc[i] = auc_pair(y_true[idx], scores[idx])
    return auroc, auprc


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


def _forced_reference() -> bool:
    return os.environ.get(ENV_FORCE, "").lower() in ("reference", "numpy", "off")


def get_kernel(name: str) -> Callable[..., Any]:
    """The active implementation of kernel ``name`` (accelerated if available)."""
    if name not in REFERENCE:
        raise KeyError(f"unknown kernel {name!r}; known: {', '.join(sorted(REFERENCE))}")
    if not _forced_reference():
        accelerated = _accelerated().get(name)
        if accelerated is not None:
            return accelerated
    return REFERENCE[name]


_ACCELERATED: dict[str, Callable[..., Any]] | None = None
_FALLBACK_REASONS: dict[str, str] = {}


def _accelerated() -> dict[str, Callable[..., Any]]:
    global _ACCELERATED
    if _ACCELERATED is None:
        from medfusion_core.errors import MedFusionError
        from medfusion_core.plugins import CORE_PLUGIN_NAME, get_host

        _ACCELERATED = {}
        for spec in get_host().specs("kernel"):
            if spec.plugin == CORE_PLUGIN_NAME or spec.name not in REFERENCE:
                continue
            try:
                _ACCELERATED[spec.name] = spec.load()
            except MedFusionError as exc:
                _FALLBACK_REASONS[spec.name] = str(exc)
    return _ACCELERATED


def backend_report() -> dict[str, Any]:
    """Which implementation each kernel uses, for ``doctor`` and ``list-plugins``."""
    forced = _forced_reference()
    active = {} if forced else _accelerated()
    return {
        "forced_reference": forced,
        "kernels": {
            name: {
                "backend": "reference" if name not in active else getattr(active[name], "__module__", "?"),
                "fallback_reason": (f"{ENV_FORCE}=reference" if forced else _FALLBACK_REASONS.get(name)),
            }
            for name in sorted(REFERENCE)
        },
    }


def reset_kernels() -> None:
    """Forget resolved accelerated kernels (after the plugin host changes)."""
    global _ACCELERATED
    _ACCELERATED = None
    _FALLBACK_REASONS.clear()


# Image kernels live in their own module and register themselves with @reference.
from medfusion_core import imageops  # noqa: E402,F401
