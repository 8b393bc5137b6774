"""The architecture of docs/architecture.md, kept true by machine (grimp reads every import,
function-level ones included; ``if TYPE_CHECKING:`` imports are left out):

- the core imports no plugin;
- the core has no import cycle;
- a plugin imports the core and no other plugin (plugins meet through the registry), except a
  plugin that declares another as a dependency in its pyproject (vit and swin build on the timm
  adapter of cnn);
- the core's layers import only downwards (a module's layer is the first prefix that matches it,
  and every core module must have one).
"""

from __future__ import annotations

import importlib.metadata as md
from collections.abc import Iterable, Sequence

import grimp
import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

CORE = "medfusion_core"
PLUGIN_PREFIX = "medfusion_plugin_"

#: The core's layers, lowest first; a module may import its own layer and the layers below it.
#: A module's layer is that of its longest matching prefix.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("medfusion_core.errors", "medfusion_core.runs.io"),
    ("medfusion_core.kinds", "medfusion_core.specs", "medfusion_core.components", "medfusion_core.discovery"),
    ("medfusion_core.host", "medfusion_core.lookups", "medfusion_core.registry", "medfusion_core.builtin"),
    (
        "medfusion_core.catalogue",
        "medfusion_core.config",
        "medfusion_core.kernels",
        "medfusion_core.imageops",
        "medfusion_core.tracking",
    ),
    ("medfusion_core.data", "medfusion_core.viewops", "medfusion_core.runs"),
    ("medfusion_core.model",),
    ("medfusion_core.runs.loading", "medfusion_core.preflight"),
    ("medfusion_core.testing", "medfusion_core.testing.runs"),
    (
        "medfusion_core.commands",
        "medfusion_core.cli",
        "medfusion_core.__main__",
        "medfusion_core.docsgen",
        "medfusion_core.testing.cli",
    ),
)


def plugin_packages() -> list[str]:
    """Top-level packages of the installed plugins (their ``medfusion.plugins`` entry points)."""
    return sorted({top(ep.value) for ep in md.entry_points(group="medfusion.plugins")})


def declared_plugin_dependencies(package: str) -> set[str]:
    """Top-level packages of the plugins that ``package``'s distribution requires."""
    by_dist = {
        canonicalize_name(ep.dist.name): top(ep.value)
        for ep in md.entry_points(group="medfusion.plugins")
        if ep.dist is not None
    }
    dist = next(name for name, pkg in by_dist.items() if pkg == package)
    required = {canonicalize_name(Requirement(line).name) for line in md.requires(dist) or ()}
    return {by_dist[name] for name in required if name in by_dist}


def imports_of(graph: grimp.ImportGraph, package: str) -> Iterable[tuple[str, str]]:
    """``(importer, imported)`` for every direct import made by a module of ``package``."""
    for module in sorted(graph.find_descendants(package) | {package}):
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            yield module, imported


def top(module: str) -> str:
    """The top-level package of a dotted module name."""
    return module.partition(".")[0]


def foreign_plugin_imports(graph: grimp.ImportGraph, package: str, allowed: Iterable[str] = ()) -> list[str]:
    """``importer -> imported`` lines where ``package`` imports a plugin other than itself and
    the ``allowed`` ones."""
    permitted = {package, *allowed}
    return [
        f"{importer} -> {imported}"
        for importer, imported in imports_of(graph, package)
        if top(imported).startswith(PLUGIN_PREFIX) and top(imported) not in permitted
    ]


def cycles(graph: grimp.ImportGraph, package: str) -> list[list[str]]:
    """Strongly connected groups of more than one module inside ``package`` (Tarjan)."""
    inside = {m for m in graph.find_descendants(package) | {package}}
    edges = {m: sorted(i for i in graph.find_modules_directly_imported_by(m) if i in inside) for m in inside}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(inside):
        if node not in index:
            visit(node)
    return groups


