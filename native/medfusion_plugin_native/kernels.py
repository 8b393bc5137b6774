"""Python faces of the native kernels: validate like the numpy references, then call Rust.

Each function has the signature and results of the core reference of the same name
(:mod:`medfusion_core.kernels`, :mod:`medfusion_core.imageops`). Invalid input raises
:class:`NativeKernelError`, a :class:`~medfusion_core.errors.MedFusionError` that is also a
``ValueError`` like the references' errors. Every Rust call runs with the GIL released.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import attrs
import numpy as np

from medfusion_core.errors import MedFusionError
from medfusion_core.imageops import DTYPE_SCALE
from medfusion_core.kernels import check_binary_scores
from medfusion_core.viewops import ViewJob, view_source
from medfusion_core.viewops import decode_png as reference_decode_png
from medfusion_core.viewops import probe_pngs as reference_probe_pngs
from medfusion_plugin_native import _native

__all__ = [
    "NativeKernelError",
    "bootstrap_auc",
    "decode_png",
    "fill_views",
    "intensity_jitter",
    "preprocess_batch_into",
    "preprocess_into",
    "probe_pngs",
    "rotate_into",
]

_U64 = 1 << 64


class NativeKernelError(MedFusionError, ValueError):
    """A native kernel was called with arrays or parameters it cannot use."""


def bootstrap_auc(
    y_true: np.ndarray, scores: np.ndarray, n_resamples: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """AUROC and average precision of ``n_resamples`` bootstrap resamples (same resamples and
    results as the reference, within 1e-12), in parallel over resamples."""
    labels, values = check_binary_scores(y_true, scores)
    if n_resamples < 0:
        raise NativeKernelError(f"bootstrap_auc: n_resamples must be >= 0, got {n_resamples}")
    if labels.shape[0] >= 2**31:
        raise NativeKernelError(f"bootstrap_auc: {labels.shape[0]} predictions exceed the 2^31 supported")
    return _native.bootstrap_auc(
        np.ascontiguousarray(labels), np.ascontiguousarray(values), int(n_resamples), int(seed) % _U64
    )


@attrs.frozen
class _Shared:
    """The parameters every image of a call shares, checked once per call."""

    out_shape: tuple[int, ...]  # [C, H, W] or [C, D, H, W] of one image
    window: tuple[float, float] | None
    mean: list[float]
    std: list[float]


def _shared(
    out_shape: tuple[int, ...],
    window: Sequence[float] | None,
    mean: Sequence[float] | float,
    std: Sequence[float] | float,
) -> _Shared:
    """Check the window and the per-channel mean and std for images of shape ``out_shape``."""
    low_high = None
    if window is not None:
        low_high = (float(window[0]), float(window[1]))
        if not low_high[1] > low_high[0]:
            raise NativeKernelError(f"preprocess_into: window {tuple(window)} needs high > low")
    channels = out_shape[0]
    return _Shared(
        out_shape, low_high, _per_channel(mean, channels, "mean"), _per_channel(std, channels, "std")
    )


def _params(
    src: np.ndarray, crop: Sequence[float] | None, flip: Sequence[bool], shared: _Shared
) -> tuple[np.ndarray, tuple]:
    """Check one image job and return the ``[D, H, W, C]`` source view and Rust's parameter tuple."""
    scale = DTYPE_SCALE.get(src.dtype)
    if scale is None:
        raise NativeKernelError(
            f"preprocess_into: unsupported source dtype {src.dtype}; use uint8, uint16, int16 or float32"
        )
    out_shape = shared.out_shape
    spatial = len(out_shape) - 1
    image = src if src.ndim == spatial + 1 else src[..., None]
    if image.ndim != spatial + 1 or 0 in image.shape:
        raise NativeKernelError(
            f"preprocess_into: source of shape {src.shape} does not match out of shape {out_shape}"
        )
    channels = out_shape[0]
    if image.shape[-1] not in (1, channels):
        raise NativeKernelError(f"preprocess_into: source has {image.shape[-1]} channels, out has {channels}")
    if len(flip) != spatial:
        raise NativeKernelError(f"preprocess_into: flip needs {spatial} booleans, got {tuple(flip)}")
    starts, lengths = _crop(crop, image.shape[:spatial])
    pad = 3 - spatial
    params = (
        [0.0] * pad + starts,
        [1.0] * pad + lengths,
        [False] * pad + [bool(f) for f in flip],
        shared.window,
        float(scale),
        shared.mean,
        shared.std,
    )
    return image.reshape((1,) * pad + image.shape), params


