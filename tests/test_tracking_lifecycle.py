"""The tracking store receives the real lifecycle, through the real CLI in subprocesses: ``train
--modalities all`` leaves its variants' metrics in the store, ``runs list``/``compare`` show them,
``models register`` + ``models alias`` make ``predict NAME@champion`` score like ``predict RUN``,
SIGKILL then ``--resume`` continues the same run with every step once (also when it resumes from an
older checkpoint than the points the store holds), a two-rank DDP training logs one run, and two
trainings into one SQLite file lose no metric point."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from medfusion_plugin_pipeline.demo import write_demo
from medfusion_plugin_tracking.store import TrackingStore
from medfusion_plugin_trainer.trainer import ENV_KILL_AT_STEP

from medfusion_core import runs
from medfusion_core.tracking import TRACKING_FILE, stored_run_id

CLI = "import sys; from medfusion_core.cli import main; sys.argv = ['medfusion', *sys.argv[1:]]; main()"


def medfusion(url: str, *args: str, extra_env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """Start ``medfusion ARGS`` logging to the store at ``url``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDFUSION_")}
    env.update(OMP_NUM_THREADS="1", MEDFUSION_TRACKING_URI=url, **(extra_env or {}))
    return subprocess.Popen(
        [sys.executable, "-c", CLI, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )


def free_port() -> int:
    """A TCP port free on loopback now (for the DDP rendezvous)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ok(process: subprocess.Popen[str]) -> str:
    """Wait for ``process``; its stdout, after checking it succeeded."""
    out, err = process.communicate(timeout=900)
    assert process.returncode == 0, err[-3000:]
    return out


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    folder = write_demo(tmp_path_factory.mktemp("demo") / "data", patients=24, seed=3)
    config = yaml.safe_load((folder / "config.yaml").read_text())
    config["data"]["image"]["size"] = [32, 32]
    config["data"]["loader"] = {"batch_size": 8, "workers": 0}
    config["model"]["backbone"] = {"name": "vit_tiny_patch16_224", "params": {"img_size": 32}}
    config["trainer"]["params"] = {"epochs": 2, "lr": 0.001, "progress": "never", "log_every": 1}
    config["evaluation"]["bootstrap"] = 10
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    return folder


def write_config(demo: Path, name: str, runs_dir: Path, **trainer: object) -> Path:
    config = yaml.safe_load((demo / "config.yaml").read_text())
    config["name"], config["runs_dir"] = name, str(runs_dir)
    config["trainer"]["params"].update(trainer)
    path = demo / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def jsonl_points(run_root: Path) -> int:
    """How many metric points the run folder's metrics.jsonl files hold (numeric step/epoch fields)."""
    from medfusion_core.tracking import metric_points

    return sum(
        len(metric_points(folder.name, runs.read_jsonl(folder / runs.METRICS_FILE)))
        for folder in run_root.iterdir()
        if (folder / runs.METRICS_FILE).is_file()
    )


def test_train_all_list_compare_register_predict(demo, tmp_path):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    ok(medfusion(url, "train", str(write_config(demo, "a", tmp_path / "runs")), "--modalities", "all"))
    ok(medfusion(url, "train", str(write_config(demo, "b", tmp_path / "runs", lr=0.01))))
    run_a = tmp_path / "runs" / "a"
    listed = json.loads(ok(medfusion(url, "runs", "list", "--json")))
    by_name = {row["name"]: row for row in listed}
    assert set(by_name) == {"a", "b"} and "fused/val_auroc" in by_name["b"]["metrics"]
    with TrackingStore(url) as store:
        info = store.get_run(stored_run_id(run_a))
        assert info.status == "finished"
        for folder in ("fused", "image-only", "clinical-only"):
            assert f"{folder}/val_auroc" in info.metrics and f"{folder}/loss" in info.metrics
        assert store.count_metric_points(info.id) == jsonl_points(run_a)
        assert ("fused/checkpoints/best.pt", "checkpoint") in store.artifacts(info.id)
        assert info.data_fingerprint.startswith("sha256:")
        assert (
            info.lineage["versions"]["medfusion-core"]
            and "medfusion-plugin-trainer" in info.lineage["versions"]
        )
    compared = ok(medfusion(url, "runs", "compare", "a", "b"))
    assert "trainer.params.lr" in compared

    ok(medfusion(url, "evaluate", str(run_a)))
    ok(medfusion(url, "models", "register", "a", "--variant", "image", "--name", "demo"))
    ok(medfusion(url, "models", "alias", "demo", "champion", "1"))
    manifest = str(demo / "manifest.csv")
    by_ref, by_run = tmp_path / "ref.csv", tmp_path / "run.csv"
    ok(medfusion(url, "predict", "demo@champion", manifest, "--out", str(by_ref)))
    ok(medfusion(url, "predict", str(run_a), manifest, "--out", str(by_run), "--variant", "image"))
    pd.testing.assert_frame_equal(pd.read_csv(by_ref), pd.read_csv(by_run))
    ok(medfusion(url, "export", "demo@champion", "--format", "torchscript", "--held-out", "2"))
    with TrackingStore(url) as store:
        info = store.get_run(stored_run_id(run_a))
        assert {"fused/test_auroc", "fused/test_auroc_ci_low", "image-only/test_auroc"} <= set(info.metrics)
        kinds = dict(store.artifacts(info.id))
        assert kinds.get("report/report.html") == "report"
        assert str(by_ref) in kinds and kinds[str(by_ref)] == "predictions"
        exported = [path for path, kind in kinds.items() if kind == "export"]
        assert len(exported) == 2 and any(
            path.startswith("export/") and path.endswith(".ts") for path in exported
        )
    unknown = medfusion(url, "predict", "nobody@champion", manifest)
    _, err = unknown.communicate(timeout=300)
    assert unknown.returncode != 0 and err.strip().splitlines()[-1].count("nobody@champion") == 1


def logged_steps(store: TrackingStore, run_id: str, run_root: Path) -> tuple[list[int], list[int]]:
    """``(steps of fused/loss in the store, steps of the step records in fused/metrics.jsonl)``."""
    history = [step for step, _, _ in store.metric_history(run_id, "fused/loss")]
    records = runs.read_jsonl(run_root / "fused" / runs.METRICS_FILE)
    return history, [record["step"] for record in records if record["event"] == "step"]


def test_sigkill_then_resume_continues_the_same_run(demo, tmp_path):
    """Killed, resumed, killed again, then resumed from an older checkpoint than the points the
    store holds (what a SIGKILL while the background checkpoint write is in flight leaves): the
    same run ends finished with every step once."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    config = write_config(demo, "k", tmp_path / "runs", checkpoint_every=1)
    killed = medfusion(url, "train", str(config), extra_env={ENV_KILL_AT_STEP: "1"})
    killed.communicate(timeout=900)
    assert killed.returncode == -9
    run_root = tmp_path / "runs" / "k"
    run_id = stored_run_id(run_root)
    with TrackingStore(url) as store:  # the store opens and holds the run, still running
        assert store.get_run(run_id).status == "running"
    last = run_root / "fused" / "checkpoints" / "last.pt"
    older = tmp_path / "step1.pt"
    shutil.copyfile(last, older)
    again = medfusion(url, "train", str(config), "--resume", extra_env={ENV_KILL_AT_STEP: "3"})
    again.communicate(timeout=900)
    assert again.returncode == -9
    with TrackingStore(url) as store:
        stored, _ = logged_steps(store, run_id, run_root)
    assert max(stored) > 1  # the store holds steps after the step-1 checkpoint
    os.replace(older, last)  # the step-2 and step-3 checkpoints never landed; their points did
    ok(medfusion(url, "train", str(config), "--resume"))
    assert stored_run_id(run_root) == run_id
    with TrackingStore(url) as store:
        info = store.get_run(run_id)
        assert info.status == "finished" and len(store.search_runs()) == 1
        stored, written = logged_steps(store, run_id, run_root)
        assert stored == written == sorted(set(written))  # every step once
        assert store.count_metric_points(run_id) == jsonl_points(run_root)


def test_ddp_training_logs_one_run_with_every_point_once(demo, tmp_path):
    """Two gloo ranks on CPU, started as torchrun starts them: rank 0 alone tracks."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    config = write_config(demo, "ddp", tmp_path / "runs")
    group = {"WORLD_SIZE": "2", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(free_port())}
    ranks = [
        medfusion(url, "train", str(config), extra_env={**group, "RANK": str(rank), "LOCAL_RANK": str(rank)})
        for rank in (0, 1)
    ]
    for process in ranks:
        ok(process)
    run_root = tmp_path / "runs" / "ddp"
    with TrackingStore(url) as store:
        (info,) = store.search_runs()
        assert info.id == stored_run_id(run_root) and info.status == "finished"
        stored, written = logged_steps(store, info.id, run_root)
        assert stored == written == sorted(set(written)) and written
        assert store.count_metric_points(info.id) == jsonl_points(run_root)
        assert info.params["trainer.params.epochs"] == "2"


def test_two_trainings_into_one_sqlite_file_lose_no_point(demo, tmp_path):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    configs = [write_config(demo, name, tmp_path / "runs") for name in ("p", "q")]
    for process in [medfusion(url, "train", str(config), "--modalities", "all") for config in configs]:
        ok(process)
    with TrackingStore(url) as store:
        for name in ("p", "q"):
            run_root = tmp_path / "runs" / name
            assert store.count_metric_points(stored_run_id(run_root)) == jsonl_points(run_root) > 0
    assert (tmp_path / "runs" / "p" / TRACKING_FILE).is_file()
