"""What an artifact carries besides its weights, and where: the sidecar JSON and embedded copies.

The metadata is one JSON object (schema :data:`SCHEMA`)::

    {"schema": 1, "name": ..., "variant": "fused",
     "task": {"type", "classes", "num_outputs", "threshold"},
     "image": {"size", "channels", "window", "mean", "std"},
     "columns": {"patient_id", "images", "numeric", "categorical", "label"},
     "preprocessing": <the run's preprocessing.json: fitted tabular parameters ...>,
     "model_card": {"medfusion_core_version", "plugin_versions", "config_hash", "export_date",
                    "format", "components"},
     "inputs": {"names", "outputs", "views", "channels", "size", "clinical_features"},
     "verification": {"max_abs_diff", "n_samples", ...}}      # sidecar only

It is written to ``<artifact>.json`` and embedded in the artifact (ONNX ``metadata_props``, one
``medfusion.<key>`` entry per top-level key; an extra file ``medfusion.json`` in .pt2 and
TorchScript archives). This module imports neither torch nor onnx.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from medfusion_core.errors import ExportError

SCHEMA = 1
SIDECAR_SUFFIX = ".json"


def sidecar_path(artifact: str | Path) -> Path:
    """``model.onnx`` -> ``model.onnx.json``."""
    artifact = Path(artifact)
    return artifact.with_name(artifact.name + SIDECAR_SUFFIX)


def write_sidecar(path: Path, metadata: Mapping[str, Any]) -> Path:
    """Atomically write the sidecar JSON (indented, sorted keys)."""
    from medfusion_core.runs import write_json

    return write_json(path, dict(metadata))


def read_sidecar(artifact: str | Path) -> dict[str, Any]:
    """The metadata of ``artifact`` from its sidecar JSON; raises :class:`ExportError` naming the
    file when it is missing or unreadable."""
    path = sidecar_path(artifact)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ExportError(
            f"{path}: sidecar JSON not found; keep it beside the artifact or re-export"
        ) from None
    except (OSError, ValueError) as exc:
        raise ExportError(f"{path}: unreadable sidecar JSON ({exc}); re-export the model") from None


def config_hash(config_data: Mapping[str, Any]) -> str:
    """sha256 of the resolved config as canonical JSON (sorted keys, no whitespace)."""
    text = json.dumps(config_data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def installed_versions() -> tuple[str, dict[str, str]]:
    """``(medfusion-core version, {plugin: version})`` of the plugins loaded by the current host."""
    from medfusion_core import __version__
    from medfusion_core.host import CORE_PLUGIN_NAME, get_host

    plugins = {
        record.name: _distribution_version(record.name, record.version)
        for record in get_host().records()
        if record.status == "ok" and record.name != CORE_PLUGIN_NAME
    }
    return __version__, dict(sorted(plugins.items()))


def _distribution_version(name: str, fallback: str) -> str:
    """The installed distribution's version (plugins registered by hand report a placeholder)."""
    import importlib.metadata as md

    try:
        return md.version(name)
    except md.PackageNotFoundError:
        return fallback


def model_card(config_data: Mapping[str, Any], fmt: str, components: Mapping[str, str]) -> dict[str, Any]:
    """Provenance: versions, config hash, export date (UTC, ISO 8601), format and components."""
    core, plugins = installed_versions()
    return {
        "medfusion_core_version": core,
        "plugin_versions": plugins,
        "config_hash": config_hash(config_data),
        "export_date": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "format": fmt,
        "components": dict(components),
    }


def build_metadata(
    config: Any,
    *,
    fmt: str,
    variant: str,
    num_outputs: int,
    preprocessing: Mapping[str, Any],
    threshold: float | None,
    classes: list[str] | None = None,
) -> dict[str, Any]:
    """The artifact metadata (without ``inputs`` and ``verification``, which the export adds)
    for an :class:`~medfusion_core.config.ExperimentConfig` and the run's fitted preprocessing;
    ``classes`` are the label classes seen in the data (default: ``task.classes``)."""
    from medfusion_core.config import config_to_dict

    data, image, model = config.data, config.data.image, config.model
    components = {"modalities": variant}
    if variant != "clinical":
        components.update(backbone=model.backbone.name, aggregator=model.aggregator.name)
    if variant == "fused":
        components["fusion"] = model.fusion.name
    return {
        "schema": SCHEMA,
        "name": config.name,
        "variant": variant,
        "task": {
            "type": config.task.type,
            "classes": list(classes or config.task.classes or []) or None,
            "num_outputs": num_outputs,
            "threshold": threshold,
        },
        "image": {
            "size": list(image.size),
            "channels": image.channels,
            "window": list(image.window) if image.window is not None else None,
            "mean": list(image.mean),
            "std": list(image.std),
        },
        "columns": {
            "patient_id": data.patient_id,
            "images": list(data.images),
            "numeric": list(data.numeric),
            "categorical": list(data.categorical),
            "label": data.label,
        },
        "preprocessing": dict(preprocessing),
        "model_card": model_card(config_to_dict(config), fmt, components),
    }
