"""A prepared dataset: manifest, encoded labels, patient-level splits and fitted clinical data."""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

from medfusion_core.config import ExperimentConfig
from medfusion_core.data.labels import EncodedLabels, encode_labels
from medfusion_core.data.manifest import Manifest, load_manifest
from medfusion_core.data.splits import SPLITS, assign_splits, strata_for
from medfusion_core.data.tabular import TabularPreprocessor, clinical_present
from medfusion_core.errors import DataError


@attrs.frozen
class PreparedData:
    """Everything the loaders need, indexed by patient (the manifest's order).

    Attributes:
        config: the experiment config.
        manifest: the validated manifest.
        labels: encoded labels (``labels.values[i]`` is patient ``i``'s label).
        splits: ``"train"``, ``"val"`` or ``"test"`` per patient.
        tabular: clinical preprocessing fitted on the training patients.
        clinical: float32 ``[N, F]`` preprocessed clinical vectors (zeros where absent).
        clinical_present: bool ``[N]``, whether a patient has any clinical value.
    """

    config: ExperimentConfig
    manifest: Manifest
    labels: EncodedLabels
    splits: np.ndarray
    tabular: TabularPreprocessor
    clinical: np.ndarray
    clinical_present: np.ndarray

    @property
    def num_outputs(self) -> int:
        """Model outputs: the number of classes for multiclass, else 1."""
        if self.config.task.type == "multiclass":
            return len(self.labels.classes or [])
        return 1

    @property
    def clinical_features(self) -> int:
        """Width of the clinical vector."""
        return self.clinical.shape[1]

    @property
    def image_present(self) -> np.ndarray:
        """bool ``[N]``: whether a patient has at least one view."""
        return np.array([len(v) > 0 for v in self.manifest.views], dtype=bool)

    def indices(self, split: str) -> np.ndarray:
        """Patient indices of ``split`` (``train``, ``val``, ``test`` or ``all``), in manifest order."""
        if split == "all":
            return np.arange(len(self.manifest))
        if split not in SPLITS:
            raise DataError(f"unknown split {split!r}; use train, val, test or all")
        return np.flatnonzero(self.splits == split)

    def loader(self, split: str, **options: Any):
        """A :class:`~medfusion_core.data.loader.BatchLoader` over ``split`` (options: ``train``,
        ``batch_size``, ``backend``, ``workers``, ``drop_last``, ``cache``)."""
        from medfusion_core.data.loader import BatchLoader

        return BatchLoader(self, split, **options)


def prepare_data(config: ExperimentConfig, *, tabular: TabularPreprocessor | None = None) -> PreparedData:
    """Load the manifest, encode labels, split patients and preprocess the clinical data.

    ``data.fold`` selects the validation fold when ``data.folds`` is set. ``tabular`` reuses a saved
    preprocessing (resume, evaluation) instead of fitting one on the training patients.
    """
    data = config.data
    manifest = load_manifest(data)
    labels = encode_labels(manifest.labels, config.task, manifest.path, data.label, manifest.rows)
    splits = assign_splits(
        strata_for(labels.values, config.task.type),
        val_fraction=data.val_fraction,
        test_fraction=data.test_fraction,
        seed=config.seed,
        given=manifest.splits,
        folds=data.folds,
        fold=data.fold,
    )
    if tabular is None:
        columns = [*data.numeric, *data.categorical]
        fit_rows = (splits == "train") & clinical_present(manifest.clinical, columns)
        if columns and not fit_rows.any():
            raise DataError(f"{manifest.path}: no training patient has clinical values; check data.numeric")
        tabular = TabularPreprocessor.fit(manifest.clinical[fit_rows], data.numeric, data.categorical)
    clinical, present = tabular.encode(manifest.clinical)
    return PreparedData(config, manifest, labels, splits, tabular, clinical, present)
