"""Run an exported ONNX model without MedFusion or PyTorch: numpy + onnxruntime (+ Pillow).

This module imports nothing from MedFusion so that it can be copied next to ``model.onnx`` and
its sidecar ``model.onnx.json`` and run anywhere ONNX Runtime runs::

    python standalone.py model.onnx patients.csv --out predictions.csv

It reproduces the training-time preprocessing from the artifact metadata: the clinical
transform (median imputation, standardisation, missing indicators, one-hot categories — the
fitted parameters of ``medfusion_core.data.tabular``) and the image path of the core's
``preprocess_into`` kernel without augmentation (antialiased bilinear resize as Pillow's
``BILINEAR``, window or dtype scaling, normalisation). Images are read with Pillow
(PNG/JPEG/BMP/TIFF) or numpy (``.npy``); other formats need ``medfusion predict --model``.
The manifest is a CSV with the training manifest's columns (the label column is optional).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

#: Cells read as missing, as pandas ``read_csv`` does by default.
NA_VALUES = frozenset(
    {
        "",
        "#N/A",
        "#N/A N/A",
        "#NA",
        "-1.#IND",
        "-1.#QNAN",
        "-NaN",
        "-nan",
        "1.#IND",
        "1.#QNAN",
        "<NA>",
        "N/A",
        "NA",
        "NULL",
        "NaN",
        "None",
        "n/a",
        "nan",
        "null",
    }
)
#: Divisor mapping an integer dtype to [0, 1] when no window is configured.
DTYPE_SCALE = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}
PILLOW_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
BATCH_SIZE = 16


class StandaloneError(Exception):
    """A problem with the artifact, the manifest or an image; the message names it."""


def open_session(artifact: str | Path, options: ort.SessionOptions | None = None) -> ort.InferenceSession:
    """An ONNX Runtime CPU session on ``artifact`` (with ``options`` when given); a missing or
    unreadable file is a :class:`StandaloneError` naming it."""
    artifact = Path(artifact)
    if not artifact.is_file():
        raise StandaloneError(f"{artifact}: model file not found")
    try:
        return ort.InferenceSession(str(artifact), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types for bad files
        first = (str(exc).strip().splitlines() or ["unreadable"])[0]
        raise StandaloneError(
            f"{artifact}: not a loadable ONNX model ({first}); re-export it with "
            "'medfusion export RUN --format onnx'"
        ) from None


def read_metadata(artifact: str | Path, session: ort.InferenceSession | None = None) -> dict[str, Any]:
    """The artifact's metadata: the sidecar ``<artifact>.json`` when present, else the ONNX
    ``metadata_props`` (``medfusion.<key>`` entries) of the model itself."""
    sidecar = Path(str(artifact) + ".json")
    if sidecar.is_file():
        return _json(sidecar.read_text(encoding="utf-8"), f"{sidecar}")
    session = session or open_session(artifact)
    props = session.get_modelmeta().custom_metadata_map
    metadata = {
        key.removeprefix("medfusion."): _json(value, f"{artifact}: metadata entry {key!r}")
        for key, value in props.items()
        if key.startswith("medfusion.")
    }
    if not metadata:
        raise StandaloneError(f"{artifact}: no MedFusion metadata (no sidecar JSON, no metadata_props)")
    return metadata


def _json(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise StandaloneError(f"{where}: unreadable JSON ({exc}); re-export the model") from None


def _cell(row: dict[str, str], column: str) -> str | None:
    text = (row.get(column) or "").strip()
    return None if text in NA_VALUES else text


# -- clinical ---------------------------------------------------------------------------------


def clinical_matrix(tabular: dict[str, Any], rows: Sequence[dict[str, str]]) -> tuple[np.ndarray, np.ndarray]:
    """``(features float32 [N, F], present bool [N])`` for manifest rows, from the fitted
    tabular parameters (``medfusion_core.data.tabular`` JSON)."""
    numeric, categorical = tabular["numeric"], tabular["categorical"]
    raw = np.array([[_number(row, c) for c in numeric] for row in rows], dtype=np.float64).reshape(
        len(rows), -1
    )
    parts = [((np.where(np.isnan(raw), tabular["medians"], raw) - tabular["means"]) / tabular["stds"])]
    parts += [np.isnan(raw[:, numeric.index(c)])[:, None].astype(np.float64) for c in tabular["indicators"]]
    for column in categorical:
        known = tabular["categories"][column]
        cells = [_cell(row, column) for row in rows]
        parts.append(
            np.array([[cell == name for name in known] for cell in cells], np.float64).reshape(
                len(rows), len(known)
            )
        )
    present = np.array(
        [any(_cell(row, c) is not None for c in (*numeric, *categorical)) for row in rows], bool
    )
    features = np.concatenate(parts, axis=1).astype(np.float32)
    features[~present] = 0.0
    return features, present


def _number(row: dict[str, str], column: str) -> float:
    text = _cell(row, column)
    if text is None:
        return math.nan
    try:
        return float(text)
    except ValueError:
        raise StandaloneError(f"column {column!r}: {text!r} is not a number") from None


# -- images -----------------------------------------------------------------------------------


def read_image(path: Path) -> np.ndarray:
    """An image as the core readers return it: gray uint8/uint16 ``[H, W]``, colour uint8
    ``[H, W, 3]``; ``.npy`` arrays as stored (bool -> uint8 0/255, other non-kernel dtypes float32)."""
    suffix = path.suffix.lower()
    if suffix == ".npy":
        array = np.load(path, allow_pickle=False)
        if array.dtype == np.bool_:
            return array.astype(np.uint8) * np.uint8(255)
        kernel_dtypes = (np.uint8, np.uint16, np.int16, np.float32)
        return array if array.dtype.type in kernel_dtypes else array.astype(np.float32)
    if suffix not in PILLOW_SUFFIXES:
        raise StandaloneError(
            f"{path}: unsupported image type {suffix!r} here; use 'medfusion predict --model'"
        )
    from PIL import Image

    with Image.open(path) as image:
        image.load()
        mode = image.mode
        if mode in ("1", "L", "LA", "P", "PA", "RGBA", "CMYK", "YCbCr", "LAB", "HSV"):
            image = image.convert("L" if mode in ("1", "L", "LA") else "RGB")
        array = np.asarray(image)
    if mode.startswith("I;16") or mode == "I":
        return array.astype(
            np.uint16 if array.size == 0 or 0 <= array.min() <= array.max() <= 65535 else np.float32
        )
    return array


def resize_weights(n_in: int, n_out: int) -> np.ndarray:
    """``[n_out, n_in]`` antialiased bilinear (triangle filter) weights, as Pillow's BILINEAR."""
    scale = n_in / n_out
    support_scale = max(scale, 1.0)
    centers = (np.arange(n_out) + 0.5) * scale
    taps = np.arange(n_in) + 0.5
    weights = np.maximum(0.0, 1.0 - np.abs(taps[None, :] - centers[:, None]) / support_scale)
    return weights / weights.sum(axis=1, keepdims=True)


