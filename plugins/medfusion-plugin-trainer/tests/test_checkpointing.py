"""Background checkpoint writes: snapshot at submit time, errors surface on the training thread."""

from __future__ import annotations

import pytest
import torch
from medfusion_plugin_trainer.checkpointing import CheckpointWriter

from medfusion_core.errors import CheckpointError
from medfusion_core.runs import load_checkpoint


def test_written_state_is_the_snapshot_taken_at_submit(tmp_path):
    weights = torch.zeros(1000)
    linked = []
    writer = CheckpointWriter()
    writer.submit(tmp_path / "last.pt", {"model": {"w": weights}, "step": 3}, then=lambda: linked.append(1))
    weights.add_(1.0)  # training goes on while the file is written
    writer.close()
    state = load_checkpoint(tmp_path / "last.pt")
    assert state["step"] == 3 and torch.equal(state["model"]["w"], torch.zeros(1000))
    assert linked == [1]


def test_failed_write_is_a_one_line_error_at_the_next_wait(tmp_path):
    blocker = tmp_path / "checkpoints"
    blocker.write_text("a file where the folder should be")
    writer = CheckpointWriter()
    writer.submit(blocker / "last.pt", {"step": 1})
    with pytest.raises(CheckpointError) as info:
        writer.close()
    message = str(info.value)
    assert "last.pt" in message and "could not write the checkpoint" in message and "\n" not in message
