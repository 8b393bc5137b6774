"""The run directory: where one experiment's config, splits, preprocessing, checkpoints and report live.

Layout of ``<runs_dir>/<config.name>/`` (``runs_dir`` and ``name`` come from the config)::

    config.yaml            the resolved experiment config (absolute manifest path)
    splits.csv             patient_id,split  (train / val / test; one row per patient)
    preprocessing.json     fitted tabular preprocessing, image size/normalisation, task classes
                           and, after ``medfusion evaluate``, the decision threshold per variant
                           (``{"thresholds": {"fused": 0.42, ...}}``) chosen on validation data
    fused/                 one folder per trained model variant (see :data:`VARIANT_DIRS`):
      metrics.jsonl          one JSON object per line: {"event": "step"|"epoch"|"checkpoint"|"end", ...}
      summary.json           what the trainer returned (epochs, steps, best metric, stopped early)
      checkpoints/last.pt    latest state, written every ``checkpoint_every`` steps and each epoch
      checkpoints/best.pt    state at the best validation metric
    image-only/            same as fused/ for the image-only baseline
    clinical-only/         same as fused/ for the clinical-only baseline
    report/                written by ``medfusion evaluate``: report.md, report.html, metrics.json, *.png

Checkpoints are ``torch.save`` dicts of tensors and plain containers only, so that they load with
``torch.load(weights_only=True)``::

    {"format": 1, "model": state_dict, "ema": state_dict | None, "optimizer": state_dict,
     "schedule": {...}, "scaler": {...} | None, "rng": {"python": [...], "numpy": [...],
     "torch": uint8 tensor, "cuda": [uint8 tensor, ...]}, "position": {"epoch": int, "batch": int,
     "step": int}, "progress": {...}, "variant": "fused"}

``position`` is the next batch to train: ``batch == 0`` means epoch ``epoch`` starts afresh. Use
``"ema"`` (when present) for inference: it holds the averaged weights the trainer validated with.

Modules: :mod:`~medfusion_core.runs.layout` (paths, file names, splits) and
:mod:`~medfusion_core.runs.io` (atomic writes, JSON, checkpoints), both re-exported here, and
:mod:`~medfusion_core.runs.loading` (reading a trained run back into models; it builds models, so
it is imported on its own). Nothing here imports torch at import time.
"""

from __future__ import annotations

from medfusion_core.runs.io import (
    CHECKPOINT_FORMAT,
    append_jsonl,
    atomic_write,
    load_checkpoint,
    read_json,
    read_jsonl,
    replace_with_copy_of,
    save_checkpoint,
    set_aside_until_success,
    truncate_jsonl,
    write_json,
    write_text,
)
from medfusion_core.runs.layout import (
    CONFIG_FILE,
    METRICS_FILE,
    PREPROCESSING_FILE,
    REPORT_DIR,
    SPLITS_FILE,
    SUMMARY_FILE,
    VARIANT_DIRS,
    RunPaths,
    VariantPaths,
    read_splits,
    write_splits,
)

__all__ = [
    "CHECKPOINT_FORMAT",
    "CONFIG_FILE",
    "METRICS_FILE",
    "PREPROCESSING_FILE",
    "REPORT_DIR",
    "SPLITS_FILE",
    "SUMMARY_FILE",
    "VARIANT_DIRS",
    "RunPaths",
    "VariantPaths",
    "append_jsonl",
    "atomic_write",
    "load_checkpoint",
    "read_json",
    "read_jsonl",
    "read_splits",
    "replace_with_copy_of",
    "save_checkpoint",
    "set_aside_until_success",
    "truncate_jsonl",
    "write_json",
    "write_splits",
    "write_text",
]
