"""The areas taken without the cumulative counts: the dense walk (many positives), the levels.

It must give the float of the counting primitive's path to the last bit (the same vertices, the
same arithmetic), whatever the ties, dtypes, batches and cut, and equal scikit-learn through the
public function.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

import anomaly_metrics as am
from anomaly_metrics import _dense
from anomaly_metrics._counts import _binary_counts
from anomaly_metrics._integrate import _polyline_area_kernel


def _problem(draw):
    n = draw(st.integers(2, 400))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    decimals = draw(st.sampled_from([0, 1, 2, 6]))  # from massive ties to nearly none
    values = np.round(rng.normal(size=n), decimals).astype(dtype)
    if draw(st.booleans()):  # signed zeros and huge values among them
        values[rng.random(n) < 0.1] = -0.0
        values[rng.random(n) < 0.02] = dtype(1e30)
    share = draw(st.sampled_from([0.05, 0.3, 0.5, 0.9]))
    labels = rng.random(n) < share
    labels[0], labels[-1] = True, False  # both classes
    cuts = np.sort(rng.integers(0, n + 1, draw(st.integers(0, 3))))
    return list(zip(np.split(values, cuts), np.split(labels, cuts))), values, labels


_real_slice_bounds = _dense._slice_bounds


def _short_slices(*args, **kwargs):
    """The slices, expecting a single value of each class: every buffer has to grow."""
    return [sl._replace(negatives=1, positives=1) for sl in _real_slice_bounds(*args, **kwargs)]


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_walk_equals_the_area_of_the_counts_bit_for_bit(data):
    chunks, _, labels = _problem(data.draw)
    n_pos, n_neg = int(labels.sum()), int((~labels).sum())
    c = _binary_counts([v for v, _ in chunks], [y for _, y in chunks])
    limits = [np.inf, data.draw(st.floats(1e-6, 1.0)), 1.0 / n_neg, 1.0]
    slice_min = data.draw(st.sampled_from([None, 1, 7]))  # None: one slice (small inputs)
    for x_max in limits:
        want = _polyline_area_kernel(
            c.fp_above, c.fp, c.tp, float(n_neg), float(n_pos), float(n_pos), x_max
        )
        with pytest.MonkeyPatch.context() as mp:
            if slice_min is not None:  # up to 8 slices of the range, walked one after another
                mp.setattr(_dense, "_SLICE_MIN_VALUES", slice_min)
                if slice_min == 7:  # and buffers that start too short and grow
                    mp.setattr(_dense, "_slice_bounds", _short_slices)
                    mp.setattr(_dense, "_GATHER_SLACK", 0)
            got = _dense.dense_roc_area(chunks, n_pos, n_neg, x_max)
        assert got.hex() == float(want).hex(), (x_max, slice_min, got, want)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_auroc_through_the_dense_path_equals_sklearn(data):
    _, values, labels = _problem(data.draw)
    max_fpr = data.draw(st.sampled_from([None, 0.1, 0.5, 1.0]))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_dense, "DENSE_MIN_VALUES", 0)  # every size takes the walk
        mp.setattr(_dense, "DENSE_POSITIVE_SHARE", 0.0)
        got = am.auroc(values, labels, max_fpr=max_fpr)
    want = roc_auc_score(labels, values.astype(np.float64), max_fpr=max_fpr)
    assert got == pytest.approx(want, rel=1e-12, abs=1e-15)


def test_half_defect_maps_take_the_walk_and_agree_with_sklearn():
    rng = np.random.default_rng(3)
    maps = rng.random((4, 128, 128)).astype(np.float32)
    masks = rng.random((4, 128, 128)) < 0.5
    maps[masks] += 0.3
    n_pos = int(masks.sum())
    assert _dense.dense_pays(n_pos, masks.size - n_pos)
    want = roc_auc_score(masks.ravel(), maps.ravel().astype(np.float64))
    assert am.auroc(maps, masks) == pytest.approx(want, rel=1e-12)
    # the same maps fed as batches (the torch adapter's path)
    batches = am._ranking._auroc_batches([maps[:1], maps[1:]], [masks[:1], masks[1:]])
    assert batches == am.auroc(maps, masks)


@pytest.mark.parametrize(
    ("n_pos", "n_neg", "expected"),
    [
        (2_000, 1_000_000, False),  # rare defects: the counting primitive
        (500_000, 500_000, True),  # half the pixels
        (250_000, 1_000_000, True),  # at the share
        (249_999, 1_000_000, False),
        (100, 100, False),  # too small for threads to pay
    ],
)
def test_dense_pays_only_for_many_positives(n_pos, n_neg, expected):
    assert _dense.dense_pays(n_pos, n_neg) is expected


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_weighted_walk_equals_the_areas_of_the_counts_bit_for_bit(data):
    # AU-PRO's weighted areas (float32 scores, a floor or none, several limits) against the
    # weighted counts' areas, and the background count that the floor check reads
    chunks, _, labels = _problem(data.draw)
    chunks = [(v.astype(np.float32), y) for v, y in chunks]
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    weights = 1.0 / rng.integers(1, 30, int(labels.sum()))
    floor = data.draw(st.sampled_from([None, -0.0, 0.0, 0.5, -1.0, 1e31]))
    n_neg = int((~labels).sum())
    limits = (0.3, data.draw(st.floats(1e-6, 1.0)), 1.0, 1.0 / n_neg)
    c = _binary_counts(
        [v for v, _ in chunks], [y for _, y in chunks], pos_weights=weights, min_threshold=floor
    )
    slice_min = data.draw(st.sampled_from([None, 1, 7]))  # None: one slice (small inputs)
    with pytest.MonkeyPatch.context() as mp:
        if slice_min is not None:  # up to 8 slices of the range, walked one after another
            mp.setattr(_dense, "_SLICE_MIN_VALUES", slice_min)
            mp.setattr(_dense, "_WEIGHTED_SLICES", 8)
            if slice_min == 7:  # and buffers that start too short and grow
                mp.setattr(_dense, "_slice_bounds", _short_slices)
                mp.setattr(_dense, "_GATHER_SLACK", 0)
        walked = _dense.dense_weighted_areas(chunks, weights, 7, n_neg, limits, floor)
    if c.tp.size == 0:  # no positive at or above the floor
        assert walked is None
        return
    assert walked is not None
    areas, background_at_or_above = walked
    assert background_at_or_above == int(c.fp[-1])
    for limit, got in zip(limits, areas):  # (slice_min in the failing example's draws)
        want = _polyline_area_kernel(
            c.fp_above, c.fp, c.tp_weight, float(c.n_neg), float(c.n_pos_weight), 7.0, limit
        )
        assert got.hex() == float(want).hex(), (limit, got, want)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from([0.3, 0.05, 1.0, (0.3, 0.01)]))
def test_aupro_through_the_dense_path_equals_the_reference_and_the_counts(seed, fpr_limit):
    from anomaly_metrics.testing import reference_aupro

    rng = np.random.default_rng(seed)
    maps = np.round(rng.random((3, 12, 12)), 2).astype(np.float32)  # ties too
    masks = rng.random((3, 12, 12)) < 0.45
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_dense, "DENSE_MIN_VALUES", 0)
        dense = am.aupro(maps, masks, fpr_limit=fpr_limit)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_dense, "DENSE_POSITIVE_SHARE", np.inf)  # never the walk
        counted = am.aupro(maps, masks, fpr_limit=fpr_limit)
    assert np.asarray(dense).tobytes() == np.asarray(counted).tobytes()
    limits = fpr_limit if isinstance(fpr_limit, tuple) else (fpr_limit,)
    want = [reference_aupro(maps, masks, fpr_limit=lim) for lim in limits]
    np.testing.assert_allclose(np.atleast_1d(dense), want, rtol=1e-9, atol=1e-12)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_area_from_the_levels_equals_the_area_of_the_cumulated_counts(data):
    # AUROC's and AU-PRO's sparse paths sum the cumulative counts on the fly: the same floats as
    # the area kernel on the cumulated arrays, bit for bit (cuts, floors and weights too)
    from anomaly_metrics._counts import _binary_levels, _cumulate
    from anomaly_metrics._integrate import _levels_areas_kernel
    from anomaly_metrics._levels import UnitWeights

    chunks, _, labels = _problem(data.draw)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    weights = None
    if data.draw(st.booleans()):  # AU-PRO-like: 1 / region size, by region
        weights = UnitWeights(
            rng.integers(0, 5, int(labels.sum())).astype(np.int32), 1.0 / rng.integers(1, 9, 5)
        )
    floor = data.draw(st.sampled_from([None, 0.0, 0.5])) if weights is not None else None
    values, flags = [v for v, _ in chunks], [y for _, y in chunks]
    lv = _binary_levels(values, flags, pos_weights=weights, min_threshold=floor)
    if lv.u.shape[0] == 0:
        return
    c = _cumulate(*lv)
    limits = np.array([np.inf, data.draw(st.floats(1e-6, 1.0)), 1.0 / lv.n_neg, 1.0])
    got = np.zeros(limits.size)
    w_p = lv.w_p if lv.w_p is not None else np.zeros(0)
    total = 7.0 if weights is not None else float(lv.n_pos)
    _levels_areas_kernel(lv.n_p, w_p, lv.eq, lv.gap, float(lv.n_neg), total, limits, got)
    y, end = (c.tp_weight, c.n_pos_weight) if weights is not None else (c.tp, c.n_pos)
    for x_max, area in zip(limits, got):
        want = _polyline_area_kernel(c.fp_above, c.fp, y, float(c.n_neg), float(end), total, x_max)
        assert float(area).hex() == float(want).hex()


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_aupr_and_f1_from_the_levels_equal_those_of_the_cumulated_counts(data):
    # AUPR, F1 max and its threshold, as aupr / f1_max / evaluate compute them from per-level
    # counts, against the NumPy expressions on the cumulated counts, bit for bit
    from anomaly_metrics._counts import _binary_levels, _cumulate
    from anomaly_metrics._f1 import _f1_max_from_levels
    from anomaly_metrics._ranking import _aupr_from_counts, _aupr_from_levels

    chunks = _problem(data.draw)[0]
    lv = _binary_levels([v for v, _ in chunks], [y for _, y in chunks])
    c = _cumulate(*lv)
    assert _aupr_from_levels(lv).hex() == _aupr_from_counts(c).hex()
    best, threshold = _f1_max_from_levels(lv)
    tp = c.tp.astype(np.float64)  # F1 at every threshold, as NumPy expressions
    f1 = 2.0 * tp / (tp + c.fp + c.n_pos)
    want_best = float(f1.max())
    want_threshold = float(c.thresholds[np.flatnonzero(f1 == want_best)[-1]])
    assert best.hex() == want_best.hex()
    assert threshold.hex() == want_threshold.hex()


def test_the_range_is_cut_into_slices_of_about_an_eighth(monkeypatch):
    # a large input: 8 slices of about an eighth of the scores each, descending, covering
    # [lowest positive, inf] without overlap; a small one: one slice
    rng = np.random.default_rng(4)
    values = rng.standard_normal(1 << 22).astype(np.float32)
    labels = rng.random(values.size) < 0.5
    chunks = [(values, labels)]
    low = float(values[labels].min())
    bounds = _dense._slice_bounds(chunks, low, float(values[labels].max()))
    assert len(bounds) == 8
    assert bounds[0][1] == np.inf and bounds[-1][0] == low
    for (lo, *_), (_, hi, *_) in itertools.pairwise(bounds):
        assert hi == np.nextafter(lo, -np.inf)  # adjacent, no gap, no overlap
    sizes = [np.count_nonzero((values >= lo) & (values <= hi)) for lo, hi, *_ in bounds]
    assert max(sizes) < 0.15 * values.size
    wide = values.astype(np.float64)  # the library compares in float64
    for lo, hi, n_n, n_p in bounds:  # the expected sizes (from the sample) cover the slices
        inside = (wide >= lo) & (wide <= hi)
        assert n_n >= np.count_nonzero(inside & ~labels)
        assert n_p >= np.count_nonzero(inside & labels)
    assert len(_dense._slice_bounds([(values[:1000], labels[:1000])], low, 1.0)) == 1


def test_weighted_walk_counts_the_slices_below_a_walk_that_ends_early(monkeypatch):
    # the limits are passed in the top slice: the negatives of every slice below are still
    # counted (the floor check reads them)
    rng = np.random.default_rng(8)
    values = rng.standard_normal(800).astype(np.float32)
    labels = rng.random(800) < 0.5
    monkeypatch.setattr(_dense, "_SLICE_MIN_VALUES", 1)
    monkeypatch.setattr(_dense, "_WEIGHTED_SLICES", 8)
    n_neg = int((~labels).sum())
    weights = np.ones(int(labels.sum()))
    _, counted = _dense.dense_weighted_areas([(values, labels)], weights, 1, n_neg, (1e-9,), None)
    low = values[labels].min()
    assert counted == int(np.count_nonzero(~labels & (values >= low)))
