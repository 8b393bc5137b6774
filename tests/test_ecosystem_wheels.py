"""Every plugin is an independent wheel: a fresh environment with only the core and that plugin
installs it with `medfusion install` and lists it ok with the catalogue's components; a fresh
environment with core + cnn + fusion + trainer (+ pipeline and readers, which bring the train
command and the PNG reader) trains a tiny model.

Environments are made with uv (``uv venv`` + ``uv pip install``), which links packages from its
cache: each takes seconds once the cache is warm.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import attrs
import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from medfusion_core.catalogue import load_catalogue, render_catalogue

ROOT = Path(__file__).resolve().parent.parent
# uv is a dev dependency, so it sits next to the interpreter running the tests.
UV = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv") or "uv"
PACKAGES = sorted([*ROOT.glob("plugins/*/pyproject.toml"), *ROOT.glob("native/pyproject.toml")])


def _name(pyproject: Path) -> str:
    return tomllib.loads(pyproject.read_text())["project"]["name"]


def _plugin_dependencies(pyproject: Path) -> set[str]:
    """First-party plugins this package depends on, directly or through another first-party
    plugin (they come from the local wheels too)."""
    by_name = {_name(path): path for path in PACKAGES}
    found: set[str] = set()
    pending = [pyproject]
    while pending:
        requirements = tomllib.loads(pending.pop().read_text())["project"].get("dependencies", [])
        for line in requirements:
            name = canonicalize_name(Requirement(line).name)
            if name.startswith("medfusion-plugin-") and name not in found:
                found.add(name)
                if name in by_name:
                    pending.append(by_name[name])
    return found


def _run(args: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, capture_output=True, text=True, check=False, **kwargs)  # type: ignore[call-overload]
    assert result.returncode == 0, (
        f"{' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )
    return result


def _clean_env(venv: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("MEDFUSION_", "PYTHON"))}
    env["VIRTUAL_ENV"] = str(venv)
    env["PATH"] = os.pathsep.join([str(venv / "bin"), str(Path(UV).parent), env.get("PATH", "")])  # type: ignore[arg-type]
    return env


@pytest.fixture(scope="module")
def wheels(tmp_path_factory) -> dict[str, Path]:
    """The core's wheel and every plugin's wheel, each built on its own from its folder."""
    out = tmp_path_factory.mktemp("wheels")
    built: dict[str, Path] = {}
    for name, folder in [("medfusion-core", ROOT), *((_name(p), p.parent) for p in PACKAGES)]:
        before = set(out.iterdir())
        _run([UV, "build", "--wheel", "--quiet", "--out-dir", str(out), str(folder)])
        [wheel] = [path for path in set(out.iterdir()) - before if path.suffix == ".whl"]
        built[name] = wheel
    return built


def _venv(path: Path, *wheels: Path) -> Path:
    _run([UV, "venv", "--quiet", "--python", sys.executable, str(path)])
    _run([UV, "pip", "install", "--quiet", "--python", str(path / "bin" / "python"), *map(str, wheels)])
    return path


def _listing(venv: Path, env: dict[str, str]) -> dict[str, dict]:
    result = _run([str(venv / "bin" / "medfusion"), "list-plugins", "--json"], env=env)
    return {plugin["name"]: plugin for plugin in json.loads(result.stdout)["plugins"]}


@pytest.mark.parametrize("pyproject", PACKAGES, ids=[p.parent.name for p in PACKAGES])
def test_plugin_installs_alone_with_medfusion_install(pyproject, wheels, tmp_path):
    name = _name(pyproject)
    [entry] = [entry for entry in load_catalogue(ROOT / "registry.json") if entry.name == name]
    catalogue = tmp_path / "registry.json"
    catalogue.write_text(render_catalogue([attrs.evolve(entry, source=str(wheels[name]))]))
    venv = _venv(tmp_path / "venv", wheels["medfusion-core"])
    wheel_dir = str(wheels[name].parent)
    env = {**_clean_env(venv), "MEDFUSION_CATALOGUE": str(catalogue)}
    env.update(UV_FIND_LINKS=wheel_dir, PIP_FIND_LINKS=wheel_dir)
    result = _run(
        [str(venv / "bin" / "medfusion"), "install", name.removeprefix("medfusion-plugin-")], env=env
    )
    assert f"{name} {entry.version}: ok" in result.stdout, result.stdout
    plugins = _listing(venv, env)
    expected = {"medfusion-core", name, *_plugin_dependencies(pyproject)}
    assert set(plugins) == expected, "a plugin came in that the package does not declare"
    assert all(plugin["status"] == "ok" for plugin in plugins.values()), plugins
    listed = {kind: sorted(names) for kind, names in plugins[name]["components"].items()}
    assert listed == entry.components


@pytest.fixture(scope="module")
def stack(wheels, tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """A fresh environment with core + cnn + fusion + trainer (and aggregators: the demo config
    names the ``mean`` aggregator; pipeline: the demo-data and train commands; readers: the PNG
    reader) from their wheels, and the environment variables to run in it."""
    needed = [
        "medfusion-core",
        "medfusion-plugin-cnn",
        "medfusion-plugin-fusion",
        "medfusion-plugin-aggregators",
        "medfusion-plugin-trainer",
        "medfusion-plugin-pipeline",
        "medfusion-plugin-readers",
    ]
    missing = [name for name in needed if name not in wheels]
    assert not missing, f"packages missing: {missing}"
    venv = _venv(tmp_path_factory.mktemp("stack") / "venv", *(wheels[name] for name in needed))
    return venv, _clean_env(venv)


def test_scaffold_wheel_ships_the_plugin_template(wheels, tmp_path):
    venv = _venv(tmp_path / "venv", wheels["medfusion-core"], wheels["medfusion-plugin-scaffold"])
    _run(
        [str(venv / "bin" / "medfusion"), "new-plugin", "shipped", "--kind", "aggregator"],
        env=_clean_env(venv),
        cwd=tmp_path,
    )
    package = tmp_path / "medfusion-plugin-shipped"
    assert (package / "medfusion_plugin_shipped" / "aggregator.py").is_file()
    answers = (package / ".copier-answers.yml").read_text()
    assert "site-packages/medfusion_plugin_scaffold/plugin_template" in answers


def test_core_cnn_fusion_trainer_train_a_tiny_model(stack, tmp_path):
    venv, env = stack
    medfusion = str(venv / "bin" / "medfusion")
    _run([medfusion, "demo-data", str(tmp_path / "demo"), "--patients", "24"], env=env)
    config_path = tmp_path / "demo" / "config.yaml"
    config = yaml.safe_load(config_path.read_text())
    config["trainer"]["params"]["epochs"] = 1
    config["data"]["loader"]["batch_size"] = 4
    config["evaluation"]["bootstrap"] = 20
    config["data"]["image"]["size"] = [32, 32]
    config_path.write_text(yaml.safe_dump(config))
    runs = tmp_path / "runs"
    _run([medfusion, "train", str(config_path), "--runs-dir", str(runs)], env=env, cwd=tmp_path)
    fused = runs / config["name"] / "fused"
    assert (fused / "checkpoints" / "last.pt").is_file(), "training wrote no checkpoint"
    assert json.loads((fused / "summary.json").read_text()), "empty run summary"