def preprocess_image(image: np.ndarray, spec: dict[str, Any]) -> np.ndarray:
    """One image -> float32 ``[C, *size]``: resize, window or dtype scaling, normalisation."""
    size = list(spec["size"])
    values = np.asarray(image, dtype=np.float64)
    if values.ndim == len(size):
        values = values[..., None]
    for axis in reversed(range(len(size))):
        weights = resize_weights(values.shape[axis], size[axis])
        values = np.moveaxis(np.tensordot(weights, values, axes=([1], [axis])), 0, axis)
    if spec.get("window") is not None:
        low, high = spec["window"]
        values = (np.clip(values, low, high) - low) / (high - low)
    else:
        values = values / DTYPE_SCALE.get(np.dtype(image.dtype), 1.0)
    channels = int(spec["channels"])
    values = np.broadcast_to(np.moveaxis(values, -1, 0), (channels, *size))
    shape = (channels,) + (1,) * len(size)
    mean = np.broadcast_to(np.asarray(spec["mean"], np.float64), (channels,)).reshape(shape)
    std = np.broadcast_to(np.asarray(spec["std"], np.float64), (channels,)).reshape(shape)
    return ((values - mean) / std).astype(np.float32)


# -- the model --------------------------------------------------------------------------------


class StandaloneModel:
    """An exported ONNX model with its preprocessing, ready to score manifests."""

    def __init__(self, artifact: str | Path) -> None:
        self.artifact = Path(artifact)
        self.session = open_session(self.artifact)
        self.metadata = read_metadata(self.artifact, self.session)

    def logits(
        self, images: np.ndarray, view_mask: np.ndarray, clinical: np.ndarray, modality_mask: np.ndarray
    ) -> np.ndarray:
        """Raw model outputs ``[B, num_outputs]`` for prepared input arrays."""
        feeds = dict(
            zip(self.metadata["inputs"]["names"], (images, view_mask, clinical, modality_mask), strict=True)
        )
        return self.session.run(None, feeds)[0]

    def prepare(
        self, patients: Sequence[tuple[str, list[dict[str, str]]]], base: Path
    ) -> tuple[np.ndarray, ...]:
        """The four input arrays for ``(patient_id, rows)`` groups of a manifest in folder ``base``."""
        inputs, columns = self.metadata["inputs"], self.metadata["columns"]
        batch, views = len(patients), inputs["views"]
        images = np.zeros((batch, views, inputs["channels"], *inputs["size"]), np.float32)
        view_mask = np.zeros((batch, views), bool)
        for index, (patient, rows) in enumerate(patients):
            paths = [base / cell for row in rows for c in columns["images"] if (cell := _cell(row, c))]
            if len(paths) > views:
                raise StandaloneError(f"patient {patient!r} has {len(paths)} views; the model takes {views}")
            for position, path in enumerate(paths):
                images[index, position] = preprocess_image(read_image(path), self.metadata["image"])
                view_mask[index, position] = True
        clinical, present = clinical_matrix(
            self.metadata["preprocessing"]["tabular"], [r[0] for _, r in patients]
        )
        modality_mask = np.stack([view_mask.any(axis=1), present], axis=1)
        return images, view_mask, clinical, modality_mask

    def predict_rows(self, logits: np.ndarray) -> list[dict[str, Any]]:
        """Prediction columns for each row of ``logits`` (see :func:`prediction_columns`)."""
        return prediction_columns(logits, self.metadata["task"])

    def predict_manifest(self, manifest: str | Path) -> list[dict[str, Any]]:
        """Score every patient of a CSV manifest; one dict per patient, in manifest order."""
        manifest = Path(manifest)
        groups = group_rows(manifest, self.metadata["columns"])
        results: list[dict[str, Any]] = []
        for start in range(0, len(groups), BATCH_SIZE):
            chunk = groups[start : start + BATCH_SIZE]
            logits = self.logits(*self.prepare(chunk, manifest.parent))
            for (patient, _), row in zip(chunk, self.predict_rows(logits), strict=True):
                results.append({"patient_id": patient, **row})
        return results


