"""``/api/runs``: search, detail, metric histories, comparison, deletion and the run's report."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, Response
from medfusion_plugin_tracking.listing import json_bytes
from medfusion_plugin_tracking.store import TrackingStore
from pydantic import BaseModel

from medfusion_core.runs import CONFIG_FILE, REPORT_DIR
from medfusion_plugin_server import answers
from medfusion_plugin_server.context import context
from medfusion_plugin_server.errors import ApiError
from medfusion_plugin_server.metric_points import points_after
from medfusion_plugin_server.security import Researcher, Viewer

router = APIRouter(prefix="/api/runs")


class CompareBody(BaseModel):
    """Runs (ids, names, ``NAME@alias`` or ``NAME/N``) to compare; the first is the reference."""

    runs: list[str]


def _store(request: Request) -> TrackingStore:
    return context(request).store


def _answer(request: Request, body: bytes) -> Response:
    """``body`` with a validator: 304 when the client already holds it (``If-None-Match``)."""
    etag = f'W/"{hashlib.blake2b(body, digest_size=12).hexdigest()}"'
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


@router.get("", response_model=list[answers.Run])
async def list_runs(
    _: Viewer,
    request: Request,
    experiment: str | None = None,
    status: str | None = None,
    filter: str = "",
    sort: Annotated[list[str] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    """Runs, newest first; ``filter``/``sort`` as ``medfusion runs list --filter/--order-by``
    (``sort`` repeatable or comma-separated: ``metrics.val_auroc desc,name``). Answered from
    memory while the database is unchanged; ``ETag``/``If-None-Match`` give 304."""
    order = [term.strip() for value in sort or () for term in value.split(",") if term.strip()]
    store = _store(request)

    def compute() -> bytes:
        return store.search_runs_json(
            filter, experiment=experiment, status=status, order_by=order, limit=limit, offset=offset
        )

    key = ("runs", experiment, status, filter, tuple(order), limit, offset)
    return _answer(request, await context(request).answers.answer(key, compute))


@router.get("/{run}", response_model=answers.RunDetail)
async def run_detail(_: Viewer, run: str, request: Request) -> Response:
    """One run with its params, latest metrics, tags, artifacts and the model versions it backs
    (the database part answered from memory while the database is unchanged)."""
    store = _store(request)

    def compute() -> tuple[str | None, bytes]:
        detail = store.run_detail(run)
        body = {
            **detail.run.to_dict(),
            "artifacts": [{"path": path, "kind": kind} for path, kind in detail.artifacts],
            "model_versions": detail.model_versions,
        }
        return detail.run.run_dir, json_bytes(body)

    run_dir, body = await context(request).answers.answer(("run", run), compute)
    # the reports are files, not rows: looked for at every request, spliced into the remembered JSON
    report = Path(run_dir) / REPORT_DIR if run_dir else None
    reports = {name: bool(report and (report / f"report.{name}").is_file()) for name in ("html", "pdf")}
    return _answer(request, body[:-1] + b',"reports":' + json_bytes(reports) + b"}")


@router.get("/{run}/metrics", response_model=dict[str, list[answers.MetricPoint]])
def run_metrics(
    _: Viewer, run: str, request: Request, key: str | None = None
) -> dict[str, list[dict[str, Any]]]:
    """Metric histories by key (one key with ``?key=``): ``[{seq, step, timestamp, value}]``."""
    store = _store(request)
    run_id = store.resolve_run(run)
    histories: dict[str, list[dict[str, Any]]] = {}
    after = 0
    while True:
        points = points_after(store, run_id, after, key)
        for point in points:
            histories.setdefault(point.pop("key"), []).append(point)
        if len(points) < 5000:
            return histories
        after = points[-1]["seq"]


@router.post("/compare", response_model=answers.Comparison)
def compare(_: Viewer, body: CompareBody, request: Request) -> dict[str, Any]:
    """Params that differ, metrics side by side, each model's test metrics with CIs (and its
    report's curves where metrics.json has them), DeLong + McNemar of the first against the others."""
    from medfusion_plugin_tracking.comparison import paired_tests, report_metrics, resolve

    if len(body.runs) < 2:
        raise ApiError(422, "runs: give at least two runs to compare")
    models = [resolve(_store(request), ref) for ref in body.runs]
    runs = [model.run for model in models]
    params = {
        key: [run.params.get(key) for run in runs] for key in sorted({k for r in runs for k in r.params})
    }
    results, skipped = paired_tests(models)
    return {
        "runs": [
            {"id": model.run.id, "name": model.run.name, "ref": model.ref, "model": model.label}
            for model in models
        ],
        "params_that_differ": {key: values for key, values in params.items() if len(set(values)) > 1},
        "metrics": {
            key: [run.metrics.get(key) for run in runs]
            for key in sorted({k for r in runs for k in r.metrics})
        },
        "test_metrics": [report_metrics(model) for model in models],
        "reports": [dict(model.model_metrics) if model.model_metrics else None for model in models],
        "paired_tests": [result.to_dict() for result in results],
        "not_tested": skipped,
    }


@router.delete("/{run}", response_model=answers.Deleted)
def delete_run(_: Researcher, run: str, request: Request, keep_files: bool = False) -> dict[str, Any]:
    """Delete a run from the store and (unless ``keep_files``) its run folder; a run that backs
    model versions is kept (409)."""
    store = _store(request)
    info = store.get_run(run)
    backing = store.versions_from_run(info.id)
    if backing:
        raise ApiError(409, f"run {info.name!r} backs model versions {', '.join(backing)}; it is kept")
    store.delete_run(info.id)
    folder = Path(info.run_dir) if info.run_dir else None
    if not keep_files and folder is not None and (folder / CONFIG_FILE).is_file():
        shutil.rmtree(folder)
    return {"deleted": info.id}


def _report(request: Request, run: str, suffix: str) -> FileResponse:
    info = _store(request).get_run(run)
    path = Path(info.run_dir) / REPORT_DIR / f"report.{suffix}"
    if not info.run_dir or not path.is_file():
        raise ApiError(
            404, f"run {info.name!r} has no {REPORT_DIR}/report.{suffix}: run `medfusion evaluate` on it"
        )
    return FileResponse(path, media_type="text/html" if suffix == "html" else "application/pdf")


@router.get("/{run}/report.html")
def report_html(_: Viewer, run: str, request: Request) -> FileResponse:
    """The run's evaluation report (HTML)."""
    return _report(request, run, "html")


@router.get("/{run}/report.pdf")
def report_pdf(_: Viewer, run: str, request: Request) -> FileResponse:
    """The run's evaluation report (PDF)."""
    return _report(request, run, "pdf")
