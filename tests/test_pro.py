"""PRO, PRO curve and AU-PRO: slow float64 reference, golden cases, invariances, edge cases, errors."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import anomaly_metrics as am
from anomaly_metrics import _pro
from anomaly_metrics._components import _region_ids
from anomaly_metrics._counts import _binary_counts
from anomaly_metrics.testing import (
    mask_batches,
    reference_aupro,
    reference_labels,
    reference_pro,
    reference_pro_curve,
    reference_trapezoid,
    synthetic_dataset,
)

GOLDEN = Path(__file__).resolve().parent / "data" / "golden-anomalib-2.7.0.json"
CASES = [c for c in json.loads(GOLDEN.read_text())["cases"] if c["metric"] in ("AUPRO", "PRO")]

# Values for the cases where anomalib is wrong and the golden file gives no number to reproduce:
# its CPU labelling drops an all-foreground image's region. Both are derived in the file's own
# comments (an independent float64 computation, and a hand count) and checked here against
# the reference of anomaly_metrics.testing too.
CORRECTED = {"aupro-all-foreground-image": 0.390946502, "pro-all-foreground-image": 11 / 18}


# ---------------------------------------------------------------------------------------------
# strategies


@st.composite
def pro_problems(draw, defined=True):
    """(maps, masks, dtype) with heavy ties; at least one region and one background pixel."""
    masks = draw(mask_batches(max_images=4, max_side=14))
    if defined:
        assume(masks.size >= 2)
        flat = masks.reshape(-1)
        if flat.all():
            flat[-1] = False
        if not flat.any():
            flat[0] = True
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    style = draw(st.sampled_from(("ties", "heavy-ties", "continuous", "all-equal", "integers")))
    shape = masks.shape
    if style == "ties":
        maps = rng.integers(0, 16, shape) / 16.0
    elif style == "heavy-ties":
        maps = rng.integers(0, draw(st.integers(1, 4)), shape) / 4.0
    elif style == "continuous":
        maps = rng.normal(size=shape) + 1.5 * masks
    elif style == "all-equal":
        maps = np.full(shape, 0.25)
    else:
        maps = rng.integers(-3, 4, shape).astype(np.float64)
    dtype = draw(st.sampled_from((np.float64, np.float32, np.int64)))
    if dtype is np.int64:
        maps = np.round(maps * 16)
    return maps.astype(dtype), masks


LIMITS = st.one_of(
    st.sampled_from((0.3, 1.0, 0.05, 0.5, 1 / 3, 0.1)),
    st.floats(1e-3, 1.0, allow_nan=False),
)


# ---------------------------------------------------------------------------------------------
# the slow reference


@settings(max_examples=250, deadline=None)
@given(pro_problems(), LIMITS)
def test_aupro_matches_reference(problem, limit):
    maps, masks = problem
    assert am.aupro(maps, masks, fpr_limit=limit) == pytest.approx(
        reference_aupro(maps, masks, limit), abs=1e-9
    )


def _ref_cut_curve(maps, masks, limit):
    fpr, pro, thr = reference_pro_curve(maps, masks)
    stop = int(np.searchsorted(fpr, limit, side="right"))
    if stop < fpr.size and fpr[stop - 1] < limit:
        y = pro[stop - 1] + (pro[stop] - pro[stop - 1]) * (limit - fpr[stop - 1]) / (
            fpr[stop] - fpr[stop - 1]
        )
        return (
            np.append(fpr[:stop], limit),
            np.append(pro[:stop], y),
            np.append(thr[:stop], thr[stop]),
        )
    return fpr[:stop], pro[:stop], thr[:stop]


@settings(max_examples=150, deadline=None)
@given(pro_problems(), LIMITS)
def test_pro_curve_matches_reference_and_integrates_to_aupro(problem, limit):
    maps, masks = problem
    curve = am.pro_curve(maps, masks, fpr_limit=limit)
    assert isinstance(curve, am.ProCurve)
    fpr, pro, thr = _ref_cut_curve(maps, masks, limit)
    np.testing.assert_array_equal(curve.thresholds, thr)
    np.testing.assert_allclose(curve.fpr, fpr, rtol=0, atol=1e-12)
    np.testing.assert_allclose(curve.pro, pro, rtol=0, atol=1e-12)
    assert curve.fpr[0] == 0.0 and curve.pro[0] == 0.0 and curve.thresholds[0] == np.inf
    assert curve.fpr[-1] <= limit
    assert np.all(np.diff(curve.fpr) >= 0) and np.all(np.diff(curve.pro) >= -1e-15)
    assert all(a.dtype == np.float64 for a in curve)
    assert am.auc(curve.fpr, curve.pro) / limit == pytest.approx(
        am.aupro(maps, masks, fpr_limit=limit), abs=1e-12
    )


@settings(max_examples=150, deadline=None)
@given(pro_problems(), st.data())
def test_pro_matches_reference(problem, data):
    maps, masks = problem
    candidates = [*np.unique(maps).tolist(), -1e9, 1e9, 0.5]
    threshold = data.draw(st.sampled_from(candidates))
    assert am.pro(maps, masks, threshold) == pytest.approx(
        reference_pro(maps, masks, threshold), abs=1e-12
    )


def test_reference_agrees_with_the_library_on_a_large_threaded_batch():
    # 64 x 256 x 256 pixels: the labelling and the background counting run on threads, and the
    # background floor skips most pixels
    maps, masks = synthetic_dataset(64, 256, 256, seed=11)
    flat_maps, flat_masks = maps.reshape(-1), masks.reshape(-1)
    n_bg = int(flat_masks.size - flat_masks.sum())
    assert _pro._background_floor(flat_maps, flat_masks, n_bg, 0.3) is not None
    fpr, pro, thr = reference_pro_curve(maps, masks)
    for limit in (0.3, 0.05, 1.0):
        assert am.aupro(maps, masks, fpr_limit=limit) == pytest.approx(
            reference_trapezoid(fpr, pro, limit) / limit, abs=1e-9
        )
    curve = am.pro_curve(maps, masks, fpr_limit=0.01)
    stop = int(np.searchsorted(fpr, 0.01, side="right"))
    assert curve.fpr.size == stop + 1  # plus the interpolated point
    np.testing.assert_array_equal(curve.thresholds[:stop], thr[:stop])
    np.testing.assert_allclose(curve.pro[:stop], pro[:stop], rtol=0, atol=1e-9)
    np.testing.assert_allclose(curve.fpr[:stop], fpr[:stop], rtol=0, atol=0)
    threshold = float(np.quantile(maps[masks], 0.3))
    labels = reference_labels(
        masks
    )  # reference_pro's loop per region is too slow here: same, vectorised
    n = labels.max() + 1
    hits = np.bincount(labels[maps >= threshold], minlength=n)[1:]
    expected = np.mean(hits / np.bincount(labels.ravel(), minlength=n)[1:])
    assert am.pro(maps, masks, threshold) == pytest.approx(expected, abs=1e-12)


# ---------------------------------------------------------------------------------------------
# the background floor (AU-PRO locates only the pixels above it)


@settings(max_examples=100, deadline=None)
@given(pro_problems(), LIMITS, st.integers(1, 64))
def test_background_floor_is_verified_and_exact(problem, limit, sample_size):
    maps, masks = problem
    checked, m = maps.reshape(-1).astype(np.float64), masks.reshape(-1)
    n_bg = int(m.size - m.sum())
    floor = _pro._background_floor(checked, m, n_bg, limit, sample_size=sample_size)
    if floor is not None:
        assert np.count_nonzero(checked[~m] >= floor) > limit * n_bg
    st_ = _pro._pro_statistics(maps.astype(np.float64), masks)
    weights = 1.0 / st_.sizes[st_.ids]
    full = _binary_counts(st_.scores, st_.in_region, pos_weights=weights)
    cut = _binary_counts(st_.scores, st_.in_region, pos_weights=weights, min_threshold=floor)
    n_regions = st_.sizes.size
    assert _pro._aupro_from_counts(cut, n_regions, limit) == pytest.approx(
        _pro._aupro_from_counts(full, n_regions, limit), abs=1e-12
    )


def test_background_floor_falls_back_when_the_sample_misleads():
    # every sampled background pixel is high, the others low: the guess fails verification
    scores = np.zeros(1000)
    scores[::10] = 1.0
    in_region = np.zeros(1000, bool)
    assert _pro._background_floor(scores, in_region, 1000, 0.3, sample_size=100) is None
    assert _pro._background_floor(scores, in_region, 1000, 1.0) is None
    floor = _pro._background_floor(scores, in_region, 1000, 0.05, sample_size=100)
    assert floor == 1.0  # 100 pixels >= 1.0 > 0.05 * 1000


@settings(max_examples=100, deadline=None)
@given(pro_problems(), LIMITS, st.integers(1, 64))
def test_levels_for_cut_check_the_unverified_floor(problem, limit, sample_size):
    # AU-PRO counts with an unverified floor and checks the counts instead: whatever the
    # sample (tiny samples mislead often), the area equals the one from counting every pixel
    maps, masks = problem
    st_ = _pro._pro_statistics(maps.astype(np.float64), masks)
    weights = 1.0 / st_.sizes[st_.ids]
    full = _binary_counts(st_.scores, st_.in_region, pos_weights=weights)
    guess = _pro._background_floor
    with mock.patch.object(
        _pro, "_background_floor", lambda *a, **k: guess(*a, **{**k, "sample_size": sample_size})
    ):
        lv = _pro._levels_for_cut(st_.scores, st_.in_region, weights, st_.n_background, limit)
    n_regions = st_.sizes.size
    assert _pro._areas_from_levels(lv, n_regions, (limit,))[0] == pytest.approx(
        _pro._aupro_from_counts(full, n_regions, limit), abs=1e-12
    )


def test_a_floor_too_high_is_caught_by_the_counts(monkeypatch):
    # a sample that puts the floor above the cut (here: above every score): the counts made
    # with it show that the curve does not reach fpr_limit above it, and all pixels are counted
    rng = np.random.default_rng(3)
    maps = rng.random((4, 16, 16))
    masks = np.zeros((4, 16, 16), bool)
    masks[:, 4:9, 5:11] = True
    maps[masks] += 0.3
    expected = reference_aupro(maps, masks, 0.3)
    calls = []

    def misleading(*args, **kwargs):
        calls.append(kwargs.get("verify", True))
        return float(maps.max())

    monkeypatch.setattr(_pro, "_background_floor", misleading)
    assert am.aupro(maps, masks, fpr_limit=0.3) == pytest.approx(expected, abs=1e-12)
    assert calls == [False]
    channels = [masks[i : i + 1] for i in range(4)]  # one channel per region: AU-sPRO = AU-PRO
    assert am.auspro(maps, channels, fpr_limit=0.3) == pytest.approx(expected, abs=1e-12)
    assert calls == [False, False]


# ---------------------------------------------------------------------------------------------
# golden cases (anomalib 2.7.0; deliberate differences use our intended value)


def _golden_inputs(case):
    maps_field = "pred_mask" if "pred_mask" in case["fields"] else "anomaly_map"
    maps = np.concatenate(
        [np.asarray(b[maps_field], dtype=case["dtypes"][maps_field]) for b in case["batches"]]
    )
    masks = np.concatenate(
        [np.asarray(b["gt_mask"], dtype=case["dtypes"]["gt_mask"]) for b in case["batches"]]
    )
    return maps, masks


def _golden_expected(case):
    if case["id"] in CORRECTED:
        return CORRECTED[case["id"]]
    diff = case.get("deliberate_difference")
    if diff is not None:
        value = diff["reimpl_expected"]
        return math.nan if value == "nan" else value
    return case["expected"]


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_golden(case):
    maps, masks = _golden_inputs(case)
    expected = _golden_expected(case)
    fn = am.aupro if case["metric"] == "AUPRO" else am.pro
    if math.isnan(expected):
        with pytest.warns(am.UndefinedMetricWarning, match="No defect regions"):
            assert math.isnan(fn(maps, masks, **case["kwargs"]))
        return
    got = fn(maps, masks, **case["kwargs"])
    # anomalib computes in float32 (and rounds fpr_limit to float32)
    assert got == pytest.approx(expected, abs=2e-6 if case["metric"] == "AUPRO" else 1e-7)
    if case["metric"] == "AUPRO":
        assert got == pytest.approx(
            reference_aupro(maps, masks, case["kwargs"]["fpr_limit"]), abs=1e-12
        )
    else:
        assert got == pytest.approx(
            reference_pro(maps, masks, case["kwargs"].get("threshold", 0.5))
        )


@pytest.mark.parametrize(
    ("limit", "expected"),
    [(0.3, 0.0), (0.5, 1 / 3), (1.0, 2 / 3), (1 / 3, 0.0), (0.6, 4 / 9)],
)
def test_two_by_two_hand_values(limit, expected):
    # anomalib-behaviour.md 8.5: curve (0,0), (1/3,0), (1/3,1), (2/3,1), (1,1)
    maps = np.array([[0.5, 0.9], [0.2, 0.1]], np.float32)
    masks = np.array([[1, 0], [0, 0]])
    assert am.aupro(maps, masks, fpr_limit=limit) == pytest.approx(expected, abs=1e-15)


def test_two_by_two_exact_hit_keeps_the_vertical_jump():
    maps = np.array([[0.5, 0.9], [0.2, 0.1]])
    masks = np.array([[1, 0], [0, 0]])
    curve = am.pro_curve(maps, masks, fpr_limit=1 / 3)
    assert curve.fpr.tolist() == [0.0, 1 / 3, 1 / 3]
    assert curve.pro.tolist() == [0.0, 0.0, 1.0]
    assert curve.thresholds.tolist() == [np.inf, 0.9, 0.5]
    cut = am.pro_curve(maps, masks, fpr_limit=0.3)
    assert cut.fpr.tolist() == [0.0, 0.3] and cut.pro.tolist() == [0.0, 0.0]
    assert cut.thresholds.tolist() == [np.inf, 0.9]


def test_ties_across_region_and_background_curve():
    # anomalib-behaviour.md 20.11: fpr [0, 1/6, 1/2, 5/6, 1], pro [0, 0.5, 1, 1, 1]
    maps = np.array([[[0.8, 0.5, 0.5, 0.5], [0.2, 0.2, 0.1, 0.8]]])
    masks = np.array([[[1, 1, 0, 0], [0, 0, 0, 0]]])
    curve = am.pro_curve(maps, masks, fpr_limit=1.0)
    np.testing.assert_allclose(curve.fpr, [0, 1 / 6, 1 / 2, 5 / 6, 1], rtol=0, atol=1e-15)
    np.testing.assert_allclose(curve.pro, [0, 0.5, 1, 1, 1], rtol=0, atol=1e-15)
    assert curve.thresholds.tolist() == [np.inf, 0.8, 0.5, 0.2, 0.1]
    cut = am.pro_curve(maps, masks)  # interpolated end (0.3, 0.7) inside the 0.5 tie group
    assert cut.fpr[-1] == 0.3 and cut.pro[-1] == pytest.approx(0.7, abs=1e-15)
    assert cut.thresholds[-1] == 0.5
    assert am.aupro(maps, masks) == pytest.approx(0.40555555555555556, abs=1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_stripes_400_by_7(dtype):
    # anomalib's test_aupro cases; exact values 1/6 - 1/960000, 1/6 - 1/1920000, 1/6 - 1/1536000
    # (anomalib 2.7.0: 0.16666561, 0.16666615, 0.16666602 in float32)
    preds = (np.arange(2800, dtype=dtype) / dtype(2800)).reshape(1, 1, 400, 7)
    one = np.zeros((1, 1, 400, 7), bool)
    one[..., 3] = True
    three = np.zeros((1, 1, 400, 7), bool)
    three[..., [1, 3, 5]] = True
    both = (np.concatenate([preds, preds]), np.concatenate([one, three]))
    for (maps, masks), exact, anomalib in [
        ((preds, one), 1 / 6 - 1 / 960_000, 0.16666561),
        ((preds, three), 1 / 6 - 1 / 1_920_000, 0.16666615),
        (both, 1 / 6 - 1 / 1_536_000, 0.16666602),
    ]:
        got = am.aupro(maps, masks, fpr_limit=1 / 3)
        assert got == pytest.approx(exact, abs=1e-12)
        assert got == pytest.approx(anomalib, abs=1e-7)
        assert got == pytest.approx(1 / 6, abs=1e-3)  # anomalib's own tolerance


@pytest.mark.parametrize(
    ("threshold", "expected"),
    [(0.0, 1.0), (0.2, 0.8), (0.4, 0.6), (0.6, 0.4), (0.8, 0.2), (1.0, 0.0)],
)
def test_pro_table(threshold, expected):
    # anomalib test_pro: regions of sizes 1..5 on odd rows, row i scored i / 10 + 0.05
    masks = np.zeros((1, 10, 5), np.int32)
    for size, row in enumerate((1, 3, 5, 7, 9), start=1):
        masks[0, row, :size] = 1
    maps = (np.arange(10)[:, None] / 10 + 0.05) * np.ones((1, 10, 5))
    assert am.pro(maps.astype(np.float32), masks, threshold) == expected
    assert am.pro(maps, masks, threshold=threshold) == expected


def test_pro_uses_greater_or_equal():
    maps = np.array([[0.5, 0.6, 0.9], [0.1, 0.1, 0.1], [0.1, 0.5, 0.1]], np.float32)
    masks = np.array([[1, 1, 0], [0, 0, 0], [0, 1, 0]])
    assert am.pro(maps, masks, 0.5) == 1.0  # anomalib (score > t): 0.25
    assert am.pro(maps, masks, 0.49) == 1.0
    assert am.pro(maps, masks, 0.6) == 0.25  # region 1: 0.6 >= 0.6 counts
    assert am.pro(maps, masks, 0.6000001) == 0.0
    # compared in float64: a threshold just above float32(0.5) is not rounded down to it
    assert am.pro(maps, masks, 0.5 + 1e-12) == 0.25


# ---------------------------------------------------------------------------------------------
# invariances


@settings(max_examples=60, deadline=None)
@given(pro_problems(), LIMITS, st.integers(0, 2**32 - 1))
def test_invariant_to_increasing_transform_and_image_order(problem, limit, seed):
    maps, masks = problem
    maps = maps.astype(np.float64)
    value = am.aupro(maps, masks, fpr_limit=limit)
    # strictly increasing in float64 on these values (multiples of 1/16, small integers, normals)
    transformed = np.exp(maps / 4.0) * 3.0 + maps
    assert am.aupro(transformed, masks, fpr_limit=limit) == pytest.approx(value, abs=1e-12)
    order = np.random.default_rng(seed).permutation(maps.shape[0])
    assert am.aupro(maps[order], masks[order], fpr_limit=limit) == pytest.approx(value, abs=1e-12)
    t = float(np.median(maps))
    assert am.pro(maps[order], masks[order], t) == pytest.approx(am.pro(maps, masks, t), abs=1e-12)


def test_shapes_dtypes_and_list_inputs_agree():
    maps, masks = synthetic_dataset(6, 32, 32, seed=2)
    masks[0, 1:4, 1:4] = True
    value = am.aupro(maps, masks)
    assert isinstance(value, float)
    assert am.aupro(maps[:, None], masks[:, None]) == value
    assert am.aupro(maps.astype(np.float64), masks.astype(np.uint8)) == value
    assert am.aupro(maps.tolist(), masks.tolist()) == pytest.approx(value, abs=1e-12)
    assert am.aupro(maps[0], masks[0]) == pytest.approx(
        reference_aupro(maps[0], masks[0]), abs=1e-12
    )
    assert am.aupro(maps.astype(np.float16), masks) == pytest.approx(
        reference_aupro(maps.astype(np.float16), masks), abs=1e-9
    )
    assert isinstance(am.pro(maps, masks), float)


def test_evaluate_style_counts_give_the_same_aupro():
    # _evaluate shares one full count over all pixels between pixel AUROC and AU-PRO
    maps, masks = synthetic_dataset(8, 64, 64, seed=4)
    ids, sizes = _region_ids(masks)
    c = _binary_counts(maps.reshape(-1), masks.reshape(-1), pos_weights=1.0 / sizes[ids])
    for limit in (0.3, 1.0, 0.01):
        assert _pro._aupro_from_counts(c, sizes.size, limit) == pytest.approx(
            am.aupro(maps, masks, fpr_limit=limit), abs=1e-12
        )


def test_labels_match_connected_components():
    _, masks = synthetic_dataset(4, 48, 48, seed=9)
    ids, sizes = _region_ids(masks)
    labels = am.connected_components(masks)
    np.testing.assert_array_equal(ids + 1, labels[masks])
    np.testing.assert_array_equal(labels, reference_labels(masks))
    assert sizes.sum() == masks.sum()


def test_reference_trapezoid_follows_mvtec_rule():
    # the reference's own integrator: exact hit keeps the jump, otherwise interpolate
    x, y = [0.0, 1 / 3, 1 / 3, 2 / 3, 1.0], [0.0, 0.0, 1.0, 1.0, 1.0]
    assert reference_trapezoid(x, y, 1 / 3) == 0.0
    assert reference_trapezoid(x, y, 0.5) == pytest.approx(1 / 6)
    assert am.auc(x, y, x_max=0.5) == pytest.approx(1 / 6)


# ---------------------------------------------------------------------------------------------
# undefined and bad input


@pytest.mark.parametrize("fn", [am.aupro, am.pro])
def test_no_regions_is_nan_with_warning(fn):
    maps = np.random.default_rng(0).random((2, 4, 4))
    with pytest.warns(am.UndefinedMetricWarning, match="No defect regions") as record:
        assert math.isnan(fn(maps, np.zeros((2, 4, 4), bool)))
    assert record[0].filename == __file__  # points at the caller


def test_no_background_is_nan_with_warning():
    maps = np.random.default_rng(0).random((2, 4, 4))
    masks = np.ones((2, 4, 4), bool)
    with pytest.warns(am.UndefinedMetricWarning, match="No background pixels"):
        assert math.isnan(am.aupro(maps, masks))
    # PRO needs no background: all-foreground images are regions of their own
    assert am.pro(maps, masks, 0.0) == 1.0
    with pytest.warns(am.UndefinedMetricWarning, match="No background pixels"):
        curve = am.pro_curve(maps, masks)
    assert np.isnan(curve.fpr).all()  # 0 / 0, as roc_curve without negatives
    assert curve.pro[-1] == pytest.approx(1.0)
    assert curve.thresholds.size == np.unique(maps).size + 1  # not cut


def test_pro_curve_without_regions():
    maps = np.array([[0.1, 0.4], [0.3, 0.2]])
    with pytest.warns(am.UndefinedMetricWarning, match="No defect regions"):
        curve = am.pro_curve(maps, np.zeros((2, 2)), fpr_limit=0.5)
    np.testing.assert_allclose(curve.fpr, [0.0, 0.25, 0.5])
    assert np.isnan(curve.pro[1:]).all()
    assert curve.thresholds.tolist() == [np.inf, 0.4, 0.3]


def test_all_foreground_image_is_a_region():
    # anomalib's OpenCV path drops it (its pixels become background); here it is one region
    maps = np.array([[[0.9, 0.2], [0.1, 0.3]], [[0.5, 0.6], [0.7, 0.8]]])
    masks = np.array([[[1, 1], [1, 1]], [[0, 0], [0, 0]]])
    assert am.pro(maps, masks, 0.25) == 0.5
    assert am.aupro(maps, masks, fpr_limit=1.0) == pytest.approx(
        reference_aupro(maps, masks, 1.0), abs=1e-12
    )


@pytest.mark.parametrize("fn", [am.aupro, am.pro_curve, am.pro])
@pytest.mark.parametrize(
    ("maps", "masks", "kwargs", "exc", "fragment"),
    [
        (np.zeros((2, 3, 3)), np.full((2, 3, 3), 255), {}, ValueError, "`masks > 0`"),
        (np.zeros((2, 3, 3)), np.full((2, 3, 3), 2), {}, ValueError, "all 0 or 1"),
        (np.zeros((2, 3, 3)), np.zeros((2, 3, 4)), {}, ValueError, "must have the same shape"),
        (np.zeros((2, 2, 3, 3)), np.zeros((2, 2, 3, 3)), {}, ValueError, "(N, 1, H, W)"),
        (np.zeros(4), np.zeros(4), {}, ValueError, "must have shape (N, H, W)"),
        (np.full((1, 2, 2), np.nan), np.zeros((1, 2, 2)), {}, ValueError, "must be finite"),
        (np.zeros((0, 2, 2)), np.zeros((0, 2, 2)), {}, ValueError, "must not be empty"),
        (np.array([["a"]]), np.zeros((1, 1)), {}, TypeError, "`anomaly_maps` must hold real"),
        (np.zeros((1, 2, 2)), np.array([[["x", "y"]] * 2]), {}, TypeError, "`masks` must be"),
    ],
)
def test_input_errors(fn, maps, masks, kwargs, exc, fragment):
    with pytest.raises(exc) as info:
        fn(maps, masks, **kwargs)
    assert fragment in str(info.value)


@pytest.mark.parametrize("fn", [am.aupro, am.pro_curve])
@pytest.mark.parametrize(
    ("limit", "exc", "fragment"),
    [
        (0.0, ValueError, "`fpr_limit` must be in (0, 1]"),
        (-0.1, ValueError, "`fpr_limit` must be in (0, 1]"),
        (1.5, ValueError, "`fpr_limit` must be in (0, 1]"),
        (float("nan"), ValueError, "`fpr_limit` must be finite"),
        ("0.3", TypeError, "`fpr_limit` must be a real number"),
        (None, TypeError, "`fpr_limit` must be a real number"),
    ],
)
def test_fpr_limit_errors(fn, limit, exc, fragment):
    with pytest.raises(exc) as info:
        fn(np.zeros((1, 2, 2)), np.eye(2)[None], fpr_limit=limit)
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    ("threshold", "exc", "fragment"),
    [
        (float("inf"), ValueError, "`threshold` must be finite"),
        ("0.5", TypeError, "`threshold` must be a real number"),
        (np.array([0.5, 0.6]), TypeError, "`threshold` must be a real number"),
    ],
)
def test_threshold_errors(threshold, exc, fragment):
    with pytest.raises(exc) as info:
        am.pro(np.zeros((1, 2, 2)), np.eye(2)[None], threshold)
    assert fragment in str(info.value)


# ---------------------------------------------------------------------------------------------
# the batched PRO (the torch adapter's path): the same float as on the concatenation


def _pro_outcome(fn, *args):
    """A call's value (nan compared as nan) and warnings, or its exception type and message."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            value = fn(*args)
        except (ValueError, TypeError) as err:
            return ("raised", type(err), str(err))
    value = "nan" if math.isnan(value) else value
    return ("ok", value, [(w.category, str(w.message)) for w in caught])


