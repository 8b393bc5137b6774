"""Render a report document (the sections of the report parts) as Markdown or HTML.

The HTML is self-contained: inline CSS, no scripts, no external resources; the PNG plots are
referenced by file name next to it and laid out side by side.
"""

from __future__ import annotations

import html
from typing import Any

import attrs
import numpy as np

from medfusion_core.kinds.report import ReportSection, ReportTable
from medfusion_plugin_evaluation.bootstrap import Estimate


@attrs.frozen
class Document:
    """A whole report."""

    title: str
    sections: list[ReportSection]


def format_value(value: Any) -> str:
    """A table cell: ``"0.81 (0.76–0.86)"`` for estimates, 3 decimals for floats, ``n/a`` for missing."""
    if isinstance(value, Estimate):
        return value.format()
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "n/a"
    if isinstance(value, (float, np.floating)):
        return f"{value:.3f}"
    return str(value)


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_table(table: ReportTable) -> list[str]:
    lines = [f"*{table.caption}*", ""] if table.caption else []
    lines.append("| " + " | ".join(_md_cell(cell) for cell in table.header) + " |")
    lines.append("|" + "|".join(["---"] * len(table.header)) + "|")
    lines += ["| " + " | ".join(_md_cell(cell) for cell in row) + " |" for row in table.rows]
    return [*lines, ""]


def to_markdown(document: Document) -> str:
    """The document as GitHub-flavoured Markdown."""
    lines = [f"# {document.title}", ""]
    for section in document.sections:
        lines += [f"## {section.heading}", ""]
        for paragraph in section.paragraphs:
            lines += [paragraph, ""]
        if section.bullets:
            lines += [f"- {bullet}" for bullet in section.bullets] + [""]
        for table in section.tables:
            lines += _md_table(table)
        for figure in section.figures:
            lines += [f"![{figure.caption}]({figure.file})", ""]
    return "\n".join(lines)


_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 1200px;
       padding: 0 1rem; color: #222; line-height: 1.45; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; }
th, td { border: 1px solid #ccc; padding: 0.3rem 0.7rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f2f4f7; }
caption { caption-side: top; text-align: left; font-style: italic; padding-bottom: 0.3rem; }
.plots { display: flex; flex-wrap: wrap; gap: 1rem; }
figure { margin: 0; flex: 1 1 480px; max-width: 100%; }
figure img { width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: 0.9rem; color: #555; }
"""


def _html_table(table: ReportTable) -> str:
    caption = f"<caption>{html.escape(table.caption)}</caption>" if table.caption else ""
    head = "".join(f"<th>{html.escape(cell)}</th>" for cell in table.header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>" for row in table.rows
    )
    return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _html_section(section: ReportSection) -> str:
    parts = [f"<h2>{html.escape(section.heading)}</h2>"]
    parts += [f"<p>{html.escape(paragraph)}</p>" for paragraph in section.paragraphs]
    if section.bullets:
        parts.append("<ul>" + "".join(f"<li>{html.escape(b)}</li>" for b in section.bullets) + "</ul>")
    parts += [_html_table(table) for table in section.tables]
    if section.figures:
        figures = "".join(
            f'<figure><img src="{html.escape(figure.file)}" alt="{html.escape(figure.caption)}">'
            f"<figcaption>{html.escape(figure.caption)}</figcaption></figure>"
            for figure in section.figures
        )
        parts.append(f'<div class="plots">{figures}</div>')
    return "\n".join(parts)


def to_html(document: Document) -> str:
    """The document as one self-contained HTML page (inline CSS; plots referenced by file name)."""
    title = html.escape(document.title)
    body = "\n".join(_html_section(section) for section in document.sections)
    return (
        f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{title}</title>\n'
        f"<style>{_CSS}</style>\n</head>\n<body>\n<h1>{title}</h1>\n{body}\n</body>\n</html>\n"
    )
