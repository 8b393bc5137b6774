"""The shapes of the API's answers, declared once as pydantic models and attached to the routes
with ``response_model=``: they are the OpenAPI document's response schemas, from which the web
app's TypeScript types are generated (``medfusion-plugin-web``'s ``gen_api``).

Every model allows keys it does not declare (a producer that grows a key loses nothing and never
turns an answer into a 500), but their JSON Schemas do not advertise ``additionalProperties``, so
the generated types are exact; the web plugin's end-to-end test checks real answers against the
document with undeclared keys refused, which keeps these declarations complete. Routes that build
their own ``JSONResponse`` (the runs list and detail, for speed) are documented here without
being re-validated."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict


def _closed_schema(schema: dict[str, Any]) -> None:
    schema.pop("additionalProperties", None)


class Answer(BaseModel):
    """Base of the answer models: undeclared keys kept at run time, not advertised in OpenAPI."""

    model_config = ConfigDict(extra="allow", json_schema_extra=_closed_schema)


# -- auth and users ------------------------------------------------------------------------------


class User(Answer):
    """A user (never their password hash)."""

    id: int
    username: str
    role: Literal["admin", "researcher", "viewer"]
    created: float


class Login(Answer):
    """A cookie login: the user and the CSRF token state-changing requests send."""

    user: User
    csrf_token: str


class Token(Answer):
    """A bearer token for scripts."""

    access_token: str
    token_type: Literal["bearer"]
    user: User


class LoggedOut(Answer):
    """Whose session ended."""

    logged_out: str


class Deleted(Answer):
    """The id of what was deleted."""

    deleted: str


# -- system --------------------------------------------------------------------------------------


class Health(Answer):
    """Liveness."""

    status: Literal["ok"]


class Gpu(Answer):
    """One visible GPU."""

    index: int
    name: str
    utilization_percent: float | None
    memory_used_bytes: int
    memory_total_bytes: int


class SystemLoad(Answer):
    """CPU, memory, disk (of the runs folder's file system) and GPUs at ``time``."""

    time: float
    cpu_percent: float
    cpu_count: int | None
    memory_used_bytes: int
    memory_total_bytes: int
    disk_used_bytes: int
    disk_total_bytes: int
    gpus: list[Gpu]


class AuditRow(Answer):
    """One state-changing request."""

    id: int
    time: float
    username: str | None
    method: str
    path: str
    status: int
    client: str | None


# -- workflows and executions --------------------------------------------------------------------


class NodeKind(Answer):
    """A workflow node kind of the catalogue (``optional``: the inputs that need no edge)."""

    name: str
    summary: str
    plugin: str
    category: str
    inputs: dict[str, str]
    outputs: dict[str, str]
    optional: list[str]
    params_schema: dict[str, Any]


class Position(Answer):
    """Where a node sits on the canvas."""

    x: float
    y: float


class WorkflowNode(Answer):
    """A node of a workflow document."""

    id: str
    kind: str
    params: dict[str, Any]
    position: Position


class WorkflowEdge(Answer):
    """``source``'s output ``source_output`` feeds ``target``'s input ``target_input``."""

    source: str
    source_output: str
    target: str
    target_input: str


class WorkflowDoc(Answer):
    """A ``.medfusion`` workflow document."""

    schema_version: Literal[1]
    name: str
    description: str = ""
    nodes: list[WorkflowNode]
    edges: list[WorkflowEdge]


class WorkflowIssue(Answer):
    """One problem of a workflow document (``node``/``field`` empty or null when it is the
    document's)."""

    node: str | None
    field: str | None
    message: str


class Issues(Answer):
    """A validation: empty ``issues`` means the workflow can run."""

    issues: list[WorkflowIssue]


class SavedWorkflowSummary(Answer):
    """A saved workflow in the list (without its document)."""

    id: str
    name: str
    owner: str | None
    created: float
    updated: float


class SavedWorkflow(SavedWorkflowSummary):
    """A saved workflow with its document."""

    document: WorkflowDoc


class Started(Answer):
    """The id of the execution just started."""

    id: str


NodeStateName = Literal[
    "pending", "running", "finished", "cached", "failed", "skipped", "cancelled", "interrupted"
]


class NodeState(Answer):
    """A node of an execution: its last attempt's state, outputs, error and times."""

    state: NodeStateName
    kind: str
    attempts: int
    outputs: dict[str, Any] | None = None
    error: str | None = None
    started: float | None = None
    ended: float | None = None


class ExecutionSummary(Answer):
    """An execution in the list."""

    id: str
    name: str
    state: str
    owner: str | None
    workflow_id: str | None
    created: float
    started: float | None
    ended: float | None
    error: str | None


class Execution(ExecutionSummary):
    """An execution with its document and each node's state by node id."""

    document: WorkflowDoc
    nodes: dict[str, NodeState]


class Record(Answer):
    """What one node attempt of an execution recorded (``created``: when it last did)."""

    id: int
    execution_id: str
    node_id: str
    node_execution_id: int
    created: float


class DatasetRecord(Record):
    """A dataset a node read or wrote, with its fingerprint."""

    name: str
    fingerprint: str
    manifest: str
    config: str | None
    patients: int | None


class CheckpointRecord(Record):
    """A training's checkpoint file (one row per file and role): ``epoch`` is the number of epochs
    trained when it was written (None: not known), ``value`` the monitored metric of a best one."""

    run_id: str | None
    variant: str
    role: str
    path: str
    epoch: int | None
    monitor: str | None
    value: float | None
    size: int
    sha256: str


class ModelRecord(Record):
    """A model version a node registered or pointed ``alias`` at."""

    name: str
    version: int
    alias: str | None
    run_id: str | None
    variant: str | None


class ExecutionRecords(Answer):
    """The datasets, checkpoints and models an execution's nodes recorded, oldest first."""

    datasets: list[DatasetRecord]
    checkpoints: list[CheckpointRecord]
    models: list[ModelRecord]


# -- training jobs -------------------------------------------------------------------------------


class Job(Answer):
    """A training job of the queue."""

    id: str
    state: Literal["queued", "running", "cancelling", "finished", "failed", "cancelled", "interrupted"]
    priority: int
    modalities: str
    owner: str | None
    executor: str
    resume: bool
    config: str
    log_path: str
    run_dir: str | None
    run_ids: list[str]
    exit_code: int | None
    error: str | None
    created: float
    started: float | None
    ended: float | None


class JobLog(Answer):
    """Log text from byte ``offset``; ask again from ``next_offset``."""

    text: str
    offset: int
    next_offset: int


# -- runs and models -----------------------------------------------------------------------------


class Run(Answer):
    """A tracked run with its params, tags and latest metric values."""

    id: str
    name: str
    experiment: str
    status: str
    start_time: float
    end_time: float | None
    run_dir: str
    data_fingerprint: str | None
    lineage: dict[str, Any]
    parent_run_id: str | None
    params: dict[str, str]
    metrics: dict[str, float | None]
    tags: dict[str, str]


class Artifact(Answer):
    """A file recorded for a run."""

    path: str
    kind: str


class Reports(Answer):
    """Which report formats the run's evaluation wrote."""

    html: bool
    pdf: bool


class RunDetail(Run):
    """A run with its artifacts, the model versions it backs (``NAME/N``) and its reports."""

    artifacts: list[Artifact]
    model_versions: list[str]
    reports: Reports


class MetricPoint(Answer):
    """One logged value of a metric."""

    seq: int
    step: int | None
    timestamp: float
    value: float | None


class ComparedRun(Answer):
    """A run of a comparison as the request named it."""

    id: str
    name: str
    ref: str
    model: str | None


class Comparison(Answer):
    """Runs side by side, values listed in the order of ``runs``; the first is the reference."""

    runs: list[ComparedRun]
    params_that_differ: dict[str, list[str | None]]
    metrics: dict[str, list[float | None]]
    test_metrics: list[dict[str, Any]]
    reports: list[dict[str, Any] | None]
    paired_tests: list[dict[str, Any]]
    not_tested: list[str]


class ModelVersion(Answer):
    """Version ``version`` of a registered model (``ref`` is ``NAME/N``)."""

    model: str
    version: int
    ref: str
    run_id: str | None
    variant: str
    checkpoint: str
    artifacts: list[str]
    metrics: dict[str, Any]
    lineage: dict[str, Any]
    created: float
    aliases: list[str]
    tags: dict[str, str]


class Model(Answer):
    """A registered model: its versions and where each alias points."""

    name: str
    versions: list[ModelVersion]
    aliases: dict[str, int]


# -- datasets ------------------------------------------------------------------------------------


class Dataset(Answer):
    """An uploaded dataset: where it is, its config, and its summary."""

    id: str
    name: str
    owner: str | None
    created: float
    manifest: str
    config: str | None
    data_config: dict[str, Any]
    patients: int
    rows: int
    columns: list[str]
    class_balance: dict[str, int]
    missing: dict[str, int]
    views_per_patient: int
    splits: dict[str, int] | None


class PatientPage(Answer):
    """Manifest rows ``offset`` … of ``total``, with the columns that hold image paths."""

    total: int
    offset: int
    rows: list[dict[str, Any]]
    image_columns: list[str]
