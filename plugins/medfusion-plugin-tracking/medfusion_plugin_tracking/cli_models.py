"""``medfusion models register | list | show | alias``: the model registry."""

from __future__ import annotations

from pathlib import Path

import click

from medfusion_core.runs import VARIANT_DIRS
from medfusion_plugin_tracking.cli_common import (
    echo_json,
    echo_table,
    json_option,
    open_store,
    store_options,
    when,
)
from medfusion_plugin_tracking.errors import TrackingError
from medfusion_plugin_tracking.records import ModelVersionInfo, RunInfo


def _variant_files(run: RunInfo, variant: str) -> tuple[str, list[str]]:
    """The best checkpoint of ``variant`` and its exported artifacts, under the run folder."""
    root = Path(run.run_dir)
    checkpoint = root / VARIANT_DIRS[variant] / "checkpoints" / "best.pt"
    if not checkpoint.is_file():
        raise TrackingError(
            f"run {run.name!r} has no {variant} checkpoint at {checkpoint} (pass --checkpoint)"
        )
    artifacts = sorted(str(path) for path in (root / "export").glob(f"{variant}.*") if path.is_file())
    return str(checkpoint), artifacts


def _echo_versions(versions: list[ModelVersionInfo]) -> None:
    rows = [
        [
            version.ref,
            version.variant,
            (version.run_id or "-")[:8],
            ",".join(version.aliases) or "-",
            when(version.created),
        ]
        for version in versions
    ]
    echo_table(["version", "variant", "run", "aliases", "registered"], rows)


@click.group("models")
def models() -> None:
    """Register trained runs as model versions, list them and move their aliases."""


@models.command("register")
@click.argument("run")
@click.option("--name", required=True, help="Model name (created on its first version).")
@click.option("--variant", type=click.Choice(list(VARIANT_DIRS)), default="fused", show_default=True)
@click.option(
    "--checkpoint", type=click.Path(path_type=Path, dir_okay=False), help="Default: the variant's best.pt."
)
@store_options
@json_option
def register(
    run: str,
    name: str,
    variant: str,
    checkpoint: Path | None,
    store_url: str | None,
    runs_dir: Path,
    as_json: bool,
) -> None:
    """Register RUN's variant as the next version of model NAME (checkpoint, exports, metrics, lineage)."""
    with open_store(store_url, runs_dir) as store:
        info = store.get_run(run)
        path, artifacts = (str(checkpoint), []) if checkpoint else _variant_files(info, variant)
        lineage = {**info.lineage, "run_dir": info.run_dir, "data_fingerprint": info.data_fingerprint}
        version = store.register_model_version(
            name,
            info.id,
            variant=variant,
            checkpoint=path,
            artifacts=artifacts,
            metrics=info.metrics,
            lineage=lineage,
        )
    if as_json:
        echo_json(version.to_dict())
    else:
        click.echo(f"registered {version.ref} from run {info.name} ({info.id[:8]}, {variant})")


@models.command("list")
@store_options
@json_option
def list_models(store_url: str | None, runs_dir: Path, as_json: bool) -> None:
    """List registered models with their newest version and aliases."""
    with open_store(store_url, runs_dir) as store:
        everything = {name: store.model_versions(name) for name in store.list_models()}
    if as_json:
        echo_json(
            {name: [version.to_dict() for version in versions] for name, versions in everything.items()}
        )
        return
    rows = [
        [name, str(len(versions)), ", ".join(f"{a}->{v.version}" for v in versions for a in v.aliases) or "-"]
        for name, versions in everything.items()
    ]
    echo_table(["model", "versions", "aliases"], rows)


@models.command("show")
@click.argument("ref")
@store_options
@json_option
def show_model(ref: str, store_url: str | None, runs_dir: Path, as_json: bool) -> None:
    """Show NAME (every version), NAME/N or NAME@alias."""
    with open_store(store_url, runs_dir) as store:
        found = [store.resolve_model(ref)] if ("@" in ref or "/" in ref) else store.model_versions(ref)
    if as_json:
        echo_json([version.to_dict() for version in found])
        return
    _echo_versions(found)
    if len(found) == 1:
        version = found[0]
        click.echo(f"checkpoint {version.checkpoint}")
        for path in version.artifacts:
            click.echo(f"artifact   {path}")
        for key, value in version.metrics.items():
            click.echo(f"metric     {key} = {value}")


@models.command("alias")
@click.argument("name")
@click.argument("alias")
@click.argument("version", type=int, required=False)
@click.option("--delete", is_flag=True, help="Remove the alias instead of moving it.")
@store_options
def alias(
    name: str, alias: str, version: int | None, delete: bool, store_url: str | None, runs_dir: Path
) -> None:
    """Point ALIAS of model NAME at VERSION (atomically), or remove it with --delete."""
    if delete == (version is not None):
        raise click.UsageError("give either VERSION or --delete")
    with open_store(store_url, runs_dir) as store:
        if delete:
            store.delete_alias(name, alias)
            click.echo(f"removed {name}@{alias}")
        else:
            assert version is not None
            store.set_alias(name, alias, version)
            click.echo(f"{name}@{alias} -> {name}/{version}")
