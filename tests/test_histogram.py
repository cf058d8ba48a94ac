"""Streaming mode: keys, histograms, merging, and the certified error bounds.

The exact metrics (``am.auroc``, ``am.aupr``, ``am.f1_max``, ``am.f1_score``, ``am.aupro``) are the
references: the binned value must always lie within its reported bound of them. The bin layout is
checked against NumPy's float32 ``nextafter`` walk, written independently of the key formula.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import anomaly_metrics as am
from anomaly_metrics.streaming import _bins
from anomaly_metrics.testing import scores_and_labels as ranking_problems

SETTINGS = settings(max_examples=60, deadline=None)
BITS = st.integers(1, 24)


def _quiet(fn, *args, **kwargs):
    """Call ``fn`` with UndefinedMetricWarning silenced (one-class draws are part of the tests)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", am.UndefinedMetricWarning)
        return fn(*args, **kwargs)


def _within(value, exact, bound):
    if np.isnan(exact):
        return np.isnan(value)
    return abs(value - exact) <= bound


# --------------------------------------------------------------------------------------------
# keys and bins


SPECIAL_FLOAT32 = np.array(
    [
        -np.finfo(np.float32).max,
        -1e30,
        -2.5,
        -1.0,
        -np.finfo(np.float32).tiny,
        -np.float32(1e-45),
        -0.0,
        0.0,
        np.float32(1e-45),
        np.finfo(np.float32).tiny,
        1e-30,
        0.5,
        1.0,
        3.0,
        1e30,
        np.finfo(np.float32).max,
    ],
    np.float32,
)


@pytest.mark.parametrize("bits", [1, 8, 12, 20, 24])
def test_bins_are_ordered_like_the_scores(bits):
    b = am.score_bins(SPECIAL_FLOAT32, bits=bits).astype(np.int64)
    assert np.all(np.diff(b) >= 0)
    assert b.min() >= 0 and b.max() < 2**bits
    assert b[6] == b[7]  # -0.0 and 0.0 share a bin


@pytest.mark.parametrize("bits", [20, 24])
@pytest.mark.parametrize("start", [0.5, -3.0, 1e-3, 7e20, -1e-40])
def test_a_bin_holds_two_to_the_32_minus_bits_consecutive_floats(bits, start):
    """Walk float32 values with nextafter: the bin changes exactly every 2**(32-bits) steps."""
    width = 2 ** (32 - bits)
    edge = am.bin_lower_edges(am.score_bins([start], bits=bits), bits=bits)[0]
    x = np.float32(edge)
    b0 = am.score_bins([x], bits=bits)[0]
    # the float just below the edge is in the previous bin
    below = np.nextafter(x, np.float32(-np.inf))
    assert am.score_bins([below], bits=bits)[0] == b0 - 1
    walk = [x]
    for _ in range(width):
        walk.append(np.nextafter(walk[-1], np.float32(np.inf)))
    walk = np.array(walk, np.float32)
    bins = am.score_bins(walk, bits=bits)
    if edge < 0 < walk[-1]:  # a bin that straddles zero holds -0.0 and 0.0 as one value
        assert np.all(bins[:-2] == b0)
    else:
        assert np.all(bins[:-1] == b0)
        assert bins[-1] == b0 + 1


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=50),
    BITS,
    st.sampled_from([np.float32, np.float64]),
)
def test_lower_edges_are_exact_thresholds(values, bits, dtype):
    """``score >= edge(b)`` holds exactly for the scores in bins >= b, float64 included."""
    with np.errstate(over="ignore"):
        x = np.asarray(values, dtype)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return
    b = am.score_bins(x, bits=bits).astype(np.int64)
    edges = am.bin_lower_edges(b, bits=bits)
    assert np.all(edges <= x)
    nxt = b + 1 < 2**bits
    upper = am.bin_lower_edges(b[nxt] + 1, bits=bits)
    assert np.all(x[nxt] < upper)
    order = np.argsort(x, kind="stable")
    assert np.all(np.diff(b[order]) >= 0)


def test_float64_is_rounded_down_to_float32():
    x32 = np.float32(0.1)
    below = np.float64(x32) - 1e-12  # rounds to x32 to nearest, but is below it
    bits = 24
    b = am.score_bins([np.float64(x32), below, 1e300, -1e300], bits=bits).astype(np.int64)
    assert b[1] <= b[0]
    assert am.bin_lower_edges(b[1:2], bits=bits)[0] <= below
    assert b[2] == am.score_bins([np.finfo(np.float32).max], bits=bits)[0]  # not the +inf bin
    assert am.bin_lower_edges(b[3:4], bits=bits)[0] == -np.inf


