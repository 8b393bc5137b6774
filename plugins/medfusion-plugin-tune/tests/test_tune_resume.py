"""A study whose process is SIGKILLed mid-trial resumes with no lost trial: the interrupted trial
is marked failed (its tracked run too) and its parameters are tried again, until N complete."""

from __future__ import annotations

import collections
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import optuna
from medfusion_plugin_tracking.store import TrackingStore
from tune_helpers import medfusion, write_space

from medfusion_core.tracking import stored_run_id

TRIALS = 2
EPOCHS = 6
STALE_AFTER = 3


def _study_exists(database: Path) -> bool:
    """Whether the tune process has created study "k" (read-only: opening Optuna's storage before
    the tune process has made its tables would race it to create them)."""
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
            return connection.execute("SELECT 1 FROM studies WHERE study_name = 'k'").fetchone() is not None
    except sqlite3.OperationalError:  # no file or no tables yet
        return False


def _running_trial(url: str) -> optuna.trial.FrozenTrial | None:
    """The running trial after the first complete one, once its tracked run exists."""
    trials = optuna.load_study(study_name="k", storage=url).trials
    if not any(trial.state.name == "COMPLETE" for trial in trials):
        return None
    for trial in trials:
        folders = trial.user_attrs.get("run_dirs", [])
        run_id = stored_run_id(Path(folders[0])) if folders else None
        if trial.state.name == "RUNNING" and run_id is not None:
            # tracking.json is written just before the store creates the run: wait for the run itself
            with TrackingStore(url) as store:
                if store.has_run(run_id):
                    return trial
    return None


def test_a_killed_study_resumes_with_no_lost_trial(demo: Path, tmp_path: Path) -> None:
    space = write_space(
        tmp_path / "space.yaml",
        {
            "trainer.params.lr": {"type": "float", "low": 1.0e-4, "high": 1.0e-2, "log": True},
            # several epochs, so that a trial runs long enough on a fast machine to be killed in
            "trainer.params.epochs": {"type": "categorical", "choices": [EPOCHS]},
        },
        pruner="none",
    )
    runs_dir = tmp_path / "runs"
    args = ["tune", demo, "--space", space, "--trials", TRIALS, "--study", "k", "--runs-dir", runs_dir]
    args += ["--stale-after", STALE_AFTER]
    url = f"sqlite:///{runs_dir / 'medfusion.db'}"
    env = {key: value for key, value in os.environ.items() if not key.startswith("MEDFUSION_")}
    log = (tmp_path / "first.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "medfusion_core", *map(str, args)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 300
    killed = None
    while killed is None:
        assert process.poll() is None, (tmp_path / "first.log").read_text()
        assert time.monotonic() < deadline, "the first trial never finished"
        time.sleep(0.05)
        if _study_exists(runs_dir / "medfusion.db"):
            killed = _running_trial(url)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(30)
    log.close()
    time.sleep(STALE_AFTER + 1)  # its heartbeat is now stale

    medfusion(*args).ok()
    trials = optuna.load_study(study_name="k", storage=url).trials
    states = collections.Counter(trial.state.name for trial in trials)
    assert states == {"COMPLETE": TRIALS, "FAIL": 1}
    (failed,) = [trial for trial in trials if trial.state.name == "FAIL"]
    assert failed.number == killed.number
    (retried,) = [trial for trial in trials if trial.system_attrs.get("failed_trial") == killed.number]
    assert retried.state.name == "COMPLETE" and retried.params == killed.params
    with TrackingStore(url) as store:
        runs = {run.tags["tune.trial"]: run for run in store.search_runs("tags.tune.study = 'k'")}
    assert runs[str(killed.number)].status == "failed"
    assert runs[str(killed.number)].tags["tune.state"] == "interrupted"
    assert all(
        runs[str(trial.number)].status == "finished" for trial in trials if trial.state.name == "COMPLETE"
    )
