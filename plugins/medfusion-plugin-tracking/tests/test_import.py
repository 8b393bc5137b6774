"""``medfusion runs import``: run folders made before the store existed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from medfusion_plugin_tracking.cli_runs import runs
from medfusion_plugin_tracking.errors import TrackingError
from medfusion_plugin_tracking.importer import run_folders
from medfusion_plugin_tracking.store import TrackingStore


def _lines(*records: dict) -> str:
    return "".join(json.dumps(record) + "\n" for record in records)


def _run_folder(root: Path, name: str, *, finished: bool) -> Path:
    folder = root / name
    (folder / "fused" / "checkpoints").mkdir(parents=True)
    (folder / "config.yaml").write_text(
        f"name: {name}\nmodel:\n  backbone:\n    name: swin_tiny\ntrain:\n  epochs: 2\n"
    )
    (folder / "fused" / "metrics.jsonl").write_text(
        _lines(
            {"event": "step", "loss": 0.9, "lr": 0.001, "epoch": 0, "batch": 1, "step": 1, "time": 100.0},
            {
                "event": "epoch",
                "epoch_index": 0,
                "val_auroc": 0.7,
                "best": True,
                "epoch": 1,
                "batch": 0,
                "step": 2,
                "time": 101.0,
            },
            {"event": "checkpoint", "file": "best.pt", "epoch": 1, "batch": 0, "step": 2, "time": 101.5},
            {
                "event": "epoch",
                "epoch_index": 1,
                "val_auroc": 0.8,
                "best": True,
                "epoch": 2,
                "batch": 0,
                "step": 4,
                "time": 103.0,
            },
        )
        + '{"event": "step", "loss": 0.'  # a line torn by a crash
    )
    (folder / "fused" / "checkpoints" / "best.pt").write_bytes(b"x")
    if finished:
        (folder / "fused" / "summary.json").write_text("{}")
    return folder


def test_import_a_folder_of_runs_once(tmp_path: Path) -> None:
    _run_folder(tmp_path / "runs", "done", finished=True)
    _run_folder(tmp_path / "runs", "crashed", finished=False)
    url = f"sqlite:///{tmp_path / 'medfusion.db'}"
    first = CliRunner().invoke(
        runs, ["import", str(tmp_path / "runs"), "--store", url, "--experiment", "old"]
    )
    assert first.exit_code == 0, first.output
    assert [line.split()[:2] for line in first.output.splitlines()] == [
        ["imported", "crashed"],
        ["imported", "done"],
    ]
    with TrackingStore(url) as store:
        done = store.get_run("done")
        assert (done.status, done.experiment, done.start_time, done.end_time) == (
            "finished",
            "old",
            100.0,
            103.0,
        )
        assert done.params == {"model.backbone.name": "swin_tiny", "name": "done", "train.epochs": "2"}
        assert done.metrics == {"fused/loss": 0.9, "fused/lr": 0.001, "fused/val_auroc": 0.8}
        assert done.lineage["config"]["train"] == {"epochs": 2}
        assert store.metric_history(done.id, "fused/val_auroc") == [(2, 101.0, 0.7), (4, 103.0, 0.8)]
        assert ("fused/checkpoints/best.pt", "checkpoint") in store.artifacts(done.id)
        assert store.get_run("crashed").status == "killed"
        assert [
            run.name for run in store.search_runs("metrics.fused/val_auroc > 0.75", order_by=["name"])
        ] == [
            "crashed",
            "done",
        ]
    again = CliRunner().invoke(runs, ["import", str(tmp_path / "runs" / "done"), "--store", url, "--json"])
    assert json.loads(again.output) == {"imported": {}, "skipped": ["done"]}


def test_import_refuses_a_folder_without_runs(tmp_path: Path) -> None:
    with pytest.raises(TrackingError, match="neither a run folder nor a folder of runs"):
        run_folders(tmp_path)
