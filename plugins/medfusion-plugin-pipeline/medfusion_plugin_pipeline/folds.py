"""Cross-validation: one run per fold, and the folds' best validation metrics side by side."""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from medfusion_core import runs
from medfusion_core.config import ExperimentConfig
from medfusion_core.errors import ConfigError


def fold_configs(config: ExperimentConfig, fold: str) -> list[ExperimentConfig]:
    """One config per cross-validation fold asked for by ``fold`` (a fold number, or ``all`` for
    every fold of ``data.folds``); each is named ``<name>-fold<K>`` so the folds' runs live side by
    side. Raises :class:`ConfigError` when ``data.folds`` is not set or ``fold`` is not a fold."""
    folds = config.data.folds
    if folds is None:
        raise ConfigError(f"--fold {fold}: data.folds is not set; set it (e.g. 5) to cross-validate")
    if fold == "all":
        chosen = list(range(folds))
    elif fold.isdigit() and int(fold) < folds:
        chosen = [int(fold)]
    else:
        raise ConfigError(f"--fold {fold}: not a fold; use 0..{folds - 1} or 'all'")
    return [
        attrs.evolve(config, name=f"{config.name}-fold{k}", data=attrs.evolve(config.data, fold=k))
        for k in chosen
    ]


def summarise_folds(
    config: ExperimentConfig, per_fold: Mapping[int, Mapping[str, Mapping[str, Any]]]
) -> tuple[Path, dict[str, Any]]:
    """Cross-validation summary of :func:`train_run` summaries by fold: for each variant, the best
    validation value of its monitored metric in every fold, their mean and sample standard
    deviation. Written to ``<runs_dir>/<name>-folds.json``; returns that path and the summary."""
    variants: dict[str, Any] = {}
    for fold, summaries in sorted(per_fold.items()):
        for variant, summary in summaries.items():
            entry = variants.setdefault(variant, {"monitor": summary["monitor"], "folds": {}})
            entry["folds"][str(fold)] = summary.get("best_value")
    for entry in variants.values():
        values = [v for v in entry["folds"].values() if v is not None]
        entry["mean"] = statistics.fmean(values) if values else None
        entry["std"] = statistics.stdev(values) if len(values) > 1 else None
    result = {"name": config.name, "folds": config.data.folds, "variants": variants}
    path = runs.write_json(Path(config.runs_dir) / f"{config.name}-folds.json", result)
    return path, result
