"""Training throughput: the MedFusion trainer vs a hand-written loop, Lightning and
pytorch-widedeep, on the same model, data and optimizer.

Every contender trains for ``EPOCHS`` epochs of ``STEPS`` batches of 16 patients (two 32x32 views,
6 clinical values) held in memory, with AdamW (lr 1e-3) using torch's fused CPU kernel, and on the
same thread count. The model is ``build_model`` on a fused config (regnetx_002 backbone, mean over
views, concat fusion):

- MedFusion: ``DefaultTrainer.fit`` with its defaults (JSON-lines metrics, a full checkpoint with
  optimizer and RNG state at every epoch end written in the background), no validation;
- hand-written loop: forward, BCE-with-logits, backward, step; saves nothing;
- Lightning: a ``LightningModule`` around the same model; ``Trainer`` with its default per-epoch
  checkpoint, no logger or progress bar;
- pytorch-widedeep: ``WideDeep`` whose ``deepimage`` is the model's image encoder and
  ``deeptabular`` its clinical encoder (widedeep adds a linear output per component and sums them:
  a concat fusion); its ``Trainer`` reads the same tensors through its own dataset and loader.

Each timed call is a whole ``fit`` (set-up included), interleaved by ``benchmarks/_timing.py``.
Figures: throughput ratios (ours / theirs). The fused optimizer's own effect is a separate
figure: the hand-written loop with fused AdamW against the same loop with the default AdamW.
"""

from __future__ import annotations

import logging
import sys
import tempfile
import warnings
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import result_line
from _timing import Contender, measure, ratio

from medfusion_core.config import structure_config
from medfusion_core.kinds.trainer import TrainingJob
from medfusion_core.model import build_model

BATCH, VIEWS, SIZE, FEATURES, EPOCHS, STEPS, THREADS, LR = 16, 2, 32, 6, 2, 24, 2, 1e-3
REPEATS = int(sys.argv[1]) if len(sys.argv) > 1 else 5


def make_config():
    """A fused experiment config with the default trainer."""
    return structure_config(
        {
            "name": "bench",
            "data": {"manifest": "unused.csv", "image": {"size": [SIZE, SIZE]}},
            "model": {"backbone": {"name": "regnetx_002"}},
            "trainer": {"name": "default", "params": {"epochs": EPOCHS, "progress": "never", "lr": LR}},
        },
        "<benchmark>",
    )


def make_batches() -> list[dict[str, torch.Tensor]]:
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


def run_trainer(config, batches) -> None:
    """``DefaultTrainer.fit`` over the batches."""
    from medfusion_plugin_trainer.trainer import DefaultTrainer

    job = TrainingJob(
        config=config,
        model=fresh_model(config),
        train_batches=lambda epoch, start, rank, world: iter(batches[start:]),
        batches_per_epoch=len(batches),
    )
    with tempfile.TemporaryDirectory() as folder:
        DefaultTrainer(**config.trainer.params).fit(job, Path(folder) / "fused")


def run_hand_loop(config, batches, fused: bool = True) -> None:
    """The obvious loop, with fused or default (per-tensor) AdamW."""
    model = fresh_model(config)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=LR, fused=fused or None)
    loss_fn = nn.BCEWithLogitsLoss()
    for batch in batches * EPOCHS:
        logits = model(batch["images"], batch["view_mask"], batch["clinical"], batch["modality_mask"])
        loss = loss_fn(logits[:, 0], batch["label"])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()


