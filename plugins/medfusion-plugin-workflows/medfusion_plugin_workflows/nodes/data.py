"""Data nodes: ``dataset`` (a manifest and its config, checked and fingerprinted), ``split``
(validation/test fractions) and ``kfold`` (patient-level folds, one dataset per fold)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import attrs

from medfusion_core.kinds.node import NodeContext
from medfusion_plugin_workflows.errors import WorkflowError
from medfusion_plugin_workflows.nodes.common import config_name, medfusion, parse_overrides, write_config


def describe(config_path: Any) -> dict[str, Any]:
    """The ``dataset`` value of a config: its manifest read and checked (patients, images),
    and the fingerprint of the manifest and every file it names."""
    from medfusion_core.config import load_config
    from medfusion_core.data.manifest import load_manifest
    from medfusion_core.kinds.tracker import fingerprint_files

    config = load_config(config_path, check=False)
    manifest = load_manifest(config.data)
    files = [manifest.path, *(path for views in manifest.views for path in views)]
    files += [path for masks in manifest.masks for path in masks if path is not None]
    return {
        "name": config.name,
        "config": str(config_path),
        "manifest": str(manifest.path),
        "patients": len(manifest.patients),
        "fingerprint": fingerprint_files(files),
    }


@attrs.frozen
class DatasetParams:
    """Where the data comes from."""

    config: str = attrs.field(default="", metadata={"help": "experiment config (YAML) naming the manifest"})
    demo_patients: int = attrs.field(
        default=0, metadata={"help": "> 0: write the synthetic demo data instead"}
    )
    seed: int = attrs.field(default=0, metadata={"help": "seed of the demo data"})
    overrides: list[str] = attrs.field(factory=list, metadata={"help": "config changes, KEY=YAML value"})


class DatasetNode:
    """A dataset: a config and its manifest, checked (every row, every image file) and fingerprinted."""

    inputs: ClassVar[Mapping[str, str]] = {}
    outputs: ClassVar[Mapping[str, str]] = {"dataset": "dataset"}
    optional: ClassVar[frozenset[str]] = frozenset()
    params = DatasetParams

    def run(self, inputs: Mapping[str, Any], params: DatasetParams, context: NodeContext) -> dict[str, Any]:
        """Write the demo data when asked, copy the config with the overrides, check and
        fingerprint; the dataset is recorded."""
        if params.demo_patients > 0:
            folder = context.work_dir / "data"
            medfusion(
                context,
                "demo-data",
                str(folder),
                "--patients",
                str(params.demo_patients),
                "--seed",
                str(params.seed),
                "--force",
            )
            source = folder / "config.yaml"
        elif params.config:
            source = params.config
        else:
            raise WorkflowError("give params.config (an experiment config) or params.demo_patients > 0")
        config = write_config(source, context.work_dir / "config.yaml", parse_overrides(params.overrides))
        dataset = describe(config)
        context.record_dataset(
            name=dataset["name"],
            fingerprint=dataset["fingerprint"],
            manifest=dataset["manifest"],
            config=dataset["config"],
            patients=dataset["patients"],
        )
        context.log(f"{dataset['patients']} patients, {dataset['fingerprint']}")
        return {"dataset": dataset}


@attrs.frozen
class SplitParams:
    """Fractions of patients held out (the split is by patient, stratified, seeded)."""

    val_fraction: float = 0.2
    test_fraction: float = 0.2
    seed: int = 0


class SplitNode:
    """A patient-level train/validation/test split of a dataset."""

    inputs: ClassVar[Mapping[str, str]] = {"dataset": "dataset"}
    outputs: ClassVar[Mapping[str, str]] = {"dataset": "dataset"}
    optional: ClassVar[frozenset[str]] = frozenset()
    params = SplitParams

    def run(self, inputs: Mapping[str, Any], params: SplitParams, context: NodeContext) -> dict[str, Any]:
        """The dataset with the fractions and seed written into its config."""
        if not (
            0 <= params.val_fraction < 1
            and 0 < params.test_fraction < 1
            and params.val_fraction + params.test_fraction < 1
        ):
            raise WorkflowError("val_fraction and test_fraction must be in [0, 1) and sum to less than 1")
        changes = {
            "data.val_fraction": params.val_fraction,
            "data.test_fraction": params.test_fraction,
            "seed": params.seed,
        }
        config = write_config(inputs["dataset"]["config"], context.work_dir / "config.yaml", changes)
        return {"dataset": {**inputs["dataset"], "config": str(config)}}


@attrs.frozen
class KFoldParams:
    """How many folds the non-test patients are dealt into (stratified, by patient)."""

    k: int = 5


class KFoldNode:
    """k-fold cross-validation: one dataset per fold (that fold is the validation set)."""

    inputs: ClassVar[Mapping[str, str]] = {"dataset": "dataset"}
    outputs: ClassVar[Mapping[str, str]] = {"folds": "dataset[]"}
    optional: ClassVar[frozenset[str]] = frozenset()
    params = KFoldParams

    def run(self, inputs: Mapping[str, Any], params: KFoldParams, context: NodeContext) -> dict[str, Any]:
        """``k`` configs with ``data.folds = k`` and ``data.fold = i``, named ``<name>-fold<i>``."""
        if params.k < 2:
            raise WorkflowError(f"k must be at least 2, got {params.k}")
        dataset = inputs["dataset"]
        name = config_name(dataset["config"])
        folds = []
        for fold in range(params.k):
            changes = {"data.folds": params.k, "data.fold": fold, "name": f"{name}-fold{fold}"}
            config = write_config(dataset["config"], context.work_dir / f"fold{fold}.yaml", changes)
            folds.append({**dataset, "name": f"{name}-fold{fold}", "config": str(config)})
        return {"folds": folds}
