"""A small config and a seeded, untrained model on it, for tests that need a model of a data set
(exporting, serving) without running ``medfusion train``.

The config starts from a full config dict the caller has (e.g. the pipeline plugin's demo
config: the core cannot import it) with the manifest, image size and components set for a fast
test; lesion masks are off.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import torch

from medfusion_core.config import ExperimentConfig, structure_config
from medfusion_core.data import PreparedData
from medfusion_core.model import build_model


def small_config(
    raw: dict[str, Any],
    *,
    manifest: Path,
    runs_dir: Path,
    size: int,
    backbone: str,
    fusion: str = "concat",
    aggregator: str | None = None,
) -> ExperimentConfig:
    """``raw`` (left unchanged) with ``data.manifest``, a ``size`` x ``size`` image, no masks,
    ``runs_dir`` and the named backbone, fusion (and aggregator, when given), structured."""
    raw = copy.deepcopy(raw)
    raw["data"]["manifest"] = str(manifest)
    raw["data"]["image"]["size"] = [size, size]
    raw["data"]["mask"] = None
    raw["model"]["backbone"] = {"name": backbone}
    raw["model"]["fusion"] = {"name": fusion}
    if aggregator is not None:
        raw["model"]["aggregator"] = {"name": aggregator}
    raw["runs_dir"] = str(runs_dir)
    return structure_config(raw, "<test>")


def seeded_model(config: ExperimentConfig, data: PreparedData, seed: int) -> torch.nn.Module:
    """The model ``config`` builds for ``data`` with weights drawn from ``seed`` (untrained)."""
    torch.manual_seed(seed)
    return build_model(config, clinical_features=data.clinical_features, num_outputs=data.num_outputs)
