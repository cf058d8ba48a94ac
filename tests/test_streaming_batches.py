"""Streaming histograms accept any batch, and merging any split of a data set equals the whole.

A streaming state is fed whatever the loader yields: batches of normal images only (MVTec AD's
``test/good`` comes first in most loaders), of anomalous images only, single images, 1 x 1
images, masks that cover whole images. Every builder must accept such a batch, the merged
histograms of any split must equal the histogram of the whole set, and the finalised value must
hold the exact core value within its bound (or be nan with an ``UndefinedMetricWarning`` where
the metric is undefined for the whole set).
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import anomaly_metrics as am


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", am.UndefinedMetricWarning)
        return fn(*args, **kwargs)


# --------------------------------------------------------------------------------------------
# the reported crash and the degenerate batches, one by one


def test_pimo_histogram_of_normal_images_only():
    """The reported crash: a batch whose masks are all False (normal images only)."""
    rng = np.random.default_rng(0)
    maps = rng.random((3, 5, 7)).astype(np.float32)
    masks = np.zeros(maps.shape, bool)
    h = am.pimo_histogram(maps, masks, bits=12)
    assert h.num_normal == 3
    assert h.defect_bins.shape == (0,) and h.defect_bins.dtype == np.uint32
    assert h.defect_counts.shape == (0,) and h.defect_counts.dtype == np.int64
    np.testing.assert_array_equal(h.image_classes, [0, 0, 0])
    # the definition: sum over the normal images of the fraction of their pixels in each bin
    expected = sum(
        np.bincount(am.score_bins(m, bits=12).ravel(), minlength=2**12) / m.size for m in maps
    )
    np.testing.assert_allclose(h.normal_fpr, expected, rtol=1e-15)


@pytest.mark.parametrize(
    ("shape", "defect"),
    [
        ((4, 4), "none"),  # a single image, normal
        ((1, 1, 1), "none"),  # a single pixel, normal
        ((1, 1, 1), "all"),  # a single pixel, defect
        ((1, 1), "all"),  # (H, W) input of one pixel
        ((3, 1, 1), "alternate"),  # 1 x 1 images of both classes
        ((2, 1, 3, 3), "none"),  # (N, 1, H, W), normal
        ((3, 4, 5), "all"),  # masks covering every image
    ],
)
def test_every_builder_accepts_a_degenerate_batch(shape, defect):
    rng = np.random.default_rng(1)
    maps = rng.random(shape)
    if defect == "none":
        masks = np.zeros(shape, bool)
    elif defect == "all":
        masks = np.ones(shape, bool)
    else:
        masks = (np.arange(np.prod(shape)) % 2 == 1).reshape(shape)
    n_images = 1 if len(shape) == 2 else shape[0]
    per_image = masks.reshape(n_images, -1)
    anomalous = per_image.any(axis=1)
    r = am.ranking_histogram(maps, masks, bits=8)
    assert (r[0].sum(), r[1].sum()) == ((~masks).sum(), masks.sum())
    p = am.pro_histogram(maps, masks, bits=8)
    assert p.background.sum() == (~masks).sum()
    assert p.num_regions == int(anomalous.sum())  # one region per image here (full or 1 px)
    q = am.pimo_histogram(maps, masks, bits=8)
    assert q.num_normal == int((~anomalous).sum())
    np.testing.assert_array_equal(q.image_classes, anomalous.astype(np.int8))
    np.testing.assert_array_equal(q.defect_counts, per_image[anomalous].sum(axis=1))
    assert q.defect_bins.size == masks.sum()
    # merging such a batch with itself, and finalising, never raises
    for h, finalise in [
        (r, am.auroc_from_histogram),
        (r, am.aupr_from_histogram),
        (r, am.f1_max_from_histogram),
        (p, am.aupro_from_histogram),
        (q, lambda h: am.aupimo_from_histogram(h, fpr_bounds=(0.1, 1.0))),
    ]:
        _quiet(finalise, am.merge_histograms(h, h))


def test_aupimo_without_normal_or_anomalous_image_is_nan_with_a_warning():
    maps = np.random.default_rng(2).random((2, 4, 4))
    for masks, missing in [(np.zeros(maps.shape, bool), "anomalous"), (maps > -1, "normal")]:
        h = am.pimo_histogram(maps, masks)
        with pytest.warns(am.UndefinedMetricWarning, match=f"No {missing} image"):
            exact = am.aupimo(maps, masks, num_thresholds=None)  # undefined for the exact too
        assert np.isnan(exact.mean) and np.all(np.isnan(exact.per_image))
        with pytest.warns(am.UndefinedMetricWarning, match=f"No {missing} image"):
            got = am.aupimo_from_histogram(h)
        assert np.isnan(got.mean) and np.isnan(got.error_bound)
        assert got.per_image.shape == got.per_image_error_bound.shape == (2,)
        assert np.all(np.isnan(got.per_image)) and np.all(np.isnan(got.per_image_error_bound))
        np.testing.assert_array_equal(got.image_classes, h.image_classes)


# --------------------------------------------------------------------------------------------
# any split of a data set into batches


@st.composite
def split_data_sets(draw):
    """(maps, masks, cuts): 1-8 images of 1x1 to 5x6 pixels, each normal or anomalous, cut into
    consecutive batches of 1..N images (batches of one class only are common)."""
    n = draw(st.integers(1, 8))
    h = draw(st.integers(1, 5))
    w = draw(st.integers(1, 6))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if draw(st.booleans()):
        maps = rng.integers(0, draw(st.integers(1, 5)), (n, h, w)) / 4.0  # ties across classes
    else:
        maps = rng.normal(size=(n, h, w))
    classes = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    cover = draw(st.sampled_from((0.2, 0.6, 1.0)))
    masks = (rng.random((n, h, w)) < cover) & np.array(classes)[:, None, None]
    for i in np.flatnonzero(classes):  # an anomalous image has at least one defect pixel
        masks[i].flat[rng.integers(h * w)] = True
    maps = (maps + draw(st.floats(0.0, 2.0)) * masks).astype(
        draw(st.sampled_from((np.float32, np.float64)))
    )
    cuts = sorted(draw(st.sets(st.integers(1, n - 1), max_size=n - 1))) if n > 1 else []
    return maps, masks, [0, *cuts, n]


def _batches(maps, masks, cuts):
    return [(maps[a:b], masks[a:b]) for a, b in itertools.pairwise(cuts)]


@settings(max_examples=40, deadline=None)
@given(split_data_sets(), st.sampled_from((3, 8, 14)))
def test_any_split_merges_to_the_whole_and_the_bound_holds(data, bits):
    maps, masks, cuts = data
    batches = _batches(maps, masks, cuts)
    anomalous = masks.reshape(masks.shape[0], -1).any(axis=1)

    # ranking: merged parts, and the in-place accumulation, equal the whole exactly
    whole = am.ranking_histogram(maps, masks, bits=bits)
    parts = [am.ranking_histogram(m, k, bits=bits) for m, k in batches]
    np.testing.assert_array_equal(am.merge_histograms(*parts), whole)
    acc = np.zeros_like(whole)
    for m, k in batches:
        am.ranking_histogram(m, k, bits=bits, out=acc)
    np.testing.assert_array_equal(acc, whole)
    exact = _quiet(am.auroc, maps, masks)
    value, bound = _quiet(am.auroc_from_histogram, whole)
    if np.isnan(exact):  # one class only in the whole set
        assert np.isnan(value) and np.isnan(bound)
    else:
        assert abs(value - exact) <= bound

    # AU-PRO: counts equal exactly, region weights to rounding (1 / size summed in another order)
    whole = am.pro_histogram(maps, masks, bits=bits)
    merged = am.merge_histograms(*[am.pro_histogram(m, k, bits=bits) for m, k in batches])
    np.testing.assert_array_equal(merged.background, whole.background)
    np.testing.assert_allclose(merged.region_weight, whole.region_weight, rtol=1e-12, atol=0)
    assert merged.num_regions == whole.num_regions
    exact = _quiet(am.aupro, maps, masks)
    value, bound = _quiet(am.aupro_from_histogram, merged)
    if np.isnan(exact):  # no region or no background pixel in the whole set
        assert np.isnan(value) and np.isnan(bound)
    else:
        assert abs(value - exact) <= bound

    # AUPIMO: images stay in the order seen; normal weights equal to rounding
    whole = am.pimo_histogram(maps, masks, bits=bits)
    merged = am.merge_histograms(*[am.pimo_histogram(m, k, bits=bits) for m, k in batches])
    np.testing.assert_allclose(merged.normal_fpr, whole.normal_fpr, rtol=1e-12, atol=0)
    assert merged.num_normal == whole.num_normal == int((~anomalous).sum())
    for field in ("defect_bins", "defect_counts", "image_classes"):
        np.testing.assert_array_equal(getattr(merged, field), getattr(whole, field))
    np.testing.assert_array_equal(merged.image_classes, anomalous.astype(np.int8))
    if anomalous.all() or not anomalous.any():
        with pytest.warns(am.UndefinedMetricWarning):
            got = am.aupimo_from_histogram(merged, fpr_bounds=(0.1, 1.0))
        assert np.isnan(got.mean) and np.isnan(got.error_bound)
        return
    normal = maps[~anomalous].astype(np.float64)
    lowest = np.count_nonzero(normal == normal.max()) / normal.size  # smallest reachable FPR
    if lowest >= 1.0:  # every normal pixel ties: no FPR range the exact AUPIMO accepts
        return
    bounds = (lowest, min(1.0, 10 * lowest))
    exact = am.aupimo(maps, masks, fpr_bounds=bounds, num_thresholds=None)
    got = am.aupimo_from_histogram(merged, fpr_bounds=bounds)
    diff = np.abs(got.per_image[anomalous] - exact.per_image[anomalous])
    assert np.all(diff <= got.per_image_error_bound[anomalous])
    assert abs(got.mean - exact.mean) <= got.error_bound
