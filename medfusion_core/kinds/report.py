"""The ``report`` kind: sections of the evaluation report, contributed by plugins.

``medfusion evaluate`` computes the metrics of every trained variant, then asks every ``report``
component for its section, in ``order``. A component sees what the evaluation computed through a
:class:`ReportContext` and answers a :class:`ReportSection` (text, tables, figures and extra
metrics) or ``None`` when it has nothing to say for this run. The evaluation plugin's own sections
(summary, models side by side, plots, confusion matrices, subgroups and the TRIPOD+AI parts) are
``report`` components too;
a section that raises is named in the report in one line and never fails the evaluation.

Nothing here imports numpy or matplotlib: listing plugins stays cheap.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import attrs

from medfusion_core.kinds.base import Info, Kind, hookspec

if TYPE_CHECKING:
    import numpy as np

    from medfusion_core.config import ExperimentConfig
    from medfusion_core.specs import ComponentSpec

#: Resolution of every PNG written through :meth:`ReportContext.save_figure`.
FIGURE_DPI = 100
#: Key of metrics.json under which each section's extra metrics live, by component name.
SECTIONS_KEY = "sections"
_FIGURE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


@hookspec
def medfusion_register_reports() -> list[ComponentSpec] | None:
    """Register report sections (metrics and text that ``medfusion evaluate`` adds to the report).

    Factory signature: ``factory(**params)`` returning an object with ``title: str`` (names the
    section when it fails), ``order: int`` (sections are rendered by ascending order, then
    component name; the first-party sections use 10-90, so a plugin's section placed after them
    takes 100 or more) and ``render(context: ReportContext) -> ReportSection | None``
    (types in ``medfusion_core.kinds.report``). ``context`` holds the task, every variant's test
    and validation predictions with their labels, the metrics computed so far (the content
    of metrics.json, read-only), the training history, the run folder and its config. Figures are
    written with ``context.save_figure(name, figure, caption)``. A section's ``metrics`` are
    merged into metrics.json under ``"sections"`` and the component name, so a section can never
    overwrite the core numbers. A section that raises, returns something else or has metrics that
    are not JSON is reported in the report in one line; the evaluation goes on.
    """


@runtime_checkable
class SplitScores(Protocol):
    """What one model predicted on one split (the evaluation plugin's ``SplitPredictions``)."""

    @property
    def y_true(self) -> np.ndarray:
        """Labels ``[N]``: 0/1 (binary), class index (multiclass) or the value (regression)."""

    @property
    def scores(self) -> np.ndarray:
        """P(positive) ``[N]`` (binary), class probabilities ``[N, K]`` or predicted values ``[N]``."""

    @property
    def subgroups(self) -> Mapping[str, np.ndarray]:
        """Per-patient values of each ``data.subgroups`` column, ``[N]`` each."""

    @property
    def patient_ids(self) -> Sequence[str] | None:
        """Patient ids in row order, when known."""


@runtime_checkable
class VariantScores(Protocol):
    """One model's predictions on the test split and (when it is not empty) the validation split."""

    @property
    def test(self) -> SplitScores:
        """Test-split predictions (the metrics are computed on these)."""

    @property
    def validation(self) -> SplitScores | None:
        """Validation-split predictions (thresholds are chosen on these), or ``None``."""


@attrs.frozen
class ReportTable:
    """A table of already formatted cells."""

    header: list[str]
    rows: list[list[str]]
    caption: str = ""


@attrs.frozen
class ReportFigure:
    """A figure written into the report folder: its name (the key in metrics.json ``plots``), its
    file name there and its caption."""

    name: str
    file: str
    caption: str


@attrs.frozen(kw_only=True)
class ReportSection:
    """What a report component contributes: a heading with paragraphs, bullet points, tables and
    figures (rendered to both report.md and report.html, escaped), and ``metrics``: JSON-ready
    values written to metrics.json under ``sections.<component name>``."""

    heading: str
    paragraphs: list[str] = attrs.field(factory=list)
    bullets: list[str] = attrs.field(factory=list)
    tables: list[ReportTable] = attrs.field(factory=list)
    figures: list[ReportFigure] = attrs.field(factory=list)
    metrics: dict[str, Any] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class ReportContext:
    """What the evaluation computed, as every report component sees it.

    Attributes:
        title: the report's title.
        task: ``"binary"``, ``"multiclass"`` or ``"regression"``.
        reference: label of the model compared with the others (``"fused"``).
        class_names: the task's class names, when the config gives them.
        predictions: predictions by model label (``"fused"``, ``"image-only"``,
            ``"clinical-only"``), the reference first; the test split checked for the task
            (canonical dtypes), the validation split as given.
        metrics: the core content of metrics.json (``title``, ``task``, ``reference``,
            ``settings``, ``models``, ``comparisons``); a copy, so changing it changes nothing.
        history: per-epoch training records by model label (may be empty).
        out_dir: the report folder.
        run_dir: the run folder, or ``None`` when the report is written without a run.
        config: the run's experiment config, or ``None`` without a run.
    """

    title: str
    task: str
    reference: str
    class_names: list[str] | None
    predictions: Mapping[str, VariantScores]
    metrics: Mapping[str, Any]
    history: Mapping[str, Sequence[Mapping[str, Any]]]
    out_dir: Path
    run_dir: Path | None = None
    config: ExperimentConfig | None = None
    _saved: dict[str, str] = attrs.field(factory=dict, init=False, repr=False)

    def save_figure(self, name: str, figure: Any, caption: str) -> ReportFigure:
        """Write ``figure`` (anything with matplotlib's ``savefig(file, format=, dpi=)``) atomically
        to ``out_dir/<name>.png`` and return its :class:`ReportFigure`. ``name`` is lower-case
        letters, digits, ``_`` and ``-``; a name already saved for this report is refused."""
        from medfusion_core.runs.io import atomic_write

        if not _FIGURE_NAME.match(name):
            raise ValueError(f"figure name {name!r}: use lower-case letters, digits, '_' and '-'")
        if name in self._saved:
            raise ValueError(f"figure name {name!r}: already saved in this report ({self._saved[name]})")
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=FIGURE_DPI)
        path = atomic_write(self.out_dir / f"{name}.png", lambda handle: handle.write(buffer.getvalue()))
        self._saved[name] = path.name
        return ReportFigure(name, path.name, caption)


@runtime_checkable
class ReportPart(Protocol):
    """A report component: what ``factory(**params)`` of a ``report`` spec returns."""

    title: str
    order: int

    def render(self, context: ReportContext) -> ReportSection | None:
        """This part's section of the report for ``context``, or ``None`` to leave it out."""


def check_report_part(part: Any) -> None:
    """Raise :class:`TypeError` unless ``part`` has a ``str`` title, an ``int`` order and ``render``."""
    if not isinstance(part, ReportPart):
        raise TypeError(f"{type(part).__name__}: a report part needs title, order and render(context)")
    if not isinstance(part.title, str) or not isinstance(part.order, int) or isinstance(part.order, bool):
        raise TypeError(f"{type(part).__name__}: title must be a str and order an int")


KIND = Kind("report", medfusion_register_reports, Info, ReportPart)
