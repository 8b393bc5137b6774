"""``medfusion train`` on bad input, as a user runs it: one line naming the file/row/field, a non-zero
exit, no traceback, and the run trained earlier left byte for byte as it was (even with --overwrite)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml
from medfusion_plugin_pipeline.demo import write_demo


def medfusion(*args: str) -> subprocess.CompletedProcess[str]:
    """``medfusion ARGS`` in a fresh interpreter with the installed plugins."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDFUSION_")}
    code = "import sys; from medfusion_core.cli import main; sys.argv = ['medfusion', *sys.argv[1:]]; main()"
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, timeout=600
    )


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` by relative path."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, Path]:
    """Demo data (24 patients, 32x32) and its run trained for one epoch: (data folder, run folder)."""
    folder = write_demo(tmp_path_factory.mktemp("cli") / "data", patients=24, seed=2)
    config = yaml.safe_load((folder / "config.yaml").read_text())
    config["data"]["image"]["size"] = [32, 32]
    config["trainer"]["params"] = {"epochs": 1, "progress": "never"}
    config["runs_dir"] = str(folder / "runs")  # relative runs_dir is against the cwd
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    done = medfusion("train", str(folder / "config.yaml"))
    assert done.returncode == 0, done.stderr[-2000:]
    return folder, folder / "runs" / "demo"


def fail_once(*args: str) -> str:
    """Run a command that must fail; return its single stderr line."""
    done = medfusion(*args)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    return lines[0]


def broken_manifest(folder: Path, change) -> None:
    """Rewrite ``manifest.csv`` through ``change(table) -> table``."""
    table = pd.read_csv(folder / "manifest.csv", dtype=str)
    change(table).to_csv(folder / "manifest.csv", index=False)


def truncate_first_image(folder: Path) -> str:
    table = pd.read_csv(folder / "manifest.csv", dtype=str)
    name = table["view1"].dropna().iloc[0]
    data = (folder / name).read_bytes()
    (folder / name).write_bytes(data[: len(data) // 2])
    return Path(name).name


CASES = {
    "missing column": (lambda f: broken_manifest(f, lambda t: t.drop(columns=["age"])), ["age"]),
    "one class": (lambda f: broken_manifest(f, lambda t: t.assign(label="1")), ["label", "two classes"]),
    "patient in two splits": (
        lambda f: broken_manifest(
            f, lambda t: pd.concat([t, t.iloc[[0]].assign(view1="", view2="", lesion_mask="")])
        ),
        ["p"],
    ),
    "corrupt image": (truncate_first_image, ["manifest.csv", "row"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_data_fails_in_one_line_and_a_failed_retrain_keeps_the_earlier_run(trained, tmp_path, case):
    data, run = trained
    before = snapshot(run)
    folder = tmp_path / "data"
    shutil.copytree(data, folder, ignore=shutil.ignore_patterns("runs"))
    damage, expected = CASES[case]
    extra = damage(folder)
    config = yaml.safe_load((folder / "config.yaml").read_text())
    config["runs_dir"] = str(run.parent)
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    if case == "patient in two splits":  # same patient given two different split labels
        table = pd.read_csv(folder / "manifest.csv", dtype=str)
        table["split"] = ["train"] * (len(table) - 1) + ["test"]
        table.to_csv(folder / "manifest.csv", index=False)
        config["data"]["split"] = "split"
        (folder / "config.yaml").write_text(yaml.safe_dump(config))

    message = fail_once("train", str(folder / "config.yaml"), "--overwrite")

    for word in [*expected, *([extra] if extra else [])]:
        assert word in message, message
    assert snapshot(run) == before  # the earlier run of the same name is untouched


@pytest.mark.parametrize("damage", ["truncated", "pickled object"])
def test_bad_checkpoint_on_resume_is_one_line_naming_the_file(trained, tmp_path, damage):
    _, run = trained
    copy = tmp_path / "runs" / "demo"
    shutil.copytree(run, copy)
    last = copy / "fused" / "checkpoints" / "last.pt"
    if damage == "truncated":
        last.write_bytes(last.read_bytes()[:1000])
    else:
        torch.save({"model": {}, "sneaky": pd.Timestamp("2026-01-01")}, last)
    before = snapshot(copy)

    message = fail_once("train", str(copy / "config.yaml"), "--resume", "--runs-dir", str(copy.parent))

    assert str(last) in message
    assert ("pickled" in message) if damage == "pickled object" else ("corrupt" in message), message
    assert snapshot(copy) == before
