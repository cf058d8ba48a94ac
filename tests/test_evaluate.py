"""evaluate(): every metric at once equals each metric computed on its own, and the references."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import average_precision_score, roc_auc_score

import anomaly_metrics as am
from anomaly_metrics._evaluate import METRICS
from anomaly_metrics.testing import (
    reference_aupro,
    reference_f1_max,
    reference_pbn,
    reference_pgn,
)

NON_PIMO = [m for m in METRICS if m != "aupimo"]


def _quiet(fn, *args, **kwargs):
    """Call `fn` with UndefinedMetricWarning / ValueError turned into nan (as evaluate does)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return fn(*args, **kwargs)
        except ValueError:
            return float("nan")


def _individual(maps, masks, image_scores=None, fpr_limit=0.3, names=METRICS):
    """Each metric in `names` from its own public function."""
    m = np.asarray(maps).reshape(-1, *np.asarray(maps).shape[-2:])
    g = np.asarray(masks).reshape(m.shape).astype(bool)
    labels = g.reshape(g.shape[0], -1).any(axis=1)
    scores = m.max(axis=(1, 2)) if image_scores is None else np.asarray(image_scores)
    table = {
        "image_auroc": lambda: am.auroc(scores, labels),
        "image_aupr": lambda: am.aupr(scores, labels),
        "image_f1max": lambda: am.f1_max(scores, labels),
        "pixel_auroc": lambda: am.auroc(m, g),
        "pixel_aupr": lambda: am.aupr(m, g),
        "pixel_f1max": lambda: am.f1_max(m, g),
        "aupro": lambda: am.aupro(m, g, fpr_limit=fpr_limit),
        "aupimo": lambda: am.aupimo(m, g).mean,
        "pgn": lambda: am.pgn(scores, labels),
        "pbn": lambda: am.pbn(scores, labels),
    }
    return {name: _quiet(table[name]) for name in names}


