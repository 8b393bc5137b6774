"""What every artifact format implements."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from torch import nn

    from medfusion_plugin_export.signature import Traced
    from medfusion_plugin_export.verify import Runner

#: Name of the metadata entry embedded inside .pt2 and TorchScript archives.
EMBEDDED_METADATA = "medfusion.json"


class Backend(Protocol):
    """An artifact format: writes the model with its metadata, checks the file, loads it back."""

    format: str
    suffix: str

    def save(self, traced: Traced, path: Path, metadata: str) -> None:
        """Write ``traced.model`` (traced on its example inputs, batch >= 2) to ``path`` with the
        JSON text ``metadata`` embedded; the batch dimension must stay dynamic."""
        ...

    def export_component(self, module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """Export one sub-module in memory (static shapes); raises when this format cannot handle it.
        Used to name the culprit component when a whole-model export fails."""
        ...

    def open(self, path: Path) -> tuple[Runner, list[str]]:
        """Structural checks of the written file, then load it: returns the artifact as a callable
        from the four input tensors to numpy logits, and the list of checks that passed. Raises
        :class:`~medfusion_core.errors.ExportError` when a check fails."""
        ...
