"""Fused model versus each baseline: a paired bootstrap difference of the headline metric.

When both models were evaluated on the same patients in the same order (equal ``y_true`` and,
where given, equal ``patient_ids``), the same bootstrap resamples are used for both, so the
difference is paired resample by resample and its percentile CI says whether the gain is clear:
"better" when the whole CI favours the reference, "worse" when it favours the baseline, "no clear
difference" when it contains 0. Otherwise only point values are compared.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs
import numpy as np

from medfusion_plugin_evaluation.bootstrap import Estimate, estimate
from medfusion_plugin_evaluation.evaluate import Evaluation
from medfusion_plugin_evaluation.predictions import SplitPredictions
from medfusion_plugin_evaluation.result import Result


@attrs.frozen
class Comparison(Result):
    """Reference model vs a baseline on the headline metric, with a plain-language verdict."""

    reference: str
    baseline: str
    metric: str
    higher_is_better: bool
    reference_value: Estimate
    baseline_value: Estimate
    difference: Estimate
    verdict: str
    sentence: str


def _verdict(difference: Estimate, sign: float) -> str:
    """The verdict word for a difference ``reference - baseline`` (see the module docstring).

    ``sign`` is +1 when higher is better and -1 when lower is better.
    """
    if not np.isfinite(difference.value):
        return "undetermined"
    gain = sign * difference.value
    if not (np.isfinite(difference.low) and np.isfinite(difference.high)):
        return "better (point estimate only)" if gain > 0 else "not better (point estimate only)"
    gain_low, gain_high = sorted((sign * difference.low, sign * difference.high))
    if gain_low > 0:
        return "better"
    if gain_high < 0:
        return "worse"
    return "no clear difference"


_PHRASES = {
    "better": "{ref} beat {base}",
    "worse": "{ref} did worse than {base}",
    "no clear difference": "{ref} did not clearly beat {base}",
    "better (point estimate only)": "{ref} beat {base} on the point estimate (no paired CI)",
    "not better (point estimate only)": "{ref} did not beat {base} on the point estimate (no paired CI)",
    "undetermined": "{ref} could not be compared with {base}",
}


def compare(
    reference: str, ref_eval: Evaluation, baseline: str, base_eval: Evaluation, *, paired: bool
) -> Comparison:
    """Compare two evaluations' headline metric; ``paired`` when they share the same test patients."""
    metric, higher_is_better = ref_eval.PRIMARY
    sign = 1.0 if higher_is_better else -1.0
    ref_value, base_value = ref_eval.primary, base_eval.primary
    resamples = ref_eval.primary_resamples - base_eval.primary_resamples if paired else np.array([])
    difference = estimate(ref_value.value - base_value.value, resamples)
    verdict = _verdict(difference, sign)
    sentence = _PHRASES[verdict].format(ref=reference, base=baseline) + f" on {metric}: "
    sentence += f"{ref_value.format()} vs {base_value.format()}"
    if np.isfinite(difference.low) and np.isfinite(difference.high):
        sentence += (
            f"; difference {difference.value:+.3f} (95% CI {difference.low:+.3f} to {difference.high:+.3f})"
        )
    return Comparison(
        reference,
        baseline,
        metric,
        higher_is_better,
        ref_value,
        base_value,
        difference,
        verdict,
        sentence[:1].upper() + sentence[1:] + ".",
    )


def same_patients(first: SplitPredictions, second: SplitPredictions) -> bool:
    """Whether two test sets can be paired: equal labels and, where both are given, equal patient ids."""
    if not np.array_equal(first.y_true, second.y_true):
        return False
    if first.patient_ids is None or second.patient_ids is None:
        return True
    return list(first.patient_ids) == list(second.patient_ids)


def compare_to_baselines(
    evaluations: Mapping[str, Evaluation], tests: Mapping[str, SplitPredictions], reference: str = "fused"
) -> list[Comparison]:
    """The reference model against every other model (empty when ``reference`` is absent).

    ``tests`` holds each model's test predictions, used to decide whether a comparison is paired.
    """
    if reference not in evaluations:
        return []
    return [
        compare(
            reference,
            evaluations[reference],
            label,
            evaluation,
            paired=same_patients(tests[reference], tests[label]),
        )
        for label, evaluation in evaluations.items()
        if label != reference
    ]
