"""Every public name of ``anomalib.metrics`` 2.7.0 imports from the same path here, and works.

The list below was written by reading anomalib 2.7.0's source (the wheel's ``anomalib/metrics``
tree), module by module: every class, function and module-level variable whose name does not
start with ``_``, plus the private metric classes (``_AUROC``, ``_PIMO``, ...) that users
subclass. It is not generated from an install. Not provided, on purpose (see the README):
``pimo._validate`` (a private module of validators) and ``StatsOutliersPolicy``, which anomalib's
``pimo.__all__`` lists but anomalib never defines.

Each name is imported from ``anomaly_metrics_torch.<the same module path>`` and exercised on a
tiny input, against values from anomalib's documentation and tests (its golden vectors) or a
count done by hand in the test.
"""

from __future__ import annotations

import importlib
import logging
import math
import warnings

import pytest
import torch
from torchmetrics import Metric

import anomaly_metrics_torch as amt

# module (relative to anomalib.metrics) -> public names anomalib 2.7.0 defines there
ANOMALIB_2_7_0 = {
    "": [
        "AUROC",
        "AUPR",
        "AUPRO",
        "AnomalibMetric",
        "AnomalyScoreDistribution",
        "BinaryPrecisionRecallCurve",
        "create_anomalib_metric",
        "Evaluator",
        "F1AdaptiveThreshold",
        "F1Max",
        "F1Score",
        "ManualThreshold",
        "MinMax",
        "PGn",
        "PBn",
        "PRO",
        "PIMO",
        "AUPIMO",
    ],
    "anomaly_score_distribution": ["AnomalyScoreDistribution"],
    "aupr": ["AUPR", "_AUPR"],
    "aupro": ["AUPRO", "_AUPRO"],
    "auroc": ["AUROC", "_AUROC"],
    "base": ["AnomalibMetric", "create_anomalib_metric"],
    "binning": ["thresholds_between_min_and_max", "thresholds_between_0_and_1"],
    "evaluator": ["logger", "Evaluator"],
    "f1_score": ["F1Score", "F1Max", "_F1Max"],
    "min_max": ["MinMax", "_MinMax"],
    "pg_pb": ["PGn", "PBn", "_PGn", "_PBn"],
    "pimo": ["ThresholdMethod", "PIMOResult", "AUPIMOResult", "PIMO", "AUPIMO"],
    "pimo.binary_classification_curve": [
        "logger",
        "ThresholdMethod",
        "binary_classification_curve",
        "threshold_and_binary_classification_curve",
        "per_image_tpr",
        "per_image_fpr",
    ],
    "pimo.dataclasses": ["PIMOResult", "AUPIMOResult"],
    "pimo.functional": [
        "logger",
        "pimo_curves",
        "aupimo_scores",
        "thresh_at_shared_fpr_level",
        "aupimo_normalizing_factor",
    ],
    "pimo.pimo": ["logger", "PIMO", "AUPIMO", "_PIMO", "_AUPIMO"],
    "pimo.utils": ["logger", "images_classes_from_masks"],
    "precision_recall_curve": ["BinaryPrecisionRecallCurve"],
    "pro": ["pro_score", "PRO", "_PRO"],
    "threshold": ["Threshold", "F1AdaptiveThreshold", "ManualThreshold"],
    "threshold.base": ["Threshold"],
    "threshold.f1_adaptive_threshold": [
        "logger",
        "handle_mac",
        "F1AdaptiveThreshold",
        "_F1AdaptiveThreshold",
    ],
    "threshold.manual_threshold": ["ManualThreshold"],
    "utils": ["plot_score_histogram", "plot_metric_curve"],
}

PAIRS = [(module, name) for module, names in ANOMALIB_2_7_0.items() for name in names]


def _import(module, name):
    path = "anomaly_metrics_torch" + (f".{module}" if module else "")
    return getattr(importlib.import_module(path), name)


# --------------------------------------------------------------------------------------------
# tiny inputs and the values anomalib documents for them

SCORES = torch.tensor([0.1, 0.2, 0.8, 0.9])
LABELS = torch.tensor([0, 0, 1, 1])
IMAGE = {"pred_score": SCORES, "gt_label": LABELS}