@settings(max_examples=150, deadline=None)
@given(pro_problems(defined=False), st.data())
def test_batched_pro_equals_the_concatenation(problem, data):
    maps, masks = problem
    n = maps.shape[0]
    cuts = sorted(data.draw(st.sets(st.integers(1, n - 1), max_size=n - 1))) if n > 1 else []
    candidates = [*np.unique(maps).tolist(), -1e9, 1e9, 0.5]
    threshold = data.draw(st.sampled_from(candidates))
    got = _pro_outcome(_pro._pro_batches, np.split(maps, cuts), np.split(masks, cuts), threshold)
    assert got == _pro_outcome(am.pro, maps, masks, threshold)


def test_batched_pro_undefined_warns_like_pro():
    maps, masks = np.zeros((3, 4, 4)), np.zeros((3, 4, 4), bool)
    with pytest.warns(am.UndefinedMetricWarning, match="No defect regions"):
        assert math.isnan(_pro._pro_batches([maps[:1], maps[1:]], [masks[:1], masks[1:]], 0.5))


@pytest.mark.parametrize(
    ("maps", "masks"),
    [
        (np.zeros((3, 3, 3)), np.full((3, 3, 3), 255)),
        (np.zeros((3, 3, 3)), np.full((3, 3, 3), 2)),
        (np.zeros((3, 3, 3)), np.zeros((3, 3, 4))),
        (np.concatenate([np.zeros((2, 2, 2)), np.full((1, 2, 2), np.nan)]), np.zeros((3, 2, 2))),
        (np.full((3, 2, 2), np.inf), np.zeros((3, 2, 2))),
    ],
)
def test_batched_pro_errors_equal_the_single_array_errors(maps, masks):
    expected = _pro_outcome(am.pro, maps, masks, 0.5)
    assert expected[0] == "raised"
    got = _pro_outcome(_pro._pro_batches, np.array_split(maps, 3), np.array_split(masks, 3), 0.5)
    assert got == expected
    with pytest.raises(TypeError, match="`threshold` must be a real number"):
        _pro._pro_batches([maps], [masks], "0.5")


