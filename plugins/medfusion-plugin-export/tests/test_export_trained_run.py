"""A run trained by the real ``medfusion train`` (and ``evaluate``), exported with ``medfusion
export``, then scored three ways on new patients, some with one view, no image, one missing or
no clinical value: ``medfusion predict RUN``, ``medfusion predict --model ARTIFACT.onnx`` and the
standalone runner in a separate Python process that imports neither torch nor MedFusion. The
three must write the same columns and agree per patient.

The CLI runs in this process through its console entry point (``medfusion_core.cli.main``) with
the installed plugins, as the ``medfusion`` script runs it, so errors are checked as a user sees
them: one line on stderr and a non-zero exit.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import attrs
import numpy as np
import pytest
import yaml
from medfusion_plugin_export import standalone

from medfusion_core.testing.cli import Outcome, medfusion

#: Patients of the demo data (train/val/test 60/20/20); small so training takes seconds.
PATIENTS = 24
#: The demo config made small: the smallest first-party CNN, 32x32 images, one epoch.
OVERRIDES = {
    "image_size": [32, 32],
    "backbone": {"name": "resnet10t"},
    "loader": {"backend": "threads", "batch_size": 8, "workers": 1},
    "trainer": {"epochs": 1, "lr": 0.002, "progress": "never"},
    "bootstrap": 20,
}
#: Largest difference between two ways of scoring a patient (eager PyTorch vs ONNX Runtime,
#: MedFusion's data path vs the standalone numpy one).
ATOL = 1e-4


@attrs.frozen
class Trained:
    """The trained and exported run, and a manifest of new patients."""

    run: Path
    artifact: Path
    manifest: Path
    export_output: str


def _small_config(path: Path, runs_dir: Path) -> None:
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config["data"]["image"]["size"] = OVERRIDES["image_size"]
    config["data"]["loader"] = OVERRIDES["loader"]
    config["model"]["backbone"] = OVERRIDES["backbone"]
    config["trainer"]["params"] = OVERRIDES["trainer"]
    config["evaluation"]["bootstrap"] = OVERRIDES["bootstrap"]
    config["runs_dir"] = str(runs_dir)
    path.write_text(yaml.safe_dump(config), encoding="utf-8")


def _new_patients(data: Path) -> Path:
    """The demo manifest as new patients: without the label, mask and subgroup columns; the
    first patient loses both views, the second every clinical value, the third ``lab``, the
    fourth its second view."""
    with open(data / "manifest.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    blanks = [("view1", "view2"), ("age", "lab", "sex"), ("lab",), ("view2",)]
    for row, columns in zip(rows, blanks, strict=False):
        row.update(dict.fromkeys(columns, ""))
    keep = ["patient_id", "view1", "view2", "age", "sex", "lab"]
    path = data / "new-patients.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=keep, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    """demo-data -> train -> evaluate -> export --format onnx, once for the module."""
    root = tmp_path_factory.mktemp("trained")
    data = root / "data"
    medfusion("demo-data", data, "--patients", PATIENTS, "--seed", 2).ok()
    _small_config(data / "config.yaml", root / "runs")
    medfusion("train", data / "config.yaml").ok()
    run = root / "runs" / "demo"
    medfusion("evaluate", run).ok()
    exported = medfusion("export", run, "--format", "onnx").ok()
    return Trained(run, run / "export" / "fused.onnx", _new_patients(data), exported.out)


def _read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _standalone_in_clean_process(artifact: Path, manifest: Path, folder: Path) -> Path:
    """Copy ``standalone.py`` and the ONNX file alone (no sidecar: the embedded metadata must
    suffice) into ``folder``, score ``manifest`` there in a new Python process and check that
    neither torch nor MedFusion was imported; returns the CSV it wrote."""
    folder.mkdir()
    shutil.copy(standalone.__file__, folder / "standalone.py")
    shutil.copy(artifact, folder / "model.onnx")
    out = folder / "predictions.csv"
    script = (
        "import runpy, sys\n"
        f"sys.argv = ['standalone.py', 'model.onnx', {str(manifest)!r}, '--out', {str(out)!r}]\n"
        "try:\n"
        "    runpy.run_path('standalone.py', run_name='__main__')\n"
        "except SystemExit as exit:\n"
        "    assert exit.code in (0, None), exit.code\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] in ('torch', 'medfusion_core')]\n"
        "loaded += [m for m in sys.modules if m.startswith('medfusion')]\n"
        "assert not loaded, f'imported {sorted(loaded)[:5]}'\n"
        "assert 'onnxruntime' in sys.modules and 'numpy' in sys.modules\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=folder, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return out


def test_export_prints_and_records_the_verification(trained: Trained) -> None:
    match = re.search(
        r"verified onnx: max abs diff (\S+) vs eager PyTorch on (\d+) samples", trained.export_output
    )
    assert match, trained.export_output
    sidecar = json.loads(Path(f"{trained.artifact}.json").read_text(encoding="utf-8"))
    verification = sidecar["verification"]
    assert float(match.group(1)) == pytest.approx(verification["max_abs_diff"], rel=1e-2, abs=1e-12)
    assert verification["passed"] and verification["max_abs_diff"] <= ATOL
    assert int(match.group(2)) == verification["n_samples"] > 6  # held-out test patients + 1 + 5


def test_artifact_metadata_is_the_runs_record(trained: Trained) -> None:
    record = json.loads((trained.run / "preprocessing.json").read_text(encoding="utf-8"))
    sidecar = json.loads(Path(f"{trained.artifact}.json").read_text(encoding="utf-8"))
    image = {key: value for key, value in record["image"].items() if key != "max_views"}
    assert sidecar["preprocessing"] == record
    assert sidecar["image"] == image
    assert sidecar["inputs"]["views"] == record["image"]["max_views"] == 2
    assert sidecar["inputs"]["clinical_features"] == record["clinical_features"]
    assert sidecar["task"] == {
        "type": record["task"],
        "classes": record["classes"],
        "num_outputs": record["num_outputs"],
        "threshold": record["thresholds"]["fused"],
    }


def test_predict_run_predict_model_and_standalone_agree(trained: Trained, tmp_path: Path) -> None:
    by_run = tmp_path / "run.csv"
    by_model = tmp_path / "model.csv"
    medfusion("predict", trained.run, trained.manifest, "--out", by_run).ok()
    medfusion("predict", "--model", trained.artifact, trained.manifest, "--out", by_model).ok()
    by_standalone = _standalone_in_clean_process(trained.artifact, trained.manifest, tmp_path / "deploy")
    reference = _read_csv(by_run)
    patients = [row["patient_id"] for row in _read_csv(trained.manifest)]
    assert [row["patient_id"] for row in reference] == patients
    assert list(reference[0]) == ["patient_id", "probability", "predicted", "threshold"]
    probability = np.array([float(row["probability"]) for row in reference])
    assert np.ptp(probability) > 1e-3  # the patients get different scores
    threshold = float(reference[0]["threshold"])
    decided = np.abs(probability - threshold) > ATOL  # labels at the threshold may flip
    for other in (by_model, by_standalone):
        rows = _read_csv(other)
        assert [list(row) for row in rows] == [list(row) for row in reference], other.name
        assert [row["patient_id"] for row in rows] == patients
        np.testing.assert_allclose([float(row["probability"]) for row in rows], probability, atol=ATOL)
        assert {float(row["threshold"]) for row in rows} == {threshold}
        labels = np.array([row["predicted"] for row in rows])
        expected = np.array([row["predicted"] for row in reference])
        assert (labels[decided] == expected[decided]).all(), other.name


def _one_line_error(outcome: Outcome, *needles: str) -> str:
    """The single stderr line of a failed command, after checking it names ``needles``."""
    lines = outcome.err.strip().splitlines()
    assert outcome.code != 0 and len(lines) == 1, outcome.err
    assert lines[0].startswith("error: ") and "Traceback" not in outcome.err
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def test_run_without_checkpoints_is_a_one_line_error(trained: Trained, tmp_path: Path) -> None:
    run = tmp_path / "untrained"
    run.mkdir()
    for name in ("config.yaml", "preprocessing.json", "splits.csv"):
        shutil.copy(trained.run / name, run / name)
    export = _one_line_error(medfusion("export", run), str(run / "fused"), "no checkpoint")
    assert "medfusion train" in export
    predict = medfusion("predict", run, trained.manifest, "--out", tmp_path / "p.csv")
    assert "not trained" in _one_line_error(predict, str(run / "fused"))
    assert not (run / "export").exists() and not (tmp_path / "p.csv").exists()


def test_missing_or_corrupt_artifact_is_a_one_line_error(trained: Trained, tmp_path: Path) -> None:
    missing = tmp_path / "missing.onnx"
    out = tmp_path / "p.csv"
    _one_line_error(
        medfusion("predict", "--model", missing, trained.manifest, "--out", out), str(missing), "not found"
    )
    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(b"not an onnx model")
    message = _one_line_error(
        medfusion("predict", "--model", corrupt, trained.manifest, "--out", out), str(corrupt)
    )
    assert "not a loadable ONNX model" in message and "medfusion export" in message
    bad_sidecar = tmp_path / "model.onnx"
    shutil.copy(trained.artifact, bad_sidecar)
    Path(f"{bad_sidecar}.json").write_text("{truncated", encoding="utf-8")
    message = _one_line_error(
        medfusion("predict", "--model", bad_sidecar, trained.manifest, "--out", out), f"{bad_sidecar}.json"
    )
    assert "unreadable JSON" in message and "re-export" in message
    assert not out.exists()


def test_manifest_without_a_clinical_column_is_a_one_line_error(trained: Trained, tmp_path: Path) -> None:
    rows = _read_csv(trained.manifest)
    manifest = trained.manifest.parent / "no-lab.csv"  # beside the images its rows name
    with open(manifest, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=[c for c in rows[0] if c != "lab"], extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    out = tmp_path / "p.csv"
    for args in ((trained.run, manifest), ("--model", trained.artifact, manifest)):
        message = _one_line_error(medfusion("predict", *args, "--out", out), str(manifest))
        assert "missing column(s) lab" in message
    with pytest.raises(
        standalone.StandaloneError, match=r"no-lab\.csv: missing column\(s\) lab that the model"
    ):
        standalone.StandaloneModel(trained.artifact).predict_manifest(manifest)
    assert not out.exists()
    manifest.unlink()


def test_standalone_command_line_errors_are_one_line(
    trained: Trained, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(b"\x00garbage")
    for model, needle in ((tmp_path / "missing.onnx", "model file not found"), (corrupt, "not a loadable")):
        with pytest.raises(SystemExit) as exit:
            standalone.main([str(model), str(trained.manifest)])
        err = capsys.readouterr().err.strip().splitlines()
        assert exit.value.code == 2 and len(err) == 1 and needle in err[0] and str(model) in err[0]