# --------------------------------------------------------------------------------------------
# ranking histogram: bounds against the exact metrics


@SETTINGS
@given(ranking_problems(max_size=200), BITS, st.sampled_from([None, 0.1, 0.5]))
def test_ranking_metrics_within_bound(problem, bits, max_fpr):
    scores, labels = problem
    h = am.ranking_histogram(scores, labels, bits=bits)
    assert h.shape == (2, 2**bits) and h.dtype == np.int64
    y = np.asarray(labels) != 0
    assert h[1].sum() == y.sum() and h[0].sum() == (~y).sum()
    for exact_fn, binned_fn, kwargs in [
        (am.auroc, am.auroc_from_histogram, {"max_fpr": max_fpr}),
        (am.aupr, am.aupr_from_histogram, {}),
        (am.f1_max, am.f1_max_from_histogram, {}),
    ]:
        exact = _quiet(exact_fn, scores, labels, **kwargs)
        value, bound = _quiet(binned_fn, h, **kwargs)
        assert _within(value, exact, bound), (exact_fn.__name__, value, exact, bound)


@SETTINGS
@given(ranking_problems(max_size=200, both_classes=True), BITS)
def test_adaptive_threshold_attains_its_f1(problem, bits):
    scores, labels = problem
    h = am.ranking_histogram(scores, labels, bits=bits)
    t = am.f1_adaptive_threshold_from_histogram(h)
    assert t.f1 == am.f1_max_from_histogram(h).value
    best = am.f1_max(scores, labels)
    assert t.f1 <= best + 1e-12
    assert best <= t.f1 + t.f1_error_bound
    if np.isfinite(t.threshold):
        assert am.f1_score(scores, labels, threshold=t.threshold) == pytest.approx(t.f1, abs=1e-12)


def test_one_bin_per_distinct_score_is_exact():
    """With every score in its own bin (and no mixed bin), the bounds vanish and values match."""
    rng = np.random.default_rng(3)
    scores = rng.permutation(np.arange(200, dtype=np.float32))
    labels = rng.random(200) < 0.3
    h = am.ranking_histogram(scores, labels)
    for exact, (value, bound) in [
        (am.auroc(scores, labels), am.auroc_from_histogram(h)),
        (am.auroc(scores, labels, max_fpr=0.2), am.auroc_from_histogram(h, max_fpr=0.2)),
        (am.aupr(scores, labels), am.aupr_from_histogram(h)),
        (am.f1_max(scores, labels), am.f1_max_from_histogram(h)),
    ]:
        assert bound == pytest.approx(1e-12)
        assert value == pytest.approx(exact, abs=1e-12)
    t = am.f1_adaptive_threshold_from_histogram(h)
    assert t.threshold == am.f1_adaptive_threshold(scores, labels)


GOLDEN = [
    # scores, labels, auroc, aupr, f1_max (all exact: one score per bin)
    ([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1], 0.75, 5 / 6, 0.8),
    ([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1], 1.0, 1.0, 1.0),
    ([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1], 0.0, (1 / 3 + 1 / 2) / 2, 2 / 3),
    ([-3.0, 1e6, -1e-9, 2.0], [1, 1, 0, 0], 0.5, 0.75, 2 / 3),
]


@pytest.mark.parametrize(("scores", "labels", "auroc", "aupr", "f1"), GOLDEN)
def test_golden_small_cases(scores, labels, auroc, aupr, f1):
    h = am.ranking_histogram(scores, labels)
    assert am.auroc_from_histogram(h).value == pytest.approx(auroc, abs=1e-12)
    assert am.aupr_from_histogram(h).value == pytest.approx(aupr, abs=1e-12)
    assert am.f1_max_from_histogram(h).value == pytest.approx(f1, abs=1e-12)


def test_a_shared_bin_gives_the_half_pair_bound():
    """One positive and one negative in the same bin: AUROC counts the pair 1/2, bound 1/2."""
    h = am.ranking_histogram([0.5, 0.5001, 0.9, 0.1], [0, 1, 1, 0], bits=16)
    value, bound = am.auroc_from_histogram(h)
    assert value == pytest.approx(0.875)  # 3 sure pairs of 4, plus half of the shared one
    assert bound == pytest.approx(0.125, abs=1e-9)  # 1 pair of 4, times 1/2


