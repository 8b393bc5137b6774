"""Health, system metrics, the plugin catalogue, the config schema and the audit log."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from sqlalchemy import select

from medfusion_core import kinds
from medfusion_core.host import get_host
from medfusion_plugin_server import answers, sysinfo
from medfusion_plugin_server.config_schema import training_config_schema
from medfusion_plugin_server.context import context
from medfusion_plugin_server.errors import ApiError
from medfusion_plugin_server.schema import AuditEntry
from medfusion_plugin_server.security import Admin, Viewer

router = APIRouter(prefix="/api")


@router.get("/health", response_model=answers.Health)
def health() -> dict[str, Any]:
    """Liveness (no login needed)."""
    return {"status": "ok"}


@router.get("/system", response_model=answers.SystemLoad)
def system(_: Viewer, request: Request) -> dict[str, Any]:
    """CPU, memory, disk and GPU use now."""
    return sysinfo.snapshot(context(request).settings.runs_dir)


@router.get("/plugins")
def plugins(_: Viewer) -> list[dict[str, Any]]:
    """Installed plugins with their status and components (``list-plugins --json``)."""
    return [record.to_json() for record in get_host().records()]


@router.get("/components")
def components(_: Viewer, kind: Annotated[str | None, Query()] = None) -> list[dict[str, Any]]:
    """Components with their parameter schemas, of one kind or all."""
    if kind is not None and kind not in kinds.NAMES:
        raise ApiError(422, f"kind: {kind!r} is not one of {', '.join(kinds.NAMES)}")
    return [spec.to_json() for spec in get_host().specs(kind)]


@router.get("/config/schema")
def config_schema(_: Viewer) -> dict[str, Any]:
    """JSON Schema of the training config (for the config builder)."""
    return training_config_schema()


@router.get("/audit", response_model=list[answers.AuditRow])
def audit(
    _: Admin,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[dict[str, Any]]:
    """The audit log, newest first."""
    with context(request).db.read() as session:
        rows = session.scalars(
            select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit).offset(offset)
        ).all()
    return [
        {
            "id": row.id,
            "time": row.time,
            "username": row.username,
            "method": row.method,
            "path": row.path,
            "status": row.status,
            "client": row.client,
        }
        for row in rows
    ]
