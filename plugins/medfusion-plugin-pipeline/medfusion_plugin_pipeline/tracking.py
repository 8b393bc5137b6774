"""What ``train`` tells the trackers: one tracked run per run folder, its variants' metrics keyed
``<variant folder>/<metric>`` (the scheme ``runs import`` uses, so live and imported runs look
alike), checkpoints as artifacts, and a final status (finished, failed, killed on Ctrl-C).

Metric points are batched and sent when the trainer checkpoints (and at the end): the store then
holds the points up to the checkpoint a ``--resume`` continues from, so a SIGKILLed and resumed
run logs every step once. A kill while a checkpoint is still being written in the background
resumes from the previous checkpoint and sends the steps since then again: the store keeps one
point per ``(key, step)`` and replaces them (other trackers may hold them twice). Only rank 0 tracks.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from medfusion_core import runs
from medfusion_core.config import ExperimentConfig, config_to_dict
from medfusion_core.kinds.tracker import (
    MetricPoint,
    RunStart,
    TrackerDispatch,
    fingerprint_files,
    git_state,
    package_versions,
)
from medfusion_core.tracking import metric_points, start_run

_FLUSH_EVENTS = frozenset({"checkpoint", "end"})


def data_fingerprint(manifest: Any) -> str | None:
    """Fingerprint of the manifest file and of every image and mask file it names."""
    files = [manifest.path]
    files += [path for views in manifest.views for path in views]
    files += [path for masks in manifest.masks for path in masks if path is not None]
    try:
        return fingerprint_files(files)
    except OSError:
        return None


def used_plugins(config_dict: dict[str, Any]) -> list[str]:
    """The distributions of the core, the pipeline and every plugin whose component the config names."""
    from medfusion_core.kinds import NAMES
    from medfusion_core.registry import get_registry

    names: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if isinstance(value.get("name"), str):
                names.add(value["name"])
            for child in value.values():
                walk(child)

    walk(config_dict)
    registry = get_registry()
    plugins = {spec.plugin for kind in NAMES for spec in registry.specs(kind) if spec.name in names}
    return ["medfusion-core", "medfusion-plugin-pipeline", *sorted(plugin for plugin in plugins if plugin)]


class TrainingTracking:
    """The tracked run of one ``train`` call (a no-op dispatch off rank 0)."""

    def __init__(
        self, paths: runs.RunPaths, config: ExperimentConfig, manifest: Any, *, resume: bool
    ) -> None:
        self.paths = paths
        if os.environ.get("RANK", "0") != "0":
            self.dispatch, self.run_id = TrackerDispatch({}), ""
            return
        config_dict = config_to_dict(config)
        start = RunStart(
            "",
            paths.root.name,
            "default",
            str(paths.root),
            config=config_dict,
            data_fingerprint=data_fingerprint(manifest),
            lineage={
                "git": git_state(Path.cwd()),
                "versions": package_versions(used_plugins(config_dict)),
            },
        )
        self.dispatch, self.run_id = start_run(paths.root, start, resume=resume)

    def recorder(self, variant: str) -> Callable[[dict[str, Any]], None] | None:
        """The ``TrainingJob.on_record`` callback of ``variant`` (None when nothing tracks)."""
        if not self.dispatch.active:
            return None
        folder = self.paths.variant(variant).root.name
        pending: list[MetricPoint] = []

        def on_record(record: dict[str, Any]) -> None:
            pending.extend(metric_points(folder, [record]))
            event = record.get("event")
            if event in _FLUSH_EVENTS:
                self.dispatch.log_metrics(self.run_id, list(pending))
                pending.clear()
            if event == "checkpoint":
                checkpoint = f"{folder}/checkpoints/{record['file']}"
                self.dispatch.log_artifact(self.run_id, checkpoint, "checkpoint")

        return on_record

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        """End the run finished, failed (an exception) or killed (Ctrl-C) as the block ends."""
        try:
            yield
        except KeyboardInterrupt:
            self.dispatch.end_run(self.run_id, "killed")
            raise
        except BaseException:
            self.dispatch.end_run(self.run_id, "failed")
            raise
        self.dispatch.end_run(self.run_id, "finished")