def test_batched_pro_in_worker_threads_equals_the_concatenation():
    rng = np.random.default_rng(5)
    maps = rng.random((40, 256, 256), dtype=np.float32)  # 2.6 M pixels: batches in threads
    masks = np.zeros(maps.shape, bool)
    for i in range(10, 40):
        for _ in range(3):
            r, c, h, w = rng.integers(0, 200, 2).tolist() + rng.integers(1, 40, 2).tolist()
            masks[i, r : r + h, c : c + w] = True
    maps[masks] += np.float32(0.3)
    cuts = [1, 7, 20, 32]
    got = _pro._pro_batches(np.split(maps, cuts), np.split(masks, cuts), 0.9)
    assert got == am.pro(maps, masks, 0.9)
    assert 0.0 < got < 1.0


# ---------------------------------------------------------------------------------------------
# the batched AU-PRO (the torch adapter's path): the same float as on the concatenation


@settings(max_examples=150, deadline=None)
@given(pro_problems(defined=False), st.data())
def test_batched_aupro_equals_the_concatenation(problem, data):
    maps, masks = problem
    n = maps.shape[0]
    cuts = sorted(data.draw(st.sets(st.integers(1, n - 1), max_size=n - 1))) if n > 1 else []
    limit = data.draw(st.sampled_from([0.3, 1.0, 0.05, 0.5]))
    got = _pro_outcome(_pro._aupro_batches, np.split(maps, cuts), np.split(masks, cuts), limit)
    assert got == _pro_outcome(lambda m, k, f: am.aupro(m, k, fpr_limit=f), maps, masks, limit)


