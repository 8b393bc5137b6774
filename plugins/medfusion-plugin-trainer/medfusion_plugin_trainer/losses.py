"""Task loss (with class weights) and the optional attention-supervision loss.

Losses return a *sum* over the samples of the batch; the trainer divides by the global number
of samples so that gradient accumulation and DDP shards add up to the plain batch mean.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from medfusion_core.errors import ConfigError


def class_weights(
    task: str, labels: Sequence[float] | None, setting: Any, num_outputs: int
) -> torch.Tensor | None:
    """Weights for the task loss: binary -> ``pos_weight`` [1]; multiclass -> per class [K].

    ``setting`` is ``"none"``, ``"auto"`` (negatives/positives for binary, inverse frequency
    normalised to mean 1 for multiclass) or an explicit list.
    """
    if setting == "none" or task == "regression":
        return None
    if setting != "auto":
        expected = 1 if task == "binary" else num_outputs
        if len(setting) != expected:
            raise ConfigError(
                f"trainer.params.class_weights: expected {expected} value(s), got {len(setting)}"
            )
        return torch.tensor([float(v) for v in setting], dtype=torch.float32)
    values = np.asarray(labels if labels is not None else [], dtype=np.int64)
    if values.size == 0:
        raise ConfigError("trainer.params.class_weights: 'auto' needs training labels; use 'none' or a list")
    if task == "binary":
        positives = max(int((values == 1).sum()), 1)
        return torch.tensor([(values.size - positives) / positives], dtype=torch.float32)
    counts = np.bincount(values, minlength=num_outputs).astype(np.float64)
    inverse = np.where(counts > 0, 1.0 / np.maximum(counts, 1), 0.0)
    return torch.tensor(inverse / inverse[counts > 0].mean(), dtype=torch.float32)


class TaskLoss(nn.Module):
    """Summed loss of one batch: BCE-with-logits (binary), cross-entropy (multiclass), MSE."""

    def __init__(self, task: str, weights: torch.Tensor | None = None) -> None:
        super().__init__()
        self.task = task
        self.register_buffer("weights", weights, persistent=False)

    def forward(self, logits: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        """Sum of per-sample losses (float32 even under autocast)."""
        logits = logits.float()
        if self.task == "binary":
            return F.binary_cross_entropy_with_logits(
                logits.reshape(-1), label.float().reshape(-1), pos_weight=self.weights, reduction="sum"
            )
        if self.task == "multiclass":
            return F.cross_entropy(logits, label.long().reshape(-1), weight=self.weights, reduction="sum")
        return F.mse_loss(logits.reshape(-1), label.float().reshape(-1), reduction="sum")


def attention_loss_term(
    loss: nn.Module, attention: torch.Tensor, masks: torch.Tensor, supervised: torch.Tensor
) -> torch.Tensor:
    """Attention supervision over the supervised views: ``loss(attention=..., masks=...)``.

    ``attention`` is ``[B, V, 1, h, w]`` (or ``[B, V, h, w]``) from ``forward_with_extras``;
    ``masks`` is the batch's ``lesion_mask`` ``[B, V, 1, H, W]``, resized to ``h x w`` by area
    averaging; ``supervised`` ``[B, V]`` marks the views that exist and have a lesion mask (the
    others are left out). A batch without any such view gives 0.
    """
    if not bool(supervised.any()):
        return attention.sum() * 0.0
    batch, views = supervised.shape
    size = attention.shape[-2:]
    att = attention.reshape(batch * views, 1, *size)
    target = masks.reshape(batch * views, 1, *masks.shape[-2:]).float()
    if target.shape[-2:] != size:
        target = F.interpolate(target, size=size, mode="area")
    keep = supervised.reshape(-1)
    return loss(attention=att[keep].float(), masks=target[keep])


def check_mask_supervision(loss: nn.Module, name: str) -> None:
    """Raise :class:`ConfigError` unless ``loss`` can be called as ``loss(attention=, masks=)``,
    the form :func:`attention_loss_term` uses."""
    parameters = inspect.signature(loss.forward).parameters
    required = {
        key
        for key, parameter in parameters.items()
        if parameter.default is inspect.Parameter.empty
        and parameter.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    }
    if not {"attention", "masks"} <= set(parameters) or required - {"attention", "masks"}:
        raise ConfigError(
            f"model.attention_loss.name: loss {name!r} takes ({', '.join(parameters)}); the trainer "
            "supervises attention maps with a loss taking attention= and masks= (e.g. mask_guided)"
        )
