"""The lazy registry: resolution, families, suggestions, lazy import."""

from __future__ import annotations

import sys

import pytest

from medfusion_core import ComponentSpec
from medfusion_core.errors import ComponentNotFoundError, PluginError
from medfusion_core.registry import ComponentRegistry


def _spec(name: str, kind: str = "backbone", factory: str = "json:dumps", plugin: str = "p") -> ComponentSpec:
    return ComponentSpec(name, kind, factory, plugin=plugin)


def test_unknown_name_suggests_close_names_and_lists_installed():
    registry = ComponentRegistry([_spec("resnet18"), _spec("resnet34"), _spec("convnext_tiny")])
    with pytest.raises(ComponentNotFoundError) as excinfo:
        registry.resolve("backbone", "resnt18")
    message = str(excinfo.value)
    assert "did you mean 'resnet18'" in message
    assert "convnext_tiny" in message and "installed backbones" in message


def test_family_pattern_resolves_concrete_names_and_passes_the_name():
    registry = ComponentRegistry(
        [_spec("res*", factory="builtins:tuple"), _spec("resnet*", factory="builtins:list")]
    )
    assert registry.resolve("backbone", "resnet101").name == "resnet*"  # the most specific family
    assert registry.create("backbone", "resnet101") == list("resnet101")
    assert registry.names("backbone", "res*") == ["res*", "resnet*"]


def test_factories_are_imported_only_when_used(tmp_path, monkeypatch):
    (tmp_path / "lazy_factory_mod.py").write_text("VALUE = 41\ndef make():\n    return VALUE + 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = ComponentRegistry([_spec("lazy", factory="lazy_factory_mod:make")])
    assert registry.names("backbone") == ["lazy"]
    assert "lazy_factory_mod" not in sys.modules
    assert registry.create("backbone", "lazy") == 42
    assert "lazy_factory_mod" in sys.modules


def test_broken_factory_import_is_a_plugin_error_naming_the_plugin():
    registry = ComponentRegistry([_spec("ghost", factory="no_such_module_xyz:Thing", plugin="mf-ghost")])
    with pytest.raises(PluginError, match="mf-ghost:ghost"):
        registry.load("backbone", "ghost")


def test_bad_factory_string_is_rejected():
    with pytest.raises(ValueError, match=r"package\.module:Factory"):
        ComponentSpec("x", "fusion", "not_an_import_string")


def test_no_component_of_a_kind_points_to_the_catalogue():
    with pytest.raises(ComponentNotFoundError, match="list-plugins --available"):
        ComponentRegistry([]).resolve("exporter", "onnx")
