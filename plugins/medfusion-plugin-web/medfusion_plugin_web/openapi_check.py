"""Check real API answers against the OpenAPI document the frontend's types are generated from:
the answer must match its route's response schema, and — stricter than the server itself — no
object may carry a key its schema does not declare (so a field the server sends but the types
lack is found, not silently untyped)."""

from __future__ import annotations

import copy
import re
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator


def _closed(node: Any) -> Any:
    """``node`` with ``additionalProperties: false`` on every object schema that lists
    ``properties`` and says nothing about other keys."""
    if isinstance(node, dict):
        out = {key: _closed(value) for key, value in node.items()}
        if "properties" in out and "additionalProperties" not in out:
            out["additionalProperties"] = False
        return out
    if isinstance(node, list):
        return [_closed(value) for value in node]
    return node


@cache
def _template(path: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path)) + "$")


def response_schema(document: dict[str, Any], method: str, path: str, status: int) -> dict[str, Any]:
    """The JSON schema of ``METHOD path``'s ``status`` answer (literal path segments win over
    ``{parameters}``); raises ``LookupError`` naming what the document lacks."""
    found = [
        template
        for template, operations in document["paths"].items()
        if method.lower() in operations and _template(template).match(path)
    ]
    if not found:
        raise LookupError(f"{method} {path}: no such operation in the OpenAPI document")
    template = min(found, key=lambda t: t.count("{"))
    answers = document["paths"][template][method.lower()]["responses"]
    try:
        return answers[str(status)]["content"]["application/json"]["schema"]
    except KeyError:
        raise LookupError(f"{method} {template}: no JSON schema for status {status}") from None


def problems(document: dict[str, Any], method: str, path: str, status: int, body: Any) -> list[str]:
    """Every way ``body`` differs from what the document declares for it, one line each
    (``METHOD path at <json path>: <message>``); empty when it conforms."""
    schema = {
        **copy.deepcopy(response_schema(document, method, path, status)),
        "components": _closed(document.get("components", {})),
    }
    validator = Draft202012Validator(_closed(schema))
    return [
        f"{method} {path} at {error.json_path}: {error.message[:300]}"
        for error in sorted(validator.iter_errors(body), key=lambda e: e.json_path)
    ]