def _pimo_data():
    """A normal image and two anomalous ones with the same map (90 pixels at 1, 9 at 2, 1 at 3)."""
    image = torch.ones(10, 10)
    image[0, 0], image[0, 1:] = 3.0, 2.0
    masks = torch.zeros(3, 10, 10, dtype=torch.bool)
    masks[1], masks[2, 0] = True, True
    return torch.stack([image] * 3), masks


def _value(metric, *update_args):
    metric.update(*update_args)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return metric.compute()


def _check_metric_class(obj, name):
    """A metric class (public or private): construct it, feed a tiny input, read the value."""
    assert issubclass(obj, Metric)
    maps, masks = _pimo_data()
    public = not name.startswith("_")
    batch_fields = public and name not in ("BinaryPrecisionRecallCurve", "AnomalyScoreDistribution")
    image_fields = {"fields": ["pred_score", "gt_label"]} if batch_fields else {}

    def feed(metric, preds, target, fields):
        if batch_fields:
            return _value(metric, dict(zip(fields, (preds, target))))
        return _value(metric, preds, target)

    base = name.lstrip("_")
    if base in ("AUROC", "AUPR", "F1Max", "F1Score"):
        assert float(feed(obj(**image_fields), SCORES, LABELS, image_fields.get("fields"))) == 1.0
    elif base == "F1AdaptiveThreshold":
        got = feed(obj(**image_fields), SCORES, LABELS, image_fields.get("fields"))
        assert float(got) == pytest.approx(0.8)
    elif base in ("PGn", "PBn"):
        kw = {"fnr": 0.2} if base == "PGn" else {"fpr": 0.2}
        assert float(feed(obj(**kw), SCORES, LABELS, ["pred_score", "gt_label"])) == 1.0
    elif base == "MinMax":
        metric = obj(fields=["pred_score"]) if public else obj()
        value = _value(metric, {"pred_score": SCORES} if public else SCORES)
        assert value.tolist() == pytest.approx([0.1, 0.9])
    elif base in ("PRO", "AUPRO"):
        gt = torch.tensor([[[1, 1, 0], [0, 0, 0], [0, 1, 0]]])
        pred = torch.tensor([[[0.5, 0.6, 0.9], [0.1, 0.1, 0.1], [0.1, 0.4, 0.1]]])
        kw = {"fields": ["anomaly_map", "gt_mask"]} if public else {}
        value = float(feed(obj(**kw), pred, gt, ["anomaly_map", "gt_mask"]))
        if base == "PRO":
            assert value == 0.5  # region 1: 2 of 2 pixels at or above 0.5, region 2: 0 of 1
        else:
            assert 0.0 <= value <= 1.0
    elif base == "PIMO":
        result = feed(obj(num_thresholds=3), maps, masks, ["anomaly_map", "gt_mask"])
        assert result.thresholds.tolist() == [1.0, 2.0, 3.0]
        assert result.shared_fpr.tolist() == pytest.approx([1.0, 0.1, 0.01])
    elif base == "AUPIMO":
        metric = obj(num_thresholds=None, fpr_bounds=(0.01, 0.1), return_average=False)
        _, result = feed(metric, maps, masks, ["anomaly_map", "gt_mask"])
        assert result.aupimos.tolist()[1:] == pytest.approx([0.055, 0.55])
    elif base == "BinaryPrecisionRecallCurve":
        precision, recall, thresholds = _value(obj(), SCORES, LABELS)
        assert thresholds.tolist() == pytest.approx(SCORES.tolist())
        assert recall.tolist() == [1.0, 1.0, 1.0, 0.5, 0.0]
        assert precision.tolist() == pytest.approx([0.5, 2 / 3, 1.0, 1.0, 1.0])
    elif base == "AnomalyScoreDistribution":
        metric = obj()
        metric.update(anomaly_scores=torch.tensor([0.5, 1.0, 2.0, 4.0]))
        image_mean, image_std, _, _ = metric.compute()
        assert float(image_mean) == pytest.approx(0.34657359)
        assert float(image_std) == pytest.approx(0.89484918)
    elif base == "ManualThreshold":
        metric = obj(default_value=0.3)
        metric.update(SCORES, LABELS)
        assert float(metric.compute()) == 0.3
    else:  # pragma: no cover - a name without a check fails the test
        raise AssertionError(f"no behaviour check for {name}")


