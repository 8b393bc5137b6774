"""train -> evaluate -> predict on a small demo dataset with a tiny backbone (plugins registered by hand)."""

from __future__ import annotations

from pathlib import Path

import attrs
import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from medfusion_plugin_evaluation.run import evaluate_run
from medfusion_plugin_pipeline.demo import write_demo
from medfusion_plugin_pipeline.prediction import predict_manifest
from medfusion_plugin_pipeline.training import train_run

from medfusion_core import runs
from medfusion_core.config import load_config
from medfusion_core.errors import ConfigError, DataError
from medfusion_core.model import MODEL_INPUTS
from medfusion_core.runs.loading import load_variant, open_run
from medfusion_core.testing import tiny_backbone

TINY = tiny_backbone


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory) -> Path:
    folder = write_demo(tmp_path_factory.mktemp("demo") / "data", patients=40, seed=1)
    config = yaml.safe_load((folder / "config.yaml").read_text())
    config["model"]["backbone"] = {"name": "tiny"}
    config["data"]["image"]["size"] = [32, 32]
    config["data"]["loader"]["batch_size"] = 8
    config["trainer"]["params"] = {"epochs": 2, "lr": 0.01, "progress": "never", "checkpoint_every": 2}
    config["evaluation"]["bootstrap"] = 20
    config["runs_dir"] = str(folder / "runs")
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    return folder


def test_train_all_evaluate_predict(host, demo_dir, tmp_path):
    config = load_config(demo_dir / "config.yaml")
    paths, summaries = train_run(config, modalities="all")
    assert set(summaries) == {"fused", "image", "clinical"}
    for variant in ("fused", "image", "clinical"):
        folder = paths.variant(variant)
        assert folder.best.is_file() and folder.last.is_file() and folder.summary.is_file()
        epochs = [r for r in runs.read_jsonl(folder.metrics) if r["event"] == "epoch"]
        assert [r["epoch_index"] for r in epochs] == [0, 1]
    splits = runs.read_splits(paths.splits)
    assert len(splits) == 40 and set(splits.values()) == {"train", "val", "test"}
    preprocessing = runs.read_json(paths.preprocessing)
    assert preprocessing["task"] == "binary" and preprocessing["image"]["size"] == [32, 32]

    report = evaluate_run(paths.root)
    assert report == paths.report / "report.html" and (paths.report / "report.md").is_file()
    metrics = runs.read_json(paths.report / "metrics.json")
    assert set(metrics["models"]) == {"fused", "image-only", "clinical-only"}
    thresholds = runs.read_json(paths.preprocessing)["thresholds"]
    assert set(thresholds) == {"fused", "image-only", "clinical-only"}

    # predict on the manifest without its label column; compare with scoring the run's own data
    table = pd.read_csv(demo_dir / "manifest.csv").drop(columns=["label"])
    new_manifest = demo_dir / "unlabelled.csv"
    table.to_csv(new_manifest, index=False)
    out = predict_manifest(paths.root, new_manifest, tmp_path / "pred.csv")
    predicted = pd.read_csv(out)
    assert predicted["patient_id"].tolist() == list(dict.fromkeys(table["patient_id"]))

    from medfusion_core.data import prepare_data

    run = open_run(paths.root)
    data = prepare_data(run.config)
    model = load_variant(run, "fused")
    with torch.no_grad():
        batch = next(data.loader("all", train=False, batch_size=40).iter_batches(0))
        logits = model(batch["images"], batch["view_mask"], batch["clinical"], batch["modality_mask"])
    expected = torch.sigmoid(logits[:, 0]).numpy()
    np.testing.assert_allclose(predicted["probability"].to_numpy(), expected, rtol=1e-5, atol=1e-6)
    assert (predicted["predicted"] == (expected >= thresholds["fused"]).astype(int)).all()


def test_retrain_is_refused_and_leaves_run_untouched(host, demo_dir):
    config = load_config(demo_dir / "config.yaml")
    paths = runs.RunPaths.for_config(config)
    if not paths.variant("fused").last.is_file():
        train_run(config)
    before = paths.variant("fused").last.read_bytes()
    with pytest.raises(DataError, match="already trained; use --resume"):
        train_run(config)
    changed = attrs.evolve(config, seed=5)
    with pytest.raises(DataError, match="already trained"):
        train_run(changed, modalities="fused")
    bad = attrs.evolve(
        config, model=attrs.evolve(config.model, fusion=attrs.evolve(config.model.fusion, name="nope"))
    )
    with pytest.raises(ConfigError):
        train_run(bad, overwrite=True)
    assert paths.variant("fused").last.read_bytes() == before


def test_resume_continues_a_finished_run_without_training(host, demo_dir):
    config = load_config(demo_dir / "config.yaml")
    paths = runs.RunPaths.for_config(config)
    if not paths.variant("fused").last.is_file():
        train_run(config)
    before = paths.variant("fused").last.read_bytes()
    _, summaries = train_run(config, resume=True)
    assert summaries["fused"]["epochs"] == 2
    assert paths.variant("fused").last.read_bytes() == before


