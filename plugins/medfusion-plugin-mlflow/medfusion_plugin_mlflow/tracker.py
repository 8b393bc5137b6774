"""The ``mlflow`` tracker: mirrors each MedFusion run into a run of an MLflow experiment.

The MLflow tracking URI is the ``uri`` param, else ``$MEDFUSION_MLFLOW_URI``, else
``$MLFLOW_TRACKING_URI``; with none of them the tracker is inactive (every event is a no-op) and
says so once per process on the ``medfusion.tracking.mlflow`` logger. MLflow is imported on the first
``start_run`` of an active tracker.

An MLflow run is found again by its ``medfusion.run_id`` tag, so a resumed run (``--resume``, or
another process) continues the same MLflow run. MLflow params cannot change once logged: a param
logged again with another value is kept as the tag ``medfusion.param.<key>`` (latest value).
Metric points are buffered and sent with ``log_batch`` once 1000 are waiting or ``flush_seconds``
have passed since the last send, and always before a status change, an artifact and the end, so
that per-step logging does not wait on MLflow at every step; a killed process loses at most the
last ``flush_seconds`` of points in MLflow (the run folder keeps them all).
Experiments this tracker creates on a ``sqlite:///`` store keep their artifacts in
``mlartifacts/`` next to the database file. Errors are raised to the caller, which for a run is
:class:`medfusion_core.kinds.tracker.TrackerDispatch`: it reports them once and never fails the run.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medfusion_core.kinds.tracker import MetricPoint, RunStart
from medfusion_plugin_mlflow import mapping

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

#: Environment variables naming the tracking URI, the first set one wins.
URI_VARIABLES: tuple[str, ...] = ("MEDFUSION_MLFLOW_URI", "MLFLOW_TRACKING_URI")

logger = logging.getLogger("medfusion.tracking.mlflow")
_said_inactive = False


def tracking_uri(uri: str | None = None) -> str | None:
    """The MLflow tracking URI to use: ``uri``, else the first of :data:`URI_VARIABLES` set."""
    return uri or next((os.environ[name] for name in URI_VARIABLES if os.environ.get(name)), None)


def _say_inactive() -> None:
    global _said_inactive
    if not _said_inactive:
        _said_inactive = True
        logger.info(
            "mlflow tracker inactive: set MEDFUSION_MLFLOW_URI or MLFLOW_TRACKING_URI "
            "(e.g. sqlite:///mlflow.db or http://host:5000) to mirror runs into MLflow"
        )


def _artifact_location(uri: str) -> str | None:
    prefix = "sqlite:///"
    if not uri.startswith(prefix) or uri == f"{prefix}:memory:":
        return None
    return str(Path(uri[len(prefix) :]).resolve().parent / "mlartifacts")


class _Run:
    """What the tracker remembers of one mirrored run."""

    def __init__(self, mlflow_id: str, run_dir: str, params: Mapping[str, str]) -> None:
        self.mlflow_id = mlflow_id
        self.run_dir = run_dir
        self.params = dict(params)
        self.pending: list[tuple[str, float, int, int]] = []
        self.flushed_at = time.monotonic()


class MlflowTracker:
    """A :class:`medfusion_core.kinds.tracker.Tracker` writing to an MLflow tracking server or store.

    Args:
        uri: the MLflow tracking URI (default: see :func:`tracking_uri`).
        copy_artifacts: also upload artifact files into MLflow's artifact store; by default an
            artifact is recorded as the tag ``medfusion.artifact.<path>`` = kind only (the run
            folder stays the source of truth for files).
        flush_seconds: the longest time metric points wait in the buffer (0: send at once).
    """

    def __init__(
        self, uri: str | None = None, copy_artifacts: bool = False, flush_seconds: float = 2.0
    ) -> None:
        self.uri = tracking_uri(uri)
        self.copy_artifacts = copy_artifacts
        self.flush_seconds = flush_seconds
        self._client: MlflowClient | None = None
        self._runs: dict[str, _Run] = {}
        if self.uri is None:
            _say_inactive()

    @property
    def active(self) -> bool:
        """Whether a tracking URI is set (an inactive tracker ignores every event)."""
        return self.uri is not None

    def _connect(self) -> MlflowClient:
        if self._client is None:
            from mlflow.tracking import MlflowClient

            self._client = MlflowClient(tracking_uri=self.uri)
        return self._client

    def _run(self, run_id: str) -> _Run:
        try:
            return self._runs[run_id]
        except KeyError:
            raise RuntimeError(f"the mlflow tracker has no started run {run_id!r}") from None

    def _experiment_id(self, name: str) -> str:
        from mlflow.exceptions import MlflowException

        client = self._connect()
        found = client.get_experiment_by_name(name)
        if found is not None:
            return found.experiment_id
        try:
            return client.create_experiment(name, artifact_location=_artifact_location(self.uri or ""))
        except MlflowException:  # created meanwhile by another process
            found = client.get_experiment_by_name(name)
            if found is None:
                raise
            return found.experiment_id

    def _find(self, run_id: str) -> str | None:
        """The MLflow run tagged with ``run_id``, in any experiment (a later ``evaluate`` may
        name another experiment than the training did)."""
        client = self._connect()
        experiments = [experiment.experiment_id for experiment in client.search_experiments()]
        found = client.search_runs(experiments, f"tags.`{mapping.RUN_ID_TAG}` = '{run_id}'", max_results=1)
        return found[0].info.run_id if found else None

    def start_run(self, run: RunStart) -> None:
        """Create the MLflow run (tags: run id, folder, fingerprint, lineage), or mark the one with
        the same ``medfusion.run_id`` (in any experiment) running again. The config's params
        follow as the dispatch's ``log_params`` event."""
        if not self.active:
            return
        client = self._connect()
        mlflow_id = self._find(run.run_id)
        if mlflow_id is None:
            experiment_id = self._experiment_id(run.experiment or "medfusion")
            tags = mapping.run_tags(run.run_id, run.run_dir, run.data_fingerprint, run.lineage)
            mlflow_id = client.create_run(experiment_id, run_name=run.name, tags=tags).info.run_id
            logged: Mapping[str, str] = {}
        else:
            client.update_run(mlflow_id, status=mapping.STATUS["running"])
            logged = client.get_run(mlflow_id).data.params
        self._runs[run.run_id] = _Run(mlflow_id, run.run_dir, logged)

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        """Log new params (flattened); a param already logged with another value becomes a tag."""
        if not self.active:
            return
        from mlflow.entities import Param, RunTag

        run = self._run(run_id)
        flat = mapping.params(params)
        new = {key: value for key, value in flat.items() if key not in run.params}
        changed = {
            mapping.safe_key(f"medfusion.param.{key}"): value
            for key, value in flat.items()
            if key in run.params and run.params[key] != value
        }
        client = self._connect()
        for part in mapping.chunks(list(new.items()), mapping.MAX_PARAMS_TAGS_PER_BATCH):
            client.log_batch(run.mlflow_id, params=[Param(key, value) for key, value in part])
        for part in mapping.chunks(list(changed.items()), mapping.MAX_PARAMS_TAGS_PER_BATCH):
            client.log_batch(run.mlflow_id, tags=[RunTag(key, value) for key, value in part])
        run.params.update(new)

    def log_metrics(self, run_id: str, points: Sequence[MetricPoint]) -> None:
        """Buffer metric points (step and time kept); send them when the buffer is due."""
        if not self.active:
            return
        run = self._run(run_id)
        run.pending.extend(mapping.metric_rows(points))
        due = time.monotonic() - run.flushed_at >= self.flush_seconds
        if len(run.pending) >= mapping.MAX_METRICS_PER_BATCH or (due and run.pending):
            self._flush(run)

    def _flush(self, run: _Run) -> None:
        """Send the buffered points, 1000 per ``log_batch`` call."""
        from mlflow.entities import Metric

        rows, run.pending = run.pending, []
        run.flushed_at = time.monotonic()
        for part in mapping.chunks(rows, mapping.MAX_METRICS_PER_BATCH):
            metrics = [Metric(key, value, timestamp, step) for key, value, timestamp, step in part]
            self._connect().log_batch(run.mlflow_id, metrics=metrics)

    def log_artifact(self, run_id: str, path: str, kind: str) -> None:
        """Tag the artifact's path with its kind; with ``copy_artifacts``, upload the file too
        (under the same folder as in the run folder) when it exists."""
        if not self.active:
            return
        run = self._run(run_id)
        self._flush(run)
        client = self._connect()
        kind_text = mapping.as_text(kind, mapping.MAX_TAG_VALUE_LENGTH)
        client.set_tag(run.mlflow_id, mapping.artifact_tag(path), kind_text)
        local = Path(run.run_dir) / path
        if self.copy_artifacts and local.is_file():
            folder = Path(path).parent.as_posix()
            client.log_artifact(run.mlflow_id, str(local), None if folder == "." else folder)

    def set_status(self, run_id: str, status: str) -> None:
        """Set the MLflow run's status (``RUNNING``, ``FINISHED``, ``FAILED``, ``KILLED``)."""
        if not self.active:
            return
        run = self._run(run_id)
        self._flush(run)
        self._connect().update_run(run.mlflow_id, status=mapping.STATUS[status])

    def resolve(self, ref: str) -> tuple[str, str | None] | None:
        """``(run folder, variant)`` behind an MLflow registered model version ``NAME@alias`` or
        ``NAME/N`` whose run mirrors a MedFusion run, or None when MLflow does not know it.

        The variant is the version's ``medfusion.variant`` tag, else the last folder of its source
        when the run folder has it (``runs:/<id>/fused``), else None."""
        name, version, alias = mapping.model_ref(ref)
        if not self.active or name is None:
            return None
        from mlflow.exceptions import MlflowException

        client = self._connect()
        try:
            found = (
                client.get_model_version_by_alias(name, alias)
                if alias is not None
                else client.get_model_version(name, str(version))
            )
        except MlflowException as exc:
            if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
                return None
            raise
        if not found.run_id:
            return None
        run_dir = client.get_run(found.run_id).data.tags.get("medfusion.run_dir")
        if not run_dir:
            return None
        variant = (found.tags or {}).get("medfusion.variant")
        last = (found.source or "").rstrip("/").rpartition("/")[2]
        if variant is None and last and (Path(run_dir) / last).is_dir():
            variant = last
        return run_dir, variant

    def end_run(self, run_id: str, status: str) -> None:
        """Terminate the MLflow run with its final status and end time."""
        if not self.active:
            return
        run = self._run(run_id)
        self._flush(run)
        self._connect().set_terminated(run.mlflow_id, mapping.STATUS[status])
        del self._runs[run_id]
