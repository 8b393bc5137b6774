"""The plugin catalogue (``registry.json``): every known plugin, first-party and third-party.

The catalogue ships inside the core (``medfusion_core/registry.json``, a copy of the repository's
``registry.json`` kept identical by a test) so that ``medfusion list-plugins --available`` and
``medfusion install NAME`` work offline. ``MEDFUSION_CATALOGUE=/path/to/registry.json`` points
them at another file. The format is described by ``registry.schema.json``; one entry::

    {"name": "medfusion-plugin-cnn", "version": "0.1.0", "origin": "first-party",
     "summary": "...", "homepage": "https://...", "core": ">=0.1,<0.2",
     "entry_point": "medfusion_plugin_cnn.hooks", "kinds": ["backbone"],
     "components": {"backbone": ["resnet*", "efficientnet*"]}}

``origin`` is ``first-party`` (generated from the packages in this repository by
:func:`update_registry`), ``third-party`` (published elsewhere, kept by hand) or ``example``
(an illustrative entry that is not published and cannot be installed). An optional ``source``
is what the installer is given instead of the name: a path (relative to the catalogue file),
a URL or a requirement string.

This module never imports torch or any plugin.
"""

from __future__ import annotations

import fnmatch
import importlib
import importlib.metadata as md
import importlib.resources
import importlib.util
import json
import os
import shlex
import shutil
import sys
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs
from packaging.requirements import Requirement
from packaging.version import InvalidVersion, Version

from medfusion_core.discovery import ENTRY_POINT_GROUP, canonical_name, resolve_entry_point
from medfusion_core.errors import MedFusionError
from medfusion_core.host import CORE_PLUGIN_NAME
from medfusion_core.kinds import KINDS, NAMES

ENV_CATALOGUE = "MEDFUSION_CATALOGUE"
CATALOGUE_FILE = "registry.json"
SCHEMA_VERSION = 1
ORIGINS = ("first-party", "third-party", "example")
#: Where first-party plugins live; an entry's homepage is this URL plus the package folder.
PROJECT_URL = "https://github.com/medfusion/medfusion"
#: Folders (relative to the repository root) searched for first-party plugin packages.
FIRST_PARTY_GLOBS = ("plugins/*/pyproject.toml", "native/pyproject.toml")


class CatalogueError(MedFusionError):
    """The catalogue file is missing or malformed, or a name is not in it."""


@attrs.frozen
class CatalogueEntry:
    """One plugin of the catalogue (see the module docstring for the JSON form)."""

    name: str
    version: str
    summary: str
    homepage: str
    core: str
    entry_point: str
    components: dict[str, list[str]]
    origin: str = "first-party"
    source: str | None = None

    @property
    def kinds(self) -> list[str]:
        """Component kinds this plugin offers, sorted."""
        return sorted(self.components)

    def to_json(self) -> dict[str, Any]:
        """The entry as written in ``registry.json`` (keys in a stable order)."""
        data: dict[str, Any] = {
            "name": self.name,
            "version": self.version,
            "origin": self.origin,
            "summary": self.summary,
            "homepage": self.homepage,
            "core": self.core,
            "entry_point": self.entry_point,
            "kinds": self.kinds,
            "components": {kind: list(names) for kind, names in sorted(self.components.items())},
        }
        if self.source is not None:
            data["source"] = self.source
        return data

    @classmethod
    def from_json(cls, data: Any, where: str) -> CatalogueEntry:
        """Build an entry from its JSON object; ``where`` names it in errors."""
        if not isinstance(data, dict):
            raise CatalogueError(f"{where}: expected an object, got {type(data).__name__}")
        fields = {field.name for field in attrs.fields(cls)}
        unknown = sorted(set(data) - fields - {"kinds"})
        if unknown:
            raise CatalogueError(
                f"{where}: unknown field(s) {', '.join(unknown)}; allowed: {', '.join(fields)}"
            )
        for key in ("name", "version", "summary", "homepage", "core", "entry_point"):
            if not isinstance(data.get(key), str):
                raise CatalogueError(f"{where}: field {key!r} must be a string")
        if data.get("origin", "first-party") not in ORIGINS:
            raise CatalogueError(f"{where}: origin must be one of {', '.join(ORIGINS)}")
        components = data.get("components")
        if not isinstance(components, dict) or not all(
            kind in NAMES and isinstance(names, list) for kind, names in components.items()
        ):
            raise CatalogueError(f"{where}: components must map component kinds to lists of names")
        return cls(**{key: value for key, value in data.items() if key != "kinds"})


