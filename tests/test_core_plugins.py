"""Discovery and isolation, tested with real distributions (dist-info + entry points) on sys.path."""

from __future__ import annotations

import pytest
from packaging.specifiers import SpecifierSet

from medfusion_core import __version__
from medfusion_core.errors import AmbiguousComponentError, PluginError
from medfusion_core.host import ENV_DISABLE, Host
from medfusion_core.registry import ComponentRegistry

GOOD = """
from medfusion_core import ComponentSpec, hookimpl

@hookimpl
def medfusion_register_fusions():
    return [ComponentSpec("{name}", "fusion", "collections:OrderedDict", "test fusion")]
"""

BROKEN_IMPORT = "import this_module_does_not_exist_anywhere\n"

RAISING_HOOK = """
from medfusion_core import hookimpl

@hookimpl
def medfusion_register_backbones():
    raise RuntimeError("boom in hook")
"""

WRONG_KIND = """
from medfusion_core import ComponentSpec, hookimpl

@hookimpl
def medfusion_register_backbones():
    return [ComponentSpec("x", "fusion", "collections:OrderedDict")]
"""

CORE_RANGE = ">=0.1,<0.2"


@pytest.fixture
def ecosystem(fake_distribution):
    """A set of installed plugins, one of each way a plugin can go wrong, plus healthy ones."""
    fake_distribution(
        "mf-good-one", module_source=GOOD.format(name="alpha"), requires=[f"medfusion-core{CORE_RANGE}"]
    )
    fake_distribution("mf-good-two", module_source=GOOD.format(name="alpha"), requires=["medfusion-core"])
    fake_distribution("mf-healthy", module_source=GOOD.format(name="beta"), requires=["numpy>=1"])
    fake_distribution("mf-broken-import", module_source=BROKEN_IMPORT)
    fake_distribution("mf-raising-hook", module_source=RAISING_HOOK)
    fake_distribution("mf-wrong-kind", module_source=WRONG_KIND)
    fake_distribution(
        "mf-needs-future-core", module_source=GOOD.format(name="gamma"), requires=["medfusion-core>=99"]
    )
    fake_distribution("mf-turned-off", module_source=GOOD.format(name="delta"))


def _records(host: Host) -> dict[str, object]:
    return {record.name: record for record in host.records()}


def test_every_failure_is_reported_and_the_rest_keep_working(ecosystem, monkeypatch):
    monkeypatch.setenv(ENV_DISABLE, "mf_turned_off")
    host = Host(autoload=True, allow=None, disable=None, strict=False)
    records = _records(host)

    assert records["mf-broken-import"].status == "failed"
    assert records["mf-broken-import"].where == "import"
    assert "this_module_does_not_exist_anywhere" in records["mf-broken-import"].error

    assert records["mf-raising-hook"].status == "failed"
    assert records["mf-raising-hook"].where == "medfusion_register_backbones"
    assert "boom in hook" in records["mf-raising-hook"].error

    assert records["mf-wrong-kind"].status == "failed"
    assert "expected 'backbone'" in records["mf-wrong-kind"].error

    incompatible = records["mf-needs-future-core"]
    assert incompatible.status == "incompatible"
    assert incompatible.core_range == ">=99"
    assert __version__ in incompatible.error

    assert records["mf-turned-off"].status == "disabled"

    assert records["mf-healthy"].status == "ok"
    assert SpecifierSet(records["mf-good-one"].core_range) == SpecifierSet(CORE_RANGE)
    names = {spec.name for spec in host.specs("fusion") if spec.plugin.startswith("mf-")}
    assert names == {"alpha", "beta"}  # delta disabled, gamma incompatible


def test_incompatible_and_disabled_plugins_are_never_imported(ecosystem):
    import sys

    Host(autoload=True, allow=(), disable="mf-turned-off", strict=False).records()
    assert "mf_needs_future_core" not in sys.modules
    assert "mf_turned_off" not in sys.modules
    assert "mf_healthy" in sys.modules


def test_same_name_from_two_plugins_names_both_and_plugin_prefix_resolves(ecosystem):
    host = Host(autoload=True, allow=(), disable=(), strict=False)
    registry = ComponentRegistry(host.specs())
    assert ("fusion", "alpha", ["mf-good-one", "mf-good-two"]) in registry.conflicts()
    with pytest.raises(AmbiguousComponentError) as excinfo:
        registry.resolve("fusion", "alpha")
    assert "mf-good-one" in str(excinfo.value) and "mf-good-two" in str(excinfo.value)
    assert registry.resolve("fusion", "mf_good_two:alpha").plugin == "mf-good-two"


def test_strict_mode_turns_failures_into_errors(ecosystem):
    failing = r"mf-broken-import|mf-needs-future-core|mf-raising-hook|mf-wrong-kind"  # any, in any order
    with pytest.raises(PluginError, match=failing):
        Host(autoload=True, allow=(), disable=(), strict=True).records()


def test_allow_list_disables_everything_else(ecosystem):
    host = Host(autoload=True, allow="MF_Healthy", disable=(), strict=True)
    records = _records(host)
    assert records["mf-healthy"].status == "ok"
    assert records["mf-broken-import"].status == "disabled"
    assert "allow list" in records["mf-broken-import"].error
    assert records["medfusion-core"].status == "ok"  # the core is always present


def test_autoload_off_sees_no_installed_plugins(ecosystem):
    host = Host(autoload=False, allow=(), disable=(), strict=False)
    assert [record.name for record in host.records()] == ["medfusion-core"]


def test_hand_registered_plugin_in_isolated_host(medfusion_host):
    import types

    from medfusion_core import ComponentSpec, hookimpl

    module = types.ModuleType("hand_made")

    @hookimpl
    def medfusion_register_aggregators():
        return [ComponentSpec("avg", "aggregator", "statistics:mean", "mean of views")]

    module.medfusion_register_aggregators = medfusion_register_aggregators
    record = medfusion_host.register(module, "Hand_Made.Plugin", version="2.0")
    assert record.name == "hand-made-plugin"
    from medfusion_core.registry import get_registry

    assert get_registry().load("aggregator", "avg")([1, 2, 3]) == 2


def test_threads_loading_a_host_at_once_all_get_it_complete():
    """A host first used from several threads (loader threads) is loaded once; no thread gets
    it before every plugin is registered."""
    from medfusion_core.testing.concurrency import race

    host = Host(autoload=True, allow=(), disable=(), strict=False)
    seen = race(lambda: sorted(spec.name for spec in host.load().specs("reader")), threads=6)
    assert seen == [sorted(spec.name for spec in host.specs("reader"))] * 6 and "pillow" in seen[0]