def test_evaluate_and_predict_errors_are_one_line(host, tmp_path, demo_dir):
    with pytest.raises(DataError) as info:
        evaluate_run(tmp_path / "missing")
    assert "not a MedFusion run" in str(info.value) and "\n" not in str(info.value)
    config = load_config(demo_dir / "config.yaml")
    root = runs.RunPaths.for_config(config).root
    if not runs.RunPaths(root).variant("fused").last.is_file():
        train_run(config)
    with pytest.raises(DataError, match="manifest not found"):
        predict_manifest(root, tmp_path / "nope.csv", tmp_path / "out.csv")
    with pytest.raises(DataError, match="not a MedFusion run"):
        evaluate_run(root.parent / "no-such-run")


RAISING_REPORT = """
from medfusion_core import ComponentSpec, hookimpl


class Raises:
    title = "Raises"
    order = 100

    def render(self, context):
        raise RuntimeError("third-party section failed")


@hookimpl
def medfusion_register_reports():
    return [ComponentSpec("raises", "report", "mf_raising_report:Raises", "Always raises.")]
"""


def test_evaluate_command_survives_a_raising_report_section(host, demo_dir, fake_distribution, capsys):
    import importlib

    import medfusion_plugin_evaluation.hooks as evaluation

    from medfusion_core.registry import get_registry

    fake_distribution("mf-raising-report", module_source=RAISING_REPORT)
    host.register(evaluation, "medfusion-plugin-evaluation")
    host.register(importlib.import_module("mf_raising_report"), "mf-raising-report")
    config = load_config(demo_dir / "config.yaml")
    root = runs.RunPaths.for_config(config).root
    if not runs.RunPaths(root).variant("fused").last.is_file():
        train_run(config)
    report = get_registry().load("command", "evaluate").main(args=[str(root)], standalone_mode=False)
    assert report == root / "report" / "report.html"
    out, err = capsys.readouterr()
    *_, auroc, last = out.splitlines()
    assert last == f"report: {report}" and auroc.startswith("test AUROC: fused")
    assert "warning: report section raises failed (RuntimeError: third-party section failed)" in err
    markdown = (root / "report" / "report.md").read_text(encoding="utf-8")
    assert markdown.rstrip().endswith("- Raises (raises): RuntimeError: third-party section failed")
    assert "## Models side by side" in markdown and "## Plots" in markdown
    metrics = runs.read_json(root / "report" / "metrics.json")
    assert metrics["section_errors"] == {"raises": "RuntimeError: third-party section failed"}
    assert set(metrics["models"]) >= {"fused"}


def _lesion_contrast(run_root: Path) -> float:
    """How much more the trained fused model attends inside the lesion masks than outside: mean
    attention on lesion pixels minus mean attention elsewhere, over the annotated training views."""
    import torch.nn.functional as F

    from medfusion_core.data import prepare_data

    run = open_run(run_root)
    model = load_variant(run, "fused")
    loader = prepare_data(run.config).loader("train", train=False, batch_size=64)
    with torch.no_grad():
        batch = next(loader.iter_batches(0))
        inputs = [batch[key] for key in MODEL_INPUTS]
        maps = model.forward_with_extras(*inputs)["attention_maps"]
    keep = (batch["view_mask"] & batch["lesion_mask_valid"]).reshape(-1)
    maps = maps.reshape(-1, 1, *maps.shape[-2:])[keep]
    masks = batch["lesion_mask"].reshape(-1, 1, *batch["lesion_mask"].shape[-2:])[keep]
    lesion = (F.adaptive_avg_pool2d(masks, maps.shape[-2:]) > 0.5).float()
    inside = (maps * lesion).sum() / lesion.sum()
    outside = (maps * (1 - lesion)).sum() / (1 - lesion).sum()
    return float(inside - outside)


def test_attention_supervision_pulls_attention_toward_the_lesion_masks(host, demo_dir, tmp_path):
    import medfusion_plugin_attention.hooks as attention

    host.register(attention, "medfusion-plugin-attention")
    config = yaml.safe_load((demo_dir / "config.yaml").read_text())
    config["model"]["backbone"]["attention"] = {"name": "spatial"}
    config["trainer"]["params"].update(epochs=3, checkpoint_every=0)
    contrast, logged = {}, {}
    for name, weight in (("plain", None), ("supervised", 5.0)):
        config["name"], config["runs_dir"] = name, str(tmp_path)
        config["model"]["attention_loss"] = {"name": "mask_guided"} if weight else None
        config["model"]["attention_loss_weight"] = weight or 0.1
        (demo_dir / f"attention-{name}.yaml").write_text(yaml.safe_dump(config))
        paths, _ = train_run(load_config(demo_dir / f"attention-{name}.yaml"), modalities="fused")
        records = runs.read_jsonl(paths.variant("fused").metrics)
        logged[name] = [r.get("train_attention_loss") for r in records if r["event"] == "epoch"]
        contrast[name] = _lesion_contrast(paths.root)

    assert logged["plain"] == [None] * 3  # no supervision, nothing logged
    supervised = logged["supervised"]
    assert all(np.isfinite(supervised)) and supervised[-1] < supervised[0]
    # same seed, data and model: only the attention loss differs, and it moves the maps to the masks
    assert contrast["supervised"] > 0.1, (contrast, logged)
    assert contrast["supervised"] > contrast["plain"] + 0.15, (contrast, logged)


