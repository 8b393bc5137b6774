"""Learning-rate schedule: linear warmup, then cosine, step, plateau or constant.

The schedule is a pure function of the optimizer step (plus, for ``plateau``, a scale updated
once per epoch), so its whole state is three numbers that a checkpoint stores as plain data.
"""

from __future__ import annotations

import math
from typing import Any

from medfusion_plugin_trainer.options import TrainerOptions, improved


class LRSchedule:
    """Sets ``lr`` on every param group of an optimizer before each step."""

    def __init__(self, options: TrainerOptions, steps_per_epoch: int) -> None:
        self.options = options
        self.steps_per_epoch = max(1, steps_per_epoch)
        self.total_steps = self.steps_per_epoch * options.epochs
        self.plateau_scale = 1.0
        self.plateau_best: float | None = None
        self.plateau_bad_epochs = 0

    def factor(self, step: int) -> float:
        """Multiplier of the peak lr for optimizer step ``step`` (0-based)."""
        opts = self.options
        if step < opts.warmup_steps:
            return (step + 1) / opts.warmup_steps
        if opts.schedule == "cosine":
            span = max(1, self.total_steps - opts.warmup_steps)
            progress = min(1.0, (step - opts.warmup_steps) / span)
            return opts.min_lr_ratio + (1 - opts.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))
        if opts.schedule == "step":
            return opts.gamma ** ((step // self.steps_per_epoch) // max(1, opts.step_epochs))
        if opts.schedule == "plateau":
            return self.plateau_scale
        return 1.0

    def apply(self, optimizer: Any, step: int) -> float:
        """Set the learning rate for ``step`` and return it."""
        lr = self.options.lr * self.factor(step)
        for group in optimizer.param_groups:
            group["lr"] = lr
        return lr

    def end_epoch(self, value: float | None, metric: str) -> None:
        """Plateau schedule: decay by ``gamma`` after ``plateau_patience`` epochs without progress."""
        if self.options.schedule != "plateau":
            return
        if improved(value, self.plateau_best, metric):
            self.plateau_best = value
            self.plateau_bad_epochs = 0
            return
        self.plateau_bad_epochs += 1
        if self.plateau_bad_epochs > self.options.plateau_patience:
            self.plateau_scale *= self.options.gamma
            self.plateau_bad_epochs = 0

    def state_dict(self) -> dict[str, Any]:
        """Plain-data state for checkpoints."""
        return {"scale": self.plateau_scale, "best": self.plateau_best, "bad_epochs": self.plateau_bad_epochs}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`."""
        self.plateau_scale = float(state["scale"])
        self.plateau_best = state["best"]
        self.plateau_bad_epochs = int(state["bad_epochs"])
