"""The ``medfusion`` command: a click group whose subcommands come from the commands hook.

Subcommands are listed from their specs (name + summary) and imported only when invoked, so
``--help``, ``list-plugins``, ``info`` and ``doctor`` never import torch. Errors derived from
:class:`~medfusion_core.errors.MedFusionError` are printed as one line with a non-zero exit;
``--traceback`` (or ``MEDFUSION_TRACEBACK=1``) shows the full traceback instead.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

import click

from medfusion_core import __version__
from medfusion_core.errors import MedFusionError

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def configure_host(params: dict[str, Any]) -> None:
    """Install the process-wide plugin host built from the global options (once)."""
    from medfusion_core.host import Host, set_host

    set_host(
        Host(
            strict=params.get("strict") or None,
            allow=params.get("only"),
            disable=params.get("disable"),
        )
    )


class PluginCommandGroup(click.Group):
    """A group whose subcommands are command specs from the plugin host, loaded lazily."""

    def _registry(self, ctx: click.Context) -> Any:
        root = ctx.find_root()
        if not root.meta.get("medfusion.host_configured"):
            configure_host(root.params)
            root.meta["medfusion.host_configured"] = True
        from medfusion_core.registry import get_registry

        return get_registry()

    def list_commands(self, ctx: click.Context) -> list[str]:
        return self._registry(ctx).names("command")

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The command named ``cmd_name`` (or ``plugin:name``); two plugins registering the same
        name are an ambiguity error naming both."""
        registry = self._registry(ctx)
        if cmd_name.rpartition(":")[2] not in registry.names("command"):
            return None
        spec = registry.resolve("command", cmd_name)
        command = spec.load()
        if not isinstance(command, click.Command):
            raise MedFusionError(
                f"command {cmd_name!r} from {spec.plugin} is not a click command ({spec.factory}); "
                f"report this to the plugin's authors or disable it with --disable {spec.plugin}"
            )
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List subcommands from their specs' summaries, without importing them."""
        specs = self._registry(ctx).specs("command")
        names = [spec.name for spec in specs]
        rows = [
            (spec.qualified_name if names.count(spec.name) > 1 else spec.name, spec.summary) for spec in specs
        ]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=PluginCommandGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, prog_name="medfusion")
@click.option("--strict", is_flag=True, help="Fail when any plugin fails to load or is incompatible.")
@click.option(
    "--only", metavar="NAMES", help="Load only these plugins (comma-separated; env MEDFUSION_PLUGINS)."
)
@click.option("--disable", metavar="NAMES", help="Do not load these plugins (env MEDFUSION_DISABLE_PLUGINS).")
@click.option("--traceback", is_flag=True, help="Show the full traceback on errors.")
def cli(strict: bool, only: str | None, disable: str | None, traceback: bool) -> None:
    """MedFusion: multimodal medical deep learning (images + clinical data), built from plugins.

    Start with `medfusion quickstart`; see what is installed with `medfusion list-plugins`.
    """


def _wants_traceback(argv: Sequence[str]) -> bool:
    return "--traceback" in argv or bool(os.environ.get("MEDFUSION_TRACEBACK"))


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point: run the CLI, turning user errors into one line and an exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        result = cli.main(args=args, prog_name="medfusion", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except MedFusionError as exc:
        if _wants_traceback(args):
            raise
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except Exception as exc:
        if _wants_traceback(args):
            raise
        click.echo(
            f"internal error: {type(exc).__name__}: {exc} (rerun with --traceback for details)", err=True
        )
        sys.exit(1)
    sys.exit(result if isinstance(result, int) else 0)
