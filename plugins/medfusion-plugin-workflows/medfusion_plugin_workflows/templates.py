"""The workflow templates shipped with the plugin (``templates/*.medfusion``)."""

from __future__ import annotations

from pathlib import Path

from medfusion_plugin_workflows.errors import WorkflowError
from medfusion_plugin_workflows.format import SUFFIX, Workflow, load_workflow

_FOLDER = Path(__file__).resolve().parent / "templates"


def names() -> list[str]:
    """The template names, sorted (``export-champion``, ``kfold``, ``quickstart``)."""
    return sorted(path.name.removesuffix(SUFFIX) for path in _FOLDER.glob(f"*{SUFFIX}"))


def path(name: str) -> Path:
    """The template file of ``name``; an unknown name is a one-line error listing the known ones."""
    if name not in names():
        raise WorkflowError(f"no workflow template {name!r}; known: {', '.join(names())}")
    return _FOLDER / f"{name}{SUFFIX}"


def load(name: str) -> Workflow:
    """The template ``name`` as a workflow."""
    return load_workflow(path(name))
