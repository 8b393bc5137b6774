"""Parity of the native image kernels with the numpy references in medfusion_core.imageops."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from medfusion_plugin_native import kernels as native

from medfusion_core.imageops import intensity_jitter as ref_jitter
from medfusion_core.imageops import preprocess_into as ref_preprocess
from medfusion_core.imageops import rotate_into as ref_rotate

DTYPES = [np.uint8, np.uint16, np.int16, np.float32]
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def random_image(rng: np.random.Generator, shape: tuple[int, ...], dtype: type) -> np.ndarray:
    """Random values spanning the dtype (float32: a CT-like range)."""
    if dtype == np.float32:
        return rng.uniform(-1000.0, 3000.0, shape).astype(np.float32)
    info = np.iinfo(dtype)
    return rng.integers(info.min, int(info.max) + 1, shape).astype(dtype)


def strided_view(rng: np.random.Generator, image: np.ndarray, layout: str) -> np.ndarray:
    """The same values as ``image`` in a contiguous, sliced, transposed or reversed layout."""
    if layout == "sliced":
        big = np.zeros(tuple(2 * n for n in image.shape), dtype=image.dtype)
        big[tuple(slice(None, None, 2) for _ in image.shape)] = image
        return big[tuple(slice(None, None, 2) for _ in image.shape)]
    if layout == "transposed":
        return np.ascontiguousarray(image.swapaxes(0, 1)).swapaxes(0, 1)
    if layout == "reversed":
        return np.ascontiguousarray(image[::-1])[::-1]
    return image


@st.composite
def jobs(draw: st.DrawFn) -> dict:
    """One preprocess_into call: source, output shape and parameters."""
    volume = draw(st.booleans())
    dtype = draw(st.sampled_from(DTYPES))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    spatial = tuple(draw(st.integers(1, 12 if volume else 40)) for _ in range(3 if volume else 2))
    out_spatial = tuple(draw(st.integers(1, 10 if volume else 33)) for _ in spatial)
    channels = draw(st.sampled_from([1, 3]))
    src_channels = draw(st.sampled_from([None, 1] if channels == 1 else [None, 1, 3]))
    shape = spatial if src_channels is None else (*spatial, src_channels)
    image = strided_view(
        rng,
        random_image(rng, shape, dtype),
        draw(st.sampled_from(["contiguous", "sliced", "transposed", "reversed"])),
    )
    crop = None
    if draw(st.booleans()):
        starts = [draw(st.floats(0, n - 0.5)) for n in spatial]
        lengths = [draw(st.floats(0.5, n - s)) for n, s in zip(spatial, starts, strict=True)]
        crop = (*starts, *lengths)
    window = None
    if draw(st.booleans()):
        low = draw(st.floats(-500, 200))
        window = (low, low + draw(st.floats(1.0, 600)))
    per_channel = draw(st.booleans())
    mean = tuple(rng.uniform(-1, 1, channels)) if per_channel else (draw(st.floats(-1, 1)),)
    std = tuple(rng.uniform(0.1, 2, channels)) if per_channel else draw(st.floats(0.1, 2))
    return {
        "src": image,
        "out_shape": (channels, *out_spatial),
        "kwargs": {
            "crop": crop,
            "flip": tuple(draw(st.booleans()) for _ in spatial),
            "window": window,
            "mean": mean,
            "std": std,
        },
    }


@SETTINGS
@given(jobs())
def test_preprocess_matches_reference(job: dict) -> None:
    expected = np.empty(job["out_shape"], np.float32)
    got = np.full(job["out_shape"], np.nan, np.float32)
    ref_preprocess(job["src"], expected, **job["kwargs"])
    native.preprocess_into(job["src"], got, **job["kwargs"])
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-5)


def test_uint8_downscale_matches_pillow_within_one_grey_level() -> None:
    """Independent oracle: Pillow's BILINEAR resize (8-bit fixed point) of a 512x512 image."""
    from PIL import Image

    rng = np.random.default_rng(3)
    image = (rng.random((512, 512)) * 255).astype(np.uint8)
    image = np.ascontiguousarray(np.clip(image.astype(int) + np.arange(512) // 3, 0, 255).astype(np.uint8))
    expected = np.asarray(Image.fromarray(image).resize((224, 200), Image.BILINEAR), dtype=np.float64)
    got = np.empty((1, 200, 224), np.float32)
    native.preprocess_into(image, got, mean=0.0, std=1.0 / 255.0)
    assert np.abs(got[0] - expected).max() <= 1.0


def test_flip_is_an_exact_mirror_and_native_size_is_a_copy() -> None:
    rng = np.random.default_rng(0)
    image = random_image(rng, (17, 23, 3), np.uint16)
    plain = np.empty((3, 9, 14), np.float32)
    flipped = np.empty_like(plain)
    native.preprocess_into(image, plain, crop=(1.5, 2, 14, 20))
    native.preprocess_into(image, flipped, crop=(1.5, 2, 14, 20), flip=(True, True))
    np.testing.assert_array_equal(flipped, plain[:, ::-1, ::-1])
    same = np.empty((3, 17, 23), np.float32)
    native.preprocess_into(image, same)
    expected = (image.astype(np.float64) / 65535.0).astype(np.float32).transpose(2, 0, 1)
    np.testing.assert_allclose(same, expected, rtol=2.5e-7, atol=0)  # two f32 rounding steps


def test_writes_into_a_view_of_the_batch() -> None:
    rng = np.random.default_rng(1)
    batch = np.zeros((2, 3, 3, 8, 8), np.float32)
    image = random_image(rng, (20, 20), np.uint8)
    native.preprocess_into(image, batch[1, 2], mean=(0.5, 0.4, 0.3), std=(0.2, 0.3, 0.4))
    expected = np.empty((3, 8, 8), np.float32)
    ref_preprocess(image, expected, mean=(0.5, 0.4, 0.3), std=(0.2, 0.3, 0.4))
    np.testing.assert_allclose(batch[1, 2], expected, atol=1e-5)
    assert not batch[:1].any() and not batch[1, :2].any()


def test_batch_equals_per_image_calls() -> None:
    rng = np.random.default_rng(2)
    srcs = [random_image(rng, (30 + i, 25, 3), np.uint8) for i in range(5)]
    crops = [None, (2, 3, 20, 15), None, (0.5, 0.5, 10.25, 11.75), None]
    flips = [(False, True), (True, False), (False, False), (True, True), (False, False)]
    out = np.empty((5, 3, 12, 16), np.float32)
    native.preprocess_batch_into(srcs, out, crops=crops, flips=flips, mean=0.5, std=0.25)
    for i, src in enumerate(srcs):
        expected = np.empty((3, 12, 16), np.float32)
        ref_preprocess(src, expected, crop=crops[i], flip=flips[i], mean=0.5, std=0.25)
        np.testing.assert_allclose(out[i], expected, atol=1e-5)


@pytest.mark.parametrize(
    ("src", "out", "kwargs", "message"),
    [
        (np.zeros((4, 4), np.int32), np.zeros((1, 2, 2), np.float32), {}, "unsupported source dtype"),
        (np.zeros((4, 4)), np.zeros((1, 2, 2), np.float32), {}, "unsupported source dtype"),
        (np.zeros((4, 4), np.uint8), np.zeros((1, 2, 2), np.float64), {}, "C-contiguous float32"),
        (np.zeros((4, 4), np.uint8), np.zeros((1, 4, 4), np.float32)[:, ::2, ::2], {}, "C-contiguous"),
        (np.zeros((4, 4, 2), np.uint8), np.zeros((3, 2, 2), np.float32), {}, "2 channels"),
        (np.zeros((4, 4), np.uint8), np.zeros((1, 2, 2), np.float32), {"crop": (0, 0, 5, 4)}, "does not fit"),
        (np.zeros((4, 4), np.uint8), np.zeros((1, 2, 2), np.float32), {"window": (3, 3)}, "high > low"),
        (np.zeros((4, 4), np.uint8), np.zeros((2, 2, 2), np.float32), {"mean": (1, 2, 3)}, "mean has 3"),
        (np.zeros((4, 4), np.uint8), np.zeros((1, 2, 2), np.float32), {"flip": (True,)}, "flip needs 2"),
    ],
)
def test_invalid_calls_raise_like_the_reference(src, out, kwargs, message) -> None:
    from medfusion_core.errors import MedFusionError

    with pytest.raises(MedFusionError, match=message):
        native.preprocess_into(src, out, **kwargs)
    with pytest.raises(ValueError):
        ref_preprocess(src, out, **kwargs)


@SETTINGS
@given(
    st.integers(1, 3),
    st.integers(1, 20),
    st.integers(1, 20),
    st.floats(-360, 360),
    st.floats(-2, 2),
    st.booleans(),
)
def test_rotate_matches_reference(channels, height, width, degrees, fill, transposed) -> None:
    rng = np.random.default_rng(height * 31 + width)
    src = rng.normal(size=(channels, height, width)).astype(np.float32)
    if transposed:
        src = np.ascontiguousarray(src.transpose(0, 2, 1)).transpose(0, 2, 1)
    expected = np.empty_like(src, order="C")
    got = np.empty_like(src, order="C")
    ref_rotate(src, expected, degrees, fill)
    native.rotate_into(src, got, degrees, fill)
    np.testing.assert_allclose(got, expected, atol=1e-5)


@SETTINGS
@given(st.floats(0.5, 1.5), st.floats(-1, 1), st.sampled_from(["contiguous", "strided"]))
def test_intensity_jitter_matches_reference_exactly(scale, shift, layout) -> None:
    rng = np.random.default_rng(4)
    base = rng.normal(size=(3, 9, 11)).astype(np.float32)
    expected = base.copy()
    ref_jitter(expected, scale, shift)
    if layout == "strided":
        holder = np.zeros((3, 9, 22), np.float32)
        holder[:, :, ::2] = base
        native.intensity_jitter(holder[:, :, ::2], scale, shift)
        np.testing.assert_array_equal(holder[:, :, ::2], expected)
        assert not holder[:, :, 1::2].any()
    else:
        got = base.copy()
        native.intensity_jitter(got, scale, shift)
        np.testing.assert_array_equal(got, expected)