def _crop(crop: Sequence[float] | None, extents: tuple[int, ...]) -> tuple[list[float], list[float]]:
    """Per-axis crop starts and lengths, checked to lie inside the image."""
    if crop is None:
        return [0.0] * len(extents), [float(n) for n in extents]
    ndim = len(extents)
    if len(crop) != 2 * ndim:
        raise NativeKernelError(
            f"preprocess_into: crop needs {2 * ndim} numbers for a {ndim}D image, got {tuple(crop)}"
        )
    starts = [float(v) for v in crop[:ndim]]
    lengths = [float(v) for v in crop[ndim:]]
    for axis, (begin, size, extent) in enumerate(zip(starts, lengths, extents, strict=True)):
        inside = math.isfinite(begin + size) and size > 0 and begin >= 0 and begin + size <= extent + 1e-9
        if not inside:
            raise NativeKernelError(
                f"preprocess_into: crop {tuple(crop)} does not fit axis {axis} of an image of shape {extents}"
            )
    return starts, lengths


def _per_channel(values: Sequence[float] | float, channels: int, name: str) -> list[float]:
    """One value per output channel (a single value broadcasts)."""
    flat = [float(v) for v in np.atleast_1d(np.asarray(values, dtype=np.float64))]
    if len(flat) == 1:
        return flat * channels
    if len(flat) != channels:
        raise NativeKernelError(
            f"preprocess_into: {name} has {len(flat)} values but out has {channels} channels"
        )
    return flat


def _checked_out(out: np.ndarray, leading: int, what: str) -> np.ndarray:
    """``out`` if it is a writable C-contiguous float32 array of ``leading`` batch axes, one
    channel axis and 2 or 3 spatial axes."""
    if not isinstance(out, np.ndarray) or out.dtype != np.float32 or not out.flags.c_contiguous:
        raise NativeKernelError(f"{what}: out must be a C-contiguous float32 numpy array")
    if not out.flags.writeable:
        raise NativeKernelError(f"{what}: out is read-only; pass a writable array")
    if out.ndim - leading not in (3, 4) or 0 in out.shape:
        raise NativeKernelError(f"{what}: out must be [C, H, W] or [C, D, H, W] per image, got {out.shape}")
    return out


def _as4(out: np.ndarray) -> np.ndarray:
    """``[C, H, W]`` -> ``[C, 1, H, W]`` (a view; 3D outputs are returned as they are)."""
    return out[:, None] if out.ndim == 3 else out


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
    """Crop, resize (antialiased bilinear), flip, window, normalise and lay out one image into
    ``out``, exactly as ``medfusion_core.imageops.preprocess_into`` (any source strides)."""
    out = _checked_out(out, 0, "preprocess_into")
    source, params = _params(np.asarray(src), crop, flip, _shared(out.shape, window, mean, std))
    _native.preprocess_into(source, _as4(out), params)


def preprocess_batch_into(
    srcs: Sequence[np.ndarray],
    out: np.ndarray,
    *,
    crops: Sequence[Sequence[float] | None] | None = None,
    flips: Sequence[Sequence[bool]] | None = None,
    window: Sequence[float] | None = None,
    mean: Sequence[float] | float = (0.0,),
    std: Sequence[float] | float = (1.0,),
) -> None:
    """:func:`preprocess_into` for many images at once, in parallel over images on the pool.

    ``out`` is ``[N, C, OH, OW]`` (3D: ``[N, C, OD, OH, OW]``) with ``N = len(srcs)``; image ``i``
    is written into ``out[i]`` with ``crops[i]`` and ``flips[i]`` (default: whole image, no flip).
    """
    count = len(srcs)
    out = _checked_out(out, 1, "preprocess_batch_into")
    if count == 0 or out.shape[0] != count:
        raise NativeKernelError(
            f"preprocess_batch_into: out {out.shape} needs one leading row per source ({count})"
        )
    spatial = out.ndim - 2
    crops = [None] * count if crops is None else list(crops)
    flips = [(False,) * spatial] * count if flips is None else list(flips)
    if len(crops) != count or len(flips) != count:
        raise NativeKernelError("preprocess_batch_into: crops and flips need one entry per source")
    shared = _shared(out.shape[1:], window, mean, std)
    jobs = [
        _params(np.asarray(src), crop, flip, shared)
        for src, crop, flip in zip(srcs, crops, flips, strict=True)
    ]
    rows = out.reshape((count * out.shape[1], *out.shape[2:]))
    _native.preprocess_batch_into([job[0] for job in jobs], _as4(rows), [job[1] for job in jobs])


