"""Batches in the agreed Batch format, from a thread pool or from torch DataLoader workers.

Batch (dict): ``images`` float32 ``[B, V, C, H, W]`` (3D: ``[B, V, C, D, H, W]``), ``view_mask``
bool ``[B, V]``, ``clinical`` float32 ``[B, F]``, ``modality_mask`` bool ``[B, 2]`` (image,
clinical), ``label`` (float32 ``[B]``, int64 ``[B]`` for multiclass), ``patient_id`` list[str],
``index`` int64 ``[B]`` (patient index in the manifest) and, when ``data.mask`` is configured,
``lesion_mask`` float32 ``[B, V, 1, H, W]`` with ``lesion_mask_valid`` bool ``[B, V]``.

The order of an epoch is ``default_rng([seed, epoch, 0x5EED]).permutation`` of the split (for
training; evaluation keeps manifest order), and each patient's augmentation depends only on
``(seed, epoch, patient index)``, so both backends give identical batches and
``iter_batches(epoch, start_batch=k)`` resumes an epoch exactly at batch ``k``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import numpy as np

from medfusion_core.data.samples import ImageCache, SampleWriter
from medfusion_core.errors import DataError, MedFusionError

if TYPE_CHECKING:
    from medfusion_core.data.dataset import PreparedData

BACKENDS = ("threads", "dataloader")
_SHUFFLE = 0x5EED


class BatchLoader:
    """Batches of one split; iterate with :meth:`iter_batches` (or plain ``iter`` for epoch 0).

    Args:
        data: the prepared dataset.
        split: ``train``, ``val``, ``test`` or ``all``.
        train: shuffle and augment (default: ``split == "train"``).
        batch_size, backend, workers: override ``data.loader`` (``auto`` means ``threads``).
        drop_last: drop a final incomplete batch (otherwise a training epoch's final batch of one
            patient is merged into the batch before it, see :attr:`merges_last`).
        cache: keep decoded images in memory (up to a budget).
    """

    def __init__(
        self,
        data: PreparedData,
        split: str,
        *,
        train: bool | None = None,
        batch_size: int | None = None,
        backend: str | None = None,
        workers: int | None = None,
        drop_last: bool = False,
        cache: bool = True,
    ) -> None:
        settings = data.config.data.loader
        self.data = data
        self.split = split
        self.train = split == "train" if train is None else train
        self.batch_size = batch_size or settings.batch_size
        backend = backend or settings.backend
        self.backend = "threads" if backend == "auto" else backend
        if self.backend not in BACKENDS:
            raise DataError(
                f"data.loader.backend: unknown backend {backend!r}; use auto, threads or dataloader"
            )
        self.workers = settings.workers if workers is None else workers
        self.drop_last = drop_last
        self.indices = data.indices(split)
        self.views = data.manifest.max_views
        self.writer = SampleWriter(data.config, data.manifest, ImageCache() if cache else ImageCache(0))

    @property
    def merges_last(self) -> bool:
        """Whether a training epoch's final batch of one patient is merged into the batch before
        it (a batch of one breaks BatchNorm's training statistics)."""
        full, rest = divmod(len(self.indices), self.batch_size)
        return self.train and not self.drop_last and rest == 1 and full >= 1

    def __len__(self) -> int:
        """Number of batches per epoch."""
        full, rest = divmod(len(self.indices), self.batch_size)
        return full + (1 if rest and not self.drop_last and not self.merges_last else 0)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return self.iter_batches(0)

    def epoch_order(self, epoch: int) -> np.ndarray:
        """Patient indices of ``epoch`` in the order they are batched."""
        if not self.train:
            return self.indices
        return np.random.default_rng([self.data.config.seed, epoch, _SHUFFLE]).permutation(self.indices)

    def batch_indices(
        self, epoch: int, start_batch: int = 0, shard: tuple[int, int] = (0, 1)
    ) -> list[np.ndarray]:
        """The patient indices of every batch of ``epoch`` from ``start_batch`` on; with ``shard``
        ``(rank, world_size)`` only rank ``rank``'s contiguous share of each global batch."""
        from medfusion_core.kinds.trainer import shard_bounds

        order, size = self.epoch_order(epoch), self.batch_size
        batches = [order[b * size : (b + 1) * size] for b in range(start_batch, len(self))]
        if self.merges_last and batches and start_batch < len(self):
            batches[-1] = order[(len(self) - 1) * size :]
        if shard[1] == 1:
            return batches
        return [batch[slice(*shard_bounds(len(batch), *shard))] for batch in batches]

    def iter_batches(
        self, epoch: int, start_batch: int = 0, shard: tuple[int, int] = (0, 1)
    ) -> Iterator[dict[str, Any]]:
        """Yield the batches of ``epoch`` starting at batch ``start_batch`` (for exact resume); with
        ``shard`` ``(rank, world_size)`` each batch is that rank's share of the global batch, and
        only its patients are read."""
        batches = self.batch_indices(epoch, start_batch, shard)
        if self.backend == "threads":
            return self._threads(batches, epoch)
        return self._dataloader(batches, epoch)

    def _allocate(self, size: int) -> dict[str, np.ndarray]:
        shape = self.writer.view_shape
        arrays = {"images": np.zeros((size, self.views, *shape), dtype=np.float32)}
        if self.writer.with_masks:
            arrays["lesion_mask"] = np.zeros((size, self.views, 1, *shape[1:]), dtype=np.float32)
        return arrays

    def _write(self, arrays: dict[str, np.ndarray], indices: np.ndarray, epoch: int) -> None:
        """Fill ``arrays`` with the views of patients ``indices`` (one kernel call)."""
        self.writer.write_batch(indices, epoch, self.train, arrays["images"], arrays.get("lesion_mask"))

    def _threads(self, batches: list[np.ndarray], epoch: int) -> Iterator[dict[str, Any]]:
        """Fill preallocated batches in background threads, up to ``workers`` batches ahead of
        the one being used (the native ``fill_views`` spreads each batch over its own pool)."""
        ahead = max(1, self.workers)
        with ThreadPoolExecutor(max_workers=ahead, thread_name_prefix="medfusion-data") as pool:

            def submit(indices: np.ndarray) -> tuple[dict[str, np.ndarray], Future[None]]:
                arrays = self._allocate(len(indices))
                return arrays, pool.submit(self._write, arrays, indices, epoch)

            pending = deque(submit(indices) for indices in batches[:ahead])
            for b, indices in enumerate(batches):
                arrays, job = pending.popleft()
                job.result()
                if b + ahead < len(batches):
                    pending.append(submit(batches[b + ahead]))
                yield self.assemble(indices, arrays)

    def _dataloader(self, batches: list[np.ndarray], epoch: int) -> Iterator[dict[str, Any]]:
        """Build samples in torch DataLoader workers and stack them."""
        from torch.utils.data import DataLoader

        flat = np.concatenate(batches) if batches else np.array([], dtype=np.int64)
        ends = np.cumsum([len(indices) for indices in batches]).tolist()
        positions = [range(end - len(indices), end) for indices, end in zip(batches, ends, strict=True)]
        loader = DataLoader(
            _EpochSamples(self, flat, epoch),
            batch_sampler=positions,
            num_workers=self.workers,
            collate_fn=_stack_samples,
        )
        try:
            for indices, arrays in zip(batches, loader, strict=True):
                yield self.assemble(indices, arrays)
        except MedFusionError as exc:
            raise type(exc)(worker_message(exc)) from None

    def assemble(self, indices: np.ndarray, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
        """The Batch of patients ``indices`` whose image arrays are filled in ``arrays``."""
        import torch

        data = self.data
        view_mask = np.zeros((len(indices), self.views), dtype=bool)
        for row, index in enumerate(indices):
            view_mask[row, : len(data.manifest.views[index])] = True
        batch: dict[str, Any] = {
            "images": torch.from_numpy(arrays["images"]),
            "view_mask": torch.from_numpy(view_mask),
            "clinical": torch.from_numpy(data.clinical[indices]),
            "modality_mask": torch.from_numpy(
                np.stack([data.image_present[indices], data.clinical_present[indices]], axis=1)
            ),
            "label": torch.from_numpy(data.labels.values[indices]),
            "patient_id": [data.manifest.patients[i] for i in indices],
            "index": torch.from_numpy(np.asarray(indices, dtype=np.int64)),
        }
        if "lesion_mask" in arrays:
            valid = np.zeros_like(view_mask)
            for row, index in enumerate(indices):
                flags = self.writer.has_masks(int(index))
                valid[row, : len(flags)] = flags
            batch["lesion_mask"] = torch.from_numpy(arrays["lesion_mask"])
            batch["lesion_mask_valid"] = torch.from_numpy(valid)
        return batch


class _EpochSamples:
    """Map-style dataset of one epoch's samples (position -> image arrays) for DataLoader."""

    def __init__(self, loader: BatchLoader, order: np.ndarray, epoch: int) -> None:
        self.loader = loader
        self.order = order
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.order)

    def __getitem__(self, position: int) -> dict[str, np.ndarray]:
        arrays = self.loader._allocate(1)
        self.loader._write(arrays, self.order[position : position + 1], self.epoch)
        return {key: value[0] for key, value in arrays.items()}


def _stack_samples(samples: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Collate: stack each array (kept as numpy; the Batch is built in the main process)."""
    return {key: np.stack([sample[key] for sample in samples]) for key in samples[0]}


def worker_message(exc: BaseException) -> str:
    """The original one-line message of an error re-raised by torch from a DataLoader worker
    (torch prefixes it with the worker's traceback)."""
    lines = str(exc).strip().splitlines()
    if len(lines) < 2:
        return str(exc)
    _, _, message = lines[-1].partition(f"{type(exc).__name__}: ")
    return message or lines[-1]
