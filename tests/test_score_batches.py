"""The private ``*_batches`` score paths (the torch classes' compute) equal the public functions
on the concatenation: same float, same warnings, same errors -- for every split, mixed dtypes
and bad batches. Independent references for the values themselves are in ``test_ranking.py``
and ``test_thresholds.py``; here the single-array function is the specification.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import anomaly_metrics as am
from anomaly_metrics import _f1, _ranking, _validation
from anomaly_metrics.testing import (
    scores_and_labels,
)

PAIRS = [
    (_ranking._auroc_batches, am.auroc, {}),
    (_ranking._auroc_batches, am.auroc, {"max_fpr": 0.3}),
    (_ranking._aupr_batches, am.aupr, {}),
    (lambda s, y: _f1._f1_max_batches(s, y)[0], am.f1_max, {}),
    (_f1._f1_adaptive_threshold_batches, am.f1_adaptive_threshold, {}),
    (lambda s, y: _f1._f1_score_batches(s, y, 0.25), lambda s, y: am.f1_score(s, y, 0.25), {}),
]
IDS = ["auroc", "auroc-max-fpr", "aupr", "f1-max", "f1-adaptive", "f1-score"]


def _outcome(fn, *args, **kwargs):
    """A call's value (nan as "nan") and warnings, or its exception type and message."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            value = fn(*args, **kwargs)
        except (ValueError, TypeError) as err:
            return ("raised", type(err), str(err))
    value = "nan" if math.isnan(value) else value
    return ("ok", value, [(w.category, str(w.message)) for w in caught])


def _split(a, cuts):
    return np.split(a, cuts) if cuts else [a]


@pytest.mark.parametrize(("batched", "single", "kwargs"), PAIRS, ids=IDS)
@settings(max_examples=60, deadline=None)
@given(problem=scores_and_labels(max_size=200), data=st.data())
def test_batches_equal_the_concatenation(batched, single, kwargs, problem, data):
    scores, labels = problem
    n = scores.size
    cuts = sorted(data.draw(st.sets(st.integers(1, n - 1), max_size=6))) if n > 1 else []
    got = _outcome(batched, _split(scores, cuts), _split(labels, cuts), **kwargs)
    assert got == _outcome(single, scores, labels, **kwargs)


@pytest.mark.parametrize(("batched", "single", "kwargs"), PAIRS, ids=IDS)
def test_mixed_dtypes_and_shapes_equal_the_concatenation(batched, single, kwargs):
    rng = np.random.default_rng(5)
    scores = [
        rng.normal(size=(3, 4)).astype(np.float16),
        rng.normal(size=7).astype(np.float32),
        rng.integers(-3, 3, size=(2, 2, 2)),
    ]
    labels = [
        rng.random((3, 4)) < 0.4,
        (rng.random(7) < 0.4).astype(np.uint8),
        rng.random((2, 2, 2)) < 0.4,
    ]
    whole = (
        np.concatenate([np.ravel(s) for s in scores]),
        np.concatenate([np.ravel(y) for y in labels]),
    )
    assert _outcome(batched, scores, labels, **kwargs) == _outcome(single, *whole, **kwargs)


BAD = [
    ("nan score", lambda s, y: ([s[0], np.array([np.nan, 1.0])], [y[0], np.array([0, 1])])),
    ("0/255 labels", lambda s, y: (s, [y[0], (y[1] * 255).astype(np.uint8)])),
    ("shape mismatch", lambda s, y: (s, [y[0], y[1][:-1]])),
    ("length mismatch", lambda s, y: (s, y[:1])),
    ("strings", lambda s, y: ([s[0], np.array(["a", "b"])], [y[0], np.array([0, 1])])),
    ("empty", lambda s, y: ([np.zeros(0)], [np.zeros(0, bool)])),
]


