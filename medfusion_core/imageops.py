"""Numpy reference kernels for the image data path (registered as kernel specs by the core).

These functions define the exact arithmetic that any accelerated backend (the Rust kernels of
``medfusion-plugin-native``) must reproduce to within 1e-5. All internal arithmetic is float64;
the result is rounded to float32 exactly once, when it is stored into ``out``.

Kernels:

``preprocess_into(src, out, *, crop=None, flip=(False, False), window=None, mean=(0.0,), std=(1.0,))``
    crop -> antialiased bilinear resize -> flip -> intensity mapping -> normalise -> CHW store.

``rotate_into(src, out, degrees, fill=0.0)``
    bilinear rotation of a ``[C, H, W]`` float32 image about its centre.

``intensity_jitter(x, scale, shift)``
    in place ``x = x * scale + shift``.

Resize math (one spatial axis; applied separably, see :func:`axis_weights`):

* input axis length ``n``, crop start ``s`` and crop length ``L`` (source pixels, may be
  fractional), output length ``m``.
* ``scale = L / m``; ``filterscale = max(scale, 1.0)``; ``support = 1.0 * filterscale``;
  ``ss = 1.0 / filterscale``.
* output index ``i`` has its centre at source coordinate ``center_i = s + (i + 0.5) * scale``
  (continuous coordinates where source pixel ``x`` covers ``[x, x + 1)``, centre ``x + 0.5``).
* the unnormalised weight of source pixel ``x`` (for every ``x`` in ``0 .. n-1``; pixels outside
  the image do not exist) is ``tri(((x - center_i) + 0.5) * ss)`` with the triangle filter
  ``tri(t) = max(0, 1 - |t|)``. Only ``x`` in ``[floor(center_i - support + 0.5),
  floor(center_i + support + 0.5))`` can be non-zero, which is Pillow's tap window.
* weights are divided by their sum (when the sum is non-zero). Near the image border the taps
  that would fall outside the image are therefore dropped and the rest renormalised (no
  padding, no clamping of coordinates). Taps outside the crop box but inside the image are used,
  exactly as Pillow's ``resize(..., box=...)`` does.
* the W axis is resampled first, then H (3D: W, then H, then D), each pass reading the float64
  result of the previous one. Nothing is rounded between passes.

This is Pillow's ``Image.resize(size, Image.BILINEAR, box=...)`` computed in float64 without the
8-bit fixed-point rounding Pillow applies to integer images.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

#: Source dtypes accepted by ``preprocess_into`` and the divisor that maps them to [0, 1]
#: when no window is given (1.0: values are used as they are).
DTYPE_SCALE: dict[np.dtype, float] = {
    np.dtype(np.uint8): 255.0,
    np.dtype(np.uint16): 65535.0,
    np.dtype(np.int16): 1.0,
    np.dtype(np.float32): 1.0,
}


@lru_cache(maxsize=256)
def axis_weights(in_size: int, start: float, length: float, out_size: int) -> np.ndarray:
    """Resampling matrix ``[out_size, in_size]`` (float64, rows sum to 1) for one axis.

    Row ``i`` holds the normalised triangle-filter weights of every source pixel for output
    pixel ``i``, following the math in the module docstring. The returned array is read-only
    (it is cached).
    """
    scale = length / out_size
    filterscale = max(scale, 1.0)
    ss = 1.0 / filterscale
    centers = start + (np.arange(out_size, dtype=np.float64) + 0.5) * scale
    x = np.arange(in_size, dtype=np.float64)
    weights = np.maximum(0.0, 1.0 - np.abs(((x[None, :] - centers[:, None]) + 0.5) * ss))
    totals = weights.sum(axis=1, keepdims=True)
    weights = np.divide(weights, totals, out=np.zeros_like(weights), where=totals != 0.0)
    weights.flags.writeable = False
    return weights


def _check_crop(crop: Sequence[float], shape: tuple[int, ...]) -> tuple[list[float], list[float]]:
    """Split a crop tuple into per-axis starts and lengths and check it lies inside ``shape``."""
    ndim = len(shape)
    if len(crop) != 2 * ndim:
        raise ValueError(f"crop must have {2 * ndim} numbers for a {ndim}D image, got {tuple(crop)}")
    starts = [float(v) for v in crop[:ndim]]
    lengths = [float(v) for v in crop[ndim:]]
    for axis, (begin, size, extent) in enumerate(zip(starts, lengths, shape, strict=True)):
        if size <= 0 or begin < 0 or begin + size > extent + 1e-9:
            raise ValueError(f"crop {tuple(crop)} does not fit axis {axis} of an image of shape {shape}")
    return starts, lengths


def _resample(
    image: np.ndarray, starts: list[float], lengths: list[float], out_shape: tuple[int, ...]
) -> np.ndarray:
    """Resample the spatial axes ``0 .. k-1`` of ``image`` (float64, trailing channel axis) to
    ``out_shape``, last spatial axis first."""
    result = image
    for axis in reversed(range(len(out_shape))):
        weights = axis_weights(image.shape[axis], starts[axis], lengths[axis], out_shape[axis])
        result = np.moveaxis(np.tensordot(weights, result, axes=([1], [axis])), 0, axis)
    return result


def _per_channel(values: Sequence[float] | float, channels: int, name: str) -> np.ndarray:
    """Broadcast a single mean/std value (or check a per-channel list) to ``channels`` values."""
    array = np.atleast_1d(np.asarray(values, dtype=np.float64))
    if array.size == 1:
        return np.full(channels, array[0])
    if array.size != channels:
        raise ValueError(f"{name} has {array.size} values but the output has {channels} channels")
    return array


def preprocess_into(
    src: np.ndarray,
    out: np.ndarray,
    *,
    crop: Sequence[float] | None = None,
    flip: Sequence[bool] = (False, False),
    window: Sequence[float] | None = None,
    mean: Sequence[float] | float = (0.0,),
    std: Sequence[float] | float = (1.0,),
) -> None:
    """Crop, resize, flip, window, normalise and lay out one image into ``out``.

    Args:
        src: 2D image ``[H, W]`` or ``[H, W, C]``, or 3D volume ``[D, H, W]`` (3D when ``out``
            has 4 dimensions); dtype uint8, uint16, int16 or float32.
        out: preallocated C-contiguous float32 ``[C, OH, OW]`` (3D: ``[C, OD, OH, OW]``),
            written in full.
        crop: ``(top, left, height, width)`` (3D: ``(z0, y0, x0, d, h, w)``) in source pixels,
            fractional values allowed, inside the image; ``None`` = the whole image.
        flip: one boolean per spatial axis (2D: vertical, horizontal), applied to the output:
            a flipped axis stores output index ``i`` at ``size - 1 - i``.
        window: ``(low, high)`` in raw source units: ``v = (min(max(v, low), high) - low) /
            (high - low)``. ``None``: uint8 ``v / 255``, uint16 ``v / 65535``, int16 and float32
            unchanged.
        mean, std: one value or one per output channel: ``v = (v - mean[c]) / std[c]``.

    Order of operations, all in float64: raw values -> resize (module docstring) -> flip ->
    window or dtype scaling (applied to resized values) -> normalisation -> float32 store. A
    1-channel source written into ``C > 1`` channels is replicated; otherwise the source must
    have ``C`` channels.
    """
    dtype = np.dtype(src.dtype)
    if dtype not in DTYPE_SCALE:
        raise ValueError(
            f"preprocess_into: unsupported source dtype {dtype}; use uint8, uint16, int16 or float32"
        )
    if out.dtype != np.float32 or not out.flags.c_contiguous:
        raise ValueError("preprocess_into: out must be a C-contiguous float32 array")
    spatial = out.ndim - 1
    if spatial not in (2, 3):
        raise ValueError(f"preprocess_into: out must be [C, H, W] or [C, D, H, W], got shape {out.shape}")
    image = np.asarray(src, dtype=np.float64)
    if image.ndim == spatial:
        image = image[..., None]
    if image.ndim != spatial + 1:
        raise ValueError(
            f"preprocess_into: source of shape {src.shape} does not match out of shape {out.shape}"
        )
    channels = out.shape[0]
    if image.shape[-1] not in (1, channels):
        raise ValueError(f"preprocess_into: source has {image.shape[-1]} channels, out has {channels}")
    if len(flip) != spatial:
        raise ValueError(f"preprocess_into: flip needs {spatial} booleans, got {tuple(flip)}")
    in_shape = image.shape[:spatial]
    if crop is None:
        starts, lengths = [0.0] * spatial, [float(n) for n in in_shape]
    else:
        starts, lengths = _check_crop(crop, in_shape)
    result = _resample(image, starts, lengths, out.shape[1:])
    flipped = tuple(slice(None, None, -1) if f else slice(None) for f in flip)
    result = result[flipped]
    if window is not None:
        low, high = float(window[0]), float(window[1])
        if not high > low:
            raise ValueError(f"preprocess_into: window {tuple(window)} needs high > low")
        result = (np.clip(result, low, high) - low) / (high - low)
    elif DTYPE_SCALE[dtype] != 1.0:
        result = result / DTYPE_SCALE[dtype]
    result = np.moveaxis(result, -1, 0)
    mean_c = _per_channel(mean, channels, "mean").reshape((channels,) + (1,) * spatial)
    std_c = _per_channel(std, channels, "std").reshape((channels,) + (1,) * spatial)
    out[...] = (result - mean_c) / std_c


def rotate_into(src: np.ndarray, out: np.ndarray, degrees: float, fill: float = 0.0) -> None:
    """Rotate a float32 ``[C, H, W]`` image counter-clockwise (as displayed, rows going down)
    by ``degrees`` about its centre with bilinear interpolation, writing ``out`` (same shape).

    Math (float64): ``t = degrees * pi / 180``, ``cy = (H - 1) / 2``, ``cx = (W - 1) / 2``. For
    output pixel ``(y, x)`` with ``dy = y - cy``, ``dx = x - cx`` the source point is
    ``sx = cx + cos(t) * dx - sin(t) * dy`` and ``sy = cy + sin(t) * dx + cos(t) * dy``.
    With ``x0 = floor(sx)``, ``y0 = floor(sy)``, ``fx = sx - x0``, ``fy = sy - y0`` the value is
    ``(1-fy)((1-fx) v(y0,x0) + fx v(y0,x0+1)) + fy((1-fx) v(y0+1,x0) + fx v(y0+1,x0+1))``,
    where a tap outside the image has the value ``fill``. ``degrees = 0`` copies exactly.
    """
    if src.shape != out.shape or src.ndim != 3:
        raise ValueError(f"rotate_into: src {src.shape} and out {out.shape} must both be [C, H, W]")
    _, height, width = src.shape
    theta = math.radians(degrees)
    cos_t, sin_t = math.cos(theta), math.sin(theta)
    cy, cx = (height - 1) / 2.0, (width - 1) / 2.0
    dy = np.arange(height, dtype=np.float64)[:, None] - cy
    dx = np.arange(width, dtype=np.float64)[None, :] - cx
    sx = cx + cos_t * dx - sin_t * dy
    sy = cy + sin_t * dx + cos_t * dy
    x0 = np.floor(sx)
    y0 = np.floor(sy)
    fx = sx - x0
    fy = sy - y0
    x0 = x0.astype(np.int64)
    y0 = y0.astype(np.int64)
    padded = np.pad(src.astype(np.float64), ((0, 0), (1, 1), (1, 1)), constant_values=float(fill))

    def tap(yy: np.ndarray, xx: np.ndarray) -> np.ndarray:
        inside = (yy >= -1) & (yy <= height) & (xx >= -1) & (xx <= width)
        values = padded[:, np.clip(yy, -1, height) + 1, np.clip(xx, -1, width) + 1]
        return np.where(inside, values, float(fill))

    top = (1.0 - fx) * tap(y0, x0) + fx * tap(y0, x0 + 1)
    bottom = (1.0 - fx) * tap(y0 + 1, x0) + fx * tap(y0 + 1, x0 + 1)
    out[...] = (1.0 - fy) * top + fy * bottom


def intensity_jitter(x: np.ndarray, scale: float, shift: float) -> None:
    """In place ``x = x * scale + shift`` on a float32 array, computed in float64 and rounded
    to float32 once (``((double) x * scale + shift)`` without fused multiply-add)."""
    x[...] = x.astype(np.float64) * float(scale) + float(shift)
