"""``medfusion demo-data``: a valid manifest and config, signal in both modalities, safe writes."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from medfusion_plugin_pipeline.commands.demo_data import command
from medfusion_plugin_pipeline.demo import write_demo
from medfusion_plugin_readers import hooks as readers_hooks
from PIL import Image
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import cross_val_predict

from medfusion_core.config import load_config
from medfusion_core.data import prepare_data
from medfusion_core.errors import DataError


@pytest.fixture(autouse=True)
def readers(medfusion_host):
    """Only the core plugin (reference kernels) and the image readers: installed plugins never
    leak in."""
    medfusion_host.register(readers_hooks, "medfusion-plugin-readers")
    return medfusion_host


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return write_demo(tmp_path_factory.mktemp("demo") / "data", patients=200, seed=3)


def test_demo_config_loads_and_prepares(demo, medfusion_host):
    config = load_config(demo / "config.yaml", check=False)
    data = prepare_data(config)
    manifest = data.manifest
    assert len(manifest) == 200 and manifest.max_views == 2
    counts = [len(v) for v in manifest.views]
    assert {0, 1, 2} <= set(counts)
    assert (~data.clinical_present).sum() >= 1
    assert 0.02 < np.isnan(manifest.clinical["lab"]).mean() < 0.3
    batch = next(data.loader("train", batch_size=4).iter_batches(0))
    assert batch["images"].shape == (4, 2, 1, 64, 64)
    assert batch["lesion_mask"].shape == (4, 2, 1, 64, 64)


def test_fusing_both_modalities_beats_either_alone(demo):
    """Logistic regression (scikit-learn) on the lesion area, on the clinical vector, and on both."""
    data = prepare_data(load_config(demo / "config.yaml", check=False))
    both = data.image_present & data.clinical_present
    labels = data.labels.values[both]
    masks = [m[0] for m, ok in zip(data.manifest.masks, both, strict=True) if ok]
    area = np.array([[float((np.asarray(Image.open(m)) > 0).sum())] for m in masks])
    clinical = data.clinical[both]
    aucs = {}
    for name, features in (("image", area), ("clinical", clinical), ("fused", np.hstack([area, clinical]))):
        scores = cross_val_predict(
            LogisticRegression(max_iter=1000), features, labels, cv=5, method="predict_proba"
        )
        aucs[name] = roc_auc_score(labels, scores[:, 1])
    assert aucs["image"] > 0.65 and aucs["clinical"] > 0.65
    assert aucs["fused"] > max(aucs["image"], aucs["clinical"]) + 0.03, aucs


def test_config_names_the_quickstart_components(demo):
    config = yaml.safe_load((demo / "config.yaml").read_text())
    assert config["model"]["backbone"]["name"] == "regnetx_002"
    assert config["data"]["image"]["channels"] == 1 and config["data"]["image"]["size"] == [64, 64]


def test_refuses_non_empty_folder_unless_forced(tmp_path):
    target = tmp_path / "out"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    with pytest.raises(DataError, match="exists and is not empty"):
        write_demo(target, patients=10)
    result = CliRunner().invoke(command, [str(target), "--patients", "12", "--seed", "1", "--force"])
    assert result.exit_code == 0, result.output
    assert not (target / "keep.txt").exists() and (target / "manifest.csv").is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no temporary folders left behind


def test_same_seed_same_data(tmp_path):
    a = write_demo(tmp_path / "a", patients=10, seed=7)
    b = write_demo(tmp_path / "b", patients=10, seed=7)
    assert (a / "manifest.csv").read_text() == (b / "manifest.csv").read_text()