# --------------------------------------------------------------------------------------------
# merging, in-place updates, threads, state size


def test_merge_in_any_order_equals_one_histogram():
    rng = np.random.default_rng(0)
    scores = rng.normal(size=5000).astype(np.float32)
    labels = rng.random(5000) < 0.2
    whole = am.ranking_histogram(scores, labels, bits=16)
    parts = [
        am.ranking_histogram(scores[a:b], labels[a:b], bits=16)
        for a, b in zip(range(0, 5000, 700), range(700, 5700, 700))
    ]
    for order in (range(len(parts)), rng.permutation(len(parts)), reversed(range(len(parts)))):
        merged = am.merge_histograms(*[parts[i] for i in order])
        np.testing.assert_array_equal(merged, whole)
    np.testing.assert_array_equal(sum(parts), whole)  # plain arrays add
    acc = np.zeros_like(whole)
    for a in range(0, 5000, 700):
        out = am.ranking_histogram(scores[a : a + 700], labels[a : a + 700], bits=16, out=acc)
        assert out is acc
    np.testing.assert_array_equal(acc, whole)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_threaded_update_equals_single_thread(monkeypatch, dtype):
    rng = np.random.default_rng(1)
    scores = rng.normal(size=40_000).astype(dtype)
    labels = rng.random(40_000) < 0.1
    single = am.ranking_histogram(scores, labels, bits=12)
    monkeypatch.setattr(_bins, "HISTOGRAM_PER_WORKER", 1000)
    monkeypatch.setenv("ANOMALY_METRICS_NUM_THREADS", "4")
    np.testing.assert_array_equal(am.ranking_histogram(scores, labels, bits=12), single)
    maps = scores.reshape(10, 40, 100)
    masks = np.zeros(maps.shape, bool)
    masks[:5, 10:20, 10:30] = True
    threaded = am.pro_histogram(maps, masks, bits=12)
    monkeypatch.undo()
    plain = am.pro_histogram(maps, masks, bits=12)
    np.testing.assert_array_equal(threaded.background, plain.background)
    np.testing.assert_allclose(threaded.region_weight, plain.region_weight, rtol=1e-13)
    assert threaded.num_regions == plain.num_regions == 5


def test_state_size_does_not_grow_with_updates():
    rng = np.random.default_rng(2)

    def stream(n_updates):
        ranking = np.zeros((2, 2**12), np.int64)
        pro = None
        for _ in range(n_updates):
            maps = rng.random((2, 8, 8)).astype(np.float32)
            masks = maps > 0.9
            ranking = am.ranking_histogram(maps, masks, bits=12, out=ranking)
            part = am.pro_histogram(maps, masks, bits=12)
            pro = part if pro is None else am.merge_histograms(pro, part)
        return ranking, pro

    r10, p10 = stream(10)
    r1000, p1000 = stream(1000)
    assert r10.nbytes == r1000.nbytes == 2 * 2**12 * 8
    size = [a.nbytes for a in (p10.background, p10.region_weight)]
    assert size == [a.nbytes for a in (p1000.background, p1000.region_weight)]
    assert p1000.num_regions > p10.num_regions


# --------------------------------------------------------------------------------------------
# AU-PRO


@st.composite
def segmentation_problems(draw, max_side=10):
    """(maps, masks): 1-3 small images, ties or continuous scores, random blobs, float32/64."""
    n = draw(st.integers(1, 3))
    h = draw(st.integers(1, max_side))
    w = draw(st.integers(2, max_side))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    style = draw(st.sampled_from(("ties", "continuous", "wide")))
    if style == "ties":
        maps = rng.integers(0, draw(st.integers(1, 6)), (n, h, w)) / 4.0
    elif style == "continuous":
        maps = rng.normal(size=(n, h, w))
    else:
        maps = rng.normal(size=(n, h, w)) * 10.0 ** rng.integers(-4, 5, (n, h, w))
    masks = rng.random((n, h, w)) < draw(st.sampled_from((0.0, 0.1, 0.3, 0.7, 1.0)))
    maps = maps + draw(st.floats(0.0, 2.0)) * masks
    return maps.astype(draw(st.sampled_from((np.float32, np.float64)))), masks


