"""One model variant of a trained run (read with :mod:`medfusion_core.runs.loading`), as an export
needs it: the model, the prepared data for held-out batches, the threshold and the checkpoint."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from medfusion_core.errors import DataError
from medfusion_core.runs.loading import LoadedRun, load_variant, open_run

if TYPE_CHECKING:
    import torch

    from medfusion_core.config import ExperimentConfig
    from medfusion_core.data import PreparedData
    from medfusion_core.model import MultimodalModel

#: Keys of the run's ``preprocessing.json`` (written by ``medfusion train``) an export reads.
RECORD_KEYS = ("tabular", "image", "classes")


@attrs.frozen
class RunVariant:
    """A run's model variant with its weights, prepared data and decision threshold.

    Attributes:
        run: the run as :func:`~medfusion_core.runs.loading.open_run` reads it.
        variant: ``fused``, ``image`` or ``clinical``.
        model: the model in eval mode with the inference weights (EMA when the run kept them).
        data: the prepared dataset (the saved tabular preprocessing, the run's splits).
    """

    run: LoadedRun
    variant: str
    model: MultimodalModel
    data: PreparedData

    @property
    def root(self) -> Path:
        """The run folder."""
        return self.run.root

    @property
    def config(self) -> ExperimentConfig:
        """The run's config with ``model.modalities`` set to the variant."""
        return self.run.variant_config(self.variant)

    @property
    def preprocessing(self) -> dict[str, Any]:
        """The run's ``preprocessing.json``."""
        return self.run.preprocessing

    @property
    def threshold(self) -> float | None:
        """The variant's validation threshold, or ``None`` before ``medfusion evaluate``."""
        return self.run.threshold(self.variant)

    @property
    def checkpoint(self) -> Path:
        """The checkpoint file the weights came from."""
        return self.run.checkpoint(self.variant)

    def held_out_batch(self, size: int) -> tuple[torch.Tensor, ...] | None:
        """Up to ``size`` test-split patients (validation when there is no test split) as the
        model inputs, or ``None`` when both splits are empty."""
        from medfusion_core.model import MODEL_INPUTS

        split = "test" if len(self.data.indices("test")) else "val"
        if size < 1 or not len(self.data.indices(split)):
            return None
        loader = self.data.loader(split, batch_size=size, backend="threads", workers=1, cache=False)
        batch = next(iter(loader))
        return tuple(batch[key] for key in MODEL_INPUTS)

    def component_labels(self) -> dict[str, str]:
        """Sub-module paths of the model -> the names the config gives them."""
        return self.model.component_labels(self.config)


def load_run(run_dir: str | Path, variant: str = "fused") -> RunVariant:
    """Load ``variant`` of the run in ``run_dir``; errors name the missing or bad file."""
    run = open_run(run_dir, check=False)
    run.checkpoint(variant)  # a one-line error naming the variant's folder when it is not trained
    missing = [key for key in RECORD_KEYS if key not in run.preprocessing]
    if missing:
        raise DataError(f"{run.paths.preprocessing}: no {missing[0]!r} entry; re-run 'medfusion train'")
    return RunVariant(run, variant, load_variant(run, variant), run.prepare_data(variant))
