"""Workflow documents saved through the API, with their owners (the ``server_workflows`` table).
Every document is parsed and validated by the workflows plugin before it is kept."""

from __future__ import annotations

import time
import uuid
from typing import Any

from medfusion_plugin_workflows.errors import WorkflowError
from medfusion_plugin_workflows.format import load_workflow
from medfusion_plugin_workflows.validation import validate
from sqlalchemy import select

from medfusion_plugin_server.db import ServerDatabase
from medfusion_plugin_server.errors import ApiError
from medfusion_plugin_server.schema import SavedWorkflow


def issues_of(document: Any) -> list[dict[str, str]]:
    """Problems of a workflow document (empty: it can run); a document that is not a workflow
    at all is one issue without a node."""
    if not isinstance(document, dict):
        return [{"node": "", "field": "", "message": "a workflow is a JSON object"}]
    try:
        workflow = load_workflow(document)
    except WorkflowError as exc:
        return [{"node": "", "field": "", "message": str(exc)}]
    return [{"node": i.node, "field": i.field, "message": str(i)} for i in validate(workflow)]


def checked(document: Any) -> dict[str, Any]:
    """The document when it is a valid workflow; else 422 with its first problem (one line)."""
    issues = issues_of(document)
    if issues:
        more = f" (and {len(issues) - 1} more: POST /api/workflows/validate)" if len(issues) > 1 else ""
        raise ApiError(422, f"{issues[0]['message']}{more}")
    return load_workflow(document).to_json()


def _public(row: SavedWorkflow) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "owner": row.owner,
        "created": row.created,
        "updated": row.updated,
        "document": row.document,
    }


class SavedWorkflows:
    """Saved workflows in the server tables of ``db``."""

    def __init__(self, db: ServerDatabase) -> None:
        self.db = db

    def add(self, document: Any, owner: str) -> dict[str, Any]:
        """Save a valid workflow owned by ``owner``."""
        valid = checked(document)
        now = time.time()
        row = SavedWorkflow(
            id=uuid.uuid4().hex, name=valid["name"], owner=owner, document=valid, created=now, updated=now
        )
        with self.db.write() as session:
            session.add(row)
        return _public(row)

    def get(self, workflow_id: str) -> dict[str, Any]:
        """One saved workflow; 404 when unknown."""
        with self.db.read() as session:
            row = session.get(SavedWorkflow, workflow_id)
        if row is None:
            raise ApiError(404, f"no workflow {workflow_id!r} (see GET /api/workflows)")
        return _public(row)

    def all(self) -> list[dict[str, Any]]:
        """Every saved workflow, newest change first (without documents)."""
        with self.db.read() as session:
            rows = session.scalars(select(SavedWorkflow).order_by(SavedWorkflow.updated.desc())).all()
        return [{k: v for k, v in _public(row).items() if k != "document"} for row in rows]

    def replace(self, workflow_id: str, document: Any) -> dict[str, Any]:
        """Replace the document of a saved workflow."""
        valid = checked(document)
        with self.db.write() as session:
            row = session.get(SavedWorkflow, workflow_id)
            if row is None:
                raise ApiError(404, f"no workflow {workflow_id!r} (see GET /api/workflows)")
            row.document, row.name, row.updated = valid, valid["name"], time.time()
            return _public(row)

    def remove(self, workflow_id: str) -> None:
        """Delete a saved workflow (its executions stay)."""
        with self.db.write() as session:
            row = session.get(SavedWorkflow, workflow_id)
            if row is not None:
                session.delete(row)
