"""The one list of kinds, typed metadata, misspelled hooks and registry lookups by metadata."""

from __future__ import annotations

import json
import types
from pathlib import Path

import pluggy
import pytest

from medfusion_core import ComponentSpec, hookimpl, kinds
from medfusion_core.errors import AmbiguousComponentError, ComponentNotFoundError
from medfusion_core.host import Host
from medfusion_core.kinds.backbone import BackboneInfo
from medfusion_core.kinds.exporter import ExporterInfo
from medfusion_core.kinds.reader import ReaderInfo
from medfusion_core.registry import get_registry


def plugin(**hooks: object) -> types.SimpleNamespace:
    """A plugin object whose attributes are the given hook implementations."""
    return types.SimpleNamespace(**{name: hookimpl(function) for name, function in hooks.items()})


def test_every_kind_declares_one_hook_and_a_metadata_class():
    manager = pluggy.PluginManager(kinds.PROJECT)
    kinds.add_hookspecs(manager)
    assert [kind.name for kind in kinds.KINDS] == list(kinds.NAMES)
    for kind in kinds.KINDS:
        assert kind.hook.startswith("medfusion_register_") and getattr(manager.hook, kind.hook).has_spec()
        assert kind.spec.__doc__ and kind.info().to_json() == {}


def test_legacy_extra_becomes_typed_info_and_json_keeps_the_extra_key():
    spec = ComponentSpec("r3d", "backbone", "pkg.mod:make", extra={"dims": 3, "examples": ["r3d_10"]})
    assert spec.info == BackboneInfo(dims=3, examples=("r3d_10",))
    assert spec.to_json()["extra"] == {"dims": 3, "examples": ["r3d_10"]} == spec.extra
    typed = ComponentSpec("onnx", "exporter", "pkg.mod:Exporter", info=ExporterInfo(formats=["onnx"]))
    assert typed.to_json()["extra"] == {"formats": ["onnx"]}


def test_metadata_of_another_kind_or_an_unknown_key_is_refused():
    with pytest.raises(TypeError, match="did you mean 'dims'"):
        ComponentSpec("x", "backbone", "pkg.mod:make", extra={"dim": 3})
    with pytest.raises(TypeError, match="must be a BackboneInfo"):
        ComponentSpec("x", "backbone", "pkg.mod:make", info=ReaderInfo(extensions=[".png"]))


def test_misspelled_hook_fails_the_plugin_and_names_the_right_hook(medfusion_host):
    def medfusion_register_fusion():
        return [ComponentSpec("lost", "fusion", "pkg.mod:Lost")]

    record = medfusion_host.register(plugin(medfusion_register_fusion=medfusion_register_fusion), "typo")
    assert record.status == "failed" and record.where == "medfusion_register_fusion"
    assert "did you mean 'medfusion_register_fusions'" in record.error
    healthy = medfusion_host.register(plugin(medfusion_register_fusions=lambda: []), "fine")
    assert healthy.status == "ok"


def _two_plugins(host: Host, kind: str, first: dict, second: dict) -> None:
    for name, info in (("mf-one", first), ("mf-two", second)):

        def hook(name: str = name, info: dict = info) -> list[ComponentSpec]:
            return [ComponentSpec(info.pop("name", name), kind, "collections:OrderedDict", extra=info)]

        host.register(plugin(**{kinds.get(kind).hook: hook}), name)


def test_two_plugins_serving_one_export_format_is_an_ambiguity(medfusion_host):
    _two_plugins(medfusion_host, "exporter", {"formats": ["onnx"]}, {"formats": ["onnx", "tflite"]})
    registry = get_registry()
    assert registry.exporter("tflite").plugin == "mf-two"
    assert registry.exporter("mf-one:onnx").plugin == "mf-one"
    with pytest.raises(AmbiguousComponentError, match=r"format 'onnx'.*mf-one, mf-two.*'mf-one:"):
        registry.exporter("onnx")
    with pytest.raises(ComponentNotFoundError, match="onnx, tflite"):
        registry.exporter("coreml")


def test_readers_match_the_longest_extension_and_clashes_are_ambiguous(medfusion_host):
    _two_plugins(
        medfusion_host, "reader", {"extensions": [".zz", ".png"]}, {"extensions": [".img.zz", ".PNG"]}
    )
    registry = get_registry()
    assert registry.reader("scan.IMG.ZZ").plugin == "mf-two"
    assert registry.reader("notes.zz").plugin == "mf-one"
    clash = r"reader for 'x.png'.*mf-one, mf-two.*--disable"
    with pytest.raises(AmbiguousComponentError, match=clash):
        registry.reader("x.png")
    with pytest.raises(ComponentNotFoundError, match="no image reader for"):
        registry.reader("x.unknown")


def test_two_plugins_registering_one_command_is_an_ambiguity(medfusion_host):
    _two_plugins(medfusion_host, "command", {"name": "hello"}, {"name": "hello"})
    registry = get_registry()
    with pytest.raises(AmbiguousComponentError, match=r"command 'hello'.*mf-one, mf-two.*'mf-one:hello'"):
        registry.resolve("command", "hello")
    assert registry.resolve("command", "mf-two:hello").plugin == "mf-two"


def test_swapping_the_host_swaps_the_registry(medfusion_host):
    assert get_registry() is medfusion_host.registry()
    medfusion_host.register(plugin(medfusion_register_fusions=lambda: []), "late")
    assert get_registry() is medfusion_host.registry()
    other = Host(autoload=False, allow=(), disable=(), strict=False)
    from medfusion_core.host import use_host

    with use_host(other):
        assert get_registry() is other.registry() is not medfusion_host.registry()
    assert get_registry() is medfusion_host.registry()


def test_the_fusion_base_is_the_documented_contract_and_loads_torch_only_on_use():
    import subprocess
    import sys

    code = "import sys, medfusion_core.kinds.fusion as f; print('torch' in sys.modules, f.Fusion.__name__)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.stdout.split() == ["False", "Fusion"], result.stderr


def test_config_component_fields_name_kinds_of_the_list():
    from medfusion_core.config import COMPONENT_FIELDS

    assert set(COMPONENT_FIELDS.values()) <= set(kinds.NAMES)


def test_the_catalogue_schema_names_exactly_the_kinds():
    schema = json.loads((Path(__file__).parents[1] / "registry.schema.json").read_text(encoding="utf-8"))
    assert tuple(schema["$defs"]["kind"]["enum"]) == kinds.NAMES