@SETTINGS
@given(segmentation_problems(), BITS, st.sampled_from([0.05, 0.3, 1.0]))
def test_aupro_within_bound(problem, bits, fpr_limit):
    maps, masks = problem
    h = am.pro_histogram(maps, masks, bits=bits)
    assert h.background.sum() == (~masks).sum()
    exact = _quiet(am.aupro, maps, masks, fpr_limit=fpr_limit)
    value, bound = _quiet(am.aupro_from_histogram, h, fpr_limit=fpr_limit)
    assert _within(value, exact, bound), (value, exact, bound)


def test_aupro_merge_over_images():
    rng = np.random.default_rng(5)
    maps = rng.random((6, 16, 16))
    masks = np.zeros(maps.shape, bool)
    masks[1, 2:6, 2:6] = masks[3, 8:, 8:] = masks[4, 0, :] = True
    maps += masks
    whole = am.pro_histogram(maps, masks)
    parts = [am.pro_histogram(maps[i : i + 2], masks[i : i + 2]) for i in (4, 0, 2)]
    merged = am.merge_histograms(*parts)
    np.testing.assert_array_equal(merged.background, whole.background)
    np.testing.assert_allclose(merged.region_weight, whole.region_weight, rtol=1e-13)
    assert merged.num_regions == whole.num_regions == 3
    acc = am.pro_histogram(maps[:3], masks[:3])
    acc = am.pro_histogram(maps[3:], masks[3:], out=acc)
    assert acc.num_regions == 3
    np.testing.assert_allclose(acc.region_weight, whole.region_weight, rtol=1e-13)
    v_whole = am.aupro_from_histogram(whole)
    assert am.aupro_from_histogram(merged).value == pytest.approx(v_whole.value, abs=1e-13)


def test_aupro_anomalib_golden_cases():
    """anomalib's hand-checkable 2x2 case (reference §8.5): one score per bin, so exact."""
    maps = np.array([[0.5, 0.9], [0.2, 0.1]])
    masks = np.array([[1, 0], [0, 0]])
    h = am.pro_histogram(maps, masks)
    for limit, expected in [(0.3, 0.0), (0.5, 1 / 3), (1.0, 2 / 3)]:
        value, bound = am.aupro_from_histogram(h, fpr_limit=limit)
        assert value == pytest.approx(expected, abs=1e-12)
        assert bound == pytest.approx(1e-12)


# --------------------------------------------------------------------------------------------
# AUPIMO


@st.composite
def pimo_problems(draw):
    """(maps, masks, fpr_bounds): >= 1 normal and >= 1 anomalous image, a reachable lower bound."""
    maps, masks = draw(segmentation_problems(max_side=12))
    masks[0].flat[draw(st.integers(0, masks[0].size - 1))] = True  # >= 1 anomalous image
    n_normal = draw(st.integers(1, 3))
    extra = np.random.default_rng(draw(st.integers(0, 2**32 - 1))).normal(
        size=(n_normal, *maps.shape[1:])
    )
    if draw(st.booleans()):
        extra = np.round(extra, 1)  # ties
    maps = np.concatenate([maps, extra.astype(maps.dtype)])
    masks = np.concatenate([masks, np.zeros(extra.shape, bool)])
    normal = maps[~masks.reshape(masks.shape[0], -1).any(axis=1)].astype(np.float64)
    smallest = np.count_nonzero(normal == normal.max()) / normal.size  # reachable shared FPR
    lo = smallest * draw(st.sampled_from((1.0, 1.5, 3.0)))
    hi = min(1.0, lo * draw(st.sampled_from((2.0, 10.0, 100.0))))
    return maps, masks, (lo, hi)


@settings(max_examples=80, deadline=None)
@given(pimo_problems(), BITS)
def test_aupimo_within_bound(problem, bits):
    maps, masks, bounds = problem
    assume(bounds[0] < bounds[1])  # not when every normal pixel ties at the top
    exact = am.aupimo(maps, masks, fpr_bounds=bounds, num_thresholds=None)
    h = am.pimo_histogram(maps, masks, bits=bits)
    got = am.aupimo_from_histogram(h, fpr_bounds=bounds)
    np.testing.assert_array_equal(got.image_classes, exact.image_classes)
    anomalous = exact.image_classes == 1
    assert np.all(np.isnan(got.per_image[~anomalous]))
    assert np.all(np.isnan(got.per_image_error_bound[~anomalous]))
    diff = np.abs(got.per_image[anomalous] - exact.per_image[anomalous])
    assert np.all(diff <= got.per_image_error_bound[anomalous]), (diff, got, exact)
    assert abs(got.mean - exact.mean) <= got.error_bound


