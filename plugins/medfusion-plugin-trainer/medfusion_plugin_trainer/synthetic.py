"""A small synthetic training job (tiny model + in-memory data) for tests, benchmarks and demos,
and a runner that trains it in forked child processes (for kill-and-resume and DDP tests)."""

from __future__ import annotations

import multiprocessing
import os
import socket
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch import nn

from medfusion_core.config import ExperimentConfig, structure_config
from medfusion_core.kinds.trainer import TrainingJob, shard_batch


class TinyMultimodal(nn.Module):
    """Conv features per view (masked mean over views) + clinical MLP, concatenated, linear head.
    No BatchNorm, so DDP shards compute exactly what one process computes."""

    def __init__(self, clinical_features: int, num_outputs: int = 1, dropout: float = 0.0) -> None:
        super().__init__()
        self.num_outputs = num_outputs
        self.conv = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten()
        )
        self.clinical = nn.Sequential(nn.Linear(clinical_features, 8), nn.ReLU(), nn.Dropout(dropout))
        self.head = nn.Linear(16, num_outputs)

    def forward(
        self,
        images: torch.Tensor,
        view_mask: torch.Tensor,
        clinical: torch.Tensor,
        modality_mask: torch.Tensor,
    ) -> torch.Tensor:
        """``[B, num_outputs]`` logits."""
        batch, views = view_mask.shape
        feats = self.conv(images.flatten(0, 1)).reshape(batch, views, -1)
        weights = view_mask.float().unsqueeze(-1)
        image = (feats * weights).sum(1) / weights.sum(1).clamp(min=1.0)
        image = image * modality_mask[:, :1].float()
        tabular = self.clinical(clinical) * modality_mask[:, 1:].float()
        return self.head(torch.cat([image, tabular], dim=1))


def synthetic_config(name: str = "synthetic", **trainer_params: Any) -> ExperimentConfig:
    """A binary-task experiment config whose trainer is ``default`` with ``trainer_params``."""
    data = {"name": name, "data": {"manifest": "synthetic.csv"}, "seed": 7}
    data["trainer"] = {"name": "default", "params": trainer_params}
    return structure_config(data, "<synthetic>")


def make_data(
    patients: int, views: int = 2, size: int = 16, features: int = 5, seed: int = 0
) -> dict[str, Any]:
    """Deterministic in-memory dataset whose label depends on image brightness and clinical[0]."""
    rng = np.random.default_rng(seed)
    clinical = rng.normal(size=(patients, features)).astype(np.float32)
    bright = rng.normal(size=patients).astype(np.float32)
    images = (
        rng.normal(size=(patients, views, 1, size, size)).astype(np.float32)
        + bright[:, None, None, None, None]
    )
    logit = 1.5 * bright + 1.5 * clinical[:, 0]
    label = (logit + rng.normal(scale=0.5, size=patients) > 0).astype(np.float32)
    view_mask = np.ones((patients, views), dtype=bool)
    view_mask[::3, -1] = False
    return {
        "images": torch.from_numpy(images),
        "view_mask": torch.from_numpy(view_mask),
        "clinical": torch.from_numpy(clinical),
        "modality_mask": torch.ones((patients, 2), dtype=torch.bool),
        "label": torch.from_numpy(label),
        "patient_id": [f"p{i:04d}" for i in range(patients)],
    }


def _rows(data: dict[str, Any], index: np.ndarray) -> dict[str, Any]:
    return {
        key: [value[i] for i in index] if isinstance(value, list) else value[torch.from_numpy(index)]
        for key, value in data.items()
    }


def synthetic_job(
    config: ExperimentConfig, *, patients: int = 48, batch_size: int = 8, dropout: float = 0.0
) -> TrainingJob:
    """A :class:`TrainingJob` on :func:`make_data`: shuffled per epoch from the seed, 25% validation."""
    data = make_data(patients, seed=config.seed)
    n_val = patients // 4
    train = _rows(data, np.arange(n_val, patients))
    val = _rows(data, np.arange(n_val))
    n_train = patients - n_val
    batches = -(-n_train // batch_size)

    def train_batches(epoch: int, start: int, rank: int, world_size: int) -> Iterator[dict[str, Any]]:
        order = np.random.default_rng([config.seed, epoch]).permutation(n_train)
        for index in range(start, batches):
            rows = order[index * batch_size : (index + 1) * batch_size]
            yield shard_batch(_rows(train, rows), rank, world_size)

    def val_batches() -> Iterator[dict[str, Any]]:
        for begin in range(0, n_val, batch_size):
            yield _rows(val, np.arange(begin, min(begin + batch_size, n_val)))

    torch.manual_seed(config.seed)
    model = TinyMultimodal(data["clinical"].shape[1], dropout=dropout)
    return TrainingJob(
        config=config,
        model=model,
        train_batches=train_batches,
        batches_per_epoch=batches,
        val_batches=val_batches,
        train_labels=train["label"].numpy(),
    )


def _train_child(
    params: dict[str, Any], out_dir: str, resume: bool, dropout: float, env: dict[str, str]
) -> None:
    from medfusion_plugin_trainer.trainer import DefaultTrainer

    os.environ.update(env)
    torch.set_num_threads(1)
    job = synthetic_job(synthetic_config(**params), dropout=dropout)
    DefaultTrainer(**params).fit(job, out_dir, resume=resume)
    rank = os.environ.get("RANK", "0")
    torch.save(job.model.state_dict(), os.path.join(out_dir, f"weights-rank{rank}.pt"))


def train_in_children(
    params: dict[str, Any],
    out_dir: str | os.PathLike[str],
    *,
    resume: bool = False,
    dropout: float = 0.0,
    env: dict[str, str] | None = None,
    world_size: int = 1,
    timeout: float = 120.0,
) -> list[int | None]:
    """Train the synthetic job in ``world_size`` forked processes (one thread each; with two or
    more, as a gloo DDP group on localhost) and return their exit codes (``-9`` = SIGKILLed).

    Each process that finishes saves its final weights as ``weights-rank<R>.pt`` in ``out_dir``.
    """
    import torch._dynamo  # noqa: F401 - optimizers import it lazily; import once here, not per child

    context = multiprocessing.get_context("fork")
    port = _free_port()
    children = []
    for rank in range(world_size):
        child_env = dict(env or {})
        if world_size > 1:
            child_env.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world_size))
            child_env.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
        child = context.Process(target=_train_child, args=(params, str(out_dir), resume, dropout, child_env))
        child.start()
        children.append(child)
    for child in children:
        child.join(timeout)
        if child.is_alive():
            child.kill()
            child.join()
    return [child.exitcode for child in children]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
