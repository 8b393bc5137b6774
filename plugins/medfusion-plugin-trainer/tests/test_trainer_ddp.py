"""DDP: two CPU ranks (gloo) agree, match one process at the same global batch, and trained (every
weight moved from its seeded initial value)."""

from __future__ import annotations

import torch
from medfusion_plugin_trainer.synthetic import synthetic_config, synthetic_job, train_in_children

PARAMS = {"epochs": 2, "lr": 0.01, "progress": "never", "checkpoint_every": 0, "optimizer": "sgd"}


def test_two_gloo_ranks_match_single_process(tmp_path):
    single, ddp = tmp_path / "single", tmp_path / "ddp"
    assert train_in_children(PARAMS, single) == [0]
    assert train_in_children(PARAMS, ddp, world_size=2) == [0, 0]

    rank0 = torch.load(ddp / "weights-rank0.pt", weights_only=True)
    rank1 = torch.load(ddp / "weights-rank1.pt", weights_only=True)
    saved = torch.load(ddp / "checkpoints/last.pt", weights_only=True)["model"]
    want = torch.load(single / "checkpoints/last.pt", weights_only=True)["model"]
    with torch.random.fork_rng():
        initial = synthetic_job(synthetic_config(**PARAMS)).model.state_dict()
    assert initial.keys() == want.keys()
    for key, value in want.items():
        assert torch.equal(rank0[key], rank1[key]), f"ranks disagree on {key}"
        assert torch.equal(saved[key], rank0[key])
        torch.testing.assert_close(rank0[key], value, rtol=1e-4, atol=1e-5)
    unchanged = [key for key, value in initial.items() if torch.allclose(rank0[key], value)]
    assert not unchanged, f"training left these weights at their initial values: {unchanged}"
