"""Which files a request may make the server read: manifests, configs and pretrained weights
under the server's data roots only (the uploaded datasets' folder and each ``--data-root``).

Checked before a workflow is saved or started (every ``dataset`` node's ``params.config``, the
manifest and weights that config names, and ``data.manifest`` overrides) and before a training
job is queued (its config's manifest and weights). Paths are resolved (``..`` and symbolic links
followed) before the check, so that neither leads out of a root. A refusal is one line naming
the node or field and the path.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from medfusion_plugin_workflows.format import Workflow
from medfusion_plugin_workflows.nodes.common import parse_overrides

from medfusion_plugin_server.errors import ApiError

#: Config fields naming files that a training reads.
_PATH_FIELDS = ("data.manifest", "model.backbone.pretrained")


def _dotted(document: Any, key: str) -> Any:
    for part in key.split("."):
        if not isinstance(document, Mapping):
            return None
        document = document.get(part)
    return document


def check_path(text: str, base: Path, roots: Iterable[Path], where: str) -> Path:
    """``text`` (relative to ``base``) resolved; 403 unless it lies under one of ``roots``."""
    roots = [Path(root).resolve() for root in roots]
    path = Path(text).expanduser()
    resolved = (path if path.is_absolute() else base / path).resolve()
    if not any(resolved.is_relative_to(root) for root in roots):
        allowed = ", ".join(str(root) for root in roots)
        raise ApiError(
            403,
            f"{where}: {text!r} is outside the server's data roots ({allowed}): upload the dataset "
            "(POST /api/datasets) or start the server with --data-root DIR",
        )
    return resolved


def check_config(
    config: Mapping[str, Any], base: Path, roots: Iterable[Path], where: str, skip: Iterable[str] = ()
) -> None:
    """403 unless every file ``config`` names (manifest, pretrained weights; not the fields in
    ``skip``) lies under ``roots``; relative paths count from ``base`` (the config's folder)."""
    roots = list(roots)
    for field in _PATH_FIELDS:
        value = _dotted(config, field)
        if field not in skip and isinstance(value, str) and value:
            check_path(value, base, roots, f"{where}{field}")


def _config_file(path: Path, where: str) -> Mapping[str, Any]:
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        line = str(exc).replace("\n", " ")
        raise ApiError(422, f"{where}: cannot read the config {str(path)!r} ({line})") from exc
    return loaded if isinstance(loaded, Mapping) else {}


def check_workflow(workflow: Workflow, roots: Iterable[Path]) -> None:
    """403 when a ``dataset`` node of ``workflow`` would read outside ``roots`` (see the module
    docstring); demo data (written by the node itself) needs no root."""
    roots = list(roots)
    for node in workflow.nodes:
        if node.kind != "dataset":
            continue
        where = f"node {node.id}: params."
        overrides = parse_overrides(node.params.get("overrides") or [])
        for field in _PATH_FIELDS:
            value = overrides.get(field)
            if value is None:
                continue
            if not Path(str(value)).expanduser().is_absolute():
                raise ApiError(422, f"{where}overrides: {field}={value!r}: give an absolute path")
            check_path(str(value), Path("/"), roots, f"{where}overrides {field}")
        config = node.params.get("config")
        if config and int(node.params.get("demo_patients") or 0) <= 0:
            path = check_path(str(config), Path.cwd(), roots, f"{where}config")
            named = _config_file(path, f"{where}config")
            check_config(named, path.parent, roots, f"{where}config {path.name}: ", skip=overrides)
