"""Training-loop behaviour of the default trainer on the synthetic job."""

from __future__ import annotations

import json
import subprocess
import sys

import medfusion_plugin_trainer.hooks as hooks
import pytest
import torch
from medfusion_plugin_trainer.synthetic import synthetic_config, synthetic_job
from medfusion_plugin_trainer.trainer import DefaultTrainer

from medfusion_core.registry import get_registry
from medfusion_core.runs import read_jsonl

QUIET = {"progress": "never", "checkpoint_every": 0}


def _fit(tmp_path, name="run", dropout=0.0, batch_size=8, **params):
    params = {**QUIET, **params}
    job = synthetic_job(synthetic_config(**params), batch_size=batch_size, dropout=dropout)
    summary = DefaultTrainer(**params).fit(job, tmp_path / name)
    return job, summary


def test_hooks_register_default_trainer_without_importing_torch():
    code = (
        "import sys, medfusion_plugin_trainer.hooks as h; h.medfusion_register_trainers(); "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_registry_builds_trainer_that_learns(medfusion_host, tmp_path):
    medfusion_host.register(hooks, "medfusion-plugin-trainer")
    spec = get_registry().resolve("trainer", "default")
    assert spec.plugin == "medfusion-plugin-trainer" and "ema_decay" in spec.params
    params = {**QUIET, "epochs": 6, "lr": 0.01}
    trainer = get_registry().create("trainer", "default", **params)
    job = synthetic_job(synthetic_config(**params))
    summary = trainer.fit(job, tmp_path / "fused")
    epochs = [r for r in read_jsonl(tmp_path / "fused" / "metrics.jsonl") if r["event"] == "epoch"]
    assert len(epochs) == 6 and summary["epochs"] == 6
    assert epochs[-1]["train_loss"] < epochs[0]["train_loss"] - 0.1
    assert summary["best_value"] > 0.8  # val AUROC on a learnable synthetic task
    saved = json.loads((tmp_path / "fused" / "summary.json").read_text())
    assert saved["best_epoch"] == summary["best_epoch"]


def test_unknown_param_names_the_field():
    from medfusion_core.errors import ConfigError

    with pytest.raises(ConfigError, match=r"trainer\.params\.lrate"):
        DefaultTrainer(lrate=0.1)


def test_gradient_accumulation_matches_one_big_batch(tmp_path):
    params = {"epochs": 2, "optimizer": "sgd", "lr": 0.05, "schedule": "constant", "weight_decay": 0.0}
    _, _ = _fit(tmp_path, "big", batch_size=8, **params)
    _, _ = _fit(tmp_path, "acc", batch_size=4, accumulate=2, **params)
    big = torch.load(tmp_path / "big/checkpoints/last.pt", weights_only=True)["model"]
    acc = torch.load(tmp_path / "acc/checkpoints/last.pt", weights_only=True)["model"]
    assert big.keys() == acc.keys()
    for key in big:
        torch.testing.assert_close(acc[key], big[key], rtol=1e-5, atol=1e-6)


def test_early_stopping_stops_after_patience(tmp_path):
    # lr tiny and constant: the validation AUROC never improves after the first epoch
    _, summary = _fit(tmp_path, epochs=10, lr=1e-12, schedule="constant", patience=2)
    assert summary["stopped_early"] is True
    assert summary["epochs"] == 3 and summary["best_epoch"] == 0


def test_ema_weights_follow_the_recurrence(tmp_path):
    decay = 0.5
    _, _ = _fit(tmp_path, "plain", epochs=1, optimizer="sgd", lr=0.05, schedule="constant", log_every=1)
    # re-run with EMA: EMA is only an average, so the raw weights are unchanged
    _, _ = _fit(tmp_path, "ema", epochs=1, optimizer="sgd", lr=0.05, schedule="constant", ema_decay=decay)
    plain = torch.load(tmp_path / "plain/checkpoints/last.pt", weights_only=True)
    ema = torch.load(tmp_path / "ema/checkpoints/last.pt", weights_only=True)
    for key in plain["model"]:
        torch.testing.assert_close(ema["model"][key], plain["model"][key])
    assert plain["ema"] is None
    assert any(not torch.equal(ema["ema"][k], ema["model"][k]) for k in ema["model"])


def test_ema_average_of_known_sequence():
    from medfusion_plugin_trainer.ema import WeightEMA

    model = torch.nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        model.weight.fill_(0.0)
    ema = WeightEMA(model, decay=0.9)
    expected = 0.0
    for value in (1.0, 2.0, 3.0):
        with torch.no_grad():
            model.weight.fill_(value)
        ema.update(model)
        expected = 0.9 * expected + 0.1 * value
    assert ema.state_dict()["weight"].item() == pytest.approx(expected)
    with ema.swapped_into(model):
        assert model.weight.item() == pytest.approx(expected)
    assert model.weight.item() == 3.0


def test_gradient_clipping_bounds_update(tmp_path):
    # with SGD, no momentum and lr 1, the first update equals the (clipped) gradient
    params = {
        "epochs": 1,
        "optimizer": "sgd",
        "momentum": 0.0,
        "lr": 1.0,
        "schedule": "constant",
        "weight_decay": 0.0,
        "clip_grad_norm": 1e-3,
    }
    job = synthetic_job(synthetic_config(**params))
    before = {k: v.clone() for k, v in job.model.state_dict().items()}
    trainer = DefaultTrainer(**QUIET, **params)
    job.batches_per_epoch = 1
    trainer.fit(job, tmp_path / "clip")
    after = torch.load(tmp_path / "clip/checkpoints/last.pt", weights_only=True)["model"]
    norm = torch.sqrt(sum(((after[k] - before[k]) ** 2).sum() for k in before))
    assert norm.item() == pytest.approx(1e-3, rel=1e-3)


def test_class_weights_auto_is_negatives_over_positives():
    from medfusion_plugin_trainer.losses import class_weights

    weights = class_weights("binary", [0, 0, 0, 1], "auto", 1)
    assert weights.tolist() == [3.0]
    multi = class_weights("multiclass", [0, 0, 1, 2, 2, 2], "auto", 3)
    inverse = torch.tensor([1 / 2, 1 / 1, 1 / 3])
    torch.testing.assert_close(multi, inverse / inverse.mean())
    assert class_weights("binary", [0, 1], "none", 1) is None


def test_bf16_autocast_trains_on_cpu(tmp_path):
    _, summary = _fit(tmp_path, epochs=2, lr=0.01, precision="bf16")
    assert summary["final_metrics"]["train_loss"] == pytest.approx(summary["final_metrics"]["train_loss"])
    assert 0.0 < summary["final_metrics"]["val_loss"] < 5.0


@pytest.mark.parametrize("optimizer", ["adamw", "sgd"])
def test_fused_optimizer_steps_like_torch_per_tensor_one(optimizer):
    from medfusion_plugin_trainer.options import TrainerOptions
    from medfusion_plugin_trainer.trainer import _optimizer

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.LayerNorm(7), torch.nn.Linear(7, 1))
    twin = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.LayerNorm(7), torch.nn.Linear(7, 1))
    twin.load_state_dict(model.state_dict())
    options = TrainerOptions(optimizer=optimizer, lr=0.05, weight_decay=0.1)
    fused = _optimizer(model, options)
    assert all(group["fused"] for group in fused.param_groups)
    groups = [
        {"params": [p for p in twin.parameters() if p.ndim > 1], "weight_decay": 0.1},
        {"params": [p for p in twin.parameters() if p.ndim <= 1], "weight_decay": 0.0},
    ]
    reference = (
        torch.optim.SGD(groups, lr=0.05, momentum=0.9, foreach=False)
        if optimizer == "sgd"
        else torch.optim.AdamW(groups, lr=0.05, foreach=False)
    )
    inputs = torch.randn(16, 5)
    for _ in range(5):
        for net, opt in ((model, fused), (twin, reference)):
            opt.zero_grad()
            net(inputs).square().mean().backward()
            opt.step()
    for ours, theirs in zip(model.parameters(), twin.parameters(), strict=True):
        torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-6)


def test_optimizer_falls_back_to_per_tensor_off_cpu_and_cuda():
    from medfusion_plugin_trainer.options import TrainerOptions
    from medfusion_plugin_trainer.trainer import _optimizer

    model = torch.nn.Linear(3, 1, device="meta")
    optimizer = _optimizer(model, TrainerOptions())
    assert not any(group["fused"] for group in optimizer.param_groups)
