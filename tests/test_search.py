"""The tie-and-gap search shared by the counting primitive and the exact AUPIMO.

Reference: ties and gaps counted from their definition with NumPy comparisons, one level at a
time (no binary search).
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from anomaly_metrics._search import tie_or_gap


def _ref_ties_and_gaps(u, values):
    """``eq[j]``: values equal to ``u[j]``; ``gap[j]``: values strictly between ``u[j-1]`` and ``u[j]``."""
    m = len(u)
    eq = np.array([np.count_nonzero(values == level) for level in u], np.int64)
    lower = np.concatenate(([-np.inf], u))
    upper = np.concatenate((u, [np.inf]))
    gap = np.array(
        [np.count_nonzero((values > lower[j]) & (values < upper[j])) for j in range(m + 1)],
        np.int64,
    )
    return eq, gap


levels = st.lists(
    st.floats(-1e3, 1e3, allow_nan=False, width=32), min_size=1, max_size=40, unique=True
).map(lambda v: np.sort(np.asarray(v, np.float64)))


@settings(max_examples=60, deadline=None)
@given(u=levels, data=st.data())
def test_counts_equal_the_definition(u, data):
    # values: levels themselves (ties), points between and beyond them (gaps)
    picks = data.draw(st.lists(st.integers(0, len(u) - 1), max_size=30))
    others = data.draw(st.lists(st.floats(-2e3, 2e3, allow_nan=False, width=32), max_size=30))
    values = np.concatenate((u[picks], np.asarray(others, np.float64)))
    eq = np.zeros(len(u), np.int64)
    gap = np.zeros(len(u) + 1, np.int64)
    for x in values:
        # any range [left, right) that holds the answer gives it: draw one around it
        j = int(np.searchsorted(u, x, side="left"))
        left = data.draw(st.integers(0, j))
        right = data.draw(st.integers(j, len(u)))
        got, tie = tie_or_gap(u, x, left, right)
        assert got == j and tie == (j < len(u) and u[j] == x)
        if tie:
            eq[got] += 1
        else:
            gap[got] += 1
    ref_eq, ref_gap = _ref_ties_and_gaps(u, values)
    np.testing.assert_array_equal(eq, ref_eq)
    np.testing.assert_array_equal(gap, ref_gap)
    assert eq.sum() + gap.sum() == len(values)


def test_float32_values_compare_exactly_against_float64_levels():
    # 0.1 as float32 is not 0.1 as float64: a gap, not a tie
    u = np.array([0.1, 0.2], np.float64)
    assert tie_or_gap(u, np.float64(np.float32(0.1)), 0, 2) == (1, False)  # above 0.1 (float64)
    assert tie_or_gap(u, np.float64(0.2), 0, 2) == (1, True)
    assert tie_or_gap(u, np.float64(0.3), 0, 2) == (2, False)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(width=32, allow_nan=False), min_size=1, max_size=40))
def test_float32_keys_round_trip(values):
    # the compiled key inverse (used to read levels back from packed sort keys) against the
    # NumPy one and the values themselves; -0.0 shares the key of 0.0 and comes back as 0.0
    from anomaly_metrics._keys import (
        FLOAT32_KEY_OFFSET,
        float32_from_key,
        float32_of_key,
        order_key,
    )

    x = np.array(values, np.float32)
    keys = [int(order_key(b, 31)) + FLOAT32_KEY_OFFSET for b in x.view(np.int32)]
    back = np.array([float32_of_key(k) for k in keys], np.float32)
    assert np.array_equal(back, x)  # (equal as values: -0.0 == 0.0)
    assert np.array_equal(back.astype(np.float64), float32_from_key(np.array(keys, np.int64)))
    assert not np.signbit(back[x == 0]).any()
    order = np.argsort(np.array(keys, np.int64), kind="stable")  # keys order like the values
    assert np.array_equal(order, np.argsort(x, kind="stable"))


@settings(max_examples=200, deadline=None)
@given(
    u=st.lists(
        st.floats(-1e3, 1e3, allow_nan=False, width=32), min_size=1, max_size=300, unique=True
    ),
    data=st.data(),
)
def test_merge_count_kernel_equals_the_definition(u, data):
    """The counting primitive's merge of sorted values into the levels (one step, galloping,
    the counts kept in registers per level): ties, long runs in one gap, sparse and dense
    levels, values at both ends, and counts added onto earlier ones."""
    from anomaly_metrics._counts import _merge_count_kernel

    u = np.sort(np.array(u, np.float32).astype(np.float64))
    picks = data.draw(st.lists(st.integers(0, len(u) - 1), max_size=400))
    mids = data.draw(st.lists(st.floats(0, 1), max_size=400))
    # values: levels themselves (ties) and points between consecutive levels (gaps)
    between = [
        np.float32(u[i] + (u[min(i + 1, len(u) - 1)] - u[i]) * f) for i, f in zip(picks, mids)
    ]
    values = np.sort(np.concatenate([u[picks].astype(np.float32), np.array(between, np.float32)]))
    values = values[(values >= u[0]) & (values <= u[-1])]  # the kernel's contract
    eq = np.full(len(u), 3, np.int32)  # counts are added to what is there
    gap = np.full(len(u) + 1, 5, np.int32)
    _merge_count_kernel(values, u, eq, gap)
    ref_eq, ref_gap = _ref_ties_and_gaps(u, values.astype(np.float64))
    np.testing.assert_array_equal(eq, ref_eq + 3)
    np.testing.assert_array_equal(gap, ref_gap + 5)