@pytest.mark.parametrize(("batched", "single", "kwargs"), PAIRS, ids=IDS)
@pytest.mark.parametrize(("name", "spoil"), BAD, ids=[b[0] for b in BAD])
def test_bad_batches_raise_the_single_array_error(batched, single, kwargs, name, spoil):
    rng = np.random.default_rng(1)
    s = [rng.random(6), rng.random(5)]
    y = [rng.random(6) < 0.5, (rng.random(5) < 0.5).astype(np.int64)]
    bs, by = spoil(s, y)
    got = _outcome(batched, bs, by, **kwargs)
    assert got[0] == "raised", name
    try:
        whole = np.concatenate([np.ravel(a) for a in bs]), np.concatenate([np.ravel(a) for a in by])
    except ValueError:  # batches that do not even concatenate: the message names the argument
        assert "`labels`" in got[2] or "`scores`" in got[2]
        return
    assert got == _outcome(single, *whole, **kwargs)


def test_large_batches_are_checked_in_place_without_copies():
    rng = np.random.default_rng(2)
    scores = [rng.random(300_000).astype(np.float32) for _ in range(4)]  # threaded checks
    labels = [rng.random(300_000) < 0.1 for _ in range(4)]
    checked_s, checked_y = _validation.check_score_batches(scores, labels)
    assert len(checked_s) == len(checked_y) == 4
    assert all(np.shares_memory(c, s) for c, s in zip(checked_s, scores))
    assert all(np.shares_memory(c, y) for c, y in zip(checked_y, labels))
    assert _ranking._auroc_batches(scores, labels) == am.auroc(
        np.concatenate(scores), np.concatenate(labels)
    )


def test_small_batches_are_concatenated(monkeypatch):
    """Below the threshold (restored here; the suite sets it to 0) one copy replaces many checks."""
    monkeypatch.setattr(_validation, "_CONCATENATE_BELOW", 1 << 16)
    rng = np.random.default_rng(3)
    scores = [rng.random(10) for _ in range(5)]
    labels = [rng.random(10) < 0.5 for _ in range(5)]
    checked_s, checked_y = _validation.check_score_batches(scores, labels)
    assert len(checked_s) == len(checked_y) == 1 and checked_s[0].shape == (50,)
    assert not np.shares_memory(checked_s[0], scores[0])
    whole = np.concatenate(scores), np.concatenate(labels)
    for batched, single, kwargs in PAIRS:
        assert _outcome(batched, scores, labels, **kwargs) == _outcome(single, *whole, **kwargs)
    maps = [rng.random((2, 8, 8)) for _ in range(3)]
    masks = [rng.random((2, 8, 8)) < 0.3 for _ in range(3)]
    checked_maps = _validation.check_map_batches(maps, masks)
    assert len(checked_maps) == 1 and checked_maps[0][0].shape == (6, 8, 8)


@pytest.mark.parametrize("seed", range(6))
def test_threaded_spans_cut_across_batches_give_the_same_counts(monkeypatch, seed):
    """Worker spans of the concatenation start and end inside batches (forced: 8 workers, small
    spans); the counts equal those of the concatenated array, field by field."""
    from anomaly_metrics import _counts

    rng = np.random.default_rng(seed)
    sizes = rng.integers(0, 400, size=rng.integers(1, 9))
    scores = [np.round(rng.normal(size=k), 1).astype(np.float32) for k in sizes]
    labels = [rng.random(k) < 0.3 for k in sizes]
    whole = np.concatenate(scores), np.concatenate(labels)
    if not whole[1].any():
        labels[0] = np.ones_like(labels[0]) if labels[0].size else labels[0]
        whole = np.concatenate(scores), np.concatenate(labels)
    expected = _counts._binary_counts(*whole)
    monkeypatch.setattr(_counts, "SCORES_PER_WORKER", 16)
    monkeypatch.setenv("ANOMALY_METRICS_NUM_THREADS", "8")
    for mode in ("positives", "all"):
        got = _counts._binary_counts(scores, labels, thresholds=mode)
        ref = _counts._binary_counts(*whole, thresholds=mode) if mode == "all" else expected
        for field in ("thresholds", "tp", "fp", "fp_above"):
            np.testing.assert_array_equal(getattr(got, field), getattr(ref, field))
        assert (got.n_pos, got.n_neg) == (ref.n_pos, ref.n_neg)
