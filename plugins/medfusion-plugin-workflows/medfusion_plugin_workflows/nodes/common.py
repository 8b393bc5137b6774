"""What the first-party nodes share: running ``medfusion`` subcommands and writing config copies.

Port types: ``dataset`` (``{"name", "config", "manifest", "fingerprint", "patients"}``), ``run``
(``{"name", "run_dir", "run_id", "variants"}``), ``comparison``, ``model`` (``{"ref", "name",
"version", "run_dir", "variant"}``), ``artifact`` and ``predictions``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from medfusion_core.kinds.node import NodeContext
from medfusion_core.runs.io import atomic_write
from medfusion_plugin_workflows.errors import WorkflowError
from medfusion_plugin_workflows.process import launcher

#: Report model labels by variant (``medfusion_core.runs.VARIANT_DIRS`` without importing torch).
VARIANT_LABELS = {"fused": "fused", "image": "image-only", "clinical": "clinical-only"}


def medfusion(context: NodeContext, *args: str) -> str:
    """Run ``medfusion ARGS`` as a child process of the node; returns its standard output."""
    return context.call([*launcher(), *args])


def last_line(output: str, prefix: str) -> str:
    """The text after ``prefix`` on the last line of ``output`` that starts with it."""
    for line in reversed(output.splitlines()):
        if line.startswith(prefix):
            return line[len(prefix) :].strip()
    raise WorkflowError(f"the command printed no {prefix.strip()!r} line")


def _set(document: dict[str, Any], dotted: str, value: Any) -> None:
    keys = dotted.split(".")
    target = document
    for key in keys[:-1]:
        if not isinstance(target.get(key), dict):
            target[key] = {}
        target = target[key]
    target[keys[-1]] = value


def parse_overrides(lines: Sequence[str]) -> dict[str, Any]:
    """``["data.image.size=[32, 32]", ...]`` as ``{dotted key: YAML value}``; a line without
    ``=`` is a one-line error naming it."""
    out = {}
    for line in lines:
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise WorkflowError(f"override {line!r}: write KEY=VALUE (e.g. trainer.params.epochs=1)")
        out[key.strip()] = yaml.safe_load(value)
    return out


def write_config(source: str | Path, target: Path, changes: Mapping[str, Any]) -> Path:
    """Copy the experiment config ``source`` to ``target`` with dotted ``changes`` applied and the
    manifest path made absolute (so that the copy works from any folder)."""
    source = Path(source)
    document = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    manifest = Path(document.get("data", {}).get("manifest", "manifest.csv"))
    _set(
        document,
        "data.manifest",
        str(manifest if manifest.is_absolute() else (source.parent / manifest).resolve()),
    )
    for key, value in changes.items():
        _set(document, key, value)
    text = yaml.safe_dump(document, sort_keys=False)
    return atomic_write(target, lambda handle: handle.write(text.encode()))


def config_name(config: str | Path) -> str:
    """The ``name`` of an experiment config file."""
    return str((yaml.safe_load(Path(config).read_text(encoding="utf-8")) or {}).get("name", "experiment"))


def write_output(context: NodeContext, name: str, value: Any) -> Path:
    """Write ``value`` as JSON into the node's folder (a record beside the database)."""
    text = json.dumps(value, indent=2, sort_keys=True)
    return atomic_write(context.work_dir / name, lambda handle: handle.write(text.encode()))
