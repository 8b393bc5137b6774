"""The command kind: ``medfusion`` subcommands, listed from their specs and imported on use.

Contract: the factory is a :class:`click.Command`. Two plugins registering the same command name
are an ambiguity error; ``medfusion plugin:name`` picks one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from medfusion_core.kinds.base import Info, Kind, hookspec

if TYPE_CHECKING:
    from medfusion_core.specs import ComponentSpec


@hookspec
def medfusion_register_commands() -> list[ComponentSpec] | None:
    """Register extra ``medfusion`` subcommands.

    The factory is a :class:`click.Command`; it is imported only when the command is invoked
    or its help is shown.
    """


class Command(Protocol):
    """The part of :class:`click.Command` the CLI and other plugins use."""

    name: str | None

    def main(self, args: Sequence[str] | None = None, standalone_mode: bool = True, **extra: Any) -> Any:
        """Run the command with ``args``."""
        ...


KIND = Kind("command", medfusion_register_commands, Info, Command)
