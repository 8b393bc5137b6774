"""``medfusion serve``: the web API (uvicorn) on 127.0.0.1:8765 by default.

Off loopback it refuses to start until authentication is configured (at least one user, e.g.
``--create-admin NAME`` or ``medfusion users add``); on loopback it starts without users and
says how to add one (every API call but ``/api/health`` needs a login).
"""

from __future__ import annotations

import gc
from pathlib import Path

import click
from medfusion_plugin_tracking.cli_common import store_options

from medfusion_plugin_server.accounts import Accounts
from medfusion_plugin_server.cli_users import database_url, password_from
from medfusion_plugin_server.db import ServerDatabase
from medfusion_plugin_server.errors import ApiError
from medfusion_plugin_server.settings import DEFAULT_HOST, DEFAULT_PORT, Settings, is_loopback

ADMIN_PASSWORD_ENV = "MEDFUSION_ADMIN_PASSWORD"


@click.command("serve")
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="Address to bind.")
@click.option("--port", type=click.IntRange(0, 65535), default=DEFAULT_PORT, show_default=True)
@click.option(
    "--create-admin",
    metavar="USER",
    help=f"Create this admin first (password: ${ADMIN_PASSWORD_ENV} or asked).",
)
@click.option(
    "--cors-origin", "cors_origins", multiple=True, metavar="ORIGIN", help="Allow this origin (repeatable)."
)
@click.option("--max-upload-mb", type=click.IntRange(min=1), default=512, show_default=True)
@click.option("--secure-cookie", is_flag=True, help="Session cookie over HTTPS only (behind a TLS proxy).")
@click.option(
    "--data-root",
    "data_roots",
    multiple=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="A folder whose data workflows and jobs may read, besides uploaded datasets (repeatable).",
)
@click.option(
    "--job-nice",
    type=click.IntRange(0, 19),
    default=10,
    show_default=True,
    help="Run training jobs and workflow nodes this many nice levels below the server.",
)
@store_options
def serve(
    host: str,
    port: int,
    create_admin: str | None,
    cors_origins: tuple[str, ...],
    max_upload_mb: int,
    secure_cookie: bool,
    data_roots: tuple[Path, ...],
    job_nice: int,
    store_url: str | None,
    runs_dir: Path,
) -> None:
    """Start the web API (REST, WebSockets, /metrics; the web app at / when installed)."""
    import uvicorn

    from medfusion_plugin_server.app import create_app

    url = database_url(store_url, runs_dir)
    accounts = Accounts(ServerDatabase(url))
    if create_admin:
        try:
            accounts.add(create_admin, password_from(ADMIN_PASSWORD_ENV, create_admin), "admin")
        except ApiError as exc:
            raise click.ClickException(f"--create-admin: {exc.message}") from None
    if accounts.count() == 0:
        if not is_loopback(host):
            raise click.ClickException(
                f"--host {host} is not loopback and no user is configured: add one with "
                "`medfusion users add NAME --role admin` or --create-admin NAME"
            )
        click.echo("no users yet: add one with `medfusion users add NAME --role admin` to log in", err=True)
    settings = Settings(
        url=url,
        runs_dir=runs_dir.resolve(),
        cors_origins=cors_origins,
        max_upload_bytes=max_upload_mb * 1024 * 1024,
        secure_cookie=secure_cookie,
        data_roots=tuple(root.resolve() for root in data_roots),
        job_nice=job_nice,
    )
    click.echo(f"MedFusion API on http://{host}:{port}/api (OpenAPI: /api/openapi.json)", err=True)
    app = create_app(settings)
    gc.freeze()  # what start-up built lives as long as the server: keep it out of collections
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        ws="websockets-sansio",
        ws_per_message_deflate=False,  # small JSON messages: compressing them costs more than it saves
    )
