"""Trainer options: the validated form of ``trainer.params``."""

from __future__ import annotations

from typing import Any

import attrs

from medfusion_core.errors import ConfigError

_LOWER_IS_BETTER = ("val_loss", "val_mae", "val_mse")
_DEFAULT_MONITOR = {"binary": "val_auroc", "multiclass": "val_accuracy", "regression": "val_loss"}


@attrs.frozen
class TrainerOptions:
    """Every knob of the default trainer (documented in ``hooks.PARAMS``)."""

    epochs: int = 10
    optimizer: str = "adamw"
    lr: float = 1e-3
    weight_decay: float = 1e-4
    momentum: float = 0.9
    schedule: str = "cosine"
    warmup_steps: int = 0
    min_lr_ratio: float = 0.0
    step_epochs: int = 10
    gamma: float = 0.1
    plateau_patience: int = 2
    accumulate: int = 1
    clip_grad_norm: float = 0.0
    class_weights: Any = "none"
    precision: str = "32"
    ema_decay: float = 0.0
    monitor: str = "auto"
    patience: int = 0
    checkpoint_every: int = 50
    log_every: int = 10
    deterministic: bool = True
    progress: str = "auto"
    device: str = "auto"

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> TrainerOptions:
        """Build options from ``trainer.params``; raises :class:`ConfigError` naming the field."""
        known = {field.name for field in attrs.fields(cls)}
        unknown = sorted(set(params) - known)
        if unknown:
            raise ConfigError(
                f"trainer.params.{unknown[0]}: unknown parameter; allowed: {', '.join(sorted(known))}"
            )
        options = cls(**params)
        options.check()
        return options

    def check(self) -> None:
        """Reject values that cannot work, naming the field."""
        positive = {"epochs": self.epochs, "accumulate": self.accumulate, "lr": self.lr}
        for name, value in positive.items():
            if value <= 0:
                raise ConfigError(f"trainer.params.{name}: must be > 0, got {value!r}")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ConfigError(f"trainer.params.ema_decay: must be in [0, 1), got {self.ema_decay!r}")
        weights = self.class_weights
        if not (weights in ("none", "auto") or isinstance(weights, (list, tuple))):
            raise ConfigError(
                f"trainer.params.class_weights: expected 'none', 'auto' or a list, got {weights!r}"
            )

    def monitor_for(self, task: str) -> str:
        """The validation metric that picks the best checkpoint."""
        return _DEFAULT_MONITOR[task] if self.monitor == "auto" else self.monitor


def lower_is_better(metric: str) -> bool:
    """Whether a smaller value of ``metric`` is an improvement."""
    return metric in _LOWER_IS_BETTER


def improved(value: float | None, best: float | None, metric: str) -> bool:
    """Whether ``value`` beats ``best`` (a missing or NaN value never does)."""
    if value is None or value != value:
        return False
    if best is None:
        return True
    return value < best if lower_is_better(metric) else value > best
