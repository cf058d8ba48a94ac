"""PIMO curves and AUPIMO: slow reference, golden anomalib 2.7.0 values, exact mode, errors."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import anomaly_metrics as am
from anomaly_metrics import _parallel, _pimo, _pimo_exact, _pimo_linspace
from anomaly_metrics.testing import reference_aupimo_exact as ref_aupimo_exact
from anomaly_metrics.testing import reference_aupimo_exact_from_curves as ref_exact_areas
from anomaly_metrics.testing import reference_aupimo_from_curves as ref_aupimo_from_curves
from anomaly_metrics.testing import reference_aupimo_linspace as ref_aupimo_linspace
from anomaly_metrics.testing import reference_linspace as ref_linspace
from anomaly_metrics.testing import reference_pimo_curves as ref_pimo_curves

GOLDEN = Path(__file__).resolve().parent / "data" / "golden-anomalib-2.7.0.json"
CASES = {c["id"]: c for c in json.loads(GOLDEN.read_text())["cases"]}


def _quiet(fn, *args, **kwargs):
    """Call ``fn`` with the linspace mode's advisory UserWarnings silenced."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="(Cannot compute|The AUPIMO may|The (lower|upp))")
        return fn(*args, **kwargs)


def _num(v):
    if isinstance(v, str):
        return {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}[v]
    if isinstance(v, list):
        return [_num(x) for x in v]
    return v


def _golden_inputs(case):
    maps = np.concatenate(
        [np.asarray(b["anomaly_map"], np.float32) for b in case["batches"]], axis=0
    )
    masks = np.concatenate([np.asarray(b["gt_mask"], np.int64) for b in case["batches"]], axis=0)
    return maps, masks


# ----------------------------------------------------------------------------------------------
# golden values (anomalib 2.7.0)


@pytest.mark.parametrize("case_id", ["pimo-construction-k3", "pimo-rand-k6"])
def test_golden_pimo(case_id):
    case = CASES[case_id]
    maps, masks = _golden_inputs(case)
    curves = am.pimo_curves(maps, masks, **case["kwargs"])
    exp = case["expected"]
    np.testing.assert_array_equal(curves.thresholds, np.float32(exp["thresholds"]))
    np.testing.assert_allclose(curves.shared_fpr, exp["shared_fpr"], rtol=1e-15)
    np.testing.assert_allclose(curves.per_image_tpr, _num(exp["per_image_tprs"]), rtol=1e-15)
    assert curves.image_classes.tolist() == exp["image_classes"]
    assert curves.image_classes.dtype == np.int32
    assert curves.thresholds.dtype == curves.shared_fpr.dtype == np.float64


@pytest.mark.parametrize(
    "case_id",
    [
        "aupimo-construction-0.1-1",
        "aupimo-construction-0.01-0.1",
        "aupimo-rand-k40-average",
    ],
)
def test_golden_aupimo_average(case_id):
    case = CASES[case_id]
    maps, masks = _golden_inputs(case)
    kwargs = dict(case["kwargs"])
    kwargs["fpr_bounds"] = tuple(kwargs["fpr_bounds"])
    with pytest.warns(UserWarning) as record:
        result = am.aupimo(maps, masks, **kwargs)
    assert any("Computation was forced!" in str(w.message) for w in record)
    assert result.mean == pytest.approx(case["expected"], abs=1e-12)


@pytest.mark.parametrize(
    "case_id", ["aupimo-construction-x10-batches-per-image", "aupimo-rand-k40"]
)
def test_golden_aupimo_full(case_id):
    case = CASES[case_id]
    maps, masks = _golden_inputs(case)
    kwargs = {k: v for k, v in case["kwargs"].items() if k != "return_average"}
    kwargs["fpr_bounds"] = tuple(kwargs["fpr_bounds"])
    result = _quiet(am.aupimo, maps, masks, **kwargs)
    curves = am.pimo_curves(maps, masks, num_thresholds=kwargs["num_thresholds"])
    pimo, exp = case["expected"]["pimo"], case["expected"]["aupimo"]
    np.testing.assert_array_equal(curves.thresholds, np.float32(pimo["thresholds"]))
    np.testing.assert_allclose(curves.shared_fpr, pimo["shared_fpr"], rtol=1e-15)
    np.testing.assert_allclose(curves.per_image_tpr, _num(pimo["per_image_tprs"]), rtol=1e-15)
    np.testing.assert_allclose(result.per_image, _num(exp["aupimos"]), rtol=1e-12)
    assert result.fpr_bounds == (exp["fpr_lower_bound"], exp["fpr_upper_bound"])
    assert result.num_points == exp["num_thresholds"]
    assert result.threshold_bounds == (exp["thresh_lower_bound"], exp["thresh_upper_bound"])
    # deliberate difference: anomalib's AUPIMOResult.image_classes is inverted
    fixed = case["deliberate_difference"]["reimpl_expected"]
    assert result.image_classes.tolist() == fixed["aupimo.image_classes"]
    assert int((result.image_classes == 0).sum()) == fixed["aupimo.num_normal_images"]


def test_golden_not_forced_raises():
    case = CASES["aupimo-not-forced"]
    maps, masks = _golden_inputs(case)
    kwargs = dict(case["kwargs"], fpr_bounds=tuple(case["kwargs"]["fpr_bounds"]))
    with pytest.raises(RuntimeError, match=case["expected"]["match"]):
        am.aupimo(maps, masks, **kwargs)


