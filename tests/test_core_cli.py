"""The `medfusion` command as a user runs it: in a subprocess, with the installed plugins."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]

PROBE = """
import sys
from medfusion_core.cli import main
sys.argv = ["medfusion", *sys.argv[1:]]
code = 0
try:
    main()
except SystemExit as exc:
    code = exc.code
print(f"TORCH_IMPORTED={'torch' in sys.modules} NUMPY_IMPORTED={'numpy' in sys.modules}", file=sys.stderr)
sys.exit(code)
"""


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run `medfusion ARGS` in a fresh interpreter (autoload on: the real installed plugins)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("MEDFUSION_")}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, env=full_env, timeout=120
    )


def first_party_distributions() -> dict[str, str]:
    """name -> version of every package under plugins/ and native/."""
    found = {}
    for pyproject in [*REPO.glob("plugins/*/pyproject.toml"), REPO / "native" / "pyproject.toml"]:
        if pyproject.is_file():
            project = tomllib.loads(pyproject.read_text())["project"]
            found[project["name"]] = project["version"]
    return found


@pytest.mark.parametrize(
    "args", [["--help"], ["list-plugins"], ["list-plugins", "--json"], ["doctor"], ["info", "medfusion-core"]]
)
def test_listing_commands_never_import_torch(args):
    result = run_cli(*args)
    assert "TORCH_IMPORTED=False" in result.stderr, result.stderr


@pytest.mark.parametrize("args", [["list-plugins"], ["list-plugins", "--json"], ["--help"]])
def test_list_plugins_imports_neither_torch_nor_numpy(args):
    result = run_cli(*args)
    assert result.returncode == 0, result.stderr
    assert "TORCH_IMPORTED=False" in result.stderr and "NUMPY_IMPORTED=False" in result.stderr, result.stderr


def test_list_plugins_json_lists_every_first_party_plugin_ok():
    result = run_cli("list-plugins", "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["schema_version"] == 1
    plugins = {plugin["name"]: plugin for plugin in payload["plugins"]}
    for name, version in first_party_distributions().items():
        assert name in plugins, f"{name} is not listed"
        assert plugins[name]["version"] == version
        assert plugins[name]["status"] == "ok", plugins[name]
    assert plugins["medfusion-core"]["status"] == "ok"


def _listed(*args: str) -> dict[str, dict]:
    result = run_cli(*args)
    assert result.returncode == 0, result.stderr
    return {plugin["name"]: plugin for plugin in json.loads(result.stdout)["plugins"]}


def test_kind_filter_keeps_only_that_kind():
    plugins = _listed("list-plugins", "--json", "--kind", "fusion")
    assert all(set(p["components"]) <= {"fusion"} for p in plugins.values())
    assert plugins["medfusion-plugin-fusion"]["components"]["fusion"]
    assert "medfusion-plugin-trainer" not in plugins  # offers no fusion


def test_disable_flag_disables_the_plugin():
    assert "medfusion-plugin-fusion" in first_party_distributions()
    assert _listed("list-plugins", "--json")["medfusion-plugin-fusion"]["status"] == "ok"
    disabled = _listed("--disable", "medfusion-plugin-fusion", "list-plugins", "--json")
    assert disabled["medfusion-plugin-fusion"]["status"] == "disabled"
    assert disabled["medfusion-plugin-fusion"]["components"] == {}
    assert disabled["medfusion-plugin-trainer"]["status"] == "ok"  # only the named plugin
    # disabled plugins offer no components
    assert "medfusion-plugin-fusion" not in _listed(
        "--disable", "medfusion-plugin-fusion", "list-plugins", "--json", "--kind", "fusion"
    )


@pytest.mark.parametrize("args", [["list-plugins"], ["list-plugins", "--available"]])
def test_plugin_names_never_break_in_an_80_column_terminal(args):
    listing = json.loads(run_cli(*args, "--json").stdout)
    names = {plugin["name"] for plugin in (listing if "--available" in args else listing["plugins"])}
    assert "medfusion-plugin-aggregators" in names
    result = run_cli(*args, env={"COLUMNS": "80"})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(map(len, lines)) == 80
    broken = sorted(name for name in names if not any(name in line for line in lines))
    assert not broken, f"split over lines at 80 columns: {broken}\n{result.stdout}"


def test_env_disable_list_uses_canonical_names():
    result = run_cli("list-plugins", "--json", env={"MEDFUSION_DISABLE_PLUGINS": "MedFusion_Plugin_Fusion"})
    statuses = {p["name"]: p["status"] for p in json.loads(result.stdout)["plugins"]}
    if "medfusion-plugin-fusion" in first_party_distributions():
        assert statuses["medfusion-plugin-fusion"] == "disabled"


def test_user_errors_are_one_line_without_traceback(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"name": "x", "data": {"manifest": "m.csv"}, "sed": 1}))
    result = run_cli("validate", str(config))
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if not line.startswith("TORCH_IMPORTED")]
    assert lines == [
        f"error: {config}: (top level): unknown field 'sed' (did you mean 'seed'?); allowed: "
        "name, data, seed, task, model, trainer, evaluation, runs_dir"
    ]
    traced = run_cli("--traceback", "validate", str(config))
    assert "Traceback" in traced.stderr


def test_info_unknown_suggests_and_fails():
    result = run_cli("info", "medfusion-cor")
    assert result.returncode == 2
    assert "did you mean 'medfusion-core'" in result.stderr


def test_validate_accepts_a_good_config(tmp_path):
    (tmp_path / "m.csv").write_text(
        "patient_id,age,label\n" + "".join(f"p{i},{i},{i % 2}\n" for i in range(8))
    )
    config = tmp_path / "c.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "name": "x",
                "data": {"manifest": "m.csv", "images": [], "numeric": ["age"]},
                "model": {"modalities": "clinical"},
            }
        )
    )
    result = run_cli("validate", str(config), "--modalities", "clinical")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"ok: {config} is valid")
