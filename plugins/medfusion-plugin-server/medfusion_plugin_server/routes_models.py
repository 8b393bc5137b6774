"""``/api/models``: the model registry (versions, aliases, lineage, artifacts)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from medfusion_plugin_tracking.cli_models import _variant_files as variant_files
from pydantic import BaseModel

from medfusion_core.runs import VARIANT_DIRS
from medfusion_plugin_server import answers
from medfusion_plugin_server.context import context
from medfusion_plugin_server.errors import ApiError
from medfusion_plugin_server.security import Researcher, Viewer

router = APIRouter(prefix="/api/models")


class Registration(BaseModel):
    """Register ``variant`` of ``run`` as the next version of model ``name``."""

    run: str
    name: str
    variant: str = "fused"


class AliasTarget(BaseModel):
    """The version an alias points at."""

    version: int


def _model(request: Request, name: str) -> dict[str, Any]:
    versions = context(request).store.model_versions(name)
    if not versions:
        raise ApiError(404, f"no model {name!r} (see GET /api/models)")
    return {
        "name": name,
        "versions": [version.to_dict() for version in versions],
        "aliases": {alias: version.version for version in versions for alias in version.aliases},
    }


@router.get("", response_model=list[answers.Model])
def list_models(_: Viewer, request: Request) -> list[dict[str, Any]]:
    """Every registered model with its versions and aliases."""
    return [_model(request, name) for name in context(request).store.list_models()]


@router.get("/{name}", response_model=answers.Model)
def model(_: Viewer, name: str, request: Request) -> dict[str, Any]:
    """One model: its versions (run, variant, checkpoint, artifacts, metrics, lineage) and aliases."""
    return _model(request, name)


@router.post("", status_code=201, response_model=answers.ModelVersion)
def register(_: Researcher, body: Registration, request: Request) -> dict[str, Any]:
    """Register a run's variant (its best checkpoint and exported artifacts) as a new version."""
    if body.variant not in VARIANT_DIRS:
        raise ApiError(422, f"variant: {body.variant!r} is not one of {', '.join(VARIANT_DIRS)}")
    store = context(request).store
    info = store.get_run(body.run)
    checkpoint, artifacts = variant_files(info, body.variant)
    version = store.register_model_version(
        body.name,
        info.id,
        variant=body.variant,
        checkpoint=checkpoint,
        artifacts=artifacts,
        metrics=info.metrics,
        lineage={**info.lineage, "run_dir": info.run_dir, "data_fingerprint": info.data_fingerprint},
    )
    return version.to_dict()


@router.put("/{name}/aliases/{alias}", response_model=answers.Model)
def set_alias(_: Researcher, name: str, alias: str, body: AliasTarget, request: Request) -> dict[str, Any]:
    """Point ``alias`` at a version (atomically)."""
    context(request).store.set_alias(name, alias, body.version)
    return _model(request, name)


@router.delete("/{name}/aliases/{alias}", response_model=answers.Model)
def delete_alias(_: Researcher, name: str, alias: str, request: Request) -> dict[str, Any]:
    """Remove an alias."""
    context(request).store.delete_alias(name, alias)
    return _model(request, name)