def _check_threshold_base(obj):
    assert issubclass(amt.F1AdaptiveThreshold, obj) and issubclass(amt.ManualThreshold, obj)
    with pytest.raises(NotImplementedError):
        obj().update(SCORES)
    with warnings.catch_warnings():  # torchmetrics' "compute before update" notice
        warnings.simplefilter("ignore")
        with pytest.raises(NotImplementedError):
            obj().compute()


def _binclf_by_hand(scores, gts, thresholds):
    """(N, K, 2, 2) counts from the definition: positive iff score >= threshold."""
    out = torch.zeros(scores.shape[0], len(thresholds), 2, 2, dtype=torch.int64)
    for i in range(scores.shape[0]):
        for k, t in enumerate(thresholds):
            for s, g in zip(scores[i].tolist(), gts[i].tolist()):
                out[i, k, int(g), int(s >= t)] += 1
    return out


def _check_function(module, name, obj):
    maps, masks = _pimo_data()
    if name == "thresholds_between_min_and_max":
        assert obj(torch.tensor([0.5, 1.5, 2.5]), 3).tolist() == [0.5, 1.5, 2.5]
    elif name == "thresholds_between_0_and_1":
        assert obj(5).tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    elif name == "binary_classification_curve":
        scores = torch.tensor([[0.1, 0.6, 0.9, 0.6], [0.2, 0.4, 0.5, 0.7]])
        gts = torch.tensor([[0, 1, 1, 0], [0, 0, 0, 1]], dtype=torch.bool)
        thresholds = [0.0, 0.5, 0.6, 0.95]
        got = obj(scores, gts, torch.tensor(thresholds))
        assert torch.equal(got, _binclf_by_hand(scores, gts, thresholds))
    elif name == "threshold_and_binary_classification_curve":
        thresholds, curves = obj(maps, masks, num_thresholds=3)
        assert thresholds.tolist() == [1.0, 2.0, 3.0]
        flat = maps.reshape(3, -1)
        assert torch.equal(curves, _binclf_by_hand(flat, masks.reshape(3, -1), [1.0, 2.0, 3.0]))
        given, _ = obj(maps, masks, "given", thresholds=torch.tensor([2.5]))
        assert given.tolist() == [2.5]
        with pytest.raises(NotImplementedError):
            obj(maps, masks, "mean-fpr-optimized")
    elif name in ("per_image_tpr", "per_image_fpr"):
        curves = torch.tensor([[[[6, 2], [1, 3]]], [[[8, 0], [0, 0]]]])  # (N=2, K=1, 2, 2)
        got = obj(curves)
        if name == "per_image_tpr":
            assert got[0].tolist() == [0.75] and math.isnan(float(got[1, 0]))
        else:
            assert got.tolist() == [[0.25], [0.0]]
        assert got.dtype == torch.float64
    elif name == "pimo_curves":
        thresholds, shared_fpr, tprs, classes = obj(maps, masks, 3)
        assert thresholds.tolist() == [1.0, 2.0, 3.0]
        assert shared_fpr.tolist() == pytest.approx([1.0, 0.1, 0.01])
        assert tprs[1].tolist() == pytest.approx([1.0, 0.1, 0.01])
        assert tprs[2].tolist() == pytest.approx([1.0, 1.0, 0.1])
        assert classes.tolist() == [0, 1, 1]
    elif name == "aupimo_scores":
        *curves, aupimos, num_points = obj(maps, masks, None, (0.01, 0.1), True)
        assert len(curves) == 4 and num_points >= 2
        assert math.isnan(float(aupimos[0])) and aupimos.tolist()[1:] == pytest.approx(
            [0.055, 0.55]
        )
    elif name == "thresh_at_shared_fpr_level":
        thresholds = torch.tensor([0.1, 0.5, 0.9])
        fpr = torch.tensor([1.0, 0.25, 0.0])
        idx, thresh, at = obj(thresholds, fpr, 0.3)
        assert (idx, float(thresh), float(at)) == (1, 0.5, 0.25)
        assert obj(thresholds, fpr, 0.0)[0] == 2 and obj(thresholds, fpr, 1.0)[0] == 0
        with pytest.raises(ValueError, match="fpr_level"):
            obj(thresholds, torch.tensor([0.5, 0.25, 0.1]), 0.05)
    elif name == "aupimo_normalizing_factor":
        assert obj((1e-5, 1e-4)) == pytest.approx(math.log(10))
    elif name == "images_classes_from_masks":
        assert obj(masks).tolist() == [0, 1, 1]
    elif name == "pro_score":
        comps = torch.tensor([[[1, 1, 0], [0, 0, 0], [0, 2, 0]]])
        pred = torch.tensor([[[0.5, 0.6, 0.9], [0.1, 0.1, 0.1], [0.1, 0.4, 0.1]]])
        assert float(obj(pred, comps)) == 0.5
    elif name == "handle_mac":
        metric = amt.F1AdaptiveThreshold(fields=["pred_score", "gt_label"])
        with obj(metric):
            metric.update(IMAGE)
        assert float(metric.compute()) == pytest.approx(0.8)
    elif name == "create_anomalib_metric":
        from torchmetrics.classification import BinaryAccuracy

        cls = obj(BinaryAccuracy)
        metric = cls(fields=["pred_label", "gt_label"])
        metric.update({"pred_label": torch.tensor([1, 0, 1]), "gt_label": torch.tensor([1, 0, 0])})
        assert float(metric.compute()) == pytest.approx(2 / 3)
    elif name == "plot_score_histogram":
        fig, ax = obj(SCORES, LABELS, bins=4)
        assert ax in fig.axes and ax.get_title() == "Score Histogram"
    elif name == "plot_metric_curve":
        x = torch.linspace(0, 1, 2500)
        fig, ax = obj(x, x, torch.tensor(0.5), (0, 1), (0, 1), "x", "y", "lower right", "T")
        (line,) = ax.get_lines()
        # anomalib's thinning: index 0, every (2500 // 1000)-th index, the last index
        assert line.get_color() == "darkorange" and len(line.get_xdata()) == 1 + 1250 + 1
        assert [t.get_text() for t in ax.get_legend().get_texts()] == ["AUC: 0.50"]
    else:  # pragma: no cover
        raise AssertionError(f"no behaviour check for {module}.{name}")


