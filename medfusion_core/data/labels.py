"""Label encoding per task type: binary -> float 0/1, multiclass -> int64 index, regression -> float."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import attrs
import numpy as np

from medfusion_core.config import TaskConfig
from medfusion_core.errors import DataError

_TRUE = {"1", "1.0", "true", "yes"}
_FALSE = {"0", "0.0", "false", "no"}


@attrs.frozen
class EncodedLabels:
    """Encoded labels and the class names (``None`` for regression).

    ``values`` is float32 for binary (0/1) and regression, int64 for multiclass.
    """

    values: np.ndarray
    classes: list[str] | None


def encode_labels(
    raw: np.ndarray,
    task: TaskConfig,
    source: Path,
    column: str = "label",
    rows: Sequence[int] | None = None,
) -> EncodedLabels:
    """Encode raw text labels (one per patient) for ``task``; ``source``, ``column`` and ``rows``
    (each patient's 1-based data row, header not counted) name errors: every bad label at once.

    Binary accepts 0/1, booleans (true/false, yes/no) or two class names; with names the
    positive class is ``task.classes[1]`` when classes are given, else the second in sorted order.
    Multiclass maps ``task.classes`` (default: sorted distinct labels) to 0..K-1. Regression parses
    numbers. A classification label with a single class fails.
    """
    text = [str(v).strip() for v in raw]
    if task.type == "regression":
        return EncodedLabels(_parse_numbers(text, source, column, rows), None)
    classes = list(task.classes) if task.classes else None
    if task.type == "binary" and classes is None:
        lowered = {t.lower() for t in text}
        if lowered <= _TRUE | _FALSE:
            values = np.array([t.lower() in _TRUE for t in text], dtype=np.float32)
            _check_two_classes(values, ["0", "1"], source, column)
            return EncodedLabels(values, ["0", "1"])
    if classes is None:
        classes = sorted(set(text))
    if task.type == "binary" and len(classes) != 2:
        raise DataError(
            f"{source}: column {column!r}: a binary task needs exactly 2 classes, found {classes[:10]}; "
            "set task.classes or task.type"
        )
    index = {name: i for i, name in enumerate(classes)}
    unknown = [i for i, t in enumerate(text) if t not in index]
    if unknown:
        values = ", ".join(repr(v) for v in sorted({text[i] for i in unknown})[:5])
        raise DataError(
            f"{source}: column {column!r}: label {text[unknown[0]]!r} is not one of task.classes {classes} "
            f"({len(unknown)} patient(s) with unknown labels: {values}{_rows(unknown, rows)}); "
            "fix the labels or task.classes"
        )
    codes = np.array([index[t] for t in text], dtype=np.int64)
    _check_two_classes(codes, classes, source, column)
    values = codes.astype(np.float32) if task.type == "binary" else codes
    return EncodedLabels(values, classes)


def _check_two_classes(codes: np.ndarray, classes: list[str], source: Path, column: str) -> None:
    present = np.unique(codes)
    if present.size < 2:
        only = classes[int(present[0])] if present.size else "none"
        raise DataError(
            f"{source}: column {column!r}: every label is {only!r}; a classifier needs at least two classes"
        )


def _rows(indices: list[int], rows: Sequence[int] | None) -> str:
    """``"; rows 2, 5 (header not counted)"`` for the patients at ``indices``, or ``""``."""
    if rows is None:
        return ""
    return f"; rows {', '.join(str(rows[i]) for i in indices)} (1-based data rows, header not counted)"


def _parse_numbers(text: list[str], source: Path, column: str, rows: Sequence[int] | None) -> np.ndarray:
    """Regression targets as float32; every label that is not a finite number is named at once."""
    values = np.array([_number(t) for t in text], dtype=np.float32)
    bad = [i for i in range(len(text)) if not np.isfinite(values[i])]
    if bad:
        shown = ", ".join(repr(text[i]) for i in bad[:5])
        raise DataError(
            f"{source}: column {column!r}: {len(bad)} label(s) are not finite numbers (regression task): "
            f"{shown}{_rows(bad, rows)}"
        )
    return values


def _number(text: str) -> float:
    """``text`` as a float, NaN when it is not a number."""
    try:
        return float(text)
    except ValueError:
        return float("nan")
