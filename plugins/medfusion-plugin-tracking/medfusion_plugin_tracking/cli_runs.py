"""``medfusion runs list | show | compare | import | delete``: the runs in the tracking store."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from medfusion_core.runs import CONFIG_FILE
from medfusion_plugin_tracking.cli_common import (
    echo_json,
    echo_table,
    json_option,
    number,
    open_store,
    store_options,
    when,
)
from medfusion_plugin_tracking.errors import TrackingError
from medfusion_plugin_tracking.records import RunInfo

if TYPE_CHECKING:
    from medfusion_plugin_tracking.comparison import PairedResult


@click.group("runs")
def runs() -> None:
    """List, show, compare, import and delete the runs of the tracking store."""


@runs.command("list")
@click.option("--filter", "filter_text", default="", metavar="EXPR", help='e.g. "metrics.val_auroc > 0.8".')
@click.option("--experiment", help="Only runs of this experiment.")
@click.option(
    "--status", type=click.Choice(["running", "finished", "failed", "killed"]), help="Only this status."
)
@click.option("--order-by", multiple=True, metavar="TERM", help='e.g. "metrics.val_auroc desc" (repeatable).')
@click.option("--limit", type=click.IntRange(min=1), help="At most this many runs.")
@click.option("--metric", "metrics", multiple=True, metavar="KEY", help="Metric column to show (repeatable).")
@store_options
@json_option
def list_runs(
    filter_text: str,
    experiment: str | None,
    status: str | None,
    order_by: tuple[str, ...],
    limit: int | None,
    metrics: tuple[str, ...],
    store_url: str | None,
    runs_dir: Path,
    as_json: bool,
) -> None:
    """List runs, newest first, filtered by experiment, status and param/metric expressions."""
    with open_store(store_url, runs_dir) as store:
        found = store.search_runs(
            filter_text, experiment=experiment, status=status, order_by=order_by, limit=limit
        )
    if as_json:
        echo_json([run.to_dict() for run in found])
        return
    shown = list(metrics) or [
        term.split()[0][len("metrics.") :] for term in order_by if term.startswith("metrics.")
    ]
    rows = [
        [run.id[:8], run.name, run.experiment, run.status, when(run.start_time)]
        + [number(run.metrics[key]) if key in run.metrics else "-" for key in shown]
        for run in found
    ]
    echo_table(["id", "name", "experiment", "status", "started", *shown], rows)


@runs.command("show")
@click.argument("run")
@store_options
@json_option
def show_run(run: str, store_url: str | None, runs_dir: Path, as_json: bool) -> None:
    """Show one run (by id, id prefix or name): its params, latest metrics, tags and artifacts."""
    with open_store(store_url, runs_dir) as store:
        info = store.get_run(run)
        artifacts = store.artifacts(info.id)
    if as_json:
        echo_json({**info.to_dict(), "artifacts": [{"path": path, "kind": kind} for path, kind in artifacts]})
        return
    click.echo(f"{info.name}  {info.id}  [{info.status}]")
    click.echo(f"experiment {info.experiment}; started {when(info.start_time)}, ended {when(info.end_time)}")
    click.echo(f"run folder {info.run_dir or '-'}")
    for title, values in (("params", info.params), ("metrics", info.metrics), ("tags", info.tags)):
        if values:
            click.echo(f"{title}:")
            for key, value in values.items():
                click.echo(f"  {key} = {number(value)}")
    if artifacts:
        click.echo("artifacts:")
        for path, kind in artifacts:
            click.echo(f"  {path} ({kind})")


def _with_intervals(run: RunInfo) -> dict[str, str]:
    """Metric cells; ``K`` with ``K_ci_low`` and ``K_ci_high`` shows as ``value [low, high]``."""
    cells = {}
    for key, value in run.metrics.items():
        if key.endswith(("_ci_low", "_ci_high")) and key.rsplit("_ci_", 1)[0] in run.metrics:
            continue
        low, high = run.metrics.get(f"{key}_ci_low"), run.metrics.get(f"{key}_ci_high")
        interval = f" [{number(low)}, {number(high)}]" if low is not None and high is not None else ""
        cells[key] = number(value) + interval
    return cells


def _cell(value: Any) -> str:
    """A report metric: ``value [low, high]`` for an estimate, the number otherwise."""
    if isinstance(value, dict):
        low, high = value["low"], value["high"]
        interval = f" [{number(low)}, {number(high)}]" if low is not None and high is not None else ""
        return number(value["value"]) + interval
    return number(value)


def _echo_paired(results: list[PairedResult], skipped: list[str]) -> None:
    from medfusion_plugin_tracking.paired import (
        DELONG_HEADER,
        MCNEMAR_HEADER,
        METHODS,
        delong_cells,
        mcnemar_cells,
    )

    click.echo("paired tests on the same test patients:")
    if results:
        click.echo(METHODS)
        pairs = [f"{result.a.display} vs {result.b.display}" for result in results]
        echo_table(
            DELONG_HEADER, [delong_cells(pair, r.comparison) for pair, r in zip(pairs, results, strict=True)]
        )
        echo_table(
            MCNEMAR_HEADER,
            [mcnemar_cells(pair, r.comparison, r.thresholds) for pair, r in zip(pairs, results, strict=True)],
        )
    for reason in skipped:
        click.echo(f"  not tested: {reason}")


@runs.command("compare")
@click.argument("refs", nargs=-1, required=True)
@store_options
@json_option
def compare_runs(refs: tuple[str, ...], store_url: str | None, runs_dir: Path, as_json: bool) -> None:
    """Compare runs or model versions (REFS: run id, id prefix or name; NAME@alias or NAME/N): the
    params that differ, every metric side by side (with its CI), each model's test metrics from its
    report, and DeLong + McNemar of the first model against each other one on the same test
    patients (binary tasks with report/predictions.csv; different test patients are refused)."""
    from medfusion_plugin_tracking.comparison import paired_tests, report_metrics, resolve

    if len(refs) < 2:
        raise click.UsageError("runs compare needs at least two runs")
    with open_store(store_url, runs_dir) as store:
        models = [resolve(store, ref) for ref in refs]
    found = [model.run for model in models]
    keys = sorted({key for run in found for key in run.params})
    differ = {key: [run.params.get(key) for run in found] for key in keys}
    differ = {key: values for key, values in differ.items() if len(set(values)) > 1}
    cells = [_with_intervals(run) for run in found]
    metric_keys = sorted({key for run_cells in cells for key in run_cells})
    tested = [report_metrics(model) for model in models]
    tested_keys = sorted({key for values in tested for key in values})
    results, skipped = paired_tests(models)
    if as_json:
        echo_json(
            {
                "runs": [
                    {"id": run.id, "name": run.name, "ref": model.ref, "model": model.label}
                    for model, run in zip(models, found, strict=True)
                ],
                "params_that_differ": differ,
                "metrics": {key: [run.metrics.get(key) for run in found] for key in metric_keys},
                "test_metrics": {key: [values.get(key) for values in tested] for key in tested_keys},
                "paired_tests": [result.to_dict() for result in results],
                "not_tested": skipped,
            }
        )
        return
    header = ["", *(model.display for model in models)]
    click.echo("params that differ:" if differ else "params: all the same")
    if differ:
        echo_table(
            header,
            [
                [key, *(value if value is not None else "-" for value in values)]
                for key, values in differ.items()
            ],
        )
    click.echo("metrics:")
    echo_table(header, [[key, *(run_cells.get(key, "-") for run_cells in cells)] for key in metric_keys])
    if tested_keys:
        click.echo("test metrics (report/metrics.json, 95% bootstrap CIs):")
        echo_table(
            header,
            [
                [key, *(_cell(values[key]) if key in values else "-" for values in tested)]
                for key in tested_keys
            ],
        )
    _echo_paired(results, skipped)


@runs.command("delete")
@click.argument("run")
@click.option("--keep-files", is_flag=True, help="Remove the run from the store only; keep its folder.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@store_options
def delete_run(run: str, keep_files: bool, yes: bool, store_url: str | None, runs_dir: Path) -> None:
    """Delete a run from the store and, unless --keep-files, its run folder."""
    with open_store(store_url, runs_dir) as store:
        info = store.get_run(run)
        backing = store.versions_from_run(info.id)
        if backing:
            raise TrackingError(f"run {info.name!r} backs model versions {', '.join(backing)}; it is kept")
        folder = Path(info.run_dir) if info.run_dir else None
        remove_folder = not keep_files and folder is not None and (folder / CONFIG_FILE).is_file()
        what = f"run {info.name} ({info.id[:8]})" + (f" and its folder {folder}" if remove_folder else "")
        if not yes:
            click.confirm(f"Delete {what}?", abort=True)
        store.delete_run(info.id)
    if remove_folder:
        assert folder is not None
        shutil.rmtree(folder)
    click.echo(f"deleted {what}")


@runs.command("import")
@click.argument("path", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--experiment", default="default", show_default=True, help="Experiment of the imported runs.")
@store_options
@json_option
def import_runs(path: Path, experiment: str, store_url: str | None, runs_dir: Path, as_json: bool) -> None:
    """Record run folders made before the store existed (PATH: one run folder or a folder of runs)."""
    from medfusion_plugin_tracking.importer import import_run, run_folders

    folders = run_folders(path)
    with open_store(store_url, runs_dir) as store:
        imported = {folder.name: import_run(store, folder, experiment) for folder in folders}
    if as_json:
        echo_json(
            {
                "imported": {name: run_id for name, run_id in imported.items() if run_id},
                "skipped": [name for name, run_id in imported.items() if run_id is None],
            }
        )
        return
    for name, run_id in imported.items():
        click.echo(f"imported {name} ({run_id[:8]})" if run_id else f"skipped {name} (already in the store)")
