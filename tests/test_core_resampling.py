"""The core's counter-based bootstrap draws: one resample at a time and many at once agree."""

from __future__ import annotations

import numpy as np
import pytest

from medfusion_core.kernels import resample_index_matrix, resample_indices


def test_known_draws_are_stable() -> None:
    # Values of the documented SplitMix64 scheme; every backend reproduces them.
    assert resample_indices(0, 0, 10).tolist() == [3, 2, 2, 4, 5, 4, 0, 2, 4, 2]
    assert resample_indices(2**64 - 1, 1999, 10).tolist() == [9, 7, 1, 5, 6, 0, 2, 1, 7, 8]


@pytest.mark.parametrize(("seed", "n"), [(0, 1), (7, 37), (2**63 + 5, 500)])
def test_matrix_rows_are_the_single_resamples(seed: int, n: int) -> None:
    streams = np.array([0, 1, 2, 50, 999])
    matrix = resample_index_matrix(seed, streams, n)
    assert matrix.shape == (5, n) and matrix.dtype == np.int64
    for row, stream in zip(matrix, streams, strict=True):
        np.testing.assert_array_equal(row, resample_indices(seed, int(stream), n))
    assert matrix.min() >= 0 and matrix.max() < n


def test_out_of_range_size_is_refused() -> None:
    with pytest.raises(ValueError, match="must be in"):
        resample_index_matrix(0, np.arange(2), 2**32)
