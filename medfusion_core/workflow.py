"""The main job behind ``train``, ``predict`` and ``quickstart`` (and the run loading ``evaluate`` uses).

- :func:`train_run`: config -> prepared data -> run folder (config, splits, preprocessing) ->
  one trained variant per requested modality (through the configured trainer plugin);
- :func:`open_run` and :func:`score`: a run read back and a model's scores on a loader (the
  evaluation plugin's ``evaluate_run`` builds on them);
- :func:`predict_manifest`: scores a new manifest with a run's fitted preprocessing;
- :func:`load_variant`: a trained variant as an eval-mode model (for exporters too);
- :func:`fold_configs` and :func:`summarise_folds`: one run per cross-validation fold, and the
  folds' best validation metrics side by side.

Everything that can fail on user input (config, manifest, components) is checked before the run
folder is written, so a bad call leaves earlier runs untouched. Layout: :mod:`medfusion_core.runs`.
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import yaml

from medfusion_core import runs
from medfusion_core.config import ExperimentConfig, config_to_dict, load_config
from medfusion_core.errors import CheckpointError, ConfigError, DataError

#: ``--modalities`` choices -> variants trained.
MODALITY_CHOICES: dict[str, tuple[str, ...]] = {
    "fused": ("fused",),
    "image": ("image",),
    "clinical": ("clinical",),
    "all": ("fused", "image", "clinical"),
}
#: Report label of each variant (the run sub-folder names).
REPORT_LABELS = runs.VARIANT_DIRS


# -- training --------------------------------------------------------------------------------


def train_run(
    config: ExperimentConfig, *, modalities: str = "fused", resume: bool = False, overwrite: bool = False
) -> tuple[runs.RunPaths, dict[str, dict[str, Any]]]:
    """Train the requested variants of ``config`` into its run folder; returns the folder and each
    variant's trainer summary."""
    import torch

    from medfusion_core.data import prepare_data
    from medfusion_core.model import build_model, with_modalities
    from medfusion_core.registry import get_registry

    paths = runs.RunPaths.for_config(config)
    variants = MODALITY_CHOICES[modalities]
    _check_run_folder(paths, config, variants, resume=resume, overwrite=overwrite)
    saved = _saved_tabular(paths) if resume else None
    data = prepare_data(config, tabular=saved)
    trainer_config = config.trainer
    summaries: dict[str, dict[str, Any]] = {}
    jobs = []
    for variant in variants:  # build every model first: a bad component fails before writing
        torch.manual_seed(config.seed)
        variant_config = with_modalities(config, variant, rename=False)
        model = build_model(
            variant_config, clinical_features=data.clinical_features, num_outputs=data.num_outputs
        )
        jobs.append(_job(variant_config, data, model, variant))
    replaced = [runs.CONFIG_FILE, runs.SPLITS_FILE, runs.PREPROCESSING_FILE]
    replaced += [paths.variant(variant).root.name for variant in variants]
    retraining = overwrite and _is_main_process()
    with runs.set_aside_until_success(paths.root, replaced if retraining else []):
        if _is_main_process() and not resume:  # a resumed run keeps the files it was started with
            _write_run_files(paths, config, data)
        for job in jobs:
            trainer = get_registry().create("trainer", trainer_config.name, **trainer_config.params)
            summaries[job.variant] = trainer.fit(job, paths.variant(job.variant).root, resume=resume)
    return paths, summaries


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


def _saved_tabular(paths: runs.RunPaths) -> Any:
    from medfusion_core.data import TabularPreprocessor

    return TabularPreprocessor.from_json(runs.read_json(paths.preprocessing)["tabular"])


