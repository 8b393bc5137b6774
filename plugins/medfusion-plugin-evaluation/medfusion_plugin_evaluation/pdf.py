"""Render a report document as a PDF (fpdf2, pure Python): headings, paragraphs, bullets, tables
and the section's PNG figures, in the order of report.html. Text is set in matplotlib's DejaVu Sans
(it ships with matplotlib), so every character of the report (en dashes, ±, ≥) prints.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from medfusion_core.kinds.report import ReportSection, ReportTable
from medfusion_plugin_evaluation.render import Document

_FONT = "dejavu"
_BODY_SIZE = 9
_TABLE_SIZE = 7


def _font_files() -> tuple[Path, Path]:
    """DejaVu Sans regular and bold from matplotlib's data folder."""
    import matplotlib

    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    return folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"


def _table(pdf: Any, table: ReportTable) -> None:
    if table.caption:
        pdf.set_font(_FONT, "", _BODY_SIZE)
        pdf.multi_cell(0, 5, table.caption, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(_FONT, "", _TABLE_SIZE)
    with pdf.table(text_align="LEFT", line_height=4, first_row_as_headings=True) as grid:
        for cells in [table.header, *table.rows]:
            row = grid.row()
            for position in range(len(table.header)):
                row.cell(cells[position] if position < len(cells) else "")
    pdf.ln(2)


def _section(pdf: Any, section: ReportSection, folder: Path) -> None:
    pdf.set_font(_FONT, "B", 12)
    pdf.multi_cell(0, 7, section.heading, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(_FONT, "", _BODY_SIZE)
    for paragraph in section.paragraphs:
        pdf.multi_cell(0, 4.5, paragraph, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)
    for bullet in section.bullets:
        pdf.multi_cell(0, 4.5, f"•  {bullet}", new_x="LMARGIN", new_y="NEXT")
    for table in section.tables:
        _table(pdf, table)
    for figure in section.figures:
        image = folder / figure.file
        if image.is_file():
            pdf.image(str(image), w=min(pdf.epw, 150))
        pdf.set_font(_FONT, "", _TABLE_SIZE)
        pdf.multi_cell(0, 4, figure.caption, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(_FONT, "", _BODY_SIZE)
    pdf.ln(3)


def to_pdf(document: Document, folder: Path) -> bytes:
    """The document as PDF bytes; figures are read from ``folder`` (the report folder)."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_title(document.title)
    pdf.set_creator("MedFusion")
    regular, bold = _font_files()
    pdf.add_font(_FONT, "", str(regular))
    pdf.add_font(_FONT, "B", str(bold))
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font(_FONT, "B", 16)
    pdf.multi_cell(0, 9, document.title, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    for section in document.sections:
        _section(pdf, section, folder)
    return bytes(pdf.output())
