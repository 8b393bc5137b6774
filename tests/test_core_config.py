"""Config loading: every error names the file and the dotted field path."""

from __future__ import annotations

import types
from pathlib import Path

import pytest
import yaml

from medfusion_core import ComponentSpec, Param, hookimpl
from medfusion_core.config import config_to_dict, load_config, structure_config
from medfusion_core.errors import ConfigError

FUSION_PARAMS = {"hidden": Param("int", 64, "hidden width"), "dropout": Param("float", 0.0, "dropout")}


def _test_plugin() -> types.ModuleType:
    module = types.ModuleType("config_test_plugin")

    @hookimpl
    def medfusion_register_fusions():
        return [
            ComponentSpec("concat", "fusion", "json:dumps", params={}),
            ComponentSpec("gated", "fusion", "json:dumps", params=FUSION_PARAMS),
        ]

    @hookimpl
    def medfusion_register_backbones():
        return [ComponentSpec("resnet*", "backbone", "json:dumps")]

    @hookimpl
    def medfusion_register_aggregators():
        return [ComponentSpec("mean", "aggregator", "json:dumps", params={})]

    @hookimpl
    def medfusion_register_trainers():
        return [ComponentSpec("default", "trainer", "json:dumps")]

    module.__dict__.update(
        medfusion_register_fusions=medfusion_register_fusions,
        medfusion_register_backbones=medfusion_register_backbones,
        medfusion_register_aggregators=medfusion_register_aggregators,
        medfusion_register_trainers=medfusion_register_trainers,
    )
    return module


@pytest.fixture
def host(medfusion_host):
    medfusion_host.register(_test_plugin(), "config-test-plugin")
    return medfusion_host


def _write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "experiment.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


BASE = {
    "name": "exp",
    "data": {"manifest": "manifest.csv", "numeric": ["age"]},
    "model": {"backbone": {"name": "resnet18"}, "fusion": {"name": "gated", "params": {"hidden": 8}}},
}


def _with(**changes: object) -> dict:
    import copy

    data = copy.deepcopy(BASE)
    for dotted, value in changes.items():
        target = data
        *parents, leaf = dotted.split("__")
        for part in parents:
            target = target.setdefault(part, {})
        target[leaf] = value
    return data


def test_valid_config_loads_with_paths_resolved_against_the_file(host, tmp_path):
    config = load_config(_write(tmp_path, BASE))
    assert config.model.fusion.params == {"hidden": 8}
    assert Path(config.data.manifest) == tmp_path.resolve() / "manifest.csv"
    assert config_to_dict(config)["model"]["backbone"]["name"] == "resnet18"


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"model__fusion__nme": "x"}, "model.fusion: unknown field 'nme' (did you mean 'name'?)"),
        ({"data__image__size": "big"}, "data.image.size"),
        ({"seed": "3"}, "seed: expected int, got str '3'"),
        ({"data__loader__batch_size": True}, "data.loader.batch_size: expected int"),
        ({"task__type": "ranking"}, "task.type"),
        ({"model__fusion__name": "gatd"}, "model.fusion.name: unknown fusion 'gatd'; did you mean 'gated'?"),
        (
            {"model__fusion__params": {"hiden": 3}},
            "model.fusion.params.hiden: unknown parameter of fusion 'gated'; did you mean 'hidden'?",
        ),
        (
            {"model__fusion__params": {"hidden": "wide"}},
            "model.fusion.params.hidden: expected int, got 'wide'",
        ),
        ({"trainer": {"name": "fancy"}}, "trainer.name: unknown trainer 'fancy'"),
        ({"data__image__size": [0, 32]}, "data.image.size: must be [H, W] or [D, H, W] of sizes >= 1"),
        ({"data__loader__batch_size": 0}, "data.loader.batch_size: must be >= 1, got 0"),
        ({"data__image__std": [0.0]}, "data.image.std: must be 1 or data.image.channels (1) values > 0"),
        ({"evaluation": {"decision_range": [0.5, 0.1]}}, "evaluation.decision_range: must be [low, high]"),
        ({"evaluation": {"bootstrap": -1}}, "evaluation.bootstrap: must be >= 0 resamples"),
    ],
)
def test_errors_name_the_file_and_the_dotted_field(host, tmp_path, changes, expected):
    path = _write(tmp_path, _with(**changes))
    with pytest.raises(ConfigError) as excinfo:
        load_config(path)
    message = str(excinfo.value)
    assert message.startswith(f"{path}: ")
    assert expected in message
    assert "\n" not in message


def test_every_value_out_of_range_is_named_at_once():
    data = {"manifest": "m.csv", "image": {"size": [32], "augment": {"crop_scale": 1.5}}, "folds": 1}
    with pytest.raises(ConfigError) as excinfo:
        structure_config({"name": "x", "data": data}, "cfg.yaml")
    assert str(excinfo.value) == (
        "cfg.yaml: data.image.size: must be [H, W] or [D, H, W] of sizes >= 1, got [32]; "
        "data.image.augment.crop_scale: must be in (0, 1], got 1.5; "
        "data.folds: must be >= 2 (or unset), got 1"
    )


def test_missing_required_field_and_non_mapping():
    with pytest.raises(ConfigError, match=r"cfg\.yaml: data: required field is missing"):
        structure_config({"name": "x"}, "cfg.yaml")
    with pytest.raises(ConfigError, match="must be a mapping"):
        structure_config(["a"], "cfg.yaml")


def test_yaml_syntax_error_gives_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\ndata: [unclosed\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: line \d+, column \d+"):
        load_config(path, check=False)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")


def test_unimodal_configs_do_not_check_unused_components(host, tmp_path):
    clinical = _with(model__modalities="clinical", model__backbone={"name": "nonexistent_net"})
    assert load_config(_write(tmp_path, clinical)).model.modalities == "clinical"
    image = _with(model__modalities="image", model__fusion={"name": "nonexistent_fusion"})
    assert load_config(_write(tmp_path, image)).model.modalities == "image"
