"""Distributed data parallel: process group set-up from torchrun's environment.

``torchrun --nproc_per_node N -m medfusion_core.cli train CONFIG`` sets ``RANK``, ``WORLD_SIZE``
and ``LOCAL_RANK``; the trainer joins a process group (gloo on CPU, nccl on CUDA), wraps the model
in :class:`~torch.nn.parallel.DistributedDataParallel`, and each rank trains on its shard of
every global batch. Only rank 0 writes files.
"""

from __future__ import annotations

import os
from typing import Any

import attrs
import torch
import torch.distributed as dist


@attrs.frozen
class DistContext:
    """Where this process runs: ``rank`` of ``world_size`` on ``device``."""

    rank: int = 0
    world_size: int = 1
    device: torch.device = attrs.field(factory=lambda: torch.device("cpu"))

    @property
    def is_main(self) -> bool:
        """Whether this process writes checkpoints, metrics and progress."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        """Whether several processes train together."""
        return self.world_size > 1

    def all_sum(self, value: float) -> float:
        """Sum a number over ranks (identity for one process)."""
        if not self.distributed:
            return value
        tensor = torch.tensor([value], dtype=torch.float64, device=self.device)
        dist.all_reduce(tensor)
        return float(tensor.item())

    def wrap(self, model: torch.nn.Module) -> torch.nn.Module:
        """The model DDP-wrapped when distributed, else unchanged."""
        if not self.distributed:
            return model
        ids = [self.device.index] if self.device.type == "cuda" else None
        return torch.nn.parallel.DistributedDataParallel(model, device_ids=ids)

    def barrier(self) -> None:
        """Wait for every rank (no-op for one process)."""
        if self.distributed:
            dist.barrier()


def setup(device: str) -> DistContext:
    """Join the process group described by torchrun's environment and pick the device."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = device == "cuda" or (device == "auto" and torch.cuda.is_available())
    chosen = torch.device("cuda", local_rank) if use_cuda else torch.device("cpu")
    if use_cuda:
        torch.cuda.set_device(chosen)
    if world_size > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    return DistContext(rank=rank, world_size=world_size, device=chosen)


def teardown(context: DistContext) -> None:
    """Leave the process group joined by :func:`setup`."""
    if context.distributed and dist.is_initialized():
        dist.destroy_process_group()


def unwrap(model: Any) -> torch.nn.Module:
    """The plain module inside a DDP wrapper."""
    return model.module if isinstance(model, torch.nn.parallel.DistributedDataParallel) else model
