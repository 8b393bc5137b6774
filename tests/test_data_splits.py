"""Patient-level splits: property tests (no patient in two splits), stratification, folds."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medfusion_core.data.splits import assign_splits, kfold, strata_for
from medfusion_core.errors import DataError

labels_strategy = st.lists(st.integers(0, 2), min_size=12, max_size=200).map(np.array)


@settings(max_examples=60, deadline=None)
@given(labels=labels_strategy, seed=st.integers(0, 2**16), val=st.floats(0, 0.45), test=st.floats(0, 0.45))
def test_every_patient_gets_exactly_one_split(labels, seed, val, test):
    splits = assign_splits(labels, val_fraction=val, test_fraction=test, seed=seed)
    assert splits.shape == labels.shape
    assert set(splits) <= {"train", "val", "test"}
    again = assign_splits(labels, val_fraction=val, test_fraction=test, seed=seed)
    np.testing.assert_array_equal(splits, again)


@settings(max_examples=40, deadline=None)
@given(labels=labels_strategy, seed=st.integers(0, 1000), folds=st.integers(2, 5))
def test_folds_partition_the_non_test_patients(labels, seed, folds):
    pool = np.arange(len(labels))
    assignment = kfold(pool, labels, folds, seed)
    counts = np.bincount(assignment, minlength=folds)
    assert counts.max() - counts.min() <= 1
    vals = [
        set(
            np.flatnonzero(
                assign_splits(labels, val_fraction=0.2, test_fraction=0.2, seed=seed, folds=folds, fold=f)
                == "val"
            )
        )
        for f in range(folds)
    ]
    assert all(a.isdisjoint(b) for i, a in enumerate(vals) for b in vals[i + 1 :])


def test_stratified_fractions():
    labels = np.array([0] * 700 + [1] * 300)
    splits = assign_splits(labels, val_fraction=0.2, test_fraction=0.1, seed=3)
    for split, fraction in (("val", 0.2), ("test", 0.1)):
        chosen = labels[splits == split]
        assert len(chosen) == pytest.approx(1000 * fraction, abs=2)
        assert chosen.mean() == pytest.approx(0.3, abs=0.01)


def test_given_split_column_is_honoured_and_folds_keep_its_test_set():
    given = ["train", "val", "test", "train", "test", "val"]
    labels = np.array([0, 1, 0, 1, 0, 1])
    assert list(assign_splits(labels, val_fraction=0.5, test_fraction=0.5, seed=0, given=given)) == given
    folded = assign_splits(labels, val_fraction=0.2, test_fraction=0.2, seed=0, given=given, folds=2, fold=1)
    assert [i for i, s in enumerate(folded) if s == "test"] == [2, 4]


def test_regression_strata_are_quantile_bins():
    values = np.linspace(0, 1, 100)
    assert sorted(set(strata_for(values, "regression"))) == [0, 1, 2, 3, 4]


def test_bad_fractions_and_folds():
    with pytest.raises(DataError, match="val_fraction"):
        assign_splits(np.zeros(10), val_fraction=0.6, test_fraction=0.5, seed=0)
    with pytest.raises(DataError, match=r"data\.folds: 20"):
        kfold(np.arange(10), np.zeros(10), 20, 0)
    with pytest.raises(DataError, match=r"data\.fold: fold 3 does not exist"):
        assign_splits(np.zeros(10), val_fraction=0.2, test_fraction=0.2, seed=0, folds=3, fold=3)
    with pytest.raises(DataError, match=r"data\.fold is 1 but data\.folds is not set"):
        assign_splits(np.zeros(10), val_fraction=0.2, test_fraction=0.2, seed=0, fold=1)
