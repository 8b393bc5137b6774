"""Test helpers: a tiny backbone plugin and a run folder in the ``medfusion_core.runs`` layout.

The run is written without training (demo data, the run files ``medfusion train`` writes, a
seeded untrained checkpoint, a validation threshold), so these export tests do not depend on
training; ``test_export_trained_run.py`` covers a run that ``medfusion train`` produced.
Loaded by file path under :data:`MODULE` so the tiny plugin's import strings resolve.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import torch
from torch import nn

from medfusion_core import ComponentSpec, hookimpl

MODULE = "medfusion_export_test_runs"
PLUGIN = "medfusion-plugin-export-testkit"


class TinyCNN(nn.Module):
    """One strided conv + ReLU, global average pooling: the backbone contract in miniature."""

    def __init__(self, *, in_chans: int, pretrained: str | None = None, width: int = 6) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_chans, width, 3, stride=2, padding=1)
        self.feature_channels = width
        self.out_features = width

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, C, H, W]`` -> feature map."""
        return torch.relu(self.conv(x))

    def pool(self, feature_map: torch.Tensor) -> torch.Tensor:
        """Global average pooling."""
        return feature_map.mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``pool(forward_features(x))``."""
        return self.pool(self.forward_features(x))


class ItemBackbone(TinyCNN):
    """A backbone no exporter can capture: Python control flow on a tensor value."""

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Doubles the map when its sum is positive (data-dependent)."""
        features = super().forward_features(x)
        return features * 2 if float(features.sum()) > 0 else features


@hookimpl
def medfusion_register_backbones() -> list[ComponentSpec]:
    """``tinycnn`` and the unexportable ``itembackbone``."""
    return [
        ComponentSpec("tinycnn", "backbone", f"{MODULE}:TinyCNN", "tiny test CNN"),
        ComponentSpec("itembackbone", "backbone", f"{MODULE}:ItemBackbone", "unexportable test CNN"),
    ]


def load_testkit() -> Any:
    """This module, imported under :data:`MODULE` (once)."""
    if MODULE not in sys.modules:
        spec = importlib.util.spec_from_file_location(MODULE, Path(__file__))
        module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        sys.modules[MODULE] = module
        spec.loader.exec_module(module)  # type: ignore[union-attr]
    return sys.modules[MODULE]


def register_all(host: Any) -> None:
    """Register the test kit and every installed first-party component plugin on ``host``."""
    import medfusion_plugin_aggregators.hooks
    import medfusion_plugin_export.hooks
    import medfusion_plugin_fusion.hooks
    import medfusion_plugin_readers.hooks

    host.register(load_testkit(), PLUGIN)
    host.register(medfusion_plugin_readers.hooks, "medfusion-plugin-readers")
    host.register(medfusion_plugin_export.hooks, "medfusion-plugin-export")
    host.register(medfusion_plugin_aggregators.hooks, "medfusion-plugin-aggregators")
    host.register(medfusion_plugin_fusion.hooks, "medfusion-plugin-fusion")
    for module, name in (
        ("medfusion_plugin_cnn.hooks", "medfusion-plugin-cnn"),
        ("medfusion_plugin_swin.hooks", "medfusion-plugin-swin"),
    ):
        try:
            host.register(importlib.import_module(module), name)
        except ImportError:
            continue


def make_run(
    root: Path,
    *,
    backbone: str = "tinycnn",
    aggregator: str = "mean",
    fusion: str = "concat",
    patients: int = 16,
    size: int = 32,
    threshold: float = 0.37,
    task: dict[str, Any] | None = None,
) -> Path:
    """Write demo data under ``root/data`` and a run folder for it; returns the run folder.

    The run's config.yaml, splits.csv and preprocessing.json are written by the same function
    ``medfusion train`` uses. Must be called with the component plugins registered on the
    current host.
    """
    from medfusion_plugin_pipeline.demo import demo_config, write_demo
    from medfusion_plugin_pipeline.training import _write_run_files

    from medfusion_core.data import prepare_data
    from medfusion_core.runs import RunPaths, read_json, save_checkpoint, write_json
    from medfusion_core.testing.runs import seeded_model, small_config

    data_dir = write_demo(root / "data", patients=patients, seed=3)
    raw = demo_config()
    if task is not None:
        raw["task"] = task
    config = small_config(
        raw,
        manifest=data_dir / "manifest.csv",
        runs_dir=root / "runs",
        size=size,
        backbone=backbone,
        fusion=fusion,
        aggregator=aggregator,
    )
    paths = RunPaths.for_config(config)
    paths.root.mkdir(parents=True)
    data = prepare_data(config)
    _write_run_files(paths, config, data)
    write_json(paths.preprocessing, {**read_json(paths.preprocessing), "thresholds": {"fused": threshold}})
    model = seeded_model(config, data, seed=11)
    save_checkpoint(paths.variant("fused").best, {"format": 1, "model": model.state_dict(), "ema": None})
    return paths.root
