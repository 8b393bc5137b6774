"""Scoring a new manifest with a trained run's fitted preprocessing (``medfusion predict``)."""

from __future__ import annotations

from pathlib import Path

import attrs
import click
import numpy as np

from medfusion_core import runs
from medfusion_core.errors import DataError
from medfusion_core.runs.loading import load_variant, open_run, score


def predict_manifest(
    run_dir: str | Path, manifest: str | Path, out: str | Path, *, variant: str = "fused"
) -> Path:
    """Score every patient of ``manifest`` (the training columns; the label, split, mask and
    subgroup columns are optional) with the run's fitted preprocessing; writes a CSV and returns
    its path."""
    import pandas as pd

    from medfusion_core.data import PreparedData, clinical_present, load_manifest
    from medfusion_core.data.labels import EncodedLabels

    run = open_run(run_dir)
    run.checkpoint(variant)  # a one-line error when the variant was not trained
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
    tabular = run.tabular()
    for column, values in tabular.unseen_categories(table.clinical).items():
        listed = ", ".join(f"{value!r} ({count})" for value, count in list(values.items())[:5])
        click.echo(
            f"warning: {manifest_path}: column {column!r}: {sum(values.values())} patient(s) with "
            f"categories never seen in training: {listed}; they are encoded as missing (all zeros)",
            err=True,
        )
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
        saved = run.threshold(variant)
        threshold = 0.5 if saved is None else float(saved)
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
