"""The tracking store: runs, their params, tags, metrics and artifacts, and the model registry.

Open it with a SQLAlchemy URL (``sqlite:///runs/medfusion.db`` by default, ``postgresql://...``
for a team); the schema is migrated to the package's head revision on open. Every write is one
transaction: a batch of metric points and the latest-value rows it moves commit together.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from operator import itemgetter
from pathlib import Path
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, insert, or_, select, tuple_, update
from sqlalchemy.orm import Session

from medfusion_core.kinds.tracker import STATUSES, MetricPoint
from medfusion_plugin_tracking import documents, model_registry
from medfusion_plugin_tracking.engine import default_url, make_engines
from medfusion_plugin_tracking.errors import TrackingError
from medfusion_plugin_tracking.listing import (
    Fetch,
    RunJsonMemo,
    reading,
    run_infos,
    runs_query,
    search_query,
)
from medfusion_plugin_tracking.migrate import TRACKING
from medfusion_plugin_tracking.records import ModelVersionInfo, RunDetail, RunInfo
from medfusion_plugin_tracking.schema import Artifact, Experiment, LatestMetric, Metric, Param, Run, Tag
from medfusion_plugin_tracking.search import check_keys, param_text
from medfusion_plugin_tracking.upsert import upsert


def _metric_value(value: float) -> float | None:
    value = float(value)
    return None if math.isnan(value) else value


#: A run by id, for :meth:`TrackingStore.get_run` (prepared once: the id bound at execution).
_RUN_BY_ID = runs_query().where(Run.id == bindparam("run_id"))
#: Whether a run has this id.
_RUN_EXISTS = select(Run.id).where(Run.id == bindparam("run_id"))
#: Ids of the runs named ``ref`` or whose id starts with it (``prefix``: ``ref`` LIKE-escaped
#: with ``/``, then ``%``); three at most, enough to tell one from several.
_RUNS_NAMED = select(Run.id).where(Run.name == bindparam("ref")).limit(3)
#: Ids of (up to three) runs whose id starts with ``prefix`` (a LIKE pattern, ``/`` escaping).
_RUNS_WITH_PREFIX = select(Run.id).where(Run.id.like(bindparam("prefix"), escape="/")).limit(3)
#: ``(path, kind)`` of a run's artifacts, by path.
_ARTIFACTS = (
    select(Artifact.path, Artifact.kind).where(Artifact.run_id == bindparam("run_id")).order_by(Artifact.path)
)
#: Whether some run logged a key, and every logged key, of params and latest metrics.
_KEY_LOGGED = {
    kind: select(table.key).where(table.key == bindparam("key")).limit(1)
    for kind, table in (("metrics", LatestMetric), ("params", Param))
}
_LOGGED_KEYS = {
    kind: select(table.key).distinct() for kind, table in (("metrics", LatestMetric), ("params", Param))
}
#: The latest step of some keys of a run (prepared once: keys bound at execution).
_LATEST_STEPS = select(LatestMetric.key, LatestMetric.step).where(
    LatestMetric.run_id == bindparam("run_id"), LatestMetric.key.in_(bindparam("keys", expanding=True))
)


def _drop_repeated_steps(session: Session, run_id: str, rows: list[dict[str, Any]], keys: list[str]) -> None:
    """Delete the run's points at the ``(key, step)`` of ``rows`` (whose metric keys are ``keys``)
    that it may hold already. Only steps at or below a key's latest step can repeat: a batch of new
    steps, the common case, costs one lookup of ``latest_metrics`` and no delete."""
    latest = dict(session.execute(_LATEST_STEPS, {"run_id": run_id, "keys": keys}).all())
    if not latest or min(map(itemgetter("step"), rows)) > max(latest.values()):
        return
    repeated = sorted(
        {
            (row["key"], row["step"])
            for row in rows
            if row["key"] in latest and row["step"] <= latest[row["key"]]
        }
    )
    for start in range(0, len(repeated), 500):
        session.execute(
            delete(Metric).where(
                Metric.run_id == run_id, tuple_(Metric.key, Metric.step).in_(repeated[start : start + 500])
            )
        )


class TrackingStore:
    """Runs and models in one SQL database (see the module docstring)."""

    def __init__(self, url: str | None = None, *, runs_dir: str | Path = "runs") -> None:
        self.url = url or default_url(runs_dir)
        self._write_engine, self._read_engine = make_engines(self.url)
        self._run_json = RunJsonMemo()
        TRACKING.ensure_current(self._write_engine)

    def close(self) -> None:
        """Release the database connections."""
        self._write_engine.dispose()
        self._read_engine.dispose()

    def __enter__(self) -> TrackingStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session whose transaction commits on exit (SQLite: holds the write lock)."""
        with Session(self._write_engine) as session, session.begin():
            yield session

    @contextmanager
    def write_run(self, run_id: str, table: Any) -> Iterator[Session]:
        """A :meth:`write` session that changes the run's rows of ``table`` (params, tags or
        latest metrics) and rewrites the run's document of that table before it commits (see
        :mod:`~medfusion_plugin_tracking.documents`)."""
        with self.write() as session:
            documents.lock_run(session, run_id)
            yield session
            documents.rewrite(session, run_id, table)

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only session (never blocks writers)."""
        with Session(self._read_engine) as session, session.begin():
            yield session

    # -- runs ----------------------------------------------------------------------------------

    def create_run(
        self,
        name: str,
        *,
        experiment: str = "default",
        run_dir: str | Path = "",
        run_id: str | None = None,
        lineage: Mapping[str, Any] | None = None,
        data_fingerprint: str | None = None,
        parent_run_id: str | None = None,
        start_time: float | None = None,
    ) -> str:
        """Create a run with status ``running`` and return its id (a new UUID unless given)."""
        run_id = run_id or uuid.uuid4().hex
        now = time.time()
        with self.write() as session:
            upsert(session, Experiment, [{"name": experiment, "created": now}], ["name"], [])
            experiment_id = session.scalar(select(Experiment.id).where(Experiment.name == experiment))
            if session.get(Run, run_id) is not None:
                raise TrackingError(f"run {run_id} already exists")
            session.add(
                Run(
                    id=run_id,
                    name=name,
                    experiment_id=experiment_id,
                    status="running",
                    start_time=start_time if start_time is not None else now,
                    end_time=None,
                    run_dir=str(run_dir),
                    data_fingerprint=data_fingerprint,
                    lineage=dict(lineage or {}),
                    parent_run_id=parent_run_id,
                )
            )
        return run_id

    def has_run(self, run_id: str) -> bool:
        """Whether a run with this id exists."""
        with self.read() as session:
            return session.get(Run, run_id) is not None

    def run_ids_for_dir(self, run_dir: str) -> list[str]:
        """Ids of the runs recorded for a run folder."""
        with self.read() as session:
            return list(session.scalars(select(Run.id).where(Run.run_dir == run_dir)))

    def resolve_run(self, ref: str) -> str:
        """The id of the run named by ``ref``: an id, a unique id prefix or a unique run name."""
        with reading(self._read_engine) as fetch:
            return ref if fetch(_RUN_EXISTS, run_id=ref) else self._named_run(fetch, ref)

    def get_run(self, ref: str) -> RunInfo:
        """The run named by ``ref`` (see :meth:`resolve_run`) with its params, tags and metrics."""
        with reading(self._read_engine) as fetch:
            return self._fetch_run(fetch, ref)

    def run_detail(self, ref: str) -> RunDetail:
        """The run named by ``ref`` with its artifacts and the model versions registered from it,
        read on one connection's cursor (a run page asks for it at every refresh)."""
        with reading(self._read_engine) as fetch:
            run = self._fetch_run(fetch, ref)
            artifacts = [(path, kind) for path, kind in fetch(_ARTIFACTS, run_id=run.id)]
            versions = model_registry.version_refs(fetch(model_registry.REFS_FOR_RUN, run_id=run.id))
        return RunDetail(run, artifacts, versions)

    def search_runs(
        self,
        filter: str = "",
        *,
        experiment: str | None = None,
        status: str | None = None,
        order_by: Sequence[str] = (),
        limit: int | None = None,
    ) -> list[RunInfo]:
        """Runs matching ``filter`` (see :mod:`medfusion_plugin_tracking.search`), newest first
        unless ``order_by`` (``"metrics.val_auroc desc"``, ``"name"``, ...) says otherwise."""
        with reading(self._read_engine) as fetch:
            return run_infos(self._search_rows(fetch, filter, experiment, status, order_by, limit))

    def search_runs_json(
        self, filter: str = "", *, limit: int | None = None, offset: int = 0, **criteria: Any
    ) -> bytes:
        """The runs :meth:`search_runs` finds (``criteria``: its ``experiment``, ``status`` and
        ``order_by``), past the first ``offset``, as a compact UTF-8 JSON array of their
        :meth:`RunInfo.to_dict` (an unchanged run's JSON is remembered, not encoded again)."""
        end = None if limit is None else limit + offset
        with reading(self._read_engine) as fetch:
            rows = self._search_rows(fetch, filter, limit=end, **criteria)
        return self._run_json.array(rows[offset:])

    def _search_rows(
        self,
        fetch: Fetch,
        filter: str,
        experiment: str | None = None,
        status: str | None = None,
        order_by: Sequence[str] = (),
        limit: int | None = None,
    ) -> list[tuple[Any, ...]]:
        check_keys(filter, lambda kind, key: self._missing_key(fetch, kind, key))
        return fetch(search_query(filter, experiment, status, tuple(order_by), limit))

    def set_status(self, run_id: str, status: str, *, end_time: float | None = None) -> None:
        """Change a run's status; a final status (not ``running``) sets the end time."""
        if status not in STATUSES:
            raise TrackingError(f"unknown run status {status!r} (one of {', '.join(STATUSES)})")
        ended = None if status == "running" else (end_time if end_time is not None else time.time())
        with self.write() as session:
            done = session.execute(update(Run).where(Run.id == run_id).values(status=status, end_time=ended))
            if not done.rowcount:
                raise TrackingError(f"no run {run_id!r} in the store")

    def delete_run(self, run_id: str) -> None:
        """Remove a run and everything logged for it (its files stay where they are)."""
        with self.write() as session:
            documents.lock_run(session, run_id)
            for table in (Metric, LatestMetric, Param, Tag, Artifact):
                session.execute(delete(table).where(table.run_id == run_id))
            session.execute(delete(Run).where(Run.id == run_id))

    # -- logging -------------------------------------------------------------------------------

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        """Set flat parameters (a key logged again keeps its newest value)."""
        rows = [{"run_id": run_id, "key": key, "value": param_text(value)} for key, value in params.items()]
        with self.write_run(run_id, Param) as session:
            upsert(session, Param, rows, ["run_id", "key"], ["value"])

    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        """Set free-form tags."""
        rows = [{"run_id": run_id, "key": key, "value": str(value)} for key, value in tags.items()]
        with self.write_run(run_id, Tag) as session:
            upsert(session, Tag, rows, ["run_id", "key"], ["value"])

    def log_metrics(self, run_id: str, points: Iterable[MetricPoint]) -> None:
        """Add metric points ``(key, value, step, timestamp)`` in one batched transaction and
        move each key's latest value (highest step, then newest time) in the same transaction.

        A run holds one point per ``(key, step)``: a point for a step the run already has replaces
        it (a resumed training replaying the steps after its checkpoint, an ``evaluate`` run again),
        so that the store agrees with the run folder's ``metrics.jsonl``."""
        rows = [
            {
                "run_id": run_id,
                "key": key,
                "value": _metric_value(value),
                "step": int(step),
                "timestamp": float(ts),
            }
            for key, value, step, ts in points
        ]
        if not rows:
            return
        latest: dict[str, dict[str, Any]] = {}
        for row in rows:
            best = latest.get(row["key"])
            if best is None or (row["step"], row["timestamp"]) >= (best["step"], best["timestamp"]):
                latest[row["key"]] = row
        with self.write_run(run_id, LatestMetric) as session:
            _drop_repeated_steps(session, run_id, rows, list(latest))
            session.connection().execute(insert(Metric.__table__), rows)  # Core: no ORM per-row work
            upsert(
                session,
                LatestMetric,
                list(latest.values()),
                ["run_id", "key"],
                ["value", "step", "timestamp"],
                where=lambda new: or_(
                    new.step > LatestMetric.step,
                    and_(new.step == LatestMetric.step, new.timestamp >= LatestMetric.timestamp),
                ),
            )

    def log_metric(
        self, run_id: str, key: str, value: float, step: int = 0, timestamp: float | None = None
    ) -> None:
        """Append one metric point (prefer :meth:`log_metrics` for many)."""
        self.log_metrics(run_id, [(key, value, step, time.time() if timestamp is None else timestamp)])

    def metric_history(self, run_id: str, key: str) -> list[tuple[int, float, float | None]]:
        """``[(step, timestamp, value), ...]`` of one metric of a run, by step then time."""
        with self.read() as session:
            rows = session.execute(
                select(Metric.step, Metric.timestamp, Metric.value)
                .where(Metric.run_id == run_id, Metric.key == key)
                .order_by(Metric.step, Metric.timestamp, Metric.id)
            ).all()
        return [(int(step), float(ts), value) for step, ts, value in rows]

    def count_metric_points(self, run_id: str | None = None) -> int:
        """How many metric points the store holds (for one run, or in all)."""
        with self.read() as session:
            query = select(func.count()).select_from(Metric)
            if run_id is not None:
                query = query.where(Metric.run_id == run_id)
            return int(session.scalar(query) or 0)

    def log_artifact(self, run_id: str, path: str, kind: str = "file") -> None:
        """Record a file of the run by its path relative to the run folder."""
        row = {"run_id": run_id, "path": str(path), "kind": kind, "logged": time.time()}
        with self.write() as session:
            upsert(session, Artifact, [row], ["run_id", "path"], ["kind", "logged"])

    def artifacts(self, run_id: str) -> list[tuple[str, str]]:
        """``[(path, kind), ...]`` recorded for a run."""
        with reading(self._read_engine) as fetch:
            return [(path, kind) for path, kind in fetch(_ARTIFACTS, run_id=run_id)]

    # -- model registry ------------------------------------------------------------------------

    def register_model_version(
        self,
        name: str,
        run_id: str | None,
        *,
        variant: str = "fused",
        checkpoint: str,
        artifacts: Sequence[str] = (),
        metrics: Mapping[str, Any] | None = None,
        lineage: Mapping[str, Any] | None = None,
    ) -> ModelVersionInfo:
        """Create the next version N of model ``name`` (the model is created on first use)."""
        with self.write() as session:
            return model_registry.register(
                session,
                name,
                run_id,
                variant,
                checkpoint,
                list(artifacts),
                dict(metrics or {}),
                dict(lineage or {}),
            )

    def set_alias(self, name: str, alias: str, version: int) -> None:
        """Point ``alias`` of model ``name`` at ``version``, in one statement (moves atomically)."""
        with self.write() as session:
            model_registry.set_alias(session, name, alias, version)

    def delete_alias(self, name: str, alias: str) -> None:
        """Remove ``alias`` from model ``name``."""
        with self.write() as session:
            model_registry.delete_alias(session, name, alias)

    def resolve_model(self, ref: str) -> ModelVersionInfo:
        """The version named by ``NAME@alias``, ``NAME/N`` or ``NAME`` (its newest version)."""
        with self.read() as session:
            return model_registry.resolve(session, ref)

    def model_run_folder(self, ref: str) -> tuple[Path, str]:
        """``(run folder, variant)`` behind ``NAME@alias`` / ``NAME/N``: what ``evaluate``,
        ``export`` and ``predict`` need to accept a model reference where they take a run."""
        version = self.resolve_model(ref)
        run_dir = version.lineage.get("run_dir")
        if version.run_id is not None and self.has_run(version.run_id):
            run_dir = self.get_run(version.run_id).run_dir
        if not run_dir:
            raise TrackingError(f"model version {version.ref} names no run folder")
        return Path(run_dir), version.variant

    def model_versions(self, name: str) -> list[ModelVersionInfo]:
        """Every version of model ``name``, oldest first."""
        with self.read() as session:
            return model_registry.versions(session, name)

    def versions_from_run(self, run_id: str) -> list[str]:
        """``NAME/N`` of the model versions registered from a run."""
        with reading(self._read_engine) as fetch:
            return model_registry.version_refs(fetch(model_registry.REFS_FOR_RUN, run_id=run_id))

    def list_models(self) -> list[str]:
        """Names of the registered models."""
        with self.read() as session:
            return model_registry.names(session)

    # -- helpers -------------------------------------------------------------------------------

    def _fetch_run(self, fetch: Fetch, ref: str) -> RunInfo:
        """The run named by ``ref``: looked up as an id first (what callers mostly pass), then by
        name or id prefix on the same cursor."""
        rows = fetch(_RUN_BY_ID, run_id=ref) or fetch(_RUN_BY_ID, run_id=self._named_run(fetch, ref))
        return run_infos(rows)[0]

    @staticmethod
    def _named_run(fetch: Fetch, ref: str) -> str:
        """The id of the one run named ``ref`` or, when no run has that name, the one whose id
        starts with it (``ref`` is not an id). A name wins over an id prefix: a run named ``a``
        must not become ambiguous because some other run's random id starts with ``a``."""
        ids = [run_id for (run_id,) in fetch(_RUNS_NAMED, ref=ref)]
        if not ids:
            prefix = ref.replace("/", "//").replace("%", "/%").replace("_", "/_") + "%"
            ids = [run_id for (run_id,) in fetch(_RUNS_WITH_PREFIX, prefix=prefix)]
        if len(ids) == 1:
            return ids[0]
        if not ids:
            raise TrackingError(f"no run {ref!r} in the store (see `medfusion runs list`)")
        more = ", ..." if len(ids) > 2 else ""
        raise TrackingError(f"{ref!r} names several runs ({', '.join(ids[:2])}{more}): use the run id")

    @staticmethod
    def _missing_key(fetch: Fetch, kind: str, key: str) -> list[str] | None:
        """None when some run logged ``key`` (an index lookup), else every logged key."""
        if fetch(_KEY_LOGGED[kind], key=key):
            return None
        return [logged for (logged,) in fetch(_LOGGED_KEYS[kind])]
