"""Bootstrap AUROC/AUPRC: native Rust kernel vs the numpy reference (2000 resamples of 10,000).

Both backends draw the same resamples (medfusion_core.kernels.resample_indices), so the script
also checks that they agree. The reference is timed on a 200-resample slice and scaled (its cost
is linear in resamples); the native kernel runs the full 2000.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import median_seconds, result_line
from medfusion_plugin_native import kernels as native

from medfusion_core.kernels import REFERENCE

N, RESAMPLES, REFERENCE_SLICE, SEED = 10_000, 2000, 200, 42


def main() -> None:
    """Time both backends, check agreement, print the ratio."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, N).astype(np.uint8)
    scores = np.round(rng.normal(size=N) + 0.8 * y, 3)
    reference = REFERENCE["bootstrap_auc"]
    ref_seconds = median_seconds(lambda: reference(y, scores, REFERENCE_SLICE, SEED), repeats=3, warmup=0)
    ref_seconds *= RESAMPLES / REFERENCE_SLICE
    native_seconds = median_seconds(lambda: native.bootstrap_auc(y, scores, RESAMPLES, SEED), repeats=5)
    ref_roc, ref_pr = reference(y, scores, 20, SEED)
    roc, pr = native.bootstrap_auc(y, scores, 20, SEED)
    agree = max(np.abs(roc - ref_roc).max(), np.abs(pr - ref_pr).max())
    print(f"numpy reference : {ref_seconds:8.3f} s for {RESAMPLES} resamples of {N}")
    print(f"native          : {native_seconds:8.3f} s")
    print(f"max |native - reference| on 20 resamples: {agree:.2e}")
    print(result_line("bootstrap_native_vs_numpy", ref_seconds / native_seconds, ">=", 20))


if __name__ == "__main__":
    main()
