"""A small study end to end through ``medfusion tune``: trials as tracked runs tagged with the
study, the study in the store's SQLite file, parallel workers, pruning, k-fold, --register."""

from __future__ import annotations

import collections
import statistics
from pathlib import Path

import optuna
import pytest
import sqlalchemy as sa
from medfusion_plugin_tracking.store import TrackingStore
from tune_helpers import medfusion, write_space

LR = {"trainer.params.lr": {"type": "float", "low": 1.0e-4, "high": 1.0e-2, "log": True}}
SPACE = {**LR, "model.fusion.name": {"type": "categorical", "choices": ["concat", "gated"]}}


def _study(url: str, name: str) -> optuna.Study:
    return optuna.load_study(study_name=name, storage=url)


def _states(study: optuna.Study) -> collections.Counter:
    return collections.Counter(trial.state.name for trial in study.trials)


@pytest.fixture(scope="module")
def parallel(demo: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """Three trials by two worker processes, the best registered; (runs dir, command output)."""
    runs_dir = tmp_path_factory.mktemp("parallel") / "runs"
    space = write_space(runs_dir.parent / "space.yaml", SPACE, pruner="none")
    outcome = medfusion(
        "tune", demo, "--space", space, "--trials", 3, "--jobs", 2, "--study", "par",
        "--runs-dir", runs_dir, "--register", "tuned",
    ).ok()  # fmt: skip
    return runs_dir, outcome.out


def test_parallel_trials_are_tracked_runs_of_the_study(parallel: tuple[Path, str]) -> None:
    runs_dir, out = parallel
    url = f"sqlite:///{runs_dir / 'medfusion.db'}"
    study = _study(url, "par")
    complete = [trial for trial in study.trials if trial.state.name == "COMPLETE"]
    assert 3 <= len(complete) <= 4 and _states(study)["FAIL"] == 0  # two workers may overshoot by one
    with TrackingStore(url) as store:
        runs = store.search_runs("tags.tune.study = 'par'")
        assert sorted(int(run.tags["tune.trial"]) for run in runs) == sorted(t.number for t in complete)
        for trial in complete:
            (run,) = [run for run in runs if run.tags["tune.trial"] == str(trial.number)]
            assert run.status == "finished" and run.name == f"demo-par-{trial.number:03d}"
            assert float(run.params["trainer.params.lr"]) == pytest.approx(trial.params["trainer.params.lr"])
            assert run.params["model.fusion.name"] == trial.params["model.fusion.name"]
            assert run.metrics["fused/val_auroc"] == pytest.approx(trial.value)
        version = store.resolve_model("tuned")
    best = study.best_trial
    assert version.run_id == best.user_attrs["run_ids"][0]
    assert f"best trial {best.number}: val_auroc {best.value:.4f}" in out
    assert "registered tuned/1" in out


def test_the_study_and_the_store_share_one_sqlite_file(parallel: tuple[Path, str]) -> None:
    runs_dir, _ = parallel
    assert sorted(path.name for path in runs_dir.glob("*.db")) == ["medfusion.db"]
    engine = sa.create_engine(f"sqlite:///{runs_dir / 'medfusion.db'}")
    tables = set(sa.inspect(engine).get_table_names())
    engine.dispose()
    assert {"studies", "trials", "trial_values", "alembic_version"} <= tables  # Optuna's
    assert {"runs", "params", "metrics", "medfusion_tracking_version"} <= tables  # the store's


def test_the_store_and_a_study_live_in_one_database(store_url: str) -> None:
    """SQLite and PostgreSQL: each side migrates and reopens with the other's tables present."""
    from medfusion_plugin_tune.study import make_storage

    with TrackingStore(store_url) as store:
        run_id = store.create_run("r")
    study = optuna.create_study(study_name="s", storage=make_storage(store_url, 10))
    study.optimize(lambda trial: trial.suggest_float("x", 0, 1), n_trials=2)
    with TrackingStore(store_url) as store:  # reopens: its own version table is current
        assert store.get_run(run_id).name == "r"
    reopened = optuna.load_study(study_name="s", storage=make_storage(store_url, 10))
    assert _states(reopened)["COMPLETE"] == 2


def test_pruned_trials_end_their_runs_killed(demo: Path, tmp_path: Path) -> None:
    space = write_space(tmp_path / "space.yaml", LR, pruner={"name": "threshold", "lower": 2.0})
    runs_dir = tmp_path / "runs"
    outcome = medfusion(
        "tune", demo, "--space", space, "--trials", 1, "--study", "pr", "--runs-dir", runs_dir
    )
    assert outcome.ok().out.splitlines()[0].startswith("trial 0: pruned val_auroc")
    assert "no trial completed" in outcome.out
    url = f"sqlite:///{runs_dir / 'medfusion.db'}"
    assert _states(_study(url, "pr")) == {"PRUNED": 1}
    with TrackingStore(url) as store:
        (run,) = store.search_runs("tags.tune.study = 'pr'")
    assert run.status == "killed" and run.tags["tune.state"] == "pruned"


def test_kfold_optimises_the_mean_over_patient_level_folds(demo: Path, tmp_path: Path) -> None:
    space = write_space(tmp_path / "space.yaml", LR, pruner="none")
    runs_dir = tmp_path / "runs"
    medfusion(
        "tune", demo, "--space", space, "--trials", 1, "--kfold", 2, "--study", "kf", "--runs-dir", runs_dir
    ).ok()
    url = f"sqlite:///{runs_dir / 'medfusion.db'}"
    (trial,) = _study(url, "kf").trials
    folds = trial.user_attrs["fold_values"]
    assert len(folds) == 2 and trial.value == pytest.approx(statistics.fmean(folds))
    with TrackingStore(url) as store:
        runs = sorted(store.search_runs("tags.tune.study = 'kf'"), key=lambda run: run.name)
    assert [run.name for run in runs] == ["demo-kf-000-fold0", "demo-kf-000-fold1"]
    assert [run.params["data.fold"] for run in runs] == ["0", "1"]
    assert [run.metrics["fused/val_auroc"] for run in runs] == pytest.approx(folds)
