"""Named compute kernels with numpy reference implementations.

The core owns the reference of every kernel; an accelerator plugin (``medfusion-plugin-native``)
registers faster implementations with the kernels hook under the same names. :func:`get_kernel`
returns the accelerated one when it is installed, healthy and not forced off with
``MEDFUSION_KERNELS=reference``, and the reference otherwise. :func:`backend_report` says which
backend is active and why.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Mapping
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
    if not 0 <= n < 2**32:
        raise ValueError(f"resample_indices: n={n} must be in [0, 2^32)")
    seed_key = int(_mix64(np.array([(seed + _GOLDEN) & _MASK64], dtype=np.uint64))[0])
    key = _mix64(np.array([(seed_key + stream) & _MASK64], dtype=np.uint64))[0]
    words = _mix64(np.arange(1, n + 1, dtype=np.uint64) * np.uint64(_GOLDEN) + key)
    # (words * n) >> 64 without 128-bit integers: split the word into 32-bit halves.
    n64 = np.uint64(n)
    high = (words >> np.uint64(32)) * n64 + (((words & np.uint64(0xFFFFFFFF)) * n64) >> np.uint64(32))
    return (high >> np.uint64(32)).astype(np.int64)


@reference("bootstrap_auc")
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
_RESOLVING = threading.RLock()


def _accelerated() -> dict[str, Callable[..., Any]]:
    """The loaded accelerated kernels, resolved once; published only when complete, so a thread
    racing the first resolution never sees a partial table (and a reference kernel)."""
    global _ACCELERATED
    if _ACCELERATED is not None:
        return _ACCELERATED
    with _RESOLVING:
        if _ACCELERATED is None:
            from medfusion_core.errors import MedFusionError
            from medfusion_core.plugins import CORE_PLUGIN_NAME, get_host

            found: dict[str, Callable[..., Any]] = {}
            for spec in get_host().specs("kernel"):
                if spec.plugin == CORE_PLUGIN_NAME or spec.name not in REFERENCE:
                    continue
                try:
                    found[spec.name] = spec.load()
                except MedFusionError as exc:
                    _FALLBACK_REASONS[spec.name] = str(exc)
            _ACCELERATED = found
    return _ACCELERATED


def backend_report() -> dict[str, Any]:
    """Which implementation each kernel uses, for ``doctor`` and ``list-plugins``.

    ``accelerators`` maps the top-level package of each active accelerated kernel to what its
    optional ``runtime_info()`` function returns (e.g. version and thread count).
    """
    forced = _forced_reference()
    active = {} if forced else _accelerated()
    return {
        "forced_reference": forced,
        "accelerators": _accelerator_info(active),
        "kernels": {
            name: {
                "backend": "reference" if name not in active else getattr(active[name], "__module__", "?"),
                "fallback_reason": (f"{ENV_FORCE}=reference" if forced else _FALLBACK_REASONS.get(name)),
            }
            for name in sorted(REFERENCE)
        },
    }


def _accelerator_info(active: dict[str, Callable[..., Any]]) -> dict[str, Any]:
    """``runtime_info()`` of each package providing an active kernel (errors reported, not raised)."""
    info: dict[str, Any] = {}
    for func in active.values():
        package = getattr(func, "__module__", "").partition(".")[0]
        describe = getattr(sys.modules.get(package), "runtime_info", None)
        if package in info or not callable(describe):
            continue
        try:
            info[package] = describe()
        except Exception as exc:  # a broken accelerator must not break doctor
            info[package] = {"error": f"{type(exc).__name__}: {exc}"}
    return info


_SHOWN_FIRST = frozenset({"version", "threads"})


def describe_accelerators(accelerators: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """One line per active accelerator package of :func:`backend_report`, e.g.
    ``medfusion_plugin_native 0.1.0, 2 threads`` (or the error its ``runtime_info()`` raised)."""
    lines = []
    for package, info in sorted(accelerators.items()):
        if "error" in info:
            lines.append(f"{package}: runtime_info() failed: {info['error']}")
            continue
        parts = [str(info["version"])] if "version" in info else []
        if "threads" in info:
            parts.append(f"{info['threads']} thread{'' if info['threads'] == 1 else 's'}")
        parts += [f"{key} {value}" for key, value in sorted(info.items()) if key not in _SHOWN_FIRST]
        lines.append(" ".join([package, ", ".join(parts)]).strip())
    return lines


def reset_kernels() -> None:
    """Forget resolved accelerated kernels (after the plugin host changes)."""
    global _ACCELERATED
    _ACCELERATED = None
    _FALLBACK_REASONS.clear()


# Image kernels live in their own modules and register themselves with @reference.
from medfusion_core import imageops, viewops  # noqa: E402,F401
