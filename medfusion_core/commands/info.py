"""``medfusion info NAME``: one plugin, or one component (``name``, ``plugin:name``, ``kind/name``)."""

from __future__ import annotations

import difflib

import click

from medfusion_core.commands._output import console, print_json
from medfusion_core.errors import ComponentNotFoundError, MedFusionError
from medfusion_core.host import PluginRecord
from medfusion_core.kinds import NAMES as KINDS
from medfusion_core.specs import ComponentSpec


def find_components(name: str) -> list[ComponentSpec]:
    """Components matching ``name``, ``plugin:name`` or ``kind/name`` across kinds."""
    from medfusion_core.registry import get_registry

    registry = get_registry()
    kind, sep, bare = name.partition("/")
    kinds = [kind] if sep and kind in KINDS else list(KINDS)
    query = bare if sep and kind in KINDS else name
    found = []
    for candidate_kind in kinds:
        try:
            found.append(registry.resolve(candidate_kind, query))
        except ComponentNotFoundError:
            continue
        except MedFusionError:
            found.extend(
                spec for spec in registry.specs(candidate_kind) if spec.name == query.rpartition(":")[2]
            )
    return found


def _not_found(name: str) -> ComponentNotFoundError:
    from medfusion_core.host import get_host
    from medfusion_core.registry import get_registry

    registry = get_registry()
    known = [record.name for record in get_host().records()]
    known += [spec.name for kind in KINDS for spec in registry.specs(kind)]
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    return ComponentNotFoundError(
        f"no plugin or component named {name!r}{hint} (see 'medfusion list-plugins')"
    )


def _show_plugin(record: PluginRecord) -> None:
    out = console()
    out.print(f"[bold]{record.name}[/bold] {record.version} — status: {record.status}")
    if record.error:
        out.print(f"error at {record.where}: {record.error}")
    out.print(f"entry point: {record.entry_point or '-'}")
    out.print(f"medfusion-core range: {record.core_range or 'not declared'}")
    out.print(f"hooks: {', '.join(record.hooks) or '-'}")
    for kind, names in record.components().items():
        out.print(f"{kind} ({len(names)}): {', '.join(names)}")


def _show_component(spec: ComponentSpec) -> None:
    out = console()
    out.print(f"[bold]{spec.kind} {spec.name}[/bold] from {spec.plugin}")
    out.print(spec.summary)
    out.print(f"factory: {spec.factory}")
    if spec.params is None:
        out.print("parameters: checked by the factory")
    for key, param in (spec.params or {}).items():
        choices = f" one of {list(param.choices)}" if param.choices else ""
        out.print(f"  {key}: {param.type} = {param.default!r}{choices} — {param.help}")
    for key, value in spec.extra.items():
        out.print(f"{key}: {value}")


@click.command("info")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def command(name: str, as_json: bool) -> None:
    """Show a plugin (by distribution name) or a component (NAME, PLUGIN:NAME or KIND/NAME)."""
    from medfusion_core.host import get_host

    record = get_host().record(name)
    if record is not None:
        if as_json:
            print_json(record.to_json())
        else:
            _show_plugin(record)
        return
    specs = find_components(name)
    if not specs:
        raise _not_found(name)
    if as_json:
        print_json([spec.to_json() for spec in specs])
        return
    for spec in specs:
        _show_component(spec)