def _evaluate_quiet(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", am.UndefinedMetricWarning)
        return am.evaluate(*args, **kwargs)


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def _blobs(rng, n, h, w, p_anomalous=0.6):
    masks = np.zeros((n, h, w), bool)
    for i in range(n):
        if rng.random() < p_anomalous:
            for _ in range(rng.integers(1, 4)):
                y0, x0 = rng.integers(0, h), rng.integers(0, w)
                masks[i, y0 : y0 + rng.integers(1, 6), x0 : x0 + rng.integers(1, 6)] = True
    return masks


@st.composite
def segmentation_batches(draw):
    """(maps, masks): random sizes, blob / pixel / empty / full masks, heavy ties, f32 or f64."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    n = draw(st.integers(1, 6))
    h = draw(st.integers(1, 12))
    w = draw(st.integers(1, 12))
    kind = draw(st.sampled_from(("blobs", "pixels", "empty", "full", "mixed")))
    if kind == "blobs":
        masks = _blobs(rng, n, h, w)
    elif kind == "pixels":
        masks = rng.random((n, h, w)) < 0.2
    elif kind == "empty":
        masks = np.zeros((n, h, w), bool)
    elif kind == "full":
        masks = np.ones((n, h, w), bool)
    else:
        masks = _blobs(rng, n, h, w)
        masks[0] = True
    levels = draw(st.sampled_from((2, 5, 50, None)))
    maps = rng.normal(size=(n, h, w)) + 1.5 * masks
    if levels is not None:  # ties within and across classes
        maps = np.round(maps * levels / 4) / levels
    dtype = draw(st.sampled_from((np.float32, np.float64)))
    return maps.astype(dtype), masks


@given(segmentation_batches(), st.sampled_from((0.3, 0.05, 1.0)))
@settings(max_examples=60, deadline=None)
def test_evaluate_equals_individual_functions(batch, fpr_limit):
    maps, masks = batch
    got = _evaluate_quiet(maps, masks, metrics=NON_PIMO, fpr_limit=fpr_limit)
    want = _individual(maps, masks, fpr_limit=fpr_limit, names=NON_PIMO)
    assert list(got) == NON_PIMO
    for name in NON_PIMO:
        assert _same(got[name], want[name]), (name, got[name], want[name])
    alone = _evaluate_quiet(maps, masks, metrics=["aupro"], fpr_limit=fpr_limit)["aupro"]
    assert _same(alone, want["aupro"])  # AU-PRO alone takes aupro()'s own shortcut


@given(segmentation_batches())
@settings(max_examples=40, deadline=None)
def test_evaluate_against_independent_references(batch):
    maps, masks = batch
    got = _evaluate_quiet(maps, masks, metrics=NON_PIMO)
    flat_s = maps.astype(np.float64).ravel()
    flat_y = masks.ravel()
    img_s = maps.astype(np.float64).max(axis=(1, 2))
    img_y = masks.any(axis=(1, 2))
    if 0 < flat_y.sum() < flat_y.size:
        assert got["pixel_auroc"] == pytest.approx(roc_auc_score(flat_y, flat_s), abs=1e-12)
        assert got["pixel_aupr"] == pytest.approx(
            average_precision_score(flat_y, flat_s), abs=1e-12
        )
        assert got["pixel_f1max"] == pytest.approx(reference_f1_max(flat_s, flat_y)[0], abs=1e-12)
        assert got["aupro"] == pytest.approx(reference_aupro(maps, masks), abs=1e-9)
    else:
        assert math.isnan(got["pixel_auroc"]) and math.isnan(got["aupro"])
    if 0 < img_y.sum() < img_y.size:
        assert got["image_auroc"] == pytest.approx(roc_auc_score(img_y, img_s), abs=1e-12)
        assert got["image_aupr"] == pytest.approx(average_precision_score(img_y, img_s), abs=1e-12)
        assert got["pgn"] == pytest.approx(reference_pgn(img_s, img_y, 0.05), abs=1e-12)
        assert got["pbn"] == pytest.approx(reference_pbn(img_s, img_y, 0.05), abs=1e-12)
    else:
        assert math.isnan(got["image_auroc"]) and math.isnan(got["pgn"])


def _realistic(seed=0, n=12, size=64):
    rng = np.random.default_rng(seed)
    masks = _blobs(rng, n, size, size, p_anomalous=0.5)
    masks[0] = False
    masks[1, 10:20, 10:20] = True
    maps = (rng.normal(size=masks.shape) + 2.0 * masks).astype(np.float32)
    return maps, masks


def test_evaluate_all_metrics_with_aupimo():
    maps, masks = _realistic(n=16, size=128)  # enough normal pixels for FPR 1e-5
    assert (~masks.any(axis=(1, 2))).sum() * 128 * 128 >= 100_000
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # AUPIMO: bound not hit within 1 %
        got = am.evaluate(maps, masks, fpr_limit=0.3)
    assert list(got) == list(METRICS)
    want = _individual(maps, masks)
    for name in METRICS:
        assert _same(got[name], want[name]), name
    assert not math.isnan(got["aupimo"])
    assert all(isinstance(v, float) for v in got.values())


def test_evaluate_accepts_n1hw_and_int_masks():
    maps, masks = _realistic(1, n=5, size=16)
    a = _evaluate_quiet(maps[:, None], masks[:, None].astype(np.uint8), metrics=NON_PIMO)
    b = _evaluate_quiet(maps, masks, metrics=NON_PIMO)
    assert a == b


def test_evaluate_with_image_scores():
    maps, masks = _realistic(2)
    rng = np.random.default_rng(3)
    scores = rng.normal(size=maps.shape[0]) + masks.any(axis=(1, 2))
    got = am.evaluate(maps, masks, image_scores=scores, metrics=NON_PIMO)
    want = _individual(maps, masks, image_scores=scores, names=NON_PIMO)
    for name in NON_PIMO:
        assert _same(got[name], want[name]), name
    default = am.evaluate(maps, masks, metrics=["image_auroc", "pixel_auroc"])
    assert got["pixel_auroc"] == default["pixel_auroc"]


def test_subset_keeps_canonical_order_and_only_asked_metrics():
    maps, masks = _realistic()
    got = am.evaluate(maps, masks, metrics=["aupro", "image_auroc", "pgn"])
    assert list(got) == ["image_auroc", "aupro", "pgn"]
    assert list(am.evaluate(maps, masks, metrics="pixel_aupr")) == ["pixel_aupr"]


def test_golden_aupro_cases_through_evaluate():
    # anomalib-behaviour.md 8.5: one 2 x 2 image; and the 400 x 7 stripe case (1/6 - 1.04e-6)
    maps = np.array([[[0.5, 0.9], [0.2, 0.1]]])
    masks = np.array([[[1, 0], [0, 0]]])
    for limit, value in ((0.5, 1 / 3), (1.0, 2 / 3), (0.3, 0.0)):
        got = am.evaluate(maps, masks, metrics=["aupro"], fpr_limit=limit)["aupro"]
        assert got == pytest.approx(value, abs=1e-12)
    preds = (np.arange(2800) / 2800).reshape(1, 400, 7)
    stripes = np.zeros((1, 400, 7), bool)
    stripes[..., 3] = True
    got = am.evaluate(preds, stripes, metrics=["aupro"], fpr_limit=1 / 3)["aupro"]
    assert got == pytest.approx(1 / 6 - 1.04e-6, abs=2e-8)


def test_undefined_metrics_are_nan_with_named_warnings():
    maps = np.random.default_rng(0).random((3, 8, 8))
    masks = np.zeros(maps.shape, bool)
    with pytest.warns(am.UndefinedMetricWarning) as record:
        got = am.evaluate(maps, masks, metrics=NON_PIMO)
    assert all(math.isnan(v) for k, v in got.items() if k != "image_aupr")
    messages = " ".join(str(w.message) for w in record)
    for name in ("image_auroc", "pixel_auroc", "aupro", "pgn", "pbn"):
        assert f"{name}:" in messages


def test_aupimo_data_errors_become_nan_with_warning():
    maps, masks = _realistic(4, n=4, size=16)
    masks[:] = False
    masks[:, 2:5, 2:5] = True  # no normal image: AUPIMO is undefined
    with pytest.warns(am.UndefinedMetricWarning, match="aupimo:"):
        got = am.evaluate(maps, masks, metrics=["aupimo", "pixel_auroc"])
    assert math.isnan(got["aupimo"])
    assert got["pixel_auroc"] == am.auroc(maps, masks)


@pytest.mark.parametrize(
    ("kwargs", "exc", "fragment"),
    [
        ({"metrics": ["auroc"]}, ValueError, "image_auroc, image_aupr"),
        ({"metrics": ["image_auroc", "nope"]}, ValueError, "'nope'"),
        ({"metrics": []}, ValueError, "must not be empty"),
        ({"metrics": 3}, TypeError, "`metrics` must be a list"),
        ({"fpr_limit": 0.0}, ValueError, "`fpr_limit` must be in (0, 1]"),
        ({"fpr_limit": 1.5}, ValueError, "`fpr_limit` must be in (0, 1]"),
        ({"image_scores": [0.1, 0.2]}, ValueError, "one score per image"),
        ({"image_scores": [0.1, np.nan, 0.2]}, ValueError, "`image_scores` must be finite"),
    ],
)
def test_bad_options(kwargs, exc, fragment):
    maps, masks = _realistic(5, n=3, size=8)
    masks[0] = False
    masks[1, 1, 1] = True
    with pytest.raises(exc, match=None) as info:
        am.evaluate(maps, masks, **kwargs)
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    ("maps", "masks", "exc", "fragment"),
    [
        (np.zeros((2, 4, 4)), np.zeros((2, 4, 5)), ValueError, "same shape"),
        (np.zeros((2, 4, 4)), np.full((2, 4, 4), 255), ValueError, "masks > 0"),
        (np.full((2, 4, 4), np.nan), np.zeros((2, 4, 4)), ValueError, "must be finite"),
        (np.zeros((2, 2, 4, 4)), np.zeros((2, 2, 4, 4)), ValueError, "(N, H, W)"),
        (np.array([["a"]]), np.zeros((1, 1)), TypeError, "anomaly_maps"),
    ],
)
def test_bad_arrays(maps, masks, exc, fragment):
    with pytest.raises(exc) as info:
        am.evaluate(maps, masks)
    assert fragment in str(info.value)


def test_evaluate_aupimo_uses_the_defaults_of_aupimo():
    # evaluate skips aupimo's second input check with a private call that restates its defaults
    import inspect

    from anomaly_metrics import _pimo

    params = inspect.signature(am.aupimo).parameters
    defaults = tuple(params[n].default for n in ("fpr_bounds", "num_thresholds", "force"))
    assert defaults == ((1e-5, 1e-4), 300_000, False)
    assert "(1e-5, 1e-4), 300_000, False" in inspect.getsource(_pimo._aupimo_checked)