def test_batched_aupro_on_large_threaded_batches_uses_the_same_floor(monkeypatch):
    # 48 x 256 x 256: the background floor is taken from the same strided sample as on the
    # concatenation, and the gap counting splits the batches across threads
    maps, masks = synthetic_dataset(48, 256, 256, seed=5)
    floors = []
    real_floor = _pro._background_floor

    def spy(*args, **kwargs):
        floors.append(real_floor(*args, **kwargs))
        return floors[-1]

    monkeypatch.setattr(_pro, "_background_floor", spy)
    single = am.aupro(maps, masks)
    batched = _pro._aupro_batches(np.array_split(maps, 5), np.array_split(masks, 5), 0.3)
    assert batched == single
    assert floors[0] is not None and floors[0] == floors[1]


@pytest.mark.parametrize(
    ("maps", "masks"),
    [
        (np.zeros((3, 3, 3)), np.full((3, 3, 3), 255)),
        (np.concatenate([np.zeros((2, 2, 2)), np.full((1, 2, 2), np.nan)]), np.zeros((3, 2, 2))),
    ],
)
def test_batched_aupro_errors_equal_the_single_array_errors(maps, masks):
    expected = _pro_outcome(am.aupro, maps, masks)
    assert expected[0] == "raised"
    got = _pro_outcome(_pro._aupro_batches, np.array_split(maps, 3), np.array_split(masks, 3), 0.3)
    assert got == expected
    with pytest.raises(ValueError, match="`fpr_limit` must be in"):
        _pro._aupro_batches([maps], [masks], 0.0)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_packed_key_order_is_the_stable_argsort(data):
    # AU-PRO sorts its weighted positives by packed float32 keys: the same order as a stable
    # argsort, signed zeros, ties, denormals and huge values included
    from anomaly_metrics._levels import _stable_order

    specials = np.array([-3e38, -1e30, -1.0, -0.0, 0.0, 1e-45, -1e-45, 0.5, 3e38], np.float32)
    n = data.draw(st.integers(1, 400))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    values = np.where(
        rng.random(n) < 0.5, rng.choice(specials, n), rng.normal(size=n).astype(np.float32)
    )
    assert np.array_equal(_stable_order(values), np.argsort(values, kind="stable"))
    wide = values.astype(np.float64)  # other dtypes take the argsort itself
    assert np.array_equal(_stable_order(wide), np.argsort(wide, kind="stable"))


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_weighted_float32_levels_equal_the_stable_merge(data):
    # AU-PRO's weighted float32 positives, extracted, floored and keyed in one pass and read from
    # the packed order: the distinct levels, counts and weight sums equal those of the stably
    # sorted kept positives merged plainly, bit for bit, whatever the chunking
    from anomaly_metrics._levels import (
        UnitWeights,
        _merge_distinct_kernel,
        _weighted_float32_levels,
        as_unit_weights,
    )

    specials = np.array([-1.0, -0.0, 0.0, 1e-45, 0.25, 0.5, 3e38], np.float32)
    n = data.draw(st.integers(0, 300))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    values = np.where(
        rng.random(n) < 0.6, rng.choice(specials, n), rng.normal(size=n).astype(np.float32)
    ).astype(np.float32)
    labels = rng.random(n) < data.draw(st.sampled_from([0.0, 0.1, 0.5, 0.97, 1.0]))
    n_pos = int(labels.sum())
    # per positive, or per unit (AU-PRO's regions): an index of each positive into a table
    region = rng.integers(0, 7, n_pos).astype(np.int32)
    table = 1.0 / rng.integers(1, 50, 7)
    by_unit = data.draw(st.booleans())
    weights = table[region] if by_unit else 1.0 / rng.integers(1, 50, n_pos)
    given_w = UnitWeights(region, table) if by_unit else weights
    floor = data.draw(st.sampled_from([None, -0.0, 0.25, float(rng.normal()), 1e39]))
    cuts = np.sort(rng.integers(0, n + 1, data.draw(st.integers(0, 3))))
    chunks = [(v, y) for v, y in zip(np.split(values, cuts), np.split(labels, cuts))]
    pos, w = values[labels], weights
    if floor is not None:
        kept = pos >= np.float64(floor)
        pos, w = pos[kept], w[kept]
    order = np.argsort(pos, kind="stable")
    u0, n0, w0, _ = _merge_distinct_kernel(pos[order], w[order], pos[:0])
    u1, n1, w1, n_kept = _weighted_float32_levels(chunks, as_unit_weights(given_w), n_pos, floor)
    assert n_kept == pos.size
    assert u1.tobytes() == u0.tobytes()  # signed zeros too: the first of each tie
    assert np.array_equal(n1, n0)
    assert w1.tobytes() == w0.tobytes()