def rotate_into(src: np.ndarray, out: np.ndarray, degrees: float, fill: float = 0.0) -> None:
    """Bilinear rotation of a float32 ``[C, H, W]`` image about its centre into ``out``
    (counter-clockwise; exactly ``medfusion_core.imageops.rotate_into``)."""
    src = np.asarray(src)
    if src.dtype != np.float32:
        raise NativeKernelError(f"rotate_into: src must be float32, got {src.dtype}")
    out = _checked_out(out, 0, "rotate_into")
    if src.ndim != 3 or src.shape != out.shape:
        raise NativeKernelError(f"rotate_into: src {src.shape} and out {out.shape} must both be [C, H, W]")
    if not (math.isfinite(degrees) and math.isfinite(fill)):
        raise NativeKernelError(f"rotate_into: degrees {degrees} and fill {fill} must be finite")
    _native.rotate_into(src[..., None], out[..., None], float(degrees), float(fill))


def intensity_jitter(x: np.ndarray, scale: float, shift: float) -> None:
    """In place ``x = x * scale + shift`` on a float32 array of any shape and strides."""
    if not isinstance(x, np.ndarray) or x.dtype != np.float32 or not x.flags.writeable:
        raise NativeKernelError("intensity_jitter: x must be a writable float32 numpy array")
    _native.intensity_jitter(x, float(scale), float(shift))


def decode_png(path: str) -> np.ndarray:
    """Decode a PNG in Rust (8/16-bit grey, 8-bit grey+alpha, RGB, RGBA) with the GIL released;
    other PNGs and unreadable files go to the reference kernel (the registered PNG reader), so the
    result (or the DataError) is exactly ``medfusion_core.viewops.decode_png``'s."""
    decoded = _native.decode_png(str(path))
    if decoded is None:
        return reference_decode_png(path)
    return decoded


def probe_pngs(paths: Sequence[str]) -> list[tuple[int, ...] | None]:
    """The shape of each PNG of ``paths``, every file decoded in full in Rust, in parallel over
    files on the pool with the GIL released; files Rust leaves (a kind for Pillow, unreadable)
    go to the reference kernel, so the result is exactly ``medfusion_core.viewops.probe_pngs``'s."""
    names = [str(path) for path in paths]
    shapes: list[tuple[int, ...] | None] = [
        None if shape is None else tuple(shape) for shape in _native.probe_pngs(names)
    ]
    left = [index for index, shape in enumerate(shapes) if shape is None]
    for index, shape in zip(left, reference_probe_pngs([names[i] for i in left]), strict=True):
        shapes[index] = shape
    return shapes


def fill_views(
    jobs: Sequence[ViewJob],
    images: np.ndarray,
    masks: np.ndarray | None,
    *,
    mean: Sequence[float],
    std: Sequence[float],
) -> list[tuple[int, str]]:
    """``medfusion_core.viewops.fill_views`` in one call: PNG paths decoded in Rust, every view
    prepared in parallel on the pool with the GIL released. Views Rust could not fill (a PNG
    kind left to Pillow, an unreadable file, even a panic) are tried once more from arrays
    decoded by :func:`decode_png`; those that still fail are returned as ``(job index, reason)``,
    as the reference returns them."""
    images = _checked_out(images, 1, "fill_views")
    if masks is not None:
        masks = _checked_out(masks, 1, "fill_views")
        if masks.shape[0] != images.shape[0] or masks.shape[1] != 1 or masks.shape[2:] != images.shape[2:]:
            raise NativeKernelError(f"fill_views: masks {masks.shape} do not match images {images.shape}")
    channels = images.shape[1]
    mean_c, std_c = [float(v) for v in mean], [float(v) for v in std]
    if not len(mean_c) == len(std_c) == channels:
        raise NativeKernelError(f"fill_views: mean and std need one value per channel ({channels})")
    if not jobs:
        return []
    failures = _native.fill_views(list(jobs), images, masks, mean_c, std_c)
    if not failures:
        return []
    final, retry = [], []
    for i, _ in failures:
        try:
            image = view_source(jobs[i].image, mask=False, spatial=images.ndim - 2)
            mask = (
                None
                if jobs[i].mask is None
                else view_source(jobs[i].mask, mask=True, spatial=images.ndim - 2)
            )
        except (MedFusionError, ValueError) as exc:
            final.append((i, str(exc)))
            continue
        retry.append((i, attrs.evolve(jobs[i], image=image, mask=mask)))
    if retry:
        again = _native.fill_views([job for _, job in retry], images, masks, mean_c, std_c)
        final.extend((retry[k][0], reason) for k, reason in again)
    return sorted(final)
