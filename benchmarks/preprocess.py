"""Image preprocessing: the native Rust kernel vs the numpy reference, torchvision v2, OpenCV and
Pillow, all producing the same output.

Task: a batch of 16 images of 512x512 -> one preallocated float32 batch [16, C, 224, 224] (resize
to 224x224 with antialiasing, scale to [0, 1], mean/std normalisation, CHW layout), for 8-bit RGB
(ImageNet mean/std) and 16-bit grayscale images. Every contender writes that same batch:

- numpy reference: ``medfusion_core.imageops.preprocess_into`` per image (the whole batch);
- torchvision: ``v2.Resize(antialias=True) -> v2.ToDtype(float32, scale=True) -> v2.Normalize``
  per image on the CHW views that ``pil_to_tensor`` gives, copied into the batch;
- OpenCV: ``cv2.resize(INTER_AREA)`` (its antialiased downscale) on the HWC array, then scale,
  normalise and transpose into the batch with numpy;
- Pillow: ``Image.resize(BILINEAR)`` (antialiased when reducing; 16-bit images as mode ``F``), then
  the same numpy finish;
- native: ``preprocess_batch_into`` (one call per batch, rayon over images).

Timing (``benchmarks/_timing.py``): warm-up, interleaved rounds, median wall time of the same calls,
CPU time printed beside it; a sample lasts at least 50 ms (a short call is repeated within it).
Every library runs with 1 thread for the ratios against it; the native kernel's 1 -> 2 thread
scaling is its own figure, also as a fraction of the host's ceiling (two busy processes over one,
``_host.py``) timed in the same rounds. Each contender's largest difference from the reference output is
printed (the filters differ slightly: OpenCV's area filter is not a bilinear one).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image
from torchvision.transforms import v2

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _host import BusyProcesses
from _report import result_line
from _timing import compare_single_thread, ratio, thread_scaling
from medfusion_plugin_native import kernels as native

from medfusion_core.imageops import preprocess_into as reference

BATCH, SIZE, OUT, REPEATS = 16, 512, 224, 9
#: Seconds one timed sample lasts at least: a native batch takes a few milliseconds, so a sample
#: repeats it (the slower contenders take one call per sample).
MIN_SAMPLE_S = 0.05
CASES = {
    "uint8": {"channels": 3, "mean": (0.485, 0.456, 0.406), "std": (0.229, 0.224, 0.225), "scale": 255.0},
    "uint16": {"channels": 1, "mean": (0.5,), "std": (0.25,), "scale": 65535.0},
}


def make_images(kind: str, rng: np.random.Generator) -> list[np.ndarray]:
    """Smooth random images (a gradient plus noise) as a decoder returns them: HWC or HW."""
    ramp = np.add.outer(np.arange(SIZE), np.arange(SIZE)) / (2 * SIZE)
    if kind == "uint8":
        return [
            np.clip((ramp[..., None] * 200 + rng.normal(0, 20, (SIZE, SIZE, 3))), 0, 255).astype(np.uint8)
            for _ in range(BATCH)
        ]
    return [
        np.clip(ramp * 60000 + rng.normal(0, 2000, (SIZE, SIZE)), 0, 65535).astype(np.uint16)
        for _ in range(BATCH)
    ]


def numpy_finish(resized: np.ndarray, out: np.ndarray, scale: float, mean, std) -> None:
    """Scale, normalise and lay out one resized HWC/HW image into ``out`` [C, H, W]."""
    hwc = resized.reshape(OUT, OUT, -1).astype(np.float32)
    hwc *= np.float32(1.0 / scale)
    hwc -= np.asarray(mean, np.float32)
    hwc /= np.asarray(std, np.float32)
    out[...] = hwc.transpose(2, 0, 1)


def contenders(kind: str, images: list[np.ndarray], batches: dict[str, np.ndarray]) -> dict[str, Callable]:
    """One batch call per contender, each writing its own output batch."""
    case = CASES[kind]
    mean, std, scale = case["mean"], case["std"], case["scale"]
    tensors = [
        torch.from_numpy(img).permute(2, 0, 1) if img.ndim == 3 else torch.from_numpy(img)[None]
        for img in images
    ]
    pipeline = v2.Compose(
        [
            v2.Resize((OUT, OUT), antialias=True),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize(list(mean), list(std)),
        ]
    )
    torchvision_batch = torch.from_numpy(batches["torchvision"])

    def run_reference() -> None:
        for image, out in zip(images, batches["numpy"], strict=True):
            reference(image, out, mean=mean, std=std)

    def run_torchvision() -> None:
        for i, tensor in enumerate(tensors):
            torchvision_batch[i].copy_(pipeline(tensor))

    def run_opencv() -> None:
        for image, out in zip(images, batches["opencv"], strict=True):
            numpy_finish(cv2.resize(image, (OUT, OUT), interpolation=cv2.INTER_AREA), out, scale, mean, std)

    def run_pillow() -> None:
        for image, out in zip(images, batches["pillow"], strict=True):
            pil = Image.fromarray(image if image.ndim == 3 else image.astype(np.float32))
            resized = np.asarray(pil.resize((OUT, OUT), Image.Resampling.BILINEAR))
            numpy_finish(resized, out, scale, mean, std)

    def run_native() -> None:
        native.preprocess_batch_into(images, batches["native"], mean=mean, std=std)

    return {
        "numpy": run_reference,
        "torchvision": run_torchvision,
        "opencv": run_opencv,
        "pillow": run_pillow,
        "native": run_native,
    }


def run_case(kind: str, host: BusyProcesses) -> list[str]:
    """Time every contender on one image kind; its RESULT lines."""
    images = make_images(kind, np.random.default_rng(0))
    shape = (BATCH, CASES[kind]["channels"], OUT, OUT)
    names = ("numpy", "torchvision", "opencv", "pillow", "native")
    batches = {name: np.empty(shape, np.float32) for name in names}
    calls = contenders(kind, images, batches)
    cv2.setNumThreads(1)
    single = compare_single_thread(
        calls,
        work=BATCH,
        repeats=REPEATS,
        min_sample_s=MIN_SAMPLE_S,
        title=f"{kind}: per batch of {BATCH}, 1 thread each",
    )
    scaling = thread_scaling(
        calls["native"],
        work=BATCH,
        repeats=REPEATS * 3,
        min_sample_s=MIN_SAMPLE_S,
        title=f"{kind}: native kernel, 1 vs 2 threads",
        host=host,
    )
    for name, batch in batches.items():
        print(f"  max |{name} - numpy reference| = {np.abs(batch - batches['numpy']).max():.3g}")
    figure = f"preprocess_{kind}_native"
    native_1 = single["native"]
    return [
        result_line(f"{figure}_vs_numpy", ratio(single["numpy"], native_1), ">=", 5),
        result_line(f"{figure}_vs_torchvision_1thread", ratio(single["torchvision"], native_1), ">=", 2),
        result_line(f"{figure}_vs_opencv_1thread", ratio(single["opencv"], native_1), ">=", 1),
        result_line(f"{figure}_vs_pillow_1thread", ratio(single["pillow"], native_1), ">=", 1),
        result_line(f"{figure}_scaling_1_to_2_threads", scaling.speedup, ">=", 1.7),
        result_line(f"{figure}_scaling_of_host_ceiling", scaling.of_ceiling, ">=", 0.85),
    ]


def main() -> None:
    """Run both image kinds and print the RESULT lines."""
    with BusyProcesses() as host:
        lines = [line for kind in CASES for line in run_case(kind, host)]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
