"""Validation pass: mean loss plus the task's headline metric."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from medfusion_core.model import MODEL_INPUTS
from medfusion_plugin_trainer.losses import TaskLoss


def model_inputs(batch: dict[str, Any], device: torch.device) -> tuple[torch.Tensor, ...]:
    """The model's positional inputs from a batch, moved to ``device``."""
    return tuple(batch[key].to(device, non_blocking=True) for key in MODEL_INPUTS)


@torch.no_grad()
def validate(
    model: torch.nn.Module,
    batches: Iterable[dict[str, Any]],
    task_loss: TaskLoss,
    device: torch.device,
    autocast: Any,
) -> dict[str, float]:
    """``val_loss`` and ``val_auroc`` (binary), ``val_accuracy`` (multiclass) or ``val_mae``."""
    model.eval()
    total, count = 0.0, 0
    outputs, labels = [], []
    for batch in batches:
        with autocast():
            logits = model(*model_inputs(batch, device))
        label = batch["label"].to(device)
        total += float(task_loss(logits, label))
        count += int(label.shape[0])
        outputs.append(logits.float().cpu())
        labels.append(label.cpu())
    if count == 0:
        return {}
    logits = torch.cat(outputs).numpy()
    truth = torch.cat(labels).numpy()
    metrics = {"val_loss": total / count}
    if task_loss.task == "binary":
        scores = logits.reshape(-1)
        metrics["val_auroc"] = (
            float(roc_auc_score(truth.astype(int), scores)) if len(np.unique(truth)) == 2 else float("nan")
        )
    elif task_loss.task == "multiclass":
        metrics["val_accuracy"] = float((logits.argmax(axis=1) == truth).mean())
    else:
        metrics["val_mae"] = float(np.abs(logits.reshape(-1) - truth).mean())
    return metrics
