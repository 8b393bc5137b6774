"""registry.json: valid against its schema, in agreement with the packages, and read correctly."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import jsonschema
import pytest

from medfusion_core.catalogue import (
    CatalogueEntry,
    CatalogueError,
    catalogue_files,
    catalogue_status,
    expected_catalogue,
    find_entry,
    first_party_entries,
    load_catalogue,
    render_catalogue,
)
from medfusion_core.host import PluginRecord

ROOT = Path(__file__).resolve().parent.parent
UPDATE_HINT = "registry.json is out of date: run `.venv/bin/python scripts/update_registry.py`"


def _entry(name: str, version: str = "1.0.0", **changes: object) -> CatalogueEntry:
    fields = {
        "name": name,
        "version": version,
        "summary": "test entry",
        "homepage": "https://example.org",
        "core": ">=0.1,<0.2",
        "entry_point": name.replace("-", "_") + ".hooks",
        "components": {"fusion": ["x"]},
        "origin": "third-party",
        **changes,
    }
    return CatalogueEntry(**fields)  # type: ignore[arg-type]


def test_registry_json_matches_its_schema():
    schema = json.loads((ROOT / "registry.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(json.loads((ROOT / "registry.json").read_text()), schema)


def test_schema_rejects_an_entry_without_a_version():
    schema = json.loads((ROOT / "registry.schema.json").read_text())
    document = json.loads(render_catalogue([_entry("medfusion-plugin-x")]))
    del document["plugins"][0]["version"]
    with pytest.raises(jsonschema.ValidationError, match="'version' is a required property"):
        jsonschema.validate(document, schema)


def test_registry_json_agrees_with_the_packages():
    expected = expected_catalogue(ROOT)
    for path in catalogue_files(ROOT):
        assert path.read_text(encoding="utf-8") == expected, f"{path.relative_to(ROOT)}: {UPDATE_HINT}"


def test_every_first_party_package_is_catalogued_with_its_pyproject_version():
    import tomllib

    entries = {entry.name: entry for entry in load_catalogue(ROOT / "registry.json")}
    pyprojects = [*ROOT.glob("plugins/*/pyproject.toml"), *ROOT.glob("native/pyproject.toml")]
    assert pyprojects, "no plugin packages found"
    for pyproject in pyprojects:
        project = tomllib.loads(pyproject.read_text())["project"]
        entry = entries.get(project["name"])
        assert entry is not None, f"{project['name']} missing; {UPDATE_HINT}"
        assert entry.version == project["version"], UPDATE_HINT
        assert entry.origin == "first-party"
        assert entry.components, f"{entry.name} registers no component"
    assert any(entry.origin != "first-party" for entry in entries.values()), "no third-party example"


def test_first_party_entries_come_from_calling_the_hooks(tmp_path):
    package = tmp_path / "plugins" / "medfusion-plugin-probe"
    (package / "medfusion_plugin_probe").mkdir(parents=True)
    (package / "medfusion_plugin_probe" / "__init__.py").write_text("")
    (package / "medfusion_plugin_probe" / "hooks.py").write_text(
        "from medfusion_core import ComponentSpec, hookimpl\n"
        "@hookimpl\n"
        "def medfusion_register_aggregators():\n"
        "    return [ComponentSpec('zeta', 'aggregator', 'm:Z'),\n"
        "            ComponentSpec('alpha', 'aggregator', 'm:A')]\n"
    )
    (package / "pyproject.toml").write_text(
        '[project]\nname = "medfusion_plugin.Probe"\nversion = "2.3.0"\ndescription = "Probe."\n'
        'dependencies = ["numpy", "medfusion-core<0.2,>=0.1"]\n'
        '[project.entry-points."medfusion.plugins"]\nprobe = "medfusion_plugin_probe.hooks"\n'
    )
    try:
        [entry] = first_party_entries(tmp_path)
    finally:
        sys.modules.pop("medfusion_plugin_probe.hooks", None)
        sys.modules.pop("medfusion_plugin_probe", None)
    assert entry.name == "medfusion-plugin-probe" and entry.version == "2.3.0"
    assert entry.core == ">=0.1,<0.2"
    assert entry.components == {"aggregator": ["alpha", "zeta"]}
    assert entry.homepage.endswith("/tree/main/plugins/medfusion-plugin-probe")


def test_a_package_without_core_dependency_is_reported(tmp_path):
    package = tmp_path / "plugins" / "medfusion-plugin-bad"
    package.mkdir(parents=True)
    (package / "pyproject.toml").write_text(
        '[project]\nname = "medfusion-plugin-bad"\nversion = "0.1.0"\ndependencies = []\n'
        '[project.entry-points."medfusion.plugins"]\nbad = "medfusion_plugin_bad.hooks"\n'
    )
    with pytest.raises(
        CatalogueError, match=r"medfusion-plugin-bad/pyproject\.toml: no dependency on medfusion-core"
    ):
        first_party_entries(tmp_path)


def test_shipped_catalogue_is_the_default(monkeypatch):
    monkeypatch.delenv("MEDFUSION_CATALOGUE", raising=False)
    shipped = load_catalogue()
    assert [entry.name for entry in shipped] == [
        entry.name for entry in load_catalogue(ROOT / "registry.json")
    ]


def test_env_variable_selects_the_catalogue_and_sources_resolve(tmp_path, monkeypatch):
    path = tmp_path / "cat" / "registry.json"
    path.parent.mkdir()
    path.write_text(render_catalogue([_entry("medfusion-plugin-local", source="./wheels/local.whl")]))
    monkeypatch.setenv("MEDFUSION_CATALOGUE", str(path))
    [entry] = load_catalogue()
    assert entry.source == str(tmp_path / "cat" / "wheels" / "local.whl")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "invalid JSON at line 1"),
        ('{"schema_version": 9, "plugins": []}', "schema_version 9 is not 1"),
        (
            '{"schema_version": 1, "plugins": [{"name": "x"}]}',
            r"plugins\[0\]: field 'version' must be a string",
        ),
        ('{"schema_version": 1}', "expected an object with a 'plugins' list"),
    ],
)
def test_malformed_catalogues_name_the_file_and_entry(tmp_path, text, message):
    path = tmp_path / "registry.json"
    path.write_text(text)
    with pytest.raises(CatalogueError, match=message) as info:
        load_catalogue(path)
    assert str(path) in str(info.value)


def test_unknown_fields_are_refused(tmp_path):
    document = json.loads(render_catalogue([_entry("medfusion-plugin-x")]))
    document["plugins"][0]["homepgae"] = "https://x"
    path = tmp_path / "registry.json"
    path.write_text(json.dumps(document))
    with pytest.raises(CatalogueError, match=r"unknown field.*homepgae"):
        load_catalogue(path)


def test_find_entry_accepts_short_names_and_suggests():
    entries = [_entry("medfusion-plugin-swin"), _entry("medfusion-plugin-cnn")]
    assert find_entry("swin", entries).name == "medfusion-plugin-swin"
    assert find_entry("Medfusion_Plugin.CNN", entries).name == "medfusion-plugin-cnn"
    with pytest.raises(CatalogueError, match="did you mean medfusion-plugin-swin"):
        find_entry("swim", entries)


def test_status_reports_installed_missing_and_outdated(fake_distribution, monkeypatch):
    monkeypatch.setattr("medfusion_core.catalogue.has_pip", lambda: True)
    fake_distribution("medfusion-plugin-oldie", version="0.9.0")
    fake_distribution("medfusion-plugin-current", version="1.0.0")
    entries = [
        _entry("medfusion-plugin-oldie"),
        _entry("medfusion-plugin-current"),
        _entry("medfusion-plugin-absent"),
        _entry("medfusion-plugin-hosted"),
        _entry("medfusion-plugin-demo", origin="example"),
    ]
    hosted = PluginRecord(name="medfusion-plugin-hosted", version="1.2.0", status="failed")
    rows = {row["name"]: row for row in catalogue_status([hosted], entries)}
    assert [rows[name]["state"] for name in rows] == [
        "outdated",
        "installed",
        "missing",
        "installed",
        "missing",
    ]
    assert rows["medfusion-plugin-oldie"]["installed_version"] == "0.9.0"
    assert rows["medfusion-plugin-absent"]["installed_version"] is None
    assert rows["medfusion-plugin-hosted"]["status"] == "failed"
    assert shlex.split(rows["medfusion-plugin-absent"]["install_command"]) == [
        sys.executable,
        "-m",
        "pip",
        "install",
        "medfusion-plugin-absent",
    ]
    assert shlex.split(rows["medfusion-plugin-oldie"]["install_command"]) == [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--upgrade",
        "medfusion-plugin-oldie",
    ]
    assert "not published" in rows["medfusion-plugin-demo"]["install_command"]
    assert set(rows["medfusion-plugin-current"]) >= {
        "name",
        "catalogue_version",
        "installed_version",
        "state",
        "install_command",
    }


def test_without_pip_the_command_uses_uv_with_this_python(monkeypatch):
    monkeypatch.setattr("medfusion_core.catalogue.has_pip", lambda: False)
    monkeypatch.setattr("shutil.which", lambda name: "/usr/bin/uv")
    [row] = catalogue_status([], [_entry("medfusion-plugin-x", source="/wheels/x.whl")])
    assert shlex.split(row["install_command"]) == [
        "uv",
        "pip",
        "install",
        "--python",
        sys.executable,
        "/wheels/x.whl",
    ]