@pytest.mark.parametrize("num_thresholds", [3, None])
def test_golden_no_normal_image_is_nan(num_thresholds):
    # anomalib raises ValueError; the golden file flags nan as the intended convention (DESIGN.md:
    # no normal image is undefined): nan everywhere, one UndefinedMetricWarning
    case = CASES["aupimo-no-normal-image"]
    assert case["deliberate_difference"]["reimpl_expected"] == "nan"
    maps, masks = _golden_inputs(case)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = am.aupimo(
            maps, masks, fpr_bounds=(0.1, 1.0), num_thresholds=num_thresholds, force=True
        )
    assert [w.category for w in caught] == [am.UndefinedMetricWarning]
    assert "No normal image" in str(caught[0].message)
    assert math.isnan(result.mean) and np.isnan(result.per_image).all()
    assert result.per_image.shape == (2,) and result.num_points == 0
    assert all(math.isnan(t) for t in result.threshold_bounds)
    assert result.fpr_bounds == (0.1, 1.0)
    assert result.image_classes.tolist() == [1, 1]
    with pytest.warns(am.UndefinedMetricWarning, match="No normal image") as record:
        curves = am.pimo_curves(maps, masks, num_thresholds=num_thresholds)
    assert len(record) == 1
    k = 1 if num_thresholds is None else num_thresholds
    assert curves.thresholds.shape == curves.shared_fpr.shape == (k,)
    assert curves.per_image_tpr.shape == (2, k)
    assert np.isnan(curves.thresholds).all() and np.isnan(curves.shared_fpr).all()
    assert np.isnan(curves.per_image_tpr).all()
    assert curves.image_classes.tolist() == [1, 1]


# ----------------------------------------------------------------------------------------------
# anomalib's test_pimo.py construction (1 normal + 2 anomalous images of 1000 x 1000)


def _construction(scale: float):
    normal = np.ones(1_000_000, np.float32)
    for n in (100_000, 10_000, 1_000, 100, 10, 1):
        normal[:n] += 1
    normal = normal.reshape(1000, 1000) * np.float32(scale)
    maps = np.stack([normal, normal, normal])
    masks = np.zeros((3, 1000, 1000), bool)
    masks[1] = True
    masks[2].flat[:100_000] = True
    return maps, masks


@pytest.fixture(scope="module", params=[1.0, 10.0], ids=["x1", "x10"])
def construction(request):
    return request.param, *_construction(request.param)


def test_construction_pimo(construction):
    scale, maps, masks = construction
    curves = am.pimo_curves(maps, masks, num_thresholds=7)
    fpr = [1, 1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6]
    assert curves.thresholds.tolist() == [scale * v for v in range(1, 8)]
    np.testing.assert_allclose(curves.shared_fpr, fpr, rtol=1e-15)
    assert np.isnan(curves.per_image_tpr[0]).all()
    np.testing.assert_allclose(curves.per_image_tpr[1], fpr, rtol=1e-15)
    np.testing.assert_allclose(curves.per_image_tpr[2], np.minimum(np.array(fpr) * 10, 1))
    assert curves.image_classes.tolist() == [0, 1, 1]


CONSTRUCTION_AUPIMO = [
    # bounds, anom1, anom2, num_points, threshold bounds (x1), mean (anomalib's return_average)
    ((1e-1, 1.0), 0.55, 1.0, 2, (1.0, 2.0), 0.775),
    ((1e-3, 1e-1), 0.03025, 0.3025, 3, (2.0, 4.0), 0.166375),
    ((1e-5, 1e-4), 5.5e-5, 5.5e-4, 2, (5.0, 6.0), 3.025e-4),
]


@pytest.mark.parametrize(("bounds", "an1", "an2", "points", "thr", "mean"), CONSTRUCTION_AUPIMO)
def test_construction_aupimo(construction, bounds, an1, an2, points, thr, mean):
    scale, maps, masks = construction
    with pytest.warns(UserWarning) as record:
        result = am.aupimo(maps, masks, fpr_bounds=bounds, num_thresholds=7, force=True)
    messages = [str(w.message) for w in record]
    assert any("Computation was forced!" in m for m in messages)
    assert any("The AUPIMO may be inaccurate" in m for m in messages)
    assert np.isnan(result.per_image[0])
    np.testing.assert_allclose(result.per_image[1:], [an1, an2], rtol=1e-12)
    assert result.mean == pytest.approx(mean, rel=1e-12)
    assert result.num_points == points < 7
    assert result.fpr_bounds == bounds
    assert result.threshold_bounds == (thr[0] * scale, thr[1] * scale)
    assert maps.min() <= result.threshold_bounds[0] < result.threshold_bounds[1] <= maps.max()
    assert result.image_classes.tolist() == [0, 1, 1]
    # every distinct score is a threshold and the bounds are curve points: exact = linspace
    exact = am.aupimo(maps, masks, fpr_bounds=bounds, num_thresholds=None)
    np.testing.assert_allclose(exact.per_image, result.per_image, rtol=1e-12)
    assert exact.num_points == points
    assert exact.threshold_bounds == result.threshold_bounds


@pytest.mark.parametrize("bounds", [(1e-1, 1.0), (1e-3, 1e-2), (1e-5, 1e-4)])
def test_construction_too_few_points(construction, bounds):
    _, maps, masks = construction
    with pytest.raises(RuntimeError, match="doesn't have enough points"):
        am.aupimo(maps, masks, fpr_bounds=bounds, num_thresholds=10)
    with pytest.warns(UserWarning) as record:
        am.aupimo(maps, masks, fpr_bounds=bounds, num_thresholds=10, force=True)
    assert any("Computation was forced!" in str(w.message) for w in record)


