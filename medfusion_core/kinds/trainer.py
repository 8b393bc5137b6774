"""The trainer kind: fits a model for one training job and writes the run folder.

Contract: ``factory(**params)`` returns an object with
``fit(job: TrainingJob, run_dir, *, resume=False) -> dict`` that trains, writes checkpoints and
metrics under ``run_dir`` and returns the run's summary. :class:`TrainingJob` is what the trainer
receives; :func:`shard_bounds` and :func:`shard_batch` are how a global batch is split between
DDP ranks, the same everywhere (data loaders, trainers, tests).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import attrs

from medfusion_core.kinds.base import Info, Kind, hookspec

if TYPE_CHECKING:
    from medfusion_core.specs import ComponentSpec


@hookspec
def medfusion_register_trainers() -> list[ComponentSpec] | None:
    """Register trainers.

    Factory signature: ``factory(**params)`` returning an object with
    ``fit(job: TrainingJob, run_dir, *, resume=False)`` that trains the job's model, writes
    checkpoints and metrics under ``run_dir`` and returns the run's summary dict.
    """


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
        on_record: called with every record the trainer appends to ``metrics.jsonl`` (step,
            epoch, checkpoint and end events, with ``epoch``/``batch``/``step``/``time``), on
            rank 0 only, right after it is written; how ``train`` feeds the trackers.
    """

    config: Any
    model: Any
    train_batches: Callable[[int, int, int, int], Iterator[dict[str, Any]]]
    batches_per_epoch: int
    val_batches: Callable[[], Iterable[dict[str, Any]]] | None = None
    train_labels: Any = None
    variant: str = "fused"
    on_record: Callable[[dict[str, Any]], None] | None = None


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


class Trainer(Protocol):
    """What the training workflow relies on in a trainer."""

    def fit(self, job: TrainingJob, run_dir: str | Path, *, resume: bool = False) -> dict[str, Any]:
        """Train ``job`` into ``run_dir`` (continuing its checkpoint with ``resume``); the summary."""
        ...


KIND = Kind("trainer", medfusion_register_trainers, Info, Trainer)
