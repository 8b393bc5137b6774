"""Importing run folders made before the store existed (``medfusion runs import DIR``).

One store run per run folder (named after the folder); its config becomes the lineage's config
and the flattened params; each variant's ``metrics.jsonl`` step and epoch records become metric
points keyed ``<variant folder>/<metric>`` (``fused/val_auroc``, ``image-only/loss``) at their
step and time; every file of the folder is recorded as an artifact. A run whose variants all wrote
``summary.json`` is ``finished``, otherwise ``killed``. A folder already in the store is skipped.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from medfusion_core.kinds.tracker import flatten
from medfusion_core.runs import CONFIG_FILE, METRICS_FILE, SUMMARY_FILE, VARIANT_DIRS, read_jsonl
from medfusion_core.tracking import metric_points
from medfusion_plugin_tracking.errors import TrackingError
from medfusion_plugin_tracking.store import TrackingStore

_ARTIFACT_KINDS = {"checkpoints": "checkpoint", "export": "export", "report": "report"}


def run_folders(path: str | Path) -> list[Path]:
    """``path`` itself when it is a run folder, else its subfolders that are run folders."""
    path = Path(path).resolve()
    if (path / CONFIG_FILE).is_file():
        return [path]
    found = (
        sorted(child for child in path.iterdir() if (child / CONFIG_FILE).is_file()) if path.is_dir() else []
    )
    if not found:
        raise TrackingError(f"{path}: neither a run folder nor a folder of runs (no {CONFIG_FILE} found)")
    return found


def _artifact_kind(relative: Path) -> str:
    if relative.name == METRICS_FILE:
        return "metrics"
    return next((kind for part, kind in _ARTIFACT_KINDS.items() if part in relative.parts), "file")


def import_run(store: TrackingStore, folder: Path, experiment: str = "default") -> str | None:
    """Record one run folder in the store; its new run id, or None when it was there already."""
    folder = folder.resolve()
    if store.run_ids_for_dir(str(folder)):
        return None
    config = yaml.safe_load((folder / CONFIG_FILE).read_text(encoding="utf-8")) or {}
    variants = [name for name in VARIANT_DIRS.values() if (folder / name / METRICS_FILE).is_file()]
    records = {name: read_jsonl(folder / name / METRICS_FILE) for name in variants}
    times = [float(record["time"]) for rows in records.values() for record in rows if "time" in record]
    start = min(times) if times else (folder / CONFIG_FILE).stat().st_mtime
    run_id = store.create_run(
        folder.name,
        experiment=experiment,
        run_dir=folder,
        lineage={"config": config, "imported": True},
        start_time=start,
    )
    if isinstance(config, dict):
        store.log_params(run_id, flatten(config))
    store.log_metrics(run_id, [point for name in variants for point in metric_points(name, records[name])])
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            relative = path.relative_to(folder)
            store.log_artifact(run_id, relative.as_posix(), _artifact_kind(relative))
    finished = bool(variants) and all((folder / name / SUMMARY_FILE).is_file() for name in variants)
    store.set_status(run_id, "finished" if finished else "killed", end_time=max(times) if times else start)
    return run_id
