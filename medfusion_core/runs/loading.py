"""Reading a trained run back: the one :class:`LoadedRun`, its variants' models and their scores.

Used by every command that consumes a run (``evaluate``, ``predict``, ``export``)::

    run = open_run("runs/demo")
    model = load_variant(run, "fused")            # eval mode, inference weights
    data = run.prepare_data("fused")              # the saved tabular preprocessing, the run's splits
    probabilities = score(model, data.loader("test", train=False), run.config.task.type)
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from medfusion_core.config import ExperimentConfig, load_config
from medfusion_core.errors import CheckpointError, DataError
from medfusion_core.runs.io import load_checkpoint, read_json
from medfusion_core.runs.layout import VARIANT_DIRS, RunPaths

if TYPE_CHECKING:
    import numpy as np

    from medfusion_core.data import PreparedData, TabularPreprocessor
    from medfusion_core.model import MultimodalModel


@attrs.frozen
class LoadedRun:
    """A trained run read back from disk.

    Attributes:
        paths: the run folder's paths.
        config: the run's config (``model.modalities`` as saved; see :meth:`variant_config`).
        preprocessing: the run's ``preprocessing.json``.
    """

    paths: RunPaths
    config: ExperimentConfig
    preprocessing: dict[str, Any]

    @property
    def root(self) -> Path:
        """The run folder."""
        return self.paths.root

    def variant_config(self, variant: str) -> ExperimentConfig:
        """The run's config with ``model.modalities`` set to ``variant`` (name unchanged)."""
        from medfusion_core.model import with_modalities

        return with_modalities(self.config, variant, rename=False)

    def tabular(self) -> TabularPreprocessor:
        """The tabular preprocessing fitted at training time."""
        from medfusion_core.data import TabularPreprocessor

        return TabularPreprocessor.from_json(self.preprocessing["tabular"])

    def prepare_data(self, variant: str | None = None) -> PreparedData:
        """The run's dataset with the saved tabular preprocessing (for ``variant``'s config when
        given, else the run's config as saved)."""
        from medfusion_core.data import prepare_data

        config = self.config if variant is None else self.variant_config(variant)
        return prepare_data(config, tabular=self.tabular())

    def threshold(self, variant: str) -> float | None:
        """The decision threshold ``medfusion evaluate`` chose on validation for ``variant``
        (``thresholds`` of ``preprocessing.json``, keyed by the variant's folder name), or
        ``None`` before evaluation."""
        return (self.preprocessing.get("thresholds") or {}).get(VARIANT_DIRS[variant])

    def checkpoint(self, variant: str) -> Path:
        """The checkpoint ``variant`` scores with (best, else last); raises :class:`DataError`
        naming the variant's folder when it was not trained."""
        folder = self.paths.variant(variant)
        checkpoint = folder.inference_checkpoint()
        if not checkpoint.is_file():
            raise DataError(
                f"{folder.root}: no checkpoint (checkpoints/best.pt or last.pt); this variant was not "
                "trained: train it with 'medfusion train --modalities'"
            )
        return checkpoint


def open_run(run_dir: str | Path, *, check: bool = True) -> LoadedRun:
    """Read a run folder's config and preprocessing; raises a one-line error if it is not a run.

    With ``check`` the config's components are checked against the installed plugins."""
    paths = RunPaths(Path(run_dir).expanduser().resolve())
    if not paths.config.is_file():
        raise DataError(
            f"{paths.root}: not a MedFusion run (no config.yaml); train one with 'medfusion train'"
        )
    config = load_config(paths.config, check=check)
    return LoadedRun(paths, config, read_json(paths.preprocessing))


def load_variant(run: LoadedRun, variant: str) -> MultimodalModel:
    """The trained model of ``variant`` in eval mode (EMA weights when the trainer kept them)."""
    from medfusion_core.model import build_model

    checkpoint = run.checkpoint(variant)
    state = load_checkpoint(checkpoint)
    model = build_model(
        run.variant_config(variant),
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

    from medfusion_core.model import MODEL_INPUTS

    outputs = []
    with torch.no_grad():
        for batch in loader.iter_batches(0):
            outputs.append(model(*(batch[key] for key in MODEL_INPUTS)).float())
    logits = torch.cat(outputs)
    if task == "binary":
        return torch.sigmoid(logits[:, 0]).double().numpy()
    if task == "multiclass":
        return torch.softmax(logits, dim=1).double().numpy()
    return logits[:, 0].double().numpy()
