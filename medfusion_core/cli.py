"""The `medfusion` command."""

import click


@click.group()
def main() -> None:
    """MedFusion."""
