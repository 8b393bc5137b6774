"""Reference kernels of the batch data path: PNG decoding and filling a batch of views.

``decode_png(path) -> np.ndarray``
    A PNG as the reader registered for ``.png`` returns it (``medfusion-plugin-readers``: uint8/
    uint16 ``[H, W]`` or uint8 ``[H, W, 3]``); an unreadable file raises
    :class:`~medfusion_core.errors.DataError` naming it.

``probe_pngs(paths) -> list[tuple[int, ...] | None]``
    The array shape of each PNG as ``decode_png`` returns it (every file decoded in full, so
    that a truncated one is found), ``None`` where ``decode_png`` raises
    :class:`~medfusion_core.errors.DataError`; the caller reads those files again for the
    message. The up-front file check (:mod:`medfusion_core.data.checks`) calls it on chunks of
    files; an accelerator decodes a chunk in parallel on its own thread pool.

``fill_views(jobs, images, masks, *, mean, std) -> list[tuple[int, str]]``
    For each :class:`ViewJob`: read its image (a PNG path or an array already decoded) ->
    ``preprocess_into`` (crop :func:`crop_box`, flip, window, normalise with ``mean``/``std``) ->
    ``rotate_into`` each channel filled with ``-mean[c] / std[c]`` (the normalised black) ->
    ``intensity_jitter`` when ``scale != 1`` or ``shift != 0``; its mask (a path is binarised with
    :func:`binary_mask`; an array is used as it is) gets the same crop and flip, no
    normalisation, and the rotation filled with 0. ``mean`` and ``std`` hold one value per
    channel. ``images`` is ``[S, C, H, W]`` (3D:
    ``[S, C, D, H, W]``), ``masks`` ``[S, 1, ...]`` or ``None``; job ``i`` writes slot
    ``jobs[i].slot`` and other slots are left as they are. A view that cannot be filled
    (unreadable or unsupported file, shapes that do not fit) is skipped and returned as
    ``(job index, reason)``; the caller decides how to report it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import attrs
import numpy as np

from medfusion_core import imageops
from medfusion_core.errors import DataError, MedFusionError
from medfusion_core.kernels import get_kernel


@attrs.frozen(slots=True)
class ViewJob:
    """One view of a batch: where its pixels come from, the slot it fills and its augmentation.

    ``image``/``mask`` are a PNG path or an array in a kernel dtype (2D ``[H, W]``/``[H, W, C]``,
    3D ``[D, H, W]``; a mask array is already binary float32). ``crop`` is ``(side, top, left)``
    (see :func:`crop_box`), ``flip`` one boolean per spatial axis, ``window`` the image's
    ``(low, high)`` or ``None``.
    """

    image: str | np.ndarray
    slot: int
    mask: str | np.ndarray | None = None
    crop: tuple[float, float, float] | None = None
    flip: tuple[bool, ...] = (False, False)
    window: tuple[float, float] | None = None
    degrees: float = 0.0
    scale: float = 1.0
    shift: float = 0.0


def crop_box(crop: tuple[float, float, float] | None, shape: Sequence[int]) -> tuple[float, ...] | None:
    """``(top, left, height, width)`` in source pixels of ``crop = (side, top, left)`` on an image
    of spatial ``shape``: ``height = H * side``, ``width = W * side``, ``top * (H - height)``,
    ``left * (W - width)`` (``None`` stays ``None``: the whole image)."""
    if crop is None:
        return None
    side, top, left = crop
    height, width = shape[0] * side, shape[1] * side
    return (top * (shape[0] - height), left * (shape[1] - width), height, width)


def binary_mask(array: np.ndarray, spatial: int) -> np.ndarray:
    """A decoded lesion mask as float32 0/1 (a 2D mask with channels: any channel non-zero)."""
    if array.ndim == 3 and spatial == 2:
        array = array.max(axis=-1)
    return np.ascontiguousarray(array > 0, dtype=np.float32)


def decode_png(path: str) -> np.ndarray:
    """Decode the PNG at ``path`` with the reader registered for it (see the module docstring)."""
    from medfusion_core.data.readers import reader_for

    return reader_for(path)(Path(path))


def probe_pngs(paths: Sequence[str]) -> list[tuple[int, ...] | None]:
    """The shape of each PNG of ``paths`` decoded by :func:`decode_png`, ``None`` where it raises
    :class:`~medfusion_core.errors.DataError` (see the module docstring)."""
    shapes: list[tuple[int, ...] | None] = []
    for path in paths:
        try:
            shapes.append(tuple(decode_png(path).shape))
        except DataError:
            shapes.append(None)
    return shapes


def view_source(value: str | np.ndarray, *, mask: bool, spatial: int) -> np.ndarray:
    """The array of a job's image or mask: an array as it is, a PNG path decoded with the active
    ``decode_png`` kernel (a mask binarised with :func:`binary_mask`)."""
    if not isinstance(value, str):
        return value
    array = get_kernel("decode_png")(value)
    return binary_mask(array, spatial) if mask else array


def fill_views(
    jobs: Sequence[ViewJob],
    images: np.ndarray,
    masks: np.ndarray | None,
    *,
    mean: Sequence[float],
    std: Sequence[float],
) -> list[tuple[int, str]]:
    """Fill one slot per job (see the module docstring); returns the views that failed."""
    spatial = images.ndim - 2
    if not len(mean) == len(std) == images.shape[1]:
        raise ValueError(f"fill_views: mean and std need one value per channel ({images.shape[1]})")
    fills = [-m / s for m, s in zip(mean, std, strict=True)]
    failures = []
    for i, job in enumerate(jobs):
        try:
            image = view_source(job.image, mask=False, spatial=spatial)
            box = crop_box(job.crop, image.shape[:spatial])
            view = images[job.slot]
            imageops.preprocess_into(
                image, view, crop=box, flip=job.flip, window=job.window, mean=mean, std=std
            )
            _rotate(view, job.degrees, fills)
            if job.scale != 1.0 or job.shift != 0.0:
                imageops.intensity_jitter(view, job.scale, job.shift)
            if masks is not None and job.mask is not None:
                mask = view_source(job.mask, mask=True, spatial=spatial)
                imageops.preprocess_into(mask, masks[job.slot], crop=box, flip=job.flip)
                _rotate(masks[job.slot], job.degrees, [0.0])
        except (MedFusionError, ValueError) as exc:
            failures.append((i, str(exc)))
    return failures


def _rotate(view: np.ndarray, degrees: float, fills: list[float]) -> None:
    """Rotate ``view`` ``[C, H, W]`` in place, channel ``c`` filled with ``fills[c]``."""
    if degrees == 0.0:
        return
    source = view.copy()
    for c, fill in enumerate(fills):
        imageops.rotate_into(source[c : c + 1], view[c : c + 1], degrees, fill)
