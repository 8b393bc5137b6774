"""Batch loading throughput of MedFusion's two loader backends: the ``threads`` backend
(main-process thread pool filling a preallocated batch through the image kernels) against the
``dataloader`` backend (torch DataLoader with 2 worker processes), on the demo dataset with
augmentation, one epoch per timed call.

Two figures, each the ratio of images per second (threads / dataloader), with 2 threads / 2
worker processes on each side: ``loader_threads_vs_dataloader_decode`` decodes every image every
epoch (datasets larger than memory); ``loader_threads_vs_dataloader_cached`` asks both to keep
decoded images in memory. Both sides get the same warm-up epoch (``benchmarks/_timing.py``); the
thread pool keeps its cache across epochs, while DataLoader workers (not persistent) start
empty each epoch, which is what the cached figure measures. The peer comparison with a plain
PIL + torchvision DataLoader is ``data_path.py``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import result_line
from _timing import Contender, measure, ratio
from medfusion_plugin_pipeline.demo import write_demo

from medfusion_core.config import load_config
from medfusion_core.data import prepare_data
from medfusion_core.kernels import backend_report

PATIENTS, REPEATS, WORKERS = 240, 9, 2
TARGET = 1.0


def epoch(data, backend: str, cache: bool):
    """One training-mode epoch (augmentation on) of ``backend``; the views it loaded."""
    loader = data.loader("all", train=True, backend=backend, batch_size=16, workers=WORKERS, cache=cache)
    count = [0]

    def run() -> int:
        count[0] += 1
        return sum(int(batch["view_mask"].sum()) for batch in loader.iter_batches(count[0]))

    return run


def main() -> None:
    """Run both backends on a fresh demo dataset and print the RESULT lines."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_demo(Path(tmp) / "demo", patients=PATIENTS, seed=0)
        data = prepare_data(load_config(folder / "config.yaml", check=False))
        print(f"preprocess_into backend: {backend_report()['kernels']['preprocess_into']['backend']}")
        for mode in ("decode", "cached"):
            runs = {backend: epoch(data, backend, mode == "cached") for backend in ("threads", "dataloader")}
            views = runs["threads"]()
            if runs["dataloader"]() != views:
                raise SystemExit(f"{mode}: the two backends loaded different numbers of views")
            timings = measure(
                [Contender(name, run, threads=WORKERS, work=views) for name, run in runs.items()],
                repeats=REPEATS,
                title=f"{mode}: one epoch of {views} views",
            )
            print(
                result_line(
                    f"loader_threads_vs_dataloader_{mode}",
                    ratio(timings["dataloader"], timings["threads"]),
                    ">=",
                    TARGET,
                )
            )


if __name__ == "__main__":
    main()
