"""Test helpers: tiny exported ONNX models of the demo data (untrained, seeded weights) and the
requests that describe the demo manifest's patients.

The artifacts are written by the export plugin's own ``export_model`` (verified against eager
PyTorch there), with the metadata ``medfusion export`` stores; no training is needed to test
serving.
"""

from __future__ import annotations

import base64
import csv
from pathlib import Path
from typing import Any

from medfusion_plugin_export.api import export_model
from medfusion_plugin_export.metadata import build_metadata
from medfusion_plugin_export.signature import InputSpec
from medfusion_plugin_pipeline.demo import demo_config, write_demo

from medfusion_core.data import prepare_data
from medfusion_core.testing import isolated_host, tiny_backbone
from medfusion_core.testing.runs import seeded_model, small_config

SIZE = 32


def build_artifacts(
    root: Path, seeds: tuple[int, ...], *, patients: int = 12, backbone: str = "tiny", size: int = SIZE
) -> tuple[Path, list[Path]]:
    """Demo data under ``root/data`` and one exported fused model per seed under
    ``root/export-<seed>/fused.onnx`` (``size`` px images, the tiny test backbone unless
    ``backbone`` names an installed one); returns ``(manifest, artifacts)``."""
    with isolated_host(autoload=True) as host:
        host.register(tiny_backbone, tiny_backbone.PLUGIN)
        data_dir = write_demo(root / "data", patients=patients, seed=3)
        config = small_config(
            demo_config(),
            manifest=data_dir / "manifest.csv",
            runs_dir=root / "runs",
            size=size,
            backbone=backbone,
        )
        data = prepare_data(config)
        classes = list(data.labels.classes or [])
        preprocessing = {
            "tabular": data.tabular.to_json(),
            "clinical_features": data.tabular.num_features,
            "image": {"max_views": data.manifest.max_views},
            "classes": classes,
        }
        spec = InputSpec(data.manifest.max_views, 1, (size, size), data.tabular.num_features)
        artifacts = []
        for seed in seeds:
            model = seeded_model(config, data, seed)
            metadata = build_metadata(
                config,
                fmt="onnx",
                variant="fused",
                num_outputs=data.num_outputs,
                preprocessing=preprocessing,
                threshold=0.5,
                classes=classes,
            )
            out = root / f"export-{seed}" / "fused.onnx"
            artifacts.append(
                export_model(model, out, fmt="onnx", metadata=metadata, input_spec=spec).artifact
            )
    return data_dir / "manifest.csv", artifacts


def manifest_patients(manifest: Path) -> list[dict[str, Any]]:
    """The manifest's patients as JSON batch-request entries (images base64, clinical typed)."""
    config = demo_config()["data"]
    patients = []
    with open(manifest, encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            images = {
                view: {"filename": Path(row[view]).name, "data": _b64(manifest.parent / row[view])}
                for view in config["images"]
                if row[view]
            }
            clinical: dict[str, Any] = {c: float(row[c]) if row[c] else None for c in config["numeric"]}
            clinical.update({c: row[c] or None for c in config["categorical"]})
            patients.append({"patient_id": row["patient_id"], "images": images, "clinical": clinical})
    return patients


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode("ascii")
