"""``thresholds=`` equals torchmetrics' fixed-threshold mode; results are float32 unless asked.

The reference is torchmetrics itself (``BinaryPrecisionRecallCurve`` / ``BinaryROC`` with
``thresholds=``) on scores in [0, 1], where torchmetrics applies no sigmoid, and anomalib's
post-processing written out here from anomalib's source (the step sum of AUPR, the F1 argmax
of F1AdaptiveThreshold, the trapezoid of AUROC). Also: the result dtype setting, and the
mechanism that makes our Evaluator a subclass of anomalib's when anomalib is installed.
"""

from __future__ import annotations

import sys
import types
import warnings
from fractions import Fraction

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torchmetrics.classification import BinaryPrecisionRecallCurve as TMCurve
from torchmetrics.classification import BinaryROC as TMROC

import anomaly_metrics as am
import anomaly_metrics_torch as amt

FIELDS = ["pred_score", "gt_label"]
THRESHOLDS = [7, [0.0, 0.2, 0.45, 0.5, 0.9], torch.tensor([0.1, 0.35, 0.5, 0.75])]


@st.composite
def unit_batches(draw):
    """1-3 batches of scores in [0, 1] on a 1/16 grid (ties, values on the thresholds)."""
    batches = []
    for _ in range(draw(st.integers(1, 3))):
        n = draw(st.integers(1, 12))
        scores = draw(st.lists(st.integers(0, 16), min_size=n, max_size=n))
        labels = draw(st.lists(st.booleans(), min_size=n, max_size=n))
        batches.append(
            (torch.tensor(scores, dtype=torch.float32) / 16, torch.tensor(labels, dtype=torch.long))
        )
    return batches


