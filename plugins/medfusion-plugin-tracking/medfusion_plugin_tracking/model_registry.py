"""The model registry's operations, inside a store transaction (see :class:`TrackingStore`).

A registered model has versions 1, 2, ...; each points at one variant of one run: its checkpoint,
its exported artifacts, a snapshot of its metrics and its lineage. Aliases (``champion``,
``challenger``, any name) are unique per model and move in one upsert statement, so a reader
always sees an alias on exactly one version.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from typing import Any

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.orm import Session

from medfusion_plugin_tracking.errors import TrackingError
from medfusion_plugin_tracking.records import ModelVersionInfo
from medfusion_plugin_tracking.schema import ModelAlias, ModelVersion, ModelVersionTag, RegisteredModel
from medfusion_plugin_tracking.upsert import upsert

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
_REF = re.compile(r"^(?P<name>[^@/]+)(?:@(?P<alias>[^@/]+)|/(?P<version>\d+))?$")


def _model(session: Session, name: str, *, lock: bool = False) -> RegisteredModel:
    query = select(RegisteredModel).where(RegisteredModel.name == name)
    model = session.scalar(query.with_for_update() if lock else query)
    if model is None:
        known = ", ".join(names(session)[:8]) or "none yet"
        raise TrackingError(f"no registered model {name!r} (models: {known})")
    return model


def names(session: Session) -> list[str]:
    """Names of the registered models, sorted."""
    return list(session.scalars(select(RegisteredModel.name).order_by(RegisteredModel.name)))


def register(
    session: Session,
    name: str,
    run_id: str | None,
    variant: str,
    checkpoint: str,
    artifacts: list[str],
    metrics: dict[str, Any],
    lineage: dict[str, Any],
) -> ModelVersionInfo:
    """Create the next version of ``name`` and return its :class:`ModelVersionInfo`."""
    if not _NAME.match(name):
        raise TrackingError(f"model name {name!r}: use letters, digits, '_', '.', '-' (no '@' or '/')")
    upsert(session, RegisteredModel, [{"name": name, "created": time.time()}], ["name"], [])
    model = _model(session, name, lock=True)
    number = (
        session.scalar(select(func.max(ModelVersion.version)).where(ModelVersion.model_id == model.id)) or 0
    ) + 1
    version = ModelVersion(
        model_id=model.id,
        version=number,
        run_id=run_id,
        variant=variant,
        checkpoint=checkpoint,
        artifacts=artifacts,
        metrics=metrics,
        lineage=lineage,
        created=time.time(),
    )
    session.add(version)
    session.flush()
    return _info(session, model, version)


def _version(session: Session, model: RegisteredModel, number: int) -> ModelVersion:
    version = session.scalar(
        select(ModelVersion).where(ModelVersion.model_id == model.id, ModelVersion.version == number)
    )
    if version is None:
        raise TrackingError(f"model {model.name!r} has no version {number}")
    return version


def set_alias(session: Session, name: str, alias: str, number: int) -> None:
    """Point ``alias`` at version ``number`` (one upsert: the alias is never missing or doubled)."""
    if not _NAME.match(alias) or alias.isdigit():
        raise TrackingError(f"alias {alias!r}: use letters, digits, '_', '.', '-' and not only digits")
    model = _model(session, name)
    version = _version(session, model, number)
    row = {"model_id": model.id, "alias": alias, "version_id": version.id}
    upsert(session, ModelAlias, [row], ["model_id", "alias"], ["version_id"])


def delete_alias(session: Session, name: str, alias: str) -> None:
    """Remove ``alias`` of model ``name`` (an error when it does not exist)."""
    model = _model(session, name)
    done = session.execute(
        delete(ModelAlias).where(ModelAlias.model_id == model.id, ModelAlias.alias == alias)
    )
    if not done.rowcount:
        raise TrackingError(f"model {name!r} has no alias {alias!r}")


def resolve(session: Session, ref: str) -> ModelVersionInfo:
    """The :class:`ModelVersionInfo` named by ``NAME@alias``, ``NAME/N`` or ``NAME`` (newest)."""
    match = _REF.match(ref.strip())
    if match is None:
        raise TrackingError(f"model reference {ref!r}: use NAME@alias, NAME/N or NAME")
    model = _model(session, match["name"])
    if match["alias"]:
        version_id = session.scalar(
            select(ModelAlias.version_id).where(
                ModelAlias.model_id == model.id, ModelAlias.alias == match["alias"]
            )
        )
        if version_id is None:
            known = ", ".join(_aliases(session, model.id)) or "none"
            raise TrackingError(f"model {model.name!r} has no alias {match['alias']!r} (aliases: {known})")
        version = session.get(ModelVersion, version_id)
    elif match["version"]:
        version = _version(session, model, int(match["version"]))
    else:
        version = session.scalar(
            select(ModelVersion)
            .where(ModelVersion.model_id == model.id)
            .order_by(ModelVersion.version.desc())
        )
        if version is None:
            raise TrackingError(f"model {model.name!r} has no versions")
    assert version is not None
    return _info(session, model, version)


def versions(session: Session, name: str) -> list[ModelVersionInfo]:
    """Every version of ``name``, oldest first."""
    model = _model(session, name)
    rows = session.scalars(
        select(ModelVersion).where(ModelVersion.model_id == model.id).order_by(ModelVersion.version)
    )
    return [_info(session, model, version) for version in rows]


#: ``(name, version)`` of the model versions registered from a run, in order (prepared once: the
#: run id bound at execution, so that it also runs on a driver's cursor).
REFS_FOR_RUN = (
    select(RegisteredModel.name, ModelVersion.version)
    .join(RegisteredModel, ModelVersion.model_id == RegisteredModel.id)
    .where(ModelVersion.run_id == bindparam("run_id"))
    .order_by(RegisteredModel.name, ModelVersion.version)
)


def version_refs(rows: Iterable[tuple[str, int]]) -> list[str]:
    """``NAME/N`` of :data:`REFS_FOR_RUN`'s rows."""
    return [f"{name}/{number}" for name, number in rows]


def _aliases(session: Session, model_id: int, version_id: int | None = None) -> list[str]:
    query = select(ModelAlias.alias).where(ModelAlias.model_id == model_id)
    if version_id is not None:
        query = query.where(ModelAlias.version_id == version_id)
    return list(session.scalars(query.order_by(ModelAlias.alias)))


def _info(session: Session, model: RegisteredModel, version: ModelVersion) -> ModelVersionInfo:
    tag_rows = session.execute(
        select(ModelVersionTag.key, ModelVersionTag.value).where(ModelVersionTag.version_id == version.id)
    )
    tags = {key: value for key, value in tag_rows}
    return ModelVersionInfo(
        model=model.name,
        version=version.version,
        run_id=version.run_id,
        variant=version.variant,
        checkpoint=version.checkpoint,
        artifacts=list(version.artifacts or []),
        metrics=dict(version.metrics or {}),
        lineage=dict(version.lineage or {}),
        created=version.created,
        aliases=_aliases(session, model.id, version.id),
        tags=tags,
    )
