"""Tiny models and batches for the explain tests (the tiny backbone of ``medfusion_core.testing``)."""

from __future__ import annotations

from typing import Any

import medfusion_plugin_aggregators.hooks as aggregators
import medfusion_plugin_fusion.hooks as fusions
import torch

import medfusion_core.testing.tiny_backbone as tiny
from medfusion_core.config import structure_config
from medfusion_core.model import MultimodalModel, build_model

SIDE = 32


def register(host) -> None:
    """The tiny backbone and attention, the aggregators and the fusions on ``host``."""
    host.register(tiny, tiny.PLUGIN)
    host.register(aggregators, "medfusion-plugin-aggregators")
    host.register(fusions, "medfusion-plugin-fusion")


def tiny_model(
    *,
    modalities: str = "image",
    backbone: str = "tiny",
    params: dict[str, Any] | None = None,
    clinical: int = 0,
    attention: str | None = None,
    size: list[int] | None = None,
) -> MultimodalModel:
    """A model of the tiny components (the host must have them registered)."""
    backbone_config: dict[str, Any] = {"name": backbone, "params": params or {}}
    if attention:
        backbone_config["attention"] = {"name": attention}
    config = structure_config(
        {
            "name": "explain-test",
            "data": {"manifest": "unused.csv", "image": {"size": size or [SIDE, SIDE]}},
            "model": {
                "modalities": modalities,
                "backbone": backbone_config,
                "tabular": {"hidden": [8], "dropout": 0.0},
            },
        },
        "explain-test",
    )
    torch.manual_seed(0)
    return build_model(config, clinical_features=clinical, num_outputs=1)


def batch_of(images: torch.Tensor, clinical: torch.Tensor | None = None, view_mask=None) -> dict[str, Any]:
    """A model batch of ``images [B, V, C, ...]`` (every view present unless ``view_mask``)."""
    size, views = images.shape[:2]
    clinical = torch.zeros(size, 0) if clinical is None else clinical
    mask = torch.ones(size, views, dtype=torch.bool) if view_mask is None else view_mask
    present = torch.stack([mask.any(dim=1), torch.full((size,), clinical.shape[1] > 0)], dim=1)
    return {"images": images, "view_mask": mask, "clinical": clinical, "modality_mask": present}


def lesion_images(count: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(images [N, 1, 1, 32, 32], lesion masks [N, 32, 32], labels [N])``: noise, and for the
    positive half a bright 8x8 square at a random place (its mask); the label is its presence."""
    generator = torch.Generator().manual_seed(seed)
    images = 0.3 * torch.randn(count, 1, 1, SIDE, SIDE, generator=generator)
    masks = torch.zeros(count, SIDE, SIDE)
    labels = torch.arange(count) % 2
    for i in range(count):
        if labels[i]:
            y, x = torch.randint(0, SIDE - 8, (2,), generator=generator).tolist()
            images[i, 0, 0, y : y + 8, x : x + 8] += 1.5
            masks[i, y : y + 8, x : x + 8] = 1.0
    return images, masks, labels.float()


def train_lesion_model(model: MultimodalModel, steps: int = 60) -> float:
    """Train ``model`` on fresh lesion images until it learns; returns held-out accuracy."""
    images, _, labels = lesion_images(256, seed=1)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    for step in range(steps):
        chosen = slice((step * 32) % 256, (step * 32) % 256 + 32)
        logits = model(*batch_of(images[chosen]).values())
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits[:, 0], labels[chosen])
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    model.eval()
    test_images, _, test_labels = lesion_images(64, seed=2)
    with torch.no_grad():
        predicted = model(*batch_of(test_images).values())[:, 0] > 0
    return float((predicted.float() == test_labels).float().mean())
