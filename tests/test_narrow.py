"""Float16 and 8/16-bit integer scores, counted by value (``_narrow.py``), never converted.

References: the sort-based counting primitive on the same values converted to float32 (count for
count, weight sums bit for bit), scikit-learn and the brute-force AU-PRO of
:mod:`anomaly_metrics.testing` through the public functions.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import average_precision_score, roc_auc_score

import anomaly_metrics as am
from anomaly_metrics._counts import _binary_levels
from anomaly_metrics._levels import UnitWeights
from anomaly_metrics._narrow import is_narrow, narrow_levels
from anomaly_metrics.testing import reference_aupro

DTYPES = [np.float16, np.int8, np.uint8, np.int16, np.uint16]


def _values(rng, dtype, n, style):
    """``n`` values of ``dtype``: spread over the type's range, few distinct, or its extremes."""
    if dtype == np.float16:
        if style == "spread":
            v = rng.standard_normal(n) * 10.0 ** rng.integers(-6, 5, n)
        elif style == "ties":
            v = rng.integers(-3, 4, n) / 2
        else:
            v = rng.choice([0.0, -0.0, 65504.0, -65504.0, 6e-8, -6e-8, 1.0], n)
        return np.clip(v, -65504, 65504).astype(np.float16)
    info = np.iinfo(dtype)
    if style == "spread":
        v = rng.integers(info.min, int(info.max) + 1, n)
    elif style == "ties":
        v = rng.integers(0, 4, n)
    else:
        v = rng.choice([info.min, info.max, 0], n)
    return v.astype(dtype)


@st.composite
def narrow_problems(draw):
    dtype = draw(st.sampled_from(DTYPES))
    n = draw(st.integers(1, 600))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    values = _values(rng, dtype, n, draw(st.sampled_from(["spread", "ties", "extremes"])))
    labels = rng.random(n) < draw(st.sampled_from([0.0, 0.05, 0.5, 1.0]))
    cuts = np.sort(rng.integers(0, n + 1, draw(st.integers(0, 3))))
    chunks = list(zip(np.split(values, cuts), np.split(labels, cuts)))
    n_pos = int(labels.sum())
    weights = None
    if draw(st.booleans()) and n_pos:
        units = draw(st.integers(1, 5))
        weights = UnitWeights(
            rng.integers(0, units, n_pos).astype(np.int32), 1.0 / rng.integers(1, 50, units)
        )
    floor = draw(st.sampled_from([None, None, 0.0, float(values.astype(np.float64).mean())]))
    return chunks, weights, floor


@settings(max_examples=200, deadline=None)
@given(problem=narrow_problems())
def test_levels_by_value_equal_the_sorted_float32_path(problem):
    chunks, weights, floor = problem
    got = narrow_levels(chunks, weights, floor)
    wide = [(v.astype(np.float32), y) for v, y in chunks]
    want = _binary_levels(
        [v for v, _ in wide], [y for _, y in wide], pos_weights=weights, min_threshold=floor
    )
    u, n_p, w_p, eq, gap, n_pos, n_neg = got
    np.testing.assert_array_equal(u, want.u)
    np.testing.assert_array_equal(n_p, want.n_p)
    np.testing.assert_array_equal(eq, want.eq)
    np.testing.assert_array_equal(gap, want.gap)
    assert (n_pos, n_neg) == (want.n_pos, want.n_neg)
    if weights is None:
        assert w_p is None
    else:
        assert [x.hex() for x in w_p] == [float(x).hex() for x in want.w_p]  # bit for bit


def _maps(dtype, seed):
    rng = np.random.default_rng(seed)
    maps = _values(rng, dtype, 24 * 40 * 40, "spread").reshape(24, 40, 40)
    masks = np.zeros(maps.shape, bool)
    for i in range(12, 24):
        r, c = rng.integers(0, 30, 2)
        masks[i, r : r + rng.integers(1, 10), c : c + rng.integers(1, 10)] = True
    return maps, masks


@pytest.mark.parametrize("dtype", DTYPES)
def test_public_metrics_on_narrow_maps_equal_the_references(dtype):
    maps, masks = _maps(dtype, 5)
    s, y = maps.ravel().astype(np.float64), masks.ravel()
    assert am.auroc(maps, masks) == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    assert am.aupr(maps, masks) == pytest.approx(average_precision_score(y, s), abs=1e-12)
    for limit in (0.05, 0.3, 1.0):
        assert am.aupro(maps, masks, fpr_limit=limit) == pytest.approx(
            reference_aupro(maps.astype(np.float64), masks, fpr_limit=limit), abs=1e-9
        )
    # the same floats as the float32 path (which converts the maps first)
    wide = maps.astype(np.float32)
    for f in (am.auroc, am.aupr, am.f1_max, am.f1_adaptive_threshold, am.aupro):
        assert f(maps, masks) == f(wide, masks), f.__name__


def test_half_positive_narrow_maps_skip_the_dense_walk_and_stay_exact():
    rng = np.random.default_rng(9)
    maps = rng.standard_normal((20, 64, 64)).astype(np.float16)  # 81,920 values
    masks = rng.random(maps.shape) < 0.5
    s, y = maps.ravel().astype(np.float64), masks.ravel()
    assert am.auroc(maps, masks) == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    assert am.auroc(maps, masks) == am.auroc(maps.astype(np.float32), masks)


def test_batches_of_narrow_scores_equal_their_concatenation():
    from anomaly_metrics import batched

    maps, masks = _maps(np.float16, 2)
    parts = [maps[:7], maps[7:15], maps[15:]]
    mparts = [masks[:7], masks[7:15], masks[15:]]
    assert batched.auroc(parts, mparts) == am.auroc(maps, masks)
    assert batched.aupro(parts, mparts) == am.aupro(maps, masks)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_float16_is_refused_with_the_usual_message(bad):
    maps, masks = _maps(np.float16, 1)
    maps[3, 3, 3] = bad
    for f in (am.auroc, am.aupro):
        with pytest.raises(ValueError, match=r"must be finite, got \d NaN and \d infinite"):
            f(maps, masks)


def test_empty_narrow_scores_are_refused():
    with pytest.raises(ValueError, match="`scores` must not be empty"):
        am.auroc(np.zeros(0, np.uint8), np.zeros(0, bool))


def test_which_dtypes_are_counted_by_value():
    assert all(is_narrow(d) for d in DTYPES)
    assert not any(is_narrow(d) for d in (np.float32, np.float64, np.int32, np.int64, np.bool_))
