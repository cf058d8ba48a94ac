"""connected_components against scipy.ndimage.label, image by image with a running offset."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import anomaly_metrics as am
from anomaly_metrics import _components
from anomaly_metrics._components import _region_ids
from anomaly_metrics.testing import (
    mask_batches,
    reference_labels,
    synthetic_dataset,
)


@settings(max_examples=300, deadline=None)
@given(mask_batches(), st.sampled_from((4, 8)))
def test_equals_scipy_label_per_image(masks, connectivity):
    got = am.connected_components(masks, connectivity=connectivity)
    assert got.dtype == np.int32
    assert got.shape == masks.shape
    np.testing.assert_array_equal(got, reference_labels(masks, connectivity))


@settings(max_examples=150, deadline=None)
@given(mask_batches(), st.sampled_from((4, 8)))
def test_region_ids_are_labels_of_foreground_pixels(masks, connectivity):
    ids, sizes = _region_ids(np.ascontiguousarray(masks), connectivity)
    ref = reference_labels(masks, connectivity)
    np.testing.assert_array_equal(ids, ref[masks] - 1)
    np.testing.assert_array_equal(sizes, np.bincount(ref.ravel(), minlength=ref.max() + 1)[1:])
    assert ids.dtype == np.int32 and sizes.dtype == np.int64


@settings(max_examples=100, deadline=None)
@given(mask_batches(), st.sampled_from((4, 8)), st.data())
def test_region_ids_of_a_list_of_batches_are_those_of_scipy_on_the_whole(masks, connectivity, data):
    n = masks.shape[0]
    cuts = sorted(data.draw(st.sets(st.integers(0, n), max_size=4)))  # empty batches too
    parts = [np.ascontiguousarray(p) for p in np.split(masks, cuts)]
    ids, sizes = _region_ids(parts, connectivity)
    ref = reference_labels(masks, connectivity)
    np.testing.assert_array_equal(ids, ref[masks] - 1)
    np.testing.assert_array_equal(sizes, np.bincount(ref.ravel(), minlength=ref.max() + 1)[1:])


@settings(max_examples=100, deadline=None)
@given(mask_batches(), st.sampled_from((4, 8)), st.sampled_from((1, 2, 5)))
def test_region_ids_when_the_first_sizes_array_is_too_short(masks, connectivity, first_try):
    # the sizes array is first made short; a piece with more regions is labelled again with
    # room for one region per foreground pixel: the same ids and sizes
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_components, "_REGIONS_FIRST_TRY", first_try)
        ids, sizes = _region_ids(np.ascontiguousarray(masks), connectivity)
    ref = reference_labels(masks, connectivity)
    np.testing.assert_array_equal(ids, ref[masks] - 1)
    np.testing.assert_array_equal(sizes, np.bincount(ref.ravel(), minlength=ref.max() + 1)[1:])


@pytest.mark.parametrize("first_try", [None, 3])
@pytest.mark.parametrize("connectivity", [4, 8])
def test_threaded_path_on_a_large_batch(connectivity, first_try, monkeypatch):
    if first_try is not None:  # every piece labelled twice: short sizes first, then the bound
        monkeypatch.setattr(_components, "_REGIONS_FIRST_TRY", first_try)
    # 24 x 256 x 256 pixels is above the single-thread cut-off: chunks run on threads
    _, masks = synthetic_dataset(24, 256, 256, seed=5)
    masks[3] = True  # an all-foreground image inside the batch
    masks[7, ::2, ::2] = True  # many single-pixel components
    got = am.connected_components(masks, connectivity=connectivity)
    ref = reference_labels(masks, connectivity)
    np.testing.assert_array_equal(got, ref)
    ids, sizes = _region_ids(masks, connectivity)
    np.testing.assert_array_equal(ids, ref[masks] - 1)
    np.testing.assert_array_equal(sizes, np.bincount(ref.ravel())[1:])
    # uneven batches: chunks of the whole cut at batch boundaries, one thread pool
    parts = [masks[:5], masks[5:6], masks[6:6], masks[6:19], masks[19:]]
    ids_b, sizes_b = _region_ids(parts, connectivity)
    np.testing.assert_array_equal(ids_b, ids)
    np.testing.assert_array_equal(sizes_b, sizes)


def test_shapes_and_input_kinds():
    masks = np.array([[[1, 1, 0], [0, 0, 0], [0, 1, 1]], [[0, 0, 0], [0, 0, 0], [0, 0, 0]]])
    expected = np.array([[[1, 1, 0], [0, 0, 0], [0, 2, 2]], [[0, 0, 0], [0, 0, 0], [0, 0, 0]]])
    np.testing.assert_array_equal(am.connected_components(masks), expected)
    np.testing.assert_array_equal(am.connected_components(masks.tolist()), expected)
    np.testing.assert_array_equal(am.connected_components(masks.astype(np.float32)), expected)
    four_d = am.connected_components(masks[:, None])
    assert four_d.shape == (2, 1, 3, 3)
    np.testing.assert_array_equal(four_d[:, 0], expected)
    single = am.connected_components(masks[0].astype(bool))
    assert single.shape == (3, 3)
    np.testing.assert_array_equal(single, expected[0])
    # non-contiguous input
    np.testing.assert_array_equal(am.connected_components(np.asfortranarray(masks)), expected)
    # an image with no pixel at all
    assert am.connected_components(np.zeros((2, 0, 4), bool)).shape == (2, 0, 4)


def test_corner_touching_pixels_depend_on_connectivity():
    diag = np.eye(4, dtype=bool)
    assert am.connected_components(diag).max() == 1
    assert am.connected_components(diag, connectivity=4).max() == 4
    # images never join, even when their masks touch across the batch boundary
    batch = np.ones((3, 2, 2), bool)
    np.testing.assert_array_equal(
        am.connected_components(batch), np.arange(1, 4)[:, None, None] * np.ones((3, 2, 2), int)
    )


@pytest.mark.parametrize(
    ("masks", "kwargs", "exc", "fragment"),
    [
        (np.full((2, 3, 3), 255), {}, ValueError, "`masks > 0`"),
        (np.full((2, 3, 3), 0.5), {}, ValueError, "`masks` must be bool or all 0 or 1"),
        (np.zeros((2, 2, 3, 3)), {}, ValueError, "must have shape (N, H, W), (N, 1, H, W)"),
        (np.zeros(5), {}, ValueError, "must have shape (N, H, W)"),
        (np.array([["a", "b"]]), {}, TypeError, "`masks` must be bool or numbers"),
        (None, {}, TypeError, "`masks` must be an array-like"),
        (np.zeros((1, 3, 3)), {"connectivity": 6}, ValueError, "`connectivity` must be 4"),
        (np.zeros((1, 3, 3)), {"connectivity": "8"}, TypeError, "`connectivity` must be the int"),
        (np.zeros((1, 3, 3)), {"connectivity": 8.0}, TypeError, "`connectivity` must be the int"),
        (np.zeros((1, 3, 3)), {"connectivity": True}, TypeError, "`connectivity` must be the int"),
    ],
)
def test_errors(masks, kwargs, exc, fragment):
    with pytest.raises(exc, match=None) as info:
        am.connected_components(masks, **kwargs)
    assert fragment in str(info.value)


def test_numpy_integer_connectivity_is_accepted():
    masks = np.eye(3, dtype=bool)
    np.testing.assert_array_equal(
        am.connected_components(masks, connectivity=np.int64(4)),
        am.connected_components(masks, connectivity=4),
    )


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 6), st.integers(1, 40), st.integers(0, 2**32 - 1))
def test_foreground_per_image_equals_count_nonzero(n, size, seed):
    from anomaly_metrics._components import _foreground_per_image_kernel

    flat = np.random.default_rng(seed).random((n, size)) < 0.3
    got = _foreground_per_image_kernel(flat)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, np.count_nonzero(flat, axis=1))


@settings(max_examples=150, deadline=None)
@given(mask_batches(), st.sampled_from((4, 8)), st.integers(0, 16), st.sampled_from((8, 24, 40)))
def test_rows_of_a_multiple_of_8_pixels_skip_background_words(masks, connectivity, left, extra):
    """Rows whose width is a multiple of 8 are scanned a word of 8 pixels at a time where the
    word is background: the shapes placed at any column of such rows, against scipy."""
    n, h, w = masks.shape
    width = -(-(left + w + extra) // 8) * 8
    wide = np.zeros((n, h, width), bool)
    wide[:, :, left : left + w] = masks
    got = am.connected_components(wide, connectivity=connectivity)
    np.testing.assert_array_equal(got, reference_labels(wide, connectivity))
    ids, sizes = _region_ids(wide, connectivity)
    np.testing.assert_array_equal(ids, got[wide] - 1)
    np.testing.assert_array_equal(sizes, np.bincount(got.ravel())[1:])