def _anomalib_pimo_maps():
    """anomalib's PIMO test data (reference §16.4): 1 normal, 2 anomalous 1000 x 1000 images."""
    normal = np.ones(1_000_000, np.float32)
    for k in (100_000, 10_000, 1000, 100, 10, 1):
        normal[:k] += 1
    normal = normal.reshape(1000, 1000)
    maps = np.stack([normal, normal, normal])
    masks = np.zeros(maps.shape, bool)
    masks[1] = True
    masks[2].flat[:100_000] = True
    return maps, masks


@pytest.mark.parametrize(
    ("bounds", "anom1", "anom2"),
    [((1e-1, 1.0), 0.55, 1.0), ((1e-3, 1e-1), 0.03025, 0.3025), ((1e-5, 1e-4), 5.5e-5, 5.5e-4)],
)
def test_aupimo_anomalib_golden_cases(bounds, anom1, anom2):
    """Scores 1..7 fall in separate bins and tie across classes: the diagonal is exact."""
    maps, masks = _anomalib_pimo_maps()
    got = am.aupimo_from_histogram(am.pimo_histogram(maps, masks), fpr_bounds=bounds)
    assert np.isnan(got.per_image[0])
    np.testing.assert_allclose(got.per_image[1:], [anom1, anom2], rtol=1e-9)
    assert got.mean == pytest.approx((anom1 + anom2) / 2, rel=1e-9)
    assert np.all(got.per_image_error_bound[1:] >= 0)


def test_aupimo_merge_and_state_size():
    maps, masks = _synthetic_set(n=12, side=32, seed=4)
    whole = am.pimo_histogram(maps, masks)
    parts = [am.pimo_histogram(maps[i : i + 4], masks[i : i + 4]) for i in (0, 4, 8)]
    merged = am.merge_histograms(*parts)
    np.testing.assert_allclose(merged.normal_fpr, whole.normal_fpr, rtol=1e-13)
    assert merged.num_normal == whole.num_normal
    for field in ("defect_bins", "defect_counts", "image_classes"):
        np.testing.assert_array_equal(getattr(merged, field), getattr(whole, field))
    assert whole.defect_bins.size == masks.sum()  # defect pixels only, nothing else grows
    assert whole.normal_fpr.nbytes == 8 * 2**20
    reordered = am.merge_histograms(parts[2], parts[0], parts[1])
    a, b = (am.aupimo_from_histogram(h, fpr_bounds=(1e-3, 1e-2)) for h in (merged, reordered))
    assert a.mean == pytest.approx(b.mean, abs=1e-13)


# --------------------------------------------------------------------------------------------
# accuracy at the default bits on a realistic synthetic set


def _synthetic_set(n=24, side=96, seed=0):
    """Smooth noise maps; 60 % of images carry 1-3 elliptic defects with a blurred bump."""
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(seed)
    maps = gaussian_filter(rng.standard_normal((n, side, side)), (0, 2, 2)).astype(np.float32)
    maps /= maps.std()
    masks = np.zeros(maps.shape, bool)
    yy, xx = np.mgrid[:side, :side]
    for i in range(n):
        if rng.random() < 0.4:
            continue
        for _ in range(rng.integers(1, 4)):
            cy, cx = rng.integers(0, side, 2)
            a, b = rng.uniform(2, side / 6, 2)
            blob = ((yy - cy) / a) ** 2 + ((xx - cx) / b) ** 2 <= 1
            masks[i] |= blob
            maps[i] += rng.lognormal(np.log(2.5), 0.4) * gaussian_filter(blob * 1.0, 1.5)
    return maps, masks


