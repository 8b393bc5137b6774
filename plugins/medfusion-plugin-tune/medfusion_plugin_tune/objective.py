"""One trial of a search: sample the space, train the run (or one run per fold), report the
validation metric per epoch for pruning, and return the value Optuna optimises.

Each trial's run is ``<name>-<study>-<NNN>`` (``...-fold<K>`` per fold) in the config's runs
folder and a tracked run like any ``medfusion train``: its params are the config with the sampled
values, and it is tagged with the study and the trial number. A pruned trial's run ends
``killed`` with the tag ``tune.state=pruned``.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

import attrs

from medfusion_core import runs
from medfusion_core.config import ExperimentConfig
from medfusion_core.errors import ConfigError
from medfusion_core.tracking import stored_run_id
from medfusion_plugin_tune.space import SearchSpace, configure
from medfusion_plugin_tune.study import RUN_DIRS, RUN_IDS, STUDY_TAG, TRIAL_TAG, mark_runs

#: Trial user attribute: the best validation value of each fold.
FOLD_VALUES = "fold_values"


@attrs.define
class Objective:
    """The callable ``study.optimize`` runs (one instance per worker process).

    Attributes:
        base: the experiment config the space is applied to.
        space: the validated search space.
        study: the study name (part of each run's name and its ``tune.study`` tag).
        url: the tracking store URL (the same database as the study).
        kfold: patient-level folds per trial (the mean best validation value is optimised), or None.
    """

    base: ExperimentConfig
    space: SearchSpace
    study: str
    url: str
    kfold: int | None = None

    def __call__(self, trial: Any) -> float:
        """Train the trial's run(s) and return the (mean) best validation metric."""
        import optuna

        values = self.space.sample(trial)
        config = configure(self.base, values, f"{self.space.source}: trial {trial.number}")
        config = attrs.evolve(config, name=f"{self.base.name}-{self.study}-{trial.number:03d}")
        folds = self._folds(config)
        per_fold: list[float] = []
        for index, fold_config in enumerate(folds):
            per_fold.append(self._train(trial, fold_config, per_epoch=len(folds) == 1))
            trial.set_user_attr(FOLD_VALUES, per_fold)
            if len(folds) > 1:  # k-fold: prune on the running mean after each fold
                trial.report(statistics.fmean(per_fold), index)
                if index < len(folds) - 1 and trial.should_prune():
                    self._pruned(trial)
                    raise optuna.TrialPruned(f"pruned after fold {index}")
        return statistics.fmean(per_fold)

    def _folds(self, config: ExperimentConfig) -> list[ExperimentConfig]:
        if self.kfold is None:
            return [config]
        from medfusion_plugin_pipeline.folds import fold_configs

        return fold_configs(attrs.evolve(config, data=attrs.evolve(config.data, folds=self.kfold)), "all")

    def _train(self, trial: Any, config: ExperimentConfig, *, per_epoch: bool) -> float:
        """Train one run of the trial; its best value of the metric over the epochs."""
        import optuna
        from medfusion_plugin_pipeline.training import train_run

        root = runs.RunPaths.for_config(config).root
        trial.set_user_attr(RUN_DIRS, [*trial.user_attrs.get(RUN_DIRS, []), str(root)])
        metric, maximise = self.space.metric, self.space.direction == "maximize"
        state: dict[str, Any] = {"best": None, "tagged": False, "keys": []}

        def observe(_variant: str, record: dict[str, Any]) -> None:
            if not state["tagged"]:
                state["tagged"] = self._tag(trial, root)
            if record.get("event") != "epoch":
                return
            state["keys"] = sorted(key for key in record if key.startswith("val_"))
            value = record.get(metric)
            if value is None or value != value:
                return
            best = state["best"]
            state["best"] = value if best is None or (value > best) == maximise else best
            if per_epoch:
                trial.report(float(value), int(record["epoch_index"]))
                if trial.should_prune():
                    raise optuna.TrialPruned(f"pruned at epoch {record['epoch_index']}")

        try:
            train_run(config, observer=observe)
        except optuna.TrialPruned:
            self._pruned(trial)
            raise
        if state["best"] is None:
            logged = ", ".join(state["keys"]) or "no validation metric"
            raise ConfigError(
                f"{self.space.source}: metric: {metric!r} is not in the trainer's epoch records "
                f"(they hold {logged})"
            )
        return float(state["best"])

    def _tag(self, trial: Any, root: Path) -> bool:
        """Link the run's tracked run to the study and the trial; whether it was found."""
        run_id = stored_run_id(root)
        if run_id is None:
            return False
        trial.set_user_attr(RUN_IDS, [*trial.user_attrs.get(RUN_IDS, []), run_id])
        mark_runs(self.url, [run_id], None, {STUDY_TAG: self.study, TRIAL_TAG: str(trial.number)})
        return True

    def _pruned(self, trial: Any) -> None:
        run_ids = trial.user_attrs.get(RUN_IDS, [])
        mark_runs(self.url, run_ids[-1:], "killed", {"tune.state": "pruned"})
