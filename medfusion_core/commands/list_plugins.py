"""``medfusion list-plugins``: installed plugins, their status and their components.

JSON schema (``--json``), version 1::

    {
      "schema_version": 1,
      "core_version": "0.1.0",
      "plugins": [
        {"name": str, "version": str, "status": "ok|failed|disabled|incompatible",
         "error": str|null, "where": str|null, "core_range": str|null, "entry_point": str,
         "hooks": [str], "components": {kind: [name, ...]}}
      ],
      "conflicts": [{"kind": str, "name": str, "plugins": [str, ...]}],
      "kernels": {"forced_reference": bool, "kernels": {name: {"backend": str, "fallback_reason": str|null}}}
    }

``--kind`` keeps the plugins offering that kind and only their components of that kind.
"""

from __future__ import annotations

from typing import Any

import click

from medfusion_core.commands._output import console, print_json
from medfusion_core.specs import KINDS

SCHEMA_VERSION = 1
STATUS_STYLE = {"ok": "green", "failed": "red", "disabled": "yellow", "incompatible": "magenta"}


def plugins_payload(kind: str | None) -> dict[str, Any]:
    """The ``--json`` document for the current plugin host."""
    from medfusion_core import __version__
    from medfusion_core.kernels import backend_report
    from medfusion_core.plugins import get_host
    from medfusion_core.registry import get_registry

    plugins = []
    for record in get_host().records():
        entry = record.to_json()
        if kind is not None:
            if kind not in entry["components"]:
                continue
            entry["components"] = {kind: entry["components"][kind]}
        plugins.append(entry)
    conflicts = [
        {"kind": k, "name": name, "plugins": owners}
        for k, name, owners in get_registry().conflicts()
        if kind is None or k == kind
    ]
    return {
        "schema_version": SCHEMA_VERSION,
        "core_version": __version__,
        "plugins": plugins,
        "conflicts": conflicts,
        "kernels": backend_report(),
    }


def _components_cell(components: dict[str, list[str]]) -> str:
    parts = []
    for kind, names in components.items():
        shown = ", ".join(names[:6]) + (f", … (+{len(names) - 6})" if len(names) > 6 else "")
        parts.append(f"[bold]{kind}[/bold]: {shown}")
    return "\n".join(parts)


def _print_table(payload: dict[str, Any]) -> None:
    from rich.table import Table

    from medfusion_core.kernels import describe_accelerators

    table = Table(title=f"MedFusion plugins (core {payload['core_version']})")
    for column in ("Plugin", "Version", "Status", "Components / error"):
        table.add_column(column, overflow="fold")
    for plugin in payload["plugins"]:
        status = plugin["status"]
        detail = _components_cell(plugin["components"])
        if plugin["error"]:
            where = f" at {plugin['where']}" if plugin["where"] else ""
            detail = f"[{STATUS_STYLE[status]}]{plugin['error']}{where}[/]"
        table.add_row(plugin["name"], plugin["version"], f"[{STATUS_STYLE[status]}]{status}[/]", detail)
    out = console()
    out.print(table)
    for conflict in payload["conflicts"]:
        owners = " and ".join(conflict["plugins"])
        out.print(
            f"[yellow]conflict:[/] {conflict['kind']} {conflict['name']!r} is registered by {owners}; "
            f"write '<plugin>:{conflict['name']}' in configs"
        )
    kernels = payload["kernels"]
    backends = sorted({entry["backend"] for entry in kernels["kernels"].values()})
    forced = " (forced by MEDFUSION_KERNELS)" if kernels["forced_reference"] else ""
    out.print(f"kernel backends: {', '.join(backends)}{forced}")
    for line in describe_accelerators(kernels["accelerators"]):
        out.print(f"accelerator: {line}")
    for name, entry in kernels["kernels"].items():
        if entry["fallback_reason"] and not kernels["forced_reference"]:
            out.print(f"[yellow]kernel {name} fell back to the reference:[/] {entry['fallback_reason']}")


def _print_available() -> None:
    from rich.table import Table

    from medfusion_core.catalogue import catalogue_status
    from medfusion_core.plugins import get_host

    rows = catalogue_status(get_host().records())
    table = Table(title="MedFusion plugin catalogue (registry.json)")
    for column in ("Plugin", "Catalogue", "Installed", "State", "Install with"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            row["name"],
            row["catalogue_version"],
            row["installed_version"] or "-",
            row["state"],
            row["install_command"] if row["state"] != "installed" else "",
        )
    console().print(table)


@click.command("list-plugins")
@click.option("--json", "as_json", is_flag=True, help="Print the stable JSON document (schema in docs).")
@click.option("--kind", type=click.Choice(KINDS), help="Only plugins and components of this kind.")
@click.option("--available", is_flag=True, help="Compare with the catalogue: installed, missing, outdated.")
def command(as_json: bool, kind: str | None, available: bool) -> None:
    """List installed plugins, their status and components (never imports torch)."""
    if available:
        if as_json:
            from medfusion_core.catalogue import catalogue_status
            from medfusion_core.plugins import get_host

            print_json(catalogue_status(get_host().records()))
        else:
            _print_available()
        return
    payload = plugins_payload(kind)
    if as_json:
        print_json(payload)
    else:
        _print_table(payload)
