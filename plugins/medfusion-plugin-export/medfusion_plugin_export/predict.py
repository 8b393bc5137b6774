"""``medfusion predict --model ARTIFACT.onnx MANIFEST``: ONNX Runtime inference with MedFusion's
own data path (readers for every format, the ``preprocess_into`` kernel, the saved tabular
preprocessing), reconstructed from the artifact's metadata.

The standalone runner (:mod:`medfusion_plugin_export.standalone`) does the same without MedFusion;
both write the same prediction columns (:func:`~medfusion_plugin_export.standalone.prediction_columns`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from medfusion_core.errors import DataError, ExportError
from medfusion_plugin_export.standalone import (
    StandaloneError,
    open_session,
    prediction_columns,
    read_metadata,
    write_predictions,
)

if TYPE_CHECKING:
    from medfusion_core.config import ExperimentConfig
    from medfusion_core.data import Manifest

BATCH_SIZE = 16


def inference_config(metadata: dict[str, Any], manifest: Path) -> ExperimentConfig:
    """An experiment config that reads ``manifest`` with the artifact's columns and image settings,
    without augmentation. The label column is not needed: the patient id stands in for it."""
    from medfusion_core.config import structure_config

    columns, image = metadata["columns"], metadata["image"]
    data = {
        "manifest": str(manifest),
        "patient_id": columns["patient_id"],
        "images": columns["images"],
        "numeric": columns["numeric"],
        "categorical": columns["categorical"],
        "label": columns["patient_id"],
        "image": {
            "size": image["size"],
            "channels": image["channels"],
            "window": image["window"],
            "mean": image["mean"],
            "std": image["std"],
            "augment": {"flip": False},
        },
    }
    return structure_config({"name": metadata.get("name", "export"), "data": data}, str(manifest))


def prepare_inputs(
    metadata: dict[str, Any], config: ExperimentConfig, manifest: Manifest
) -> list[tuple[list[int], tuple[np.ndarray, ...]]]:
    """``(patient indices, (images, view_mask, clinical, modality_mask))`` per batch."""
    from medfusion_core.data import TabularPreprocessor, clinical_present
    from medfusion_core.data.samples import ImageCache, SampleWriter

    views = int(metadata["inputs"]["views"])
    if manifest.max_views > views:
        index = next(i for i, v in enumerate(manifest.views) if len(v) > views)
        raise DataError(
            f"{manifest.path}: row {manifest.rows[index]}: patient {manifest.patients[index]!r} has "
            f"{len(manifest.views[index])} views; the exported model takes at most {views}"
        )
    tabular = TabularPreprocessor.from_json(metadata["preprocessing"]["tabular"])
    columns = [*config.data.numeric, *config.data.categorical]
    present = clinical_present(manifest.clinical, columns)
    clinical = tabular.transform(manifest.clinical)
    clinical[~present] = 0.0
    writer = SampleWriter(config, manifest, ImageCache(0))
    batches = []
    for start in range(0, len(manifest), BATCH_SIZE):
        indices = list(range(start, min(start + BATCH_SIZE, len(manifest))))
        images = np.zeros((len(indices), views, *writer.view_shape), dtype=np.float32)
        writer.write_batch(indices, 0, False, images, None)
        view_mask = np.zeros((len(indices), views), dtype=bool)
        for row, index in enumerate(indices):
            view_mask[row, : len(manifest.views[index])] = True
        modality_mask = np.stack([view_mask.any(axis=1), present[indices]], axis=1)
        batches.append((indices, (images, view_mask, clinical[indices], modality_mask)))
    return batches


def predict_with_artifact(
    artifact: str | Path, manifest: str | Path, out: str | Path | None = None
) -> list[dict[str, Any]]:
    """Score every patient of ``manifest`` with the ONNX ``artifact`` (its sidecar JSON or embedded
    metadata gives the preprocessing); returns one dict per patient (``patient_id`` then the
    prediction columns) and writes them as CSV to ``out`` when given."""
    from medfusion_core.data import load_manifest

    artifact, manifest = Path(artifact), Path(manifest)
    if artifact.suffix != ".onnx":
        raise ExportError(f"{artifact}: 'predict --model' runs ONNX artifacts; export with --format onnx")
    try:
        session = open_session(artifact)
        metadata = read_metadata(artifact, session)
    except StandaloneError as exc:
        raise ExportError(str(exc)) from None
    config = inference_config(metadata, manifest)
    table = load_manifest(config.data)
    names = metadata["inputs"]["names"]
    results: list[dict[str, Any]] = []
    for indices, arrays in prepare_inputs(metadata, config, table):
        logits = session.run(None, dict(zip(names, arrays, strict=True)))[0]
        for index, row in zip(indices, prediction_columns(logits, metadata["task"]), strict=True):
            results.append({"patient_id": table.patients[index], **row})
    if out is not None:
        write_predictions(results, Path(out))
    return results
