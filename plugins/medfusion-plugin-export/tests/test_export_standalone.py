"""The standalone runner's preprocessing against the core's own (the independent reference)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from medfusion_plugin_export import standalone
from medfusion_plugin_readers.formats import read_pillow
from PIL import Image

from medfusion_core.data.manifest import read_table
from medfusion_core.data.tabular import TabularPreprocessor, clinical_present
from medfusion_core.imageops import preprocess_into


def _kernel(src: np.ndarray, spec: dict) -> np.ndarray:
    out = np.empty((spec["channels"], *spec["size"]), dtype=np.float32)
    flip = (False,) * len(spec["size"])
    preprocess_into(src, out, flip=flip, window=spec.get("window"), mean=spec["mean"], std=spec["std"])
    return out


CASES = {
    "uint8 downscale": (
        np.uint8,
        (64, 48),
        None,
        {"size": [32, 20], "channels": 1, "mean": [0.4], "std": [0.2]},
    ),
    "uint8 upscale": (
        np.uint8,
        (10, 13),
        None,
        {"size": [32, 32], "channels": 1, "mean": [0.5], "std": [0.25]},
    ),
    "uint16 window": (
        np.uint16,
        (40, 40),
        [100.0, 30000.0],
        {"size": [24, 24], "channels": 1, "mean": [0.0], "std": [1.0]},
    ),
    "gray to 3 channels": (
        np.uint8,
        (33, 31),
        None,
        {"size": [16, 16], "channels": 3, "mean": [0.1, 0.2, 0.3], "std": [0.5, 0.4, 0.3]},
    ),
    "rgb": (np.uint8, (30, 30, 3), None, {"size": [16, 16], "channels": 3, "mean": [0.5], "std": [0.2]}),
    "float32": (np.float32, (20, 50), None, {"size": [32, 32], "channels": 1, "mean": [0.0], "std": [2.0]}),
    "volume": (
        np.int16,
        (12, 20, 20),
        [-100.0, 400.0],
        {"size": [8, 16, 16], "channels": 1, "mean": [0.2], "std": [0.3]},
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_image_preprocessing_matches_the_core_kernel(case: str) -> None:
    dtype, shape, window, spec = CASES[case]
    rng = np.random.default_rng(len(case))
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        src = rng.integers(max(info.min, -1000), min(info.max, 60000), shape, endpoint=True).astype(dtype)
    else:
        src = rng.normal(0, 3, shape).astype(dtype)
    spec = {**spec, "window": window}
    np.testing.assert_allclose(
        standalone.preprocess_image(src, spec), _kernel(src, spec), atol=1e-5, rtol=1e-6
    )


@pytest.mark.parametrize("mode", ["L", "I;16", "RGBA", "P"])
def test_image_reading_matches_the_core_reader(tmp_path: Path, mode: str) -> None:
    rng = np.random.default_rng(0)
    if mode == "I;16":
        image = Image.fromarray(rng.integers(0, 65535, (9, 7), dtype=np.uint16))
    elif mode == "RGBA":
        image = Image.fromarray(rng.integers(0, 255, (9, 7, 4), dtype=np.uint8), mode="RGBA")
    else:
        image = Image.fromarray(rng.integers(0, 255, (9, 7), dtype=np.uint8)).convert(mode)
    path = tmp_path / "x.png"
    image.save(path)
    ours, core = standalone.read_image(path), read_pillow(path)
    assert ours.dtype == core.dtype and ours.shape == core.shape
    np.testing.assert_array_equal(ours, core)


def test_clinical_transform_matches_the_core_preprocessor(tmp_path: Path) -> None:
    rows = [
        {"pid": "a", "age": "61", "lab": "1.5", "sex": "F", "site": "x"},
        {"pid": "b", "age": "", "lab": "NA", "sex": "M", "site": ""},
        {"pid": "c", "age": "70.5", "lab": "", "sex": "", "site": "y"},
        {"pid": "d", "age": "", "lab": "", "sex": "", "site": ""},
        {"pid": "e", "age": "45", "lab": "0.2", "sex": "unknown", "site": "z"},
    ]
    path = tmp_path / "clinical.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    frame = read_table(path)
    numeric = {c: pd.to_numeric(frame[c], errors="coerce") for c in ("age", "lab")}
    frame = frame.assign(**numeric).replace({np.nan: None}).assign(**numeric)
    fitted = TabularPreprocessor.fit(frame.iloc[[0, 1, 2, 4]], ["age", "lab"], ["sex", "site"])
    expected = fitted.transform(frame)
    present = clinical_present(frame, ["age", "lab", "sex", "site"])
    expected[~present] = 0.0
    with open(path, newline="") as handle:
        ours, ours_present = standalone.clinical_matrix(fitted.to_json(), list(csv.DictReader(handle)))
    np.testing.assert_array_equal(ours_present, present)
    np.testing.assert_allclose(ours, expected, atol=1e-6)
    assert not present[3] and ours.shape == (5, fitted.num_features)


def test_prediction_columns_for_each_task() -> None:
    logits = np.array([[0.0, 2.0, -1.0], [3.0, 0.0, 0.0]])
    binary = standalone.prediction_columns(
        logits[:, :1], {"type": "binary", "threshold": 0.6, "classes": ["neg", "pos"]}
    )
    assert binary == [
        {"probability": 0.5, "predicted": "neg", "threshold": 0.6},
        {"probability": pytest.approx(0.952574), "predicted": "pos", "threshold": 0.6},
    ]
    unnamed = standalone.prediction_columns(logits[:, :1], {"type": "binary", "threshold": None})
    assert [(row["predicted"], row["threshold"]) for row in unnamed] == [(1, 0.5), (1, 0.5)]
    multi = standalone.prediction_columns(logits, {"type": "multiclass", "classes": ["a", "b", "c"]})
    assert [row["predicted"] for row in multi] == ["b", "a"]
    assert sum(v for k, v in multi[0].items() if k.startswith("probability_")) == pytest.approx(1.0)
    assert standalone.prediction_columns(logits[:, :1], {"type": "regression"}) == [
        {"prediction": 0.0},
        {"prediction": 3.0},
    ]
