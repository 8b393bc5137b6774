"""Peak memory of one training step with gradient checkpointing on vs off (ConvNeXt backbone).

Method: each setting runs in its own fresh process (``--child on|off``). The process builds the
model (``build_model`` with ``model.backbone.grad_checkpointing``, timm ``convnext_atto``, batch
of 16 two-view 160x160 images), runs one forward pass under ``no_grad`` to warm the allocator,
records ``ru_maxrss`` (peak resident memory), then runs one training step (forward, backward,
AdamW step) and records ``ru_maxrss`` again. The difference is the step's extra peak memory:
activations kept for backward plus gradients and optimizer state (the latter two are the same
in both settings, so the figure understates the saving on activations alone). Torch's CPU
allocator has no peak statistics, and tracemalloc does not see torch's allocations.
Figure: 1 - peak(on) / peak(off), the fraction of step memory saved.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import result_line

BATCH, VIEWS, SIZE = 16, 2, 160


def child(enabled: bool) -> None:
    """Measure one setting and print ``{"delta_kib": ...}``."""
    import torch

    from medfusion_core.config import structure_config
    from medfusion_core.model import build_model

    torch.manual_seed(0)
    backbone = {"name": "convnext_atto", "grad_checkpointing": enabled}
    config = structure_config(
        {"name": "bench", "data": {"manifest": "unused.csv"}, "model": {"backbone": backbone}}, "<benchmark>"
    )
    model = build_model(config, clinical_features=4, num_outputs=1).train()
    inputs = (
        torch.randn(BATCH, VIEWS, 1, SIZE, SIZE),
        torch.ones(BATCH, VIEWS, dtype=torch.bool),
        torch.randn(BATCH, 4),
        torch.ones(BATCH, 2, dtype=torch.bool),
    )
    optimizer = torch.optim.AdamW(model.parameters())
    with torch.no_grad():
        model(*inputs)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    loss = model(*inputs).square().mean()
    loss.backward()
    optimizer.step()
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"delta_kib": after - before}))


def measure(setting: str) -> int:
    """Run a child process for ``setting`` (on/off) and return its step's peak memory in KiB."""
    done = subprocess.run(
        [sys.executable, __file__, "--child", setting], capture_output=True, text=True, check=True
    )
    return int(json.loads(done.stdout.strip().splitlines()[-1])["delta_kib"])


def main() -> None:
    """Measure both settings twice (alternating) and print the saving."""
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        child(sys.argv[2] == "on")
        return
    runs = {"off": [], "on": []}
    for _ in range(2):
        for setting in ("off", "on"):
            runs[setting].append(measure(setting))
    off, on = min(runs["off"]), min(runs["on"])
    print(f"step peak memory, checkpointing off: {off / 1024:.1f} MiB (runs {runs['off']} KiB)")
    print(f"step peak memory, checkpointing on:  {on / 1024:.1f} MiB (runs {runs['on']} KiB)")
    print(result_line("grad_checkpointing_memory_saving", 1 - on / off, ">=", 0.30))


if __name__ == "__main__":
    main()
