"""Batches: identical across backends, exact resume, masks for padded views and missing modalities."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from medfusion_plugin_readers import hooks as readers_hooks
from PIL import Image

from medfusion_core.config import structure_config
from medfusion_core.data import prepare_data
from medfusion_core.data.samples import SampleWriter
from medfusion_core.errors import DataError
from medfusion_core.imageops import preprocess_into
from medfusion_core.kinds.trainer import shard_batch


@pytest.fixture(autouse=True)
def readers(medfusion_host):
    """Only the core plugin (reference kernels) and the image readers: installed plugins never
    leak in."""
    medfusion_host.register(readers_hooks, "medfusion-plugin-readers")
    return medfusion_host


ROWS = [  # patient, views, age, sex, label
    ("p0", ["p0a.png", "p0b.png"], 50.0, "F", 1),
    ("p1", ["p1a.png"], None, None, 0),  # one view, no clinical row
    ("p2", [], 61.0, "M", 1),  # no image
    ("p3", ["p3a.png", "p3b.png"], 40.0, "F", 0),
    ("p4", ["p4a.png"], 70.0, None, 1),
    ("p5", ["p5a.png", "p5b.png"], None, "M", 0),
    ("p6", ["p6a.png"], 55.0, "F", 1),
    ("p7", ["p7a.png", "p7b.png"], 45.0, "M", 0),
]


def build(tmp_path: Path, *, augment: dict | None = None, split: bool = False, **data: object):
    """Images of varying sizes with masks, a manifest and the prepared data (all in train+val)."""
    rng = np.random.default_rng(0)
    records = []
    for i, (pid, views, age, sex, label) in enumerate(ROWS):
        masks = []
        for v, name in enumerate(views):
            size = (24 + 8 * v, 20 + 4 * i)
            Image.fromarray(rng.integers(0, 256, size).astype(np.uint8)).save(tmp_path / name)
            mask = np.zeros(size, np.uint8)
            mask[5:12, 4:9] = 255
            Image.fromarray(mask).save(tmp_path / f"m_{name}")
            masks.append(f"m_{name}" if v == 0 else "")
        records.append(
            {
                "patient_id": pid,
                "v1": views[0] if views else "",
                "v2": views[1] if len(views) > 1 else "",
                "mask": ";".join(masks),
                "age": age,
                "sex": sex,
                "label": label,
                "split": "val" if i >= 6 else "train",
            }
        )
    pd.DataFrame(records).to_csv(tmp_path / "m.csv", index=False)
    fields = {
        "manifest": str(tmp_path / "m.csv"),
        "images": ["v1", "v2"],
        "numeric": ["age"],
        "categorical": ["sex"],
        "mask": "mask",
        "split": "split" if split else None,
        "image": {"size": [16, 16], "augment": augment or {"flip": False}},
        "loader": {"batch_size": 3, "workers": 2},
        **data,
    }
    return prepare_data(structure_config({"name": "t", "seed": 5, "data": fields}, "t.yaml"))


def assert_same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        if isinstance(a[key], torch.Tensor):
            assert a[key].dtype == b[key].dtype and torch.equal(a[key], b[key]), key
        else:
            assert a[key] == b[key], key


AUGMENT = {"flip": True, "rotate_degrees": 20.0, "crop_scale": 0.7, "intensity": 0.1}


def test_threads_and_dataloader_give_identical_augmented_batches(tmp_path):
    data = build(tmp_path, augment=AUGMENT)
    threads = list(data.loader("all", train=True, backend="threads").iter_batches(epoch=2))
    workers = list(data.loader("all", train=True, backend="dataloader").iter_batches(epoch=2))
    assert len(threads) == len(workers) == 3
    for a, b in zip(threads, workers, strict=True):
        assert_same(a, b)
    other_epoch = next(data.loader("all", train=True).iter_batches(epoch=3))
    assert not torch.equal(other_epoch["images"], threads[0]["images"])


def test_resume_mid_epoch_gives_the_remaining_batches(tmp_path):
    data = build(tmp_path, augment=AUGMENT)
    loader = data.loader("all", train=True)
    full = list(loader.iter_batches(epoch=1))
    resumed = list(data.loader("all", train=True, cache=False).iter_batches(epoch=1, start_batch=1))
    assert len(resumed) == 2
    for a, b in zip(full[1:], resumed, strict=True):
        assert_same(a, b)
    ids = [pid for batch in full for pid in batch["patient_id"]]
    assert sorted(ids) == sorted(r[0] for r in ROWS)


@pytest.mark.parametrize("backend", ["threads", "dataloader"])
def test_ranks_read_only_their_share_of_each_global_batch(tmp_path, monkeypatch, backend):
    data = build(tmp_path, augment=AUGMENT)
    loader = data.loader("all", train=True, backend=backend, batch_size=4, workers=0, cache=False)
    full = list(loader.iter_batches(epoch=1))
    read: list[int] = []
    write_batch = SampleWriter.write_batch

    def counting_write_batch(self, indices, *args):
        read.extend(int(i) for i in indices)
        write_batch(self, indices, *args)

    monkeypatch.setattr(SampleWriter, "write_batch", counting_write_batch)
    shards = [list(loader.iter_batches(epoch=1, shard=(rank, 3))) for rank in range(3)]
    assert sorted(read) == sorted(int(i) for batch in full for i in batch["index"])  # each patient read once
    for b, batch in enumerate(full):
        for rank in range(3):
            assert_same(shards[rank][b], shard_batch(batch, rank, 3))


def test_masks_for_padded_views_and_missing_modalities(tmp_path):
    data = build(tmp_path)
    batch = next(data.loader("all", batch_size=8).iter_batches(0))
    assert batch["patient_id"] == [r[0] for r in ROWS]
    assert batch["images"].shape == (8, 2, 1, 16, 16) and batch["images"].dtype == torch.float32
    expected_views = [[len(r[1]) > v for v in range(2)] for r in ROWS]
    assert batch["view_mask"].tolist() == expected_views
    assert batch["modality_mask"][:, 0].tolist() == [len(r[1]) > 0 for r in ROWS]
    assert batch["modality_mask"][:, 1].tolist() == [r[2] is not None or r[3] is not None for r in ROWS]
    padded = ~batch["view_mask"]
    assert torch.all(batch["images"][padded] == 0)
    assert torch.all(batch["clinical"][1] == 0)  # no clinical row -> zeros
    assert batch["label"].dtype == torch.float32 and batch["label"].tolist() == [r[4] for r in ROWS]
    assert batch["lesion_mask"].shape == (8, 2, 1, 16, 16)
    assert batch["lesion_mask_valid"].tolist() == [[len(r[1]) > 0, False] for r in ROWS]
    assert batch["lesion_mask"][0, 0].max() == 1 and batch["lesion_mask"][0, 1].max() == 0


def test_images_equal_the_reference_kernel_on_the_file(tmp_path):
    data = build(tmp_path)
    batch = next(data.loader("all", batch_size=1).iter_batches(0))
    expected = np.empty((1, 16, 16), np.float32)
    source = np.asarray(Image.open(tmp_path / "p0b.png"))
    preprocess_into(source, expected, mean=(0.5,), std=(0.25,))
    np.testing.assert_array_equal(batch["images"][0, 1].numpy(), expected)


def test_split_column_and_training_only_fit(tmp_path):
    data = build(tmp_path, split=True)
    assert data.indices("val").tolist() == [6, 7]
    train_ages = [r[2] for r in ROWS[:6] if r[2] is not None]
    assert data.tabular.means[0] == pytest.approx(np.mean([*train_ages, np.median(train_ages)]))
    assert len(data.loader("train")) == 2 and len(data.loader("val")) == 1


def test_volumes_from_npy(tmp_path):
    rng = np.random.default_rng(1)
    rows = []
    for i in range(4):
        np.save(tmp_path / f"v{i}.npy", rng.random((6 + i, 10, 12)).astype(np.float32))
        rows.append({"patient_id": f"p{i}", "vol": f"v{i}.npy", "label": i % 2})
    pd.DataFrame(rows).to_csv(tmp_path / "m.csv", index=False)
    fields = {"manifest": str(tmp_path / "m.csv"), "images": ["vol"], "image": {"size": [4, 8, 8]}}
    data = prepare_data(structure_config({"name": "t", "data": fields}, "t.yaml"))
    batch = next(data.loader("all", batch_size=4).iter_batches(0))
    assert batch["images"].shape == (4, 1, 1, 4, 8, 8)
    assert not batch["modality_mask"][:, 1].any() and batch["clinical"].shape == (4, 0)


def test_wrong_image_layout_names_row_and_file(tmp_path):
    np.save(tmp_path / "rgb.npy", np.zeros((8, 8, 3), np.uint8))
    pd.DataFrame(
        [{"patient_id": "a", "img": "rgb.npy", "label": 0}, {"patient_id": "b", "img": "", "label": 1}]
    ).to_csv(tmp_path / "m.csv", index=False)
    fields = {
        "manifest": str(tmp_path / "m.csv"),
        "images": ["img"],
        "val_fraction": 0.0,
        "test_fraction": 0.0,
    }
    data = prepare_data(structure_config({"name": "t", "data": fields}, "t.yaml"))
    with pytest.raises(
        DataError,
        match=r"m\.csv: row 1: .*rgb\.npy: a 3-channel colour image \(shape \(8, 8, 3\)\) into 1 "
        r"channel\(s\); set data\.image\.color: convert",
    ):
        next(data.loader("all").iter_batches(0))


def test_multiclass_labels_are_int64(tmp_path):
    data = build(tmp_path)
    config = structure_config(
        {
            "name": "t",
            "data": {"manifest": str(tmp_path / "m.csv"), "images": ["v1", "v2"], "split": None},
            "task": {"type": "multiclass", "classes": ["0", "1"]},
        },
        "t.yaml",
    )
    multi = prepare_data(config)
    batch = next(multi.loader("all", batch_size=8).iter_batches(0))
    assert batch["label"].dtype == torch.int64 and multi.num_outputs == 2
    assert data.num_outputs == 1


def test_lesion_masks_follow_the_image_augmentation(tmp_path):
    rows = []
    for i in range(3):
        image = np.zeros((30 + i, 26), np.uint8)
        image[4 + i : 15, 3 : 11 + i] = 255
        Image.fromarray(image).save(tmp_path / f"i{i}.png")
        Image.fromarray(image).save(tmp_path / f"m{i}.png")
        rows.append({"patient_id": f"p{i}", "img": f"i{i}.png", "mask": f"m{i}.png", "label": i % 2})
    pd.DataFrame(rows).to_csv(tmp_path / "m.csv", index=False)
    fields = {
        "manifest": str(tmp_path / "m.csv"),
        "images": ["img"],
        "mask": "mask",
        "image": {"size": [16, 16], "augment": {"flip": True, "rotate_degrees": 30.0, "crop_scale": 0.6}},
    }
    data = prepare_data(structure_config({"name": "t", "data": fields}, "t.yaml"))
    batch = next(data.loader("all", train=True, batch_size=3).iter_batches(4))
    restored = batch["images"] * 0.25 + 0.5  # undo the default normalisation
    np.testing.assert_allclose(restored.numpy(), batch["lesion_mask"].numpy(), atol=1e-5)
    plain = next(data.loader("all", train=False, batch_size=3).iter_batches(4))
    assert not torch.allclose(plain["lesion_mask"], batch["lesion_mask"])


@pytest.mark.parametrize("backend", ["threads", "dataloader"])
def test_unreadable_image_fails_with_one_line_naming_row_and_file(tmp_path, backend):
    build(tmp_path)
    (tmp_path / "p3b.png").write_bytes(b"broken")
    config = structure_config(
        {"name": "t", "data": {"manifest": str(tmp_path / "m.csv"), "images": ["v1", "v2"], "split": None}},
        "t.yaml",
    )
    loader = prepare_data(config).loader("all", backend=backend, batch_size=8, workers=2)
    with pytest.raises(DataError, match=r"m\.csv: row 4: .*p3b\.png: cannot read as an image") as info:
        next(loader.iter_batches(0))
    assert "\n" not in str(info.value)


def test_augmentation_draws_are_those_of_default_rng_per_patient():
    """The sampled values stay what they always were: ``default_rng([seed, epoch, index])``,
    7 uniforms per view in order, the crop box at the image's aspect ratio."""
    from medfusion_core.config import AugmentConfig
    from medfusion_core.data.augment import sample_rng, sample_views
    from medfusion_core.viewops import crop_box

    config = AugmentConfig(flip=True, rotate_degrees=20.0, crop_scale=0.7, intensity=0.1)
    shape = (37, 29)
    for seed, epoch, index in [(0, 0, 0), (5, 3, 117), (2**40, 9, 12345)]:
        augments = sample_views(sample_rng(seed, epoch, index), config, 3, 2)
        rng = np.random.default_rng([seed, epoch, index])
        for augment in augments:
            u = rng.random(7)
            side = np.sqrt(0.7 + u[1] * (1.0 - 0.7))
            height, width = shape[0] * side, shape[1] * side
            box = (u[2] * (shape[0] - height), u[3] * (shape[1] - width), height, width)
            assert crop_box(augment.crop, shape) == box
            assert augment.flip == (False, bool(u[0] < 0.5))
            assert augment.degrees == (2.0 * u[4] - 1.0) * 20.0
            assert (augment.scale, augment.shift) == (
                1.0 + (2.0 * u[5] - 1.0) * 0.1,
                (2.0 * u[6] - 1.0) * 0.1,
            )
