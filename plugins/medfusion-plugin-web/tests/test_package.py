"""The installed package advertises its built app through the ``medfusion.web`` entry point, the
app is complete, and ``medfusion web-assets`` prints it (or says what is missing)."""

from __future__ import annotations

import importlib.metadata as md
from pathlib import Path

import pytest
from click.testing import CliRunner
from medfusion_plugin_web import assets
from medfusion_plugin_web.cli_web import web_assets

from medfusion_core.errors import MedFusionError


def test_entry_point_names_the_built_app_folder():
    [entry] = [ep for ep in md.entry_points(group="medfusion.web") if ep.name == "assets"]
    folder = Path(entry.load())
    assert (folder / "index.html").is_file()
    files = assets.check_assets(folder)
    assert any(path.suffix == ".js" for path in files)


def test_index_loads_a_script_and_a_stylesheet_that_exist():
    initial = assets.initial_files(assets.assets_dir())
    suffixes = {path.suffix for path in initial}
    assert {".js", ".css"} <= suffixes
    assert all(path.is_file() for path in initial)


def test_routes_are_split_into_their_own_chunks():
    names = [path.name for path in (assets.assets_dir() / "assets").iterdir()]
    initial = {path.name for path in assets.initial_files(assets.assets_dir())}
    for page in ("EditorPage", "RunsPage", "ComparePage", "MonitorPage", "DatasetsPage", "ModelsPage"):
        [chunk] = [name for name in names if name.startswith(f"{page}-") and name.endswith(".js")]
        assert chunk not in initial
    assert not any(name.startswith("echarts") for name in initial), "ECharts must load on demand"


def test_command_prints_the_folder_and_lists_files():
    result = CliRunner().invoke(web_assets, ["--list"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == str(assets.assets_dir())
    assert "index.html" in result.output


def test_missing_asset_is_one_line_naming_it(tmp_path):
    (tmp_path / "index.html").write_text('<script type="module" src="/assets/index-x.js"></script>')
    with pytest.raises(MedFusionError, match=r"assets/index-x\.js: referenced by index.html but missing"):
        assets.check_assets(tmp_path)
    with pytest.raises(MedFusionError, match=r"index\.html: missing"):
        assets.check_assets(tmp_path / "nothing")