def prediction_columns(logits: np.ndarray, task: dict[str, Any]) -> list[dict[str, Any]]:
    """The columns ``medfusion predict RUN`` writes. Binary: ``probability`` (sigmoid),
    ``predicted`` (the class at or above the validation ``threshold``, 0.5 without one) and
    ``threshold``; multiclass: ``probability_<class>`` (softmax) and the ``predicted`` class;
    regression: ``prediction``."""
    logits = np.asarray(logits, np.float64)
    classes = task.get("classes")
    if task["type"] == "binary":
        probability = 1.0 / (1.0 + np.exp(-logits[:, 0]))
        threshold = 0.5 if task.get("threshold") is None else float(task["threshold"])
        return [
            {
                "probability": float(p),
                "predicted": _label(classes, int(p >= threshold)),
                "threshold": threshold,
            }
            for p in probability
        ]
    if task["type"] == "multiclass":
        names = classes or [str(i) for i in range(logits.shape[1])]
        shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
        probabilities = shifted / shifted.sum(axis=1, keepdims=True)
        return [
            {
                **{f"probability_{name}": float(p) for name, p in zip(names, row, strict=True)},
                "predicted": names[int(np.argmax(row))],
            }
            for row in probabilities
        ]
    return [{"prediction": float(value)} for value in logits[:, 0]]


def _label(classes: list[str] | None, index: int) -> str | int:
    """Class name ``index`` (the index itself when the task has no class names)."""
    return classes[index] if classes else index


def group_rows(manifest: Path, columns: dict[str, Any]) -> list[tuple[str, list[dict[str, str]]]]:
    """Manifest rows grouped by patient id, in order of first appearance. Every column the model
    reads (``columns``: the artifact's patient id, image, numeric and categorical columns) must
    be in the header; the label column is optional."""
    if not manifest.is_file():
        raise StandaloneError(f"{manifest}: manifest not found")
    patient_column = columns["patient_id"]
    with open(manifest, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        needed = [patient_column, *columns["images"], *columns["numeric"], *columns["categorical"]]
        missing = [column for column in needed if column not in header]
        if missing:
            raise StandaloneError(
                f"{manifest}: missing column(s) {', '.join(missing)} that the model reads; add them "
                "(empty cells stand for missing values)"
            )
        groups: dict[str, list[dict[str, str]]] = {}
        for number, row in enumerate(reader, start=1):
            patient = _cell(row, patient_column)
            if patient is None:
                raise StandaloneError(f"{manifest}: row {number}: empty patient id")
            groups.setdefault(patient, []).append(row)
    return list(groups.items())


def write_predictions(rows: Iterable[dict[str, Any]], out: Path) -> None:
    """Write prediction dicts as CSV (columns from the first row)."""
    rows = list(rows)
    with open(out, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]) if rows else ["patient_id"])
        writer.writeheader()
        writer.writerows(rows)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python standalone.py MODEL.onnx MANIFEST.csv [--out CSV]``."""
    parser = argparse.ArgumentParser(description="Score a manifest with an exported MedFusion ONNX model.")
    parser.add_argument("model", type=Path)
    parser.add_argument("manifest", type=Path)
    parser.add_argument("--out", type=Path, default=None, help="CSV to write (default: print to stdout)")
    args = parser.parse_args(argv)
    try:
        rows = StandaloneModel(args.model).predict_manifest(args.manifest)
    except (StandaloneError, OSError) as exc:
        parser.exit(2, f"error: {exc}\n")
    if args.out is None:
        for row in rows:
            print(json.dumps(row))
    else:
        write_predictions(rows, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
