"""train checks every file and value before its first step (and validate refuses the same); a last
training batch of one is merged; small datasets train or get a clear message."""

from __future__ import annotations

from pathlib import Path

import attrs
import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner
from medfusion_plugin_pipeline.prediction import predict_manifest
from medfusion_plugin_pipeline.training import train_run

from medfusion_core import runs
from medfusion_core.commands.validate import command as validate_command
from medfusion_core.config import load_config
from medfusion_core.data import prepare_data
from medfusion_core.errors import ConfigError, DataError, MedFusionError


def _validate(config: Path, *args: str) -> MedFusionError | None:
    """What ``medfusion validate`` raises for ``config`` (in this host), or ``None`` when it passes."""
    result = CliRunner().invoke(validate_command, [str(config), *args])
    if result.exception is None:
        return None
    assert isinstance(result.exception, MedFusionError), result.output
    return result.exception


def test_a_corrupt_test_split_image_fails_train_before_the_first_step(host, tiny_demo, tmp_path):
    config_file = tiny_demo(tmp_path / "data", 20)
    config = load_config(config_file)
    data = prepare_data(config)
    test_patient = int(data.indices("test")[0])
    broken = Path(data.manifest.views[test_patient][0])
    broken.write_bytes(broken.read_bytes()[:40])  # truncated PNG
    volume = Path(data.manifest.views[int(data.indices("val")[0])][0])
    manifest = pd.read_csv(config.data.manifest, dtype=str)
    column = "view1" if manifest["view1"].str.endswith(volume.name).any() else "view2"
    npy = volume.with_suffix(".npy")
    np.save(npy, np.zeros((5, 16, 16), dtype=np.float32))  # a 3D volume in the 2D config
    manifest[column] = manifest[column].str.replace(volume.name, npy.name)
    manifest.to_csv(config.data.manifest, index=False)

    with pytest.raises(DataError) as info:
        train_run(config, modalities="all")
    message = str(info.value)
    assert "2 file problem(s)" in message and "header not counted" in message
    row = data.manifest.sources[test_patient][0][0]
    assert f"row {row}, column 'view1' (test split): {broken}" in message
    assert "a 3D volume (shape (5, 16, 16)) in a 2D config" in message and str(npy) in message
    assert not runs.RunPaths.for_config(config).root.exists()  # nothing written, no step taken

    refused = _validate(config_file, "--data")
    assert isinstance(refused, DataError) and str(refused) == message
    assert _validate(config_file) is None  # without --data the files are not decoded


def test_validate_refuses_what_train_refuses(host, tiny_demo, tmp_path):
    config_file = tiny_demo(tmp_path / "data", 12)
    good = load_config(config_file)
    assert _validate(config_file, "--data") is None
    bad_configs = {
        "lr": attrs.evolve(good, trainer=attrs.evolve(good.trainer, params={"epochs": 1, "lr": -1.0})),
        "epochs": attrs.evolve(good, trainer=attrs.evolve(good.trainer, params={"epochs": 0})),
        "label": attrs.evolve(good, data=attrs.evolve(good.data, label="age")),
        "column": attrs.evolve(good, data=attrs.evolve(good.data, numeric=["age", "weight"])),
        "tiny": attrs.evolve(good, data=attrs.evolve(good.data, val_fraction=0.45, test_fraction=0.5)),
    }
    for name, bad in bad_configs.items():
        with pytest.raises((ConfigError, DataError)) as trained:
            train_run(bad, modalities="all")
        folder = tmp_path / f"{name}.yaml"
        folder.write_text(yaml.safe_dump(_as_dict(bad)))
        refused = _validate(folder)
        assert refused is not None and str(refused) == str(trained.value), name
        assert not runs.RunPaths.for_config(bad).root.exists(), name  # no partial run folder


def test_validate_and_train_refuse_sizes_out_of_range_alike(host, tiny_demo, tmp_path):
    from medfusion_plugin_pipeline.commands.train import command as train_command

    config_file = tiny_demo(tmp_path / "data", 12)
    raw = yaml.safe_load(config_file.read_text())
    raw["data"]["image"]["size"] = [0, 32]
    raw["data"]["loader"]["batch_size"] = 0
    config_file.write_text(yaml.safe_dump(raw))
    trained = CliRunner().invoke(train_command, [str(config_file)]).exception
    assert isinstance(trained, ConfigError)
    assert str(trained) == (
        f"{config_file}: data.image.size: must be [H, W] or [D, H, W] of sizes >= 1, got [0, 32]; "
        "data.loader.batch_size: must be >= 1, got 0"
    )
    assert str(_validate(config_file)) == str(trained)
    assert not (tmp_path / "data" / "runs").exists()  # no partial run folder


def _as_dict(config) -> dict:
    from medfusion_core.config import config_to_dict

    return config_to_dict(config)


def test_seventeen_patients_with_batch_size_four_train(host, tiny_demo, tmp_path, capsys):
    config_file = tiny_demo(tmp_path / "data", 17, batch_size=4)
    _with_splits(config_file, ["train"] * 9 + ["val"] * 4 + ["test"] * 4)  # 9 = 4 + 4 + a batch of one
    config = load_config(config_file)
    loader = prepare_data(config).loader("train")
    sizes = [len(batch) for batch in loader.batch_indices(0)]
    assert sizes == [4, 5] and len(loader) == 2
    assert sorted(np.concatenate(loader.batch_indices(0)).tolist()) == list(range(9))
    paths, summaries = train_run(config, modalities="all")
    assert set(summaries) == {"fused", "image", "clinical"}
    epochs = [r for r in runs.read_jsonl(paths.variant("fused").metrics) if r["event"] == "epoch"]
    assert len(epochs) == 1 and np.isfinite(epochs[0]["train_loss"])

    # predict: categories never seen in training are reported with the count and column
    table = pd.read_csv(config.data.manifest, dtype=str).drop(columns=["label"])
    table.loc[[0, 1, 2], "sex"] = ["X", "X", "unknown"]
    new_manifest = tmp_path / "data" / "new.csv"
    table.to_csv(new_manifest, index=False)
    capsys.readouterr()
    predict_manifest(paths.root, new_manifest, tmp_path / "predictions.csv")
    warning = capsys.readouterr().err.strip()
    assert warning == (
        f"warning: {new_manifest}: column 'sex': 3 patient(s) with categories never seen in training: "
        "'X' (2), 'unknown' (1); they are encoded as missing (all zeros)"
    )


def _with_splits(config_file: Path, splits: list[str]) -> Path:
    """The config and manifest of ``config_file`` with an explicit split column."""
    manifest_path = config_file.parent / "manifest.csv"
    manifest = pd.read_csv(manifest_path, dtype=str)
    manifest["split"] = splits
    manifest.to_csv(manifest_path, index=False)
    raw = yaml.safe_load(config_file.read_text())
    raw["data"]["split"] = "split"
    config_file.write_text(yaml.safe_dump(raw))
    return config_file


def test_a_training_split_too_small_is_named(host, tiny_demo, tmp_path):
    config_file = tiny_demo(tmp_path / "data", 10, batch_size=64)
    result = CliRunner().invoke(validate_command, [str(config_file)])
    assert result.exit_code == 0, result.output
    assert "fewer than data.loader.batch_size 64: each epoch is one batch of" in result.output
    _with_splits(config_file, ["train"] + ["val"] * 5 + ["test"] * 4)
    with pytest.raises(DataError, match=r"training split has 1 patient\(s\); training needs at least 2"):
        train_run(load_config(config_file))
    assert str(_validate(config_file)).endswith("data.val_fraction / data.test_fraction")