# -- reading ----------------------------------------------------------------------------------


def catalogue_path(path: str | Path | None = None) -> Path | None:
    """The catalogue file to read: ``path``, else ``MEDFUSION_CATALOGUE``, else ``None`` (shipped)."""
    chosen = path if path is not None else os.environ.get(ENV_CATALOGUE)
    return Path(chosen).expanduser() if chosen else None


def parse_catalogue(text: str, source: str) -> list[CatalogueEntry]:
    """Entries of a catalogue document; ``source`` names the file in errors."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CatalogueError(f"{source}: invalid JSON at line {exc.lineno}: {exc.msg}") from None
    if not isinstance(document, dict) or not isinstance(document.get("plugins"), list):
        raise CatalogueError(f"{source}: expected an object with a 'plugins' list")
    if document.get("schema_version") != SCHEMA_VERSION:
        raise CatalogueError(
            f"{source}: schema_version {document.get('schema_version')!r} is not {SCHEMA_VERSION}; "
            "upgrade medfusion-core"
        )
    return [
        CatalogueEntry.from_json(item, f"{source}: plugins[{index}]")
        for index, item in enumerate(document["plugins"])
    ]


def load_catalogue(path: str | Path | None = None) -> list[CatalogueEntry]:
    """Read the catalogue: ``path``, else ``$MEDFUSION_CATALOGUE``, else the copy shipped in the core.

    A relative ``source`` is made absolute against the catalogue file's folder.
    """
    chosen = catalogue_path(path)
    if chosen is None:
        shipped = importlib.resources.files("medfusion_core").joinpath(CATALOGUE_FILE)
        try:
            text = shipped.read_text("utf-8")
        except OSError:
            raise CatalogueError(
                f"the plugin catalogue medfusion_core/{CATALOGUE_FILE} is missing; reinstall medfusion-core "
                f"or set {ENV_CATALOGUE}"
            ) from None
        return parse_catalogue(text, f"medfusion_core/{CATALOGUE_FILE}")
    try:
        text = chosen.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogueError(
            f"{chosen}: cannot read the plugin catalogue ({exc.strerror}); check {ENV_CATALOGUE}"
        ) from None
    entries = parse_catalogue(text, str(chosen))
    return [_absolute_source(entry, chosen.resolve().parent) for entry in entries]


def _absolute_source(entry: CatalogueEntry, base: Path) -> CatalogueEntry:
    source = entry.source
    if source is None or "://" in source or not source.startswith((".", "/")):
        return entry
    return attrs.evolve(entry, source=str((base / source).resolve()))


def find_entry(name: str, entries: Iterable[CatalogueEntry]) -> CatalogueEntry:
    """The entry for ``name`` (``medfusion-plugin-cnn``, ``cnn`` or any spelling of either).

    Raises :class:`CatalogueError` with close names when it is unknown.
    """
    import difflib

    entries = list(entries)
    wanted = canonical_name(name)
    for entry in entries:
        if wanted in (entry.name, entry.name.removeprefix("medfusion-plugin-")):
            return entry
    names = [entry.name for entry in entries]
    short = {entry.name.removeprefix("medfusion-plugin-"): entry.name for entry in entries}
    close = difflib.get_close_matches(wanted, names, n=3, cutoff=0.6)
    close += [short[s] for s in difflib.get_close_matches(wanted, list(short), n=3, cutoff=0.6)]
    hint = f"did you mean {', '.join(dict.fromkeys(close))}? " if close else ""
    raise CatalogueError(
        f"unknown plugin {name!r}: {hint}see 'medfusion list-plugins --available' for the catalogue"
    )


# -- installed state --------------------------------------------------------------------------


def has_pip() -> bool:
    """Whether pip is importable in this interpreter (uv-made environments have none)."""
    return importlib.util.find_spec("pip") is not None


def install_command(target: str, *, upgrade: bool = False) -> list[str]:
    """The command installing ``target`` into the interpreter MedFusion runs in.

    ``python -m pip install`` with :data:`sys.executable` when pip is importable, else
    ``uv pip install --python <sys.executable>`` (uv-made virtual environments have no pip).
    """
    flags = ["--upgrade"] if upgrade else []
    if has_pip() or shutil.which("uv") is None:
        return [sys.executable, "-m", "pip", "install", *flags, target]
    return ["uv", "pip", "install", "--python", sys.executable, *flags, target]


def install_target(entry: CatalogueEntry) -> str:
    """What the installer is given for ``entry``: its ``source`` or its name."""
    return entry.source or entry.name


def _installed_version(name: str, versions: Mapping[str, str]) -> str | None:
    if name in versions:
        return versions[name]
    try:
        return md.version(name)
    except md.PackageNotFoundError:
        return None


def _is_older(installed: str, catalogued: str) -> bool:
    try:
        return Version(installed) < Version(catalogued)
    except InvalidVersion:
        return installed != catalogued


def _install_hint(entry: CatalogueEntry, *, upgrade: bool) -> str:
    if entry.origin == "example":
        return "(illustrative entry, not published)"
    return shlex.join(install_command(install_target(entry), upgrade=upgrade))


def catalogue_status(
    records: Iterable[Any], entries: Iterable[CatalogueEntry] | None = None
) -> list[dict[str, Any]]:
    """One table-ready row per catalogue entry, compared with what is installed.

    ``records`` are the plugin host's :class:`~medfusion_core.host.PluginRecord` objects
    (anything with ``name``, ``version`` and ``status``); plugins they do not mention are looked up
    in the installed distributions. Row keys: ``name``, ``catalogue_version``,
    ``installed_version`` (``None`` when missing), ``state`` (``installed``, ``missing`` or
    ``outdated``), ``status`` (the host's plugin status or ``None``), ``origin``, ``summary`` and
    ``install_command`` (a shell-quoted string; a note for ``example`` entries).
    """
    records = list(records)
    versions = {record.name: record.version for record in records}
    statuses = {record.name: record.status for record in records}
    rows = []
    for entry in load_catalogue() if entries is None else entries:
        installed = _installed_version(entry.name, versions)
        if installed is None:
            state = "missing"
        elif _is_older(installed, entry.version):
            state = "outdated"
        else:
            state = "installed"
        rows.append(
            {
                "name": entry.name,
                "catalogue_version": entry.version,
                "installed_version": installed,
                "state": state,
                "status": statuses.get(entry.name),
                "origin": entry.origin,
                "summary": entry.summary,
                "install_command": _install_hint(entry, upgrade=state == "outdated"),
            }
        )
    return rows


# -- first-party entries from the packages ----------------------------------------------------


def _core_range(dependencies: Iterable[str], where: str) -> str:
    for line in dependencies:
        req = Requirement(line)
        if canonical_name(req.name) == CORE_PLUGIN_NAME:
            ordered = sorted(req.specifier, key=lambda s: (not s.operator.startswith(">"), s.version))
            return ",".join(str(spec) for spec in ordered)
    raise CatalogueError(f"{where}: no dependency on medfusion-core; add 'medfusion-core>=0.1,<0.2'")


def _import_hooks(entry_point: str, package_dir: Path) -> Any:
    """The object an entry point names (``module`` or ``module:attr``), importing the module from
    ``package_dir`` when it is not installed."""
    try:
        return resolve_entry_point(entry_point)
    except ImportError:
        sys.path.insert(0, str(package_dir))
        try:
            return resolve_entry_point(entry_point)
        except ImportError as exc:
            module_name = entry_point.partition(":")[0]
            raise CatalogueError(f"{package_dir}: cannot import {module_name} ({exc})") from None
        finally:
            sys.path.remove(str(package_dir))


def hook_components(hooks: object) -> dict[str, list[str]]:
    """Component names by kind, from calling a plugin module's hook functions directly."""
    components: dict[str, list[str]] = {}
    for kind in KINDS:
        hook = getattr(hooks, kind.hook, None)
        names = sorted({spec.name for spec in (hook() or [])}) if hook is not None else []
        if names:
            components[kind.name] = names
    return components


def package_entry(pyproject: Path, root: Path) -> CatalogueEntry:
    """The first-party catalogue entry of the package whose ``pyproject.toml`` is given
    (``root`` is the repository root, for the homepage URL)."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
    where = str(pyproject)
    name = canonical_name(project.get("name", ""))
    if not name or "version" not in project:
        raise CatalogueError(f"{where}: [project] needs a static name and version")
    entry_points = project.get("entry-points", {}).get(ENTRY_POINT_GROUP, {})
    if len(entry_points) != 1:
        raise CatalogueError(
            f'{where}: expected exactly one entry point in [project.entry-points."{ENTRY_POINT_GROUP}"]'
        )
    entry_point = next(iter(entry_points.values()))
    folder = pyproject.parent
    relative = folder.resolve().relative_to(root.resolve())
    return CatalogueEntry(
        name=name,
        version=str(project["version"]),
        summary=str(project.get("description", "")),
        homepage=project.get("urls", {}).get("Homepage") or f"{PROJECT_URL}/tree/main/{relative.as_posix()}",
        core=_core_range(project.get("dependencies", []), where),
        entry_point=entry_point,
        components=hook_components(_import_hooks(entry_point, folder)),
    )


def first_party_entries(root: Path) -> list[CatalogueEntry]:
    """Entries for every plugin package in the repository at ``root``, sorted by name."""
    files = sorted({path for pattern in FIRST_PARTY_GLOBS for path in root.glob(pattern)})
    entries, problems = [], []
    for path in files:
        try:
            entries.append(package_entry(path, root))
        except CatalogueError as exc:
            problems.append(str(exc))
    if problems:
        raise CatalogueError("; ".join(problems))
    return sorted(entries, key=lambda entry: entry.name)


def render_catalogue(entries: Iterable[CatalogueEntry]) -> str:
    """The ``registry.json`` text for ``entries`` (first-party first, then by name)."""
    ordered = sorted(entries, key=lambda e: (ORIGINS.index(e.origin), e.name))
    document = {"schema_version": SCHEMA_VERSION, "plugins": [entry.to_json() for entry in ordered]}
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def expected_catalogue(root: Path) -> str:
    """What ``registry.json`` should contain: regenerated first-party entries plus the hand-kept
    third-party and example entries of the current file."""
    current = parse_catalogue((root / CATALOGUE_FILE).read_text(encoding="utf-8"), CATALOGUE_FILE)
    kept = [entry for entry in current if entry.origin != "first-party"]
    return render_catalogue([*first_party_entries(root), *kept])


def catalogue_files(root: Path) -> list[Path]:
    """The catalogue files kept identical: the repository's and the core's shipped copy."""
    return [root / CATALOGUE_FILE, root / "medfusion_core" / CATALOGUE_FILE]


def update_registry(root: Path) -> list[Path]:
    """Regenerate the first-party entries in both catalogue files; returns the files changed."""
    text = expected_catalogue(root)
    changed = []
    for path in catalogue_files(root):
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            changed.append(path)
    return changed


def provider_hint(kind: str, name: str) -> str:
    """``"; <kind> <name> comes with <package>: install it with ..."`` when a catalogued plugin
    offers component ``name`` of ``kind`` (matching family patterns such as ``timm:*``), else
    ``""``. Catalogue problems give no hint rather than a second error."""
    try:
        entries = load_catalogue()
    except MedFusionError:
        return ""
    spellings = {name, name.rpartition(":")[2]}  # "plugin:name" names the component "name"
    packages = [
        entry.name
        for entry in entries
        if any(
            fnmatch.fnmatchcase(s, offered) for s in spellings for offered in entry.components.get(kind, [])
        )
    ]
    if not packages:
        return ""
    package = packages[0]
    return (
        f"; {kind} {name!r} comes with the plugin package {package}: install it with "
        f"'medfusion install {package}' (or 'uv pip install {package}' / 'pip install {package}')"
    )
