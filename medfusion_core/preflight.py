"""Everything ``medfusion train`` checks before it writes a run folder or takes a step, in one place,
so that ``medfusion validate`` refuses exactly what ``train`` refuses.

:func:`prepare_training` reads and validates the manifest (columns, labels, splits), fits the
clinical preprocessing, decodes every file of every split (:mod:`medfusion_core.data.checks`),
refuses a training split too small to train, builds every requested variant's model and creates
its trainer (whose parameter ranges are checked then). Nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import attrs

from medfusion_core.config import ExperimentConfig
from medfusion_core.data import PreparedData, TabularPreprocessor, prepare_data
from medfusion_core.data.checks import check_files, raise_for_problems
from medfusion_core.errors import DataError


@attrs.frozen
class PreparedTraining:
    """The prepared data, each variant's model and trainer (seeded as training builds them), and
    notes worth printing (e.g. a training split smaller than one batch)."""

    data: PreparedData
    models: dict[str, Any]
    trainers: dict[str, Any]
    notes: list[str]


def check_training_split(data: PreparedData) -> list[str]:
    """Raise :class:`DataError` when the training split cannot train (fewer than 2 patients: a
    batch of one breaks BatchNorm); a note when it is smaller than one batch."""
    count, batch = len(data.indices("train")), data.config.data.loader.batch_size
    where = data.manifest.path
    if count < 2:
        raise DataError(
            f"{where}: the training split has {count} patient(s); training needs at least 2 "
            "(BatchNorm cannot train on a batch of one); add patients or lower data.val_fraction / "
            "data.test_fraction"
        )
    if count < batch:
        return [
            f"note: the training split has {count} patients, fewer than data.loader.batch_size "
            f"{batch}: each epoch is one batch of {count}"
        ]
    return []


def prepare_training(
    config: ExperimentConfig,
    variants: Sequence[str],
    *,
    tabular: TabularPreprocessor | None = None,
    check_data: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> PreparedTraining:
    """Prepare ``config`` for training ``variants`` (``fused``, ``image``, ``clinical``) and
    check everything that can fail on user input; raises :class:`~medfusion_core.errors.ConfigError`
    or :class:`DataError` (every file problem at once) before anything is written."""
    import torch

    from medfusion_core.model import build_model, with_modalities
    from medfusion_core.registry import get_registry

    data = prepare_data(config, tabular=tabular)
    notes = check_training_split(data)
    if check_data and any(variant != "clinical" for variant in variants):
        problems = check_files(
            data.manifest,
            config.data.image,
            config.data.mask,
            splits=list(data.splits),
            progress=progress,
        )
        raise_for_problems(data.manifest, problems)
    models, trainers = {}, {}
    for variant in variants:
        torch.manual_seed(config.seed)
        variant_config = with_modalities(config, variant, rename=False)
        models[variant] = build_model(
            variant_config, clinical_features=data.clinical_features, num_outputs=data.num_outputs
        )
        trainers[variant] = get_registry().create("trainer", config.trainer.name, **config.trainer.params)
    return PreparedTraining(data, models, trainers, notes)
