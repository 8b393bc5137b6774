"""The run filter language, parsed into SQLAlchemy conditions.

A filter is clauses joined by ``and``: ``metrics.val_auroc > 0.8 and params.model.backbone.name =
'swin_tiny'``. A clause is ``FIELD OP VALUE``:

- ``metrics.<key>`` compares the run's latest value of the metric (``= != < <= > >=``);
- ``params.<key>`` and ``tags.<key>`` compare text with ``=`` or ``!=`` (a number is compared with
  its JSON text, so ``params.optim.lr = 0.001`` matches the logged ``0.001``);
- ``status``, ``name``, ``experiment`` compare text; ``start_time`` and ``end_time`` numbers.

Keys may contain dots, dashes and slashes (``metrics.fused/val_auroc``). Strings are quoted with
``'`` or ``"``. A metric or param key that no run has logged is an error that suggests the close
ones, so a typo never silently matches nothing.
"""

from __future__ import annotations

import difflib
import json
import operator
import re
from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, select

from medfusion_plugin_tracking.errors import TrackingError
from medfusion_plugin_tracking.schema import Experiment, LatestMetric, Param, Run, Tag

_TOKEN = re.compile(
    r"""\s*(?:(?P<num>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)(?![\w.])|(?P<str>'[^']*'|"[^"]*")"""
    r"""|(?P<op><=|>=|!=|=|<|>)|(?P<word>[A-Za-z_][\w./\-]*))"""
)
_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
#: ``missing_key("metrics" | "params", key)``: None when some run logged ``key``, else the known keys.
KeyCheck = Callable[[str, str], list[str] | None]
_TEXT_ATTRS = {"status": Run.status, "name": Run.name, "experiment": Experiment.name}
_NUMBER_ATTRS = {"start_time": Run.start_time, "end_time": Run.end_time}
FIELDS_HELP = "metrics.<key>, params.<key>, tags.<key>, status, name, experiment, start_time, end_time"


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise TrackingError(
                f"filter: cannot read {text[position:].strip()!r} (at character {position + 1})"
            )
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


def _clauses(text: str) -> list[tuple[str, str, Any]]:
    """``[(field, op, value), ...]`` of a filter; raises :class:`TrackingError` on bad syntax."""
    tokens, clauses, i = _tokens(text), [], 0
    while i < len(tokens):
        clause = tokens[i : i + 3]
        kinds = [kind for kind, _ in clause]
        if len(kinds) < 3 or kinds[0] != "word" or kinds[1] != "op" or kinds[2] not in ("num", "str"):
            shown = " ".join(value for _, value in clause)
            raise TrackingError(f"filter: expected FIELD OP VALUE, got {shown!r} (fields: {FIELDS_HELP})")
        (_, field), (_, op), (kind, raw) = clause
        clauses.append((field, op, float(raw) if kind == "num" else raw[1:-1]))
        i += 3
        if i < len(tokens):
            word = tokens[i][1]
            if word.lower() != "and":
                hint = "; only 'and' joins clauses" if word.lower() == "or" else ""
                raise TrackingError(f"filter: expected 'and' before {word!r}{hint}")
            i += 1
            if i == len(tokens):
                raise TrackingError("filter: a clause must follow 'and'")
    return clauses


def parse_filter(text: str) -> list[tuple[str, str, Any]]:
    """The clauses ``(field, op, value)`` of a filter string (empty for an empty filter)."""
    return _clauses(text) if text.strip() else []


def _check_key(kind: str, key: str, missing_key: KeyCheck) -> None:
    known = missing_key(f"{kind}s", key)
    if known is None:
        return
    close = difflib.get_close_matches(key, known, n=3)
    hint = (
        f"; did you mean {', '.join(close)}?"
        if close
        else (f"; known: {', '.join(sorted(known)[:8])}" if known else "")
    )
    raise TrackingError(f"filter: no run has {kind} {key!r}{hint}")


def param_text(value: Any) -> str:
    """How a parameter value is stored and compared: strings as they are, anything else as JSON
    (a filter's whole-number literal ``3`` or ``3.0`` compares as ``3``)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)


def check_keys(text: str, missing_key: KeyCheck) -> None:
    """Reject a filter naming a metric or param key that no run logged (``missing_key`` asks the
    store), with the close keys as a hint; syntax errors are raised as by :func:`apply_filter`."""
    for field, _, _ in parse_filter(text):
        prefix, _, key = field.partition(".")
        if prefix in ("metrics", "params") and key:
            _check_key(prefix[:-1], key, missing_key)


def condition(field: str, op: str, value: Any) -> ColumnElement[bool]:
    """One clause as a condition on ``runs`` (joined with ``experiments``)."""
    compare = _OPS[op]
    prefix, _, key = field.partition(".")
    if prefix == "metrics" and key:
        if not isinstance(value, float):
            raise TrackingError(f"filter: {field} compares with a number, not {value!r}")
        points = select(LatestMetric.run_id).where(
            LatestMetric.key == key, compare(LatestMetric.value, value)
        )
        return Run.id.in_(points)
    if prefix in ("params", "tags") and key:
        if op not in ("=", "!="):
            raise TrackingError(f"filter: {field} compares with = or != only (values are text)")
        table = Param if prefix == "params" else Tag
        matches = select(table.run_id).where(table.key == key, table.value == param_text(value))
        return Run.id.in_(matches) if op == "=" else Run.id.not_in(matches)
    if field in _TEXT_ATTRS:
        if op not in ("=", "!="):
            raise TrackingError(f"filter: {field} compares with = or != only")
        return compare(_TEXT_ATTRS[field], param_text(value))
    if field in _NUMBER_ATTRS and isinstance(value, float):
        return compare(_NUMBER_ATTRS[field], value)
    raise TrackingError(f"filter: unknown field {field!r} (fields: {FIELDS_HELP})")


def apply_filter(query: Select[Any], text: str) -> Select[Any]:
    """``query`` (over runs joined with experiments) restricted by the filter ``text`` (check its
    keys against the store first with :func:`check_keys`)."""
    conditions = [condition(field, op, value) for field, op, value in parse_filter(text)]
    return query.where(and_(*conditions)) if conditions else query
