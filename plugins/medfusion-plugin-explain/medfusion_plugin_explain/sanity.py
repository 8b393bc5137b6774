"""The randomised-weights sanity check (Adebayo et al., 2018): a map that explains the model must
change when the model's weights are replaced by random ones."""

from __future__ import annotations

import copy

import pandas as pd
import torch
from torch import nn


def randomised(model: nn.Module, seed: int = 0) -> nn.Module:
    """A copy of ``model`` with every parameter re-drawn: ``reset_parameters`` where a module has
    it (normalisation statistics reset too), a normal draw (std 0.02) for the others."""
    clone = copy.deepcopy(model)
    done: set[int] = set()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for module in clone.modules():
            if hasattr(module, "reset_parameters"):
                module.reset_parameters()
                done.update(id(p) for p in module.parameters(recurse=False))
        with torch.no_grad():
            for parameter in clone.parameters():
                if id(parameter) not in done:
                    parameter.normal_(0.0, 0.02)
    return clone.eval()


def rank_correlation(first: torch.Tensor, second: torch.Tensor) -> float:
    """Spearman rank correlation of two maps of the same shape (NaN when one is constant)."""
    a = pd.Series(first.flatten().double().numpy())
    b = pd.Series(second.flatten().double().numpy())
    return float(a.rank().corr(b.rank()))
