"""The run folder helpers: atomic writes, JSON lines, checkpoints that refuse pickled objects."""

from __future__ import annotations

import itertools
import os
import pickle

import pytest
import torch

from medfusion_core import runs
from medfusion_core.errors import CheckpointError
from medfusion_core.kinds import trainer as trainer_kind


class NotATensor:
    """A class that ``weights_only`` loading must refuse."""


def test_atomic_write_leaves_old_file_when_writer_fails(tmp_path):
    target = tmp_path / "sub" / "file.json"
    runs.write_json(target, {"a": 1})

    def explode(handle):
        handle.write(b"partial")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        runs.atomic_write(target, explode)
    assert runs.read_json(target) == {"a": 1}
    assert os.listdir(target.parent) == ["file.json"]  # no temporary file left behind


def test_jsonl_ignores_torn_last_line_and_truncates(tmp_path):
    path = tmp_path / "metrics.jsonl"
    for step in (1, 2, 3):
        runs.append_jsonl(path, {"event": "step", "step": step})
    with open(path, "a", encoding="utf-8") as handle:
        handle.write('{"event": "st')  # a crash mid-line
    assert [r["step"] for r in runs.read_jsonl(path)] == [1, 2, 3]
    runs.truncate_jsonl(path, lambda record: record["step"] <= 2)
    assert [r["step"] for r in runs.read_jsonl(path)] == [1, 2]


def test_checkpoint_round_trip_with_weights_only(tmp_path):
    state = {"model": {"w": torch.arange(3.0)}, "rng": [1, [2, 3], None], "position": {"epoch": 1}}
    path = runs.save_checkpoint(tmp_path / "ck" / "last.pt", state)
    loaded = runs.load_checkpoint(path)
    assert torch.equal(loaded["model"]["w"], torch.arange(3.0)) and loaded["rng"] == [1, [2, 3], None]
    assert torch.load(path, weights_only=True)["position"] == {"epoch": 1}


def test_truncated_checkpoint_gives_one_line_error_naming_file(tmp_path):
    path = runs.save_checkpoint(tmp_path / "last.pt", {"model": {"w": torch.zeros(1000)}})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError) as info:
        runs.load_checkpoint(path)
    message = str(info.value)
    assert str(path) in message and "truncated" in message and "\n" not in message


def test_pickled_object_is_refused(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"model": {}, "payload": NotATensor()}, path)
    with pytest.raises(CheckpointError) as info:
        runs.load_checkpoint(path)
    message = str(info.value)
    assert str(path) in message and "pickled" in message and "\n" not in message
    assert not isinstance(info.value.__cause__, pickle.UnpicklingError)  # raised "from None"


def test_missing_checkpoint_and_non_checkpoint(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        runs.load_checkpoint(tmp_path / "nope.pt")
    runs.save_checkpoint(tmp_path / "other.pt", {"weights": torch.zeros(1)})
    with pytest.raises(CheckpointError, match="not a MedFusion checkpoint"):
        runs.load_checkpoint(tmp_path / "other.pt")


@pytest.mark.parametrize("size,world", [(8, 2), (7, 2), (5, 3), (2, 4)])
def test_shards_partition_the_batch(size, world):
    bounds = [trainer_kind.shard_bounds(size, rank, world) for rank in range(world)]
    assert bounds[0][0] == 0 and bounds[-1][1] == size
    assert all(a[1] == b[0] for a, b in itertools.pairwise(bounds))
    sizes = [stop - start for start, stop in bounds]
    assert max(sizes) - min(sizes) <= 1


def test_shard_batch_slices_tensors_and_lists():
    batch = {"label": torch.arange(5.0), "patient_id": list("abcde")}
    first, second = (trainer_kind.shard_batch(batch, rank, 2) for rank in (0, 1))
    assert first["patient_id"] == ["a", "b", "c"] and second["label"].tolist() == [3.0, 4.0]


def test_run_paths_layout(tmp_path):
    paths = runs.RunPaths(tmp_path / "demo")
    assert paths.variant("image").root.name == "image-only"
    assert paths.variant("clinical").last == tmp_path / "demo/clinical-only/checkpoints/last.pt"
    assert paths.trained_variants() == []
    runs.save_checkpoint(paths.variant("image").last, {"model": {}})
    assert [v.modalities for v in paths.trained_variants()] == ["image"]
    assert paths.variant("image").inference_checkpoint() == paths.variant("image").last
    runs.write_splits(paths.splits, [("p1", "train"), ("p2", "test")])
    assert runs.read_splits(paths.splits) == {"p1": "train", "p2": "test"}


def test_set_aside_until_success_restores_on_failure_and_drops_on_success(tmp_path):
    (tmp_path / "fused").mkdir()
    (tmp_path / "fused" / "last.pt").write_bytes(b"old weights")
    (tmp_path / "config.yaml").write_text("old")
    aside = runs.set_aside_until_success(tmp_path, ["fused", "config.yaml", "absent.json"])
    with pytest.raises(KeyboardInterrupt), aside:
        assert not (tmp_path / "fused").exists()
        (tmp_path / "fused").mkdir()
        (tmp_path / "fused" / "half.pt").write_bytes(b"half")
        (tmp_path / "config.yaml").write_text("new")
        raise KeyboardInterrupt
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml", "fused"]
    assert [p.name for p in (tmp_path / "fused").iterdir()] == ["last.pt"]
    assert (tmp_path / "config.yaml").read_text() == "old"

    with runs.set_aside_until_success(tmp_path, ["fused", "config.yaml"]):
        (tmp_path / "config.yaml").write_text("new")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml"]
    assert (tmp_path / "config.yaml").read_text() == "new"
