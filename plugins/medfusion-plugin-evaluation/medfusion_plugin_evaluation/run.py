"""Evaluate a trained run: score validation and test with every trained variant, write the report
into ``RUN/report/`` and save each variant's chosen threshold into the run's preprocessing.json."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from medfusion_core import runs
from medfusion_core.errors import DataError
from medfusion_core.runs.loading import LoadedRun, load_variant, open_run, score


def evaluate_run(run_dir: str | Path) -> Path:
    """Score validation and test with every trained variant, write the report, save the chosen
    thresholds into preprocessing.json; returns the path of report.html."""
    from medfusion_core.data import TabularPreprocessor, prepare_data
    from medfusion_plugin_evaluation.api import (
        ModelPredictions,
        SplitPredictions,
        report_options,
        write_report,
    )

    run = open_run(run_dir)
    trained = run.paths.trained_variants()
    if not trained:
        raise DataError(f"{run.paths.root}: no trained model in this run; run 'medfusion train' first")
    data = prepare_data(run.config, tabular=TabularPreprocessor.from_json(run.preprocessing["tabular"]))
    saved_splits = runs.read_splits(run.paths.splits)
    if dict(zip(data.manifest.patients, data.splits.tolist(), strict=True)) != saved_splits:
        raise DataError(
            f"{run.paths.splits}: the manifest no longer gives the run's splits (was it edited?); retrain"
        )
    task = run.config.task.type
    subgroups = run.config.data.subgroups

    def predictions(model: Any, split: str) -> SplitPredictions | None:
        indices = data.indices(split)
        if not len(indices):
            return None
        groups = {name: data.manifest.subgroups[name].to_numpy()[indices] for name in subgroups}
        return SplitPredictions(
            y_true=data.labels.values[indices],
            scores=score(model, data.loader(split, train=False), task),
            subgroups=groups,
            patient_ids=[data.manifest.patients[i] for i in indices],
        )

    models, history = {}, {}
    for variant in trained:
        model = load_variant(run, variant.modalities)
        test = predictions(model, "test")
        if test is None:
            raise DataError(
                f"{run.config.data.manifest}: the test split is empty; set data.test_fraction > 0"
            )
        label = runs.VARIANT_DIRS[variant.modalities]
        models[label] = ModelPredictions(test=test, validation=predictions(model, "val"))
        history[label] = [
            _history_record(r) for r in runs.read_jsonl(variant.metrics) if r.get("event") == "epoch"
        ]
    files = write_report(
        run.paths.report,
        models,
        **report_options(run.config),
        training_history=history,
        run_dir=run.paths.root,
        config=run.config,
    )
    _save_thresholds(run, files.metrics)
    return files.html


def _history_record(record: dict[str, Any]) -> dict[str, Any]:
    """The per-epoch series worth plotting (losses and validation metrics)."""
    keep = ("event", "epoch_index")
    return {k: v for k, v in record.items() if k in keep or k.startswith(("train_", "val_"))}


def _save_thresholds(run: LoadedRun, metrics: dict[str, Any]) -> None:
    thresholds = {
        label: model["threshold"]["value"]
        for label, model in metrics["models"].items()
        if isinstance(model.get("threshold"), dict)
    }
    if thresholds:
        runs.write_json(run.paths.preprocessing, {**run.preprocessing, "thresholds": thresholds})
