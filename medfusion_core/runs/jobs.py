"""What a trainer receives: the :class:`TrainingJob`, and the sharding of global batches."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import attrs

# -- what a trainer receives ------------------------------------------------------------------


@attrs.define
class TrainingJob:
    """Everything a trainer's ``fit(job, variant_dir, *, resume=False)`` needs, built by
    ``medfusion train`` (or by hand in tests and benchmarks).

    Attributes:
        config: the experiment config (``seed``, ``task``, ``model`` are read by trainers).
        model: the ``torch.nn.Module`` to train, called as
            ``model(images, view_mask, clinical, modality_mask)`` and, for attention supervision,
            ``model.forward_with_extras(...)``.
        train_batches: ``(epoch, start_batch, rank, world_size) -> iterator`` of batch dicts (the
            shared batch format) for one epoch, starting at ``start_batch``; with several ranks
            each yields its own shard of every global batch (deterministic in the seed and epoch).
        batches_per_epoch: number of global batches in one training epoch.
        val_batches: ``() -> iterable`` of validation batches, or ``None`` (no validation).
        train_labels: training labels (for class weights), a sequence of numbers.
        variant: ``fused``, ``image`` or ``clinical``.
    """

    config: Any
    model: Any
    train_batches: Callable[[int, int, int, int], Iterator[dict[str, Any]]]
    batches_per_epoch: int
    val_batches: Callable[[], Iterable[dict[str, Any]]] | None = None
    train_labels: Any = None
    variant: str = "fused"


def shard_bounds(size: int, rank: int, world_size: int) -> tuple[int, int]:
    """``[start, stop)`` of rank ``rank``'s contiguous share of ``size`` items (sizes differ by at
    most one, earlier ranks larger), the split DistributedSampler-style sharding uses per batch."""
    base, extra = divmod(size, world_size)
    start = rank * base + min(rank, extra)
    return start, start + base + (1 if rank < extra else 0)


def shard_batch(batch: dict[str, Any], rank: int, world_size: int) -> dict[str, Any]:
    """Rank ``rank``'s contiguous slice of every entry of a global batch (tensors and lists)."""
    if world_size == 1:
        return batch
    size = len(batch["patient_id"]) if "patient_id" in batch else int(batch["label"].shape[0])
    start, stop = shard_bounds(size, rank, world_size)
    return {key: value[start:stop] for key, value in batch.items()}
