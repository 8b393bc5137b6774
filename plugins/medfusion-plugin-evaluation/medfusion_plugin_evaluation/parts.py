"""Collect the report parts (``report`` components) and render them in order.

The parts are every ``report`` spec of the registry; this plugin's own parts are added when the
plugin is not registered in the current host (an isolated test host, a script), so that
:func:`~medfusion_plugin_evaluation.report.write_report` always writes the first-party report. A
part that cannot be loaded or created, raises, returns something other than a
:class:`~medfusion_core.kinds.report.ReportSection` or gives metrics that are not JSON is named in a
closing section of the report, in one line, and recorded under ``section_errors`` in metrics.json.
"""

from __future__ import annotations

import json
from typing import Any

import attrs

from medfusion_core.kinds.report import ReportContext, ReportSection, check_report_part
from medfusion_core.specs import ComponentSpec
from medfusion_plugin_evaluation.result import to_plain

#: Heading of the closing section that lists the parts that failed.
FAILED_HEADING = "Report sections that failed"


@attrs.frozen
class RenderedParts:
    """The sections in order, the figures by name (file names), each part's extra metrics and the
    one-line error of each part that failed, both by component name."""

    sections: list[ReportSection]
    figures: dict[str, str]
    metrics: dict[str, Any]
    errors: dict[str, str]


def report_specs() -> list[ComponentSpec]:
    """Every registered ``report`` spec, plus this plugin's own when they are not registered."""
    from medfusion_core.registry import get_registry
    from medfusion_plugin_evaluation import hooks

    registered = get_registry().specs("report")
    factories = {spec.factory for spec in registered}
    return [
        *registered,
        *(spec for spec in hooks.medfusion_register_reports() if spec.factory not in factories),
    ]


def _one_line(exc: BaseException) -> str:
    message = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {message[0]}" if message else type(exc).__name__


def _keys(specs: list[ComponentSpec]) -> list[str]:
    """A component name per spec; a name two plugins share is spelled ``plugin:name``."""
    names = [spec.name for spec in specs]
    return [spec.qualified_name if names.count(spec.name) > 1 else spec.name for spec in specs]


def render_parts(context: ReportContext, specs: list[ComponentSpec]) -> RenderedParts:
    """Create every part of ``specs``, render them by ``(order, name)`` and gather their output."""
    errors: dict[str, str] = {}
    titles: dict[str, str] = {}
    parts = []
    for key, spec in zip(_keys(specs), specs, strict=True):
        try:
            part = spec.load()()
            check_report_part(part)
        except Exception as exc:
            errors[key] = _one_line(exc)
            continue
        parts.append((part.order, key, part))
        titles[key] = f"{part.title} ({key})"
    sections: list[ReportSection] = []
    figures: dict[str, str] = {}
    metrics: dict[str, Any] = {}
    for _, key, part in sorted(parts, key=lambda item: item[:2]):
        try:
            section = part.render(context)
            if section is None:
                continue
            if not isinstance(section, ReportSection):
                raise TypeError(f"render returned {type(section).__name__}, not a ReportSection")
            extra = to_plain(section.metrics)
            json.dumps(extra, allow_nan=False)
        except Exception as exc:
            errors[key] = _one_line(exc)
            continue
        sections.append(section)
        figures.update({figure.name: figure.file for figure in section.figures})
        if extra:
            metrics[key] = extra
    if errors:
        bullets = [f"{titles.get(key, key)}: {error}" for key, error in errors.items()]
        sections.append(ReportSection(heading=FAILED_HEADING, bullets=bullets))
    return RenderedParts(sections, figures, metrics, errors)
