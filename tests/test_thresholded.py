"""Thresholded IoU / Acc / F1 (ADer / COCO-AD tables) against per-threshold loops."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import anomaly_metrics as am
from anomaly_metrics.testing import reference_counts as ref_counts
from anomaly_metrics.testing import reference_iou_max as ref_iou_max
from tests.test_segf1 import seg_problems


def _ref_metrics(maps, masks, t):
    tp, fp, fn = ref_counts(maps, masks, t)
    iou = tp / (tp + fp + fn) if tp + fp + fn else math.nan
    acc = tp / (tp + fn) if tp + fn else math.nan
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else math.nan
    return iou, acc, f1


def _normalised(maps):
    m = maps.astype(np.float64)
    lo, hi = m.min(), m.max()
    return (m - lo) * (1.0 / (hi - lo) if hi > lo else 1.0)


@settings(max_examples=80, deadline=None)
@given(seg_problems(), st.booleans())
def test_thresholded_metrics_match_the_reference(problem, normalize):
    maps, masks = problem
    vals = np.unique(maps.astype(np.float64))
    thresholds = np.concatenate((vals[::-1], [0.25, -1.0, 9.0], am.ADER_MEAN_THRESHOLDS))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", am.UndefinedMetricWarning)
        got = am.thresholded_metrics(maps, masks, thresholds, normalize=normalize)
    ref_maps = _normalised(maps) if normalize else maps
    np.testing.assert_array_equal(got.thresholds, thresholds)
    for k, t in enumerate(thresholds):
        want = _ref_metrics(ref_maps, masks, t)
        np.testing.assert_array_equal([got.iou[k], got.accuracy[k], got.f1[k]], want)


@settings(max_examples=80, deadline=None)
@given(seg_problems())
def test_iou_max_is_exact_over_every_threshold(problem):
    maps, masks = problem
    if not masks.any():
        with pytest.warns(am.UndefinedMetricWarning):
            assert math.isnan(am.iou_max(maps, masks))
        return
    got = am.iou_max(maps, masks)
    assert got == pytest.approx(ref_iou_max(maps, masks), abs=1e-15)
    if not masks.all():
        f1 = am.f1_max(maps, masks)
        assert got == pytest.approx(f1 / (2 - f1), abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(seg_problems())
def test_ader_protocol_means_and_maxima(problem):
    maps, masks = problem
    if not masks.any():
        with pytest.warns(am.UndefinedMetricWarning):
            assert all(math.isnan(v) for v in am.ader_pixel_metrics(maps, masks))
        return
    got = am.ader_pixel_metrics(maps, masks)
    norm = _normalised(maps)
    mean = np.array([_ref_metrics(norm, masks, t) for t in am.ADER_MEAN_THRESHOLDS])
    top = np.array([_ref_metrics(norm, masks, t) for t in am.ADER_MAX_THRESHOLDS])
    assert got.mean_iou == pytest.approx(mean[:, 0].mean(), abs=1e-15)
    assert got.mean_accuracy == pytest.approx(mean[:, 1].mean(), abs=1e-15)
    assert got.mean_f1 == pytest.approx(mean[:, 2].mean(), abs=1e-15)
    assert got.iou_max == top[:, 0].max() and got.f1_max == top[:, 2].max()


def test_ader_grids():
    assert am.ADER_MEAN_THRESHOLDS.size == 7 and am.ADER_MAX_THRESHOLDS.size == 21
    assert am.ADER_MEAN_THRESHOLDS[0] == 0.2 and am.ADER_MAX_THRESHOLDS[-1] == 1.0


M = np.zeros((1, 2, 2))
G = np.zeros((1, 2, 2), bool)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: am.thresholded_metrics(M, G, []), ValueError, "thresholds"),
        (lambda: am.thresholded_metrics(M, G, [np.nan]), ValueError, "thresholds"),
        (lambda: am.thresholded_metrics(M, G, ["a"]), TypeError, "thresholds"),
        (lambda: am.thresholded_metrics(M, G[0], [0.5]), ValueError, "same shape"),
        (lambda: am.iou_max(M, G + 2), ValueError, "masks"),
        (lambda: am.ader_pixel_metrics(M[0, 0], G[0, 0]), ValueError, "shape"),
    ],
)
def test_error_table(call, error, match):
    with pytest.raises(error, match=match):
        call()