@pytest.mark.parametrize(("module", "name"), PAIRS, ids=[f"{m or '.'}:{n}" for m, n in PAIRS])
def test_name_imports_from_the_same_path_and_works(module, name):
    obj = _import(module, name)
    if name == "logger":
        assert isinstance(obj, logging.Logger)
    elif name == "Evaluator":
        evaluator = obj(test_metrics=amt.AUROC(fields=["pred_score", "gt_label"]))
        assert [m.name for m in evaluator.test_metrics] == ["AUROC"]
    elif name == "AnomalibMetric":
        assert issubclass(amt.AUROC, obj) and isinstance(amt.PGn(), obj)
    elif name == "ThresholdMethod":
        assert [m.value for m in obj] == ["given", "minmax-linspace", "mean-fpr-optimized"]
    elif name == "Threshold":
        _check_threshold_base(obj)
    elif name in ("PIMOResult", "AUPIMOResult"):
        assert obj is amt.PIMOResult or obj is amt.AUPIMOResult
    elif isinstance(obj, type):
        _check_metric_class(obj, name)
    else:
        _check_function(module, name, obj)


def test_same_objects_under_every_path():
    """A name anomalib exports from several modules is one object here too."""
    assert _import("", "AUROC") is _import("auroc", "AUROC")
    assert _import("threshold", "Threshold") is _import("threshold.base", "Threshold")
    assert _import("pimo", "PIMOResult") is _import("pimo.dataclasses", "PIMOResult")
    assert _import("pimo", "AUPIMO") is _import("pimo.pimo", "AUPIMO")
    assert _import("base", "AnomalibMetric") is amt.AnomalibMetric
    assert issubclass(amt.AUPIMO, _import("pimo.pimo", "_PIMO"))


