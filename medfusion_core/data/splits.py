"""Patient-level, stratified train/val/test splits and k-fold assignment.

Everything works on arrays indexed by patient (the manifest's patient order), so one patient can
only ever have one split. Stratification keys are the class labels (classification) or label
quintiles (regression). Randomness comes from ``np.random.default_rng([seed, purpose])``;
strata are visited in sorted order, so the result depends only on the labels and the seed.
"""

from __future__ import annotations

import numpy as np

from medfusion_core.errors import DataError

SPLITS = ("train", "val", "test")
_TEST, _VAL, _FOLDS = 1, 2, 3


def strata_for(labels: np.ndarray, task_type: str, bins: int = 5) -> np.ndarray:
    """Stratification key per patient: the label, or its quantile bin for regression."""
    if task_type != "regression":
        return np.asarray(labels)
    edges = np.quantile(labels, np.linspace(0, 1, bins + 1)[1:-1])
    return np.searchsorted(edges, labels, side="right")


def _take(pool: np.ndarray, strata: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """A stratified random subset of ``pool`` (patient indices): ``round(n * fraction)`` of each
    stratum of ``n`` patients."""
    chosen = []
    for key in np.unique(strata[pool]):
        members = rng.permutation(pool[strata[pool] == key])
        chosen.append(members[: round(len(members) * fraction)])
    return np.sort(np.concatenate(chosen)) if chosen else np.array([], dtype=np.int64)


def kfold(pool: np.ndarray, strata: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """Fold number (0..folds-1) for each patient of ``pool``, stratified; same order as ``pool``.

    Each stratum is shuffled and dealt round-robin, continuing the count from the previous
    stratum so that fold sizes differ by at most one.
    """
    if folds < 2 or folds > len(pool):
        raise DataError(
            f"data.folds: {folds}: impossible with {len(pool)} non-test patients; use 2..{len(pool)}"
        )
    rng = np.random.default_rng([seed, _FOLDS])
    assignment = np.empty(len(pool), dtype=np.int64)
    position = {int(p): i for i, p in enumerate(pool)}
    dealt = 0
    for key in np.unique(strata[pool]):
        for patient in rng.permutation(pool[strata[pool] == key]):
            assignment[position[int(patient)]] = dealt % folds
            dealt += 1
    return assignment


def assign_splits(
    strata: np.ndarray,
    *,
    val_fraction: float,
    test_fraction: float,
    seed: int,
    given: list[str] | None = None,
    folds: int | None = None,
    fold: int | None = None,
) -> np.ndarray:
    """Split name (``train``, ``val``, ``test``) per patient.

    ``given`` (the manifest's split column) is honoured as it is (fractions unused), unless
    ``folds`` is set: then its test patients stay test and the others are re-split by fold. Without ``given``,
    ``test_fraction`` of each stratum goes to test and, without folds, ``val_fraction`` (of the
    whole) to val. With ``folds``, the non-test patients are dealt into folds and fold ``fold``
    (default 0) is val.
    """
    if fold is not None and folds is None:
        raise DataError(f"data.fold is {fold} but data.folds is not set; set data.folds (e.g. 5)")
    n = len(strata)
    result = np.full(n, "train", dtype=object)
    everyone = np.arange(n)
    if given is not None:
        result[:] = given
        if folds is None:
            return result
        rest = everyone[result != "test"]
    else:
        if not (0 <= val_fraction < 1 and 0 <= test_fraction < 1 and val_fraction + test_fraction < 1):
            raise DataError(
                f"data.val_fraction ({val_fraction}) and data.test_fraction ({test_fraction}) "
                "must be in [0, 1) and sum to less than 1"
            )
        test = _take(everyone, strata, test_fraction, np.random.default_rng([seed, _TEST]))
        result[test] = "test"
        rest = everyone[result != "test"]
        if folds is None:
            remaining = 1.0 - test_fraction
            val = _take(rest, strata, val_fraction / remaining, np.random.default_rng([seed, _VAL]))
            result[val] = "val"
            return result
    fold = 0 if fold is None else fold
    if not 0 <= fold < folds:
        raise DataError(f"data.fold: fold {fold} does not exist; data.folds is {folds} (use 0..{folds - 1})")
    result[rest] = np.where(kfold(rest, strata, folds, seed) == fold, "val", "train")
    return result
