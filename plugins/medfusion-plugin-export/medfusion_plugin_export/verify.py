"""Verification of an exported artifact against the eager PyTorch model it came from."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from medfusion_core.errors import ExportError

if TYPE_CHECKING:
    import torch
    from torch import nn

#: Largest tolerated absolute difference between the artifact and eager PyTorch (fp32).
TOLERANCE = 1e-4

#: A loaded artifact: the four input tensors of a batch -> logits as a numpy array.
Runner = Callable[[tuple["torch.Tensor", ...]], np.ndarray]


@attrs.frozen
class Verification:
    """Outcome of comparing an artifact with eager PyTorch on held-out batches."""

    format: str
    max_abs_diff: float
    n_samples: int
    batch_sizes: tuple[int, ...] = attrs.field(converter=tuple)
    tolerance: float = TOLERANCE
    checks: tuple[str, ...] = attrs.field(default=(), converter=tuple)

    @property
    def passed(self) -> bool:
        """Whether every output was within :attr:`tolerance`."""
        return self.max_abs_diff <= self.tolerance

    def to_json(self) -> dict[str, Any]:
        """Plain-data form saved in the sidecar JSON."""
        return {
            "format": self.format,
            "max_abs_diff": self.max_abs_diff,
            "n_samples": self.n_samples,
            "batch_sizes": list(self.batch_sizes),
            "tolerance": self.tolerance,
            "checks": list(self.checks),
            "passed": self.passed,
        }

    def summary(self) -> str:
        """One line for the terminal."""
        return (
            f"verified {self.format}: max abs diff {self.max_abs_diff:.3g} vs eager PyTorch on "
            f"{self.n_samples} samples (batches {', '.join(map(str, self.batch_sizes))}; "
            f"tolerance {self.tolerance:g})"
        )


def compare_with_eager(
    fmt: str,
    model: nn.Module,
    run_artifact: Runner,
    batches: Sequence[tuple[torch.Tensor, ...]],
    *,
    checks: Sequence[str] = (),
    tolerance: float = TOLERANCE,
) -> Verification:
    """Run ``model`` (eager, eval mode) and the artifact on each batch and compare the logits.

    Raises :class:`ExportError` when a shape differs, an output is not finite or the largest
    difference exceeds ``tolerance``; returns the :class:`Verification` otherwise.
    """
    import torch

    model.eval()
    worst = 0.0
    for batch in batches:
        with torch.no_grad():
            expected = model(*batch).detach().cpu().numpy()
        actual = np.asarray(run_artifact(batch))
        if actual.shape != expected.shape:
            raise ExportError(
                f"{fmt} artifact returned shape {actual.shape} for a batch of {len(batch[0])}, "
                f"eager PyTorch {expected.shape}; the batch dimension did not export as dynamic"
            )
        if not np.isfinite(actual).all():
            raise ExportError(f"{fmt} artifact produced non-finite outputs on verification inputs")
        worst = max(worst, float(np.abs(actual.astype(np.float64) - expected).max()))
    result = Verification(
        fmt, worst, sum(len(b[0]) for b in batches), [len(b[0]) for b in batches], tolerance, checks
    )
    if not result.passed:
        raise ExportError(
            f"{fmt} artifact does not match eager PyTorch: max abs diff {worst:.3g} > {tolerance:g} "
            f"on {result.n_samples} samples"
        )
    return result
