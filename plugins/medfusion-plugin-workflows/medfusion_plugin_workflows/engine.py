"""The execution engine: runs a validated workflow in topological order, independent branches in
parallel up to ``max_parallel``, and persists every state and event in the tracking database.

A node whose kind, parameters and inputs hash to a key already in the cache is not run again
(its outputs are reused and the attempt is recorded as ``cached``); a failed node marks only its
descendants ``skipped``; a cancel terminates the running nodes' child processes. An execution
whose process died is marked ``interrupted`` by :meth:`WorkflowEngine.recover`, and
:meth:`WorkflowEngine.resume` runs it again, the finished nodes coming from the cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections.abc import Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

from medfusion_core.kinds.node import MANY, parse_params
from medfusion_plugin_workflows.catalog import load_node
from medfusion_plugin_workflows.context import POLL_S, Cancelled, EngineContext
from medfusion_plugin_workflows.errors import WorkflowError
from medfusion_plugin_workflows.format import Workflow, load_workflow
from medfusion_plugin_workflows.graph import descendants, topological_order
from medfusion_plugin_workflows.store import DONE_STATES, LIVE_STATES, WorkflowStore, pid_alive
from medfusion_plugin_workflows.validation import check

#: Version of the cache key recipe (bump to invalidate every cached result).
CACHE_VERSION = 1


def cache_key(kind: str, params: Mapping[str, Any], inputs: Mapping[str, Any]) -> str:
    """sha256 of the node kind, its parameters and its inputs (canonical JSON)."""
    payload = json.dumps([CACHE_VERSION, kind, params, inputs], sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def _one_line(exc: BaseException) -> str:
    """The first line of an error; other than a :class:`WorkflowError`, prefixed by its type."""
    lines = str(exc).strip().splitlines()
    first = lines[0] if lines else ""
    if isinstance(exc, WorkflowError) and first:
        return first
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def _node_state(attempts: list[dict[str, Any]]) -> dict[str, Any]:
    last = attempts[-1]
    return {
        "state": last["state"],
        "kind": last["kind"],
        "outputs": last["outputs"],
        "error": last["error"],
        "started": last["started"],
        "ended": last["ended"],
        "attempts": len(attempts),
    }


class _Run:
    """One execution being worked on by this process."""

    def __init__(self, eid: str, workflow: Workflow) -> None:
        self.eid = eid
        self.workflow = workflow
        self.cancel = threading.Event()
        self.thread: threading.Thread | None = None


class WorkflowEngine:
    """Runs workflows and keeps their record in the database at ``url``.

    Args:
        url: the tracking store's database URL (SQLite file or PostgreSQL).
        runs_dir: where trainings write their run folders; node folders live in
            ``<runs_dir>/workflows/<execution id>/<node id>``.
        max_parallel: at most this many nodes run at once.
        env: extra environment of the nodes' child processes (e.g. ``OMP_NUM_THREADS``).
        nice: how many nice levels below this process the nodes' child processes run.
    """

    def __init__(
        self,
        url: str,
        runs_dir: Path,
        max_parallel: int = 2,
        *,
        env: Mapping[str, str] | None = None,
        nice: int = 0,
    ) -> None:
        if max_parallel < 1:
            raise WorkflowError(f"max_parallel must be at least 1, got {max_parallel}")
        self.url = url
        self.runs_dir = Path(runs_dir).resolve()
        self.max_parallel = max_parallel
        self.env = dict(env or {})
        self.nice = nice
        self.store = WorkflowStore(url)
        self._active: dict[str, _Run] = {}
        self._lock = threading.Lock()

    # -- starting ------------------------------------------------------------------------------

    def _prepare(self, workflow: Workflow | Mapping[str, Any] | str | Path) -> Workflow:
        wf = workflow if isinstance(workflow, Workflow) else load_workflow(workflow)
        check(wf)
        return wf

    def _begin(self, eid: str, workflow: Workflow) -> _Run:
        with self._lock:
            if eid in self._active:
                raise WorkflowError(f"execution {eid} is already running in this process")
            run = self._active[eid] = _Run(eid, workflow)
        self.store.claim(eid)
        return run

    def _launch(self, run: _Run, background: bool) -> str:
        if not background:
            self._execute(run)
            return run.eid
        run.thread = threading.Thread(
            target=self._execute, args=(run,), name=f"workflow-{run.eid[:8]}", daemon=True
        )
        run.thread.start()
        return run.eid

    def start(self, workflow: Workflow, owner: str | None = None, workflow_id: str | None = None) -> str:
        """Validate ``workflow`` and run it in a background thread; returns the execution id."""
        wf = self._prepare(workflow)
        eid = self.store.create_execution(wf.to_json(), owner, workflow_id)
        return self._launch(self._begin(eid, wf), background=True)

    def run(self, workflow: Workflow, owner: str | None = None, workflow_id: str | None = None) -> str:
        """Validate ``workflow`` and run it to its end in this thread; returns the execution id."""
        wf = self._prepare(workflow)
        eid = self.store.create_execution(wf.to_json(), owner, workflow_id)
        return self._launch(self._begin(eid, wf), background=False)

    def resume(self, eid: str, *, wait: bool = False) -> str:
        """Run an interrupted, failed or cancelled execution again (finished nodes are reused
        from the cache); in the background unless ``wait``. Returns the execution id."""
        self.recover()
        row = self.store.execution_row(eid)
        if row["state"] not in DONE_STATES - {"finished"}:
            raise WorkflowError(
                f"execution {row['id'][:8]} is {row['state']}; "
                "only an interrupted, failed or cancelled execution resumes"
            )
        wf = self._prepare(row["document"])
        self.store.add_event(row["id"], "execution_resumed")
        return self._launch(self._begin(row["id"], wf), background=not wait)

    def wait(self, eid: str, timeout: float | None = None) -> dict[str, Any]:
        """Block until this process's run of ``eid`` ends (or ``timeout``); returns :meth:`execution`."""
        run = self._active.get(eid)
        if run is not None and run.thread is not None:
            run.thread.join(timeout)
        return self.execution(eid)

    # -- control -------------------------------------------------------------------------------

    def cancel(self, eid: str) -> None:
        """Stop the execution: running nodes' child processes are terminated, nothing else
        starts. Works across processes (the owner polls the request)."""
        row = self.store.execution_row(eid)
        if row["state"] in DONE_STATES:
            raise WorkflowError(f"execution {row['id'][:8]} is already {row['state']}")
        self.store.update_execution(row["id"], cancel_requested=True)
        run = self._active.get(row["id"])
        if run is not None:
            run.cancel.set()

    def recover(self) -> list[str]:
        """Mark ``interrupted`` every pending or running execution whose owning process is gone
        (and its running node attempts); returns their ids. Call at server start."""
        found = []
        for row in self.store.execution_rows():
            if row["state"] not in LIVE_STATES or row["id"] in self._active:
                continue
            mine = row["pid"] == os.getpid()
            if row["pid"] is not None and not mine and pid_alive(row["host"], row["pid"]):
                continue
            self.store.update_execution(row["id"], state="interrupted", ended=time.time())
            for attempt in self.store.node_rows(row["id"]):
                if attempt["state"] == "running":
                    self.store.end_node(attempt["id"], "interrupted", error="the engine process died")
            self.store.add_event(row["id"], "execution_interrupted")
            found.append(row["id"])
        return found

    # -- reading -------------------------------------------------------------------------------

    def execution(self, eid: str) -> dict[str, Any]:
        """The execution's record: ``id``, ``name``, ``state``, ``owner``, ``workflow_id``,
        times, ``error``, ``document`` and ``nodes`` (by node id: ``state`` — pending, running,
        finished, cached, failed, skipped, cancelled or interrupted — ``kind``, ``outputs``,
        ``error``, times and ``attempts``)."""
        row = self.store.execution_row(eid)
        attempts: dict[str, list[dict[str, Any]]] = {}
        for attempt in self.store.node_rows(row["id"]):
            attempts.setdefault(attempt["node_id"], []).append(attempt)
        nodes = {}
        for node in row["document"]["nodes"]:
            tried = attempts.get(node["id"])
            nodes[node["id"]] = (
                _node_state(tried) if tried else {"state": "pending", "kind": node["kind"], "attempts": 0}
            )
        return {
            key: row[key]
            for key in (
                "id",
                "name",
                "state",
                "owner",
                "workflow_id",
                "created",
                "started",
                "ended",
                "error",
                "document",
            )
        } | {"nodes": nodes}

    def executions(self) -> list[dict[str, Any]]:
        """Every execution, newest first: ``id``, ``name``, ``state``, ``owner``, ``workflow_id``,
        ``created``, ``started``, ``ended``, ``error``."""
        keys = ("id", "name", "state", "owner", "workflow_id", "created", "started", "ended", "error")
        return [{key: row[key] for key in keys} for row in self.store.execution_rows()]

    def events(self, eid: str, after: int = 0) -> list[dict[str, Any]]:
        """The execution's events after ``seq`` ``after``: ``{"seq", "type", "node", "data", "time"}``."""
        return self.store.events(self.store.execution_row(eid)["id"], after)

    def records(self, eid: str) -> dict[str, list[dict[str, Any]]]:
        """What the execution's nodes recorded: ``datasets`` (name, fingerprint, manifest, ...),
        ``checkpoints`` (path, variant, role, epoch, size, sha256, ...) and ``models`` (name,
        version, alias, ...), each row with its ``node_id`` and ``node_execution_id``, oldest first."""
        return self.store.records(self.store.execution_row(eid)["id"])

    def node_attempts(self, eid: str) -> list[dict[str, Any]]:
        """Every node attempt of the execution (``node_id``, ``kind``, ``state``, ...), oldest first."""
        return self.store.node_rows(self.store.execution_row(eid)["id"])

    # -- running -------------------------------------------------------------------------------

    def _execute(self, run: _Run) -> None:
        """Run the execution to its end; an error of the engine itself (the database went away)
        fails the execution with one line instead of leaving it ``running``."""
        try:
            self.store.add_event(run.eid, "execution_started", data={"name": run.workflow.name})
            self._finish(run, self._schedule(run))
        except Exception as exc:
            message = f"engine error: {_one_line(exc)}"
            self.store.update_execution(run.eid, state="failed", error=message, ended=time.time())
            self.store.add_event(run.eid, "execution_failed", data={"error": message})
        finally:
            with self._lock:
                self._active.pop(run.eid, None)

    def _schedule(self, run: _Run) -> dict[str, str]:
        """Start every node whose parents finished, up to ``max_parallel`` at once, until none is
        left; returns each node's final state (nodes never started are absent)."""
        wf = run.workflow
        edges = [(edge.source, edge.target) for edge in wf.edges]
        order = topological_order([node.id for node in wf.nodes], edges)
        outputs: dict[str, Mapping[str, Any]] = {}
        states: dict[str, str] = {}
        with ThreadPoolExecutor(self.max_parallel, thread_name_prefix=f"node-{run.eid[:8]}") as pool:
            running: dict[Future[tuple[str, Mapping[str, Any] | None]], str] = {}
            while True:
                self._poll_cancel(run)
                for node_id in order:
                    if node_id in states or len(running) >= self.max_parallel or run.cancel.is_set():
                        continue
                    parents = [source for source, target in edges if target == node_id]
                    if all(states.get(parent) == "finished" for parent in parents):
                        states[node_id] = "running"
                        running[pool.submit(self._run_node, run, node_id, outputs)] = node_id
                if not running:
                    return states
                done, _ = wait(running, timeout=POLL_S, return_when=FIRST_COMPLETED)
                for future in done:
                    node_id = running.pop(future)
                    state, result = future.result()
                    states[node_id] = state
                    if state == "finished" and result is not None:
                        outputs[node_id] = result
                    elif state == "failed":
                        self._skip(run, node_id, edges, states)

    def _poll_cancel(self, run: _Run) -> None:
        if not run.cancel.is_set() and self.store.execution_row(run.eid)["cancel_requested"]:
            run.cancel.set()

    def _skip(self, run: _Run, failed: str, edges: list[tuple[str, str]], states: dict[str, str]) -> None:
        for node_id in sorted(descendants(failed, edges)):
            if node_id not in states:
                states[node_id] = "skipped"
                row = self.store.start_node(run.eid, node_id, run.workflow.node(node_id).kind, "skipped", "")
                self.store.end_node(row, "skipped", error=f"upstream node {failed!r} failed")
                self.store.add_event(run.eid, "node_skipped", node_id, {"because": failed})

    def _finish(self, run: _Run, states: dict[str, str]) -> None:
        if run.cancel.is_set():
            state = "cancelled"
        elif any(value in ("failed", "skipped") for value in states.values()):
            state = "failed"
        else:
            state = "finished"
        failed = sorted(node for node, value in states.items() if value == "failed")
        error = f"failed node(s): {', '.join(failed)}" if failed else None
        self.store.update_execution(run.eid, state=state, error=error, ended=time.time())
        self.store.add_event(run.eid, f"execution_{state}", data={"error": error} if error else {})

    def _inputs(
        self,
        wf: Workflow,
        node_id: str,
        inputs_of: Mapping[str, str],
        outputs: Mapping[str, Mapping[str, Any]],
    ) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for edge in wf.edges:
            if edge.target != node_id:
                continue
            value = outputs[edge.source][edge.source_output]
            if inputs_of[edge.target_input].endswith(MANY):
                values.setdefault(edge.target_input, []).extend(value if isinstance(value, list) else [value])
            else:
                values[edge.target_input] = value
        return values

    def _run_node(
        self, run: _Run, node_id: str, outputs: Mapping[str, Mapping[str, Any]]
    ) -> tuple[str, Mapping[str, Any] | None]:
        """Run (or take from the cache) one node; returns its final state and outputs."""
        definition = run.workflow.node(node_id)
        eid = run.eid
        try:
            node = load_node(definition.kind)
            inputs = self._inputs(run.workflow, node_id, node.inputs, outputs)
            key = cache_key(definition.kind, definition.params, inputs)
            hit = self.store.cached(key)
            if hit is not None:
                row = self.store.start_node(eid, node_id, definition.kind, "cached", key)
                self.store.end_node(row, "cached", outputs=hit)
                self.store.add_event(eid, "node_cached", node_id, {"outputs": hit})
                return "finished", hit
            params = parse_params(node.params, definition.params)
        except (WorkflowError, ValueError) as exc:
            return self._failed(eid, node_id, definition.kind, None, exc)
        row = self.store.start_node(eid, node_id, definition.kind, "running", key)
        self.store.add_event(eid, "node_started", node_id)
        context = EngineContext(
            work_dir=self.runs_dir / "workflows" / eid / node_id,
            runs_dir=self.runs_dir,
            tracking_url=self.url,
            cancel=run.cancel,
            emit=lambda line: self.store.add_event(eid, "log", node_id, {"line": line}),
            record=lambda what, values: self.store.add_record(what, eid, row, values),
            env=self.env,
            nice=self.nice,
        )
        try:
            result = dict(node.run(inputs, params, context))
            json.dumps(result)
        except Cancelled:
            self.store.end_node(row, "cancelled", error="cancelled")
            self.store.add_event(eid, "node_cancelled", node_id)
            return "cancelled", None
        except Exception as exc:  # a node's failure fails only its descendants
            return self._failed(eid, node_id, definition.kind, row, exc)
        missing = sorted(set(node.outputs) - set(result))
        if missing:
            return self._failed(
                eid, node_id, definition.kind, row, WorkflowError(f"returned no output {', '.join(missing)}")
            )
        self.store.end_node(row, "finished", outputs=result)
        self.store.cache(key, definition.kind, result)
        self.store.add_event(eid, "node_finished", node_id, {"outputs": result})
        return "finished", result

    def _failed(
        self, eid: str, node_id: str, kind: str, row: int | None, exc: BaseException
    ) -> tuple[str, None]:
        message = _one_line(exc)
        if row is None:
            row = self.store.start_node(eid, node_id, kind, "failed", "")
        self.store.end_node(row, "failed", error=message)
        self.store.add_event(eid, "node_failed", node_id, {"error": message})
        return "failed", None
