"""``medfusion runs ...`` and ``medfusion models ...`` on a store filled through the API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from medfusion_plugin_tracking import hooks
from medfusion_plugin_tracking.cli_models import models
from medfusion_plugin_tracking.cli_runs import runs
from medfusion_plugin_tracking.store import TrackingStore

from medfusion_core.cli import main


@pytest.fixture
def filled(tmp_path: Path) -> tuple[str, dict[str, str]]:
    url = f"sqlite:///{tmp_path / 'medfusion.db'}"
    ids = {}
    with TrackingStore(url) as store:
        for index, (name, backbone, auroc) in enumerate(
            [("swin-a", "swin_tiny", 0.86), ("res-a", "resnet18", 0.91)]
        ):
            run_dir = tmp_path / name
            (run_dir / "fused" / "checkpoints").mkdir(parents=True)
            (run_dir / "fused" / "checkpoints" / "best.pt").write_bytes(b"x")
            (run_dir / "config.yaml").write_text("name: x\n")
            (run_dir / "export").mkdir()
            (run_dir / "export" / "fused.onnx").write_bytes(b"x")
            run_id = store.create_run(name, experiment="chest", run_dir=run_dir, start_time=100.0 + index)
            store.log_params(run_id, {"model.backbone.name": backbone, "epochs": 10})
            store.log_metrics(run_id, [("val_auroc", auroc, 5, 1.0), ("test_auroc", auroc - 0.02, 5, 1.0)])
            store.log_metrics(
                run_id,
                [("test_auroc_ci_low", auroc - 0.07, 5, 1.0), ("test_auroc_ci_high", auroc + 0.03, 5, 1.0)],
            )
            store.set_status(run_id, "finished")
            ids[name] = run_id
    return url, ids


def invoke(command, *args: str):
    return CliRunner().invoke(command, list(args), catch_exceptions=False)


def test_commands_are_registered_through_the_hook() -> None:
    specs = {spec.name: spec for spec in hooks.medfusion_register_commands()}
    assert specs["runs"].load() is runs and specs["models"].load() is models


def test_runs_list_filters_and_json(filled) -> None:
    url, ids = filled
    result = invoke(
        runs, "list", "--store", url, "--json", "--filter", "params.model.backbone.name = 'swin_tiny'"
    )
    assert [run["id"] for run in json.loads(result.output)] == [ids["swin-a"]]
    result = invoke(runs, "list", "--store", url, "--order-by", "metrics.val_auroc desc")
    lines = result.output.splitlines()
    assert lines[0].split() == ["id", "name", "experiment", "status", "started", "val_auroc"]
    assert [line.split()[1] for line in lines[1:]] == ["res-a", "swin-a"]
    assert lines[1].split()[-1] == "0.91"


def test_runs_show_and_compare(filled) -> None:
    url, ids = filled
    shown = json.loads(invoke(runs, "show", "swin-a", "--store", url, "--json").output)
    assert shown["params"]["model.backbone.name"] == "swin_tiny" and shown["status"] == "finished"
    text = invoke(runs, "compare", "swin-a", "res-a", "--store", url).output
    assert "model.backbone.name" in text and "epochs" not in text
    assert "0.84 [0.79, 0.89]" in text  # test_auroc with its interval, swin-a
    compared = json.loads(invoke(runs, "compare", ids["swin-a"], "res-a", "--store", url, "--json").output)
    assert compared["params_that_differ"] == {"model.backbone.name": ["swin_tiny", "resnet18"]}
    assert compared["metrics"]["val_auroc"] == [0.86, 0.91]


def test_models_register_alias_show(filled, tmp_path: Path) -> None:
    url, ids = filled
    registered = json.loads(
        invoke(models, "register", "swin-a", "--name", "chest", "--store", url, "--json").output
    )
    assert registered["ref"] == "chest/1" and registered["checkpoint"].endswith("fused/checkpoints/best.pt")
    assert registered["artifacts"] == [str(tmp_path / "swin-a" / "export" / "fused.onnx")]
    assert registered["metrics"]["val_auroc"] == 0.86 and registered["run_id"] == ids["swin-a"]
    assert (
        "registered chest/2" in invoke(models, "register", "res-a", "--name", "chest", "--store", url).output
    )
    assert (
        invoke(models, "alias", "chest", "champion", "2", "--store", url).output.strip()
        == "chest@champion -> chest/2"
    )
    shown = json.loads(invoke(models, "show", "chest@champion", "--store", url, "--json").output)
    assert [version["version"] for version in shown] == [2] and shown[0]["aliases"] == ["champion"]
    listed = json.loads(invoke(models, "list", "--store", url, "--json").output)
    assert [version["ref"] for version in listed["chest"]] == ["chest/1", "chest/2"]
    assert (
        "removed chest@champion"
        in invoke(models, "alias", "chest", "champion", "--delete", "--store", url).output
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["runs", "list", "--filter", "metrics.val_aurco > 0.8"],
            "error: filter: no run has metric 'val_aurco'",
        ),
        (["runs", "show", "nope"], "error: no run 'nope' in the store"),
        (["models", "show", "chest@champion"], "error: no registered model 'chest'"),
        (
            ["models", "register", "swin-a", "--name", "m", "--variant", "image"],
            "error: run 'swin-a' has no image checkpoint",
        ),
    ],
)
def test_errors_are_one_line(filled, capsys, monkeypatch, args: list[str], message: str) -> None:
    url, _ = filled
    monkeypatch.setenv("MEDFUSION_TRACKING_URI", url)
    monkeypatch.setattr("medfusion_core.cli.cli", _group())
    with pytest.raises(SystemExit) as exited:
        main(args)
    assert exited.value.code == 2
    error = capsys.readouterr().err
    assert error.startswith(message) and error.count("\n") == 1


def _group():
    import click

    group = click.Group("medfusion")
    group.add_command(runs)
    group.add_command(models)
    return group


def test_runs_delete_asks_then_removes_the_run_and_its_folder(filled, tmp_path: Path) -> None:
    url, ids = filled
    aborted = CliRunner().invoke(runs, ["delete", "swin-a", "--store", url], input="n\n")
    assert aborted.exit_code == 1 and (tmp_path / "swin-a").is_dir()
    done = CliRunner().invoke(runs, ["delete", "swin-a", "--store", url], input="y\n")
    assert done.exit_code == 0 and "and its folder" in done.output
    assert not (tmp_path / "swin-a").exists()
    with TrackingStore(url) as store:
        assert not store.has_run(ids["swin-a"]) and store.has_run(ids["res-a"])
    invoke(models, "register", "res-a", "--name", "chest", "--store", url)
    kept = CliRunner().invoke(runs, ["delete", "res-a", "--yes", "--store", url])
    assert kept.exit_code == 1 and "backs model versions chest/1" in str(kept.exception)
    assert (tmp_path / "res-a").is_dir()
