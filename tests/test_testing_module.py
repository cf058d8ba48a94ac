"""``anomaly_metrics.testing`` itself: lazy hypothesis, what the strategies draw, assertion messages."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st
from scipy import ndimage as ndi
from sklearn.metrics import roc_curve as sk_roc_curve

import anomaly_metrics as am
from anomaly_metrics.testing import (
    MAP_DTYPES,
    assert_curve_close,
    assert_metric_close,
    assert_per_image_close,
    assert_per_region_close,
    batches,
    fast_settings,
    maps_and_masks,
    mask_batches,
    reference_f1,
    reference_f1_curve,
    reference_pro,
    reference_region_overlaps,
    reference_roc_curve,
    scores_and_labels,
)

# the first example found is enough: no shrinking
FIND = settings(max_examples=2000, database=None, derandomize=True, phases=(Phase.generate,))


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)


# ---------------------------------------------------------------------------------------------
# imports


def test_hypothesis_is_imported_only_by_the_strategies_and_its_absence_says_what_to_install():
    done = _run(
        "import sys\n"
        "import anomaly_metrics, anomaly_metrics.testing as t\n"
        "assert 'hypothesis' not in sys.modules\n"
        "t.assert_metric_close(t.reference_auroc([0.2, 0.8], [0, 1]), 1.0)\n"
        "sys.modules['hypothesis'] = None  # as if not installed\n"
        "try:\n"
        "    from anomaly_metrics.testing import scores_and_labels\n"
        "except ImportError as error:\n"
        "    print(error)\n"
        "del sys.modules['hypothesis']\n"
        "from anomaly_metrics.testing import scores_and_labels\n"
        "assert 'hypothesis' in sys.modules\n"
    )
    assert done.returncode == 0, done.stderr
    assert 'pip install "anomaly-metrics[testing]"' in done.stdout


def test_unknown_attribute_is_an_attribute_error():
    import anomaly_metrics.testing as testing

    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = testing.nope
    assert "scores_and_labels" in dir(testing)


# ---------------------------------------------------------------------------------------------
# strategy arguments


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: scores_and_labels(min_size=0), "`min_size` must be an integer >= 1, got 0"),
        (lambda: scores_and_labels(min_size=5, max_size=2), "`max_size` must be >= `min_size`"),
        (lambda: scores_and_labels(dtypes=["complex64"]), "`dtypes` must be a non-empty subset"),
        (lambda: scores_and_labels(styles=["smooth"]), "`styles` must be a non-empty subset"),
        (lambda: scores_and_labels(label_kinds=[]), "`label_kinds` must be a non-empty subset"),
        (lambda: scores_and_labels(unit_interval=True), "`dtypes` must be float dtypes"),
        (lambda: maps_and_masks(max_side=0), "`max_side` must be an integer >= 1"),
        (lambda: maps_and_masks(region_shapes=["star"]), "`region_shapes` must be"),
        (lambda: maps_and_masks(max_regions=0), "`max_regions` must be an integer >= 1"),
        (
            lambda: maps_and_masks(max_images=1, require_normal=True, require_anomalous=True),
            "`max_images` must be >= 2",
        ),
        (lambda: mask_batches(kinds=["hexagon"]), "`kinds` must be a non-empty subset"),
        (lambda: batches(max_batches=0), "`max_batches` must be an integer >= 1"),
        (lambda: scores_and_labels(max_size=2.5), "`max_size` must be an integer"),
    ],
)
def test_bad_strategy_arguments_raise_value_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_batches_needs_a_strategy():
    with pytest.raises(TypeError, match="`data` must be a hypothesis strategy, got list"):
        batches([np.zeros(3)])


# ---------------------------------------------------------------------------------------------
# what the strategies draw: bounds hold, and the documented hard cases do come up


@fast_settings
@given(
    scores_and_labels(
        min_size=3,
        max_size=40,
        both_classes=True,
        unit_interval=True,
        dtypes=("float16", "float64"),
    )
)
def test_scores_and_labels_respect_their_bounds(problem):
    scores, labels = problem
    assert scores.shape == labels.shape and 3 <= scores.size <= 40
    assert scores.dtype in (np.float16, np.float64)
    assert np.all((scores >= 0) & (scores <= 1))
    assert labels.astype(bool).any() and not labels.astype(bool).all()


@pytest.mark.parametrize(
    "condition",
    [
        lambda s, y: np.unique(s).size == 1 and s.size > 3,  # all equal
        lambda s, y: s.size > 20 and np.unique(s).size < s.size / 4,  # heavy ties
        lambda s, y: not np.asarray(y, bool).any(),  # one class
        lambda s, y: s.dtype == np.float16,
        lambda s, y: s.dtype.kind == "i",
        lambda s, y: np.ptp(np.log10(np.abs(s[s != 0]) + 1e-300)) > 5 if np.any(s) else False,
    ],
    ids=["all-equal", "ties", "one-class", "float16", "ints", "heavy-tailed"],
)
def test_scores_and_labels_produce_the_documented_cases(condition):
    find(scores_and_labels(), lambda p: condition(*p), settings=FIND)


@fast_settings
@given(
    maps_and_masks(
        min_images=2,
        max_images=3,
        min_side=2,
        max_side=6,
        require_normal=True,
        require_anomalous=True,
        require_background=True,
    )
)
def test_maps_and_masks_respect_their_bounds_and_requirements(problem):
    maps, masks = problem
    assert maps.shape == masks.shape and masks.dtype == bool
    n, h, w = maps.shape
    assert 2 <= n <= 3 and 2 <= h <= 6 and 2 <= w <= 6
    assert maps.dtype.type in MAP_DTYPES and np.all(np.isfinite(maps))
    per_image = masks.reshape(n, -1).any(axis=1)
    assert per_image.any() and not per_image.all() and not masks.all()


def _labels(mask, connectivity):
    structure = ndi.generate_binary_structure(2, 2 if connectivity == 8 else 1)
    return ndi.label(mask, structure=structure)[1]


def _touches_border(m):
    return m[:, 0, :].any() or m[:, -1, :].any() or m[:, :, 0].any() or m[:, :, -1].any()


@pytest.mark.parametrize(
    "condition",
    [
        lambda maps, masks: maps.dtype == np.float16 and np.unique(maps).size < maps.size / 2,
        lambda maps, masks: masks.all() and masks.size > 4,  # full masks
        lambda maps, masks: not masks.any() and maps.shape[0] > 1,  # only normal images
        lambda maps, masks: masks.shape[1] > 4 and masks[0].sum() == 1,  # a single pixel
        # a region touching the border of an image with an interior
        lambda maps, masks: (
            min(masks.shape[1:]) >= 6 and _touches_border(masks) and masks.mean() < 0.3
        ),
        lambda maps, masks: np.abs(maps).max() > 100,  # heavy tails
        # a diagonal line: one 8-connected region, several 4-connected ones
        lambda maps, masks: _labels(masks[0], 8) == 1 and _labels(masks[0], 4) >= 3,
    ],
    ids=[
        "float16-ties",
        "full",
        "normal-only",
        "single-pixel",
        "border",
        "heavy-tailed",
        "diagonal",
    ],
)
def test_maps_and_masks_produce_the_documented_cases(condition):
    find(maps_and_masks(), lambda p: condition(*p), settings=FIND)


def _batch_classes(split):
    return [{bool(m.any()) for m in masks} for _, masks in split.batches]


@pytest.mark.parametrize(
    "condition",
    [
        lambda b: {False} in _batch_classes(b) and {True} in _batch_classes(b),
        lambda b: len(b.batches) == len(b.whole[0]) > 3,  # every batch of size 1
        lambda b: len(b.batches) == 1 and len(b.whole[0]) > 3,
    ],
    ids=["only-normal-and-only-anomalous", "singletons", "one-batch"],
)
def test_batches_produce_the_documented_cases(condition):
    find(batches(maps_and_masks(max_images=6, max_side=3)), condition, settings=FIND)


@fast_settings
@given(batches(scores_and_labels(max_size=30), max_batches=3))
def test_batches_cover_the_data_in_order(split):
    scores, labels = split.whole
    assert 1 <= len(split.batches) <= 3 and all(len(b[0]) > 0 for b in split.batches)
    assert np.array_equal(np.concatenate([b[0] for b in split.batches]), scores)
    assert np.array_equal(np.concatenate([b[1] for b in split.batches]), labels)


# ---------------------------------------------------------------------------------------------
# oracles that the rest of the suite does not already hold against the library


@fast_settings
@given(scores_and_labels(both_classes=True, max_size=60, dtypes=(np.float32, np.float64)))
def test_reference_roc_curve_matches_scikit_learn(problem):
    scores, labels = problem
    fpr, tpr, thr = sk_roc_curve(labels, scores.astype(np.float64), drop_intermediate=False)
    assert_curve_close((fpr, tpr, thr), reference_roc_curve(scores, labels), atol=1e-12)
    assert_curve_close(
        am.roc_curve(scores, labels), reference_roc_curve(scores, labels), atol=1e-12
    )


@fast_settings
@given(scores_and_labels(both_classes=True, max_size=60))
def test_reference_f1_curve_is_f1_at_each_distinct_score(problem):
    scores, labels = problem
    thresholds, f1 = reference_f1_curve(scores, labels)
    assert np.all(np.diff(thresholds) < 0)
    for t, f in zip(thresholds, f1):
        assert (
            f
            == reference_f1(scores, labels, t)
            == pytest.approx(am.f1_score(scores, labels, t), abs=1e-12)
        )


@fast_settings
@given(maps_and_masks(require_anomalous=True), st.floats(-2, 2))
def test_region_overlaps_average_to_pro(problem, threshold):
    maps, masks = problem
    overlaps = reference_region_overlaps(maps, masks, threshold)
    assert overlaps.size.sum() == masks.sum()
    assert np.all(masks[overlaps.image_index].reshape(len(overlaps.size), -1).any(axis=1))
    assert reference_pro(maps, masks, threshold) == pytest.approx(
        overlaps.overlap.mean(), abs=1e-15
    )


def test_oracles_refuse_undefined_inputs():
    from anomaly_metrics.testing import (
        reference_auroc,
        reference_labels,
        reference_pimo_curves,
        reference_pro_curve,
    )

    with pytest.raises(ValueError, match="both classes"):
        reference_auroc([0.1, 0.2], [1, 1])
    with pytest.raises(ValueError, match="at least one region and one background pixel"):
        reference_pro_curve(np.zeros((1, 2, 2)), np.zeros((1, 2, 2)))
    with pytest.raises(ValueError, match="at least one normal image"):
        reference_pimo_curves(np.zeros((1, 2, 2)), np.ones((1, 2, 2)), None)
    with pytest.raises(ValueError, match="`connectivity` must be 4 or 8, got 6"):
        reference_labels(np.zeros((1, 2, 2)), connectivity=6)
    with pytest.raises(ValueError, match="same shape"):
        reference_pro(np.zeros((1, 2, 2)), np.zeros((1, 2, 3)))


# ---------------------------------------------------------------------------------------------
# assertions: they pass on equal results and name the place where results part


def test_assert_metric_close_tolerances_nan_and_tensors():
    assert_metric_close(torch.tensor(0.5), 0.5 + 1e-12)
    assert_metric_close(float("nan"), np.nan)
    with pytest.raises(AssertionError, match=r"AUROC: candidate nan, reference 0\.5"):
        assert_metric_close(float("nan"), 0.5, name="AUROC")
    with pytest.raises(AssertionError, match="candidate nan"):
        assert_metric_close(float("nan"), np.nan, equal_nan=False)
    assert_metric_close(0.51, 0.5, atol=0.02)
    assert_metric_close(101.0, 100.0, atol=0, rtol=0.011)
    with pytest.raises(AssertionError, match=r"difference 0.01 > allowed 0.001"):
        assert_metric_close(0.51, 0.5, atol=1e-3, rtol=0)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: assert_metric_close([0.1, 0.2], 0.1), ValueError, "must be scalars"),
        (
            lambda: assert_metric_close(0.1, 0.1, atol=-1),
            ValueError,
            "`atol` must be a number >= 0",
        ),
        (lambda: assert_per_image_close([0.1], [0.1], rtol="x"), ValueError, "`rtol`"),
        (
            lambda: assert_curve_close(np.zeros(3), (np.zeros(3),)),
            TypeError,
            "NamedTuple or a sequence",
        ),
    ],
)
def test_assertion_argument_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_assert_per_image_close_names_the_first_image_and_the_others():
    reference = np.array([np.nan, 0.5, 0.25, 0.75, 1.0])
    candidate = np.array([np.nan, 0.5, 0.3, 0.75, 0.9])
    with pytest.raises(
        AssertionError, match=r"differs at 2 of 5 images; first at image 2: .*; also at 4$"
    ):
        assert_per_image_close(candidate, reference)
    with pytest.raises(AssertionError, match="candidate has 4 images, reference 5 images"):
        assert_per_image_close(candidate[:4], reference)


def test_assert_per_region_close_names_region_image_and_size():
    maps = np.array([[[0.9, 0.0], [0.0, 0.0]], [[0.0, 0.9], [0.0, 0.6]]])
    masks = np.array([[[1, 0], [0, 0]], [[0, 1], [0, 1]]])
    reference = reference_region_overlaps(maps, masks, 0.7)
    assert reference.overlap.tolist() == [1.0, 0.5]
    with pytest.raises(AssertionError, match=r"first at region 1 \(image 1, 2 pixels\)"):
        assert_per_region_close([1.0, 1.0], reference)
    with pytest.raises(AssertionError, match=r"first at region 1: candidate 1\.0, reference 0\.5"):
        assert_per_region_close([1.0, 1.0], reference.overlap)


def test_assert_curve_close_names_the_first_differing_point_and_threshold():
    scores, labels = np.array([0.1, 0.4, 0.4, 0.9, 0.7]), np.array([0, 0, 1, 1, 0])
    reference = reference_roc_curve(scores, labels)
    good = am.roc_curve(scores, labels)
    assert_curve_close(good, reference)
    bad = good._replace(tpr=good.tpr + np.array([0, 0, 0, 0.1, 0]))
    with pytest.raises(
        AssertionError, match=r"first differing point 3 \(reference threshold 0.4\): tpr candidate"
    ):
        assert_curve_close(bad, reference, name="ROC")
    short = am.RocCurve(*(a[[0, 1, 2, 4]] for a in good))
    with pytest.raises(
        AssertionError,
        match=r"4 points, reference 5; first differing point 3 \(reference threshold 0.4\)",
    ):
        assert_curve_close(short, reference)
    with pytest.raises(AssertionError, match="candidate has 2 arrays, reference 3"):
        assert_curve_close(good[:2], reference)


def test_assert_curve_close_on_pimo_curves_names_point_and_image():
    maps = np.array([[[0.1, 0.2]], [[0.3, 0.4]], [[0.15, 0.35]], [[0.2, 0.3]]])
    masks = np.array([[[0, 0]], [[0, 0]], [[1, 1]], [[1, 0]]])
    curves = am.pimo_curves(maps, masks, num_thresholds=None)
    assert_curve_close(curves, curves)
    tpr = curves.per_image_tpr.copy()
    tpr[3, 2] += 0.5
    with pytest.raises(
        AssertionError,
        match=r"first differing point 2 \(reference threshold .*\): per_image_tpr image 3:",
    ):
        assert_curve_close(curves._replace(per_image_tpr=tpr), curves, name="PIMO")
    classes = curves.image_classes.copy()
    classes[0] = 1
    with pytest.raises(AssertionError, match="`image_classes` differs at image 0"):
        assert_curve_close(curves._replace(image_classes=classes), curves)