def _job(config: ExperimentConfig, data: Any, model: Any, variant: str) -> runs.TrainingJob:
    """The trainer's view of the prepared data: sharded training batches and validation batches."""
    train = data.loader("train")
    val_indices = data.indices("val")
    val = data.loader("val") if len(val_indices) else None

    def train_batches(epoch: int, start: int, rank: int, world_size: int) -> Iterator[dict[str, Any]]:
        return train.iter_batches(epoch, start, shard=(rank, world_size))

    return runs.TrainingJob(
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


# -- scoring ---------------------------------------------------------------------------------


@attrs.frozen
class LoadedRun:
    """A trained run read back from disk."""

    paths: runs.RunPaths
    config: ExperimentConfig
    preprocessing: dict[str, Any]


def open_run(run_dir: str | Path) -> LoadedRun:
    """Read a run folder's config and preprocessing; raises a one-line error if it is not a run."""
    paths = runs.RunPaths(Path(run_dir).expanduser().resolve())
    if not paths.config.is_file():
        raise DataError(
            f"{paths.root}: not a MedFusion run (no config.yaml); train one with 'medfusion train'"
        )
    config = load_config(paths.config)
    return LoadedRun(paths, config, runs.read_json(paths.preprocessing))


def load_variant(run: LoadedRun, variant: str) -> Any:
    """The trained model of ``variant`` in eval mode (EMA weights when the trainer kept them)."""
    from medfusion_core.model import build_model, with_modalities

    checkpoint = run.paths.variant(variant).inference_checkpoint()
    state = runs.load_checkpoint(checkpoint)
    model = build_model(
        with_modalities(run.config, variant, rename=False),
        clinical_features=int(run.preprocessing["clinical_features"]),
        num_outputs=int(run.preprocessing["num_outputs"]),
    )
    try:
        model.load_state_dict(state["ema"] if state.get("ema") is not None else state["model"])
    except RuntimeError as exc:
        raise CheckpointError(
            f"{checkpoint}: does not match the run's config ({str(exc).splitlines()[0]})"
        ) from None
    return model.eval()


def score(model: Any, loader: Any, task: str) -> np.ndarray:
    """Scores of every patient of ``loader`` in order: P(positive) ``[N]`` (binary), class
    probabilities ``[N, K]`` (multiclass) or predictions ``[N]`` (regression)."""
    import torch

    outputs = []
    with torch.no_grad():
        for batch in loader.iter_batches(0):
            inputs = [batch[key] for key in ("images", "view_mask", "clinical", "modality_mask")]
            outputs.append(model(*inputs).float())
    logits = torch.cat(outputs)
    if task == "binary":
        return torch.sigmoid(logits[:, 0]).double().numpy()
    if task == "multiclass":
        return torch.softmax(logits, dim=1).double().numpy()
    return logits[:, 0].double().numpy()


# -- prediction ------------------------------------------------------------------------------


def predict_manifest(
    run_dir: str | Path, manifest: str | Path, out: str | Path, *, variant: str = "fused"
) -> Path:
    """Score every patient of ``manifest`` (the training columns; the label, split, mask and
    subgroup columns are optional) with the run's fitted preprocessing; writes a CSV and returns
    its path."""
    import pandas as pd

    from medfusion_core.data import PreparedData, TabularPreprocessor, clinical_present, load_manifest
    from medfusion_core.data.labels import EncodedLabels

    run = open_run(run_dir)
    if not run.paths.variant(variant).inference_checkpoint().is_file():
        raise DataError(
            f"{run.paths.variant(variant).root}: this variant was not trained; "
            "train it with 'medfusion train --modalities'"
        )
    manifest_path = Path(manifest).expanduser().resolve()
    if not manifest_path.is_file():
        raise DataError(f"{manifest_path}: manifest not found")
    data_config = attrs.evolve(
        run.config.data,
        manifest=str(manifest_path),
        split=None,
        mask=None,
        subgroups=[],
        label=run.config.data.patient_id,
    )
    config = attrs.evolve(run.config, data=data_config)
    table = load_manifest(data_config)
    tabular = TabularPreprocessor.from_json(run.preprocessing["tabular"])
    columns = [*data_config.numeric, *data_config.categorical]
    present = clinical_present(table.clinical, columns)
    clinical = tabular.transform(table.clinical)
    clinical[~present] = 0.0
    count = len(table)
    task = config.task.type
    labels = EncodedLabels(np.zeros(count, dtype=np.int64 if task == "multiclass" else np.float32), None)
    data = PreparedData(config, table, labels, np.array(["test"] * count), tabular, clinical, present)
    scores = score(load_variant(run, variant), data.loader("all", train=False), task)
    frame = pd.DataFrame({"patient_id": table.patients})
    classes = run.preprocessing.get("classes") or []
    if task == "binary":
        threshold = float(run.preprocessing.get("thresholds", {}).get(REPORT_LABELS[variant], 0.5))
        frame["probability"] = scores
        frame["predicted"] = [
            classes[int(s >= threshold)] if classes else int(s >= threshold) for s in scores
        ]
        frame["threshold"] = threshold
    elif task == "multiclass":
        for k, name in enumerate(classes):
            frame[f"probability_{name}"] = scores[:, k]
        frame["predicted"] = [classes[k] for k in scores.argmax(axis=1)]
    else:
        frame["prediction"] = scores
    out_path = Path(out).expanduser()
    runs.write_text(out_path, frame.to_csv(index=False))
    return out_path


def resolve_runs_dir(config: ExperimentConfig, runs_dir: str | Path | None) -> ExperimentConfig:
    """``config`` with ``runs_dir`` replaced (when given) and made absolute against the cwd."""
    chosen = Path(runs_dir if runs_dir is not None else config.runs_dir).expanduser()
    if not str(chosen):
        raise ConfigError("runs_dir: empty; give a folder such as 'runs'")
    return attrs.evolve(config, runs_dir=str(chosen.resolve()))


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
