"""Reference image kernels against Pillow, scipy and plain numpy oracles."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage as ndi
from PIL import Image

from medfusion_core.imageops import intensity_jitter, preprocess_into, rotate_into


def _pillow_float(src: np.ndarray, size: tuple[int, int], box: tuple[float, ...] | None = None) -> np.ndarray:
    """Pillow's float (mode F) bilinear resize; ``size`` is (height, width)."""
    image = Image.fromarray(src.astype(np.float32), mode="F")
    return np.asarray(image.resize((size[1], size[0]), Image.BILINEAR, box=box), dtype=np.float64)


def _run(src: np.ndarray, shape: tuple[int, ...], **kwargs: object) -> np.ndarray:
    out = np.empty(shape, dtype=np.float32)
    preprocess_into(src, out, **kwargs)
    return out


@pytest.mark.parametrize(
    ("height", "width", "out_h", "out_w"),
    [(50, 70, 32, 32), (64, 64, 128, 96), (100, 80, 30, 41), (17, 9, 17, 9), (33, 47, 64, 20)],
)
def test_resize_matches_pillow_uint8_within_one_grey_level(height, width, out_h, out_w):
    rng = np.random.default_rng(height * width)
    src = rng.integers(0, 256, (height, width)).astype(np.uint8)
    ours = _run(src, (1, out_h, out_w))[0] * 255.0
    pillow = np.asarray(Image.fromarray(src).resize((out_w, out_h), Image.BILINEAR), dtype=np.float64)
    assert np.abs(ours - pillow).max() <= 1.0


@pytest.mark.parametrize("crop", [(10, 5, 60, 70), (3.5, 2.25, 20.5, 30.75), (0, 0, 100, 80)])
def test_crop_resize_matches_pillow_float_box(crop):
    src = np.random.default_rng(1).random((100, 80)).astype(np.float32)
    top, left, height, width = crop
    expected = _pillow_float(src, (24, 40), box=(left, top, left + width, top + height))
    np.testing.assert_allclose(_run(src, (1, 24, 40), crop=crop)[0], expected, atol=1e-5)


def test_same_size_integer_crop_is_an_exact_copy():
    src = np.arange(20 * 30, dtype=np.float32).reshape(20, 30)
    out = _run(src, (1, 8, 12), crop=(4, 6, 8, 12))
    np.testing.assert_array_equal(out[0], src[4:12, 6:18])


def test_flips_reverse_the_output_axes_exactly():
    src = np.random.default_rng(2).integers(0, 256, (40, 50)).astype(np.uint8)
    plain = _run(src, (1, 32, 32))
    np.testing.assert_array_equal(_run(src, (1, 32, 32), flip=(False, True)), plain[:, :, ::-1])
    np.testing.assert_array_equal(_run(src, (1, 32, 32), flip=(True, False)), plain[:, ::-1, :])
    np.testing.assert_array_equal(_run(src, (1, 32, 32), flip=(True, True)), plain[:, ::-1, ::-1])


def test_window_clips_scales_then_normalises():
    src = np.array([[-1000, -200], [40, 3000]], dtype=np.int16)
    out = _run(src, (1, 2, 2), window=(-160.0, 240.0), mean=(0.5,), std=(0.25,))
    raw = (np.clip(src.astype(np.float64), -160, 240) + 160) / 400
    np.testing.assert_allclose(out[0], (raw - 0.5) / 0.25, atol=1e-6)


@pytest.mark.parametrize(
    ("dtype", "divisor"), [(np.uint8, 255.0), (np.uint16, 65535.0), (np.int16, 1.0), (np.float32, 1.0)]
)
def test_dtype_scaling_without_window(dtype, divisor):
    src = np.array([[0, 7], [100, 250]], dtype=dtype)
    np.testing.assert_allclose(_run(src, (1, 2, 2))[0], src / divisor, rtol=1e-6)


def test_gray_is_replicated_into_three_channels_with_per_channel_norm():
    src = np.random.default_rng(3).integers(0, 256, (20, 20)).astype(np.uint8)
    out = _run(src, (3, 10, 10), mean=(0.1, 0.2, 0.3), std=(1.0, 2.0, 4.0))
    gray = _run(src, (1, 10, 10))[0]
    for c, (m, s) in enumerate([(0.1, 1.0), (0.2, 2.0), (0.3, 4.0)]):
        np.testing.assert_allclose(out[c], (gray - m) / s, atol=1e-6)


def test_rgb_hwc_becomes_chw():
    src = np.random.default_rng(4).integers(0, 256, (30, 20, 3)).astype(np.uint8)
    out = _run(src, (3, 15, 10))
    for c in range(3):
        np.testing.assert_allclose(out[c], _pillow_float(src[..., c], (15, 10)) / 255.0, atol=1e-5)


def test_volume_resizes_each_axis_separably():
    vol = np.random.default_rng(5).random((12, 20, 16)).astype(np.float32)
    out = _run(vol, (1, 6, 10, 8), flip=(False, False, False))
    # oracle: Pillow over (H, W) per slice, then Pillow over (D, x) per column of the result
    per_slice = np.stack([_pillow_float(s, (10, 8)) for s in vol])
    expected = np.stack([_pillow_float(per_slice[:, :, x], (6, 10)) for x in range(8)], axis=-1)
    np.testing.assert_allclose(out[0], expected, atol=1e-5)
    flipped = _run(vol, (1, 6, 10, 8), flip=(True, False, True))
    np.testing.assert_array_equal(flipped, out[:, ::-1, :, ::-1])


def test_rejects_a_crop_outside_the_image_and_a_channel_mismatch():
    src = np.zeros((10, 10), dtype=np.uint8)
    with pytest.raises(ValueError, match="crop"):
        _run(src, (1, 4, 4), crop=(5, 0, 8, 4))
    with pytest.raises(ValueError, match="channels"):
        _run(np.zeros((10, 10, 3), dtype=np.uint8), (1, 4, 4))


@pytest.mark.parametrize("degrees", [30.0, -72.5, 180.0])
def test_rotation_matches_scipy_affine_transform(degrees):
    src = np.random.default_rng(6).random((2, 20, 30)).astype(np.float32)
    out = np.empty_like(src)
    rotate_into(src, out, degrees, fill=0.3)
    theta = np.radians(degrees)
    matrix = np.array([[np.cos(theta), np.sin(theta)], [-np.sin(theta), np.cos(theta)]])
    centre = np.array([(20 - 1) / 2, (30 - 1) / 2])
    expected = np.stack(
        [
            ndi.affine_transform(
                c.astype(np.float64),
                matrix,
                offset=centre - matrix @ centre,
                order=1,
                mode="grid-constant",
                cval=0.3,
                prefilter=False,
            )
            for c in src
        ]
    )
    np.testing.assert_allclose(out, expected, atol=1e-5)


def test_rotation_by_zero_copies_and_by_ninety_turns_counter_clockwise():
    src = np.random.default_rng(7).random((1, 9, 9)).astype(np.float32)
    out = np.empty_like(src)
    rotate_into(src, out, 0.0)
    np.testing.assert_array_equal(out, src)
    rotate_into(src, out, 90.0)
    np.testing.assert_allclose(out[0], np.rot90(src[0]), atol=1e-6)


def test_intensity_jitter_is_in_place_affine():
    x = np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4)
    expected = (x.astype(np.float64) * 1.1 - 0.05).astype(np.float32)
    intensity_jitter(x, 1.1, -0.05)
    np.testing.assert_array_equal(x, expected)
