"""Writing patients' views (and lesion masks) into preallocated batch arrays.

:class:`SampleWriter` is shared by both loader backends, so for the same ``(seed, epoch, patient)``
they produce identical arrays. Per batch it samples every view's augmentation in Python, then
makes one ``fill_views`` kernel call (see :mod:`medfusion_core.viewops`): views come from the
in-memory cache as arrays, or as PNG paths that the kernel decodes itself (the native kernel in
parallel, without the GIL), or decoded here by the registered reader. A view the kernel cannot
fill is decoded and checked here, which raises the one-line :class:`DataError` naming the
manifest row and file, or filled again from the decoded arrays.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import attrs
import numpy as np

from medfusion_core.config import ExperimentConfig, ImageConfig
from medfusion_core.data.augment import ViewAugment, identity, sample_rng, sample_views
from medfusion_core.data.manifest import Manifest
from medfusion_core.data.readers import default_window, png_kernel_reads, read_image
from medfusion_core.errors import DataError
from medfusion_core.kernels import get_kernel
from medfusion_core.viewops import ViewJob, binary_mask

#: Decoded images kept in memory by default (bytes).
DEFAULT_CACHE_BYTES = 512 * 2**20


def _luminance(array: np.ndarray) -> np.ndarray:
    """An RGB(A) image ``[H, W, 3|4]`` as luminance ``[H, W]`` (ITU-R BT.601 weights) in the file's
    dtype (integers rounded), so that dtype scaling stays as for the colour file."""
    weights = np.array([0.299, 0.587, 0.114], dtype=np.float32)
    gray = array[..., :3].astype(np.float32) @ weights
    if np.issubdtype(array.dtype, np.integer):
        limits = np.iinfo(array.dtype)
        return np.clip(np.rint(gray), limits.min, limits.max).astype(array.dtype)
    return np.ascontiguousarray(gray.astype(array.dtype))


def check_view(shape: tuple[int, ...], image: ImageConfig, where: str) -> bool:
    """Check a decoded view of array ``shape`` against ``image`` (``data.image``): raises
    :class:`DataError` starting with ``where`` for a 3D volume in a 2D config, a 2D image in a 3D
    config, and channel counts that differ from ``data.image.channels`` without
    ``data.image.color`` saying what to do. Returns whether ``color: convert`` must convert it."""
    spatial, channels = len(image.size), image.channels
    if spatial == 3:
        if len(shape) != 3:
            raise DataError(f"{where}: shape {shape} is not a 3D volume as data.image.size asks")
        return False
    if len(shape) == 3 and shape[-1] not in (1, 3, 4):
        raise DataError(
            f"{where}: a 3D volume (shape {shape}) in a 2D config; give data.image.size as "
            "[D, H, W] for volumes, or use 2D image files"
        )
    found = 1 if len(shape) == 2 else shape[-1]
    if found in (channels, 1 if channels == 1 else -1):
        return False
    if image.color == "convert":
        return True
    kind = "a grayscale" if found == 1 else f"a {found}-channel colour"
    hint = (
        f"set data.image.channels: {found} to keep the file's channels"
        if image.color == "keep"
        else f"set data.image.color: convert (to {channels} channel(s)) or data.image.channels: {found} "
        "with data.image.color: keep"
    )
    raise DataError(f"{where}: {kind} image (shape {shape}) into {channels} channel(s); {hint}")


def fit_view(array: np.ndarray, image: ImageConfig, where: str) -> np.ndarray:
    """``array`` (a decoded view) checked against ``image`` by :func:`check_view` and, with
    ``color: convert``, converted to its channel count."""
    if not check_view(array.shape, image, where):
        return array
    channels, found = image.channels, 1 if array.ndim == 2 else array.shape[-1]
    if channels == 3 and found == 4:
        return np.ascontiguousarray(array[..., :3])
    gray = array if array.ndim == 2 else (array[..., 0] if found == 1 else _luminance(array))
    return gray if channels == 1 else np.ascontiguousarray(np.repeat(gray[..., None], channels, axis=-1))


@attrs.frozen
class Decoded:
    """A decoded image and the window to display it with (``None``: dtype scaling)."""

    array: np.ndarray
    window: tuple[float, float] | None


class ImageCache:
    """Decoded images by path, up to ``max_bytes`` in total (later images are not kept)."""

    def __init__(self, max_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self._items: dict[tuple[str, str], Decoded] = {}
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str]) -> Decoded | None:
        """The cached entry for ``(kind, path)``, if any."""
        return self._items.get(key)

    @property
    def accepting(self) -> bool:
        """Whether the budget has room left (a full cache is not offered new images)."""
        return self._bytes < self.max_bytes

    def put(self, key: tuple[str, str], value: Decoded) -> None:
        """Keep ``value`` when it fits in the budget."""
        with self._lock:
            if key not in self._items and self._bytes + value.array.nbytes <= self.max_bytes:
                self._items[key] = value
                self._bytes += value.array.nbytes


@attrs.frozen
class _Origin:
    """Where a job of a batch comes from: the patient and the files of its view."""

    index: int
    image: str
    mask: str | None


class SampleWriter:
    """Fills the image part of a batch (see :meth:`write_batch`)."""

    def __init__(self, config: ExperimentConfig, manifest: Manifest, cache: ImageCache | None = None) -> None:
        self.config = config
        self.manifest = manifest
        self.image = config.data.image
        self.spatial = len(self.image.size)
        if self.spatial not in (2, 3):
            raise DataError(f"data.image.size: {self.image.size}: give [H, W] or [D, H, W]")
        self.cache = cache if cache is not None else ImageCache()
        self.with_masks = config.data.mask is not None
        self.mean, self.std = self._channel_stats()
        self.window = tuple(self.image.window) if self.image.window else None
        # PNG files may go to the kernel as paths when their reader returns the kernel's arrays.
        self._png_paths = self.spatial == 2 and png_kernel_reads()

    @property
    def view_shape(self) -> tuple[int, ...]:
        """Shape of one view in the batch: ``(C, H, W)`` or ``(C, D, H, W)``."""
        return (self.image.channels, *self.image.size)

    def _decode(self, path: str, *, mask: bool, index: int) -> Decoded:
        key = ("mask" if mask else "image", path)
        found = self.cache.get(key)
        if found is not None:
            return found
        try:
            array = read_image(path)
        except DataError as exc:
            raise DataError(f"{self.manifest.path}: row {self.manifest.rows[index]}: {exc}") from None
        if mask:
            decoded = Decoded(binary_mask(array, self.spatial), None)
        else:
            where = f"{self.manifest.path}: row {self.manifest.rows[index]}: {path}"
            array = fit_view(array, self.image, where)
            window = self.window or default_window(path)
            decoded = Decoded(array, window)  # type: ignore[arg-type]
        self.cache.put(key, decoded)
        return decoded

    def _source(self, path: str, *, mask: bool, index: int) -> tuple[str | np.ndarray, tuple | None]:
        """What the kernel gets for ``path`` (a cached or decoded array, or the PNG path itself
        when the cache would not keep it) and the image's window."""
        found = self.cache.get(("mask" if mask else "image", path))
        if found is None and self._png_paths and not self.cache.accepting and path.lower().endswith(".png"):
            return path, self.window
        decoded = found or self._decode(path, mask=mask, index=index)
        return decoded.array, decoded.window

    def augments(self, index: int, epoch: int, train: bool, count: int) -> list[ViewAugment]:
        """The augmentation of the ``count`` views of patient ``index`` in ``epoch`` (identity
        unless ``train``)."""
        if not train:
            return [identity(self.spatial)] * count
        return sample_views(
            sample_rng(self.config.seed, epoch, index), self.image.augment, count, self.spatial
        )

    def write_batch(
        self,
        indices: Sequence[int],
        epoch: int,
        train: bool,
        images: np.ndarray,
        masks: np.ndarray | None,
    ) -> None:
        """Write the views of patients ``indices`` into rows of ``images`` ``[B, V, C, ...]``
        (and lesion masks into ``masks`` ``[B, V, 1, ...]``) with one ``fill_views`` call."""
        views = images.shape[1]
        jobs: list[ViewJob] = []
        origins: list[_Origin] = []
        for row, index in enumerate(indices):
            index = int(index)
            paths = self.manifest.views[index]
            mask_paths = self.manifest.masks[index] if masks is not None else [None] * len(paths)
            for v, (path, mask_path, augment) in enumerate(
                zip(paths, mask_paths, self.augments(index, epoch, train, len(paths)), strict=True)
            ):
                image, window = self._source(path, mask=False, index=index)
                mask = None if mask_path is None else self._source(mask_path, mask=True, index=index)[0]
                jobs.append(self._job(image, row * views + v, mask, window, augment))
                origins.append(_Origin(index, path, mask_path))
        if not jobs:
            return
        outputs = self._flat(images), None if masks is None else self._flat(masks)
        for i, _ in self._fill(jobs, *outputs):
            self._refill(jobs[i], origins[i], *outputs)

    @staticmethod
    def _flat(array: np.ndarray) -> np.ndarray:
        """``[B, V, C, ...]`` as ``[B * V, C, ...]``, a view of the caller's array."""
        if not array.flags.c_contiguous:
            raise ValueError("SampleWriter: batch arrays must be C-contiguous")
        return array.reshape(-1, *array.shape[2:])

    @staticmethod
    def _job(
        image: str | np.ndarray,
        slot: int,
        mask: str | np.ndarray | None,
        window: tuple | None,
        augment: ViewAugment,
    ) -> ViewJob:
        return ViewJob(
            image=image,
            slot=slot,
            mask=mask,
            crop=augment.crop,
            flip=augment.flip,
            window=window,
            degrees=augment.degrees,
            scale=augment.scale,
            shift=augment.shift,
        )

    def _fill(
        self, jobs: list[ViewJob], images: np.ndarray, masks: np.ndarray | None
    ) -> list[tuple[int, str]]:
        return get_kernel("fill_views")(jobs, images, masks, mean=self.mean, std=self.std)

    def _refill(self, job: ViewJob, origin: _Origin, images: np.ndarray, masks: np.ndarray | None) -> None:
        """Fill a view the kernel could not fill from arrays decoded (and checked) here; raises
        :class:`DataError` naming the manifest row and file when that is impossible."""
        image = self._decode(origin.image, mask=False, index=origin.index)
        mask = None if origin.mask is None else self._decode(origin.mask, mask=True, index=origin.index)
        job = attrs.evolve(
            job, image=image.array, window=image.window, mask=None if mask is None else mask.array
        )
        for _, reason in self._fill([job], images, masks):
            where = f"{self.manifest.path}: row {self.manifest.rows[origin.index]}: {origin.image}"
            raise DataError(f"{where}: cannot prepare this view ({reason})")

    def has_masks(self, index: int) -> list[bool]:
        """Per view of patient ``index``: whether it has a lesion mask."""
        return [p is not None for p in self.manifest.masks[index]]

    def _channel_stats(self) -> tuple[list[float], list[float]]:
        channels = self.image.channels
        mean, std = list(self.image.mean), list(self.image.std)
        return (mean * channels if len(mean) == 1 else mean), (std * channels if len(std) == 1 else std)
