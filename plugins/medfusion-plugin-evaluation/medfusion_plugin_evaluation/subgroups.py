"""Per-subgroup metrics (sex, site, scanner...): n, prevalence and the task's headline metric.

Subgroup values are compared as text; missing values (``None``, ``nan``, empty) form the group
``"(missing)"``. Each group's metric has its own bootstrap CI; a metric that is undefined in a
group (e.g. AUROC when a group holds one class) is ``nan`` and reported as ``n/a``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import attrs
import numpy as np

from medfusion_plugin_evaluation.bootstrap import Estimate
from medfusion_plugin_evaluation.predictions import EvaluationError, SplitPredictions
from medfusion_plugin_evaluation.result import Result

MISSING = "(missing)"

#: ``(y_true, scores, n_resamples, seed) -> (estimate, resamples)`` of a task's headline metric.
PrimaryFn = Callable[[np.ndarray, np.ndarray, int, int], tuple[Estimate, np.ndarray]]


@attrs.frozen
class SubgroupRow(Result):
    """One group: its size, prevalence (binary tasks) and headline metric with CI."""

    group: str
    n: int
    metric: Estimate
    n_positive: int | None = None
    prevalence: float | None = None


def group_labels(values: np.ndarray) -> np.ndarray:
    """Subgroup values as strings, missing ones as ``"(missing)"``."""
    import pandas as pd

    text = np.asarray(values, dtype=object).astype(str)
    missing = pd.isna(values) | (text == "")
    return np.where(missing, MISSING, text).astype(object)


def subgroup_metrics(
    test: SplitPredictions,
    names: Sequence[str],
    primary: PrimaryFn,
    *,
    binary: bool,
    n_resamples: int,
    seed: int,
    where: str,
) -> dict[str, list[SubgroupRow]]:
    """Rows per group for each subgroup column in ``names`` (taken from ``test.subgroups``)."""
    tables: dict[str, list[SubgroupRow]] = {}
    for name in names:
        if name not in test.subgroups:
            known = ", ".join(sorted(test.subgroups)) or "none"
            raise EvaluationError(
                f"{where}: no values for subgroup {name!r} in the test predictions (given: {known})"
            )
        labels = group_labels(test.subgroups[name])
        rows = []
        for group in sorted(set(labels)):
            member = labels == group
            y, scores = test.y_true[member], test.scores[member]
            metric, _ = primary(y, scores, n_resamples, seed)
            extra = {"n_positive": int(y.sum()), "prevalence": float(y.mean())} if binary else {}
            rows.append(SubgroupRow(group, int(member.sum()), metric, **extra))
        tables[name] = rows
    return tables
