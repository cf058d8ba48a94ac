"""The exact metrics on every value layout of the benchmark's synthetic set.

Heavy tails, float16 ties, 256 uint8 levels, half defect pixels, 1e30 outliers and signed wide
scores (``bench.data.LAYOUTS``): on a few 32 x 32 images of each, every exact metric equals
scikit-learn or a slow reference written from the definition; a hypothesis test applies the same
layout transforms to random small inputs.
"""

from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sklearn.metrics import average_precision_score, roc_auc_score

import anomaly_metrics as am
from anomaly_metrics.testing import reference_aupimo_exact as ref_aupimo_exact
from anomaly_metrics.testing import reference_aupro as ref_aupro
from anomaly_metrics.testing import reference_pimo_curves as ref_pimo_curves
from anomaly_metrics.testing import reference_pro as ref_pro

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # bench/ is a folder of the repository, not an installed package
    sys.path.insert(0, str(ROOT))

from bench import data  # noqa: E402

SIZE = (6, 32, 32)  # 2 normal images: 2048 normal pixels


def _f1_reference(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """(best F1, lowest threshold with it) over every distinct score, in exact fractions.

    F1 at ``t`` is 2 tp / (2 tp + fp + fn) with tp / fp the positives / negatives
    ``>= t`` (float64), counted by binary search in the sorted classes.
    """
    s = np.asarray(scores, np.float64).ravel()
    y = np.asarray(labels, bool).ravel()
    pos, neg = np.sort(s[y]), np.sort(s[~y])
    best, best_t = Fraction(-1), None
    for t in np.unique(s)[::-1]:  # descending: a later tie is a lower threshold
        tp = pos.size - int(np.searchsorted(pos, t, side="left"))
        fp = neg.size - int(np.searchsorted(neg, t, side="left"))
        f1 = Fraction(2 * tp, tp + fp + pos.size)
        if f1 >= best:
            best, best_t = f1, float(t)
    return float(best), best_t


@pytest.fixture(scope="module", params=data.LAYOUTS)
def layout_set(request: pytest.FixtureRequest) -> data.Dataset:
    return data.generate(*SIZE, seed=5, layout=request.param)


def test_ranking_metrics_equal_sklearn_and_the_definition(layout_set) -> None:
    ds = layout_set
    maps, masks = ds.anomaly_maps, ds.masks
    x, y = maps.astype(np.float64).ravel(), masks.ravel()
    assert am.auroc(maps, masks) == pytest.approx(roc_auc_score(y, x), abs=1e-12)
    assert am.aupr(maps, masks) == pytest.approx(average_precision_score(y, x), abs=1e-12)
    best, threshold = _f1_reference(maps, masks)
    assert am.f1_max(maps, masks) == pytest.approx(best, abs=1e-12)
    assert am.f1_adaptive_threshold(maps, masks) == threshold
    # the image level too: scores in the layout's dtype
    s, lab = ds.image_scores, ds.image_labels
    assert am.auroc(s, lab) == pytest.approx(roc_auc_score(lab, s.astype(np.float64)), abs=1e-12)


def test_pro_and_aupro_equal_the_reference(layout_set) -> None:
    ds = layout_set
    maps, masks = ds.anomaly_maps, ds.masks
    assert am.aupro(maps, masks) == pytest.approx(ref_aupro(maps, masks), abs=1e-10)
    # a threshold on a score of the set: ties at the threshold count as positive
    t = float(np.sort(maps, axis=None)[int(0.9 * maps.size)])
    assert am.pro(maps, masks, threshold=t) == pytest.approx(ref_pro(maps, masks, t), abs=1e-12)


def test_exact_aupimo_equals_the_reference(layout_set) -> None:
    ds = layout_set
    maps, masks = ds.anomaly_maps, ds.masks
    _, shared, _, _ = ref_pimo_curves(maps, masks, None)
    lo = max(1e-3, float(shared[shared > 0].min()))  # the smallest reachable shared FPR
    bounds = (lo, min(1.0, 10 * lo))
    per_image, mean = ref_aupimo_exact(maps, masks, bounds)
    result = am.aupimo(maps, masks, fpr_bounds=bounds, num_thresholds=None)
    np.testing.assert_allclose(result.per_image, per_image, rtol=0, atol=1e-9)
    assert result.mean == pytest.approx(mean, abs=1e-9)


@st.composite
def layout_problems(draw):
    """Random small maps and masks, through one of the layout transforms."""
    n = draw(st.integers(1, 3))
    h, w = draw(st.integers(2, 8)), draw(st.integers(2, 8))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    maps = rng.normal(size=(n, h, w)) * draw(st.sampled_from((1e-3, 1.0, 1e3)))
    if draw(st.booleans()):  # ties before the transform too
        maps = np.round(maps * 2) / 2
    masks = rng.random((n, h, w)) < draw(st.sampled_from((0.1, 0.5, 0.9)))
    masks.flat[0], masks.flat[-1] = True, False
    maps = maps.astype(np.float32)
    layout = draw(st.sampled_from(data.LAYOUTS))
    raw = data.Dataset(maps, masks, maps.reshape(n, -1).max(1), masks.reshape(n, -1).any(1))
    ds = data.apply_layout(raw, layout, seed)
    return ds.anomaly_maps, ds.masks


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problem=layout_problems())
def test_layout_transforms_keep_the_metrics_exact(problem) -> None:
    maps, masks = problem
    assume(masks.any() and not masks.all())
    x, y = maps.astype(np.float64).ravel(), masks.ravel()
    assert am.auroc(maps, masks) == pytest.approx(roc_auc_score(y, x), abs=1e-12)
    assert am.aupr(maps, masks) == pytest.approx(average_precision_score(y, x), abs=1e-12)
    best, threshold = _f1_reference(maps, masks)
    assert am.f1_max(maps, masks) == pytest.approx(best, abs=1e-12)
    assert am.f1_adaptive_threshold(maps, masks) == threshold
    assert am.aupro(maps, masks) == pytest.approx(ref_aupro(maps, masks), abs=1e-10)


