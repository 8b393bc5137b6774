"""Training-loop overhead: samples/s of the MedFusion trainer vs a hand-written PyTorch loop.

Both train the same model (``build_model`` on a fused config: regnetx_002 backbone at 32x32, two
views, concat fusion) with AdamW for ``EPOCHS`` epochs of ``STEPS`` batches on the same in-memory
batches, in the same process, alternating runs so that machine load affects both alike. The
trainer runs with its defaults (JSON-lines metrics, a full checkpoint with optimizer and RNG state
at every epoch end, written in the background, and waited for at the end of the run), no
validation and no progress bar; the hand-written loop saves nothing. The trainer steps with
torch's fused AdamW (its choice on CPU and CUDA), the hand-written loop with ``AdamW``'s default
per-tensor implementation, as the obvious loop would. Each figure counts the whole
``fit`` call, set-up included. Figure: median trainer throughput / median hand-written throughput.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import result_line

from medfusion_core.config import structure_config
from medfusion_core.kinds.trainer import TrainingJob
from medfusion_core.model import build_model

BATCH, VIEWS, SIZE, FEATURES, EPOCHS, STEPS, REPEATS = 16, 2, 32, 6, 3, 24, 5


def make_config():
    """A fused experiment config with the default trainer."""
    return structure_config(
        {
            "name": "bench",
            "data": {"manifest": "unused.csv", "image": {"size": [SIZE, SIZE]}},
            "model": {"backbone": {"name": "regnetx_002"}},
            "trainer": {"name": "default", "params": {"epochs": EPOCHS, "progress": "never"}},
        },
        "<benchmark>",
    )


def make_batches():
    """``STEPS`` random batches in the shared Batch format."""
    generator = torch.Generator().manual_seed(0)
    return [
        {
            "images": torch.randn(BATCH, VIEWS, 1, SIZE, SIZE, generator=generator),
            "view_mask": torch.ones(BATCH, VIEWS, dtype=torch.bool),
            "clinical": torch.randn(BATCH, FEATURES, generator=generator),
            "modality_mask": torch.ones(BATCH, 2, dtype=torch.bool),
            "label": torch.randint(0, 2, (BATCH,), generator=generator).float(),
        }
        for _ in range(STEPS)
    ]


def fresh_model(config):
    """The same initial model every time."""
    torch.manual_seed(0)
    return build_model(config, clinical_features=FEATURES, num_outputs=1)


def run_trainer(config, batches) -> float:
    """Samples/s of DefaultTrainer.fit over the batches (``EPOCHS`` epochs)."""
    from medfusion_plugin_trainer.trainer import DefaultTrainer

    job = TrainingJob(
        config=config,
        model=fresh_model(config),
        train_batches=lambda epoch, start, rank, world: iter(batches[start:]),
        batches_per_epoch=len(batches),
    )
    trainer = DefaultTrainer(**config.trainer.params)
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        trainer.fit(job, Path(folder) / "fused")
        elapsed = time.perf_counter() - start
    return BATCH * len(batches) * trainer.options.epochs / elapsed


def run_manual(config, batches) -> float:
    """Samples/s of the obvious hand-written loop."""
    model = fresh_model(config)
    start = time.perf_counter()
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    for batch in batches * EPOCHS:
        logits = model(batch["images"], batch["view_mask"], batch["clinical"], batch["modality_mask"])
        loss = loss_fn(logits[:, 0], batch["label"])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return BATCH * len(batches) * EPOCHS / (time.perf_counter() - start)


def main() -> None:
    """Alternate both loops and print the ratio of median throughputs."""
    torch.set_num_threads(max(1, torch.get_num_threads()))
    config = make_config()
    batches = make_batches()
    run_trainer(config, batches[:2])  # warm-up: imports, allocator
    run_manual(config, batches[:2])
    trainer, manual = [], []
    for _ in range(REPEATS):
        trainer.append(run_trainer(config, batches))
        manual.append(run_manual(config, batches))
    t, m = statistics.median(trainer), statistics.median(manual)
    print(f"trainer: {t:.1f} samples/s (runs {', '.join(f'{v:.1f}' for v in trainer)})")
    print(f"hand-written: {m:.1f} samples/s (runs {', '.join(f'{v:.1f}' for v in manual)})")
    print(result_line("train_overhead_throughput_ratio", t / m, ">=", 0.95))


if __name__ == "__main__":
    main()
