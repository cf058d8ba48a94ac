"""Dask functions: the in-memory value to the last bit on a LocalCluster and on local schedulers."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor

import dask
import dask.array as dask_array
import distributed
import numpy as np
import pytest
from _chunked_data import METRIC_CALLS, PIMO_CALLS, outcome, segmentation_sets
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import anomaly_metrics as am
import anomaly_metrics.dask as amd

_SETTINGS = settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck))
# every kind of pass, fewer graphs than METRIC_CALLS (each graph costs a round trip)
_CLUSTER_CALLS = tuple(
    (name, kwargs)
    for name, kwargs in METRIC_CALLS
    if name in ("f1_adaptive_threshold", "pro", "aupro", "pimo_curves", "evaluate")
)


@pytest.fixture(scope="module")
def client():
    with (
        distributed.LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as c,
    ):
        yield c


def _dask_arrays(maps, masks, data):
    """The arrays as Dask arrays with drawn chunks (image chunks split along rows too)."""
    n, h, _ = maps.shape
    rows = data.draw(st.integers(1, h))
    images = data.draw(st.integers(1, n))
    d_maps = dask_array.from_array(maps, chunks=(images, rows, -1))
    d_masks = dask_array.from_array(masks, chunks=(data.draw(st.integers(1, n)), -1, -1))
    return d_maps, d_masks


def _same_as_in_memory(maps, masks, d_maps, d_masks, scheduler, calls):
    for name, kwargs in calls:
        expected = outcome(lambda: getattr(am, name)(maps, masks, **kwargs))  # noqa: B023
        got = outcome(
            lambda: getattr(amd, name)(d_maps, d_masks, scheduler=scheduler, **kwargs)  # noqa: B023
        )
        assert got == expected, (name, kwargs)


@settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck))
@given(segmentation_sets(max_images=5), st.data())
def test_cluster_equals_in_memory(client, data, draw):
    maps, masks, _ = data
    d_maps, d_masks = _dask_arrays(maps, masks, draw)
    _same_as_in_memory(maps, masks, d_maps, d_masks, client, _CLUSTER_CALLS)


@_SETTINGS
@given(segmentation_sets(min_side=8, both_classes=True, max_images=4), st.data())
def test_cluster_pimo_equals_in_memory(client, data, draw):
    maps, masks, _ = data
    d_maps, d_masks = _dask_arrays(maps, masks, draw)
    _same_as_in_memory(maps, masks, d_maps, d_masks, client, PIMO_CALLS)


@_SETTINGS
@given(data=segmentation_sets(min_side=8, both_classes=True, max_images=4), draw=st.data())
def test_threads_equal_in_memory(data, draw):
    maps, masks, _ = data
    d_maps, d_masks = _dask_arrays(maps, masks, draw)
    _same_as_in_memory(maps, masks, d_maps, d_masks, "threads", METRIC_CALLS + PIMO_CALLS)


@pytest.fixture(scope="module")
def process_pool():
    """One pool for the module: Dask's processes scheduler would start one per compute.

    Set as Dask's pool only inside the tests that use it: a pool in the global config would be
    shipped (and fail to pickle) with the config of a LocalCluster started later.
    """
    with ProcessPoolExecutor(2) as pool:
        yield pool


@_SETTINGS
@given(data=segmentation_sets(min_side=8, both_classes=True, max_images=4), draw=st.data())
def test_processes_equal_in_memory(process_pool, data, draw):
    maps, masks, _ = data
    d_maps, d_masks = _dask_arrays(maps, masks, draw)
    with dask.config.set(pool=process_pool):
        _same_as_in_memory(maps, masks, d_maps, d_masks, "processes", _CLUSTER_CALLS + PIMO_CALLS)


def test_default_scheduler_uses_the_active_client(client):
    rng = np.random.default_rng(0)
    scores = rng.random(1000)
    labels = rng.random(1000) < 0.1
    d_scores = dask_array.from_array(scores, chunks=128)
    assert amd.auroc(d_scores, labels) == am.auroc(scores, labels)


def test_streaming_histograms_are_the_sum_of_blocks():
    rng = np.random.default_rng(2)
    maps = rng.random((5, 8, 8)).astype(np.float32)
    masks = np.zeros(maps.shape, bool)
    masks[2:, 2:5, 3:6] = True
    d_maps = dask_array.from_array(maps, chunks=(2, 3, 8))
    h = amd.ranking_histogram(d_maps, masks, bits=12, scheduler="threads")
    np.testing.assert_array_equal(h, am.ranking_histogram(maps, masks, bits=12))
    hp = amd.pro_histogram(d_maps, masks, bits=12, scheduler="synchronous")
    ref = am.pro_histogram(maps, masks, bits=12)
    np.testing.assert_array_equal(hp.background, ref.background)
    assert hp.num_regions == ref.num_regions
    hi = amd.pimo_histogram(d_maps, masks, bits=12)
    ref_i = am.pimo_histogram(maps, masks, bits=12)
    np.testing.assert_array_equal(hi.defect_bins, ref_i.defect_bins)
    np.testing.assert_array_equal(hi.image_classes, ref_i.image_classes)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: amd.auroc(np.zeros(3), np.zeros(4)), ValueError, "same shape"),
        (lambda: amd.aupro(np.zeros((2, 2, 3, 3)), np.zeros((2, 2, 3, 3))), ValueError, "shape"),
        (lambda: amd.auroc(np.zeros(0), np.zeros(0)), ValueError, "empty"),
        (lambda: amd.auroc(np.array(["a"]), np.zeros(1)), TypeError, "real numbers"),
        (lambda: amd.pro(np.zeros((1, 3, 3)), np.full((1, 3, 3), 2)), ValueError, "masks"),
        (lambda: amd.auroc(np.zeros(3), np.zeros(3), max_fpr=0), ValueError, "max_fpr"),
    ],
)
def test_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()
