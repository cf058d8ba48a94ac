"""`counts_at_thresholds`: the confusion counts at given thresholds, against a direct count.

The reference counts every sample against every threshold from the definition (positive iff
``float64(score) >= float64(threshold)``), one comparison at a time.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import anomaly_metrics as am
from anomaly_metrics.testing import scores_and_labels as ranking_problems


def _direct_counts(scores, labels, thresholds):
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    y = np.asarray(labels).astype(bool).reshape(-1)
    rows = []
    for t in np.asarray(thresholds, dtype=np.float64):
        tp = sum(1 for v, p in zip(s, y) if p and v >= t)
        fp = sum(1 for v, p in zip(s, y) if not p and v >= t)
        rows.append((tp, fp, int(y.sum()) - tp, int((~y).sum()) - fp))
    return np.array(rows, dtype=np.int64).reshape(-1, 4)


@settings(max_examples=60, deadline=None)
@given(problem=ranking_problems(max_size=80), extra=st.lists(st.floats(-3, 3), max_size=6))
def test_counts_equal_a_direct_count(problem, extra):
    scores, labels = problem
    # thresholds: some scores themselves (ties), values between them, and outside the range
    picked = np.asarray(scores, dtype=np.float64).reshape(-1)[:5]
    thresholds = np.concatenate([picked, np.asarray(extra, dtype=np.float64), [-1e9, 1e9]])
    c = am.counts_at_thresholds(scores, labels, thresholds)
    got = np.stack([c.tp, c.fp, c.fn, c.tn], axis=1)
    np.testing.assert_array_equal(got, _direct_counts(scores, labels, thresholds))
    assert c.tp.dtype == np.int64 and c.thresholds.tolist() == thresholds.tolist()


def test_float32_scores_compare_exactly_in_float64():
    scores = np.float32([0.1, 0.4, 0.35, 0.8])  # float32(0.4) > 0.4 > float32(0.35) ... exactly
    c = am.counts_at_thresholds(scores, [1, 1, 1, 1], [0.4, 0.35, 0.8])
    assert c.tp.tolist() == [2, 2, 1]


@pytest.mark.parametrize(
    ("scores", "labels", "thresholds", "exc", "match"),
    [
        ([0.1, 0.2], [0, 1], [[0.5]], ValueError, "`thresholds` must be one-dimensional"),
        ([0.1, 0.2], [0, 1], [], ValueError, "`thresholds` must not be empty"),
        ([0.1, 0.2], [0, 1], [np.nan], ValueError, "`thresholds` must be finite"),
        ([0.1, 0.2], [0, 1], ["a"], TypeError, "`thresholds` must hold real numbers"),
        ([], [], [0.5], ValueError, "`scores` must not be empty"),
        ([0.1, 0.2], [0, 2], [0.5], ValueError, "`labels`"),
        ([0.1, np.inf], [0, 1], [0.5], ValueError, "`scores` must be finite"),
    ],
)
def test_errors(scores, labels, thresholds, exc, match):
    with pytest.raises(exc, match=match):
        am.counts_at_thresholds(scores, labels, thresholds)
