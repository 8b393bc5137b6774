"""`medfusion new-plugin`: every kind renders, installs, is listed ok and passes its own tests."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner
from medfusion_plugin_scaffold import new_plugin
from medfusion_plugin_scaffold.new_plugin import (
    TEMPLATE,
    TEMPLATE_KINDS,
    TemplateError,
    core_range,
    plugin_names,
    render_plugin,
)

from medfusion_core import __version__, kinds
from medfusion_core.discovery import ENTRY_POINT_GROUP

BIN = Path(sys.executable).parent
# uv is a dev dependency, so it sits next to the interpreter running the tests.
UV = shutil.which("uv", path=str(BIN)) or "uv"


def _fake_install(package: Path, site: Path) -> str:
    """Write a ``.dist-info`` for a rendered package, as an editable install would."""
    project = tomllib.loads((package / "pyproject.toml").read_text())["project"]
    module = project["name"].replace("-", "_")
    dist_info = site / f"{module}-{project['version']}.dist-info"
    dist_info.mkdir(parents=True)
    requires = "".join(f"Requires-Dist: {req}\n" for req in project["dependencies"])
    (dist_info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n{requires}"
    )
    entry_points = project["entry-points"][ENTRY_POINT_GROUP]
    lines = "".join(f"{key} = {value}\n" for key, value in entry_points.items())
    (dist_info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{lines}")
    return project["name"]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[str, Path]:
    """One package per kind, rendered with the Python API."""
    root = tmp_path_factory.mktemp("new-plugins")
    return {kind: render_plugin(f"demo-{kind}", kind, root / kind) for kind in TEMPLATE_KINDS}


@pytest.fixture(scope="module")
def environment(rendered, tmp_path_factory) -> dict[str, str]:
    """An environment where the rendered packages are importable and installed (dist-info)."""
    site = tmp_path_factory.mktemp("site")
    names = [_fake_install(package, site) for package in rendered.values()]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(site), *(str(p) for p in rendered.values())])
    env["MEDFUSION_PLUGINS"] = ",".join(names)
    env.pop("MEDFUSION_DISABLE_PLUGIN_AUTOLOAD", None)
    return env


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("my-fusion", ("my-fusion", "medfusion-plugin-my-fusion", "medfusion_plugin_my_fusion")),
        ("My_Fusion.V2", ("my-fusion-v2", "medfusion-plugin-my-fusion-v2", "medfusion_plugin_my_fusion_v2")),
        ("medfusion-plugin-gated", ("gated", "medfusion-plugin-gated", "medfusion_plugin_gated")),
    ],
)
def test_names_are_normalised(name, expected):
    names = plugin_names(name)
    assert (names["plugin_name"], names["distribution"], names["module"]) == expected


@pytest.mark.parametrize(
    "name", ["../evil", "a/b", "a\\b", "..", "-x", "x-", "9lives", "medfusion-plugin-", "with space", "", "é"]
)
def test_invalid_names_are_refused(name):
    with pytest.raises(TemplateError, match="plugin name"):
        plugin_names(name)


def test_core_range_follows_the_running_core():
    assert core_range("0.1.0") == ">=0.1,<0.2"
    assert core_range("0.4.2") == ">=0.4,<0.5"
    assert core_range("1.3.0") == ">=1.3,<2"


def test_non_empty_destination_is_refused(tmp_path):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "file.txt").write_text("keep me")
    with pytest.raises(TemplateError, match="exists and is not empty"):
        render_plugin("x", "fusion", tmp_path / "taken")
    assert (tmp_path / "taken" / "file.txt").read_text() == "keep me"


def test_bad_component_name_is_refused(tmp_path):
    with pytest.raises(TemplateError, match="component name 'Bad-Name'"):
        render_plugin("x", "fusion", tmp_path / "x", component="Bad-Name")


def test_cli_renders_with_options(tmp_path):
    result = CliRunner().invoke(
        new_plugin.command,
        [
            "Cool_Gate",
            "--kind",
            "attention",
            "--dest",
            str(tmp_path / "p"),
            "--component",
            "gate",
            "--author",
            "Ada",
            "--license",
            "BSD-3-Clause",
            "--description",
            "A learned gate that rescales lesion features.",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "created medfusion-plugin-cool-gate (attention)" in result.output
    package = tmp_path / "p"
    project = tomllib.loads((package / "pyproject.toml").read_text())["project"]
    assert project["name"] == "medfusion-plugin-cool-gate"
    assert project["entry-points"][ENTRY_POINT_GROUP] == {"cool-gate": "medfusion_plugin_cool_gate.hooks"}
    assert f"medfusion-core{core_range(__version__)}" in project["dependencies"]
    assert project["license"] == "BSD-3-Clause" and "BSD 3-Clause" in (package / "LICENSE").read_text()
    hooks = (package / "medfusion_plugin_cool_gate" / "hooks.py").read_text()
    assert (
        '"gate",\n            "attention",\n            "medfusion_plugin_cool_gate.attention:Gate",\n'
        '            "A learned gate that rescales lesion features.",' in hooks
    )  # --description is the component's summary too
    assert project["description"] == "A learned gate that rescales lesion features."
    default = render_plugin("plain-gate", "attention", tmp_path / "plain")
    plain_hooks = (default / "medfusion_plugin_plain_gate" / "hooks.py").read_text()
    assert (
        '"Spatial gate: a sigmoid map from a small convolution rescales the features (example).",'
        in plain_hooks
    )


def test_cli_error_is_one_line(tmp_path):
    result = CliRunner().invoke(
        new_plugin.command, ["../x", "--kind", "fusion", "--dest", str(tmp_path / "x")]
    )
    assert result.exit_code != 0
    assert isinstance(result.exception, TemplateError)
    assert not (tmp_path / "x").exists()


def test_rendered_packages_have_every_file(rendered):
    for kind, package in rendered.items():
        module = f"medfusion_plugin_demo_{kind}"
        expected = [
            "pyproject.toml",
            "README.md",
            "LICENSE",
            ".gitignore",
            ".copier-answers.yml",
            ".github/workflows/ci.yml",
            f"{module}/__init__.py",
            f"{module}/hooks.py",
            f"{module}/{kind}.py",
            f"tests/test_{module}_{kind}.py",
            f"tests/test_{module}_hooks.py",
        ]
        missing = [name for name in expected if not (package / name).is_file()]
        assert not missing, f"{kind}: missing {missing}"
        answers = (package / ".copier-answers.yml").read_text()
        assert f"kind: {kind}" in answers and "_src_path:" in answers
        assert f"demo_{kind}" in (package / "README.md").read_text()


def test_rendered_code_is_ruff_clean(rendered):
    result = subprocess.run(
        [str(BIN / "ruff"), "check", "--no-cache", *(str(p) for p in rendered.values())],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_template_kinds_are_the_core_kinds_with_an_example():
    examples = {path.name for path in (TEMPLATE / "kinds").iterdir() if path.is_dir()}
    assert set(TEMPLATE_KINDS) == examples, "a template example is for no kind of the core"
    assert list(TEMPLATE_KINDS) == [kind for kind in kinds.NAMES if kind in examples]
    assert "choices: [fusion" not in (TEMPLATE / "copier.yml").read_text()


def test_rendered_hook_is_the_core_hook_of_the_kind(rendered):
    for kind, package in rendered.items():
        hooks = (package / f"medfusion_plugin_demo_{kind}" / "hooks.py").read_text()
        assert f"def {kinds.get(kind).hook}() -> list[ComponentSpec]:" in hooks


def test_unknown_kind_is_refused(tmp_path):
    with pytest.raises(TemplateError, match="kind 'loss' has no template"):
        render_plugin("x", "loss", tmp_path / "x")


def test_rendered_packages_build_and_install_as_an_author_does(rendered, tmp_path):
    """``pip install ./medfusion-plugin-NAME``: an isolated hatchling build of each rendered package
    (fresh build environment from ``build-system.requires``), installed into a throwaway venv."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("VIRTUAL_ENV", "PYTHON"))}
    venv = tmp_path / "venv"
    python = str(venv / "bin" / "python")
    for args in (
        ["venv", "--quiet", "--python", sys.executable, str(venv)],
        ["pip", "install", "--quiet", "--no-deps", "--python", python, *map(str, rendered.values())],
    ):
        result = subprocess.run([UV, *args], capture_output=True, text=True, env=env, check=False)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    script = (
        "import json, sys\n"
        "from importlib.metadata import distribution\n"
        "group, *names = sys.argv[1:]\n"
        "dists = {name: distribution(name) for name in names}\n"
        "print(json.dumps({name: {'classifiers': d.metadata.get_all('Classifier'),"
        " 'entry_points': {e.name: e.value for e in d.entry_points if e.group == group}}"
        " for name, d in dists.items()}))\n"
    )
    names = [f"medfusion-plugin-demo-{kind}" for kind in rendered]
    result = subprocess.run(
        [python, "-c", script, ENTRY_POINT_GROUP, *names],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    installed = json.loads(result.stdout)
    for kind in rendered:
        metadata = installed[f"medfusion-plugin-demo-{kind}"]
        assert metadata["entry_points"] == {f"demo-{kind}": f"medfusion_plugin_demo_{kind}.hooks"}
        assert metadata["classifiers"] == ["Topic :: Scientific/Engineering :: Medical Science Apps."]


def test_installed_packages_are_listed_ok(rendered, environment):
    result = subprocess.run(
        [str(BIN / "medfusion"), "list-plugins", "--json"],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    plugins = {plugin["name"]: plugin for plugin in json.loads(result.stdout)["plugins"]}
    for kind in rendered:
        plugin = plugins[f"medfusion-plugin-demo-{kind}"]
        assert plugin["status"] == "ok", plugin
        assert plugin["components"] == {kind: [f"demo_{kind}"]}
        assert plugin["core_range"] == "<0.2,>=0.1"


def test_generated_tests_pass(rendered, environment, tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--import-mode=importlib",
            *(str(package / "tests") for package in rendered.values()),
        ],
        capture_output=True,
        text=True,
        env=environment,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "skipped" not in result.stdout


def test_answers_file_supports_recopy(rendered, tmp_path):
    import copier

    package = tmp_path / "recopied"
    shutil.copytree(rendered["aggregator"], package)
    readme = package / "README.md"
    original = readme.read_text()
    readme.write_text("edited by hand\n")
    copier.run_recopy(str(package), defaults=True, overwrite=True, quiet=True)
    assert readme.read_text() == original
