"""The built-in tracker: records every run's events in the :class:`TrackingStore`.

The store is opened on the first ``start_run``: at ``url`` when given, else at
``$MEDFUSION_TRACKING_URI``, else in ``<runs folder>/medfusion.db`` next to the run folder. The
resolved config goes into the run's lineage as it is; its params arrive flattened to dotted keys as
the dispatch's ``log_params`` event that follows ``start_run``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from medfusion_core.kinds.tracker import MetricPoint, RunStart
from medfusion_plugin_tracking.engine import default_url
from medfusion_plugin_tracking.errors import TrackingError
from medfusion_plugin_tracking.store import TrackingStore


class StoreTracker:
    """A :class:`medfusion_core.kinds.tracker.Tracker` writing to the tracking store."""

    def __init__(self, url: str | None = None) -> None:
        self._url = url
        self._store: TrackingStore | None = None

    def _open(self, run: RunStart) -> TrackingStore:
        if self._store is None:
            runs_dir = Path(run.run_dir).parent if run.run_dir else Path("runs")
            self._store = TrackingStore(self._url, runs_dir=runs_dir)
        return self._store

    @property
    def store(self) -> TrackingStore:
        """The open store (after ``start_run``)."""
        if self._store is None:
            raise RuntimeError("the store tracker has not started a run yet")
        return self._store

    def start_run(self, run: RunStart) -> None:
        """Create the run (its config kept in the lineage), or mark a resumed one running again.
        The config's params follow as a ``log_params`` event from the dispatch."""
        store = self._open(run)
        if run.resumed and store.has_run(run.run_id):
            store.set_status(run.run_id, "running")
        else:
            store.create_run(
                run.name,
                experiment=run.experiment,
                run_dir=run.run_dir,
                run_id=run.run_id,
                lineage={**dict(run.lineage), "config": dict(run.config)},
                data_fingerprint=run.data_fingerprint,
            )

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        """Store flat parameters."""
        self.store.log_params(run_id, params)

    def log_metrics(self, run_id: str, points: Sequence[MetricPoint]) -> None:
        """Store a batch of metric points in one transaction."""
        self.store.log_metrics(run_id, points)

    def log_artifact(self, run_id: str, path: str, kind: str) -> None:
        """Record a file of the run folder."""
        self.store.log_artifact(run_id, path, kind)

    def set_status(self, run_id: str, status: str) -> None:
        """Store the run's new status."""
        self.store.set_status(run_id, status)

    def resolve(self, ref: str) -> tuple[Path, str] | None:
        """``(run folder, variant)`` of the model version ``NAME@alias`` / ``NAME/N``, or None."""
        url = self._url or default_url()
        missing_file = url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file()
        if missing_file or ("@" not in ref and "/" not in ref.strip("/")):
            return None  # a typo'd path must not create a store
        with TrackingStore(url) as store:
            try:
                return store.model_run_folder(ref)
            except TrackingError:
                return None

    def end_run(self, run_id: str, status: str) -> None:
        """Store the final status and end time, then release the connections."""
        self.store.set_status(run_id, status)
        self.store.close()
        self._store = None
