"""The store's tables as SQLAlchemy 2 typed declarative models (the Alembic head revision).

Times are Unix seconds (float). Run ids are UUID hex strings chosen by the caller. A run holds
one metric point per ``(key, step)``, a step logged again replacing it (a NULL value is NaN);
``latest_metrics`` keeps the last value of each
``(run, key)``, written in the same transaction as the points, so that listing and filtering never
scan the points. Each run row also carries its params, tags and latest metric values as one JSON
object each (see :mod:`~medfusion_plugin_tracking.documents`), what a listing reads.
"""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

#: An autoincrement 64-bit key that stays SQLite's fast rowid alias.
BigKey = BigInteger().with_variant(Integer, "sqlite")


class Base(DeclarativeBase):
    """Declarative base of every table of the tracking store."""

    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class Experiment(Base):
    """A named group of runs."""

    __tablename__ = "experiments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    created: Mapped[float] = mapped_column(Float)


class Run(Base):
    """One run: a run folder and what produced it."""

    __tablename__ = "runs"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), index=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    start_time: Mapped[float] = mapped_column(Float)
    end_time: Mapped[float | None] = mapped_column(Float)
    run_dir: Mapped[str] = mapped_column(Text)
    data_fingerprint: Mapped[str | None] = mapped_column(String(128))
    lineage: Mapped[dict[str, Any]] = mapped_column(JSON)
    parent_run_id: Mapped[str | None] = mapped_column(String(32), index=True)
    params_json: Mapped[str] = mapped_column(Text, default="{}", server_default="{}")
    tags_json: Mapped[str] = mapped_column(Text, default="{}", server_default="{}")
    metrics_json: Mapped[str] = mapped_column(Text, default="{}", server_default="{}")


class Param(Base):
    """A flat parameter of a run (values stored as text: strings as is, others as JSON)."""

    __tablename__ = "params"
    __table_args__ = (Index("ix_params_key", "key"),)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Tag(Base):
    """A free-form tag of a run."""

    __tablename__ = "tags"
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Metric(Base):
    """One metric point."""

    __tablename__ = "metrics"
    __table_args__ = (Index("ix_metrics_run_key_step", "run_id", "key", "step"),)
    id: Mapped[int] = mapped_column(BigKey, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    step: Mapped[int] = mapped_column(BigInteger)
    timestamp: Mapped[float] = mapped_column(Float)
    value: Mapped[float | None] = mapped_column(Float)


class LatestMetric(Base):
    """The last point (highest step) of each metric of a run."""

    __tablename__ = "latest_metrics"
    __table_args__ = (Index("ix_latest_metrics_key_value", "key", "value"),)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    step: Mapped[int] = mapped_column(BigInteger)
    timestamp: Mapped[float] = mapped_column(Float)
    value: Mapped[float | None] = mapped_column(Float)


class Artifact(Base):
    """A file of a run, by its path relative to the run folder."""

    __tablename__ = "artifacts"
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    path: Mapped[str] = mapped_column(String(1024), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    logged: Mapped[float] = mapped_column(Float)


class RegisteredModel(Base):
    """A named model of the registry."""

    __tablename__ = "registered_models"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    created: Mapped[float] = mapped_column(Float)


class ModelVersion(Base):
    """Version N of a registered model: one variant of one run, frozen with its metrics and lineage."""

    __tablename__ = "model_versions"
    __table_args__ = (UniqueConstraint("model_id", "version", name="uq_model_versions_model_version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("registered_models.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    run_id: Mapped[str | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"))
    variant: Mapped[str] = mapped_column(String(64))
    checkpoint: Mapped[str] = mapped_column(Text)
    artifacts: Mapped[list[Any]] = mapped_column(JSON)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)
    lineage: Mapped[dict[str, Any]] = mapped_column(JSON)
    created: Mapped[float] = mapped_column(Float)


class ModelAlias(Base):
    """A movable name (``champion``) for one version of a model; unique per model."""

    __tablename__ = "model_aliases"
    model_id: Mapped[int] = mapped_column(
        ForeignKey("registered_models.id", ondelete="CASCADE"), primary_key=True
    )
    alias: Mapped[str] = mapped_column(String(255), primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id", ondelete="CASCADE"))


class ModelVersionTag(Base):
    """A tag of a model version (added by revision 0002)."""

    __tablename__ = "model_version_tags"
    version_id: Mapped[int] = mapped_column(
        ForeignKey("model_versions.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
