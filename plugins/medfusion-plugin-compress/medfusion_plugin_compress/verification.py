"""The check every compressed artifact passes: AUROC on the test split within a stated tolerance
of the fp32 model, with size and single-thread latency against fp32 (timed interleaved)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from medfusion_plugin_compress.scoring import evaluation_split, latencies_ms, score, size_bytes, split_feeds

if TYPE_CHECKING:
    from medfusion_plugin_export.run_loading import RunVariant


@attrs.frozen
class Comparison:
    """A compressed model against its fp32 reference on the evaluation split."""

    format: str
    method: str
    split: str
    patients: int
    tolerance: float
    auroc_fp32: float
    auroc: float
    size_fp32: int
    size: int
    latency_fp32_ms: float
    latency_ms: float
    batch: int

    @property
    def speedup(self) -> float:
        """fp32 latency over the compressed model's (> 1: the compressed model is faster)."""
        return self.latency_fp32_ms / self.latency_ms

    @property
    def size_ratio(self) -> float:
        """Compressed size over fp32 size."""
        return self.size / self.size_fp32

    @property
    def change(self) -> float:
        """AUROC of the compressed model minus that of fp32."""
        return self.auroc - self.auroc_fp32

    @property
    def within(self) -> bool:
        """Whether the AUROC change is within the tolerance."""
        return abs(self.change) <= self.tolerance

    def lines(self) -> list[str]:
        """The figures, for the terminal."""
        return [
            f"{self.format}: {self.method}",
            f"{self.format}: AUROC on {self.patients} {self.split} patients {self.auroc:.4f} vs fp32 "
            f"{self.auroc_fp32:.4f} (change {self.change:+.4f}, tolerance ±{self.tolerance:g})",
            f"{self.format}: size {self.size / 1e6:.2f} MB vs fp32 {self.size_fp32 / 1e6:.2f} MB "
            f"({self.size_ratio:.2f}x); latency {self.latency_ms:.2f} ms vs fp32 "
            f"{self.latency_fp32_ms:.2f} ms per batch of {self.batch}, 1 thread "
            f"(speed-up {self.speedup:.2f}x)",
        ]

    def refusal(self) -> str:
        """The one-line error when the AUROC change is outside the tolerance."""
        return (
            f"{self.format}: AUROC on the {self.split} split {self.auroc:.4f} vs fp32 {self.auroc_fp32:.4f} "
            f"(change {self.change:+.4f}) is outside the tolerance ±{self.tolerance:g}; artifact not "
            "written (raise 'tolerance' or use another format)"
        )

    def to_json(self) -> dict[str, Any]:
        """Plain data for the sidecar."""
        derived = {"change": self.change, "speedup": self.speedup, "size_ratio": self.size_ratio}
        return {**attrs.asdict(self), **derived, "passed": self.within}


def compare(
    run: RunVariant, fmt: str, method: str, reference: Path, candidate: Path, tolerance: float
) -> Comparison:
    """Score both ONNX models on the run's test split (validation when it has none)."""
    split = evaluation_split(run)
    batches = list(split_feeds(run, split))
    task = run.preprocessing["task"]
    latency_fp32, latency = latencies_ms([reference, candidate], batches[0][0])
    return Comparison(
        format=fmt,
        method=method,
        split=split,
        patients=sum(len(labels) for _, labels in batches),
        tolerance=tolerance,
        auroc_fp32=score(reference, batches, task),
        auroc=score(candidate, batches, task),
        size_fp32=size_bytes(reference),
        size=size_bytes(candidate),
        latency_fp32_ms=latency_fp32,
        latency_ms=latency,
        batch=len(batches[0][1]),
    )
