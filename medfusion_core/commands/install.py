"""``medfusion install NAME``: install a plugin from the catalogue into this interpreter.

NAME is a catalogue name (``medfusion-plugin-swin`` or just ``swin``); unknown names get a
"did you mean". The installer runs with the Python MedFusion runs in (``sys.executable -m pip``,
or ``uv pip --python sys.executable`` where pip is absent), then the plugin is listed with its
status as ``medfusion list-plugins`` would show it.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Sequence

import click

from medfusion_core.catalogue import (
    CatalogueEntry,
    CatalogueError,
    find_entry,
    install_command,
    install_target,
    load_catalogue,
)
from medfusion_core.errors import MedFusionError

Runner = Callable[[Sequence[str]], int]


class InstallError(MedFusionError):
    """The installer failed or the installed plugin did not load."""


def _run(args: Sequence[str]) -> int:
    return subprocess.run(list(args), check=False).returncode


def install_plugin(name: str, *, upgrade: bool = False, runner: Runner | None = None) -> CatalogueEntry:
    """Resolve ``name`` in the catalogue and install it; ``runner(argv)`` runs the installer
    (default: a subprocess) and returns its exit code.

    Raises :class:`CatalogueError` for unknown or example entries and :class:`InstallError`
    when the installer fails.
    """
    entry = find_entry(name, load_catalogue())
    if entry.origin == "example":
        raise CatalogueError(
            f"{entry.name} is an illustrative catalogue entry, not a published package; nothing to install"
        )
    args = install_command(install_target(entry), upgrade=upgrade)
    click.echo(f"$ {subprocess.list2cmdline(args)}")
    code = (runner or _run)(args)
    if code != 0:
        raise InstallError(
            f"installing {entry.name} failed (exit code {code}); see the installer output above"
        )
    return entry


def installed_record(name: str) -> dict[str, object]:
    """The ``list-plugins --json`` entry of ``name``, read in a fresh interpreter (this one has
    cached the distributions it saw at start-up)."""
    import json
    import sys

    code = (
        "import json, sys\n"
        "from medfusion_core.host import Host\n"
        "record = Host().record(sys.argv[1])\n"
        "print(json.dumps(record.to_json() if record else None))\n"
    )
    result = subprocess.run([sys.executable, "-c", code, name], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise InstallError(
            f"{name} was installed but listing it failed: {result.stderr.strip().splitlines()[-1:]}"
        )
    record = json.loads(result.stdout)
    if record is None:
        raise InstallError(f"{name} was installed but exposes no 'medfusion.plugins' entry point")
    return record


@click.command("install")
@click.argument("name")
@click.option("--upgrade", "-U", is_flag=True, help="Upgrade when an older version is installed.")
def command(name: str, upgrade: bool) -> None:
    """Install plugin NAME from the catalogue into the Python running MedFusion."""
    entry = install_plugin(name, upgrade=upgrade)
    record = installed_record(entry.name)
    components = "; ".join(f"{kind}: {', '.join(names)}" for kind, names in record["components"].items())
    click.echo(
        f"{record['name']} {record['version']}: {record['status']}"
        + (f" ({components})" if components else "")
    )
    if record["status"] != "ok":
        raise InstallError(f"{entry.name} is installed but {record['status']}: {record['error']}")