def test_default_bits_accuracy_on_a_realistic_set():
    maps, masks = _synthetic_set()
    h = am.ranking_histogram(maps, masks)
    errors = {}
    for name, exact, (value, bound) in [
        ("auroc", am.auroc(maps, masks), am.auroc_from_histogram(h)),
        ("aupr", am.aupr(maps, masks), am.aupr_from_histogram(h)),
        ("f1_max", am.f1_max(maps, masks), am.f1_max_from_histogram(h)),
        ("aupro", am.aupro(maps, masks), am.aupro_from_histogram(am.pro_histogram(maps, masks))),
    ]:
        assert abs(value - exact) <= bound, name
        errors[name] = abs(value - exact)
    exact = am.aupimo(maps, masks, fpr_bounds=(1e-4, 1e-3), num_thresholds=None)
    binned = am.aupimo_from_histogram(am.pimo_histogram(maps, masks), fpr_bounds=(1e-4, 1e-3))
    assert abs(binned.mean - exact.mean) <= binned.error_bound
    errors["aupimo"] = abs(binned.mean - exact.mean)
    assert errors["auroc"] <= 1e-4
    assert errors["aupro"] <= 1e-4
    assert errors["aupimo"] <= 1e-4
    assert errors["aupr"] <= 5e-4


# --------------------------------------------------------------------------------------------
# undefined cases and errors


def test_one_class_is_nan_with_a_warning():
    h = am.ranking_histogram([0.1, 0.2], [0, 0])
    for fn in (am.auroc_from_histogram, am.aupr_from_histogram, am.f1_max_from_histogram):
        with pytest.warns(am.UndefinedMetricWarning):
            value, bound = fn(h)
        assert np.isnan(value) and np.isnan(bound)
    with pytest.warns(am.UndefinedMetricWarning, match="highest bin"):
        t = am.f1_adaptive_threshold_from_histogram(h)
    assert t.threshold == am.bin_lower_edges(am.score_bins([0.2]))[0] and np.isnan(t.f1)
    h = am.ranking_histogram([0.1, 0.2], [1, 1])
    assert am.aupr_from_histogram(h).value == 1.0
    with pytest.warns(am.UndefinedMetricWarning, match="No negative"):
        assert np.isnan(am.f1_max_from_histogram(h).value)
    with pytest.warns(am.UndefinedMetricWarning, match="lowest bin"):
        t = am.f1_adaptive_threshold_from_histogram(h)
    assert t.threshold == am.bin_lower_edges(am.score_bins([0.1]))[0] and np.isnan(t.f1)
    with pytest.warns(am.UndefinedMetricWarning, match="No defect regions"):
        assert np.isnan(
            am.aupro_from_histogram(am.pro_histogram(np.ones((4, 4)), np.zeros((4, 4)))).value
        )
    with pytest.warns(am.UndefinedMetricWarning, match="No background"):
        assert np.isnan(
            am.aupro_from_histogram(am.pro_histogram(np.ones((4, 4)), np.ones((4, 4)))).value
        )
    with pytest.warns(am.UndefinedMetricWarning, match="No normal image"):
        got = am.aupimo_from_histogram(PIMO12._replace(num_normal=0, image_classes=[1]))
    assert np.isnan(got.mean) and np.isnan(got.error_bound) and np.isnan(got.per_image[0])


H12 = np.zeros((2, 2**12), np.int64)
PRO12 = am.ProHistogram(np.zeros(2**12, np.int64), np.zeros(2**12), 0)

PIMO12 = am.PimoHistogram(
    np.zeros(2**12), 1, np.zeros(3, np.uint32), np.array([3]), np.array([0, 1], np.int8)
)

