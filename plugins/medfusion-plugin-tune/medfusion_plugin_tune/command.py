"""``medfusion tune CONFIG --space SPACE.yaml --trials N``: an Optuna search over the config."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from medfusion_plugin_tune.study import FOLD_VALUES, RUN_IDS, SAMPLERS

F = TypeVar("F", bound=Callable[..., Any])


def _at_least(minimum: int, name: str, default: int | None, help: str) -> Callable[[F], F]:
    """An integer option ``name`` of at least ``minimum``."""
    return click.option(name, type=click.IntRange(min=minimum), default=default, show_default=True, help=help)


@click.command("tune")
@click.argument("config", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--space",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="Search space YAML: params at dotted config paths, metric, direction, pruner.",
)
@click.option("--trials", required=True, type=click.IntRange(min=1), help="Finished trials wanted.")
@click.option(
    "--sampler", default="tpe", show_default=True, metavar="|".join(SAMPLERS), help="Optuna sampler."
)
@_at_least(1, "--jobs", 1, "Trials run in parallel, each in its own process with one torch thread.")
@click.option("--study", "study_name", help="Study name (default: <config name>-tune); reuse it to resume.")
@_at_least(2, "--kfold", None, "Patient-level k-fold inside each trial: the mean best metric over K folds.")
@click.option(
    "--register", "register_name", metavar="NAME", help="Register the best trial as a version of NAME."
)
@_at_least(2, "--stale-after", 60, "Seconds without a heartbeat after which a running trial is retried.")
@click.option("--runs-dir", type=click.Path(path_type=Path, file_okay=False), help="Override runs_dir.")
def command(
    config: Path,
    space: Path,
    trials: int,
    sampler: str,
    jobs: int,
    study_name: str | None,
    kfold: int | None,
    register_name: str | None,
    stale_after: int,
    runs_dir: Path | None,
) -> None:
    """Search hyperparameters of CONFIG with Optuna (TPE by default).

    The study lives in the tracking store's database ($MEDFUSION_TRACKING_URI or
    RUNS_DIR/medfusion.db); every trial is a tracked run tagged tune.study and tune.trial. Trials
    are pruned on the per-epoch validation metric. Running the command again with the same
    study resumes it: trials of a killed process are marked failed and tried again, until TRIALS
    trials have finished.
    """
    from medfusion_plugin_tune.search import TuneSettings, run_search

    settings = TuneSettings(config, space, trials, sampler, jobs, study_name, kfold, stale_after, runs_dir)
    search = run_search(settings, echo=click.echo)
    best = _echo_summary(search)
    if register_name:
        _register(search, best, register_name)


def _echo_summary(search: Any) -> Any:
    """Counts by state and the best trial; returns the best trial (None when none completed)."""
    study = search.study
    counts: dict[str, int] = {}
    for trial in study.get_trials(deepcopy=False):
        counts[trial.state.name.lower()] = counts.get(trial.state.name.lower(), 0) + 1
    shown = ", ".join(f"{count} {state}" for state, count in sorted(counts.items()))
    click.echo(f"study {study.study_name}: {shown} (storage {search.url})")
    if not any(trial.state.name == "COMPLETE" for trial in study.get_trials(deepcopy=False)):
        click.echo("no trial completed")
        return None
    best = study.best_trial
    params = ", ".join(f"{key}={value!r}" for key, value in best.params.items())
    metric = search.objective.space.metric
    click.echo(f"best trial {best.number}: {metric} {best.value:.4f} ({params})")
    return best


def _register(search: Any, best: Any, name: str) -> None:
    """Register the best trial's run (its best fold's run with --kfold) as a version of ``name``."""
    from medfusion_plugin_tracking.cli_models import register

    from medfusion_core.errors import MedFusionError

    if best is None:
        raise MedFusionError(f"--register {name}: no trial of the study completed")
    run_ids = best.user_attrs.get(RUN_IDS, [])
    if not run_ids:
        raise MedFusionError(f"trial {best.number} has no tracked run to register (is tracking off?)")
    folds = best.user_attrs.get(FOLD_VALUES, [0.0])
    pick = max if search.objective.space.direction == "maximize" else min
    run_id = run_ids[folds.index(pick(folds))] if len(run_ids) == len(folds) else run_ids[0]
    click.get_current_context().invoke(
        register,
        run=run_id,
        name=name,
        variant="fused",
        checkpoint=None,
        store_url=search.url,
        runs_dir=Path(search.objective.base.runs_dir),
        as_json=False,
    )
