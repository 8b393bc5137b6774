"""The report context the evaluation plugin hands to every report part.

It is the core's :class:`~medfusion_core.kinds.report.ReportContext` plus the evaluation's own
result objects, which the first-party sections format; other plugins' parts need only the core
fields.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import attrs

from medfusion_core.kinds.report import ReportContext
from medfusion_plugin_evaluation.compare import Comparison
from medfusion_plugin_evaluation.evaluate import Evaluation


@attrs.frozen(kw_only=True)
class EvaluationContext(ReportContext):
    """A :class:`ReportContext` with ``evaluations`` (by model label, the reference first) and the
    reference's ``comparisons`` with each baseline."""

    evaluations: Mapping[str, Evaluation]
    comparisons: Sequence[Comparison]