def _theirs(batches, thresholds, cls=TMCurve):
    metric = cls(thresholds=thresholds)
    for s, y in batches:
        metric.update(s, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return metric.compute()


def _ours(make, batches):
    metric = make()
    for s, y in batches:
        metric.update({"pred_score": s, "gt_label": y})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return metric.compute(), metric


def _close(a, b):
    np.testing.assert_allclose(
        torch.as_tensor(a, dtype=torch.float64).numpy(),
        torch.as_tensor(b, dtype=torch.float64).numpy(),
        rtol=0,
        atol=1e-6,
        equal_nan=True,
    )


@settings(max_examples=25, deadline=None)
@given(batches=unit_batches(), which=st.integers(0, len(THRESHOLDS) - 1))
def test_pr_curve_equals_torchmetrics(batches, which):
    thresholds = THRESHOLDS[which]
    metric = amt.BinaryPrecisionRecallCurve(thresholds=thresholds)
    for s, y in batches:
        metric.update(s, y)
    ours = metric.compute()
    theirs = _theirs(batches, thresholds)
    for mine, want in zip(ours, theirs):
        assert mine.dtype == torch.float32
        _close(mine, want)


@settings(max_examples=25, deadline=None)
@given(batches=unit_batches(), which=st.integers(0, len(THRESHOLDS) - 1))
def test_auroc_aupr_f1_threshold_equal_anomalib_formulas_on_torchmetrics_curves(batches, which):
    thresholds = THRESHOLDS[which]
    fpr, tpr, _ = _theirs(batches, thresholds, TMROC)
    x, order = torch.sort(fpr.double(), stable=True)  # torchmetrics' auc(reorder=True)
    auroc = torch.trapezoid(tpr.double()[order], x)
    ours, _ = _ours(lambda: amt.AUROC(fields=FIELDS, thresholds=thresholds), batches)
    _close(ours, auroc)

    precision, recall, t = _theirs(batches, thresholds)
    p, r = torch.nan_to_num(precision.double()), torch.nan_to_num(recall.double())
    aupr = -torch.sum((r[1:] - r[:-1]) * p[:-1])
    ours, _ = _ours(lambda: amt.AUPR(fields=FIELDS, thresholds=thresholds), batches)
    _close(ours, aupr)

    labels = torch.cat([y for _, y in batches])
    ours, metric = _ours(
        lambda: amt.F1AdaptiveThreshold(fields=FIELDS, thresholds=thresholds), batches
    )
    if bool((labels == 0).all()):
        want = t[-1]
    elif bool((labels == 1).all()):
        want = t[0]
    else:
        f1 = torch.nan_to_num(2 * precision * recall / (precision + recall + 1e-10), nan=0.0)
        want = t[torch.argmax(f1)]
        # anomalib's float32 formula breaks exact ties by rounding; ours takes the lowest of the
        # thresholds with the exact maximum F1 (2 tp / (2 tp + fp + fn), in fractions)
        scores = torch.cat([s for s, _ in batches]).double()
        positive = labels.bool()
        exact = []
        for th in t.double():
            tp = int((positive & (scores >= th)).sum())
            fp = int((~positive & (scores >= th)).sum())
            fn = int((positive & (scores < th)).sum())
            exact.append(Fraction(2 * tp, 2 * tp + fp + fn) if tp + fp + fn else Fraction(0))
        best = max(exact)
        assert exact[int(torch.argmax(f1))] == best  # anomalib's pick is an exact maximum too
        want = min(float(th) for th, e in zip(t, exact) if e == best)
    _close(ours, want)
    assert torch.equal(metric.value, ours)


def test_fixed_thresholds_state_is_summed_counts():
    metric = amt.AUROC(fields=FIELDS, thresholds=[0.25, 0.5])
    metric.update(
        {"pred_score": torch.tensor([0.1, 0.5, 0.7]), "gt_label": torch.tensor([0, 1, 1])}
    )
    metric.update({"pred_score": torch.tensor([0.3]), "gt_label": torch.tensor([0])})
    # [[tn, fp], [fn, tp]] per threshold: at 0.25 the negative 0.3 is a false positive
    assert metric.confmat.tolist() == [[[1, 1], [0, 2]], [[2, 0], [0, 2]]]
    assert metric.thresholds.tolist() == [0.25, 0.5]
    metric.reset()
    assert int(metric.confmat.sum()) == 0
    with pytest.raises(ValueError, match="keeps confusion counts"):
        metric.generate_figure()


def test_scores_outside_unit_interval_get_no_sigmoid():
    """Thresholds apply to raw scores (torchmetrics would map these through a sigmoid)."""
    curve = amt.BinaryPrecisionRecallCurve(thresholds=[0.0, 2.0, 5.0])
    curve.update(torch.tensor([-1.0, 1.0, 3.0, 4.0]), torch.tensor([0, 0, 1, 1]))
    precision, recall, _ = curve.compute()
    assert recall.tolist() == [1.0, 1.0, 0.0, 0.0]
    assert precision[:2].tolist() == [np.float32(2 / 3), 1.0] and torch.isnan(precision[2])


def test_one_class_fallbacks_warn():
    metric = amt.F1AdaptiveThreshold(fields=FIELDS, thresholds=[0.0, 0.5, 1.0])
    metric.update({"pred_score": torch.tensor([0.2, 0.9]), "gt_label": torch.tensor([1, 1])})
    with pytest.warns(am.UndefinedMetricWarning, match="No normal samples"):
        assert float(metric.compute()) == 0.0


# --------------------------------------------------------------------------------------------
# result dtype


def _auroc(**kwargs):
    metric = amt.AUROC(fields=FIELDS, **kwargs)
    scores = torch.tensor([0.13, 0.26, 0.08, 0.92, 0.03], dtype=torch.float64)
    metric.update({"pred_score": scores, "gt_label": torch.tensor([0, 0, 1, 1, 0])})
    return metric


def test_float32_by_default_and_float64_on_request():
    exact = am.auroc([0.13, 0.26, 0.08, 0.92, 0.03], [0, 0, 1, 1, 0])
    value = _auroc().compute()
    assert amt.get_result_dtype() == torch.float32
    assert value.dtype == torch.float32 and float(value) == float(np.float32(exact))
    amt.set_result_dtype(torch.float64)
    try:
        value = _auroc().compute()
        assert value.dtype == torch.float64 and float(value) == exact
    finally:
        amt.set_result_dtype(torch.float32)
    with amt.result_dtype(torch.float64):
        assert _auroc().compute().dtype == torch.float64
    assert amt.get_result_dtype() == torch.float32
    with pytest.raises(ValueError, match=r"`dtype` must be torch\.float32 or torch\.float64"):
        amt.set_result_dtype(torch.float16)


def test_anomalib_float64_results_stay_float64():
    """Where anomalib returns float64 (PIMO rates, AUPIMO, ManualThreshold), so do we."""
    image = torch.ones(10, 10)
    image[0, 0], image[0, 1:] = 3.0, 2.0
    masks = torch.zeros(3, 10, 10, dtype=torch.bool)
    masks[1], masks[2, 0] = True, True
    batch = {"anomaly_map": torch.stack([image] * 3), "gt_mask": masks}
    pimo = amt.PIMO(num_thresholds=3)
    pimo.update(batch)
    result = pimo.compute()
    assert result.thresholds.dtype == torch.float32  # the maps' dtype, as anomalib
    assert result.shared_fpr.dtype == result.per_image_tprs.dtype == torch.float64
    aupimo = amt.AUPIMO(num_thresholds=None, fpr_bounds=(0.01, 0.1))
    aupimo.update(batch)
    assert aupimo.compute().dtype == torch.float64
    manual = amt.ManualThreshold()
    manual.update()
    assert manual.compute().dtype == torch.float64


# --------------------------------------------------------------------------------------------
# Evaluator: a subclass of anomalib's when anomalib is installed


def test_evaluator_bases_use_the_installed_package(monkeypatch):
    """A stand-in package with anomalib's layout: its Evaluator becomes the base."""
    from lightning.pytorch import Callback

    from anomaly_metrics_torch.evaluator import evaluator_bases

    class TheirEvaluator(nn.Module, Callback):
        pass

    package = types.ModuleType("fake_anomalib")
    package.__path__ = []  # a package, so find_spec finds it
    package.__spec__ = importlib_spec("fake_anomalib")
    metrics = types.ModuleType("fake_anomalib.metrics")
    evaluator = types.ModuleType("fake_anomalib.metrics.evaluator")
    evaluator.Evaluator = TheirEvaluator
    for module in (package, metrics, evaluator):
        monkeypatch.setitem(sys.modules, module.__name__, module)
    assert evaluator_bases("fake_anomalib") == (TheirEvaluator,)
    # an installed package whose Evaluator does not import: our own bases
    monkeypatch.delitem(sys.modules, "fake_anomalib.metrics.evaluator")
    monkeypatch.setitem(sys.modules, "fake_anomalib.metrics", None)  # import raises
    assert evaluator_bases("fake_anomalib") == (nn.Module, Callback)
    assert evaluator_bases("surely_not_installed_pkg") == (nn.Module, Callback)


def importlib_spec(name):
    import importlib.machinery

    return importlib.machinery.ModuleSpec(name, None, is_package=True)


def test_evaluator_without_anomalib_is_ours_and_imports_no_anomalib():
    assert "anomalib" not in sys.modules  # not installed in the test environment
    evaluator = amt.Evaluator(val_metrics=amt.AUROC(fields=FIELDS))
    assert isinstance(evaluator, nn.Module) and len(evaluator.val_metrics) == 1
    assert "anomalib" not in sys.modules
