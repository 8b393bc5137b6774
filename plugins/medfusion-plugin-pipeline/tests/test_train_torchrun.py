"""``torchrun --nproc_per_node 2 -m medfusion_core train`` (gloo on CPU) gives the weights of one
process at the same global batch, with only rank 0 writing the run.

The model has no batch statistics and no dropout (ViT with LayerNorm, dropout 0), so the two
ranks' averaged gradients over their halves of each batch equal one process's gradient over the
whole batch, up to float summation order. The optimizer is SGD: its update is linear in the
gradient, so summation-order differences stay at rounding level, whereas AdamW's update of a
near-zero gradient is about ``lr * sign(g)`` and a sign flipped by rounding moves a weight by up
to ``2 * lr`` (a CI run failed so on one attention weight).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import torch
import yaml
from medfusion_plugin_pipeline.demo import write_demo

from medfusion_core import runs


def train(config: Path, *launcher: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDFUSION_")}
    env["OMP_NUM_THREADS"] = "1"
    done = subprocess.run(
        [sys.executable, *launcher, "-m", "medfusion_core", "train", str(config)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]


def test_two_ranks_match_one_process_and_only_rank0_writes(tmp_path):
    folder = write_demo(tmp_path / "data", patients=40, seed=4)
    config = yaml.safe_load((folder / "config.yaml").read_text())
    config["data"]["image"]["size"] = [32, 32]
    config["data"]["loader"] = {"batch_size": 8, "workers": 1}
    config["model"]["backbone"] = {"name": "vit_tiny_patch16_224", "params": {"img_size": 32}}
    config["model"]["tabular"]["dropout"] = 0.0
    config["trainer"]["params"] = {
        "epochs": 2,
        "lr": 0.01,
        "optimizer": "sgd",
        "progress": "never",
        "log_every": 1,
    }
    for name in ("single", "ddp"):
        config["name"], config["runs_dir"] = name, str(tmp_path / "runs")
        (folder / f"{name}.yaml").write_text(yaml.safe_dump(config))

    train(folder / "single.yaml")
    train(folder / "ddp.yaml", "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2")

    single, ddp = (runs.RunPaths(tmp_path / "runs" / name).variant("fused") for name in ("single", "ddp"))
    want = runs.load_checkpoint(single.last)
    got = runs.load_checkpoint(ddp.last)
    assert got["position"] == want["position"]
    for key, value in want["model"].items():
        torch.testing.assert_close(got["model"][key], value, rtol=1e-4, atol=1e-5, msg=key)
    # one writer: every record once, and the same steps as the single process
    steps = lambda path: [r["step"] for r in runs.read_jsonl(path) if r["event"] == "step"]  # noqa: E731
    assert steps(ddp.metrics) == steps(single.metrics) == list(range(1, len(steps(single.metrics)) + 1))
    logged = [r["train_loss"] for r in runs.read_jsonl(ddp.metrics) if r["event"] == "epoch"]
    expected = [r["train_loss"] for r in runs.read_jsonl(single.metrics) if r["event"] == "epoch"]
    torch.testing.assert_close(torch.tensor(logged), torch.tensor(expected), rtol=1e-4, atol=1e-5)