def test_private_classes_can_be_subclassed():
    """Users subclass the private classes: a subclass keeps the behaviour."""
    from anomaly_metrics_torch.aupro import _AUPRO

    class Mine(_AUPRO):
        def compute(self):
            return super().compute() * 2

    metric = Mine(fpr_limit=1.0)
    metric.update(torch.tensor([[[0.5, 0.9], [0.2, 0.1]]]), torch.tensor([[[1, 0], [0, 0]]]))
    assert float(metric.compute()) == pytest.approx(2 * 2 / 3, abs=1e-6)


def test_pimo_results_carry_anomalib_fields():
    """The reproduction of the brief: AUPIMO's result has anomalib's fields and methods."""
    m = amt.AUPIMO(num_thresholds=1000, fpr_bounds=(1e-2, 1e-1), return_average=False, force=True)
    rng = torch.Generator().manual_seed(0)
    maps = torch.rand(2, 32, 32, generator=rng)
    masks = torch.zeros(2, 32, 32, dtype=torch.bool)
    masks[1, 8:16, 8:16] = True
    maps[masks] += 0.5
    m.update({"anomaly_map": maps, "gt_mask": masks})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pimo, r = m.compute()
    assert r.fpr_bounds == (1e-2, 1e-1)
    assert r.thresh_bounds == (r.thresh_lower_bound, r.thresh_upper_bound)
    assert r.thresh_lower_bound < r.thresh_upper_bound
    assert (r.num_images, r.num_normal_images, r.num_anomalous_images) == (2, 1, 1)
    assert r.image_classes.tolist() == [0, 1] and r.aupimos.dtype == torch.float64
    assert pimo.num_images == 2 and pimo.num_threshsholds == pimo.num_thresholds == 1000
    idx, thresh, fpr = pimo.thresh_at(0.05)
    assert float(pimo.thresholds[idx]) == thresh and float(pimo.shared_fpr[idx]) == fpr
    again = amt.AUPIMOResult.from_pimo_result(pimo, (1e-2, 1e-1), r.num_thresholds, r.aupimos)
    assert again.thresh_bounds == pytest.approx(r.thresh_bounds)
    assert again.image_classes.tolist() == [0, 1]
    # anomalib's constructors: three / six arguments, image classes deduced
    assert amt.PIMOResult(*pimo[:3]).image_classes.tolist() == [0, 1]
    assert amt.AUPIMOResult(*r[:6]).image_classes.tolist() == [0, 1]
    with pytest.raises(TypeError, match="AUPIMO scores"):
        amt.AUPIMOResult.from_pimo_result(pimo, (1e-2, 1e-1), 3, r.aupimos[:1])


def test_pimo_metric_properties():
    maps, masks = _pimo_data()
    metric = amt.PIMO(num_thresholds=3)
    metric.update({"anomaly_map": maps, "gt_mask": masks})
    metric.update({"anomaly_map": maps[:1], "gt_mask": masks[:1]})
    assert metric.num_images == 4 and metric.image_classes.tolist() == [0, 1, 1, 0]
    assert amt.AUPIMO.normalizing_factor((1e-5, 1e-4)) == pytest.approx(math.log(10))


@pytest.mark.parametrize("normal", [False, True])
def test_pimo_classes_on_one_image_sets_give_nan_results(normal):
    # one image: torchmetrics squeezes one-element results, and a set without a normal (or an
    # anomalous) image gives the core's nan results; the result classes must accept both
    maps = torch.tensor([[[0.5, 1.0, 1.5], [1.0, 1.0, 0.5], [1.0, 1.0, 0.5]]])
    gt = torch.zeros(maps.shape, dtype=torch.bool) if normal else maps >= 1.5
    pimo = amt.PIMO(fields=["anomaly_map", "gt_mask"], num_thresholds=None)
    aupimo = amt.AUPIMO(
        fields=["anomaly_map", "gt_mask"], num_thresholds=None, return_average=False
    )
    for m in (pimo, aupimo):
        m.update({"anomaly_map": maps, "gt_mask": gt})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        curves = pimo.compute()
        _, result = aupimo.compute()
    assert curves.num_images == 1 and curves.image_classes.tolist() == [0 if normal else 1]
    if not normal:  # no normal image: the shared FPR is undefined
        assert torch.isnan(curves.shared_fpr).all() and curves.num_threshsholds == 1
    assert result.num_images == 1 and torch.isnan(result.aupimos).all()
