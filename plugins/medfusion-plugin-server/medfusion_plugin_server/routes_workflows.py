"""``/api/workflows``, ``/api/workflow-templates``, ``/api/nodes`` and ``/api/executions``:
saved workflow documents (a researcher changes only their own), validation with one line per
problem, and executions run by the workflows plugin's engine."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Request
from medfusion_plugin_workflows import catalog, templates
from medfusion_plugin_workflows.format import load_workflow

from medfusion_plugin_server import answers
from medfusion_plugin_server.context import context
from medfusion_plugin_server.data_roots import check_workflow
from medfusion_plugin_server.errors import ApiError
from medfusion_plugin_server.security import Researcher, Viewer, check_owner
from medfusion_plugin_server.workflow_store import checked, issues_of

router = APIRouter(prefix="/api")


def _check_roots(request: Request, document: Any) -> None:
    """403 when the document's dataset nodes read outside the data roots (an invalid document
    is refused by validation first, with its first problem)."""
    check_workflow(load_workflow(checked(document)), context(request).settings.allowed_roots)


@router.get("/nodes", response_model=list[answers.NodeKind])
def nodes(_: Viewer) -> list[dict[str, Any]]:
    """Node kinds with their typed inputs, outputs and parameter schemas."""
    return catalog.node_kinds()


@router.get("/workflow-templates")
def template_names(_: Viewer) -> list[str]:
    """Names of the shipped templates."""
    return templates.names()


@router.get("/workflow-templates/{name}", response_model=answers.WorkflowDoc)
def template(_: Viewer, name: str) -> dict[str, Any]:
    """One template's document."""
    if name not in templates.names():
        raise ApiError(404, f"no template {name!r} (one of {', '.join(templates.names())})")
    return templates.load(name).to_json()


@router.post("/workflows/validate", response_model=answers.Issues)
def validate(_: Viewer, document: Any = Body(...)) -> dict[str, Any]:  # noqa: B008
    """Problems of a workflow document, each naming its node and field (empty: it can run)."""
    return {"issues": issues_of(document)}


@router.get("/workflows", response_model=list[answers.SavedWorkflowSummary])
def list_workflows(_: Viewer, request: Request) -> list[dict[str, Any]]:
    """Saved workflows (without their documents)."""
    return context(request).workflows.all()


@router.post("/workflows", status_code=201, response_model=answers.SavedWorkflow)
def add_workflow(user: Researcher, request: Request, document: Any = Body(...)) -> dict[str, Any]:  # noqa: B008
    """Save a workflow document (validated first; you own it); its dataset nodes may read only
    under the server's data roots."""
    _check_roots(request, document)
    return context(request).workflows.add(document, user["username"])


@router.get("/workflows/{workflow_id}", response_model=answers.SavedWorkflow)
def workflow(_: Viewer, workflow_id: str, request: Request) -> dict[str, Any]:
    """A saved workflow with its document."""
    return context(request).workflows.get(workflow_id)


@router.put("/workflows/{workflow_id}", response_model=answers.SavedWorkflow)
def replace_workflow(
    user: Researcher,
    workflow_id: str,
    request: Request,
    document: Any = Body(...),  # noqa: B008
) -> dict[str, Any]:
    """Replace your workflow's document."""
    ctx = context(request)
    check_owner(user, ctx.workflows.get(workflow_id)["owner"], f"workflow {workflow_id}")
    _check_roots(request, document)
    return ctx.workflows.replace(workflow_id, document)


@router.delete("/workflows/{workflow_id}", response_model=answers.Deleted)
def delete_workflow(user: Researcher, workflow_id: str, request: Request) -> dict[str, Any]:
    """Delete your workflow (its executions stay)."""
    ctx = context(request)
    check_owner(user, ctx.workflows.get(workflow_id)["owner"], f"workflow {workflow_id}")
    ctx.workflows.remove(workflow_id)
    return {"deleted": workflow_id}


@router.post("/workflows/{workflow_id}/executions", status_code=201, response_model=answers.Started)
def start(user: Researcher, workflow_id: str, request: Request) -> dict[str, Any]:
    """Run your saved workflow in the background; returns the execution id."""
    ctx = context(request)
    saved = ctx.workflows.get(workflow_id)
    check_owner(user, saved["owner"], f"workflow {workflow_id}")
    workflow = load_workflow(saved["document"])
    check_workflow(workflow, ctx.settings.allowed_roots)
    eid = ctx.engine.start(workflow, owner=user["username"], workflow_id=workflow_id)
    return {"id": eid}


@router.get("/executions", response_model=list[answers.ExecutionSummary])
def executions(_: Viewer, request: Request) -> list[dict[str, Any]]:
    """Every execution, newest first."""
    return context(request).engine.executions()


@router.get("/executions/{eid}", response_model=answers.Execution)
def execution(_: Viewer, eid: str, request: Request) -> dict[str, Any]:
    """An execution with the state, outputs and errors of each node."""
    return context(request).engine.execution(eid)


@router.get("/executions/{eid}/records", response_model=answers.ExecutionRecords)
def execution_records(_: Viewer, eid: str, request: Request) -> dict[str, Any]:
    """The datasets, checkpoints (with epoch, size and sha256) and models the execution's nodes
    recorded, each naming its node."""
    return context(request).engine.records(eid)


def _own_execution(user: dict[str, Any], request: Request, eid: str) -> str:
    found = context(request).engine.execution(eid)
    check_owner(user, found["owner"], f"execution {found['id']}")
    return found["id"]


@router.post("/executions/{eid}/cancel", response_model=answers.Execution)
def cancel(user: Researcher, eid: str, request: Request) -> dict[str, Any]:
    """Stop your running execution (its running nodes are stopped cleanly)."""
    engine = context(request).engine
    engine.cancel(eid := _own_execution(user, request, eid))
    return engine.execution(eid)


@router.post("/executions/{eid}/resume", response_model=answers.Execution)
def resume(user: Researcher, eid: str, request: Request) -> dict[str, Any]:
    """Continue your interrupted, failed or cancelled execution from its finished nodes."""
    engine = context(request).engine
    engine.resume(eid := _own_execution(user, request, eid))
    return engine.execution(eid)
