"""The data nodes on the demo data, in this process: dataset (checked, fingerprinted, recorded),
split and k-fold configs that the core's config loader accepts, one-line errors for bad
parameters; a checkpoint record's size and sha256."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import pytest
import yaml
from medfusion_plugin_workflows.context import EngineContext
from medfusion_plugin_workflows.errors import WorkflowError
from medfusion_plugin_workflows.nodes.data import (
    DatasetNode,
    DatasetParams,
    KFoldNode,
    KFoldParams,
    SplitNode,
    SplitParams,
)

from medfusion_core.config import load_config


def _context(tmp_path, name: str, records: list | None = None) -> EngineContext:
    lines: list[str] = []
    kept = [] if records is None else records
    return EngineContext(
        work_dir=tmp_path / name,
        runs_dir=tmp_path / "runs",
        tracking_url=f"sqlite:///{tmp_path / 'medfusion.db'}",
        cancel=threading.Event(),
        emit=lines.append,
        record=lambda what, values: kept.append((what, values)),
        env={},
    )


def test_dataset_split_and_kfold(demo_config, tmp_path) -> None:
    node = DatasetNode()
    records: list = []
    dataset = node.run(
        {}, DatasetParams(config=str(demo_config), overrides=["seed=3"]), _context(tmp_path, "data", records)
    )["dataset"]
    assert dataset["patients"] == 40 and dataset["fingerprint"].startswith("sha256:")
    assert records == [
        (
            "datasets",
            {
                "name": "demo",
                "fingerprint": dataset["fingerprint"],
                "manifest": dataset["manifest"],
                "config": dataset["config"],
                "patients": 40,
            },
        )
    ]
    assert load_config(dataset["config"], check=False).seed == 3
    again = node.run({}, DatasetParams(config=str(demo_config)), _context(tmp_path, "again"))["dataset"]
    assert again["fingerprint"] == dataset["fingerprint"]  # same files, same fingerprint

    split = SplitNode().run({"dataset": dataset}, SplitParams(0.25, 0.25, 7), _context(tmp_path, "split"))[
        "dataset"
    ]
    config = load_config(split["config"], check=False)
    assert (config.data.val_fraction, config.data.test_fraction, config.seed) == (0.25, 0.25, 7)
    with pytest.raises(WorkflowError, match="sum to less than 1"):
        SplitNode().run({"dataset": dataset}, SplitParams(0.5, 0.5), _context(tmp_path, "bad"))

    folds = KFoldNode().run({"dataset": split}, KFoldParams(k=3), _context(tmp_path, "folds"))["folds"]
    loaded = [load_config(fold["config"], check=False) for fold in folds]
    assert [(c.data.folds, c.data.fold, c.name) for c in loaded] == [
        (3, i, f"demo-fold{i}") for i in range(3)
    ]
    assert yaml.safe_load(Path(folds[0]["config"]).read_text())["data"]["manifest"] == dataset["manifest"]
    with pytest.raises(WorkflowError, match="k must be at least 2"):
        KFoldNode().run({"dataset": split}, KFoldParams(k=1), _context(tmp_path, "k1"))


def test_dataset_needs_a_source(tmp_path) -> None:
    with pytest.raises(WorkflowError, match=r"give params\.config"):
        DatasetNode().run({}, DatasetParams(), _context(tmp_path, "none"))


def test_a_checkpoint_record_hashes_the_file(tmp_path) -> None:
    records: list = []
    context = _context(tmp_path, "train", records)
    checkpoint = tmp_path / "last.pt"
    checkpoint.write_bytes(b"weights" * 1000)
    context.record_checkpoint(path=checkpoint, variant="fused", role="last", epoch=3)
    ((what, values),) = records
    assert what == "checkpoints" and (values["size"], values["sha256"], values["epoch"]) == (
        7000,
        hashlib.sha256(b"weights" * 1000).hexdigest(),
        3,
    )
    with pytest.raises(WorkflowError, match=r"checkpoint .*missing\.pt: cannot be read \(No such file"):
        context.record_checkpoint(path=tmp_path / "missing.pt", variant="fused", role="best")
    assert len(records) == 1
