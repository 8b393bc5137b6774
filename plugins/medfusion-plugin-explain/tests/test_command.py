"""End to end on a trained demo run: ``explain_run`` files and numbers, the report section, and
``medfusion explain`` as a user runs it (one-line errors)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from medfusion_plugin_evaluation.run import evaluate_run
from medfusion_plugin_explain.command import command
from medfusion_plugin_explain.explain import ExplainOptions, explain_run
from medfusion_plugin_pipeline.demo import write_demo
from medfusion_plugin_pipeline.training import train_run

from medfusion_core.config import load_config
from medfusion_core.errors import DataError

PNG = b"\x89PNG\r\n\x1a\n"
PATIENTS = ["P0000", "P0003"]


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    """The demo data (24 patients, 32x32, two views with lesion masks) trained one epoch, every
    variant, with a spatial attention gate supervised by the lesion masks."""
    folder = write_demo(tmp_path_factory.mktemp("explain") / "data", patients=24, seed=2)
    config = yaml.safe_load((folder / "config.yaml").read_text())
    config["data"]["image"]["size"] = [32, 32]
    config["model"]["backbone"]["attention"] = {"name": "spatial"}
    config["model"]["attention_loss"] = {"name": "mask_guided"}
    config["trainer"]["params"] = {"epochs": 1, "progress": "never"}
    config["evaluation"]["bootstrap"] = 20
    config["runs_dir"] = str(folder / "runs")
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    paths, _ = train_run(load_config(folder / "config.yaml"), modalities="all")
    return paths.root


def _check_mask_scores(scores: dict) -> None:
    """Lesion-mask scores of one variant: every map scored over the masked test views."""
    assert set(scores) == {"gradcam", "gradcampp", "attention_module"}
    for row in scores.values():
        assert row["views"] > 0
        assert 0.0 <= row["pointing_game"] <= 1.0 and 0.0 <= row["iou"] <= 1.0
        assert row["mass_inside"] is None or 0.0 <= row["mass_inside"] <= 1.0  # None: every map zero


def test_explain_run_writes_overlays_and_numbers(run, tmp_path):
    out = tmp_path / "explain"
    result = json.loads(
        explain_run(run, PATIENTS, out, options=ExplainOptions(steps=32, repeats=2)).read_text()
    )
    assert list(result["variants"]) == ["fused", "image"] and result["methods"] == ["gradcam", "gradcampp"]
    assert result["attention_supervision"] == "mask_guided (weight 0.1)"
    for variant in result["variants"].values():
        print("mask scores (test split):", json.dumps(variant["mask_scores"]))
        _check_mask_scores(variant["mask_scores"])
    fused = result["variants"]["fused"]
    assert list(fused["patients"]) == PATIENTS
    for patient in fused["patients"].values():
        assert patient["views"], "every demo patient here has views"
        for view in patient["views"].values():
            assert (out / view["file"]).read_bytes().startswith(PNG)
            if "mask" in view:
                assert set(view["mask"]) == {"gradcam", "gradcampp", "attention_module"}
        clinical = patient["clinical"]
        assert set(clinical["columns"]) == {"age", "lab", "sex"}
        delta = clinical["score"] - clinical["baseline_score"]
        assert clinical["completeness_error"] <= 0.05 * abs(delta) + 1e-3
        assert 0.0 <= patient["prediction"] <= 1.0
    assert set(fused["sanity"]) == {"gradcam", "gradcampp"}
    assert set(fused["permutation_importance"]) == {"baseline", "age", "lab", "sex"}
    assert not [p for p in out.rglob(".*")], "no temporary files left"


def test_report_section_shows_top_k_and_errors(run):
    report = evaluate_run(run)
    metrics = json.loads((report.parent / "metrics.json").read_text())
    assert "explanations" not in metrics.get("section_errors", {}), metrics.get("section_errors")
    chosen = metrics["sections"]["explanations"]["patients"]
    assert set(chosen) == {"top", "false_positives", "false_negatives"} and len(chosen["top"]) == 3
    masks = metrics["sections"]["explanations"]["mask_scores"]
    assert set(masks) == {"fused", "image-only"}, "every variant with images is scored"
    for scores in masks.values():
        _check_mask_scores(scores)
    assert metrics["sections"]["explanations"]["attention_supervision"] == "mask_guided (weight 0.1)"
    markdown = (report.parent / "report.md").read_text()
    assert "## Explanations" in markdown
    table = [line for line in markdown.splitlines() if line.startswith("| image-only | attention_module |")]
    assert len(table) == 1 and f"| {masks['image-only']['attention_module']['iou']:.3f} |" in table[0]
    assert (report.parent / "explain-top.png").read_bytes().startswith(PNG)


def test_command_in_process(run, tmp_path):
    options = ["--patients", "P0000,P0003", "--method", "gradcam", "--steps", "8"]
    result = CliRunner().invoke(command, [str(run), *options, "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "explanations:" in result.output
    written = json.loads((tmp_path / "explanations.json").read_text())
    assert written["methods"] == ["gradcam"]
    assert "attention supervision: mask_guided (weight 0.1)" in result.output
    for variant in ("fused", "image"):
        gradcam = written["variants"][variant]["mask_scores"]["gradcam"]
        line = f"{variant} gradcam: pointing game {gradcam['pointing_game']:.3f}, IoU {gradcam['iou']:.3f}"
        assert line in result.output, result.output
    with pytest.raises(DataError, match=r"no trained model with images"):
        explain_run(run, PATIENTS, tmp_path, variant="clinical")


def _fail(*args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDFUSION_")}
    code = "import sys; from medfusion_core.cli import main; sys.argv = ['medfusion', *sys.argv[1:]]; main()"
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, timeout=600
    )
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr[-2000:]
    return lines[0]


def test_cli_errors_are_one_line(run, tmp_path):
    line = _fail("explain", str(run), "--patients", "nobody", "--out", str(tmp_path))
    assert "--patients" in line and "'nobody'" in line
    line = _fail("explain", str(tmp_path), "--patients", "P0000", "--out", str(tmp_path / "x"))
    assert "not a MedFusion run" in line


def test_run_given_as_a_registered_model(run, tmp_path, monkeypatch):
    """``medfusion explain NAME@alias`` resolves through the trackers like ``evaluate`` does."""
    from medfusion_plugin_tracking.store import TrackingStore

    url = f"sqlite:///{tmp_path / 'store.db'}"
    monkeypatch.setenv("MEDFUSION_TRACKING_URI", url)
    with TrackingStore(url) as store:
        store.register_model_version(
            "chest",
            None,
            variant="fused",
            checkpoint=str(run / "fused" / "checkpoints" / "best.pt"),
            lineage={"run_dir": str(run)},
        )
        store.set_alias("chest", "champion", 1)
    options = ["--patients", "P0000", "--method", "gradcam", "--steps", "4", "--repeats", "1"]
    result = CliRunner().invoke(command, ["chest@champion", *options, "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    written = json.loads((tmp_path / "out" / "explanations.json").read_text())
    assert written["run"] == str(run.resolve()) and list(written["variants"]) == ["fused"]
