"""Fixtures of the pipeline tests: a host with the plugins a training run needs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import medfusion_plugin_aggregators.hooks as aggregators
import medfusion_plugin_fusion.hooks as fusions
import medfusion_plugin_readers.hooks as readers
import medfusion_plugin_trainer.hooks as trainer
import pytest
import yaml
from medfusion_plugin_pipeline.demo import write_demo

from medfusion_core.host import Host
from medfusion_core.testing import tiny_backbone


@pytest.fixture
def training_host(medfusion_host: Host) -> Callable[[ModuleType, str], Host]:
    """``training_host(backbone_hooks, plugin_name)``: the isolated host with that backbone
    plugin, the trainer, aggregators, fusions and readers registered."""

    def register(backbone: ModuleType, name: str) -> Host:
        for module, plugin in [
            (backbone, name),
            (trainer, "medfusion-plugin-trainer"),
            (aggregators, "medfusion-plugin-aggregators"),
            (fusions, "medfusion-plugin-fusion"),
            (readers, "medfusion-plugin-readers"),
        ]:
            medfusion_host.register(module, plugin)
        return medfusion_host

    return register


@pytest.fixture
def host(training_host: Callable[[ModuleType, str], Host]) -> Host:
    """The training host with the tiny test backbone."""
    return training_host(tiny_backbone, tiny_backbone.PLUGIN)


@pytest.fixture
def tiny_demo() -> Callable[..., Path]:
    """``tiny_demo(folder, patients, batch_size=8)``: a small demo dataset trained with the tiny
    backbone for one epoch (bootstrap 50); returns its config file."""

    def write(folder: Path, patients: int, *, batch_size: int = 8) -> Path:
        write_demo(folder, patients=patients, seed=3)
        config = yaml.safe_load((folder / "config.yaml").read_text())
        config["model"]["backbone"] = {"name": "tiny"}
        config["data"]["image"]["size"] = [32, 32]
        config["data"]["loader"]["batch_size"] = batch_size
        config["trainer"]["params"] = {"epochs": 1, "lr": 0.01, "progress": "never"}
        config["evaluation"]["bootstrap"] = 50
        config["runs_dir"] = str(folder / "runs")
        (folder / "config.yaml").write_text(yaml.safe_dump(config))
        return folder / "config.yaml"

    return write
