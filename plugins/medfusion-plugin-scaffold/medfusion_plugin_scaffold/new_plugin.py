"""``medfusion new-plugin NAME --kind KIND``: a new plugin package from the copier template.

The package (``medfusion-plugin-<name>``) has the entry point, a working example component of the
chosen kind, tests running the conformance kit, a README, a LICENSE, a CI workflow and copier's
answers file (``.copier-answers.yml``) so that ``copier update`` / ``copier recopy`` can bring in
later template versions. Rendering asks no questions: defaults plus the options given.
"""

from __future__ import annotations

import keyword
import re
from pathlib import Path
from typing import Any

import click
from packaging.utils import canonicalize_name
from packaging.version import Version

from medfusion_core import kinds
from medfusion_core.errors import MedFusionError

#: The copier template, shipped inside this package.
TEMPLATE = Path(__file__).resolve().parent / "plugin_template"
#: Kinds the template has an example component for (``kinds/<kind>/``), in the core's order.
TEMPLATE_KINDS: tuple[str, ...] = tuple(kind for kind in kinds.NAMES if (TEMPLATE / "kinds" / kind).is_dir())
PREFIX = "medfusion-plugin-"
LICENSES = ("MIT", "BSD-3-Clause")

_DISTRIBUTION = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)
_SHORT_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
_COMPONENT = re.compile(r"^[a-z][a-z0-9_]*$")


class TemplateError(MedFusionError):
    """A plugin cannot be generated: bad name, unknown kind or occupied destination."""


def core_range(version: str) -> str:
    """The compatible core range for plugins built against ``version`` (``>=0.1,<0.2``;
    from 1.0 on, ``>=1.2,<2``)."""
    parsed = Version(version)
    major, minor = parsed.major, parsed.minor
    if major == 0:
        return f">=0.{minor},<0.{minor + 1}"
    return f">={major}.{minor},<{major + 1}"


def plugin_names(name: str) -> dict[str, str]:
    """Validate a plugin name and derive ``plugin_name``, ``distribution`` and ``module``.

    ``name`` may be the short name (``my-fusion``) or the distribution name
    (``medfusion-plugin-my-fusion``), in any spelling that normalises to it.
    """
    raw = name.strip()
    if any(sep in raw for sep in ("/", "\\")) or ".." in raw or not _DISTRIBUTION.match(raw):
        raise TemplateError(
            f"plugin name {name!r} is not a valid distribution name: use letters, digits and "
            "'-' (no paths), e.g. 'my-fusion'"
        )
    canonical = canonicalize_name(raw)
    short = canonical.removeprefix(PREFIX)
    module = "medfusion_plugin_" + short.replace("-", "_")
    if not _SHORT_NAME.match(short) or not module.isidentifier() or keyword.iskeyword(module):
        raise TemplateError(
            f"plugin name {name!r}: the part after {PREFIX!r} must start with a letter and hold only "
            "lowercase letters, digits and single '-', e.g. 'my-fusion'"
        )
    return {"plugin_name": short, "distribution": PREFIX + short, "module": module}


def _check_destination(dest: Path) -> None:
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise TemplateError(f"destination {dest} exists and is not empty; choose another --dest")


def render_plugin(
    name: str,
    kind: str,
    dest: str | Path | None = None,
    *,
    component: str | None = None,
    answers: dict[str, Any] | None = None,
) -> Path:
    """Render the template for ``name`` and ``kind`` into ``dest`` and return the package folder.

    ``dest`` defaults to ``./medfusion-plugin-<name>``; it must not exist or be empty.
    ``answers`` sets other template questions (``description``, ``author_name``,
    ``author_email``, ``license``).
    """
    import copier

    from medfusion_core import __version__

    if kind not in TEMPLATE_KINDS:
        raise TemplateError(f"kind {kind!r} has no template; choose one of {', '.join(TEMPLATE_KINDS)}")
    names = plugin_names(name)
    component = component or names["plugin_name"].replace("-", "_")
    if not _COMPONENT.match(component):
        raise TemplateError(
            f"component name {component!r}: use lowercase letters, digits and '_', starting with a letter"
        )
    target = Path(dest) if dest is not None else Path.cwd() / names["distribution"]
    _check_destination(target)
    data = {
        **(answers or {}),
        "plugin_name": names["plugin_name"],
        "kind": kind,
        "component_name": component,
        "hook_name": kinds.get(kind).hook,
        "core_range": core_range(__version__),
    }
    try:
        copier.run_copy(str(TEMPLATE), str(target), data=data, defaults=True, quiet=True, unsafe=False)
    except (copier.errors.CopierError, ValueError) as exc:
        raise TemplateError(f"rendering the plugin template into {target} failed: {exc}") from exc
    return target


@click.command("new-plugin")
@click.argument("name")
@click.option(
    "--kind", required=True, type=click.Choice(TEMPLATE_KINDS), help="Kind of the example component."
)
@click.option(
    "--dest",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to create (default ./medfusion-plugin-NAME); must not exist or be empty.",
)
@click.option("--component", help="Name of the example component (default: NAME with '_').")
@click.option("--description", help="One-line summary of the plugin.")
@click.option("--author", help="Author name for pyproject.toml and LICENSE.")
@click.option("--email", help="Author e-mail for pyproject.toml.")
@click.option("--license", "license_", type=click.Choice(LICENSES), help="License (default MIT).")
def command(
    name: str,
    kind: str,
    dest: Path | None,
    component: str | None,
    description: str | None,
    author: str | None,
    email: str | None,
    license_: str | None,
) -> None:
    """Create a plugin package NAME (medfusion-plugin-NAME) from the template."""
    given = {"description": description, "author_name": author, "author_email": email, "license": license_}
    target = render_plugin(
        name,
        kind,
        dest,
        component=component,
        answers={key: value for key, value in given.items() if value is not None},
    )
    names = plugin_names(name)
    click.echo(f"created {names['distribution']} ({kind}) in {target}")
    click.echo("next steps:")
    click.echo(f"  cd {target}")
    click.echo('  python -m pip install -e ".[test]"')
    click.echo(f"  medfusion list-plugins --kind {kind}")
    click.echo("  python -m pytest")
