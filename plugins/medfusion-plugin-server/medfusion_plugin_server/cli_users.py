"""``medfusion users add | list | remove``: who may log in to the web API."""

from __future__ import annotations

import os
from pathlib import Path

import click
from medfusion_plugin_tracking.cli_common import echo_table, store_options, when
from medfusion_plugin_tracking.engine import default_url

from medfusion_plugin_server.accounts import ROLES, Accounts
from medfusion_plugin_server.db import ServerDatabase
from medfusion_plugin_server.errors import ApiError

PASSWORD_ENV = "MEDFUSION_USER_PASSWORD"


def database_url(store_url: str | None, runs_dir: Path) -> str:
    """The database ``--store``/``--runs-dir`` name (as for ``medfusion runs``)."""
    return store_url or default_url(runs_dir)


def _accounts(store_url: str | None, runs_dir: Path) -> Accounts:
    return Accounts(ServerDatabase(database_url(store_url, runs_dir)))


def password_from(env: str, username: str) -> str:
    """The password in ``$env``, else asked for twice on the terminal."""
    return os.environ.get(env) or click.prompt(
        f"password for {username}", hide_input=True, confirmation_prompt=True
    )


@click.group("users")
def users() -> None:
    """Add, list and remove the users of the web API."""


@users.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), default="researcher", show_default=True)
@store_options
def add(username: str, role: str, store_url: str | None, runs_dir: Path) -> None:
    """Create USERNAME (password from $MEDFUSION_USER_PASSWORD or asked for)."""
    try:
        _accounts(store_url, runs_dir).add(username, password_from(PASSWORD_ENV, username), role)
    except ApiError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"added {username} ({role})")


@users.command("list")
@store_options
def list_users(store_url: str | None, runs_dir: Path) -> None:
    """List the users and their roles."""
    found = _accounts(store_url, runs_dir).list()
    echo_table(
        ["id", "username", "role", "created"],
        [[str(user["id"]), user["username"], user["role"], when(user["created"])] for user in found],
    )


@users.command("remove")
@click.argument("username")
@store_options
def remove(username: str, store_url: str | None, runs_dir: Path) -> None:
    """Delete USERNAME and end their sessions."""
    try:
        _accounts(store_url, runs_dir).remove(username)
    except ApiError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"removed {username}")