@pytest.mark.parametrize("bounds", [(1e-1, 1.0), (1e-3, 1e-2), (1e-5, 1e-4)])
def test_construction_with_noise_default_thresholds(bounds):
    maps, masks = _construction(1.0)
    maps = maps * np.random.default_rng(42).uniform(1.0, 1.1, maps.shape).astype(np.float32)
    result = _quiet(am.aupimo, maps, masks, fpr_bounds=bounds)  # 300 000 thresholds, no force
    assert result.num_points > 30
    assert np.isnan(result.per_image[0]) and np.all(result.per_image[1:] >= 0)
    assert result.per_image[2] >= result.per_image[1]


# ----------------------------------------------------------------------------------------------
# anomalib's test_binary_classification_curve.py


def test_binary_classification_rates():
    pred = np.array([1, 2, 3, 4], np.float32)
    maps = np.stack([pred, pred])[:, None, :]  # (2, 1, 4)
    masks = np.array([[False] * 4, [False, False, True, True]])[:, None, :]
    for repeat in (1, 10):  # counts x10 give the same rates
        curves = am.pimo_curves(np.tile(maps, repeat), np.tile(masks, repeat), num_thresholds=4)
        assert curves.thresholds.tolist() == [1.0, 2.0, 3.0, 4.0]
        assert curves.shared_fpr.tolist() == [1.0, 0.75, 0.5, 0.25]
        assert curves.per_image_tpr[1].tolist() == [1.0, 1.0, 1.0, 0.5]
        assert np.isnan(curves.per_image_tpr[0]).all()


@pytest.mark.parametrize(
    ("scale", "norm_fp", "anom_fp", "anom_tp"),
    [
        (1.0, [4, 3, 2, 1], [2, 1, 0, 0], [2, 2, 2, 1]),
        (10.0, [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]),  # thresholds above every score
        (0.001, [4, 4, 4, 4], [2, 2, 2, 2], [2, 2, 2, 2]),  # thresholds below every score
    ],
)
def test_binary_classification_counts(scale, norm_fp, anom_fp, anom_tp):
    """The counting kernel at given thresholds: anomalib's [[TN, FP], [FN, TP]] table."""
    pred = np.array([1, 2, 3, 4], np.float32)
    gt = np.array([False, False, True, True])
    t = np.array([1, 2, 3, 4], np.float64) * scale
    inv_step = 3 / (t[-1] - t[0])

    def positives(scores, mask):
        """(false positives, true positives) at each threshold, from the per-image kernel."""
        rows, masks = scores[None], mask[None]
        tpr = np.zeros((1, 4))
        fp = np.zeros(4, np.int64)
        _pimo_linspace._pimo_rows_kernel(rows, masks, np.array([0]), t, t[0], inv_step, tpr, fp)
        if not mask.any():  # a normal row: false positives only
            return fp.tolist(), None
        return fp.tolist(), (tpr[0] * mask.sum()).round().astype(int).tolist()

    assert positives(pred, np.zeros(4, bool))[0] == norm_fp
    assert positives(pred[~gt], np.zeros(2, bool))[0] == anom_fp
    assert positives(pred, gt)[1] == anom_tp


# ----------------------------------------------------------------------------------------------
# the slow reference, on hypothesis inputs with ties


@st.composite
def pimo_problems(draw, max_images=5, max_side=5):
    n = draw(st.integers(2, max_images))
    h = draw(st.integers(1, max_side))
    w = draw(st.integers(1, max_side))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    style = draw(st.sampled_from(["ties", "grid", "continuous", "separated", "negative"]))
    shape = (n, h, w)
    if style == "ties":
        maps = rng.integers(0, draw(st.integers(2, 6)), shape) / 4.0
    elif style == "grid":
        maps = rng.integers(0, 5, shape).astype(np.float64)
    elif style == "continuous":
        maps = rng.random(shape)
    elif style == "separated":
        maps = rng.random(shape)
    else:
        maps = -rng.integers(1, 7, shape) * 0.375
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    classes = rng.random(n) < 0.5
    classes[0], classes[-1] = False, True
    masks = np.zeros(shape, bool)
    for i in np.flatnonzero(classes):
        masks[i] = rng.random((h, w)) < draw(st.sampled_from([0.2, 0.5, 1.0]))
        masks[i].flat[rng.integers(h * w)] = True
    if style == "separated":
        maps = maps + masks * 0.5
    return maps.astype(dtype), masks


def _has_spread(maps, masks):
    normal = maps[~masks.reshape(len(masks), -1).any(1)]
    return normal.max() > normal.min()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problem=pimo_problems(), k=st.integers(2, 40))
def test_pimo_curves_linspace_equals_reference(problem, k):
    maps, masks = problem
    # all normal scores equal: the reference's linspace is k copies of that score, as ours
    thresholds, shared, tpr, classes = ref_pimo_curves(maps, masks, k)
    curves = am.pimo_curves(maps, masks, num_thresholds=k)
    np.testing.assert_array_equal(curves.thresholds, thresholds)
    np.testing.assert_array_equal(curves.shared_fpr, shared)
    np.testing.assert_array_equal(curves.per_image_tpr, tpr)
    np.testing.assert_array_equal(curves.image_classes, classes)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problem=pimo_problems())
def test_pimo_curves_exact_equals_reference(problem):
    maps, masks = problem
    thresholds, shared, tpr, classes = ref_pimo_curves(maps, masks, None)
    curves = am.pimo_curves(maps, masks, num_thresholds=None)
    np.testing.assert_array_equal(curves.thresholds, thresholds)
    np.testing.assert_array_equal(curves.shared_fpr, shared)
    np.testing.assert_array_equal(curves.per_image_tpr, tpr)
    np.testing.assert_array_equal(curves.image_classes, classes)
    assert np.all(np.diff(curves.thresholds) > 0) and np.all(np.diff(curves.shared_fpr) <= 0)


