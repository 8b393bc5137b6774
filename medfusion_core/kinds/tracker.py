"""The tracker kind: receivers of a run's events (start, params, metrics, artifacts, status, end).

A tracker records what happens during ``train``, ``evaluate``, ``export`` and ``predict`` somewhere
else than the run folder (a database, an MLflow server); the run folder stays the source of truth
for files. Several trackers can be active at once: :class:`TrackerDispatch` fans every event out
to all of them, and a tracker that raises is reported once and disabled for the rest of the run,
so that a tracker never fails the caller.

The lineage helpers at the end (:func:`git_state`, :func:`package_versions`,
:func:`fingerprint_files`) build the ``RunStart.lineage`` and ``data_fingerprint`` a run reports.
This module imports neither torch nor numpy.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import attrs

from medfusion_core.kinds.base import Info, Kind, hookspec

if TYPE_CHECKING:
    from medfusion_core.specs import ComponentSpec


#: Run statuses a tracker receives (``set_status`` / ``end_run``).
STATUSES: tuple[str, ...] = ("running", "finished", "failed", "killed")

#: One metric point: ``(key, value, step, timestamp)``; the timestamp is Unix seconds.
MetricPoint = tuple[str, float, int, float]

logger = logging.getLogger("medfusion.tracking")


@attrs.frozen
class RunStart:
    """What a tracker learns when a run starts (or resumes).

    ``run_id`` is chosen by the caller (a UUID hex string) and names the run in every later
    event; ``config`` is the resolved configuration as plain containers; ``data_fingerprint``
    hashes the manifest and the files it names; ``lineage`` holds the environment: git commit and
    dirty state, versions of the core and of every plugin that took part.
    """

    run_id: str
    name: str
    experiment: str
    run_dir: str
    config: Mapping[str, Any] = attrs.field(factory=dict)
    data_fingerprint: str | None = None
    lineage: Mapping[str, Any] = attrs.field(factory=dict)
    resumed: bool = False


@runtime_checkable
class Tracker(Protocol):
    """The events a tracker receives, in order: ``start_run`` first, ``end_run`` last."""

    def start_run(self, run: RunStart) -> None:
        """A run starts (``run.resumed`` is True when it continues an earlier one); its config
        follows as a :meth:`log_params` event of the flattened keys."""

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        """Flat parameters (``{"model.backbone.name": "swin_tiny"}``)."""

    def log_metrics(self, run_id: str, points: Sequence[MetricPoint]) -> None:
        """A batch of metric points ``(key, value, step, timestamp)`` (per step or per epoch)."""

    def log_artifact(self, run_id: str, path: str, kind: str) -> None:
        """A file written under the run folder (``path`` relative to it), e.g. kind ``checkpoint``."""

    def set_status(self, run_id: str, status: str) -> None:
        """The run's status changed to one of :data:`STATUSES`."""

    def end_run(self, run_id: str, status: str) -> None:
        """The run ended with a final status (``finished``, ``failed`` or ``killed``)."""


class ResolvingTracker(Tracker, Protocol):
    """A tracker that also knows registered models (optional ``resolve``)."""

    def resolve(self, ref: str) -> tuple[str | Path, str] | None:
        """``(run folder, variant)`` behind ``NAME@alias`` / ``NAME/N``, or None when unknown."""


@hookspec
def medfusion_register_trackers() -> list[ComponentSpec] | None:
    """Register trackers that receive the events of every run.

    Factory signature: ``factory(**params)`` returning an object that implements
    :class:`medfusion_core.kinds.tracker.Tracker`: ``start_run(RunStart)``,
    ``log_params(run_id, params)``, ``log_metrics(run_id, [(key, value, step, timestamp), ...])``
    (batched), ``log_artifact(run_id, path, kind)``, ``set_status(run_id, status)`` and
    ``end_run(run_id, status)``; optionally ``resolve(ref) -> (run folder, variant) | None`` for
    model references (``NAME@alias``, ``NAME/3``) that ``evaluate``, ``export`` and ``predict``
    accept where they take a run folder. The caller picks ``run_id`` (a UUID hex string) and uses it in
    every event; the dispatch follows ``start_run`` with ``log_params`` of the flattened
    ``RunStart.config``, so a tracker need not read the config for its params.
    Several trackers may be active at once; one that raises is reported once with its name and
    receives no further events of the run, and never fails the training. The run folder stays the
    source of truth for files: artifacts are paths relative to it.
    """