@pytest.mark.parametrize(
    ("dtype", "computed"),
    [
        (np.uint8, np.float32),
        (np.int8, np.float32),
        (np.uint16, np.float32),
        (np.int16, np.float32),
        (np.int32, np.float64),
        (np.int64, np.float64),
    ],
)
def test_integer_maps_are_computed_in_the_narrowest_exact_float(dtype, computed) -> None:
    # 8/16-bit integers fit float32 exactly (half the copy of float64, faster sorts); wider ones
    # need float64. The values, and so the metrics, are those of the integers themselves
    from anomaly_metrics._validation import check_scores

    info = np.iinfo(dtype)
    rng = np.random.default_rng(1)
    values = rng.integers(info.min, info.max, 4096, dtype=dtype, endpoint=True)
    values[:2] = info.min, info.max
    got = check_scores(values)
    assert got.dtype == computed
    assert np.array_equal(got.astype(np.float64), values.astype(np.float64))
    labels = rng.random(4096) < 0.3
    assert am.auroc(values, labels) == pytest.approx(roc_auc_score(labels, values), rel=1e-12)


def test_large_float16_scores_with_negatives_are_exact() -> None:
    """NumPy 2.4's AVX-512 float16 sort mis-orders arrays of more than ~2M values with negatives
    (seen on an AMD EPYC): float16 scores are widened to float32 (exact) before any sort."""
    rng = np.random.default_rng(7)
    scores = (rng.standard_normal(5_000_000) * 3).astype(np.float16)
    labels = rng.random(scores.size) < 0.5  # each class over 2M values
    scores[labels] += np.float16(1.5)
    wide = scores.astype(np.float64)
    assert am.auroc(scores, labels) == pytest.approx(roc_auc_score(labels, wide), abs=1e-14)
    assert am.aupr(scores, labels) == pytest.approx(
        average_precision_score(labels, wide), abs=1e-14
    )
