"""train -> evaluate -> predict -> ONNX export on 3D volumes (NIfTI and .npy mixed, a patient
without a scan) with a real 3D backbone, through the same functions the CLI calls."""

from __future__ import annotations

import medfusion_plugin_cnn.hooks as cnn
import nibabel
import numpy as np
import pandas as pd
import pytest
import torch
from medfusion_plugin_evaluation.run import evaluate_run
from medfusion_plugin_export.exporters import OnnxExporter
from medfusion_plugin_export.predict import predict_with_artifact
from medfusion_plugin_pipeline.prediction import predict_manifest
from medfusion_plugin_pipeline.training import train_run

from medfusion_core import runs
from medfusion_core.config import structure_config
from medfusion_core.data import prepare_data
from medfusion_core.runs.loading import load_variant, open_run

PATIENTS, DEPTH, SIDE = 24, 12, 20
SIZE = [8, 16, 16]


@pytest.fixture
def host(training_host):
    return training_host(cnn, "medfusion-plugin-cnn")


def write_volumes(folder) -> pd.DataFrame:
    """CT-like int16 volumes ``[D, H, W]`` (a bright off-centre blob for positives): every third as NIfTI
    (stored ``(x, y, z)``), the rest as ``.npy``; the last patient has no scan."""
    rng = np.random.default_rng(0)
    (folder / "ct").mkdir()
    rows = []
    for i in range(PATIENTS):
        label = i % 2
        volume = rng.normal(100, 20, (DEPTH, SIDE, SIDE)).astype(np.int16)
        if label:
            volume[1:4, 2:8, 12:18] += 250  # off-centre, so a transposed or flipped read shows
        if i == PATIENTS - 1:
            path = ""
        elif i % 3 == 0:
            path = f"ct/p{i}.nii.gz"
            nibabel.save(nibabel.Nifti1Image(volume.transpose(2, 1, 0), np.eye(4)), folder / path)
        else:
            path = f"ct/p{i}.npy"
            np.save(folder / path, volume)
        age = 50 + 10 * rng.standard_normal()
        rows.append({"patient_id": f"p{i}", "ct": path, "age": age, "label": label})
    table = pd.DataFrame(rows)
    table.to_csv(folder / "manifest.csv", index=False)
    return table


def volume_config(folder):
    """A fused 3D experiment: resnet3d_10 (narrow), windowed CT, flips, two short epochs."""
    return structure_config(
        {
            "name": "ct",
            "data": {
                "manifest": str(folder / "manifest.csv"),
                "images": ["ct"],
                "numeric": ["age"],
                "label": "label",
                "val_fraction": 0.25,
                "test_fraction": 0.25,
                "image": {"size": SIZE, "window": [0, 400], "augment": {"flip": True}},
                "loader": {"batch_size": 6},
            },
            "task": {"type": "binary"},
            "model": {
                "backbone": {"name": "resnet3d_10", "params": {"base_width": 4}},
                "fusion": {"name": "concat"},
            },
            "trainer": {"name": "default", "params": {"epochs": 2, "progress": "never"}},
            "evaluation": {"bootstrap": 20},
            "runs_dir": str(folder / "runs"),
        },
        "<test>",
    )


def test_volumes_train_evaluate_predict_export(host, tmp_path):
    table = write_volumes(tmp_path)
    paths, summaries = train_run(volume_config(tmp_path))
    assert summaries["fused"]["epochs"] == 2
    assert runs.read_json(paths.preprocessing)["image"]["size"] == SIZE

    evaluate_run(paths.root)
    assert "fused" in runs.read_json(paths.report / "metrics.json")["models"]

    run = open_run(paths.root)
    batch = next(prepare_data(run.config).loader("all", train=False, batch_size=PATIENTS).iter_batches(0))
    assert tuple(batch["images"].shape) == (PATIENTS, 1, 1, *SIZE)
    assert batch["view_mask"][:, 0].tolist() == [True] * (PATIENTS - 1) + [False]
    # windowed to [0, 400] (then normalised): the blob (~350) is bright, the background (~100)
    # dim, in the same place for a .npy (patient 1) and a NIfTI (patient 3) scan
    for positive in (batch["images"][1, 0, 0], batch["images"][3, 0, 0]):
        assert positive[1:2, 2:6, 10:14].mean() > positive[:, 10:, :4].mean() + 0.5

    out = predict_manifest(paths.root, tmp_path / "manifest.csv", tmp_path / "pred.csv")
    predicted = pd.read_csv(out)
    assert predicted["patient_id"].tolist() == table["patient_id"].tolist()
    model = load_variant(run, "fused")
    with torch.no_grad():
        logits = model(batch["images"], batch["view_mask"], batch["clinical"], batch["modality_mask"])
    np.testing.assert_allclose(
        predicted["probability"].to_numpy(), torch.sigmoid(logits[:, 0]).numpy(), rtol=1e-5, atol=1e-6
    )

    artifact = OnnxExporter().export(paths.root)  # verified against eager PyTorch on export
    rows = predict_with_artifact(artifact, tmp_path / "manifest.csv")
    np.testing.assert_allclose([row["probability"] for row in rows], predicted["probability"], atol=1e-5)
