"""One training epoch of the quickstart data path: read + augment + preprocess + batch.

Contenders, measured in this run on the training split of the demo dataset
(``medfusion_plugin_pipeline.demo``: 500 patients, 300 of them in ``train``, 0-2 views of 64x64 8-bit PNG,
each with a lesion-mask PNG; the demo config's batch size, 8):

- MedFusion: ``BatchLoader(backend="threads", workers=2, cache=False)`` whose kernels are the
  native plugin's (checked with ``backend_report``): files decoded every epoch. Per batch the
  augmentation (flip, rotation) is sampled in Python and one ``fill_views`` call decodes the
  PNGs in Rust and writes every view and mask, preprocessed, rotated and jittered, straight
  into the preallocated batch arrays, in parallel over views on a native pool limited to 2
  threads (``set_threads(2)``, matching the baseline's 2 worker processes), up to 2 batches ahead;
- baseline: a torch ``DataLoader`` with 2 worker processes over a map-style dataset that reads the
  same files with PIL and applies torchvision.transforms.v2 (joint RandomHorizontalFlip +
  RandomRotation on image and mask, Resize(antialias), ToDtype, Normalize), collated by default.

Timing by ``benchmarks/_timing.py``: one warm-up epoch of each, then interleaved epochs, median wall
time (worker start-up is part of every DataLoader epoch, as in a default training loop).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import tv_tensors
from torchvision.transforms import v2

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import result_line
from _timing import Contender, measure, ratio
from medfusion_plugin_pipeline.demo import write_demo

from medfusion_core.config import load_config
from medfusion_core.data.dataset import PreparedData, prepare_data
from medfusion_core.kernels import backend_report

WORKERS, EPOCHS = 2, 5


class TorchvisionDataset(Dataset):
    """The baseline: PIL decode + torchvision v2 transforms, one patient per item."""

    def __init__(self, data: PreparedData, indices: np.ndarray) -> None:
        image = data.config.data.image
        self.data, self.indices = data, indices
        self.views, self.size = data.manifest.max_views, list(image.size)
        augment = image.augment
        self.augment = v2.Compose(
            [
                v2.RandomHorizontalFlip(0.5 if augment.flip else 0.0),
                v2.RandomRotation(augment.rotate_degrees),
            ]
        )
        self.resize = v2.Resize(self.size, antialias=True)
        self.finish = v2.Compose([v2.ToDtype(torch.float32, scale=True), v2.Normalize(image.mean, image.std)])
        self.channels = image.channels

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, item: int) -> dict[str, Any]:
        index = int(self.indices[item])
        manifest = self.data.manifest
        images = torch.zeros((self.views, self.channels, *self.size))
        masks = torch.zeros((self.views, 1, *self.size))
        for v, (path, mask_path) in enumerate(zip(manifest.views[index], manifest.masks[index], strict=True)):
            image = tv_tensors.Image(v2.functional.pil_to_tensor(Image.open(path)))
            mask = tv_tensors.Mask(v2.functional.pil_to_tensor(Image.open(mask_path)) > 0)
            image, mask = self.augment(image, mask)
            images[v] = self.finish(self.resize(image))
            masks[v] = self.resize(mask.float())
        view_mask = torch.zeros(self.views, dtype=torch.bool)
        view_mask[: len(manifest.views[index])] = True
        return {
            "images": images,
            "lesion_mask": masks,
            "view_mask": view_mask,
            "clinical": torch.from_numpy(self.data.clinical[index]),
            "modality_mask": torch.tensor(
                [self.data.image_present[index], self.data.clinical_present[index]]
            ),
            "label": torch.tensor(self.data.labels.values[index]),
            "patient_id": manifest.patients[index],
        }


def main() -> None:
    """Build the demo data, time both data paths, print the ratio."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_demo(Path(tmp) / "demo")
        config = load_config(folder / "config.yaml", check=False)
        data = prepare_data(config)
        loader = data.loader("train", backend="threads", workers=WORKERS, cache=False)
        baseline = DataLoader(
            TorchvisionDataset(data, loader.indices),
            batch_size=loader.batch_size,
            shuffle=True,
            num_workers=WORKERS,
        )

        def run_native() -> int:
            return sum(batch["images"].shape[0] for batch in loader.iter_batches(1))

        def run_baseline() -> int:
            return sum(batch["images"].shape[0] for batch in baseline)

        backend = backend_report()["kernels"]["fill_views"]["backend"]
        print(f"fill_views backend: {backend}; batch size {loader.batch_size}")
        if backend == "reference":
            print("warning: the native plugin is not active; the figure measures the numpy reference")
        counts = {"native": run_native(), "baseline": run_baseline()}
        print(f"patients per epoch: {counts}")
        timings = measure(
            [
                Contender("medfusion threads + native", run_native, threads=WORKERS),
                Contender("DataLoader + torchvision", run_baseline, threads=WORKERS),
            ],
            repeats=EPOCHS,
            title=f"one epoch of the training split ({WORKERS} threads / worker processes each)",
        )
        figure = "data_path_threads_native_vs_dataloader_torchvision"
        ratio_ = ratio(timings["DataLoader + torchvision"], timings["medfusion threads + native"])
        print(result_line(figure, ratio_, ">=", 2))


if __name__ == "__main__":
    main()
