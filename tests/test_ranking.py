"""ROC / PR curves, AUROC and AUPR against scikit-learn and pairwise references."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

import anomaly_metrics as am
from anomaly_metrics import _counts, _curves
from anomaly_metrics.testing import (
    reference_auroc,
    reference_average_precision,
    scores_and_labels,
)

SETTINGS = settings(max_examples=150, deadline=None)


def _f64(x):
    return np.asarray(x).astype(np.float64)


@SETTINGS
@given(scores_and_labels(both_classes=True))
def test_roc_curve_equals_sklearn(problem):
    scores, labels = problem
    fpr, tpr, thr = am.roc_curve(scores, labels)
    sk_fpr, sk_tpr, sk_thr = skm.roc_curve(
        np.asarray(labels).astype(int), _f64(scores), drop_intermediate=False
    )
    np.testing.assert_allclose(fpr, sk_fpr, rtol=0, atol=1e-12)
    np.testing.assert_allclose(tpr, sk_tpr, rtol=0, atol=1e-12)
    assert thr[0] == np.inf and sk_thr[0] == np.inf
    np.testing.assert_array_equal(thr[1:], sk_thr[1:])
    assert np.all(np.diff(thr) < 0)


@SETTINGS
@given(scores_and_labels(both_classes=True))
def test_precision_recall_curve_equals_sklearn(problem):
    scores, labels = problem
    p, r, t = am.precision_recall_curve(scores, labels)
    sk_p, sk_r, sk_t = skm.precision_recall_curve(np.asarray(labels).astype(int), _f64(scores))
    np.testing.assert_allclose(p, sk_p, rtol=0, atol=1e-12)
    np.testing.assert_allclose(r, sk_r, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(t, sk_t)
    assert p[-1] == 1.0 and r[-1] == 0.0


@SETTINGS
@given(scores_and_labels(both_classes=True), st.sampled_from([None, 0.05, 0.3, 0.5, 1.0]))
def test_auroc_equals_sklearn(problem, max_fpr):
    scores, labels = problem
    y = np.asarray(labels).astype(int)
    expected = skm.roc_auc_score(y, _f64(scores), max_fpr=max_fpr)
    assert am.auroc(scores, labels, max_fpr=max_fpr) == pytest.approx(expected, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(scores_and_labels(both_classes=True, max_size=60))
def test_auroc_equals_pairwise_definition(problem):
    scores, labels = problem
    assert am.auroc(scores, labels) == pytest.approx(reference_auroc(scores, labels), abs=1e-12)


@SETTINGS
@given(scores_and_labels(both_classes=True))
def test_aupr_equals_sklearn_average_precision(problem):
    scores, labels = problem
    y = np.asarray(labels).astype(int)
    expected = skm.average_precision_score(y, _f64(scores))
    assert am.aupr(scores, labels) == pytest.approx(expected, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(scores_and_labels(both_classes=True, max_size=60))
def test_aupr_equals_definition(problem):
    scores, labels = problem
    assert am.aupr(scores, labels) == pytest.approx(
        reference_average_precision(scores, labels), abs=1e-12
    )


@SETTINGS
@given(scores_and_labels(both_classes=True), st.integers(0, 2**32 - 1))
def test_invariances(problem, seed):
    scores, labels = problem
    s = _f64(scores)
    perm = np.random.default_rng(seed).permutation(s.size)
    base = am.auroc(s, labels)
    assert am.auroc(s[perm], np.asarray(labels)[perm]) == pytest.approx(base, abs=1e-12)
    assert am.aupr(s[perm], np.asarray(labels)[perm]) == pytest.approx(
        am.aupr(s, labels), abs=1e-12
    )
    # strictly increasing transform (exact on these values: tanh is monotone; use a safe affine)
    assert am.auroc(3.0 * s + 7.0, labels) == pytest.approx(base, abs=1e-12)
    assert am.auroc(np.exp(s / (np.abs(s).max() + 1.0)), labels) == pytest.approx(base, abs=1e-12)
    # swapping the classes mirrors the curve
    flipped = 1 - np.asarray(labels).astype(int)
    assert am.auroc(s, flipped) == pytest.approx(1.0 - base, abs=1e-12)
    assert am.auroc(-s, labels) == pytest.approx(1.0 - base, abs=1e-12)


@pytest.mark.parametrize("n", [1, 2, 10, 1000, 100_000])
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.int64])
def test_sizes_and_dtypes_against_sklearn(n, dtype):
    rng = np.random.default_rng(n)
    labels = rng.random(n) < 0.3
    labels[0] = True
    if n > 1:
        labels[1] = False
    scores = (rng.normal(size=n) * 4 + 2 * labels).astype(dtype)
    y = labels.astype(int)
    if n == 1:
        with pytest.warns(am.UndefinedMetricWarning):
            assert np.isnan(am.auroc(scores, labels))
        assert am.aupr(scores, labels) == 1.0
        return
    s64 = scores.astype(np.float64)
    assert am.auroc(scores, labels) == pytest.approx(skm.roc_auc_score(y, s64), abs=1e-12)
    assert am.aupr(scores, labels) == pytest.approx(skm.average_precision_score(y, s64), abs=1e-12)


def test_threaded_gap_counting_matches_serial(monkeypatch):
    rng = np.random.default_rng(3)
    scores = rng.normal(size=200_003).astype(np.float32)
    labels = rng.random(scores.size) < 0.05
    scores[labels] += 1.0
    scores[::7] = np.round(scores[::7], 1)  # ties across classes
    serial = am.auroc(scores, labels), am.aupr(scores, labels), am.f1_max(scores, labels)
    monkeypatch.setattr(_counts, "SCORES_PER_WORKER", 10_000)
    threaded = am.auroc(scores, labels), am.aupr(scores, labels), am.f1_max(scores, labels)
    assert serial == threaded
    y = labels.astype(int)
    assert serial[0] == pytest.approx(skm.roc_auc_score(y, scores.astype(np.float64)), abs=1e-12)


def test_float32_scores_compare_exactly_at_float64_thresholds():
    # 0.1 is not a float32: float32(0.1) > 0.1 in float64, so it must rank above 0.1 (float64)
    s = np.array([np.float32(0.1), 0.1], dtype=np.float64)
    assert s[0] > s[1]
    assert am.auroc(s, [1, 0]) == 1.0
    assert am.auroc(np.float32([0.1, 0.1]), [1, 0]) == 0.5


def test_huge_and_tiny_scores():
    scores = np.array([-1e300, -1e-300, 0.0, 1e-300, 1e300, 1e300])
    labels = np.array([0, 1, 0, 1, 1, 0])
    assert am.auroc(scores, labels) == pytest.approx(skm.roc_auc_score(labels, scores), abs=1e-12)
    assert am.aupr(scores, labels) == pytest.approx(
        skm.average_precision_score(labels, scores), abs=1e-12
    )


@pytest.mark.parametrize("which", [0, 1])
def test_one_class_is_nan_with_warning(which):
    scores = [0.1, 0.2, 0.8, 0.9]
    labels = [which] * 4
    with pytest.warns(am.UndefinedMetricWarning, match="AUROC"):
        assert np.isnan(am.auroc(scores, labels))
    if which == 0:
        with pytest.warns(am.UndefinedMetricWarning, match="AUPR"):
            assert np.isnan(am.aupr(scores, labels))
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert am.aupr(scores, labels) == 1.0


def test_warning_points_at_caller():
    with pytest.warns(am.UndefinedMetricWarning) as record:
        am.auroc([0.1, 0.2], [0, 0])
    assert record[0].filename == __file__


def test_roc_curve_one_class_rates_are_nan():
    with pytest.warns(am.UndefinedMetricWarning, match="false positive rate"):
        fpr, tpr, _ = am.roc_curve([0.1, 0.2], [1, 1])
    assert np.isnan(fpr).all() and tpr.tolist() == [0.0, 0.5, 1.0]
    with pytest.warns(am.UndefinedMetricWarning, match="recall"):
        p, r, t = am.precision_recall_curve([0.1, 0.2], [0, 0])
    assert p.tolist() == [0.0, 0.0, 1.0] and np.isnan(r[:-1]).all() and t.tolist() == [0.1, 0.2]


def test_partial_auc_examples():
    scores = [0.1, 0.4, 0.35, 0.8]
    labels = [0, 0, 1, 1]
    assert am.auroc(scores, labels, max_fpr=1.0) == am.auroc(scores, labels)
    assert am.auroc(scores, labels, max_fpr=0.5) == pytest.approx(
        skm.roc_auc_score(labels, scores, max_fpr=0.5)
    )


def test_auc_against_numpy_and_interpolation():
    rng = np.random.default_rng(0)
    x = np.sort(rng.random(50))
    y = rng.random(50)
    assert am.auc(x, y) == pytest.approx(np.trapezoid(y, x), abs=1e-14)
    assert am.auc(x[::-1], y[::-1]) == pytest.approx(np.trapezoid(y, x), abs=1e-14)
    # cutting at a vertex equals integrating the prefix
    assert am.auc(x, y, x_max=x[20]) == pytest.approx(np.trapezoid(y[:21], x[:21]), abs=1e-14)
    # cutting between vertices interpolates linearly
    xm = (x[20] + x[21]) / 2
    ym = (y[20] + y[21]) / 2
    expected = np.trapezoid(np.append(y[:21], ym), np.append(x[:21], xm))
    assert am.auc(x, y, x_max=xm) == pytest.approx(expected, abs=1e-14)
    # a vertical jump at x_max is kept (MVTec rule)
    assert am.auc([0, 0.5, 0.5, 1], [0, 0, 1, 1], x_max=0.5) == 0.0
    assert am.auc([0, 0.5, 0.5, 1], [0, 0, 1, 1], x_max=0.75) == 0.25


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_gap_counting_is_exact_over_the_whole_float_range(data):
    # levels spread over the full float64 range (keys up to 2**64 apart), signed zeros, denormals
    # and huge outliers: the key buckets must still place every negative in its exact gap
    dtype = data.draw(st.sampled_from([np.float32, np.float64]))
    big, tiny = (3e38, 1e-45) if dtype == np.float32 else (1e308, 5e-324)
    specials = [-big, -1e30, -1.0, -tiny, -0.0, 0.0, tiny, 1e-30, 0.5, 1.0, 1e30, big]
    n = data.draw(st.integers(2, 300))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    scores = np.where(
        rng.random(n) < 0.5, rng.choice(specials, n), rng.standard_cauchy(n) * 1e3
    ).astype(dtype)
    labels = rng.random(n) < data.draw(st.sampled_from([0.05, 0.5, 0.95]))
    assume(labels.any() and (~labels).any())
    with np.errstate(invalid="ignore", over="ignore"):  # scikit-learn's finiteness check sums
        expected = skm.roc_auc_score(labels, scores.astype(np.float64))
        expected_ap = skm.average_precision_score(labels, scores.astype(np.float64))
    with am.threads(1):
        assert am.auroc(scores, labels) == pytest.approx(expected, abs=1e-12)
    assert am.aupr(scores, labels) == pytest.approx(expected_ap, abs=1e-12)


# ---------------------------------------------------------------------------------------------
# the one-pass polyline area (AUROC, partial AUROC, AU-PRO, AU-sPRO) against the trapezoid rule
# applied to the explicit polyline


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5), st.integers(0, 5)), max_size=30),
    st.integers(0, 5),
    st.sampled_from([None, 1e-3, 0.05, 0.3, 0.5, 1.0]),
    st.booleans(),
    st.integers(0, 3),
)
def test_polyline_area_kernel_equals_the_trapezoid_of_the_polyline(
    levels, below, x_max, weighted, dropped
):
    from anomaly_metrics._integrate import _polyline_area_kernel
    from anomaly_metrics.testing import reference_trapezoid

    # per distinct positive threshold (ascending): positives, tied negatives, negatives in the
    # gap above it; `below`: negatives under the lowest threshold; `dropped` positive mass
    # under a floor (counted in the total, not in the curve: AU-PRO's min_threshold)
    n_p = np.array([p + 1 for p, _, _ in levels], np.int64)
    eq = np.array([e for _, e, _ in levels], np.int64)
    gap = np.array([below] + [g for _, _, g in levels], np.int64)
    u = np.arange(len(levels), dtype=np.float64)
    w_p = n_p / 3.0 if weighted else None
    n_neg = int(eq.sum() + gap.sum())
    c = _counts._cumulate(u, n_p, w_p, eq, gap, int(n_p.sum()), n_neg)
    assume(n_neg > 0)
    total = (c.n_pos_weight if weighted else c.n_pos) + dropped
    assume(total > 0)
    x, y = _curves._roc_polyline(c, weighted=weighted)
    x, y = x / n_neg, y / total
    limit = 1.0 if x_max is None else x_max
    expected = reference_trapezoid(x, y, limit)
    y_counts = c.tp_weight if weighted else c.tp
    end = c.n_pos_weight if weighted else c.n_pos
    got = _polyline_area_kernel(
        c.fp_above, c.fp, y_counts, float(n_neg), float(end), float(total), limit
    )
    assert got == pytest.approx(expected, rel=1e-12, abs=1e-15)


@settings(max_examples=80, deadline=None)
@given(
    st.integers(0, 6000),
    st.integers(1, 3000),
    st.booleans(),
    st.floats(-1.0, 1.0),
    st.floats(0.0, 1.5),
    st.integers(0, 2**32 - 1),
)
def test_gather_kernel_equals_a_boolean_mask(n, cap, which, lo, width, seed):
    # the counting pass's gather (blocks of branch-free loops, then one value at a time near a
    # full buffer) against NumPy's boolean indexing, refilled from where it stopped
    rng = np.random.default_rng(seed)
    values = np.round(rng.normal(size=n), 2).astype(np.float32)
    labels = rng.random(n) < 0.3
    hi = lo + width
    buf = np.empty(cap, np.float32)
    outside = np.zeros(2, np.int64)
    gathered, i = [], 0
    while i < n:
        i, k = _counts._gather_in_range_kernel(values, labels, which, lo, hi, i, buf, 0, outside)
        gathered.append(buf[:k].copy())
    got = np.concatenate(gathered) if gathered else np.zeros(0, np.float32)
    mine = values[labels == which].astype(np.float64)
    inside = (mine >= lo) & (mine <= hi)
    np.testing.assert_array_equal(got, values[labels == which][inside])  # order kept too
    assert outside.tolist() == [int(np.sum(mine < lo)), int(np.sum(mine > hi))]


@settings(max_examples=80, deadline=None)
@given(
    st.integers(0, 200),
    st.sampled_from([0.0, 0.02, 0.5, 1.0]),
    st.sampled_from([None, -np.inf, -0.5, 0.0, 0.3, 2.0]),
    st.sampled_from([np.float32, np.float64]),
    st.integers(0, 3),
    st.integers(0, 2**32 - 1),
)
def test_kept_positives_equal_boolean_indexing(n, share, floor, dtype, n_cuts, seed):
    # the one-pass extraction of the positives (8 labels at a time, the floor included, over
    # consecutive batches) against NumPy's boolean indexing and comparison, order kept
    from anomaly_metrics._levels import _kept_positives

    rng = np.random.default_rng(seed)
    values = np.round(rng.normal(size=n), 1).astype(dtype)
    labels = rng.random(n) < share
    cuts = np.sort(rng.integers(0, n + 1, n_cuts))
    chunks = list(zip(np.split(values, cuts), np.split(labels, cuts)))
    got = _kept_positives(chunks, int(labels.sum()), floor)
    want = values[labels]
    if floor is not None:
        want = want[want.astype(np.float64) >= floor]
    assert got.dtype == values.dtype
    np.testing.assert_array_equal(got, want)