@pytest.mark.parametrize(
    ("task", "label", "columns", "metric"),
    [
        (
            {"type": "multiclass", "classes": ["low", "mid", "high"]},
            "grade",
            ["probability_low", "probability_mid", "probability_high", "predicted"],
            "macro_auroc",
        ),
        ({"type": "regression"}, "score", ["prediction"], "mae"),
    ],
)
def test_multiclass_and_regression_runs_evaluate_predict_and_export(
    host, demo_dir, tmp_path, task, label, columns, metric
):
    from medfusion_plugin_export.exporters import OnnxExporter
    from medfusion_plugin_export.predict import predict_with_artifact

    table = pd.read_csv(demo_dir / "manifest.csv")
    rng = np.random.default_rng(0)
    table["grade"] = np.where(table["label"] == 1, rng.choice(["high", "mid"], len(table)), "low")
    table["score"] = 2.0 * table["label"] + rng.normal(0, 0.3, len(table))
    manifest = demo_dir / f"manifest_{label}.csv"  # beside the images its paths are relative to
    table.drop(columns=["label"]).to_csv(manifest, index=False)
    raw = yaml.safe_load((demo_dir / "config.yaml").read_text())
    raw.update(name=f"task_{label}", task=task, runs_dir=str(tmp_path / "runs"))
    raw["data"].update(manifest=manifest.name, label=label)
    (demo_dir / f"config_{label}.yaml").write_text(yaml.safe_dump(raw))
    paths, _ = train_run(load_config(demo_dir / f"config_{label}.yaml"))

    evaluate_run(paths.root)
    assert metric in runs.read_json(paths.report / "metrics.json")["models"]["fused"]
    predicted = pd.read_csv(predict_manifest(paths.root, manifest, tmp_path / "pred.csv"))
    assert list(predicted.columns) == ["patient_id", *columns]

    rows = pd.DataFrame(predict_with_artifact(OnnxExporter().export(paths.root), manifest))
    assert list(rows.columns) == ["patient_id", *columns]
    numeric = [c for c in columns if c != "predicted"]
    np.testing.assert_allclose(rows[numeric].to_numpy(float), predicted[numeric].to_numpy(float), atol=1e-5)
    if "predicted" in columns:
        assert rows["predicted"].tolist() == predicted["predicted"].tolist()


def test_cross_validation_folds_are_separate_runs_with_disjoint_validation(host, demo_dir, tmp_path):
    from medfusion_plugin_pipeline.folds import fold_configs, summarise_folds

    config = load_config(demo_dir / "config.yaml")
    config = attrs.evolve(config, runs_dir=str(tmp_path), data=attrs.evolve(config.data, folds=3))
    trainer_params = {**config.trainer.params, "epochs": 1}
    config = attrs.evolve(config, trainer=attrs.evolve(config.trainer, params=trainer_params))
    splits, per_fold = [], {}
    for fold_config in fold_configs(config, "all"):
        paths, per_fold[fold_config.data.fold] = train_run(fold_config)
        assert paths.root.name == f"demo-fold{fold_config.data.fold}"
        evaluate_run(paths.root)  # re-derives the fold's splits from the run's config and checks them
        splits.append(runs.read_splits(paths.splits))
    path, summary = summarise_folds(config, per_fold)
    assert path == tmp_path / "demo-folds.json" and runs.read_json(path) == summary
    best = [per_fold[k]["fused"]["best_value"] for k in range(3)]
    fused = summary["variants"]["fused"]
    assert list(fused["folds"].values()) == best
    assert fused["mean"] == pytest.approx(np.mean(best))
    assert fused["std"] == pytest.approx(np.std(best, ddof=1))
    assert [c.data.fold for c in fold_configs(config, "1")] == [1]
    test = {p for p, s in splits[0].items() if s == "test"}
    assert all({p for p, s in fold.items() if s == "test"} == test for fold in splits)
    vals = [{p for p, s in fold.items() if s == "val"} for fold in splits]
    assert all(vals) and not (vals[0] & vals[1] or vals[0] & vals[2] or vals[1] & vals[2])
    assert set().union(*vals) == set(splits[0]) - test

    with pytest.raises(ConfigError, match=r"--fold 3: not a fold; use 0\.\.2 or 'all'"):
        fold_configs(config, "3")
    unfolded = attrs.evolve(config, data=attrs.evolve(config.data, folds=None))
    with pytest.raises(ConfigError, match=r"data\.folds is not set"):
        fold_configs(unfolded, "all")
