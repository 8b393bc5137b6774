"""``/api/jobs``: the training service's queue (submit, cancel, resume, logs)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from medfusion_plugin_server import answers
from medfusion_plugin_server.context import context
from medfusion_plugin_server.data_roots import check_config
from medfusion_plugin_server.security import Researcher, Viewer, check_owner

router = APIRouter(prefix="/api/jobs")


class JobRequest(BaseModel):
    """A training: the experiment config as an object, which variants, the queue priority."""

    config: dict[str, Any]
    modalities: str = "all"
    priority: int = 0


@router.get("", response_model=list[answers.Job])
def jobs(_: Viewer, request: Request) -> list[dict[str, Any]]:
    """Every job, in queue order."""
    return context(request).jobs.jobs()


@router.post("", status_code=201, response_model=answers.Job)
def submit(user: Researcher, body: JobRequest, request: Request) -> dict[str, Any]:
    """Queue a training; returns the job. The files its config names (manifest, weights) must
    lie under the server's data roots (relative ones count from ``<runs>/jobs``)."""
    ctx = context(request)
    check_config(body.config, ctx.settings.runs_dir / "jobs", ctx.settings.allowed_roots, "config.")
    service = ctx.jobs
    return service.job(service.submit(body.config, body.modalities, body.priority, owner=user["username"]))


@router.get("/{job_id}", response_model=answers.Job)
def job(_: Viewer, job_id: str, request: Request) -> dict[str, Any]:
    """One job: state, run ids in the tracking store, log path."""
    return context(request).jobs.job(job_id)


@router.post("/{job_id}/{action}", response_model=answers.Job)
def act(
    user: Researcher, job_id: str, action: Literal["cancel", "resume"], request: Request
) -> dict[str, Any]:
    """``cancel``: drop your queued job or stop it running; ``resume``: queue your interrupted or
    cancelled job again (it continues from its checkpoints)."""
    service = context(request).jobs
    check_owner(user, service.job(job_id).get("owner"), f"job {job_id}")
    service.cancel(job_id) if action == "cancel" else service.resume(job_id)
    return service.job(job_id)


@router.get("/{job_id}/log", response_model=answers.JobLog)
def log(_: Viewer, job_id: str, request: Request, offset: Annotated[int, Query(ge=0)] = 0) -> dict[str, Any]:
    """The job's log from byte ``offset``; ask again from ``next_offset``."""
    text, next_offset = context(request).jobs.log(job_id, offset)
    return {"text": text, "offset": offset, "next_offset": next_offset}
