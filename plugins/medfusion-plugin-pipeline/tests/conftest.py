"""Fixtures of the pipeline tests: a host with the plugins a training run needs."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import medfusion_plugin_aggregators.hooks as aggregators
import medfusion_plugin_fusion.hooks as fusions
import medfusion_plugin_readers.hooks as readers
import medfusion_plugin_trainer.hooks as trainer
import pytest

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
