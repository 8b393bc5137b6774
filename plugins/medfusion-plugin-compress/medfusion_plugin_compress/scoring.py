"""Scoring ONNX models on a split of a run: inputs as ONNX Runtime feeds, AUROC, size, latency."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from medfusion_core.errors import ExportError
from medfusion_core.kernels import auc_pair
from medfusion_core.model import MODEL_INPUTS

if TYPE_CHECKING:
    from medfusion_plugin_export.run_loading import RunVariant

#: Latency is the median of this many interleaved runs of one batch (after one warm-up run).
LATENCY_REPEATS = 20


def split_feeds(
    run: RunVariant, split: str, *, limit: int | None = None
) -> Iterator[tuple[dict, np.ndarray]]:
    """``(feeds, labels)`` per batch of ``split`` (no augmentation), up to ``limit`` patients."""
    loader = run.data.loader(split, train=False, backend="threads", workers=1, cache=False)
    seen = 0
    for batch in loader.iter_batches(0):
        if limit is not None and seen >= limit:
            return
        stop = None if limit is None else limit - seen
        feeds = {key: batch[key][:stop].numpy() for key in MODEL_INPUTS}
        labels = batch["label"][:stop].numpy()
        seen += len(labels)
        yield feeds, labels


def evaluation_split(run: RunVariant) -> str:
    """``test``, or ``val`` when the run has no test patients."""
    return "test" if len(run.data.indices("test")) else "val"


def session(path: Path, threads: int = 1) -> Any:
    """An ONNX Runtime CPU session on ``path`` with ``threads`` intra-op threads."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def auroc(task: str, labels: np.ndarray, logits: np.ndarray) -> float:
    """AUROC of the logits: binary, or macro one-vs-rest for multiclass."""
    if task == "binary":
        return auc_pair(labels.astype(np.uint8), logits[:, 0].astype(np.float64))[0]
    if task == "multiclass":
        shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
        probs = shifted / shifted.sum(axis=1, keepdims=True)
        values = [
            auc_pair((labels == k).astype(np.uint8), probs[:, k].astype(np.float64))[0]
            for k in range(probs.shape[1])
        ]
        return float(np.nanmean(values))
    raise ExportError(f"compression is verified by AUROC; a {task} task has none (use the onnx format)")


def score(path: Path, batches: list[tuple[dict, np.ndarray]], task: str) -> float:
    """The AUROC of the ONNX model at ``path`` on ``batches``."""
    runner = session(path)
    logits = np.concatenate([runner.run(None, feeds)[0] for feeds, _ in batches])
    labels = np.concatenate([labels for _, labels in batches])
    value = auroc(task, labels, logits)
    if value != value:
        raise ExportError("the evaluation split has a single class; AUROC cannot verify the compressed model")
    return value


def latencies_ms(paths: list[Path], feeds: dict[str, np.ndarray], threads: int = 1) -> list[float]:
    """Median milliseconds of one run on ``feeds`` for each model (``threads`` intra-op threads),
    timed interleaved (one run of each model per round, after one warm-up run each) so that load
    from elsewhere on the machine falls on every model alike."""
    runners = [session(path, threads) for path in paths]
    for runner in runners:
        runner.run(None, feeds)
    samples: list[list[float]] = [[] for _ in runners]
    for _ in range(LATENCY_REPEATS):
        for runner, times in zip(runners, samples, strict=True):
            start = time.perf_counter()
            runner.run(None, feeds)
            times.append(time.perf_counter() - start)
    return [float(np.median(times)) * 1000.0 for times in samples]


def size_bytes(path: Path) -> int:
    """The file's size."""
    return os.path.getsize(path)
