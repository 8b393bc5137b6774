"""The Optuna study of a search: storage in the tracking store's database, samplers and pruners by
name, and the retry of trials whose process died.

Optuna's tables (``studies``, ``trials``, ... and its Alembic table ``alembic_version``) sit next
to the tracking store's (version table ``medfusion_tracking_version``) in one database. Every
running trial beats a heartbeat; a trial whose heartbeat stopped for ``stale_after`` seconds (its
process was killed) is marked failed when the study next runs a trial, its tracked runs are marked
failed, and the same parameters are tried again.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from medfusion_core.errors import ConfigError

#: ``--sampler`` names -> Optuna sampler class names.
SAMPLERS = {
    "tpe": "TPESampler",
    "random": "RandomSampler",
    "cmaes": "CmaEsSampler",
    "qmc": "QMCSampler",
    "gp": "GPSampler",
    "nsgaii": "NSGAIISampler",
}
#: Pruner names of the search space file -> Optuna pruner class names.
PRUNERS = {
    "median": "MedianPruner",
    "percentile": "PercentilePruner",
    "hyperband": "HyperbandPruner",
    "successive_halving": "SuccessiveHalvingPruner",
    "threshold": "ThresholdPruner",
    "none": "NopPruner",
}
#: How many times a trial interrupted by a dead process is tried again.
MAX_RETRY = 3
#: Tag of a tracked run naming the study it belongs to, and of the trial number.
STUDY_TAG = "tune.study"
TRIAL_TAG = "tune.trial"
#: Trial user attribute listing the tracked run ids of the trial (one per fold).
RUN_IDS = "run_ids"
#: Trial user attribute listing the run folders of the trial (set before each run starts).
RUN_DIRS = "run_dirs"
#: Trial user attribute: the best validation value of each of the trial's runs (folds).
FOLD_VALUES = "fold_values"


def make_sampler(name: str, seed: int) -> Any:
    """The Optuna sampler called ``name`` (see :data:`SAMPLERS`), seeded."""
    import optuna

    if name not in SAMPLERS:
        raise ConfigError(f"--sampler {name}: unknown sampler; one of {', '.join(SAMPLERS)}")
    try:
        return getattr(optuna.samplers, SAMPLERS[name])(seed=seed)
    except ImportError as exc:
        raise ConfigError(f"--sampler {name}: needs a package that is not installed ({exc})") from None


def make_pruner(spec: dict[str, Any], source: str) -> Any:
    """The Optuna pruner a search space's ``pruner`` entry describes."""
    import optuna

    name = spec["name"]
    if name not in PRUNERS:
        raise ConfigError(f"{source}: pruner.name: unknown pruner {name!r}; one of {', '.join(PRUNERS)}")
    kwargs = {key: value for key, value in spec.items() if key != "name"}
    try:
        return getattr(optuna.pruners, PRUNERS[name])(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{source}: pruner: {exc}") from None


@contextlib.contextmanager
def quiet_experimental() -> Iterator[None]:
    """Silence Optuna's ExperimentalWarning (heartbeats and the stale-trial retry carry one)."""
    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        yield


def make_storage(url: str, stale_after: int) -> Any:
    """Optuna's RDB storage on the tracking store's database URL, with heartbeats and the retry of
    stale trials (their tracked runs are marked failed)."""
    import optuna
    from medfusion_plugin_tracking.engine import normalise_url

    with quiet_experimental():
        retry = optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRY)

    def on_stale(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        tags = {STUDY_TAG: study.study_name, TRIAL_TAG: str(trial.number), "tune.state": "interrupted"}
        mark_runs(url, trial_run_ids(trial), "failed", tags)
        retry(study, trial)

    engine_kwargs = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {}
    with quiet_experimental():
        return optuna.storages.RDBStorage(
            normalise_url(url),
            engine_kwargs=engine_kwargs,
            heartbeat_interval=max(1, stale_after // 3),
            grace_period=stale_after,
            heartbeat_stale_trial_callback=on_stale,
        )


def trial_run_ids(trial: Any) -> list[str]:
    """The tracked runs of a trial: those it recorded, and those its run folders name (a process
    killed early may not have recorded its run's id yet)."""
    from medfusion_core.tracking import stored_run_id

    found = list(trial.user_attrs.get(RUN_IDS, []))
    for folder in trial.user_attrs.get(RUN_DIRS, []):
        run_id = stored_run_id(Path(folder))
        if run_id is not None and run_id not in found:
            found.append(run_id)
    return found


def mark_runs(url: str, run_ids: list[str], status: str | None, tags: dict[str, str]) -> None:
    """Set the tags (and the status, unless None) of the tracked runs ``run_ids`` the store has."""
    from medfusion_plugin_tracking.store import TrackingStore

    with TrackingStore(url) as store:
        for run_id in run_ids:
            if store.has_run(run_id):
                store.set_tags(run_id, tags)
                if status is not None:
                    store.set_status(run_id, status)


def finished_count(study: Any) -> int:
    """Trials of ``study`` that ran to the end: complete or pruned."""
    import optuna

    states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    return len(study.get_trials(deepcopy=False, states=states))
