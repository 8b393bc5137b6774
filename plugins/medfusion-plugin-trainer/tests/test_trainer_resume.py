"""Exact resume: a run SIGKILLed mid-epoch and resumed ends with the weights of an uninterrupted run."""

from __future__ import annotations

import signal

import pytest
import torch
from medfusion_plugin_trainer.synthetic import synthetic_config, synthetic_job, train_in_children
from medfusion_plugin_trainer.trainer import ENV_KILL_AT_STEP, DefaultTrainer

from medfusion_core.errors import CheckpointError
from medfusion_core.runs import read_jsonl

# 36 training samples, batch 8 -> 5 batches per epoch; 2 epochs = 10 optimizer steps.
PARAMS = {
    "epochs": 2,
    "lr": 0.01,
    "ema_decay": 0.9,
    "checkpoint_every": 3,
    "log_every": 1,
    "progress": "never",
    "schedule": "cosine",
    "warmup_steps": 2,
}
DROPOUT = 0.3  # dropout draws from torch's RNG, so a wrongly restored RNG changes the weights


def _events(path):
    return [{k: v for k, v in r.items() if k != "time"} for r in read_jsonl(path)]


def test_sigkill_mid_epoch_then_resume_matches_uninterrupted_run(tmp_path):
    reference, run = tmp_path / "reference", tmp_path / "killed"
    assert train_in_children(PARAMS, reference, dropout=DROPOUT) == [0]

    # SIGKILL right after step 8 (epoch 2, batch 3); the last periodic save was at step 6
    assert train_in_children(PARAMS, run, dropout=DROPOUT, env={ENV_KILL_AT_STEP: "8"}) == [-signal.SIGKILL]
    state = torch.load(run / "checkpoints/last.pt", weights_only=True)
    assert state["position"] == {"epoch": 1, "batch": 1, "step": 6}
    assert not (run / "summary.json").exists()

    assert train_in_children(PARAMS, run, dropout=DROPOUT, resume=True) == [0]
    want = torch.load(reference / "checkpoints/last.pt", weights_only=True)
    got = torch.load(run / "checkpoints/last.pt", weights_only=True)
    assert got["position"] == want["position"] == {"epoch": 2, "batch": 0, "step": 10}
    for part in ("model", "ema"):
        for key, value in want[part].items():
            assert torch.equal(got[part][key], value), f"{part}.{key} differs after resume"
    for index, entry in want["optimizer"]["state"].items():
        assert torch.equal(got["optimizer"]["state"][index]["exp_avg_sq"], entry["exp_avg_sq"])
    # metrics.jsonl reads as if the run had never been interrupted
    assert _events(run / "metrics.jsonl") == _events(reference / "metrics.jsonl")


def test_resume_without_checkpoint_is_one_line_error(tmp_path):
    job = synthetic_job(synthetic_config(**PARAMS))
    with pytest.raises(CheckpointError) as info:
        DefaultTrainer(**PARAMS).fit(job, tmp_path / "none", resume=True)
    message = str(info.value)
    assert "last.pt" in message and "\n" not in message and "without --resume" in message
