"""What the report says about the data of a run: the cohort per split and its missing data.

Read from the run's config (the manifest) and ``splits.csv``; ``None`` when the report is written
without a run.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import attrs
import numpy as np

from medfusion_core.kinds.report import ReportContext

SPLITS = ("train", "val", "test")


@attrs.frozen
class Cohort:
    """Per-patient facts of a run's manifest, by split."""

    patients: dict[str, int]
    views: dict[str, int]
    classes: dict[str, dict[str, int]]
    without_images: dict[str, int]
    missing: dict[str, dict[str, int]]
    complete: dict[str, bool]
    how_split: str


def load_cohort(context: ReportContext) -> Cohort | None:
    """The cohort of the run behind ``context``, or ``None`` without a run."""
    if context.run_dir is None or context.config is None:
        return None
    from medfusion_core import runs
    from medfusion_core.data import load_manifest

    config = context.config
    manifest = load_manifest(config.data)
    assigned = runs.read_splits(context.run_dir / runs.SPLITS_FILE)
    split_of = [assigned.get(patient, "") for patient in manifest.patients]
    columns = [*config.data.numeric, *config.data.categorical]
    frame = manifest.clinical
    missing_cells = frame[columns].isna().to_numpy() if columns else np.zeros((len(manifest), 0), bool)
    result: dict[str, Any] = {
        key: {} for key in ("patients", "views", "classes", "without_images", "missing")
    }
    complete: dict[str, bool] = {}
    for index, patient in enumerate(manifest.patients):
        complete[patient] = not missing_cells[index].any() and bool(manifest.views[index])
    for split in SPLITS:
        rows = [i for i, name in enumerate(split_of) if name == split]
        result["patients"][split] = len(rows)
        result["views"][split] = sum(len(manifest.views[i]) for i in rows)
        result["classes"][split] = dict(sorted(Counter(str(manifest.labels[i]) for i in rows).items()))
        result["without_images"][split] = sum(1 for i in rows if not manifest.views[i])
        result["missing"][split] = {
            column: int(missing_cells[rows, position].sum()) for position, column in enumerate(columns)
        }
    data = config.data
    if data.split:
        how = f"as given in the manifest's column {data.split!r}"
    elif data.folds:
        how = f"{data.folds}-fold stratified cross-validation (fold {data.fold or 0} is validation)"
    else:
        how = (
            f"random, stratified by label, at the patient level (validation {data.val_fraction:g}, "
            f"test {data.test_fraction:g}, seed {config.seed})"
        )
    how += "; every patient, with all of its views, is in exactly one split (patient-level splits)"
    return Cohort(complete=complete, how_split=how, **result)
