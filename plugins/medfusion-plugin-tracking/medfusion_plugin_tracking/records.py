"""What the store returns: frozen, plain records (no live database objects)."""

from __future__ import annotations

from typing import Any

import attrs


@attrs.frozen
class RunInfo:
    """A run with its params, tags and latest metric values."""

    id: str
    name: str
    experiment: str
    status: str
    start_time: float
    end_time: float | None
    run_dir: str
    data_fingerprint: str | None
    lineage: dict[str, Any]
    parent_run_id: str | None = None
    params: dict[str, str] = attrs.field(factory=dict)
    metrics: dict[str, float | None] = attrs.field(factory=dict)
    tags: dict[str, str] = attrs.field(factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The run as JSON-ready containers."""
        return attrs.asdict(self)


@attrs.frozen
class RunDetail:
    """A run with what a run page shows beside it: its artifacts and the model versions it backs."""

    run: RunInfo
    artifacts: list[tuple[str, str]]
    model_versions: list[str]


@attrs.frozen
class ModelVersionInfo:
    """Version ``version`` of the registered model ``model``."""

    model: str
    version: int
    run_id: str | None
    variant: str
    checkpoint: str
    artifacts: list[str]
    metrics: dict[str, Any]
    lineage: dict[str, Any]
    created: float
    aliases: list[str] = attrs.field(factory=list)
    tags: dict[str, str] = attrs.field(factory=dict)

    @property
    def ref(self) -> str:
        """The reference that names this version: ``NAME/N``."""
        return f"{self.model}/{self.version}"

    def to_dict(self) -> dict[str, Any]:
        """The version as JSON-ready containers."""
        return {**attrs.asdict(self), "ref": self.ref}