class TrackerDispatch:
    """Fans a run's events out to several trackers, isolating their failures.

    A tracker that raises is reported with one warning line on the ``medfusion.tracking``
    logger naming the tracker, the event and the error, then disabled for the rest of the run.
    No event ever raises to the caller.
    """

    def __init__(self, trackers: Mapping[str, Tracker]) -> None:
        self._trackers = dict(trackers)
        self.failures: dict[str, str] = {}

    @property
    def active(self) -> list[str]:
        """Names of the trackers that still receive events."""
        return [name for name in self._trackers if name not in self.failures]

    def _call(self, name: str, event: str, *args: Any) -> Any:
        try:
            return getattr(self._trackers[name], event)(*args)
        except Exception as exc:  # a tracker must never fail the run
            message = f"{type(exc).__name__}: {exc}".splitlines()[0]
            self.failures[name] = message
            logger.warning(
                "tracker %r failed in %s (%s); it is disabled for the rest of this run",
                name,
                event,
                message,
            )
            return None

    def _emit(self, event: str, *args: Any) -> None:
        for name in self.active:
            self._call(name, event, *args)

    def resolve(self, ref: str) -> tuple[str | Path, str] | None:
        """The first answer of a tracker with a ``resolve`` method to a model reference, or None."""
        for name in self.active:
            if callable(getattr(self._trackers[name], "resolve", None)):
                found = self._call(name, "resolve", ref)
                if found is not None:
                    return found
        return None

    def start_run(self, run: RunStart) -> None:
        """Send :meth:`Tracker.start_run` to every active tracker, then the run's config as
        :meth:`Tracker.log_params` (flattened to dotted keys), so that every tracker receives the
        parameters as a params event."""
        self._emit("start_run", run)
        if run.config:
            self._emit("log_params", run.run_id, flatten(run.config))

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        """Send :meth:`Tracker.log_params` to every active tracker."""
        self._emit("log_params", run_id, params)

    def log_metrics(self, run_id: str, points: Sequence[MetricPoint]) -> None:
        """Send :meth:`Tracker.log_metrics` to every active tracker."""
        self._emit("log_metrics", run_id, points)

    def log_artifact(self, run_id: str, path: str, kind: str) -> None:
        """Send :meth:`Tracker.log_artifact` to every active tracker."""
        self._emit("log_artifact", run_id, path, kind)

    def set_status(self, run_id: str, status: str) -> None:
        """Send :meth:`Tracker.set_status` to every active tracker."""
        self._emit("set_status", run_id, status)

    def end_run(self, run_id: str, status: str) -> None:
        """Send :meth:`Tracker.end_run` to every active tracker."""
        self._emit("end_run", run_id, status)


def check_tracker(tracker: object, run_dir: str = "/tmp/medfusion-conformance-run") -> None:
    """Conformance check: ``tracker`` implements :class:`Tracker` and takes a whole run's events
    (start, params, metrics, artifact, status, end, then a resumed start and end) without raising.

    Raises ``AssertionError`` naming the missing method or the event that failed.
    """
    missing = [
        name
        for name in ("start_run", "log_params", "log_metrics", "log_artifact", "set_status", "end_run")
        if not callable(getattr(tracker, name, None))
    ]
    if missing:
        raise AssertionError(f"{type(tracker).__name__} lacks tracker methods: {', '.join(missing)}")
    run_id = "0" * 31 + "1"
    events: list[tuple[str, tuple[Any, ...]]] = [
        ("start_run", (RunStart(run_id, "conformance", "conformance", run_dir, config={"a": {"b": 1}}),)),
        ("log_params", (run_id, {"lr": 0.001, "model.name": "x"})),
        ("log_metrics", (run_id, [("loss", 1.0, 0, 1.0), ("loss", 0.5, 1, 2.0), ("val_auroc", 0.7, 1, 2.0)])),
        ("log_metrics", (run_id, [])),
        ("log_artifact", (run_id, "fused/checkpoints/best.pt", "checkpoint")),
        ("set_status", (run_id, "running")),
        ("end_run", (run_id, "killed")),
        ("start_run", (RunStart(run_id, "conformance", "conformance", run_dir, resumed=True),)),
        ("log_metrics", (run_id, [("loss", 0.25, 2, 3.0)])),
        ("end_run", (run_id, "finished")),
    ]
    for event, args in events:
        try:
            getattr(tracker, event)(*args)
        except Exception as exc:
            raise AssertionError(
                f"{type(tracker).__name__}.{event} raised {type(exc).__name__}: {exc}"
            ) from exc


def git_state(folder: str | Path) -> dict[str, Any] | None:
    """``{"commit": sha, "dirty": bool}`` of the git checkout holding ``folder`` (tracked files
    only count as dirty), or None outside a checkout or without git."""
    import subprocess  # here, not at the top: every `medfusion` start imports the kinds

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", "-C", str(folder), *args], capture_output=True, text=True, check=False, timeout=30
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return None
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit.strip(), "dirty": bool(status and status.strip())}


def package_versions(distributions: Iterable[str]) -> dict[str, str | None]:
    """Installed version of each distribution (``medfusion-core``, the plugins that took part);
    None for one that is not installed."""
    from importlib import metadata  # here, not at the top: every `medfusion` start imports the kinds

    versions: dict[str, str | None] = {}
    for name in distributions:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return dict(sorted(versions.items()))


def flatten(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings as dotted keys (``{"model": {"lr": 1}}`` -> ``{"model.lr": 1}``): how a
    tracker turns ``RunStart.config`` into flat params."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def fingerprint_files(paths: Iterable[str | Path], chunk: int = 1 << 20) -> str:
    """``sha256:<hex>`` over the names and contents of ``paths``, in the order given (a manifest
    first, then the image files it names): any changed byte, renamed or reordered file changes it."""
    digest = hashlib.sha256()
    for path in paths:
        name = str(path).encode()
        digest.update(len(name).to_bytes(8, "little") + name)
        file_digest = hashlib.sha256()
        with open(path, "rb") as handle:
            while block := handle.read(chunk):
                file_digest.update(block)
        digest.update(file_digest.digest())
    return f"sha256:{digest.hexdigest()}"


KIND = Kind("tracker", medfusion_register_trackers, Info, Tracker)
