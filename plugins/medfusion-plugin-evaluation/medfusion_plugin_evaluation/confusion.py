"""Confusion matrices counted in one vectorised pass (also over a leading axis of resamples)."""

from __future__ import annotations

import numpy as np


def confusion_matrices(y_true: np.ndarray, predicted: np.ndarray, num_classes: int) -> np.ndarray:
    """Confusion matrices ``[..., K, K]`` (rows true class, columns predicted) over the last axis."""
    code = np.asarray(y_true, dtype=np.int64) * num_classes + np.asarray(predicted, dtype=np.int64)
    flat = code.reshape(-1, code.shape[-1])
    offsets = (np.arange(flat.shape[0]) * num_classes * num_classes)[:, None]
    counts = np.bincount((flat + offsets).ravel(), minlength=flat.shape[0] * num_classes * num_classes)
    return counts.reshape(*code.shape[:-1], num_classes, num_classes)
