"""``--param KEY=VALUE`` of ``medfusion export``: extra parameters of the chosen exporter, checked
against its spec (one-line errors naming the parameter)."""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable
from typing import Any

from medfusion_core.errors import ExportError
from medfusion_core.specs import ComponentSpec

#: Parameters the command sets from its own options.
OWN_OPTIONS = {"variant": "--variant", "held_out": "--held-out", "verbose": "", "echo": ""}


def exporter_params(spec: ComponentSpec, items: Iterable[str]) -> dict[str, Any]:
    """``{key: value}`` of ``KEY=VALUE`` items (values read as JSON, else kept as text)."""
    params: dict[str, Any] = {}
    declared = {key: param for key, param in (spec.params or {}).items() if key not in OWN_OPTIONS}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ExportError(f"--param {item}: expected KEY=VALUE")
        if key in OWN_OPTIONS:
            raise ExportError(
                f"--param {key}: set by the command itself; use {OWN_OPTIONS[key] or 'its option'}"
            )
        if key not in declared:
            close = difflib.get_close_matches(key, list(declared), n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ExportError(
                f"--param {key}: unknown parameter of exporter {spec.name!r}; {hint}"
                f"allowed: {', '.join(declared) or 'none'}"
            )
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw
        if not declared[key].accepts(value):
            raise ExportError(f"--param {key}: expected {declared[key].type}, got {raw!r}")
        params[key] = value
    return params
