"""Manifest grouping and validation errors (one line, naming file, row and column)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from medfusion_core.config import structure_config
from medfusion_core.data.labels import encode_labels
from medfusion_core.data.manifest import load_manifest
from medfusion_core.errors import DataError


def make_config(manifest: Path, **data: object):
    """An experiment config over ``manifest`` with ``data`` fields overridden."""
    fields = {"manifest": str(manifest), "images": ["v1", "v2"], "numeric": ["age"], **data}
    return structure_config({"name": "t", "data": fields}, "test.yaml")


def write_images(folder: Path, *names: str) -> None:
    for name in names:
        Image.fromarray(np.zeros((4, 4), np.uint8)).save(folder / name)


def write_manifest(folder: Path, rows: list[dict], name: str = "m.csv") -> Path:
    path = folder / name
    frame = pd.DataFrame(rows)
    if name.endswith(".parquet"):
        frame.to_parquet(path)
    else:
        frame.to_csv(path, index=False)
    return path


BASE = [
    {"patient_id": "a", "v1": "a1.png", "v2": "a2.png", "age": 50, "label": 1},
    {"patient_id": "b", "v1": "b1.png", "v2": "", "age": None, "label": 0},
    {"patient_id": "c", "v1": "", "v2": "", "age": 61, "label": 1},
]


@pytest.fixture
def folder(tmp_path):
    write_images(tmp_path, "a1.png", "a2.png", "b1.png", "a3.png", "m1.png")
    return tmp_path


@pytest.mark.parametrize("name", ["m.csv", "m.parquet"])
def test_groups_views_and_resolves_paths(folder, name):
    manifest = load_manifest(make_config(write_manifest(folder, BASE, name)).data)
    assert manifest.patients == ["a", "b", "c"]
    assert manifest.views == [[str(folder / "a1.png"), str(folder / "a2.png")], [str(folder / "b1.png")], []]
    assert manifest.max_views == 2
    assert np.isnan(manifest.clinical.loc["b", "age"]) and manifest.clinical.loc["c", "age"] == 61
    assert list(manifest.labels) == ["1", "0", "1"]


def test_several_rows_per_patient_add_views_and_masks(folder):
    rows = [
        {"patient_id": "a", "v1": "a1.png", "mask": "m1.png", "label": 1, "age": 3},
        {"patient_id": "a", "v1": "a3.png", "mask": "", "label": 1, "age": 3},
        {"patient_id": "b", "v1": "b1.png", "mask": "", "label": 0, "age": 4},
    ]
    config = make_config(write_manifest(folder, rows), images=["v1"], mask="mask")
    manifest = load_manifest(config.data)
    assert manifest.views[0] == [str(folder / "a1.png"), str(folder / "a3.png")]
    assert manifest.masks[0] == [str(folder / "m1.png"), None]
    assert manifest.rows == [1, 3]


def test_missing_columns_are_listed_with_what_exists(folder):
    config = make_config(write_manifest(folder, BASE), numeric=["age", "bmi"], subgroups=["site"])
    with pytest.raises(
        DataError, match=r"m\.csv: missing column\(s\) bmi, site; the manifest has: patient_id"
    ):
        load_manifest(config.data)


def test_missing_image_file_names_row_and_column(folder):
    rows = [*BASE[:2], {"patient_id": "c", "v1": "", "v2": "nope.png", "age": 1, "label": 0}]
    with pytest.raises(DataError, match=r"m\.csv: row 3, column 'v2': file .*nope\.png not found"):
        load_manifest(make_config(write_manifest(folder, rows)).data)


def test_unknown_split_and_patient_in_two_splits(folder):
    rows = [dict(r, split=s) for r, s in zip(BASE, ["train", "val", "holdout"], strict=True)]
    with pytest.raises(DataError, match=r"row 3, column 'split': unknown split 'holdout'"):
        load_manifest(make_config(write_manifest(folder, rows), split="split").data)
    rows = [
        dict(BASE[0], split="train"),
        dict(BASE[0], v1="a3.png", split="test"),
        dict(BASE[1], split="val"),
    ]
    with pytest.raises(DataError, match=r"patient 'a' is in several splits \(test, train, rows 1, 2\)"):
        load_manifest(make_config(write_manifest(folder, rows), split="split").data)


def test_conflicting_labels_and_empty_label(folder):
    rows = [BASE[0], dict(BASE[0], label=0)]
    with pytest.raises(DataError, match=r"column 'label': patient 'a' has conflicting values"):
        load_manifest(make_config(write_manifest(folder, rows)).data)
    rows = [BASE[0], dict(BASE[1], label=None)]
    with pytest.raises(DataError, match=r"row 2, column 'label': missing value for patient 'b'"):
        load_manifest(make_config(write_manifest(folder, rows)).data)


def test_non_numeric_value_in_numeric_column(folder):
    rows = [BASE[0], dict(BASE[1], age="old")]
    with pytest.raises(DataError, match=r"row 2, column 'age': 'old' is not a number"):
        load_manifest(make_config(write_manifest(folder, rows)).data)


def test_missing_manifest_file(tmp_path):
    with pytest.raises(DataError, match=r"nothere\.csv: manifest not found"):
        load_manifest(make_config(tmp_path / "nothere.csv").data)


def test_label_with_one_class_is_rejected(folder):
    config = make_config(folder / "m.csv")
    with pytest.raises(
        DataError, match=r"column 'label': every label is '1'; a classifier needs at least two"
    ):
        encode_labels(np.array(["1", "1"], dtype=object), config.task, Path("m.csv"))


def test_label_encodings_per_task():
    task = structure_config({"name": "t", "data": {"manifest": "m"}}, "x").task
    binary = encode_labels(np.array(["true", "False", "1"], dtype=object), task, Path("m"))
    assert binary.values.dtype == np.float32 and list(binary.values) == [1, 0, 1]
    named = encode_labels(np.array(["benign", "malignant"], dtype=object), task, Path("m"))
    assert list(named.values) == [0, 1] and named.classes == ["benign", "malignant"]
    multi_task = structure_config(
        {"name": "t", "data": {"manifest": "m"}, "task": {"type": "multiclass", "classes": ["c", "b", "a"]}},
        "x",
    ).task
    multi = encode_labels(np.array(["a", "c", "b"], dtype=object), multi_task, Path("m"))
    assert multi.values.dtype == np.int64 and list(multi.values) == [2, 0, 1]
    with pytest.raises(DataError, match=r"label 'd' is not one of task.classes"):
        encode_labels(np.array(["a", "d"], dtype=object), multi_task, Path("m"))
    reg_task = structure_config(
        {"name": "t", "data": {"manifest": "m"}, "task": {"type": "regression"}}, "x"
    ).task
    assert list(encode_labels(np.array(["1.5", "-2"], dtype=object), reg_task, Path("m")).values) == [
        1.5,
        -2.0,
    ]


def test_unlabelled_manifest_for_prediction(folder):
    rows = [{k: v for k, v in r.items() if k != "label"} for r in BASE]
    config = make_config(write_manifest(folder, rows))
    with pytest.raises(DataError, match=r"missing column\(s\) label"):
        load_manifest(config.data)
    manifest = load_manifest(config.data, require_label=False)
    assert manifest.patients == ["a", "b", "c"] and list(manifest.labels) == [None, None, None]


def test_every_manifest_problem_is_listed_at_once(folder):
    rows = [
        {"patient_id": "a", "v1": "a1.png", "v2": "gone.png", "age": "old", "label": "1", "split": "train"},
        {"patient_id": "", "v1": "b1.png", "v2": "", "age": 3, "label": "0", "split": "val"},
        {"patient_id": "c", "v1": "", "v2": "", "age": "?", "label": "", "split": "holdout"},
        {"patient_id": "d", "v1": "lost.png", "v2": "", "age": 4, "label": "0", "split": "test"},
        {"patient_id": "d", "v1": "", "v2": "", "age": 4, "label": "1", "split": "train"},
    ]
    config = make_config(write_manifest(folder, rows), numeric=["age", "bmi"], split="split")
    with pytest.raises(DataError) as info:
        load_manifest(config.data)
    lines = str(info.value).splitlines()
    assert lines[0] == (
        f"{folder / 'm.csv'}: 10 manifest problem(s) (rows: 1-based data row, header not counted):"
    )
    assert [line.strip().split(";")[0] for line in lines[1:]] == [
        "missing column(s) bmi",
        "row 2, column 'patient_id': empty patient id",
        "row 1, column 'age': 'old' is not a number",
        "row 3, column 'age': '?' is not a number",
        f"row 1, column 'v2': file {folder / 'gone.png'} not found",
        f"row 4, column 'v1': file {folder / 'lost.png'} not found",
        "row 3, column 'label': missing value for patient 'c'",
        "column 'label': patient 'd' has conflicting values ['0', '1'] (rows 4, 5)",
        "row 3, column 'split': unknown split 'holdout'",
        "column 'split': patient 'd' is in several splits (test, train, rows 4, 5)",
    ]


def test_only_missing_columns_need_no_row_note(folder):
    config = make_config(write_manifest(folder, BASE), numeric=["age", "bmi"])
    with pytest.raises(DataError) as info:
        load_manifest(config.data)
    assert str(info.value).endswith("label") and "header not counted" not in str(info.value)
