"""Load a trained run (``medfusion_core.runs`` layout) into what an export needs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from medfusion_core.errors import DataError, ExportError

if TYPE_CHECKING:
    import torch

    from medfusion_core.config import ExperimentConfig
    from medfusion_core.data import PreparedData
    from medfusion_core.model import MultimodalModel


@attrs.frozen
class LoadedRun:
    """A run's model variant with its weights, preprocessing and decision threshold.

    Attributes:
        root: the run folder.
        config: the run's config with ``model.modalities`` set to ``variant``.
        variant: ``fused``, ``image`` or ``clinical``.
        model: the model in eval mode with the inference weights (EMA when the run kept them).
        data: the prepared dataset (the saved tabular preprocessing, the run's splits).
        preprocessing: the run's ``preprocessing.json``.
        threshold: the decision threshold ``medfusion evaluate`` chose on validation for this
            variant (``thresholds`` of ``preprocessing.json``, keyed by the variant's folder name),
            or ``None`` before evaluation.
        checkpoint: the checkpoint file the weights came from.
    """

    root: Path
    config: ExperimentConfig
    variant: str
    model: MultimodalModel
    data: PreparedData
    preprocessing: dict[str, Any]
    threshold: float | None
    checkpoint: Path

    def held_out_batch(self, size: int) -> tuple[torch.Tensor, ...] | None:
        """Up to ``size`` test-split patients (validation when there is no test split) as the four
        model inputs, or ``None`` when both splits are empty."""
        split = "test" if len(self.data.indices("test")) else "val"
        if size < 1 or not len(self.data.indices(split)):
            return None
        loader = self.data.loader(split, batch_size=size, backend="threads", workers=1, cache=False)
        batch = next(iter(loader))
        return batch["images"], batch["view_mask"], batch["clinical"], batch["modality_mask"]

    def component_labels(self) -> dict[str, str]:
        """Sub-module paths of :class:`MultimodalModel` -> the names the config gives them."""
        model = self.config.model
        labels = {
            "image_encoder.backbone": f"backbone {model.backbone.name!r}",
            "image_encoder.aggregator": f"aggregator {model.aggregator.name!r}",
            "fusion": f"fusion {model.fusion.name!r}",
            "tabular": "the tabular encoder (model.tabular)",
            "head": "the head (model.head)",
        }
        if model.backbone.attention is not None:
            labels["image_encoder.attention"] = f"attention {model.backbone.attention.name!r}"
        return labels


#: Keys of the run's ``preprocessing.json`` (written by ``medfusion train``) an export reads.
RECORD_KEYS = ("tabular", "image", "classes")


def load_run(run_dir: str | Path, variant: str = "fused") -> LoadedRun:
    """Load ``variant`` of the run in ``run_dir``; errors name the missing or bad file."""
    from medfusion_core.config import load_config
    from medfusion_core.data import TabularPreprocessor, prepare_data
    from medfusion_core.model import build_model, with_modalities
    from medfusion_core.runs import VARIANT_DIRS, RunPaths, load_checkpoint, read_json

    paths = RunPaths(Path(run_dir))
    if not paths.config.is_file():
        raise ExportError(f"{paths.config}: not found; RUN must be a run folder written by 'medfusion train'")
    folder = paths.variant(variant)
    checkpoint = folder.inference_checkpoint()
    if not checkpoint.is_file():
        raise ExportError(
            f"{folder.root}: no checkpoint (checkpoints/best.pt or last.pt); the {variant!r} model of "
            f"this run was not trained: train it with 'medfusion train' or export another --variant"
        )
    config = with_modalities(load_config(paths.config, check=False), variant, rename=False)
    preprocessing = read_json(paths.preprocessing)
    missing = [key for key in RECORD_KEYS if key not in preprocessing]
    if missing:
        raise DataError(f"{paths.preprocessing}: no {missing[0]!r} entry; re-run 'medfusion train'")
    data = prepare_data(config, tabular=TabularPreprocessor.from_json(preprocessing["tabular"]))
    state = load_checkpoint(checkpoint)
    model = build_model(config, clinical_features=data.clinical_features, num_outputs=data.num_outputs)
    weights = state.get("ema") or state["model"]
    try:
        model.load_state_dict(weights)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise ExportError(f"{checkpoint}: weights do not fit the config's model ({first})") from None
    model.eval()
    threshold = (preprocessing.get("thresholds") or {}).get(VARIANT_DIRS[variant])
    return LoadedRun(paths.root, config, variant, model, data, preprocessing, threshold, checkpoint)
