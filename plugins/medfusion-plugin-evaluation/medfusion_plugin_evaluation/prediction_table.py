"""``predictions.csv``: every model's per-patient predictions beside metrics.json.

One row per patient and split (``test`` first, then ``val``), in the order the reference model
saw them; columns ``patient_id``, ``split``, ``label`` and the scores of every model, the
reference first:

- binary: one column per model, named by its label (``fused``, ``image-only``, ...): P(positive);
- multiclass: one column per model and class, ``<model>:<class name>`` (class index when the
  config names no classes): the class probability;
- regression: one column per model: the predicted value.

A model without a prediction for a row leaves its cell empty. Floats are written with ``repr``
(shortest round-trip), so reading the file back gives the exact numbers the report used. The
file is written only when every split given has patient ids (:func:`evaluate_run` always gives
them); each model's validation threshold stays in metrics.json (``models.<label>.threshold``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from medfusion_core.runs import write_text
from medfusion_plugin_evaluation.predictions import ModelPredictions, SplitPredictions

PREDICTIONS_FILE = "predictions.csv"
#: The splits written, in file order, with the name the ``split`` column gives them.
SPLITS: tuple[tuple[str, str], ...] = (("test", "test"), ("validation", "val"))


def score_columns(label: str, task: str, scores: np.ndarray, class_names: Sequence[str] | None) -> list[str]:
    """The column names of one model's scores (see the module docstring)."""
    if task != "multiclass":
        return [label]
    count = scores.shape[1]
    names = [str(name) for name in class_names] if class_names and len(class_names) == count else None
    return [f"{label}:{names[k] if names else k}" for k in range(count)]


def _label_cell(value: object, task: str) -> str:
    return repr(float(value)) if task == "regression" else str(int(value))  # type: ignore[call-overload]


def write_predictions(
    out_dir: Path,
    models: Mapping[str, ModelPredictions],
    task: str,
    class_names: Sequence[str] | None = None,
) -> Path | None:
    """Write ``out_dir/predictions.csv`` atomically for ``models`` (the reference first; splits
    already checked for ``task``); ``None`` when a split lacks patient ids."""
    splits: list[tuple[str, str, SplitPredictions]] = [
        (label, name, split)
        for label, predictions in models.items()
        for attribute, name in SPLITS
        if (split := getattr(predictions, attribute)) is not None
    ]
    if any(split.patient_ids is None for _, _, split in splits):
        return None
    columns = {
        label: score_columns(label, task, np.asarray(predictions.test.scores), class_names)
        for label, predictions in models.items()
    }
    rows: dict[tuple[str, str], dict[str, list[str]]] = {}
    for label, name, split in splits:
        scores = np.asarray(split.scores, dtype=np.float64)
        for index, patient in enumerate(split.patient_ids or []):
            row = rows.setdefault((name, str(patient)), {"": [_label_cell(split.y_true[index], task)]})
            row[label] = [repr(float(value)) for value in np.atleast_1d(scores[index])]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["patient_id", "split", "label", *(c for names in columns.values() for c in names)])
    rank = {name: position for position, (_, name) in enumerate(SPLITS)}
    for (name, patient), row in sorted(rows.items(), key=lambda item: rank[item[0][0]]):
        cells = [cell for label, names in columns.items() for cell in row.get(label, [""] * len(names))]
        writer.writerow([patient, name, *row[""], *cells])
    return write_text(out_dir / PREDICTIONS_FILE, buffer.getvalue())
