"""``medfusion web-assets``: print the built web app's folder after checking it."""

from __future__ import annotations

import click

from medfusion_plugin_web.assets import assets_dir, check_assets


@click.command("web-assets")
@click.option("--list", "list_files", is_flag=True, help="Also list every file of the app.")
def web_assets(list_files: bool) -> None:
    """Print the folder of the built web app (served at / by `medfusion serve`)."""
    folder = assets_dir()
    files = check_assets(folder)
    click.echo(str(folder))
    if list_files:
        for path in files:
            click.echo(f"  {path.relative_to(folder)}  {path.stat().st_size} B")
