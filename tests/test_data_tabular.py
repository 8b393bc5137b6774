"""Clinical preprocessing: scikit-learn oracle, fit on train only, JSON round trip."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from medfusion_core.data.tabular import TabularPreprocessor, clinical_present


def frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.normal(60, 10, n)
    lab = rng.normal(1, 0.3, n)
    lab[rng.random(n) < 0.3] = np.nan
    sex = rng.choice(np.array(["F", "M"], dtype=object), n)
    return pd.DataFrame({"age": age, "lab": lab, "sex": sex})


def sklearn_reference(train: pd.DataFrame, test: pd.DataFrame) -> np.ndarray:
    """Median impute (+ indicators), standardise, then one-hot with unknown categories ignored."""
    numeric = make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler())
    transformer = ColumnTransformer(
        [("num", numeric, ["age", "lab"]), ("cat", OneHotEncoder(handle_unknown="ignore"), ["sex"])]
    )
    transformer.fit(train)
    return transformer.transform(test)


def test_matches_scikit_learn_including_unseen_category():
    train, test = frame(80, 0), frame(20, 1)
    test.loc[3, "sex"] = "X"
    fitted = TabularPreprocessor.fit(train, ["age", "lab"], ["sex"])
    ours = fitted.transform(test)
    expected = sklearn_reference(train, test)
    # sklearn scales the indicator too; compare the numeric block and the categorical block
    np.testing.assert_allclose(ours[:, :2], expected[:, :2], rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(ours[:, 2], np.isnan(test["lab"].to_numpy()))
    np.testing.assert_array_equal(ours[:, 3:], expected[:, 3:])
    assert ours[3, 3:].sum() == 0
    assert fitted.feature_names == ["age", "lab", "lab_missing", "sex=F", "sex=M"]


def test_statistics_depend_on_training_rows_only():
    train = frame(50, 2)
    other = frame(30, 3)
    wild = other.assign(age=other["age"] * 100 + 5, sex="Z")
    a = TabularPreprocessor.fit(train, ["age", "lab"], ["sex"])
    b = TabularPreprocessor.fit(train.copy(), ["age", "lab"], ["sex"])
    assert a == b
    np.testing.assert_array_equal(a.transform(other), b.transform(other))
    assert a.transform(wild).shape == (30, 5)
    assert a.means[0] == float(np.mean(train["age"]))


def test_json_round_trip_is_plain_json():
    fitted = TabularPreprocessor.fit(frame(40, 4), ["age", "lab"], ["sex"])
    text = json.dumps(fitted.to_json())
    restored = TabularPreprocessor.from_json(text)
    assert restored == fitted
    test = frame(10, 5)
    np.testing.assert_array_equal(restored.transform(test), fitted.transform(test))


def test_all_missing_row_is_absent_modality():
    rows = pd.DataFrame({"age": [1.0, np.nan, np.nan], "sex": ["F", None, "M"]})
    np.testing.assert_array_equal(clinical_present(rows, ["age", "sex"]), [True, False, True])
    assert not clinical_present(rows, []).any()


def test_encode_zeroes_rows_without_clinical_values():
    rows = pd.DataFrame({"age": [60.0, np.nan, 70.0], "lab": [np.nan, np.nan, 1.0], "sex": ["F", None, "X"]})
    fitted = TabularPreprocessor.fit(frame(30, 6), ["age", "lab"], ["sex"])
    clinical, present = fitted.encode(rows)
    assert present.tolist() == [True, False, True]
    assert not clinical[1].any() and clinical[0].any()
    np.testing.assert_array_equal(clinical[[0, 2]], fitted.transform(rows)[[0, 2]])
