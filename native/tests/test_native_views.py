"""The batch data path: native PNG decoding and ``fill_views`` against Pillow and the references,
the loader with native kernels, and concurrency (threads and forked DataLoader workers)."""

from __future__ import annotations

import threading
from pathlib import Path

import medfusion_plugin_native.hooks
import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from medfusion_plugin_native import _native
from medfusion_plugin_native import kernels as native
from medfusion_plugin_readers import hooks as readers_hooks
from medfusion_plugin_readers.formats import read_pillow as decode_pillow
from PIL import Image

from medfusion_core import kernels, viewops
from medfusion_core.config import structure_config
from medfusion_core.data import prepare_data
from medfusion_core.errors import DataError
from medfusion_core.testing.concurrency import race
from medfusion_core.viewops import ViewJob

SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
#: Pillow mode -> (dtype, channels) of the array written; the native decoder handles the first five.
MODES = {"L": (np.uint8, 1), "I;16": (np.uint16, 1), "LA": (np.uint8, 2), "RGB": (np.uint8, 3)}
MODES |= {"RGBA": (np.uint8, 4), "P": (np.uint8, 1), "1": (np.bool_, 1)}
NATIVE_MODES = ("L", "I;16", "LA", "RGB", "RGBA")


@pytest.fixture
def native_host(medfusion_host):
    """A plugin host with the native plugin registered and its kernels active."""
    medfusion_host.register(medfusion_plugin_native.hooks, "medfusion-plugin-native")
    medfusion_host.register(readers_hooks, "medfusion-plugin-readers")
    kernels.reset_kernels()
    assert kernels.get_kernel("fill_views") is native.fill_views
    yield medfusion_host
    kernels.reset_kernels()


def write_png(path: Path, mode: str, height: int, width: int, seed: int) -> Path:
    """A random PNG of Pillow ``mode``."""
    rng = np.random.default_rng(seed)
    dtype, channels = MODES[mode]
    shape = (height, width) if channels == 1 else (height, width, channels)
    if dtype == np.bool_:
        image = Image.fromarray(rng.random(shape) < 0.5)
    elif mode == "I;16":
        image = Image.fromarray(rng.integers(0, 65536, shape).astype(np.uint16))
    elif mode == "P":
        image = Image.fromarray(rng.integers(0, 256, (height, width, 3)).astype(np.uint8)).quantize(16)
    else:
        image = Image.fromarray(rng.integers(0, 256, shape).astype(np.uint8), mode=mode)
    image.save(path)
    return path


@SETTINGS
@given(st.sampled_from(sorted(MODES)), st.integers(1, 40), st.integers(1, 40), st.integers(0, 2**16))
def test_decode_png_equals_pillow_exactly(tmp_path, mode, height, width, seed) -> None:
    path = write_png(tmp_path / "image.png", mode, height, width, seed)
    ours, pillow = native.decode_png(str(path)), decode_pillow(path)
    assert ours.dtype == pillow.dtype and ours.shape == pillow.shape
    np.testing.assert_array_equal(ours, pillow)
    # the supported modes really are decoded in Rust (the others fall back to Pillow)
    assert (_native.decode_png(str(path)) is not None) == (mode in NATIVE_MODES)


