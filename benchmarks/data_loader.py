"""Batch loading throughput: the ``threads`` backend (main-process thread pool filling a
preallocated batch through the image kernels) against the conventional ``dataloader`` backend
(torch DataLoader with 2 worker processes), on the demo dataset with augmentation, over 2 epochs.

Two figures, each the ratio of images per second (threads / dataloader):
``loader_threads_vs_dataloader_decode`` decodes every image every time (datasets larger than
memory); ``loader_threads_vs_dataloader_cached`` keeps decoded images in memory, which the
thread pool keeps across epochs while DataLoader workers (not persistent) start empty each epoch.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import result_line
from medfusion_plugin_pipeline.demo import write_demo

from medfusion_core.config import load_config
from medfusion_core.data import prepare_data
from medfusion_core.kernels import backend_report

PATIENTS = 240
EPOCHS = 2
TARGET = 1.0


def images_per_second(data, backend: str, cache: bool) -> float:
    """Training-mode throughput (augmentation on) of ``backend`` over ``EPOCHS`` epochs."""
    loader = data.loader("all", train=True, backend=backend, batch_size=16, workers=2, cache=cache)
    views = 0
    start = time.perf_counter()
    for epoch in range(EPOCHS):
        for batch in loader.iter_batches(epoch):
            views += int(batch["view_mask"].sum())
    return views / (time.perf_counter() - start)


def main() -> None:
    """Run both backends on a fresh demo dataset and print the RESULT lines."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_demo(Path(tmp) / "demo", patients=PATIENTS, seed=0)
        data = prepare_data(load_config(folder / "config.yaml", check=False))
        kernel = backend_report()["kernels"]["preprocess_into"]["backend"]
        images_per_second(data, "threads", False)  # warm up imports and the page cache
        rates = {
            (mode, backend): images_per_second(data, backend, mode == "cached")
            for mode in ("decode", "cached")
            for backend in ("threads", "dataloader")
        }
    print(f"preprocess_into backend: {kernel}")
    for (mode, backend), rate in rates.items():
        print(f"{mode:7s} {backend:10s} {rate:8.0f} images/s")
    for mode in ("decode", "cached"):
        ratio = rates[mode, "threads"] / rates[mode, "dataloader"]
        print(result_line(f"loader_threads_vs_dataloader_{mode}", ratio, ">=", TARGET))


if __name__ == "__main__":
    main()
