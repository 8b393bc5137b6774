"""A synthetic multimodal dataset for the quickstart (``medfusion demo-data DIR``).

Each patient has two hidden risk factors: an image latent ``zi`` and a clinical latent ``zc``
(independent standard normals). The label is ``Bernoulli(sigmoid(2 zi + 2 zc))``, so each
modality alone explains part of the risk and a fused model does best.

* Images: 0-2 views of 64x64 8-bit grayscale PNG: a smooth noisy background plus a bright blob
  whose radius and contrast grow with ``zi``; each view has a lesion-mask PNG (0/255).
  About 25% of patients have one view and 5% have none.
* Clinical: ``age`` and ``lab`` rise with ``zc``; ``lab`` is missing for ~10% of patients;
  ``sex`` is noise; ~4% of patients have no clinical values at all. ``site`` is a subgroup.

Files: ``manifest.csv``, ``images/``, ``masks/`` and ``config.yaml`` (a ready experiment).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from PIL import Image

from medfusion_core.config import EvaluationConfig
from medfusion_core.errors import DataError

SIZE = 64


def _sigmoid(x: np.ndarray | float) -> np.ndarray | float:
    return 1.0 / (1.0 + np.exp(-x))


def _background(rng: np.random.Generator) -> np.ndarray:
    """Smooth random texture (an upsampled 8x8 grid) plus pixel noise, float in grey levels."""
    coarse = rng.normal(0.0, 12.0, (8, 8)).astype(np.float32)
    smooth = np.asarray(Image.fromarray(coarse, mode="F").resize((SIZE, SIZE), Image.BICUBIC))
    return 70.0 + smooth + rng.normal(0.0, 6.0, (SIZE, SIZE))


def lesion_view(zi: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One view: uint8 image and uint8 mask (0/255) of a blob driven by the image latent ``zi``."""
    radius = 4.0 + 3.0 * float(_sigmoid(1.5 * zi)) * 2.0
    contrast = 20.0 + 160.0 * float(_sigmoid(2.0 * zi))
    cy, cx = rng.uniform(radius + 4, SIZE - radius - 4, 2)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2.0 * radius**2))
    image = np.clip(_background(rng) + contrast * blob, 0, 255).round().astype(np.uint8)
    mask = np.where(blob > 0.5, 255, 0).astype(np.uint8)
    return image, mask


def _views_count(rng: np.random.Generator) -> int:
    u = rng.random()
    return 0 if u < 0.05 else 1 if u < 0.30 else 2


def write_demo(directory: str | Path, *, patients: int = 500, seed: int = 0, force: bool = False) -> Path:
    """Write the demo dataset into ``directory`` (atomically: built in a temporary sibling folder
    and renamed). A non-empty ``directory`` is refused unless ``force``. Returns the folder."""
    target = Path(directory).expanduser().resolve()
    if patients < 10:
        raise DataError(f"--patients {patients}: the demo needs at least 10 patients")
    if target.exists() and (not target.is_dir() or any(target.iterdir())) and not force:
        raise DataError(f"{target}: exists and is not empty; choose another folder or pass --force")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        _write_files(staging, patients, seed)
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}-old-", dir=target.parent))
            os.replace(target, old / "data")
            os.replace(staging, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _write_files(folder: Path, patients: int, seed: int) -> None:
    """Images, masks, manifest and config into ``folder``."""
    rng = np.random.default_rng(seed)
    (folder / "images").mkdir()
    (folder / "masks").mkdir()
    rows = []
    for p in range(patients):
        pid = f"P{p:04d}"
        zi, zc = rng.normal(size=2)
        label = int(rng.random() < _sigmoid(2.0 * zi + 2.0 * zc))
        views, masks = ["", ""], ["", ""]
        for v in range(_views_count(rng)):
            image, mask = lesion_view(float(zi), rng)
            views[v], masks[v] = f"images/{pid}_v{v + 1}.png", f"masks/{pid}_v{v + 1}.png"
            Image.fromarray(image).save(folder / views[v])
            Image.fromarray(mask).save(folder / masks[v])
        no_clinical = rng.random() < 0.04
        age = round(float(60.0 + 8.0 * zc + rng.normal(0.0, 10.0)), 1)
        lab = round(float(1.0 + 0.5 * zc + rng.normal(0.0, 0.6)), 3)
        lab_missing = rng.random() < 0.10
        sex = "F" if rng.random() < 0.5 else "M"
        rows.append(
            {
                "patient_id": pid,
                "view1": views[0],
                "view2": views[1],
                "lesion_mask": ";".join(masks) if any(masks) else "",
                "age": None if no_clinical else age,
                "sex": None if no_clinical else sex,
                "lab": None if no_clinical or lab_missing else lab,
                "site": "A" if rng.random() < 0.6 else "B",
                "label": label,
            }
        )
    pd.DataFrame(rows).to_csv(folder / "manifest.csv", index=False)
    (folder / "config.yaml").write_text(yaml.safe_dump(demo_config(), sort_keys=False), encoding="utf-8")


def demo_config() -> dict:
    """The experiment config written next to the demo data (paths relative to it)."""
    return {
        "name": "demo",
        "seed": 0,
        "data": {
            "manifest": "manifest.csv",
            "patient_id": "patient_id",
            "images": ["view1", "view2"],
            "numeric": ["age", "lab"],
            "categorical": ["sex"],
            "label": "label",
            "mask": "lesion_mask",
            "subgroups": ["site", "sex"],
            "val_fraction": 0.2,
            "test_fraction": 0.2,
            "image": {
                "size": [SIZE, SIZE],
                "channels": 1,
                "mean": [0.4],
                "std": [0.2],
                "augment": {"flip": True, "rotate_degrees": 10.0},
            },
            "loader": {"backend": "auto", "batch_size": 8, "workers": 2},
        },
        "task": {"type": "binary"},
        "model": {
            "modalities": "fused",
            "backbone": {"name": "regnetx_002"},
            "aggregator": {"name": "mean"},
            "tabular": {"hidden": [32], "dropout": 0.1},
            "fusion": {"name": "gated", "params": {"hidden": 16}},
        },
        "trainer": {"name": "default", "params": {"epochs": 10, "lr": 0.002, "weight_decay": 0.01}},
        "evaluation": {"bootstrap": EvaluationConfig().bootstrap},  # the default: 2000 resamples
        "runs_dir": "runs",
    }
