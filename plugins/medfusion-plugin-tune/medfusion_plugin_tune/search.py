"""Running a search: the study opened (or resumed) in the tracking database, trials in this process
or in ``jobs`` worker processes (one torch thread each), until ``trials`` trials have finished.

Every worker counts the finished (complete or pruned) trials in the shared study and stops when
there are ``trials`` of them, so a resumed search runs only the missing ones; parallel workers can
overshoot by at most ``jobs - 1`` trials (each finishes the trial it started).
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

from medfusion_core.errors import MedFusionError
from medfusion_plugin_tune.study import (
    finished_count,
    make_pruner,
    make_sampler,
    make_storage,
    quiet_experimental,
)


@attrs.frozen
class TuneSettings:
    """What ``medfusion tune`` was asked (plain data: it is sent to worker processes)."""

    config: Path
    space: Path
    trials: int
    sampler: str = "tpe"
    jobs: int = 1
    study: str | None = None
    kfold: int | None = None
    stale_after: int = 60
    runs_dir: Path | None = None

    def study_name(self, config_name: str) -> str:
        """The study's name: ``--study`` or ``<config name>-tune``."""
        return self.study or f"{config_name}-tune"


@attrs.frozen
class Search:
    """A loaded search: the study, its objective and the tracking URL both live in."""

    study: Any
    objective: Any
    url: str


def open_search(settings: TuneSettings, worker: int = 0) -> Search:
    """Load the config and space, then create or load the study (sampler seeded per worker)."""
    import optuna
    from medfusion_plugin_pipeline.training import resolve_runs_dir
    from medfusion_plugin_tracking.engine import default_url
    from medfusion_plugin_tracking.store import TrackingStore

    from medfusion_core.config import load_config
    from medfusion_plugin_tune.objective import Objective
    from medfusion_plugin_tune.space import load_space

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    base = resolve_runs_dir(load_config(settings.config), settings.runs_dir)
    space = load_space(settings.space, base)
    sampler = make_sampler(settings.sampler, base.seed + worker)
    pruner = make_pruner(space.pruner, space.source)
    url = default_url(base.runs_dir)
    TrackingStore(url).close()  # creates the SQLite file's folder and the store's tables first
    name = settings.study_name(base.name)
    study = optuna.create_study(
        study_name=name,
        storage=make_storage(url, settings.stale_after),
        load_if_exists=True,
        direction=space.direction,
        sampler=sampler,
        pruner=pruner,
    )
    return Search(study, Objective(base, space, name, url, settings.kfold), url)


def optimize(search: Search, trials: int, echo: Callable[[str], None]) -> None:
    """Run trials of ``search`` until ``trials`` have finished in the study (none when done)."""
    import optuna

    if finished_count(search.study) >= trials:
        return
    states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    metric = search.objective.space.metric

    def report(_study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        value = "-" if trial.value is None else f"{trial.value:.4f}"
        params = ", ".join(f"{key}={_short(value)}" for key, value in trial.params.items())
        echo(f"trial {trial.number}: {trial.state.name.lower()} {metric} {value} ({params})")

    with quiet_experimental():
        search.study.optimize(
            search.objective,
            callbacks=[optuna.study.MaxTrialsCallback(trials, states=states), report],
            gc_after_trial=True,
        )


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def run_search(settings: TuneSettings, echo: Callable[[str], None] = print) -> Search:
    """Run the search ``settings`` describe; returns it loaded in this process when done."""
    search = open_search(settings)
    if settings.jobs == 1:
        optimize(search, settings.trials, echo)
        return search
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_worker, args=(settings, index)) for index in range(settings.jobs)]
    for process in workers:
        process.start()
    for process in workers:
        process.join()
    failed = [index for index, process in enumerate(workers) if process.exitcode != 0]
    if failed:
        raise MedFusionError(f"tune worker {failed[0]} exited with code {workers[failed[0]].exitcode}")
    return search


def _worker(settings: TuneSettings, index: int) -> None:
    """A worker process: one torch thread, its own seeded sampler, the shared study."""
    os.environ["OMP_NUM_THREADS"] = "1"
    import torch

    torch.set_num_threads(1)
    try:
        optimize(open_search(settings, worker=index + 1), settings.trials, print)
    except MedFusionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