@pytest.mark.parametrize("content", [b"broken", b"\x89PNG\r\n\x1a\n" + b"\0" * 40, None, "truncated"])
def test_unreadable_png_raises_the_pillow_error(tmp_path, content) -> None:
    path = tmp_path / "bad.png"
    if content == "truncated":
        good = write_png(tmp_path / "good.png", "L", 30, 30, 0).read_bytes()
        path.write_bytes(good[: len(good) // 2])
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(DataError) as expected:
        decode_pillow(path)
    with pytest.raises(DataError) as ours:
        native.decode_png(str(path))
    assert str(ours.value) == str(expected.value) and "bad.png" in str(ours.value)


@st.composite
def batches(draw):
    """A few views (PNG paths or arrays, with or without masks) and their augmentation."""
    channels = draw(st.sampled_from([1, 3]))
    count = draw(st.integers(1, 6))
    views = []
    for slot in draw(st.permutations(range(count + 1)))[:count]:
        mode = draw(st.sampled_from(["L", "I;16", "RGB", "RGBA", "P"] if channels == 3 else ["L", "I;16"]))
        views.append(
            {
                "slot": slot,
                "mode": mode,
                "shape": (draw(st.integers(3, 40)), draw(st.integers(3, 40))),
                "as_path": draw(st.booleans()),
                "mask": draw(st.sampled_from([None, "path", "array"])),
                "crop": draw(st.one_of(st.none(), st.tuples(*[st.floats(0.3, 1.0)] + [st.floats(0, 1)] * 2))),
                "flip": (False, draw(st.booleans())),
                "window": draw(st.one_of(st.none(), st.just((20.0, 200.0)))),
                "degrees": draw(st.sampled_from([0.0, draw(st.floats(-45, 45))])),
                "scale": draw(st.sampled_from([1.0, 1.1])),
                "shift": draw(st.sampled_from([0.0, -0.05])),
            }
        )
    return channels, count + 1, views


def make_jobs(tmp_path: Path, views: list[dict], seed: int) -> list[ViewJob]:
    jobs = []
    for i, view in enumerate(views):
        path = write_png(tmp_path / f"v{i}.png", view["mode"], *view["shape"], seed + i)
        mask_path = write_png(tmp_path / f"m{i}.png", "L", *view["shape"], seed - i)
        mask = {None: None, "path": str(mask_path), "array": viewops.binary_mask(decode_pillow(mask_path), 2)}
        fields = {k: view[k] for k in ("slot", "crop", "flip", "window", "degrees", "scale", "shift")}
        image = str(path) if view["as_path"] else decode_pillow(path)
        jobs.append(ViewJob(image=image, mask=mask[view["mask"]], **fields))
    return jobs


@SETTINGS
@given(batches(), st.integers(100, 10_000))
def test_fill_views_matches_the_reference(tmp_path, batch, seed) -> None:
    channels, slots, views = batch
    jobs = make_jobs(tmp_path, views, seed)
    mean, std = [0.5, 0.4, 0.3][:channels], [0.25, 0.2, 0.3][:channels]
    results = []
    for fill in (native.fill_views, viewops.fill_views):
        images = np.full((slots, channels, 12, 10), 7.0, np.float32)
        masks = np.full((slots, 1, 12, 10), 7.0, np.float32)
        failures = fill(jobs, images, masks, mean=mean, std=std)
        results.append((images, masks, [i for i, _ in failures]))
    (images, masks, failed), (ref_images, ref_masks, ref_failed) = results
    assert failed == ref_failed == []  # every drawn job fits its batch
    np.testing.assert_allclose(images, ref_images, atol=1e-5, rtol=0)
    np.testing.assert_allclose(masks, ref_masks, atol=1e-5, rtol=0)


def test_failed_views_are_reported_and_the_rest_filled(tmp_path) -> None:
    good = write_png(tmp_path / "good.png", "L", 20, 20, 1)
    rgb = write_png(tmp_path / "rgb.png", "RGB", 20, 20, 2)
    (tmp_path / "bad.png").write_bytes(b"broken")
    jobs = [
        ViewJob(image=str(tmp_path / "bad.png"), slot=0),
        ViewJob(image=str(good), slot=1, mask=str(tmp_path / "missing.png")),
        ViewJob(image=str(rgb), slot=2),  # 3 channels into a 1-channel batch
        ViewJob(image=str(good), slot=3, degrees=10.0),
    ]
    outputs = {}
    for fill in (native.fill_views, viewops.fill_views):
        images, masks = np.zeros((4, 1, 8, 8), np.float32), np.zeros((4, 1, 8, 8), np.float32)
        failures = fill(jobs, images, masks, mean=[0.5], std=[0.25])
        assert [i for i, _ in failures] == [0, 1, 2], failures
        outputs[fill] = images[3]
    np.testing.assert_allclose(outputs[native.fill_views], outputs[viewops.fill_views], atol=1e-5)
    with pytest.raises(native.NativeKernelError, match="one value per channel"):
        native.fill_views(jobs, np.zeros((4, 1, 8, 8), np.float32), None, mean=[0.5, 0.5], std=[1.0])
    with pytest.raises(ValueError, match="twice"):
        native.fill_views(jobs[3:] * 2, np.zeros((4, 1, 8, 8), np.float32), None, mean=[0.5], std=[1.0])


def write_dataset(tmp_path: Path, patients: int = 12) -> Path:
    """PNG views (some with masks, some 16-bit) and a manifest."""
    rows = []
    for p in range(patients):
        views, masks = [], []
        for v in range(p % 3):
            mode = "I;16" if (p + v) % 4 == 0 else "L"
            views.append(write_png(tmp_path / f"p{p}v{v}.png", mode, 20 + p, 24 + 2 * v, p * 10 + v).name)
            masks.append(
                write_png(tmp_path / f"m{p}v{v}.png", "L", 20 + p, 24 + 2 * v, 1000 + p * 10 + v).name
            )
        rows.append(
            {
                "patient_id": f"p{p}",
                "v1": views[0] if views else "",
                "v2": views[1] if len(views) > 1 else "",
                "mask": ";".join(masks),
                "label": p % 2,
            }
        )
    pd.DataFrame(rows).to_csv(tmp_path / "m.csv", index=False)
    return tmp_path / "m.csv"


def loader(manifest: Path, backend: str, *, cache: bool = False):
    augment = {"flip": True, "rotate_degrees": 15.0, "crop_scale": 0.7, "intensity": 0.1}
    fields = {
        "manifest": str(manifest),
        "images": ["v1", "v2"],
        "mask": "mask",
        "split": None,
        "image": {"size": [16, 16], "augment": augment},
        "loader": {"batch_size": 5, "workers": 2},
    }
    data = prepare_data(structure_config({"name": "t", "seed": 3, "data": fields}, "t.yaml"))
    return data.loader("all", train=True, backend=backend, cache=cache)


def epoch(manifest: Path, backend: str, *, cache: bool = False, number: int = 1) -> list[dict]:
    return list(loader(manifest, backend, cache=cache).iter_batches(number))


def test_native_loader_equals_the_reference_and_backends_agree(native_host, tmp_path, monkeypatch) -> None:
    manifest = write_dataset(tmp_path)
    threads = epoch(manifest, "threads")
    for other in (epoch(manifest, "dataloader"), epoch(manifest, "threads", cache=True)):
        for a, b in zip(threads, other, strict=True):
            assert a["patient_id"] == b["patient_id"]
            for key in ("images", "lesion_mask", "lesion_mask_valid", "view_mask"):
                assert torch.equal(a[key], b[key]), key
    resumed = loader(manifest, "threads").iter_batches(1, start_batch=1)
    assert torch.equal(next(resumed)["images"], threads[1]["images"])
    monkeypatch.setenv("MEDFUSION_KERNELS", "reference")
    reference = epoch(manifest, "threads")
    for a, b in zip(threads, reference, strict=True):
        for key in ("images", "lesion_mask"):
            np.testing.assert_allclose(a[key].numpy(), b[key].numpy(), atol=1e-5, rtol=0)
    assert threads[0]["images"].abs().sum() > 0


@pytest.mark.parametrize("backend", ["threads", "dataloader"])
@pytest.mark.parametrize("damage", ["corrupt", "rgb"])
def test_bad_png_names_row_and_file_with_native_kernels(native_host, tmp_path, backend, damage) -> None:
    manifest = write_dataset(tmp_path)
    target = tmp_path / "p5v1.png"  # the second view of patient 5 (manifest row 6)
    if damage == "corrupt":
        target.write_bytes(target.read_bytes()[:60])
        message = r"m\.csv: row 6: .*p5v1\.png: cannot read as an image"
    else:
        write_png(target, "RGB", 20, 20, 0)
        message = (
            r"m\.csv: row 6: .*p5v1\.png: a 3-channel colour image \(shape \(20, 20, 3\)\) into 1 "
            r"channel\(s\); set data\.image\.color: convert"
        )
    with pytest.raises(DataError, match=message) as info:
        epoch(manifest, backend)
    assert "\n" not in str(info.value)


def test_kernels_stress_concurrent_threads_and_forked_workers(native_host, tmp_path) -> None:
    """Guards the once-reported native segfault: many threads calling the kernels at once on
    shared sources, then DataLoader workers forked after the parent has used the native pool."""
    paths = [str(write_png(tmp_path / f"s{i}.png", "L", 30 + i, 28, i)) for i in range(8)]
    arrays = [decode_pillow(p) for p in paths]
    jobs = [
        ViewJob(image=src, slot=i, mask=paths[-1 - i], degrees=5.0 * i, crop=(0.8, 0.5, 0.5))
        for i, src in enumerate([*paths[:4], *arrays[4:]])
    ]

    def run() -> tuple[np.ndarray, np.ndarray]:
        images, masks = np.zeros((8, 1, 16, 16), np.float32), np.zeros((8, 1, 16, 16), np.float32)
        assert native.fill_views(jobs, images, masks, mean=[0.5], std=[0.25]) == []
        single = np.empty((1, 16, 16), np.float32)
        native.preprocess_into(arrays[0], single, mean=0.5, std=0.25)
        native.rotate_into(single.copy(), single, 7.0)
        np.testing.assert_array_equal(native.decode_png(paths[3]), arrays[3])
        return images, masks

    expected = run()
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(60):
                images, masks = run()
                np.testing.assert_array_equal(images, expected[0])
                np.testing.assert_array_equal(masks, expected[1])
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    (tmp_path / "data").mkdir()
    manifest = write_dataset(tmp_path / "data")
    threads_epoch = epoch(manifest, "threads", number=2)
    workers_epoch = epoch(manifest, "dataloader", number=2)
    for a, b in zip(threads_epoch, workers_epoch, strict=True):
        assert torch.equal(a["images"], b["images"]) and torch.equal(a["lesion_mask"], b["lesion_mask"])


def test_threads_resolving_kernels_at_once_all_get_the_native_ones(native_host) -> None:
    """The first ``get_kernel`` calls of a process may come from several loader threads at once;
    none may see a partly resolved table and fall back to a reference kernel."""
    kernels.reset_kernels()
    assert race(lambda: kernels.get_kernel("fill_views")) == [native.fill_views] * 8


def test_probe_pngs_matches_the_reference_shapes(tmp_path) -> None:
    paths = [str(write_png(tmp_path / f"{i}.png", mode, 9, 7, i)) for i, mode in enumerate(MODES)]
    good = Path(paths[0]).read_bytes()
    (tmp_path / "cut.png").write_bytes(good[: len(good) // 2])
    (tmp_path / "noise.png").write_bytes(b"not a png")
    paths += [str(tmp_path / "cut.png"), str(tmp_path / "noise.png"), str(tmp_path / "missing.png")]
    shapes = native.probe_pngs(paths)
    assert shapes == viewops.probe_pngs(paths)
    assert shapes == [(9, 7), (9, 7), (9, 7), (9, 7, 3), (9, 7, 3), (9, 7, 3), (9, 7), None, None, None]
    # the kinds Rust decodes are decoded on the native pool, the rest by the reference
    in_rust = [shape is not None for shape in _native.probe_pngs(paths)]
    assert in_rust == [mode in NATIVE_MODES for mode in MODES] + [False] * 3


def test_the_file_check_decodes_pngs_on_the_native_pool(native_host, tmp_path, monkeypatch) -> None:
    from medfusion_core.data.checks import check_files

    manifest_path = write_dataset(tmp_path, patients=30)
    (tmp_path / "p5v1.png").write_bytes((tmp_path / "p5v1.png").read_bytes()[:60])
    write_png(tmp_path / "p7v0.png", "RGB", 20, 20, 0)
    fields = {"manifest": str(manifest_path), "images": ["v1", "v2"], "mask": "mask", "split": None}
    data = prepare_data(structure_config({"name": "t", "data": fields}, "t.yaml"))
    calls: list[int] = []
    probe = _native.probe_pngs
    monkeypatch.setattr(_native, "probe_pngs", lambda paths: calls.append(len(paths)) or probe(paths))
    problems = check_files(data.manifest, data.config.data.image, "mask")
    files = sum(2 * len(views) for views in data.manifest.views)  # every view has a mask
    assert sum(calls) == files and len(calls) > 1  # all of them, in chunks
    assert len(problems) == 2
    assert problems[0].startswith("row 6, column 'v2': ")
    assert "p5v1.png: cannot read as an image" in problems[0]
    assert problems[1].startswith("row 8, column 'v1': ") and "a 3-channel colour image" in problems[1]
    monkeypatch.setenv("MEDFUSION_KERNELS", "reference")
    calls.clear()
    assert check_files(data.manifest, data.config.data.image, "mask") == problems and calls == []