def run_lightning(config, batches) -> None:
    """The same model and optimizer in a LightningModule, trained by ``lightning.Trainer``."""
    import lightning

    class Module(lightning.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.model = fresh_model(config)
            self.loss_fn = nn.BCEWithLogitsLoss()

        def training_step(self, batch, _index):
            logits = self.model(
                batch["images"], batch["view_mask"], batch["clinical"], batch["modality_mask"]
            )
            return self.loss_fn(logits[:, 0], batch["label"])

        def configure_optimizers(self):
            return torch.optim.AdamW(self.parameters(), lr=LR, fused=True)

    loader = torch.utils.data.DataLoader(batches, batch_size=None, shuffle=False)
    with tempfile.TemporaryDirectory() as folder:
        trainer = lightning.Trainer(
            max_epochs=EPOCHS,
            accelerator="cpu",
            devices=1,
            logger=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            default_root_dir=folder,
        )
        trainer.fit(Module(), loader)


class _Component(nn.Module):
    """A MedFusion encoder as a pytorch-widedeep model component (it needs ``output_dim``)."""

    def __init__(self, encoder: nn.Module, output_dim: int, image: bool) -> None:
        super().__init__()
        self.encoder, self.image, self._output_dim = encoder, image, output_dim

    @property
    def output_dim(self) -> int:
        return self._output_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.image:
            return self.encoder(x)
        views = x.unsqueeze(2)  # widedeep hands [N, V, H, W] (views as channels)
        mask = torch.ones(x.shape[:2], dtype=torch.bool)
        return self.encoder(views, mask)["features"]


def widedeep_arrays(batches) -> dict[str, torch.Tensor]:
    """The batches as the whole arrays widedeep's ``fit`` takes (images as HWC float32)."""
    images = torch.cat([b["images"][:, :, 0] for b in batches]).permute(0, 2, 3, 1).contiguous()
    return {
        "X_img": images.numpy(),
        "X_tab": torch.cat([b["clinical"] for b in batches]).numpy(),
        "target": torch.cat([b["label"] for b in batches]).numpy(),
    }


def run_widedeep(config, arrays) -> None:
    """The model's encoders in a ``WideDeep`` model, trained by widedeep's ``Trainer``."""
    from pytorch_widedeep import Trainer
    from pytorch_widedeep.models import WideDeep

    model = fresh_model(config)
    deepimage = _Component(model.image_encoder, model.image_encoder.out_features, image=True)
    deeptabular = _Component(model.tabular, model.tabular.out_features, image=False)
    wide_deep = WideDeep(deeptabular=deeptabular, deepimage=deepimage, pred_dim=1)
    optimizer = torch.optim.AdamW(wide_deep.parameters(), lr=LR, fused=True)
    trainer = Trainer(wide_deep, objective="binary", optimizers=optimizer, verbose=0)
    trainer.fit(
        X_tab=arrays["X_tab"],
        X_img=arrays["X_img"],
        target=arrays["target"],
        n_epochs=EPOCHS,
        batch_size=BATCH,
    )


def main() -> None:
    """Interleave the contenders and print the ratios of median throughput."""
    for name in ("lightning", "lightning.pytorch", "lightning.fabric", "pytorch_lightning"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    config = make_config()
    batches = make_batches()
    arrays = widedeep_arrays(batches)
    samples = BATCH * STEPS * EPOCHS
    calls = {
        "medfusion": lambda: run_trainer(config, batches),
        "hand_fused": lambda: run_hand_loop(config, batches, fused=True),
        "hand_default_adamw": lambda: run_hand_loop(config, batches, fused=False),
        "lightning": lambda: run_lightning(config, batches),
        "widedeep": lambda: run_widedeep(config, arrays),
    }
    timings = measure(
        [Contender(name, call, threads=THREADS, work=samples) for name, call in calls.items()],
        repeats=REPEATS,
        title=f"{EPOCHS} epochs x {STEPS} batches of {BATCH} ({THREADS} threads each)",
    )
    for name, timing in timings.items():
        print(f"  {name:<20} {timing.per_second:8.1f} samples/s")
    ours = timings["medfusion"]
    print(
        result_line(
            "train_overhead_vs_hand_loop_same_optimizer", ratio(timings["hand_fused"], ours), ">=", 0.95
        )
    )
    print(result_line("train_vs_lightning", ratio(timings["lightning"], ours), ">=", 1.0))
    print(result_line("train_vs_pytorch_widedeep", ratio(timings["widedeep"], ours), ">=", 1.0))
    fused_gain = ratio(timings["hand_default_adamw"], timings["hand_fused"])
    print(result_line("fused_adamw_vs_default_adamw_hand_loop", fused_gain, ">=", 1.0))


if __name__ == "__main__":
    main()
