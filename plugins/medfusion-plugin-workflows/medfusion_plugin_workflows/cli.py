"""``medfusion workflow ...``: run, validate, watch, cancel and resume workflows without a server."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click
from medfusion_plugin_tracking.cli_common import json_option, store_options

#: Events echoed while a workflow runs (log lines are kept in the database, not echoed).
_SHOWN = {"node_started", "node_finished", "node_cached", "node_failed", "node_skipped", "node_cancelled"}


def _engine(store_url: str | None, runs_dir: Path, parallel: int = 2) -> Any:
    from medfusion_plugin_tracking.engine import default_url

    from medfusion_plugin_workflows.engine import WorkflowEngine

    return WorkflowEngine(store_url or default_url(runs_dir), runs_dir, max_parallel=parallel)


def _event_line(event: dict[str, Any]) -> str:
    state = event["type"].removeprefix("node_")
    detail = event["data"].get("error") or event["data"].get("because") or ""
    return f"{event['node']}: {state}" + (f" ({detail})" if detail else "")


def _follow(engine: Any, eid: str) -> None:
    """Echo node events until the execution ends; Ctrl-C cancels it; exit 1 unless finished."""
    seen = 0
    try:
        while True:
            for event in engine.events(eid, after=seen):
                seen = event["seq"]
                if event["type"] in _SHOWN:
                    click.echo(_event_line(event))
            state = engine.execution(eid)["state"]
            if state not in ("pending", "running"):
                break
            time.sleep(0.3)
    except KeyboardInterrupt:
        engine.cancel(eid)
        state = engine.wait(eid)["state"]
    engine.wait(eid)
    click.echo(f"execution {eid}: {state}")
    if state != "finished":
        raise SystemExit(1)


def _record_lines(records: dict[str, list[dict[str, Any]]]) -> list[str]:
    """One line per dataset, checkpoint and model the execution's nodes recorded."""
    lines = []
    for row in records["datasets"]:
        patients = "" if row["patients"] is None else f"  {row['patients']} patients"
        lines.append(f"  dataset     {row['name']}  {row['fingerprint']}{patients}")
    for row in records["checkpoints"]:
        epoch = "" if row["epoch"] is None else f"  epoch {row['epoch']}"
        lines.append(f"  checkpoint  {row['variant']} {row['role']}{epoch}  {row['path']}")
    for row in records["models"]:
        alias = f"  @{row['alias']}" if row["alias"] else ""
        lines.append(f"  model       {row['name']}/{row['version']}{alias}")
    return lines


@click.group("workflow")
def workflow() -> None:
    """Run, validate, watch and resume .medfusion workflows (executions live in the tracking store)."""


@workflow.command("run")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--parallel", type=click.IntRange(min=1), default=2, show_default=True, help="Nodes run at once."
)
@store_options
def run(file: Path, parallel: int, store_url: str | None, runs_dir: Path) -> None:
    """Validate FILE and run it; finished nodes with unchanged inputs come from the cache."""
    from medfusion_plugin_workflows.format import load_workflow

    engine = _engine(store_url, runs_dir, parallel)
    eid = engine.start(load_workflow(file))
    click.echo(f"execution {eid}: started")
    _follow(engine, eid)


@workflow.command("validate")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
def validate(file: Path) -> None:
    """Check FILE: one line per problem (node and field), exit 1 when there is any."""
    from medfusion_plugin_workflows.format import load_workflow
    from medfusion_plugin_workflows.validation import validate as issues_of

    issues = issues_of(load_workflow(file))
    for issue in issues:
        click.echo(f"{file}: {issue}", err=True)
    if issues:
        raise SystemExit(1)
    click.echo(f"{file}: ok")


@workflow.command("status")
@click.argument("execution", required=False)
@json_option
@store_options
def status(execution: str | None, as_json: bool, store_url: str | None, runs_dir: Path) -> None:
    """List executions (or show EXECUTION's nodes and the datasets, checkpoints and models they
    recorded); dead ones are marked interrupted first."""
    engine = _engine(store_url, runs_dir)
    engine.recover()
    if execution is None:
        rows = engine.executions()
        if as_json:
            click.echo(json.dumps(rows, indent=2))
        for row in [] if as_json else rows:
            click.echo(f"{row['id']}  {row['state']:<11}  {row['name']}")
        return
    record = engine.execution(execution)
    records = engine.records(record["id"])
    if as_json:
        shown = {key: value for key, value in record.items() if key != "document"}
        click.echo(json.dumps(shown | {"records": records}, indent=2))
        return
    click.echo(
        f"{record['id']}  {record['state']}  {record['name']}"
        + (f"  ({record['error']})" if record["error"] else "")
    )
    for node_id, node in record["nodes"].items():
        error = f"  {node['error']}" if node.get("error") else ""
        click.echo(f"  {node_id:<20} {node['state']:<11} {node['kind']}{error}")
    for line in _record_lines(records):
        click.echo(line)


@workflow.command("resume")
@click.argument("execution")
@click.option(
    "--parallel", type=click.IntRange(min=1), default=2, show_default=True, help="Nodes run at once."
)
@store_options
def resume(execution: str, parallel: int, store_url: str | None, runs_dir: Path) -> None:
    """Continue an interrupted, failed or cancelled EXECUTION from its finished nodes."""
    engine = _engine(store_url, runs_dir, parallel)
    eid = engine.resume(execution)
    click.echo(f"execution {eid}: resumed")
    _follow(engine, eid)


@workflow.command("cancel")
@click.argument("execution")
@store_options
def cancel(execution: str, store_url: str | None, runs_dir: Path) -> None:
    """Ask the process running EXECUTION to stop it (running nodes are terminated)."""
    _engine(store_url, runs_dir).cancel(execution)
    click.echo(f"execution {execution}: cancel requested")


@workflow.command("templates")
def templates() -> None:
    """List the shipped workflow templates."""
    from medfusion_plugin_workflows.templates import load, names

    for name in names():
        click.echo(f"{name:<16} {load(name).description}")


@workflow.command("template")
@click.argument("name")
def template(name: str) -> None:
    """Print the template NAME as a .medfusion file."""
    from medfusion_plugin_workflows.format import dump_workflow
    from medfusion_plugin_workflows.templates import load

    click.echo(dump_workflow(load(name)), nl=False)
