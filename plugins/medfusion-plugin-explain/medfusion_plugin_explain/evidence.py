"""The lesion-mask evidence, as tables and lines: pointing game and IoU of every map per model
variant, and how the run was supervised (what the figures are evidence of)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from medfusion_core.config import ExperimentConfig

#: Columns of :func:`mask_rows`.
MASK_HEADER = ["variant", "map", "test views", "pointing game", "IoU", "mass inside"]


def supervision(config: ExperimentConfig) -> str:
    """How the run's attention was supervised: ``"mask_guided (weight 0.1)"`` or ``"none"``."""
    loss = config.model.attention_loss
    return "none" if loss is None else f"{loss.name} (weight {config.model.attention_loss_weight:g})"


def _figure(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def mask_rows(scores: Mapping[str, Mapping[str, Mapping[str, Any]] | None]) -> list[list[str]]:
    """One row per variant and map (columns :data:`MASK_HEADER`) of ``{variant: mask scores}``
    as :func:`~medfusion_plugin_explain.explain.mask_agreement` gives them; variants without
    scores are left out."""
    return [
        [
            variant,
            method,
            str(row["views"]),
            _figure(row["pointing_game"]),
            _figure(row["iou"]),
            _figure(row["mass_inside"]),
        ]
        for variant, by_map in scores.items()
        if by_map
        for method, row in by_map.items()
    ]


def mask_lines(scores: Mapping[str, Mapping[str, Mapping[str, Any]] | None]) -> list[str]:
    """The rows of :func:`mask_rows` as lines a terminal shows."""
    return [
        f"{variant} {method}: pointing game {hit}, IoU {overlap}, mass inside {mass} ({views} test views)"
        for variant, method, views, hit, overlap, mass in mask_rows(scores)
    ]
