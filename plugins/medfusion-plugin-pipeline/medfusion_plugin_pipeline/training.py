"""Training a run: config -> prepared data -> run folder (config, splits, preprocessing) -> one
trained variant per requested modality, through the configured trainer plugin.

Everything that can fail on user input (config, manifest, components) is checked before the run
folder is written, so a bad call leaves earlier runs untouched. Layout: :mod:`medfusion_core.runs`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import click
import yaml

from medfusion_core import runs
from medfusion_core.commands._options import VARIANTS
from medfusion_core.config import ExperimentConfig, config_to_dict
from medfusion_core.errors import ConfigError, DataError
from medfusion_core.kinds.trainer import TrainingJob
from medfusion_core.tracking import TRACKING_FILE
from medfusion_plugin_pipeline.tracking import TrainingTracking

#: ``observer(variant, record)``: called with every trainer record after the trackers saw it.
Observer = Callable[[str, dict[str, Any]], None]


def train_run(
    config: ExperimentConfig,
    *,
    modalities: str = "fused",
    resume: bool = False,
    overwrite: bool = False,
    observer: Observer | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[runs.RunPaths, dict[str, dict[str, Any]]]:
    """Train the requested variants of ``config`` into its run folder; returns the folder and each
    variant's trainer summary. Every file of every split is checked first
    (:func:`medfusion_core.preflight.prepare_training`; ``progress(done, total)`` follows it).
    ``observer`` sees every record (``medfusion tune`` prunes on the epoch records; an exception
    it raises ends the tracked run failed and propagates)."""
    from medfusion_core.data import TabularPreprocessor
    from medfusion_core.model import with_modalities
    from medfusion_core.preflight import prepare_training

    paths = runs.RunPaths.for_config(config)
    variants = VARIANTS[modalities]
    _check_run_folder(paths, config, variants, resume=resume, overwrite=overwrite)
    saved = TabularPreprocessor.from_json(runs.read_json(paths.preprocessing)["tabular"]) if resume else None
    prepared = prepare_training(config, variants, tabular=saved, progress=progress)
    for note in prepared.notes:
        click.echo(note, err=True)
    data = prepared.data
    jobs = [  # every model and trainer is built first: a bad component fails before writing
        _job(with_modalities(config, variant, rename=False), data, prepared.models[variant], variant)
        for variant in variants
    ]
    summaries: dict[str, dict[str, Any]] = {}
    replaced = [runs.CONFIG_FILE, runs.SPLITS_FILE, runs.PREPROCESSING_FILE, TRACKING_FILE]
    replaced += [paths.variant(variant).root.name for variant in variants]
    retraining = overwrite and _is_main_process()
    with runs.set_aside_until_success(paths.root, replaced if retraining else []):
        if _is_main_process() and not resume:  # a resumed run keeps the files it was started with
            _write_run_files(paths, config, data)
        tracking = TrainingTracking(paths, config, data.manifest, resume=resume)
        with tracking.running():
            for job in jobs:
                tracked = attrs.evolve(
                    job, on_record=_chain(tracking.recorder(job.variant), job.variant, observer)
                )
                trainer = prepared.trainers[job.variant]
                summaries[job.variant] = trainer.fit(tracked, paths.variant(job.variant).root, resume=resume)
    return paths, summaries


def _chain(
    recorder: Callable[[dict[str, Any]], None] | None, variant: str, observer: Observer | None
) -> Callable[[dict[str, Any]], None] | None:
    """The trainer's ``on_record``: the tracking recorder, then the observer."""
    if observer is None:
        return recorder

    def on_record(record: dict[str, Any]) -> None:
        if recorder is not None:
            recorder(record)
        observer(variant, record)

    return on_record


def _is_main_process() -> bool:
    return os.environ.get("RANK", "0") == "0"


def _check_run_folder(
    paths: runs.RunPaths,
    config: ExperimentConfig,
    variants: tuple[str, ...],
    *,
    resume: bool,
    overwrite: bool,
) -> None:
    """Refuse to clobber a trained variant (unless ``overwrite``) or to resume a run that is not there."""
    if resume:
        missing = [v for v in variants if not paths.variant(v).last.is_file()]
        if missing:
            raise DataError(
                f"{paths.variant(missing[0]).last}: nothing to resume; train without --resume first"
            )
        return
    if overwrite:
        return
    trained = [paths.variant(v).root for v in variants if paths.variant(v).checkpoints.exists()]
    if trained:
        raise DataError(
            f"{trained[0]}: already trained; use --resume to continue, --overwrite to retrain, "
            "or change 'name' in the config"
        )
    if paths.config.is_file():
        before = _comparable(yaml.safe_load(paths.config.read_text(encoding="utf-8")))
        if before != _comparable(config_to_dict(config)):
            raise DataError(
                f"{paths.config}: this run was trained with a different config; change 'name' "
                "or pass --overwrite"
            )


def _comparable(config: dict[str, Any]) -> dict[str, Any]:
    """A saved config without the fields that may differ between variants of one run."""
    model = {key: value for key, value in config.get("model", {}).items() if key != "modalities"}
    return {**config, "model": model}


def _job(config: ExperimentConfig, data: Any, model: Any, variant: str) -> TrainingJob:
    """The trainer's view of the prepared data: sharded training batches and validation batches."""
    train = data.loader("train")
    val_indices = data.indices("val")
    val = data.loader("val") if len(val_indices) else None

    def train_batches(epoch: int, start: int, rank: int, world_size: int) -> Iterator[dict[str, Any]]:
        return train.iter_batches(epoch, start, shard=(rank, world_size))

    return TrainingJob(
        config=config,
        model=model,
        train_batches=train_batches,
        batches_per_epoch=len(train),
        val_batches=(lambda: val.iter_batches(0)) if val is not None else None,
        train_labels=data.labels.values[data.indices("train")],
        variant=variant,
    )


def _write_run_files(paths: runs.RunPaths, config: ExperimentConfig, data: Any) -> None:
    """config.yaml, splits.csv and preprocessing.json (thresholds from an earlier evaluate are kept)."""
    runs.write_text(paths.config, yaml.safe_dump(config_to_dict(config), sort_keys=False))
    runs.write_splits(paths.splits, zip(data.manifest.patients, data.splits.tolist(), strict=True))
    image = config.data.image
    previous = runs.read_json(paths.preprocessing) if paths.preprocessing.is_file() else {}
    runs.write_json(
        paths.preprocessing,
        {
            "tabular": data.tabular.to_json(),
            "clinical_features": data.clinical_features,
            "image": {
                "size": list(image.size),
                "channels": image.channels,
                "window": image.window,
                "mean": list(image.mean),
                "std": list(image.std),
                "max_views": data.manifest.max_views,
            },
            "task": config.task.type,
            "classes": data.labels.classes,
            "num_outputs": data.num_outputs,
            "thresholds": previous.get("thresholds", {}),
        },
    )


def resolve_runs_dir(config: ExperimentConfig, runs_dir: str | Path | None) -> ExperimentConfig:
    """``config`` with ``runs_dir`` replaced (when given) and made absolute against the cwd."""
    chosen = Path(runs_dir if runs_dir is not None else config.runs_dir).expanduser()
    if not str(chosen):
        raise ConfigError("runs_dir: empty; give a folder such as 'runs'")
    return attrs.evolve(config, runs_dir=str(chosen.resolve()))