def layer_of(module: str, layers: Sequence[tuple[str, ...]]) -> int | None:
    """Index of the layer holding the longest prefix that is ``module`` or one of its parents."""
    matches = [
        (len(prefix), level)
        for level, prefixes in enumerate(layers)
        for prefix in prefixes
        if module == prefix or module.startswith(prefix + ".")
    ]
    return max(matches)[1] if matches else None


def layer_violations(graph: grimp.ImportGraph, package: str, layers: Sequence[tuple[str, ...]]) -> list[str]:
    """Modules without a layer, and imports from a lower layer up into a higher one."""
    problems = []
    for importer, imported in imports_of(graph, package):
        if top(imported) != package or imported == package:
            continue
        low_level, high_level = layer_of(importer, layers), layer_of(imported, layers)
        if low_level is None or high_level is None:
            continue
        if high_level > low_level:
            problems.append(f"{importer} (layer {low_level}) -> {imported} (layer {high_level})")
    for module in sorted(graph.find_descendants(package)):
        if layer_of(module, layers) is None:
            problems.append(f"{module} has no layer in LAYERS")
    return problems


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(
        CORE, *plugin_packages(), include_external_packages=True, exclude_type_checking_imports=True
    )


def test_every_first_party_plugin_is_in_the_graph() -> None:
    packages = plugin_packages()
    assert "medfusion_plugin_fusion" in packages
    assert "medfusion_plugin_native" in packages


def test_the_core_imports_no_plugin(graph: grimp.ImportGraph) -> None:
    assert foreign_plugin_imports(graph, CORE) == []


def test_the_core_has_no_import_cycle(graph: grimp.ImportGraph) -> None:
    assert cycles(graph, CORE) == []


def test_plugins_import_no_other_plugin(graph: grimp.ImportGraph) -> None:
    problems = [
        line
        for package in plugin_packages()
        for line in foreign_plugin_imports(graph, package, declared_plugin_dependencies(package))
    ]
    assert problems == []


def test_the_core_layers_import_only_downwards(graph: grimp.ImportGraph) -> None:
    assert layer_violations(graph, CORE, LAYERS) == []


# -- the checks themselves can fail ------------------------------------------------------------


def _planted(edges: Sequence[tuple[str, str]]) -> grimp.ImportGraph:
    planted = grimp.ImportGraph()
    for importer, imported in edges:
        planted.add_import(importer=importer, imported=imported)
    return planted


def test_a_planted_cycle_is_found() -> None:
    planted = _planted([("pkg.a", "pkg.b"), ("pkg.b", "pkg.c"), ("pkg.c", "pkg.a"), ("pkg.d", "pkg.a")])
    planted.add_module("pkg")
    assert cycles(planted, "pkg") == [["pkg.a", "pkg.b", "pkg.c"]]


def test_a_planted_plugin_import_is_found() -> None:
    planted = _planted(
        [("medfusion_core.x", "medfusion_plugin_a.y"), ("medfusion_plugin_b.z", "medfusion_core.x")]
    )
    planted.add_module(CORE)
    planted.add_module("medfusion_plugin_b")
    assert foreign_plugin_imports(planted, CORE) == ["medfusion_core.x -> medfusion_plugin_a.y"]
    assert foreign_plugin_imports(planted, "medfusion_plugin_b") == []
    assert foreign_plugin_imports(planted, CORE, ["medfusion_plugin_a"]) == []


def test_vit_may_import_cnn_because_it_declares_it() -> None:
    assert declared_plugin_dependencies("medfusion_plugin_vit") == {"medfusion_plugin_cnn"}
    assert declared_plugin_dependencies("medfusion_plugin_fusion") == set()


def test_a_planted_upward_import_and_an_unplaced_module_are_found() -> None:
    planted = _planted([("pkg.low", "pkg.high"), ("pkg.high", "pkg.low"), ("pkg.stray", "pkg.low")])
    planted.add_module("pkg")
    assert layer_violations(planted, "pkg", (("pkg.low",), ("pkg.high",))) == [
        "pkg.low (layer 0) -> pkg.high (layer 1)",
        "pkg.stray has no layer in LAYERS",
    ]
