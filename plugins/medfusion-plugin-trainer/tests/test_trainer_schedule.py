"""Learning-rate schedules: warmup, cosine, step, plateau, and their checkpoint state."""

from __future__ import annotations

import math

import pytest
from medfusion_plugin_trainer.options import TrainerOptions
from medfusion_plugin_trainer.schedule import LRSchedule


def test_linear_warmup_then_cosine_to_floor():
    options = TrainerOptions(epochs=2, warmup_steps=4, min_lr_ratio=0.1)
    schedule = LRSchedule(options, steps_per_epoch=7)  # 14 steps in all
    assert [schedule.factor(s) for s in range(4)] == [0.25, 0.5, 0.75, 1.0]
    assert schedule.factor(4) == pytest.approx(1.0)
    mid = 4 + 5  # half-way through the 10 cosine steps
    assert schedule.factor(mid) == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.5)))
    assert schedule.factor(14) == pytest.approx(0.1)


def test_step_schedule_decays_every_step_epochs():
    schedule = LRSchedule(TrainerOptions(epochs=6, schedule="step", step_epochs=2, gamma=0.5), 3)
    assert [schedule.factor(s) for s in (0, 5, 6, 11, 12)] == [1.0, 1.0, 0.5, 0.5, 0.25]


def test_plateau_decays_after_patience_and_state_round_trips():
    schedule = LRSchedule(TrainerOptions(schedule="plateau", plateau_patience=1, gamma=0.5), 3)
    for value in (0.7, 0.6, 0.6):  # val_auroc: higher is better; two epochs without progress
        schedule.end_epoch(value, "val_auroc")
    assert schedule.factor(100) == 0.5
    other = LRSchedule(TrainerOptions(schedule="plateau"), 3)
    other.load_state_dict(schedule.state_dict())
    assert other.state_dict() == schedule.state_dict()


def test_apply_sets_every_param_group():
    import torch

    opt = torch.optim.SGD([{"params": [torch.zeros(1, requires_grad=True)]}] * 1, lr=1.0)
    lr = LRSchedule(TrainerOptions(lr=0.2, warmup_steps=2, epochs=1), 10).apply(opt, 0)
    assert lr == pytest.approx(0.1) and opt.param_groups[0]["lr"] == pytest.approx(0.1)