def _draw_bounds(data, shared_fpr, *, on_points: bool):
    """FPR bounds within the reachable range: two curve points, or values between points."""
    reachable = np.unique(shared_fpr)
    if reachable.size < 2:
        return None
    pair = st.lists(st.integers(0, reachable.size - 1), min_size=2, max_size=2, unique=True)
    i, j = sorted(data.draw(pair))
    if on_points:
        return (float(reachable[i]), float(reachable[j]))
    lo = data.draw(st.floats(float(reachable[i]), float(reachable[i + 1]), exclude_max=True))
    hi = data.draw(
        st.floats(max(lo, float(reachable[j - 1])), float(reachable[j]), exclude_min=True)
    )
    return (lo, hi)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problem=pimo_problems(), k=st.integers(2, 40), data=st.data())
def test_aupimo_linspace_equals_reference(problem, k, data):
    maps, masks = problem
    if not _has_spread(maps, masks):  # shared FPR 1 at every threshold: no lower bound reachable
        with pytest.raises(ValueError, match="smallest shared FPR"):
            am.aupimo(maps, masks, fpr_bounds=(0.5, 1.0), num_thresholds=k, force=True)
        return
    _, shared, _, _ = ref_pimo_curves(maps, masks, k)
    bounds = _draw_bounds(data, shared, on_points=data.draw(st.booleans()))
    if bounds is None:
        return
    per_image, mean, points, thr = ref_aupimo_linspace(maps, masks, bounds, k)
    if points < 2:  # both bounds on one threshold
        with pytest.raises(RuntimeError, match="same threshold"):
            _quiet(am.aupimo, maps, masks, fpr_bounds=bounds, num_thresholds=k, force=True)
        return
    result = _quiet(am.aupimo, maps, masks, fpr_bounds=bounds, num_thresholds=k, force=True)
    np.testing.assert_allclose(result.per_image, per_image, rtol=0, atol=1e-9)
    assert result.mean == pytest.approx(mean, abs=1e-9)
    assert result.num_points == points
    assert result.threshold_bounds == thr


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problem=pimo_problems(), data=st.data())
def test_aupimo_exact_equals_brute_force(problem, data):
    maps, masks = problem
    _, shared, _, _ = ref_pimo_curves(maps, masks, None)
    on_points = data.draw(st.booleans())
    bounds = _draw_bounds(data, shared, on_points=on_points)
    if bounds is None:  # one distinct normal score: no lower bound is reachable
        with pytest.raises(ValueError, match="smallest shared FPR"):
            am.aupimo(maps, masks, fpr_bounds=(0.5, 1.0), num_thresholds=None)
        return
    per_image, mean = ref_aupimo_exact(maps, masks, bounds)
    result = am.aupimo(maps, masks, fpr_bounds=bounds, num_thresholds=None)
    np.testing.assert_allclose(result.per_image, per_image, rtol=0, atol=1e-9)
    assert result.mean == pytest.approx(mean, abs=1e-9)
    inside = np.unique(shared[(shared >= bounds[0]) & (shared <= bounds[1])]).size
    assert result.num_points == inside + (bounds[0] not in shared) + (bounds[1] not in shared)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problem=pimo_problems(), data=st.data())
def test_linspace_equals_exact_on_integer_grid_at_curve_points(problem, data):
    """Integer scores, one threshold per integer, bounds on curve points: the two agree."""
    maps, masks = problem
    maps = np.round(maps * 4).astype(np.float64)
    if not _has_spread(maps, masks):
        return
    normal = maps[~masks.reshape(len(masks), -1).any(1)]
    k = int(normal.max() - normal.min()) + 1
    exact_curve = am.pimo_curves(maps, masks, num_thresholds=None)
    bounds = _draw_bounds(data, exact_curve.shared_fpr, on_points=True)
    if bounds is None:
        return
    try:
        linspace = _quiet(am.aupimo, maps, masks, fpr_bounds=bounds, num_thresholds=k, force=True)
    except RuntimeError:  # both bounds on one threshold
        return
    exact = am.aupimo(maps, masks, fpr_bounds=bounds, num_thresholds=None)
    np.testing.assert_allclose(exact.per_image, linspace.per_image, rtol=0, atol=1e-12)
    # exact threshold bounds: the lowest normal score whose shared FPR is within each bound
    for thr, bound in zip(exact.threshold_bounds, bounds[::-1]):
        assert thr in normal
        assert np.count_nonzero(normal >= thr) / normal.size <= bound
        below = normal[normal < thr]
        assert below.size == 0 or np.count_nonzero(normal >= below.max()) / normal.size > bound


# ----------------------------------------------------------------------------------------------
# larger inputs: the restricted computations equal the full curves


