"""F1 family, PGn/PBn, normalisation, min-max and score distribution against brute force."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import anomaly_metrics as am
from anomaly_metrics.testing import (
    reference_f1,
    reference_f1_max,
    reference_normalize,
    reference_pbn,
    reference_pgn,
    scores_and_labels,
)

SETTINGS = settings(max_examples=120, deadline=None)


@SETTINGS
@given(scores_and_labels(both_classes=True, max_size=120))
def test_f1_max_and_threshold_equal_brute_force(problem):
    scores, labels = problem
    best, best_t = reference_f1_max(scores, labels)
    assert am.f1_max(scores, labels) == pytest.approx(best, abs=1e-12)
    assert am.f1_adaptive_threshold(scores, labels) == best_t


@SETTINGS
@given(
    scores_and_labels(min_size=1, max_size=120),
    st.sampled_from([0.0, 0.25, 0.5, 0.1, -1.0, 3.0]),
)
def test_f1_score_equals_brute_force(problem, threshold):
    scores, labels = problem
    if not np.asarray(labels).astype(bool).any():
        with pytest.warns(am.UndefinedMetricWarning):
            assert np.isnan(am.f1_score(scores, labels, threshold))
        return
    assert am.f1_score(scores, labels, threshold) == pytest.approx(
        reference_f1(scores, labels, threshold), abs=1e-12
    )


def test_f1_score_threshold_is_compared_in_float64():
    s = np.float32([0.1, 0.1])  # float32(0.1) = 0.10000000149 > 0.1
    assert am.f1_score(s, [1, 1], threshold=0.1) == 1.0
    assert am.f1_score(s, [1, 1], threshold=float(np.float32(0.1)) + 1e-12) == 0.0


@SETTINGS
@given(
    scores_and_labels(both_classes=True, max_size=120), st.sampled_from([0.0, 0.05, 0.2, 0.5, 1.0])
)
def test_pgn_pbn_equal_brute_force(problem, rate):
    scores, labels = problem
    assert am.pgn(scores, labels, fnr=rate) == pytest.approx(
        reference_pgn(scores, labels, rate), abs=1e-12
    )
    assert am.pbn(scores, labels, fpr=rate) == pytest.approx(
        reference_pbn(scores, labels, rate), abs=1e-12
    )


def test_quantile_rounding_is_one_rule_for_a_threshold_at_a_tie():
    # the 0.2 quantile of (-16, -1, 3, 3, 18) is -4 up to rounding, and -4 is a normal score:
    # whether it counts as "strictly below" is decided by the last bit of the threshold, so
    # the library and the reference share one interpolation rule (torch's two-sided lerp)
    from anomaly_metrics._pgn_pbn import _quantile
    from anomaly_metrics.testing import reference_quantile

    pos = np.array([18.0, 3.0, -1.0, -16.0, 3.0])
    thr = _quantile(pos, 0.2)
    assert thr == reference_quantile(pos, 0.2)
    assert abs(thr - np.quantile(pos, 0.2)) <= np.spacing(4.0)
    scores = np.concatenate((pos, [-4.0, -4.0, -5.0, 0.0]))
    labels = np.array([1] * 5 + [0] * 4, bool)
    assert am.pgn(scores, labels, fnr=0.2) == reference_pgn(scores, labels, 0.2)


def test_pgn_pbn_large_float64_input():
    # anomalib's torch.quantile fails beyond 16M values and on float64; the core does not.
    rng = np.random.default_rng(1)
    n = 17_000_000
    labels = np.zeros(n, bool)
    labels[:1000] = True
    scores = rng.random(n)
    scores[labels] += 0.5
    thr = np.quantile(scores[labels], 0.05)
    expected = np.count_nonzero(scores[~labels] < thr) / (n - 1000)
    assert am.pgn(scores, labels) == pytest.approx(expected, abs=0)
    assert 0.0 <= am.pbn(scores, labels) <= 1.0


@pytest.mark.parametrize("fn", [am.pgn, am.pbn, am.f1_max])
@pytest.mark.parametrize("which", [0, 1])
def test_one_class_nan(fn, which):
    with pytest.warns(am.UndefinedMetricWarning):
        assert np.isnan(fn([0.1, 0.2, 0.3], [which] * 3))


def test_adaptive_threshold_fallbacks():
    with pytest.warns(am.UndefinedMetricWarning, match="No anomalous samples"):
        assert am.f1_adaptive_threshold([4, 3, 2, 1], [0, 0, 0, 0]) == 4.0
    with pytest.warns(am.UndefinedMetricWarning, match="No normal samples"):
        assert am.f1_adaptive_threshold([4, 3, 2, 1], [1, 1, 1, 1]) == 1.0


@SETTINGS
@given(
    scores_and_labels(max_size=80, dtypes=(np.float32, np.float64)),
    st.floats(-2, 2),
    st.floats(-3, 3),
    st.floats(0, 4),
)
def test_normalize_min_max_equals_formula(problem, threshold, lo, width):
    values = problem[0]
    hi = lo + width
    out = am.normalize_min_max(values, threshold, lo, hi)
    assert out.shape == np.shape(values) and out.dtype == np.asarray(values).dtype
    expected = reference_normalize(values, threshold, lo, hi)
    atol = 1e-6 if out.dtype == np.float32 else 1e-12
    np.testing.assert_allclose(out, expected, rtol=0, atol=atol)
    assert np.all((out >= 0) & (out <= 1))


def test_normalize_min_max_degenerate_range():
    out = am.normalize_min_max(np.float32([0.2, 0.5, 0.9]), threshold=0.5, min=0.5, max=0.5)
    assert out.tolist() == [0.0, 0.5, 1.0] and out.dtype == np.float32


@SETTINGS
@given(scores_and_labels(max_size=200))
def test_min_max(problem):
    scores = problem[0]
    mm = am.min_max(scores)
    s = np.asarray(scores).astype(np.float64)
    assert mm == (s.min(), s.max()) and isinstance(mm.min, float)


def test_score_distribution_golden():
    d = am.score_distribution(
        image_scores=[0.5, 1.0, 2.0, 4.0],
        anomaly_maps=np.array(
            [
                [[1, 2], [4, 0.5]],
                [[2, 2], [1, 0.25]],
                [[4, 8], [1, 1]],
                [[1, 0.5], [0.5, 2]],
            ]
        ),
    )
    assert d.image_mean == pytest.approx(np.log(2) / 2, abs=1e-12)
    assert d.image_std == pytest.approx(0.89484918, abs=1e-7)
    np.testing.assert_allclose(
        d.pixel_mean, [[0.51986039, 0.69314718], [0.17328680, -0.34657359]], atol=1e-7
    )
    np.testing.assert_allclose(
        d.pixel_std, [[0.66363788, 1.13190460], [0.87219107, 0.89484918]], atol=1e-7
    )
    squeezed = am.score_distribution(anomaly_maps=[[[[1, 2]]], [[[4, 8]]]])
    np.testing.assert_allclose(squeezed.pixel_mean, [0.69314718, 1.38629436], atol=1e-7)
    assert squeezed.image_mean is None


def test_score_distribution_against_numpy():
    rng = np.random.default_rng(0)
    maps = rng.random((5, 3, 4)) + 0.1
    scores = rng.random(5) + 0.1
    d = am.score_distribution(scores, maps)
    assert d.image_mean == pytest.approx(np.mean(np.log(scores)))
    assert d.image_std == pytest.approx(np.std(np.log(scores), ddof=1))
    np.testing.assert_allclose(d.pixel_std, np.log(maps).std(axis=0, ddof=1))


def test_score_distribution_single_image_warns():
    with pytest.warns(am.UndefinedMetricWarning):
        d = am.score_distribution(image_scores=[2.0])
    assert d.image_mean == pytest.approx(np.log(2.0)) and np.isnan(d.image_std)
