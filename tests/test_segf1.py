"""SegF1 (MVTec AD 2), the threshold rules, and AU-PRO at several limits in one pass."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import anomaly_metrics as am
from anomaly_metrics.testing import reference_counts as ref_counts
from anomaly_metrics.testing import reference_max_fpr_threshold as ref_max_fpr_threshold
from anomaly_metrics.testing import reference_seg_f1_per_image as ref_seg_f1_per_image


@st.composite
def seg_problems(draw):
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    n, h, w = draw(st.integers(1, 4)), draw(st.integers(1, 5)), draw(st.integers(1, 5))
    dtype = draw(st.sampled_from((np.float16, np.float32, np.float64)))
    levels = draw(st.integers(1, 10))
    maps = (rng.integers(0, levels, (n, h, w)) / levels * 3.3).astype(dtype)
    masks = rng.random((n, h, w)) < draw(st.sampled_from((0.0, 0.2, 0.5)))
    return maps, masks


def _thresholds(maps):
    vals = np.unique(maps.astype(np.float64))
    return [float(vals[0]), float(vals[-1]), float(np.nextafter(vals[-1], np.inf)), 1.1, 0.0]


@settings(max_examples=80, deadline=None)
@given(seg_problems())
def test_seg_f1_matches_the_reference_with_float16_ties(problem):
    maps, masks = problem
    for t in _thresholds(maps):
        tp, fp, fn = ref_counts(maps, masks, t)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", am.UndefinedMetricWarning)
            got = am.seg_f1(maps, masks, t)
        if tp + fp + fn == 0:
            assert math.isnan(got)
        else:
            assert got == 2 * tp / (2 * tp + fp + fn)
        assert am.seg_f1(maps, masks, t, average="per_image") == pytest.approx(
            ref_seg_f1_per_image(maps, masks, t), abs=1e-15
        )
        # the binary path gives the same as the threshold path
        binary = maps.astype(np.float64) >= t
        got_b = am.seg_f1(binary, masks) if tp + fp + fn else None
        if got_b is not None:
            assert got_b == got


def test_float16_threshold_is_compared_exactly():
    maps = np.array([[[0.1, 0.2]]], np.float16)  # float16(0.1) = 0.0999755859375
    masks = np.array([[[1, 0]]], bool)
    assert am.seg_f1(maps, masks, 0.1) == 0.0  # 0.0999755859375 < 0.1
    assert am.seg_f1(maps, masks, float(np.float16(0.1))) == 2 / 3


@settings(max_examples=60, deadline=None)
@given(seg_problems(), st.floats(0, 1))
def test_max_fpr_threshold_matches_the_reference(problem, max_fpr):
    maps, _ = problem
    got = am.threshold_max_fpr(maps, max_fpr)
    want = ref_max_fpr_threshold(maps, max_fpr)
    assert got.threshold == want and got.rule == "max_fpr"
    s = maps.astype(np.float64).ravel()
    assert got.params["fpr"] == (s >= want).sum() / s.size <= max_fpr


@settings(max_examples=40, deadline=None)
@given(seg_problems(), st.floats(-1, 5))
def test_mean_std_threshold_matches_the_definition(problem, k):
    maps, _ = problem
    x = maps.astype(np.float64).ravel().tolist()
    mean = math.fsum(x) / len(x)
    std = math.sqrt(math.fsum((v - mean) ** 2 for v in x) / len(x))
    got = am.threshold_mean_std(maps, k)
    assert got.rule == "mean_std" and got.params["k"] == k
    assert got.threshold == pytest.approx(mean + k * std, rel=1e-12, abs=1e-12)


def test_percentile_and_f1_max_rules():
    s = np.arange(101, dtype=np.float16)
    got = am.threshold_percentile(s, 95)
    assert got == am.ThresholdChoice(95.0, "percentile", {"q": 95.0})
    scores, labels = [0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]
    choice = am.threshold_f1_max(scores, labels)
    assert choice.threshold == am.f1_adaptive_threshold(scores, labels)
    assert choice.params["f1"] == am.f1_max(scores, labels)
    assert am.f1_score(scores, labels, choice.threshold) == choice.params["f1"]


def test_undefined_seg_f1_warns():
    with pytest.warns(am.UndefinedMetricWarning, match="SegF1"):
        assert math.isnan(am.seg_f1(np.zeros((1, 2, 2)), np.zeros((1, 2, 2)), 0.5))
    # per image: nothing to find, nothing found is 1
    assert am.seg_f1(np.zeros((1, 2, 2)), np.zeros((1, 2, 2)), 0.5, average="per_image") == 1.0


def _region_maps(seed=0, n=10, side=48):
    rng = np.random.default_rng(seed)
    maps = np.round(rng.random((n, side, side)), 3).astype(np.float32)
    masks = np.zeros((n, side, side), bool)
    for i in range(0, n, 2):
        masks[i, 5 + i : 15 + i, 10:20] = True
        maps[i, 5 + i : 15 + i, 10:20] += rng.random() * 0.5
    return maps, masks


@pytest.mark.parametrize("limits", [(0.3, 0.05, 0.01), (1.0, 0.3), (0.01, 0.01), [0.2]])
def test_multi_limit_aupro_equals_separate_calls_bit_for_bit(limits):
    maps, masks = _region_maps()
    together = am.aupro(maps, masks, fpr_limit=limits)
    assert isinstance(together, tuple) and len(together) == len(limits)
    assert together == tuple(am.aupro(maps, masks, fpr_limit=lim) for lim in limits)
    assert isinstance(am.aupro(maps, masks, fpr_limit=np.float64(0.3)), float)
    assert am.aupro(maps, masks, fpr_limit=np.array(limits)) == together


def test_multi_limit_aupro_undefined_gives_one_nan_per_limit():
    with pytest.warns(am.UndefinedMetricWarning):
        out = am.aupro(np.zeros((1, 2, 2)), np.zeros((1, 2, 2)), fpr_limit=(0.3, 0.1))
    assert len(out) == 2 and all(math.isnan(v) for v in out)


M = np.zeros((1, 2, 2))
G = np.zeros((1, 2, 2), bool)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: am.seg_f1(M + 0.5, G), ValueError, "anomaly_maps"),
        (lambda: am.seg_f1(M + 255, G), ValueError, "> 0"),
        (lambda: am.seg_f1(M, G, np.inf), ValueError, "threshold"),
        (lambda: am.seg_f1(M, G, "0.5"), TypeError, "threshold"),
        (lambda: am.seg_f1(M, G, 0.5, average="mean"), ValueError, "`average`"),
        (lambda: am.seg_f1(M, G[0, 0], 0.5), ValueError, "same shape"),
        (lambda: am.threshold_mean_std([], 3), ValueError, "normal_scores"),
        (lambda: am.threshold_mean_std([1.0, np.nan]), ValueError, "finite"),
        (lambda: am.threshold_mean_std([1.0], k=np.inf), ValueError, "`k`"),
        (lambda: am.threshold_percentile([1.0], 101), ValueError, "`q`"),
        (lambda: am.threshold_max_fpr([1.0], 1.5), ValueError, "max_fpr"),
        (lambda: am.threshold_max_fpr(["a"], 0.1), TypeError, "normal_scores"),
        (lambda: am.threshold_f1_max([1.0, 2.0], [0, 2]), ValueError, "labels"),
        (lambda: am.aupro(M, G, fpr_limit="0.3"), TypeError, "fpr_limit"),
        (lambda: am.aupro(M, G, fpr_limit=[]), ValueError, "non-empty"),
        (lambda: am.aupro(M, G, fpr_limit=(0.3, 0)), ValueError, "fpr_limit"),
        (lambda: am.aupro(M, G, fpr_limit=(0.3, None)), TypeError, "fpr_limit"),
    ],
)
def test_error_table(call, error, match):
    with pytest.raises(error, match=match):
        call()
