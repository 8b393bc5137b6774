"""The trackers of this process: one :class:`TrackerDispatch` over every registered tracker, the
run id a run folder keeps, and run references (``NAME@alias``, ``NAME/3``) resolved through them.

``MEDFUSION_TRACKING=off`` (also ``0``, ``false``, ``no``) turns every tracker off: the dispatch
is empty and commands behave as without a tracking plugin. A tracker that cannot even be created
is reported once, like one that fails later, and never fails the command.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs

from medfusion_core.errors import DataError
from medfusion_core.kinds.tracker import MetricPoint, RunStart, TrackerDispatch
from medfusion_core.runs.io import read_json, write_json

#: Environment switch: ``off`` disables every tracker.
SWITCH_ENV = "MEDFUSION_TRACKING"
#: The file of a run folder naming its tracked run (``{"run_id": ...}``), written atomically.
TRACKING_FILE = "tracking.json"
#: Fields of a metrics record that place it rather than measure something.
POSITION_FIELDS = frozenset({"event", "epoch", "batch", "step", "time", "epoch_index", "best"})

logger = logging.getLogger("medfusion.tracking")


def tracking_enabled() -> bool:
    """False when ``$MEDFUSION_TRACKING`` turns tracking off."""
    return os.environ.get(SWITCH_ENV, "").strip().lower() not in {"off", "0", "false", "no"}


def active_trackers() -> TrackerDispatch:
    """A dispatch over every registered tracker (empty when none is registered or tracking is off)."""
    if not tracking_enabled():
        return TrackerDispatch({})
    from medfusion_core.registry import get_registry

    registry = get_registry()
    trackers: dict[str, Any] = {}
    for spec in registry.specs("tracker"):
        try:
            trackers[spec.qualified_name] = registry.create("tracker", spec.qualified_name)
        except Exception as exc:  # a tracker must never fail the caller
            logger.warning(
                "tracker %r could not start (%s); runs are not sent to it",
                spec.qualified_name,
                f"{type(exc).__name__}: {exc}".splitlines()[0],
            )
    return TrackerDispatch(trackers)


def metric_points(prefix: str, records: Iterable[Mapping[str, Any]]) -> list[MetricPoint]:
    """The numeric fields of ``step`` and ``epoch`` records of a variant's ``metrics.jsonl`` as
    points ``(prefix/key, value, step, time)`` — the one key scheme of live and imported runs."""
    points: list[MetricPoint] = []
    for record in records:
        if record.get("event") not in ("step", "epoch"):
            continue
        step, when = int(record.get("step", 0)), float(record.get("time", 0.0))
        for key, value in record.items():
            if key not in POSITION_FIELDS and isinstance(value, int | float) and not isinstance(value, bool):
                points.append((f"{prefix}/{key}", float(value), step, when))
    return points


def stored_run_id(run_root: Path) -> str | None:
    """The tracked run id a run folder keeps, or None."""
    path = run_root / TRACKING_FILE
    return str(read_json(path)["run_id"]) if path.is_file() else None


def start_run(
    run_root: Path, run: RunStart | None = None, *, resume: bool = False
) -> tuple[TrackerDispatch, str]:
    """Start (or, with ``resume`` and a stored id, continue) the tracked run of ``run_root``.

    ``run`` carries the config and lineage (its ``run_id`` is replaced); the run id is kept in
    ``run_root/tracking.json`` so that ``--resume``, ``evaluate``, ``export`` and ``predict`` reach
    the same tracked run."""
    dispatch = active_trackers()
    previous = stored_run_id(run_root) if resume else None
    run_id = previous or uuid.uuid4().hex
    base = run or RunStart(run_id, run_root.name, "default", str(run_root))
    if dispatch.active:
        write_json(run_root / TRACKING_FILE, {"run_id": run_id})
    dispatch.start_run(attrs.evolve(base, run_id=run_id, resumed=previous is not None))
    return dispatch, run_id


def log_to_run(
    run_root: Path,
    *,
    metrics: Mapping[str, float] | None = None,
    artifacts: Iterable[tuple[Path, str]] = (),
) -> None:
    """Add results of a later command (``evaluate``, ``export``, ``predict``) to the tracked run of
    ``run_root``: metrics at step 0, files as artifacts (relative to the folder when under it,
    else absolute). No-op for a folder without a tracked run or with tracking off."""
    run_id = stored_run_id(run_root)
    if run_id is None:
        return
    dispatch = active_trackers()
    if not dispatch.active:
        return
    dispatch.start_run(RunStart(run_id, run_root.name, "default", str(run_root), resumed=True))
    now = time.time()
    dispatch.log_metrics(run_id, [(key, float(value), 0, now) for key, value in (metrics or {}).items()])
    root = run_root.resolve()
    for path, kind in artifacts:
        resolved = Path(path).resolve()
        shown = resolved.relative_to(root).as_posix() if resolved.is_relative_to(root) else str(resolved)
        dispatch.log_artifact(run_id, shown, kind)
    dispatch.end_run(run_id, "finished")


def resolve_run(ref: str | Path) -> tuple[Path, str | None]:
    """``(run folder, variant or None)`` for a run argument: an existing folder as it is, else a
    reference (``NAME@alias``, ``NAME/3``) the trackers resolve; a one-line error when none does."""
    path = Path(ref).expanduser()
    if path.is_dir():
        return path, None
    found = active_trackers().resolve(str(ref))
    if found is None:
        raise DataError(
            f"{ref}: neither a run folder nor a registered model ('NAME@alias' or 'NAME/N') any tracker knows"
        )
    return Path(found[0]), found[1]
