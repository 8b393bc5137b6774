"""Exporting a run end to end: the CLI command, the artifact's metadata, `predict --model` and the
standalone runner in a process without torch, all against eager PyTorch on the same patients."""

from __future__ import annotations

import csv
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from click.testing import CliRunner
from medfusion_plugin_export import standalone
from medfusion_plugin_export.command import command as export_command
from medfusion_plugin_export.predict import predict_with_artifact
from medfusion_plugin_export.run_loading import load_run

from medfusion_core.config import config_to_dict, load_config
from medfusion_core.errors import ExportError
from medfusion_core.testing import isolated_host

sys.path.insert(0, str(Path(__file__).parent))
from export_runs import load_testkit

KIT = load_testkit()


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A tiny run exported to ONNX through the CLI command (once for the module)."""
    root = tmp_path_factory.mktemp("run")
    with isolated_host() as host:
        KIT.register_all(host)
        run = KIT.make_run(root, patients=20)
        result = CliRunner().invoke(export_command, [str(run), "--format", "onnx"], catch_exceptions=False)
    artifact = run / "export" / "fused.onnx"
    return {"run": run, "artifact": artifact, "output": result.output, "exit_code": result.exit_code}


@pytest.fixture
def host(medfusion_host):
    KIT.register_all(medfusion_host)
    return medfusion_host


def _eager_probabilities(run: Path) -> dict[str, float]:
    """Sigmoid of the eager PyTorch model on every patient, through the training data path."""
    loaded = load_run(run)
    probabilities: dict[str, float] = {}
    for batch in loaded.data.loader("all", batch_size=8, backend="threads", workers=1):
        with torch.no_grad():
            logits = loaded.model(
                batch["images"], batch["view_mask"], batch["clinical"], batch["modality_mask"]
            )
        probabilities.update(zip(batch["patient_id"], torch.sigmoid(logits[:, 0]).tolist(), strict=True))
    return probabilities


def test_cli_export_prints_and_saves_verification(exported: dict) -> None:
    assert exported["exit_code"] == 0
    assert "verified onnx: max abs diff" in exported["output"]
    sidecar = json.loads(Path(f"{exported['artifact']}.json").read_text())
    verification = sidecar["verification"]
    assert verification["passed"] and verification["max_abs_diff"] <= 1e-4
    assert (
        verification["n_samples"] >= 6
        and 1 in verification["batch_sizes"]
        and 5 in verification["batch_sizes"]
    )


def test_artifact_carries_what_inference_needs(exported: dict) -> None:
    run, artifact = exported["run"], exported["artifact"]
    sidecar = json.loads(Path(f"{artifact}.json").read_text())
    preprocessing = json.loads((run / "preprocessing.json").read_text())
    config = load_config(run / "config.yaml", check=False)
    canonical = json.dumps(config_to_dict(config), sort_keys=True, separators=(",", ":"))
    assert sidecar["preprocessing"]["tabular"] == preprocessing["tabular"]
    assert sidecar["task"] == {"type": "binary", "classes": ["0", "1"], "num_outputs": 1, "threshold": 0.37}
    assert sidecar["image"] == {"size": [32, 32], "channels": 1, "window": None, "mean": [0.4], "std": [0.2]}
    card = sidecar["model_card"]
    assert card["config_hash"] == hashlib.sha256(canonical.encode()).hexdigest()
    assert card["format"] == "onnx" and card["medfusion_core_version"] == "0.1.0"
    assert card["plugin_versions"]["medfusion-plugin-export"] == "0.1.0"
    assert card["components"] == {
        "modalities": "fused",
        "backbone": "tinycnn",
        "aggregator": "mean",
        "fusion": "concat",
    }
    props = {p.key: json.loads(p.value) for p in onnx.load(str(artifact)).metadata_props}
    for key in ("task", "image", "preprocessing", "model_card", "inputs", "columns"):
        assert props[f"medfusion.{key}"] == sidecar[key]


def test_predict_with_artifact_matches_eager_pytorch(exported: dict, host, tmp_path: Path) -> None:
    run, artifact = exported["run"], exported["artifact"]
    manifest = load_config(run / "config.yaml", check=False).data.manifest
    out = tmp_path / "predictions.csv"
    rows = predict_with_artifact(artifact, manifest, out)
    eager = _eager_probabilities(run)
    assert [row["patient_id"] for row in rows] == list(eager)
    got = np.array([row["probability"] for row in rows])
    np.testing.assert_allclose(got, np.array(list(eager.values())), atol=1e-5)
    assert [row["predicted"] for row in rows] == [str(int(p >= 0.37)) for p in got]
    with open(out, newline="") as handle:
        assert [r["patient_id"] for r in csv.DictReader(handle)] == list(eager)


def test_standalone_runner_needs_no_torch_and_agrees(exported: dict, host, tmp_path: Path) -> None:
    run, artifact = exported["run"], exported["artifact"]
    manifest = load_config(run / "config.yaml", check=False).data.manifest
    out = tmp_path / "standalone.csv"
    script = (
        "import runpy, sys\n"
        f"sys.argv = ['standalone', {str(artifact)!r}, {str(manifest)!r}, '--out', {str(out)!r}]\n"
        "try:\n"
        f"    runpy.run_path({standalone.__file__!r}, run_name='__main__')\n"
        "except SystemExit as exit:\n"
        "    assert exit.code in (0, None), exit.code\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
        "assert not [m for m in sys.modules if m.startswith('medfusion')], 'medfusion was imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    with open(out, newline="") as handle:
        rows = list(csv.DictReader(handle))
    reference = predict_with_artifact(artifact, manifest)
    assert [r["patient_id"] for r in rows] == [r["patient_id"] for r in reference]
    np.testing.assert_allclose(
        [float(r["probability"]) for r in rows], [r["probability"] for r in reference], atol=1e-5
    )
    assert [r["predicted"] for r in rows] == [r["predicted"] for r in reference]


@pytest.mark.parametrize("fmt", ["pt2", "torchscript"])
def test_cli_exports_pt2_and_torchscript(exported: dict, host, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"model.{fmt}"
    result = CliRunner().invoke(
        export_command, [str(exported["run"]), "--format", fmt, "--out", str(out)], catch_exceptions=False
    )
    assert result.exit_code == 0 and f"verified {fmt}" in result.output
    assert json.loads(Path(f"{out}.json").read_text())["model_card"]["format"] == fmt


def test_help_says_torchscript_is_deprecated() -> None:
    result = CliRunner().invoke(export_command, ["--help"])
    assert "torchscript" in result.output and "deprecated" in result.output


def test_unexportable_backbone_fails_with_one_line_naming_it(host, tmp_path: Path) -> None:
    run = KIT.make_run(tmp_path, backbone="itembackbone", patients=10)
    result = CliRunner().invoke(export_command, [str(run), "--format", "pt2"])
    assert isinstance(result.exception, ExportError)
    message = str(result.exception)
    assert "backbone 'itembackbone' cannot be exported" in message and "\n" not in message
    assert not (run / "export" / "fused.pt2").exists()


def test_unknown_format_lists_the_available_ones(host, exported: dict) -> None:
    result = CliRunner().invoke(export_command, [str(exported["run"]), "--format", "tflite"])
    assert isinstance(result.exception, ExportError)
    assert "available: onnx, pt2, torchscript" in str(result.exception)


def test_baseline_variant_takes_its_own_threshold(host, tmp_path: Path) -> None:
    from medfusion_core.model import build_model, with_modalities
    from medfusion_core.runs import RunPaths, read_json, save_checkpoint, write_json

    run = KIT.make_run(tmp_path, patients=10)
    paths = RunPaths(run)
    record = read_json(paths.preprocessing)
    # 'medfusion evaluate' keys the thresholds by the variants' folder names
    write_json(paths.preprocessing, {**record, "thresholds": {"fused": 0.37, "image-only": 0.21}})
    config = with_modalities(load_config(paths.config, check=False), "image", rename=False)
    model = build_model(config, clinical_features=record["clinical_features"], num_outputs=1)
    save_checkpoint(paths.variant("image").best, {"format": 1, "model": model.state_dict(), "ema": None})
    assert load_run(run, "image").threshold == 0.21 and load_run(run, "fused").threshold == 0.37
    assert load_run(run, "image").model.fusion is None
