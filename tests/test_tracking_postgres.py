"""The tracking lifecycle on a real PostgreSQL server (``MEDFUSION_TRACKING_URI`` names a fresh
database of the tracking plugin's fixture): ``train`` -> ``runs list`` -> ``models register`` (three
versions) -> ``models alias`` -> ``predict NAME@alias`` scores like ``predict NAME/3`` and ``predict
RUN``; ``evaluate NAME/3`` and ``export NAME/3`` reach the run behind the version; an unknown version
is one error line.

The CLI group runs in this process (click's test runner) with the installed plugins, a tiny CNN
on 32 px images for one epoch.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import yaml
from click.testing import CliRunner, Result
from medfusion_plugin_pipeline.demo import write_demo
from medfusion_plugin_tracking import testing
from medfusion_plugin_tracking.store import TrackingStore

from medfusion_core.cli import cli
from medfusion_core.errors import DataError
from medfusion_core.testing import isolated_host

#: The tracking plugin's PostgreSQL fixtures (a conftest would import them by name).
postgres_server, postgres_url = testing.postgres_server, testing.postgres_url


def medfusion(url: str, *args: object) -> Result:
    """``medfusion ARGS`` logging to the store at ``url`` (other ``MEDFUSION_*`` variables unset)."""
    env: dict[str, str | None] = {name: None for name in os.environ if name.startswith("MEDFUSION_")}
    env["MEDFUSION_TRACKING_URI"] = url
    with isolated_host():
        return CliRunner().invoke(cli, [str(arg) for arg in args], env=env)


def ok(url: str, *args: object) -> str:
    """The stdout of ``medfusion ARGS``, after checking it succeeded."""
    result = medfusion(url, *args)
    assert result.exit_code == 0, f"{result.output[-3000:]} {result.exception!r}"
    return result.stdout


def small_config(data: Path, runs_dir: Path) -> Path:
    """The demo config: a tiny CNN, 32 px, one epoch, few bootstrap rounds."""
    path = data / "config.yaml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config["name"], config["runs_dir"] = "pg", str(runs_dir)
    config["data"]["image"]["size"] = [32, 32]
    config["data"]["loader"] = {"batch_size": 8, "workers": 0}
    config["model"]["backbone"] = {"name": "resnet10t"}
    config["trainer"]["params"] = {"epochs": 1, "lr": 0.002, "progress": "never"}
    config["evaluation"]["bootstrap"] = 10
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def test_lifecycle_on_postgresql(tmp_path: Path, postgres_url: str) -> None:
    url = postgres_url
    data = write_demo(tmp_path / "data", patients=24, seed=4)
    ok(url, "train", small_config(data, tmp_path / "runs"))
    run = tmp_path / "runs" / "pg"

    (listed,) = json.loads(ok(url, "runs", "list", "--json"))
    assert listed["name"] == "pg" and listed["status"] == "finished"
    assert "fused/val_auroc" in listed["metrics"] and listed["params"]["trainer.params.epochs"] == "1"

    for _ in range(3):
        ok(url, "models", "register", "pg", "--name", "chest")
    ok(url, "models", "alias", "chest", "champion", "3")
    with TrackingStore(url) as store:
        assert [version.version for version in store.model_versions("chest")] == [1, 2, 3]
        assert store.resolve_model("chest@champion").version == 3

    manifest = data / "manifest.csv"
    scored = {ref: tmp_path / f"{index}.csv" for index, ref in enumerate(["chest@champion", "chest/3", run])}
    for ref, out in scored.items():
        ok(url, "predict", ref, manifest, "--out", out)
    frames = [pd.read_csv(out) for out in scored.values()]
    assert len(frames[0]) == 24
    for frame in frames[1:]:
        pd.testing.assert_frame_equal(frames[0], frame)

    ok(url, "evaluate", "chest/3")
    ok(url, "export", "chest/3", "--format", "torchscript", "--held-out", "2")
    with TrackingStore(url) as store:
        info = store.get_run("pg")
        assert "fused/test_auroc" in info.metrics
        kinds = dict(store.artifacts(info.id))
        assert any(path.startswith("export/") and kind == "export" for path, kind in kinds.items())

    unknown = medfusion(url, "predict", "chest/9", manifest)
    assert unknown.exit_code != 0 and isinstance(unknown.exception, DataError)
    assert "chest/9" in str(unknown.exception) and "\n" not in str(unknown.exception)
