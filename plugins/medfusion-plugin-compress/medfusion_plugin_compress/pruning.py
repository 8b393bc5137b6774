"""Structured (channel) pruning of a model's convolutions and its short fine-tuning."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from medfusion_core.model import MODEL_INPUTS

if TYPE_CHECKING:
    from medfusion_plugin_export.run_loading import RunVariant
    from torch import nn


def prune_channels(model: nn.Module, amount: float) -> tuple[nn.Module, int, int]:
    """A copy of ``model`` whose convolutions carry L1 structured masks over ``amount`` of their
    output channels; ``(copy, pruned channels, total channels)``."""
    from torch import nn
    from torch.nn.utils import prune

    pruned_model = copy.deepcopy(model)
    pruned = total = 0
    for module in pruned_model.modules():
        if isinstance(module, (nn.Conv2d, nn.Conv3d)) and module.out_channels > 1:
            prune.ln_structured(module, "weight", amount=amount, n=1, dim=0)
            mask = module.weight_mask.flatten(1).amax(dim=1)
            pruned += int((mask == 0).sum())
            total += module.out_channels
    return pruned_model, pruned, total


def fine_tune(model: nn.Module, run: RunVariant, *, epochs: int, lr: float) -> None:
    """Train ``model`` (masks in place) on the run's training split, then make the masks permanent."""
    import torch
    from torch import nn
    from torch.nn import functional
    from torch.nn.utils import prune

    torch.manual_seed(run.config.seed)
    optimiser = torch.optim.AdamW(model.parameters(), lr=lr)
    loader = run.data.loader("train", train=True, backend="threads", workers=1, cache=False)
    binary = run.preprocessing["task"] == "binary"
    model.train()
    for epoch in range(epochs):
        for batch in loader.iter_batches(epoch):
            logits = model(*(batch[key] for key in MODEL_INPUTS))
            labels: Any = batch["label"]
            if binary:
                loss = functional.binary_cross_entropy_with_logits(logits[:, 0], labels.float())
            else:
                loss = functional.cross_entropy(logits, labels.long())
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    model.eval()
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Conv3d)) and prune.is_pruned(module):
            prune.remove(module, "weight")