BAD_CALLS = [
    (lambda: am.ranking_histogram([0.1], [1], bits=0), ValueError, "`bits` must be in [1, 24]"),
    (lambda: am.ranking_histogram([0.1], [1], bits=25), ValueError, "got 25"),
    (lambda: am.ranking_histogram([0.1], [1], bits=2.0), TypeError, "`bits` must be an int"),
    (lambda: am.ranking_histogram([0.1], [1], bits=True), TypeError, "`bits` must be an int"),
    (lambda: am.ranking_histogram([np.nan], [1]), ValueError, "`scores` must be finite"),
    (lambda: am.ranking_histogram([0.1, 0.2], [1]), ValueError, "same shape"),
    (lambda: am.ranking_histogram([0.1], [2]), ValueError, "`labels` must be bool or all 0 or 1"),
    (lambda: am.ranking_histogram([], []), ValueError, "`scores` must not be empty"),
    (lambda: am.ranking_histogram([0.1], [1], bits=12, out=H12.T), ValueError, "`out` must be"),
    (lambda: am.ranking_histogram([0.1], [1], out=H12), ValueError, "shape (2, 1048576)"),
    (lambda: am.ranking_histogram([0.1], [1], bits=12, out=[0]), TypeError, "NumPy array"),
    (lambda: am.auroc_from_histogram(H12.astype(float)), TypeError, "integer counts"),
    (lambda: am.auroc_from_histogram(H12[:, :100]), ValueError, "shape (2, 2**bits)"),
    (lambda: am.auroc_from_histogram(H12[0]), ValueError, "shape (2, 2**bits)"),
    (lambda: am.auroc_from_histogram(-1 - H12), ValueError, "non-negative counts"),
    (lambda: am.auroc_from_histogram(H12, max_fpr=0), ValueError, "`max_fpr` must be in (0, 1]"),
    (lambda: am.aupr_from_histogram(PRO12), TypeError, "got ProHistogram"),
    (lambda: am.f1_adaptive_threshold_from_histogram(H12), ValueError, "empty histogram"),
    (lambda: am.score_bins(["a"]), TypeError, "`scores` must hold real numbers"),
    (lambda: am.bin_lower_edges([0.5], bits=4), TypeError, "`bins` must hold integers"),
    (lambda: am.bin_lower_edges([16], bits=4), ValueError, "`bins` must be in [0, 2**4)"),
    (lambda: am.pro_histogram(np.ones(4), np.ones(4)), ValueError, "(N, H, W)"),
    (lambda: am.pro_histogram(np.ones((2, 2)), [[0, 255], [0, 0]]), ValueError, "masks > 0"),
    (
        lambda: am.pro_histogram(np.ones((2, 2)), np.ones((2, 2)), out=H12),
        TypeError,
        "ProHistogram",
    ),
    (
        lambda: am.pro_histogram(np.ones((2, 2)), np.ones((2, 2)), out=PRO12),
        ValueError,
        "2**20 bins",
    ),
    (lambda: am.aupro_from_histogram(H12), TypeError, "must be a ProHistogram"),
    (lambda: am.aupro_from_histogram(PRO12, fpr_limit=1.5), ValueError, "`fpr_limit` must be in"),
    (lambda: am.aupro_from_histogram(PRO12._replace(num_regions=-1)), ValueError, ">= 0"),
    (lambda: am.aupro_from_histogram(PRO12._replace(num_regions=1.0)), TypeError, "must be an int"),
    (lambda: am.aupimo_from_histogram(H12), TypeError, "must be a PimoHistogram"),
    (lambda: am.aupimo_from_histogram(PIMO12, fpr_bounds=1e-4), TypeError, "a pair"),
    (lambda: am.aupimo_from_histogram(PIMO12, fpr_bounds=(1e-4,)), ValueError, "1 values"),
    (
        lambda: am.aupimo_from_histogram(PIMO12, fpr_bounds=(1e-3, 1e-4)),
        ValueError,
        "must be increasing (lower < upper)",
    ),
    (
        lambda: am.aupimo_from_histogram(PIMO12, fpr_bounds=(0, 1e-4)),
        ValueError,
        "`fpr_bounds[0]` (the lower FPR) must be in (0, 1)",
    ),
    (
        lambda: am.aupimo_from_histogram(PIMO12._replace(defect_counts=[2])),
        ValueError,
        "must be consistent",
    ),
    (
        lambda: am.aupimo_from_histogram(PIMO12._replace(normal_fpr=np.zeros(2**12, int))),
        TypeError,
        "float normal_fpr",
    ),
    (lambda: am.pimo_histogram(np.ones((2, 2)), np.ones((2, 3))), ValueError, "same shape"),
    (lambda: am.merge_histograms(), TypeError, "at least one histogram"),
    (lambda: am.merge_histograms(PIMO12, PRO12), TypeError, "must be a PimoHistogram"),
    (lambda: am.merge_histograms(H12, H12[:, :2048]), ValueError, "same bits"),
    (lambda: am.merge_histograms(PRO12, H12), TypeError, "must be a ProHistogram"),
]


@pytest.mark.parametrize(("call", "exc", "msg"), BAD_CALLS)
def test_bad_calls(call, exc, msg):
    with pytest.raises(exc) as info:
        call()
    assert msg in str(info.value)


def test_torch_tensor_histogram_is_refused():
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match="detach"):
        am.auroc_from_histogram(torch.zeros(2, 16, dtype=torch.int64))
