"""Samples made of several images: group_scores and the groups= argument of the image metrics."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

import anomaly_metrics as am
from anomaly_metrics.testing import reference_group_scores as ref_group
from anomaly_metrics.testing import scores_and_labels as ranking_problems


def _groups(draw, n):
    kind = draw(st.sampled_from(("int", "str", "tuple")))
    k = draw(st.integers(1, max(1, n)))
    seed = draw(st.integers(0, 2**32 - 1))
    idx = np.random.default_rng(seed).integers(0, k, n)
    if kind == "int":
        return idx * 7 - 3
    if kind == "str":
        return np.array([f"obj{i}" for i in idx])
    return [(int(i), "view") for i in idx]


@settings(max_examples=80, deadline=None)
@given(st.data(), ranking_problems(max_size=60), st.sampled_from(("max", "mean")))
def test_group_scores_matches_the_reference(data, problem, reduce):
    scores, labels = problem
    groups = _groups(data.draw, scores.size)
    got = am.group_scores(scores, groups, labels, reduce=reduce)
    keys, s, y = ref_group(scores.astype(np.float64), list(map(_hashable, groups)), labels, reduce)
    assert [_hashable(g) for g in got.groups] == keys
    if reduce == "max":
        np.testing.assert_array_equal(got.scores, s)
    else:  # a mean of at most n summands, added in another order: n roundings of the largest
        bound = scores.size * np.finfo(np.float64).eps * float(np.max(np.abs(scores), initial=0.0))
        np.testing.assert_allclose(got.scores, s, rtol=1e-15, atol=bound)
    assert got.labels.tolist() == y
    assert got.sizes.sum() == scores.size


def _hashable(g):
    return (
        tuple(g)
        if isinstance(g, (list, tuple, np.ndarray))
        else g.item()
        if hasattr(g, "item")
        else g
    )


@settings(max_examples=60, deadline=None)
@given(st.data(), ranking_problems(max_size=60, both_classes=True))
def test_metrics_with_groups_equal_the_metrics_of_grouped_scores(data, problem):
    scores, labels = problem
    groups = _groups(data.draw, scores.size)
    g = am.group_scores(scores, groups, labels)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", am.UndefinedMetricWarning)
        for fn in (am.auroc, am.aupr, am.f1_max, am.f1_adaptive_threshold):
            got, want = fn(scores, labels, groups=groups), fn(g.scores, g.labels)
            assert got == want or (np.isnan(got) and np.isnan(want))
        got = am.f1_score(scores, labels, 0.3, groups=groups)
        want = am.f1_score(g.scores, g.labels, 0.3)
        assert got == want or (np.isnan(got) and np.isnan(want))
    if 0 < g.labels.sum() < g.labels.size:
        assert am.auroc(scores, labels, groups=groups) == pytest.approx(
            roc_auc_score(g.labels, g.scores), abs=1e-12
        )


def test_real_iad_sample_auroc_in_one_call():
    # 3 objects x 5 views; object 1 has one defective view with a middling score
    scores = np.array([0.1, 0.2, 0.1, 0.3, 0.2, 0.2, 0.6, 0.1, 0.1, 0.1, 0.5, 0.1, 0.1, 0.1, 0.1])
    labels = np.zeros(15, bool)
    labels[6] = True
    groups = np.repeat([10, 11, 12], 5)
    assert am.auroc(scores, labels, groups=groups) == 1.0
    assert am.auroc(scores, labels) == 1.0
    labels[6], labels[10] = False, True  # object 12 defective: its max 0.5 is below 11's 0.6
    assert am.auroc(scores, labels, groups=groups) == 0.5


def test_evaluate_with_groups():
    maps = np.zeros((4, 3, 3), np.float32)
    masks = np.zeros((4, 3, 3), bool)
    masks[1, 1, 1] = True
    maps[1, 1, 1] = 0.9
    maps[2, 0, 0] = 0.95  # a normal view of a normal object scores higher
    groups = ["a", "a", "b", "b"]  # sample a is defective (view 1), b normal
    out = am.evaluate(maps, masks, metrics=["image_auroc", "image_f1max", "aupro"], groups=groups)
    g = am.group_scores(maps.max(axis=(1, 2)), groups, masks.any(axis=(1, 2)))
    assert out["image_auroc"] == am.auroc(g.scores, g.labels) == 0.0
    assert out["image_f1max"] == am.f1_max(g.scores, g.labels)
    assert out["aupro"] == am.aupro(maps, masks)
    with pytest.raises(ValueError, match="`groups`"):
        am.evaluate(maps, masks, metrics=["aupro"], groups=[1, 2])


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: am.group_scores([1, 2], [1]), ValueError, "one label per image"),
        (lambda: am.group_scores([1, 2], [[1, 2]]), ValueError, "one label per image"),
        (lambda: am.group_scores([1, 2], np.ones((1, 2))), ValueError, "1-D"),
        (lambda: am.group_scores([1, 2], None), TypeError, "`groups`"),
        (lambda: am.group_scores([1, 2], [[1], [2]]), TypeError, "hashable"),
        (lambda: am.group_scores([1, 2], 5), TypeError, "`groups`"),
        (lambda: am.group_scores([1, 2], np.array([{}, {}])), TypeError, "hashable"),
        (lambda: am.group_scores([1, 2], [1.0, np.nan]), ValueError, "NaN"),
        (lambda: am.group_scores([1, 2], [1, 1], reduce="min"), ValueError, "`reduce`"),
        (lambda: am.group_scores([1, 2], [1, 1], [0]), ValueError, "`labels`"),
        (lambda: am.group_scores([1, np.nan], [1, 1]), ValueError, "finite"),
        (lambda: am.auroc([1, 2], [0, 1], groups=[1]), ValueError, "`groups`"),
        (lambda: am.auroc([1, 2], [0], groups=[1, 2]), ValueError, "same shape"),
        (lambda: am.f1_score([1, 2], [0, 2], groups=[1, 2]), ValueError, "`labels`"),
        (
            lambda: am.evaluate(np.zeros((2, 2, 2)), np.zeros((2, 2, 2)), groups=[1]),
            ValueError,
            "`groups`",
        ),
    ],
)
def test_error_table(call, error, match):
    with pytest.raises(error, match=match):
        call()
