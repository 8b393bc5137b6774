"""Writing one patient's views (and lesion masks) into preallocated batch arrays.

:class:`SampleWriter` is shared by both loader backends, so for the same ``(seed, epoch, patient)``
they produce identical arrays: decode (with an optional in-memory cache), sample augmentation,
then the ``preprocess_into`` / ``rotate_into`` / ``intensity_jitter`` kernels.
"""

from __future__ import annotations

import threading

import attrs
import numpy as np

from medfusion_core.config import ExperimentConfig
from medfusion_core.data.augment import ViewAugment, identity, sample_rng, sample_view
from medfusion_core.data.manifest import Manifest
from medfusion_core.data.readers import default_window, read_image
from medfusion_core.errors import DataError
from medfusion_core.kernels import get_kernel

#: Decoded images kept in memory by default (bytes).
DEFAULT_CACHE_BYTES = 512 * 2**20


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

    def put(self, key: tuple[str, str], value: Decoded) -> None:
        """Keep ``value`` when it fits in the budget."""
        with self._lock:
            if key not in self._items and self._bytes + value.array.nbytes <= self.max_bytes:
                self._items[key] = value
                self._bytes += value.array.nbytes


class SampleWriter:
    """Fills the image part of a batch for one patient (see :meth:`write`)."""

    def __init__(self, config: ExperimentConfig, manifest: Manifest, cache: ImageCache | None = None) -> None:
        self.config = config
        self.manifest = manifest
        self.image = config.data.image
        self.spatial = len(self.image.size)
        if self.spatial not in (2, 3):
            raise DataError(f"data.image.size: {self.image.size}: give [H, W] or [D, H, W]")
        self.cache = cache if cache is not None else ImageCache()
        self.with_masks = config.data.mask is not None

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
            if array.ndim == 3 and self.spatial == 2:
                array = array.max(axis=-1)
            array = np.ascontiguousarray(array > 0, dtype=np.float32)
            decoded = Decoded(array, None)
        else:
            self._check_shape(array, path, index)
            window = tuple(self.image.window) if self.image.window else default_window(path)
            decoded = Decoded(array, window)  # type: ignore[arg-type]
        self.cache.put(key, decoded)
        return decoded

    def _check_shape(self, array: np.ndarray, path: str, index: int) -> None:
        channels = self.image.channels
        where = f"{self.manifest.path}: row {self.manifest.rows[index]}: {path}"
        if self.spatial == 3 and array.ndim != 3:
            raise DataError(f"{where}: shape {array.shape} is not a 3D volume as data.image.size asks")
        layout_ok = array.ndim == 2 or (array.ndim == 3 and array.shape[-1] in (1, channels))
        if self.spatial == 2 and not layout_ok:
            raise DataError(
                f"{where}: shape {array.shape} does not give {channels} channel(s); "
                "set data.image.channels or data.image.size"
            )

    def augments(
        self, index: int, epoch: int, train: bool, shapes: list[tuple[int, ...]]
    ) -> list[ViewAugment]:
        """The augmentation of each view of patient ``index`` in ``epoch`` given the views' source
        spatial ``shapes`` (identity unless ``train``)."""
        if not train:
            return [identity(self.spatial) for _ in shapes]
        rng = sample_rng(self.config.seed, epoch, index)
        return [sample_view(rng, self.image.augment, shape, self.spatial) for shape in shapes]

    def write(
        self, index: int, epoch: int, train: bool, images: np.ndarray, masks: np.ndarray | None
    ) -> None:
        """Write patient ``index``'s views into ``images`` ``[V, C, ...]`` (and lesion masks into
        ``masks`` ``[V, 1, ...]``); slots beyond its views are left as they are (zeros)."""
        preprocess = get_kernel("preprocess_into")
        decoded_views = [self._decode(path, mask=False, index=index) for path in self.manifest.views[index]]
        shapes = [d.array.shape[: self.spatial] for d in decoded_views]
        fills = [-m / s for m, s in zip(*self._channel_stats(), strict=True)]
        for v, (decoded, augment) in enumerate(
            zip(decoded_views, self.augments(index, epoch, train, shapes), strict=True)
        ):
            preprocess(
                decoded.array,
                images[v],
                crop=augment.crop,
                flip=augment.flip,
                window=decoded.window,
                mean=self.image.mean,
                std=self.image.std,
            )
            self._rotate(images[v], augment.degrees, fills)
            if augment.scale != 1.0 or augment.shift != 0.0:
                get_kernel("intensity_jitter")(images[v], augment.scale, augment.shift)
            mask_path = self.manifest.masks[index][v] if masks is not None else None
            if mask_path is not None:
                mask = self._decode(mask_path, mask=True, index=index)
                preprocess(mask.array, masks[v], crop=augment.crop, flip=augment.flip)  # type: ignore[index]
                self._rotate(masks[v], augment.degrees, [0.0])  # type: ignore[index]

    def has_masks(self, index: int) -> list[bool]:
        """Per view of patient ``index``: whether it has a lesion mask."""
        return [p is not None for p in self.manifest.masks[index]]

    def _channel_stats(self) -> tuple[list[float], list[float]]:
        channels = self.image.channels
        mean, std = list(self.image.mean), list(self.image.std)
        return (mean * channels if len(mean) == 1 else mean), (std * channels if len(std) == 1 else std)

    @staticmethod
    def _rotate(view: np.ndarray, degrees: float, fills: list[float]) -> None:
        """Rotate ``view`` ``[C, H, W]`` in place, channel ``c`` filled with ``fills[c]`` (the
        normalised value of a black pixel)."""
        if degrees == 0.0:
            return
        rotate = get_kernel("rotate_into")
        source = view.copy()
        for c, fill in enumerate(fills):
            rotate(source[c : c + 1], view[c : c + 1], degrees, fill)