def _blobs(n=24, side=64, seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    maps = rng.gamma(2.0, 0.1, (n, side, side))
    masks = np.zeros((n, side, side), bool)
    yy, xx = np.mgrid[:side, :side]
    for i in range(n // 3, n):
        cy, cx, r = rng.integers(8, side - 8), rng.integers(8, side - 8), rng.integers(2, 8)
        blob = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
        masks[i] = blob
        maps[i][blob] += rng.uniform(0.0, 1.5)
    return maps.astype(dtype), masks


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_linspace_aupimo_equals_trapezoid_of_full_curves(dtype):
    maps, masks = _blobs(dtype=dtype)
    bounds = (1e-4, 1e-2)
    result = _quiet(am.aupimo, maps, masks, fpr_bounds=bounds, force=True)
    curves = am.pimo_curves(maps, masks)
    fpr = curves.shared_fpr
    a = int(np.argmin(np.abs(fpr - bounds[1])))
    b = int(np.argmin(np.abs(fpr - bounds[0])))
    x = np.log(fpr[a : b + 1][::-1])
    for i in np.flatnonzero(curves.image_classes):
        area = np.trapezoid(curves.per_image_tpr[i, a : b + 1][::-1], x) / math.log(100)
        assert result.per_image[i] == pytest.approx(min(max(area, 0), 1), abs=1e-12)
    assert result.num_points == b - a + 1
    assert result.threshold_bounds == (curves.thresholds[a], curves.thresholds[b])


@st.composite
def medium_problems(draw):
    """A few images of up to 40 x 40 with ties or continuous scores, and a long threshold grid."""
    n = draw(st.integers(3, 8))
    side = draw(st.integers(8, 40))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    style = draw(st.sampled_from(["ties", "continuous", "tail"]))
    if style == "ties":
        maps = rng.integers(0, draw(st.integers(3, 60)), (n, side, side)) / 8.0
    elif style == "continuous":
        maps = rng.normal(size=(n, side, side))
    else:  # a few outliers stretch the range: the bounds fall in a short stretch of thresholds
        maps = rng.random((n, side, side))
        maps.flat[rng.integers(maps.size, size=3)] = rng.uniform(5, 50, 3)
    masks = np.zeros(maps.shape, bool)
    for i in range(n // 2, n):
        masks[i] = rng.random((side, side)) < draw(st.sampled_from([0.05, 0.3]))
        masks[i].flat[rng.integers(side * side)] = True
    maps = maps + masks * draw(st.sampled_from([0.0, 0.5, 2.0]))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    k = draw(st.sampled_from([100, 1000, 20_000, 300_000]))
    return maps.astype(dtype), masks, k


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problem=medium_problems(), data=st.data())
def test_aupimo_linspace_equals_rules_on_full_curves(problem, data):
    """The tail-only computation (coarse location, plateau start) equals the full curves'."""
    maps, masks, k = problem
    curves = am.pimo_curves(maps, masks, num_thresholds=k)
    bounds = _draw_bounds(data, curves.shared_fpr, on_points=data.draw(st.booleans()))
    if bounds is None:
        return
    per_image, points, thr = ref_aupimo_from_curves(curves, bounds)
    if points < 2:
        with pytest.raises(RuntimeError, match="same threshold"):
            _quiet(am.aupimo, maps, masks, fpr_bounds=bounds, num_thresholds=k, force=True)
        return
    result = _quiet(am.aupimo, maps, masks, fpr_bounds=bounds, num_thresholds=k, force=True)
    np.testing.assert_allclose(result.per_image, per_image, rtol=0, atol=1e-9)
    assert result.num_points == points
    assert result.threshold_bounds == thr


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_exact_aupimo_equals_brute_force_of_exact_curve(dtype):
    maps, masks = _blobs(seed=1, dtype=dtype)
    curves = am.pimo_curves(maps, masks, num_thresholds=None)
    for bounds in [(1e-4, 1e-2), (1e-3, 1.0), (float(curves.shared_fpr[-1]), 0.5)]:
        result = am.aupimo(maps, masks, fpr_bounds=bounds, num_thresholds=None)
        expected = ref_exact_areas(curves, bounds)
        np.testing.assert_allclose(result.per_image, expected, rtol=0, atol=1e-9)


def test_threads_give_the_same_results(monkeypatch):
    maps, masks = _blobs(n=40, side=256, seed=2)  # 2.6 M pixels: several worker threads
    bounds = (1e-5, 1e-4)

    def both():
        return [
            _quiet(am.aupimo, maps, masks, fpr_bounds=bounds, num_thresholds=k, force=True)
            for k in (300_000, None)
        ]

    threaded = both()
    monkeypatch.setattr(_parallel, "PIXELS_PER_WORKER", 1 << 40)
    single = both()
    for t, s in zip(threaded, single):
        np.testing.assert_array_equal(t.per_image, s.per_image)
        assert t.threshold_bounds == s.threshold_bounds and t.num_points == s.num_points


@pytest.mark.parametrize(
    "values",
    [
        # one radix bucket holds > 65 536 values: the selection refines digit by digit
        np.random.default_rng(3).uniform(1.0, 1.0078, 200_000).astype(np.float32),
        np.random.default_rng(4).uniform(1.0, 1.0 + 1e-9, 200_000),  # float64, 4 digits
        np.random.default_rng(5).integers(-3, 3, 200_000).astype(np.float32) * 0.0,  # +-0.0
        np.concatenate([np.full(150_000, -2.5), np.random.default_rng(6).normal(size=50_000)]),
    ],
    ids=["f32-narrow", "f64-narrow", "signed-zeros", "f64-mass-tie"],
)
@pytest.mark.parametrize("rank", [1, 7, 20_000, 199_999, 200_000])
def test_radix_selection_of_top_normal_scores(values, rank):
    maps = values.reshape(2, 100, 1000)
    masks = np.zeros(maps.shape, bool)
    prep = _pimo._prepare(np.concatenate([maps, maps[:1]]), np.concatenate([masks, ~masks[:1]]))
    levels, fp = _pimo_exact._top_normal_levels(prep, rank)
    desc = np.sort(values.astype(np.float64))[::-1]
    kth = desc[rank - 1]
    assert levels[0] <= kth
    distinct, counts = np.unique(desc + 0.0, return_counts=True)
    keep = distinct >= levels[0]
    np.testing.assert_array_equal(levels, distinct[keep])
    np.testing.assert_array_equal(fp, np.cumsum(counts[::-1])[::-1][keep])


@settings(max_examples=60, deadline=None)
@given(
    dtype=st.sampled_from([np.float32, np.float64]),
    scale=st.sampled_from([1e-30, 1e-3, 1.0, 500.0, 1e30]),
    signed=st.booleans(),
    ties=st.booleans(),
    seed=st.integers(0, 2**16),
    data=st.data(),
)
def test_prefix_histogram_and_first_counted_threshold(dtype, scale, signed, ties, seed, data):
    """The one-pass range + key-prefix histogram, and the threshold the exact count starts at:
    at least `rank` normal scores at or above it, and no threshold above the prefix's floor."""
    rng = np.random.default_rng(seed)
    n = 3000
    x = rng.standard_normal(n) if signed else rng.random(n)
    x = (np.round(x * 8) / 8 if ties else x) * scale
    maps = x.astype(dtype).reshape(3, 1000)
    hist = np.zeros(1 << 16, np.int64)
    lo, hi = _pimo_linspace._range_and_prefixes_kernel(maps, np.arange(3, dtype=np.int64), hist)
    v = np.sort(maps.ravel().astype(np.float64))
    assert (lo, hi) == (v[0], v[-1])
    assert hist.sum() == n
    # the floor of each value's prefix is at most the value; the values at or above the floor
    # of a prefix are those of that prefix and above (the histogram's suffix sums)
    occupied = np.flatnonzero(hist)
    floors = np.array([_pimo_linspace._prefix_floor(int(p), np.dtype(dtype)) for p in occupied])
    above = np.cumsum(hist[::-1])[::-1][occupied]
    for floor, count in zip(floors, above):
        assert np.count_nonzero(v >= floor) == count
    if not hi > lo:
        return
    rank = data.draw(st.integers(1, n))
    t = np.linspace(lo, hi, data.draw(st.integers(2, 500)))
    c = _pimo_linspace._first_counted_threshold(hist, rank, t, np.dtype(dtype))
    assert c == 0 or np.count_nonzero(v >= t[c]) >= rank
    # the floor of the highest prefix with `rank` values at or above it bounds t[c + 1] from below
    edge = floors[np.flatnonzero(above >= rank)[-1]]
    assert t[c] <= edge or c == 0
    assert c + 1 == t.size or t[c + 1] > edge


@settings(max_examples=100, deadline=None)
@given(
    m=st.integers(2, 60),
    tops=st.lists(st.integers(-1, 59), min_size=1, max_size=200),
    seed=st.integers(0, 2**16),
)
def test_trapezoid_weights_give_the_trapezoid_of_the_tpr_curve(m, tops, seed):
    """Summing each defect pixel's weight equals the trapezoid of TPR over ln(shared FPR),
    written from its definition: the pixels positive at each threshold, then np.trapezoid."""
    rng = np.random.default_rng(seed)
    log_fpr = np.sort(rng.uniform(-12, -9, m))[::-1].copy()  # descending with the threshold
    top = np.minimum(np.array(tops), m - 1)  # -1: below the range, adds nothing
    n = top.size
    tpr = np.array([np.count_nonzero(top >= j) for j in range(m)]) / n
    expected = np.trapezoid(tpr[::-1], log_fpr[::-1])
    w = _pimo_linspace._trapezoid_weights(log_fpr)
    got = w[top[top >= 0]].sum() / (2 * n)
    assert got == pytest.approx(expected, rel=1e-12, abs=1e-12)


# ----------------------------------------------------------------------------------------------
# invariances and dtypes


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problem=pimo_problems(), perm_seed=st.integers(0, 2**16))
def test_exact_aupimo_invariant_to_monotone_transform_and_image_order(problem, perm_seed):
    maps, masks = problem
    maps = maps.astype(np.float64)
    shared = am.pimo_curves(maps, masks, num_thresholds=None).shared_fpr
    lo = float(shared[-1])
    if lo >= 0.9:
        return
    bounds = (lo, 0.9)
    base = am.aupimo(maps, masks, fpr_bounds=bounds, num_thresholds=None)
    moved = am.aupimo(np.exp(maps) * 3 - 7, masks, fpr_bounds=bounds, num_thresholds=None)
    np.testing.assert_allclose(moved.per_image, base.per_image, rtol=0, atol=1e-12)
    perm = np.random.default_rng(perm_seed).permutation(len(maps))
    shuffled = am.aupimo(maps[perm], masks[perm], fpr_bounds=bounds, num_thresholds=None)
    np.testing.assert_allclose(shuffled.per_image, base.per_image[perm], rtol=0, atol=1e-12)


def test_input_forms_and_dtypes():
    maps, masks = _construction(1.0)
    maps, masks = maps[:, :100, :100], masks[:, :100, :100]
    kwargs = {"fpr_bounds": (1e-3, 1e-1), "num_thresholds": None}
    ref = am.aupimo(maps, masks, **kwargs)
    for m, k in [
        (maps[:, None], masks[:, None].astype(np.uint8)),
        (maps.astype(np.float16), masks.astype(np.float32)),
        (maps.astype(np.float64), masks.astype(np.int64)),
        (maps.tolist(), masks.tolist()),
    ]:
        np.testing.assert_array_equal(am.aupimo(m, k, **kwargs).per_image, ref.per_image)


def test_linspace_matches_reference_formula():
    for lo, hi, k in [(0.0, 0.6484375, 6), (-3.3, 17.1, 1000), (1.0, 1.0001, 333), (0, 1, 300_000)]:
        for dtype in (np.float32, np.float64):
            got = _pimo_linspace._linspace_thresholds(lo, hi, k, np.dtype(dtype))
            if k <= 1000:
                np.testing.assert_array_equal(got, ref_linspace(lo, hi, k, dtype))
            assert got[0] == dtype(lo) and got[-1] == dtype(hi)


# ----------------------------------------------------------------------------------------------
# errors


def _small():
    maps, masks = _construction(1.0)
    return maps[:, :10, :10].copy(), masks[:, :10, :10].copy()


def test_unreachable_lower_bound_message():
    maps, masks = _small()  # 100 normal pixels, one at the top score
    for k in (None, 1000):
        with pytest.raises(ValueError) as info:
            am.aupimo(maps, masks, fpr_bounds=(1e-3, 0.5), num_thresholds=k)
        message = str(info.value)
        assert "smallest shared FPR the data can reach, 0.01" in message
        assert "needs at least 1000 normal pixels" in message


# (aupimo keyword overrides, maps/masks transform, exception, message fragment, pimo_curves too)
ERRORS = [
    ({"num_thresholds": 1}, None, ValueError, "`num_thresholds` must be an int >= 2", True),
    ({"num_thresholds": 3.0}, None, TypeError, "`num_thresholds` must be an int", True),
    ({"num_thresholds": True}, None, TypeError, "`num_thresholds` must be an int", True),
    ({"fpr_bounds": (0.0, 0.1)}, None, ValueError, "`fpr_bounds[0]` (the lower FPR) must", False),
    ({"fpr_bounds": (0.1, 1.5)}, None, ValueError, "`fpr_bounds[1]` (the upper FPR) must", False),
    ({"fpr_bounds": (0.2, 0.1)}, None, ValueError, "must be increasing", False),
    ({"fpr_bounds": (0.1,)}, None, ValueError, "must be a pair", False),
    ({"fpr_bounds": 0.1}, None, TypeError, "must be a pair", False),
    ({"fpr_bounds": "ab"}, None, TypeError, "must be a pair", False),
    ({"fpr_bounds": (0.1, "x")}, None, TypeError, "`fpr_bounds[1]` must be a real number", False),
    ({"force": 1}, None, TypeError, "`force` must be a bool", False),
    ({}, lambda m, k: (m, k[:, :5]), ValueError, "must have the same shape", True),
    ({}, lambda m, k: (m[0, 0], k[0, 0]), ValueError, "must have shape (N, H, W)", True),
    ({}, lambda m, k: (m.astype(str), k), TypeError, "`anomaly_maps` must hold real", True),
    ({}, lambda m, k: (m, k * 255), ValueError, "pass `masks > 0`", True),
    ({}, lambda m, k: (np.where(k, np.nan, m), k), ValueError, "must be finite", True),
    # all scores equal: the shared FPR is 1 at every threshold, a lower bound the data cannot
    # reach (the curves are defined: test_degenerate.py)
    *(
        (
            {"num_thresholds": k},
            lambda m, k: (np.ones_like(m), k),
            ValueError,
            "smallest shared FPR the data can reach, 1 ",
            False,
        )
        for k in (None, 100)
    ),
    ({"num_thresholds": 10}, None, RuntimeError, "Try increasing `num_thresholds`", False),
    ({"fpr_bounds": (0.02, 0.05)}, None, RuntimeError, "fall on the same threshold", False),
    (
        {"num_thresholds": 300_000},
        lambda m, k: (m * np.float32(1e-3) + np.float32(1000), k),
        ValueError,
        "the thresholds are not strictly increasing",
        True,
    ),
]


@pytest.mark.parametrize(("kwargs", "transform", "exc", "fragment", "curves_too"), ERRORS)
def test_errors(kwargs, transform, exc, fragment, curves_too):
    maps, masks = _small()
    if transform is not None:
        maps, masks = transform(maps, masks)
    kwargs = {"fpr_bounds": (0.01, 0.1), "num_thresholds": 100, **kwargs}
    with pytest.raises(exc) as info:
        _quiet(am.aupimo, maps, masks, **kwargs)
    assert fragment in str(info.value)
    if curves_too:
        with pytest.raises(exc) as info:
            am.pimo_curves(maps, masks, num_thresholds=kwargs["num_thresholds"])
        assert fragment in str(info.value)


def test_low_point_count_warns_without_raising():
    maps, masks = _small()
    with pytest.warns(UserWarning, match="The AUPIMO may be inaccurate"):
        am.aupimo(maps, masks, fpr_bounds=(0.01, 0.1), num_thresholds=100)


def test_advisory_warnings_are_user_warnings_at_the_caller():
    maps, masks = _small()
    with pytest.warns(UserWarning) as record:
        am.aupimo(maps, masks, fpr_bounds=(0.01, 0.1), num_thresholds=40, force=True)
    messages = [str(w.message) for w in record]
    assert any("Computation was forced" in m for m in messages)
    assert any("The AUPIMO may be inaccurate" in m for m in messages)
    for w in record:
        assert w.category is UserWarning  # advice on a defined value, not "undefined"
        assert w.filename == __file__


def test_nearest_bound_far_warns():
    maps, masks = _small()
    with pytest.warns(UserWarning, match="lower bound of the shared FPR integration range"):
        result = am.aupimo(maps, masks, fpr_bounds=(0.03, 0.1), num_thresholds=1000)
    assert result.num_points > 30


# ----------------------------------------------------------------------------------------------
# the batched entry points (the torch adapter's path): bit-identical to the concatenation


def _split(arrays, cuts):
    """Split each array along axis 0 at the sorted positions ``cuts`` (a list of batches each)."""
    return [np.split(a, cuts) for a in arrays]


@st.composite
def batch_cuts(draw, n):
    return sorted(draw(st.sets(st.integers(1, n - 1), max_size=n - 1))) if n > 1 else []


def _outcome(fn, *args, **kwargs):
    """What a call gives: its result and warnings, or its exception type and message."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = fn(*args, **kwargs)
        except (ValueError, TypeError, RuntimeError) as err:
            return ("raised", type(err), str(err))
    return ("ok", result, [(w.category, str(w.message)) for w in caught])


def _assert_same_outcome(got, expected):
    assert got[0] == expected[0], (got, expected)
    if got[0] == "raised":
        assert got[1:] == expected[1:]
        return
    assert got[2] == expected[2]
    for a, b in zip(got[1], expected[1], strict=True):
        if isinstance(a, np.ndarray):
            assert a.dtype == b.dtype and a.shape == b.shape
            assert np.array_equal(a, b, equal_nan=True)
        elif isinstance(a, float) and math.isnan(a):
            assert math.isnan(b)
        else:
            assert a == b


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problem=medium_problems(), data=st.data())
def test_batched_aupimo_and_curves_equal_the_concatenation(problem, data):
    maps, masks, k = problem
    cuts = data.draw(batch_cuts(len(maps)))
    bmaps, bmasks = _split((maps, masks), cuts)
    bounds = data.draw(st.sampled_from([(1e-3, 1e-1), (1e-2, 0.5), (0.05, 1.0), (1e-5, 1e-4)]))
    # tiny chunks: the worker threads' image chunks straddle the batches
    with mock.patch.object(
        _parallel, "PIXELS_PER_WORKER", data.draw(st.sampled_from([1, 1 << 40]))
    ):
        for num in (k, None):
            kw = {"fpr_bounds": bounds, "num_thresholds": num, "force": True}
            _assert_same_outcome(
                _outcome(_pimo._aupimo_batches, bmaps, bmasks, **kw),
                _outcome(am.aupimo, maps, masks, **kw),
            )
        for num in (min(k, 2000), None):
            _assert_same_outcome(
                _outcome(_pimo._pimo_curves_batches, bmaps, bmasks, num_thresholds=num),
                _outcome(am.pimo_curves, maps, masks, num_thresholds=num),
            )


def test_batched_aupimo_on_threaded_blobs():
    maps, masks = _blobs(n=40, side=256, seed=2)  # several worker threads
    bmaps, bmasks = _split((maps, masks), [3, 4, 17, 32])
    for k in (300_000, None):
        kw = {"fpr_bounds": (1e-5, 1e-4), "num_thresholds": k, "force": True}
        _assert_same_outcome(
            _outcome(_pimo._aupimo_batches, bmaps, bmasks, **kw),
            _outcome(am.aupimo, maps, masks, **kw),
        )


def test_batched_mixed_dtypes_equal_the_concatenation():
    maps, masks = _blobs(n=12, side=32, seed=3, dtype=np.float64)
    parts = [maps[:4].astype(np.float32), maps[4:8], np.round(maps[8:] * 100).astype(np.int64)]
    bmasks = [masks[:4], masks[4:8].astype(np.uint8), masks[8:]]
    for k in (1000, None):
        kw = {"fpr_bounds": (1e-2, 1e-1), "num_thresholds": k, "force": True}
        _assert_same_outcome(
            _outcome(_pimo._aupimo_batches, parts, bmasks, **kw),
            _outcome(am.aupimo, np.concatenate(parts), np.concatenate(bmasks), **kw),
        )
    f32 = [maps[:6].astype(np.float32), maps[6:].astype(np.float32)]
    checked = _pimo._check_map_batches(f32, [masks[:6], masks[6:]])
    assert all(np.shares_memory(c[0], m) for c, m in zip(checked, f32))  # no copies


@pytest.mark.parametrize(("kwargs", "transform", "exc", "fragment", "curves_too"), ERRORS)
def test_batched_errors_equal_the_single_array_errors(kwargs, transform, exc, fragment, curves_too):
    maps, masks = _small()
    if transform is not None:
        maps, masks = transform(maps, masks)
    if maps.ndim == 3 and masks.ndim == 3:
        bmaps, bmasks = np.array_split(maps, 3), np.array_split(masks, 3)
    else:
        bmaps, bmasks = [maps], [masks]
    kwargs = {"fpr_bounds": (0.01, 0.1), "num_thresholds": 100, **kwargs}
    expected = _outcome(am.aupimo, maps, masks, **kwargs)
    assert expected[0] == "raised" and expected[1] is exc and fragment in expected[2]
    _assert_same_outcome(_outcome(_pimo._aupimo_batches, bmaps, bmasks, **kwargs), expected)
    if curves_too:
        _assert_same_outcome(
            _outcome(_pimo._pimo_curves_batches, bmaps, bmasks, num_thresholds=100),
            _outcome(am.pimo_curves, maps, masks, num_thresholds=100),
        )


def test_batched_nan_in_a_later_batch_reports_the_total_counts():
    maps, masks = _small()
    maps = maps.copy()
    maps[0, 0, 0] = np.nan
    maps[-1, 0, :2] = np.inf
    with pytest.raises(ValueError, match=r"got 1 NaN and 2 infinite value\(s\)"):
        _pimo._aupimo_batches(np.array_split(maps, 3), np.array_split(masks, 3))
