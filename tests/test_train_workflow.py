"""train -> evaluate -> predict on a small demo dataset with a tiny backbone (plugins registered by hand)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import attrs
import medfusion_plugin_aggregators.hooks as aggregators
import medfusion_plugin_fusion.hooks as fusions
import medfusion_plugin_trainer.hooks as trainer
import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from medfusion_core import runs
from medfusion_core.config import load_config
from medfusion_core.demo import write_demo
from medfusion_core.errors import ConfigError, DataError
from medfusion_core.workflow import evaluate_run, load_variant, open_run, predict_manifest, train_run


def _tiny_plugin() -> object:
    name = "medfusion_test_tiny_backbone"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, Path(__file__).with_name("model_tiny_backbone.py")
        )
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


TINY = _tiny_plugin()


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


@pytest.fixture
def host(medfusion_host):
    for module, name in [
        (TINY, TINY.PLUGIN),
        (trainer, "medfusion-plugin-trainer"),
        (aggregators, "medfusion-plugin-aggregators"),
        (fusions, "medfusion-plugin-fusion"),
    ]:
        medfusion_host.register(module, name)
    return medfusion_host


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
