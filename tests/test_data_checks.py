"""Data checked up front: every file at once (row, column, split), colour vs grayscale by an
explicit data.image.color, empty and header-only manifests, files that are not checkpoints."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from medfusion_core import runs
from medfusion_core.config import ImageConfig, structure_config
from medfusion_core.data import load_manifest, prepare_data
from medfusion_core.data.checks import check_files, raise_for_problems
from medfusion_core.data.samples import fit_view
from medfusion_core.errors import CheckpointError, DataError


def _manifest(tmp_path, rows, **fields):
    pd.DataFrame(rows).to_csv(tmp_path / "m.csv", index=False)
    data = {"manifest": str(tmp_path / "m.csv"), "images": ["img"], **fields}
    return structure_config({"name": "t", "data": data}, "t.yaml")


@pytest.mark.parametrize("kernels", ["active", "reference"])
def test_every_bad_file_is_listed_at_once_with_row_column_and_split(tmp_path, monkeypatch, kernels):
    if kernels == "reference":  # the fallback: the reference probe_pngs in Python threads
        monkeypatch.setenv("MEDFUSION_KERNELS", "reference")
    Image.fromarray(np.full((8, 8), 100, np.uint8)).save(tmp_path / "good.png")
    (tmp_path / "truncated.png").write_bytes((tmp_path / "good.png").read_bytes()[:30])
    (tmp_path / "noise.png").write_bytes(b"not an image at all")
    np.save(tmp_path / "volume.npy", np.zeros((6, 8, 8), np.float32))
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "rgb.png")
    files = ["good.png", "truncated.png", "noise.png", "volume.npy", "rgb.png", "good.png"]
    rows = [{"patient_id": f"p{i}", "img": f, "label": i % 2, "split": "test"} for i, f in enumerate(files)]
    config = _manifest(tmp_path, rows, split="split")
    manifest = load_manifest(config.data)
    seen = []
    problems = check_files(manifest, config.data.image, progress=lambda d, t: seen.append((d, t)))
    assert seen[-1] == (6, 6) and [d for d, _ in seen] == sorted({d for d, _ in seen})
    assert len(problems) == 4
    assert problems[0].startswith(f"row 2, column 'img' (test split): {tmp_path / 'truncated.png'}")
    assert problems[1].startswith(f"row 3, column 'img' (test split): {tmp_path / 'noise.png'}")
    assert "a 3D volume (shape (6, 8, 8)) in a 2D config" in problems[2]
    assert "a 3-channel colour image" in problems[3] and "data.image.color" in problems[3]
    with pytest.raises(DataError) as info:
        raise_for_problems(manifest, problems)
    lines = str(info.value).splitlines()
    assert lines[0] == f"{manifest.path}: 4 file problem(s) (rows: 1-based data row, header not counted):"
    assert len(lines) == 5
    with pytest.raises(DataError) as one:
        raise_for_problems(manifest, problems[:1])
    assert str(one.value) == f"{manifest.path}: {problems[0]} (rows: 1-based data row, header not counted)"


def test_colour_and_grayscale_need_an_explicit_color_option():
    rgb = np.zeros((4, 4, 3), np.uint8)
    rgb[..., 0], rgb[..., 1], rgb[..., 2] = 100, 200, 50
    gray = np.full((4, 4), 80, np.uint8)
    with pytest.raises(DataError, match=r"into 1 channel\(s\); set data.image.color: convert"):
        fit_view(rgb, ImageConfig(channels=1), "f.png")
    with pytest.raises(DataError, match=r"a grayscale image \(shape \(4, 4\)\) into 3 channel\(s\)"):
        fit_view(gray, ImageConfig(channels=3, mean=[0.5], std=[0.2]), "f.png")
    converted = fit_view(rgb, ImageConfig(channels=1, color="convert"), "f.png")
    assert converted.dtype == np.uint8 and (converted == round(0.299 * 100 + 0.587 * 200 + 0.114 * 50)).all()
    repeated = fit_view(gray, ImageConfig(channels=3, color="convert"), "f.png")
    assert repeated.shape == (4, 4, 3) and (repeated == 80).all()
    with pytest.raises(DataError, match=r"set data\.image\.channels: 3 to keep the file's channels"):
        fit_view(rgb, ImageConfig(channels=1, color="keep"), "f.png")
    assert fit_view(rgb, ImageConfig(channels=3, color="keep"), "f.png") is rgb


def test_converted_colour_images_reach_the_batch(tmp_path):
    rgb = np.zeros((8, 8, 3), np.uint8)
    rgb[..., 1] = 255
    Image.fromarray(rgb).save(tmp_path / "green.png")
    rows = [{"patient_id": f"p{i}", "img": "green.png", "label": i % 2} for i in range(2)]
    image = {"size": [8, 8], "channels": 1, "color": "convert", "mean": [0.0], "std": [1.0]}
    config = _manifest(tmp_path, rows, val_fraction=0.0, test_fraction=0.0, image=image)
    batch = next(prepare_data(config).loader("all", train=False).iter_batches(0))
    np.testing.assert_allclose(batch["images"].numpy(), 150 / 255, atol=1e-6)  # rint(0.587 * 255)


def test_empty_and_header_only_manifests_say_so(tmp_path):
    config = _manifest(tmp_path, [{"patient_id": "p", "img": "x.png", "label": 1}])
    (tmp_path / "m.csv").write_text("")
    with pytest.raises(DataError, match=r"m\.csv: the manifest is empty \(no header, no rows\)"):
        load_manifest(config.data)
    (tmp_path / "m.csv").write_text("patient_id,img,label\n")
    with pytest.raises(DataError, match=r"m\.csv: the manifest has a header but no data rows"):
        load_manifest(config.data)


def test_a_file_that_is_not_a_checkpoint_says_so(tmp_path):
    path = tmp_path / "notes.pt"
    path.write_text("these are my notes, not a model\n")
    with pytest.raises(CheckpointError) as info:
        runs.load_checkpoint(path)
    message = str(info.value)
    assert str(path) in message and "not a checkpoint" in message and "pickled" not in message


def test_unseen_categories_and_unknown_labels_are_counted(tmp_path):
    from medfusion_core.config import TaskConfig
    from medfusion_core.data import TabularPreprocessor
    from medfusion_core.data.labels import encode_labels

    train = pd.DataFrame({"sex": ["F", "M", None]})
    tabular = TabularPreprocessor.fit(train, [], ["sex"])
    new = pd.DataFrame({"sex": ["F", "X", "X", None, "Y"]})
    assert tabular.unseen_categories(new) == {"sex": {"X": 2, "Y": 1}}
    assert tabular.unseen_categories(train) == {}
    task = TaskConfig(type="multiclass", classes=["a", "b"])
    with pytest.raises(
        DataError,
        match=r"column 'y': label 'c' is not one of .*\(3 patient\(s\) with unknown labels: 'c', 'd'; "
        r"rows 3, 7, 9 \(1-based data rows, header not counted\)\)",
    ):
        labels = np.array(["a", "c", "b", "d", "c"], dtype=object)
        encode_labels(labels, task, tmp_path / "m.csv", "y", rows=[1, 3, 5, 7, 9])
    regression = TaskConfig(type="regression")
    with pytest.raises(
        DataError,
        match=r"column 'y': 2 label\(s\) are not finite numbers \(regression task\): 'x', 'inf'; rows 2, 4 ",
    ):
        labels = np.array(["1.5", "x", "2", "inf"], dtype=object)
        encode_labels(labels, regression, tmp_path / "m", "y", [1, 2, 3, 4])


def test_a_component_of_a_plugin_no_longer_installed_names_the_package(medfusion_host, tmp_path):
    from medfusion_core.config import check_components
    from medfusion_core.errors import ConfigError

    config = structure_config(
        {"name": "t", "data": {"manifest": "m.csv"}, "model": {"fusion": {"name": "gated"}}}, "t.yaml"
    )  # an empty host: no plugin is installed
    with pytest.raises(ConfigError) as info:
        check_components(config, "t.yaml")
    message = str(info.value)
    assert message.startswith("t.yaml: model.backbone.name: unknown backbone 'resnet18'")
    assert message.endswith(
        "; backbone 'resnet18' comes with the plugin package medfusion-plugin-cnn: install it with "
        "'medfusion install medfusion-plugin-cnn' (or 'uv pip install medfusion-plugin-cnn' / "
        "'pip install medfusion-plugin-cnn')"
    )


def test_the_file_check_progress_bar_draws_on_a_terminal_only(monkeypatch, capsys):
    from medfusion_core.commands._output import file_progress

    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("TTY_COMPATIBLE", raising=False)
    with file_progress() as update:
        update(3, 3)
    assert capsys.readouterr().err == ""  # not a terminal: nothing drawn
    monkeypatch.setenv("FORCE_COLOR", "1")  # rich treats stderr as a terminal
    with file_progress() as update:
        update(1, 4)
        update(4, 4)
    drawn = capsys.readouterr().err
    assert "checking files" in drawn and "100%" in drawn
