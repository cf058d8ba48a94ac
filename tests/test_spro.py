"""sPRO / AU-sPRO (MVTec LOCO AD) against the per-threshold reference, and the saturation rule."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import anomaly_metrics as am
from anomaly_metrics.testing import loco_channels as loco_problems
from anomaly_metrics.testing import reference_area as ref_area
from anomaly_metrics.testing import reference_spro as ref_spro
from anomaly_metrics.testing import reference_spro_curve as ref_spro_curve


def _sats(channels, sats):
    if sats is not None:
        return sats
    return [np.array([c.sum() for c in ch], np.float64) for ch in channels]


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", am.UndefinedMetricWarning)
        return fn(*args, **kwargs)


@settings(max_examples=60, deadline=None)
@given(loco_problems(), st.sampled_from((0.05, 0.3, 0.5, 1.0)))
def test_spro_curve_and_area_match_the_per_threshold_reference(problem, limit):
    maps, channels, sats = problem
    fpr, spro, ths = ref_spro_curve(maps, channels, _sats(channels, sats))
    curve = _quiet(am.spro_curve, maps, channels, saturation_areas=sats)
    np.testing.assert_array_equal(curve.thresholds, ths)
    np.testing.assert_allclose(curve.fpr, fpr, rtol=0, atol=1e-12)
    np.testing.assert_allclose(curve.spro, spro, rtol=0, atol=1e-12)
    got = _quiet(am.auspro, maps, channels, saturation_areas=sats, fpr_limit=limit)
    n_channels = sum(len(c) for c in channels)
    if n_channels == 0 or np.isnan(fpr[1]):
        assert np.isnan(got)
    else:
        assert got == pytest.approx(ref_area(fpr, spro, limit), abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(loco_problems(), st.sampled_from((0.0, 0.15, 0.5, 0.55, 1.0)))
def test_spro_at_a_threshold_matches_the_reference(problem, t):
    maps, channels, sats = problem
    want = ref_spro(maps, channels, _sats(channels, sats), t)
    got = _quiet(am.spro, maps, channels, t, saturation_areas=sats)
    if np.isnan(want):
        assert np.isnan(got)
    else:
        assert got == pytest.approx(want, abs=1e-12)


def test_overlapping_channels_and_a_channel_of_several_blobs():
    maps = np.array([[[0.9, 0.8, 0.7, 0.1, 0.6, 0.2]]])
    ch = np.zeros((2, 1, 6), bool)
    ch[0, 0, [0, 1, 4]] = True  # two blobs (0-1 and 4), one defect
    ch[1, 0, [1, 2]] = True  # overlaps channel 0 at pixel 1
    sats = [np.array([2.0, 2.0])]
    fpr, spro, _ = ref_spro_curve(maps, [ch], sats)
    curve = am.spro_curve(maps, [ch], saturation_areas=sats)
    np.testing.assert_allclose(curve.spro, spro, atol=1e-12)
    np.testing.assert_allclose(curve.fpr, fpr, atol=1e-12)
    # at 0.8 channel 0 has 2 of 2 needed, channel 1 has 1 of 2
    assert am.spro(maps, [ch], 0.8, saturation_areas=sats) == 0.75


def test_zero_saturation_area_saturates_at_the_first_detected_pixel():
    maps = np.array([[[0.9, 0.5, 0.1]]])
    ch = np.array([[[0, 1, 1]]], bool)
    assert am.spro(maps, [ch], 0.6, saturation_areas=[[0]]) == 0.0
    assert am.spro(maps, [ch], 0.5, saturation_areas=[[0]]) == 1.0
    # the same as a saturation area of 1
    for limit in (0.5, 1.0):
        assert am.auspro(maps, [ch], saturation_areas=[[0]], fpr_limit=limit) == am.auspro(
            maps, [ch], saturation_areas=[[1]], fpr_limit=limit
        )


def test_saturation_area_above_the_defect_area_never_saturates():
    maps = np.array([[[0.9, 0.5, 0.1]]])
    ch = np.array([[[0, 1, 1]]], bool)
    assert am.spro(maps, [ch], 0.0, saturation_areas=[[4]]) == 0.5
    assert am.spro_curve(maps, [ch], saturation_areas=[[4]]).spro.max() == 0.5


def test_normal_images_add_false_positives_only():
    maps = [np.array([[0.9, 0.2]]), np.array([[0.95, 0.1]])]
    ch = [np.array([[[1, 0]]], bool), None]
    curve = am.spro_curve(maps, ch)
    # at 0.95 only the normal image's pixel is positive: fpr 1/3, spro 0
    assert curve.fpr[1] == pytest.approx(1 / 3) and curve.spro[1] == 0.0
    assert am.auspro(maps, ch, fpr_limit=1.0) == pytest.approx(
        ref_area(
            *ref_spro_curve(
                maps, [np.zeros((0, 1, 2), bool) if c is None else c for c in ch], [[1.0], []]
            )[:2],
            1.0,
        )
    )


def test_multi_limit_auspro_equals_separate_calls_bit_for_bit():
    rng = np.random.default_rng(3)
    maps = [np.round(rng.random((40, 40)), 3).astype(np.float32) for _ in range(12)]
    channels = []
    for i in range(12):
        ch = np.zeros((i % 3, 40, 40), bool)
        for k in range(ch.shape[0]):
            ch[k, 5 * k : 5 * k + 8, 10:20] = True
            maps[i][5 * k : 5 * k + 8, 10:20] += 0.3
        channels.append(ch)
    sats = am.loco_saturation_areas(
        channels,
        [[255] * len(c) for c in channels],
        [{"pixel_value": 255, "saturation_threshold": 0.5, "relative_saturation": True}],
    )
    limits = (0.01, 0.05, 0.1, 0.3, 1.0)
    together = am.auspro(maps, channels, saturation_areas=sats, fpr_limit=limits)
    assert isinstance(together, tuple) and len(together) == 5
    assert together == tuple(
        am.auspro(maps, channels, saturation_areas=sats, fpr_limit=lim) for lim in limits
    )
    # and equal to the reference on the quantised scores
    fpr, spro, _ = ref_spro_curve(maps, channels, sats)
    assert together[1] == pytest.approx(ref_area(fpr, spro, 0.05), abs=1e-12)


def test_array_input_equals_list_input():
    rng = np.random.default_rng(0)
    maps = rng.random((3, 5, 5))
    channels = [rng.random((2, 5, 5)) < 0.3 for _ in range(3)]
    for ch in channels:
        ch[:, 0, 0] = True
    assert am.auspro(maps, channels, fpr_limit=0.3) == am.auspro(
        list(maps), channels, fpr_limit=0.3
    )


def test_loco_saturation_area_rule():
    assert am.loco_saturation_area(250, 0.5, True) == 125.0
    assert am.loco_saturation_area(7, 0.5, True) == 3.0  # floored
    assert am.loco_saturation_area(3, 0.2, True) == 0.0
    assert am.loco_saturation_area(10, 1.5, True) == 15.0  # above the defect area
    assert am.loco_saturation_area(250, 100, False) == 100.0
    assert am.loco_saturation_area(50, 100, False) == 50.0


def test_undefined_cases_warn_and_return_nan():
    maps = np.zeros((1, 2, 2))
    with pytest.warns(am.UndefinedMetricWarning, match="No defect channel"):
        assert np.isnan(am.auspro(maps, [None]))
    with pytest.warns(am.UndefinedMetricWarning, match="No defect channel"):
        assert np.isnan(am.spro(maps, [np.zeros((0, 2, 2), bool)]))
    full = [np.ones((1, 2, 2), bool)]
    with pytest.warns(am.UndefinedMetricWarning, match="outside the channels"):
        assert am.auspro(maps, full, fpr_limit=(0.1, 0.3)) == pytest.approx(
            (np.nan, np.nan), nan_ok=True
        )


CH = [np.ones((1, 2, 2), bool)]
MAPS = np.zeros((1, 2, 2))
CONFIG = [{"pixel_value": 255, "saturation_threshold": 1.0, "relative_saturation": True}]


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: am.auspro(MAPS, CH[0]), TypeError, "`channels` must be a list"),
        (lambda: am.auspro(MAPS, CH * 2), ValueError, "one channel stack per map"),
        (lambda: am.auspro(MAPS, [np.ones((2, 2), bool)]), ValueError, r"mask\[None\]"),
        (lambda: am.auspro(MAPS, [np.zeros((1, 2, 2), bool)]), ValueError, "at least one defect"),
        (lambda: am.auspro(MAPS, [np.full((1, 2, 2), 2)]), ValueError, "channels\\[0\\]"),
        (lambda: am.auspro(MAPS, CH, fpr_limit=0.0), ValueError, "fpr_limit"),
        (lambda: am.auspro(MAPS, CH, fpr_limit=()), ValueError, "non-empty"),
        (lambda: am.auspro(MAPS, CH, fpr_limit=(0.1, 2)), ValueError, "fpr_limit"),
        (lambda: am.auspro(MAPS, CH, saturation_areas=[[1, 2]]), ValueError, "one area per"),
        (lambda: am.auspro(MAPS, CH, saturation_areas=[[-1]]), ValueError, ">= 0"),
        (lambda: am.auspro(MAPS, CH, saturation_areas=np.ones(1)), TypeError, "saturation_areas"),
        (lambda: am.auspro(MAPS, CH, saturation_areas=[]), ValueError, "one entry per map"),
        (lambda: am.auspro([np.zeros(3)], CH), ValueError, "2-D map"),
        (lambda: am.auspro([], []), ValueError, "must not be empty"),
        (lambda: am.auspro(np.zeros(3), CH), ValueError, "shape"),
        (lambda: am.spro(MAPS, CH, threshold=np.nan), ValueError, "threshold"),
        (lambda: am.spro_curve(MAPS, CH, fpr_limit=2), ValueError, "fpr_limit"),
        (lambda: am.loco_saturation_area(-1, 1, True), ValueError, "defect_area"),
        (lambda: am.loco_saturation_area(1.5, 1, True), ValueError, "defect_area"),
        (lambda: am.loco_saturation_area(1, -1, True), ValueError, "saturation_threshold"),
        (lambda: am.loco_saturation_area(1, 1, "yes"), TypeError, "relative_saturation"),
        (lambda: am.loco_saturation_areas(CH, [[255]], {"a": 1}), TypeError, "defects_config"),
        (lambda: am.loco_saturation_areas(CH, [[255]], [{}]), ValueError, "missing"),
        (lambda: am.loco_saturation_areas(CH, [[7]], CONFIG), ValueError, "known: \\[255\\]"),
        (lambda: am.loco_saturation_areas(CH, [[255, 255]], CONFIG), ValueError, "one id per"),
        (lambda: am.loco_saturation_areas(CH, [], CONFIG), ValueError, "one entry per image"),
        (
            lambda: am.loco_saturation_areas(CH, [[255]], [{**CONFIG[0], "pixel_value": "255"}]),
            TypeError,
            "pixel_value",
        ),
    ],
)
def test_error_table(call, error, match):
    with pytest.raises(error, match=match):
        call()
