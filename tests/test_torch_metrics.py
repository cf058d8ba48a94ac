"""The torch classes equal the core functions, batch by batch, and behave as torchmetrics metrics.

For every class: updates in uneven batches give exactly the core function's value on the
concatenated data (the same float64 number, including nan with the same warning); reset()
restores every state; pickling and state_dict round trips keep the value; anomalib's batch-field
rules hold. CUDA checks run when a GPU is present and are skipped otherwise.
"""

from __future__ import annotations

import itertools
import math
import pickle
import warnings
from dataclasses import dataclass

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import anomaly_metrics as am
import anomaly_metrics_torch as amt

CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@pytest.fixture(autouse=True, scope="module")
def _float64_results():
    """Compare with the core's float64 values bit for bit: every result in float64 here.

    The float32 default (the same values rounded once) is tested in test_torch_result_dtype.py.
    """
    with amt.result_dtype(torch.float64):
        yield


# --------------------------------------------------------------------------------------------
# data


def _scores_labels(seed, n=57, distinct=16, p=0.35):
    rng = np.random.default_rng(seed)
    scores = (rng.integers(0, distinct, n) / distinct).astype(np.float32)  # heavy ties
    labels = rng.random(n) < p
    labels[0], labels[-1] = True, False
    return scores, labels


def _maps_masks(seed, n=5, h=7, w=9):
    rng = np.random.default_rng(seed)
    maps = (rng.integers(0, 64, (n, h, w)) / 64).astype(np.float32)
    masks = np.zeros((n, h, w), bool)
    for i in range(1, n):  # image 0 is normal; others get one or two rectangles
        for _ in range(rng.integers(1, 3)):
            r, c = rng.integers(0, h - 2), rng.integers(0, w - 2)
            masks[i, r : r + rng.integers(1, 3), c : c + rng.integers(1, 4)] = True
    maps[masks] += 0.25  # defects score higher, with overlap
    return maps, masks


SPLITS = (0, 1, 10, 31, 57)  # uneven batches: 1, 9, 21, 26
MAP_SPLITS = (0, 2, 3, 5)


def _batches(arrays, splits, names):
    for a, b in itertools.pairwise(splits):
        yield {k: torch.from_numpy(np.ascontiguousarray(v[a:b])) for k, v in zip(names, arrays)}


def _call(fn, *args, **kwargs):
    """(result, [UndefinedMetricWarning messages]) of fn."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = fn(*args, **kwargs)
    return value, sorted(
        str(w.message) for w in caught if issubclass(w.category, am.UndefinedMetricWarning)
    )


def _same(a, b):
    """Exact equality of floats / arrays / tensors / tuples of them, nan equal to nan."""
    if isinstance(a, (tuple, list)) and not isinstance(a, torch.Tensor):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _same(x, y)
        return
    a = a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)
    b = b.detach().cpu().numpy() if isinstance(b, torch.Tensor) else np.asarray(b)
    np.testing.assert_array_equal(a.astype(np.float64), np.asarray(b, np.float64).squeeze())


# --------------------------------------------------------------------------------------------
# registry: (factory, batch field names, data kind, core function of the concatenated arrays)


@dataclass
class Case:
    id: str
    make: object
    fields: tuple
    kind: str  # "scores" or "maps"
    core: object
    per_batch: bool = True  # defined on every single batch (forward returns a batch value)


SCORE_FIELDS = ("pred_score", "gt_label")
MAP_FIELDS = ("anomaly_map", "gt_mask")

CASES = [
    Case("AUROC", lambda: amt.AUROC(fields=SCORE_FIELDS), SCORE_FIELDS, "scores", am.auroc),
    Case("AUPR", lambda: amt.AUPR(fields=SCORE_FIELDS), SCORE_FIELDS, "scores", am.aupr),
    Case(
        "F1Score",
        lambda: amt.F1Score(fields=SCORE_FIELDS, threshold=0.4375),
        SCORE_FIELDS,
        "scores",
        lambda s, y: am.f1_score(s, y, 0.4375),
    ),
    Case("F1Max", lambda: amt.F1Max(fields=SCORE_FIELDS), SCORE_FIELDS, "scores", am.f1_max),
    Case(
        "F1AdaptiveThreshold",
        lambda: amt.F1AdaptiveThreshold(fields=SCORE_FIELDS),
        SCORE_FIELDS,
        "scores",
        am.f1_adaptive_threshold,
    ),
    Case("PGn", lambda: amt.PGn(fnr=0.2), SCORE_FIELDS, "scores", lambda s, y: am.pgn(s, y, 0.2)),
    Case("PBn", lambda: amt.PBn(fpr=0.1), SCORE_FIELDS, "scores", lambda s, y: am.pbn(s, y, 0.1)),
    Case(
        "MinMax",
        lambda: amt.MinMax(fields=["pred_score"]),
        ("pred_score",),
        "scores",
        lambda s: tuple(am.min_max(s)),
    ),
    Case("pixel-AUROC", lambda: amt.AUROC(fields=MAP_FIELDS), MAP_FIELDS, "maps", am.auroc),
    Case(
        "pixel-MinMax",
        lambda: amt.MinMax(fields=["anomaly_map"]),
        ("anomaly_map",),
        "maps",
        lambda m: tuple(am.min_max(m)),
    ),
    Case(
        "AUPRO",
        lambda: amt.AUPRO(fields=MAP_FIELDS, fpr_limit=0.3),
        MAP_FIELDS,
        "maps",
        lambda m, k: am.aupro(m, k, fpr_limit=0.3),
    ),
    Case(
        "PRO",
        lambda: amt.PRO(fields=MAP_FIELDS, threshold=0.5),
        MAP_FIELDS,
        "maps",
        lambda m, k: am.pro(m, k, threshold=0.5),
    ),
    Case(
        "PIMO",
        lambda: amt.PIMO(num_thresholds=50),
        MAP_FIELDS,
        "maps",
        lambda m, k: am.pimo_curves(m, k, num_thresholds=50),
        per_batch=False,  # a batch without a normal image has no shared FPR
    ),
    Case(
        "PIMO-exact",
        lambda: amt.PIMO(num_thresholds=None),
        MAP_FIELDS,
        "maps",
        lambda m, k: am.pimo_curves(m, k, num_thresholds=None),
        per_batch=False,
    ),
    Case(
        "AUPIMO",
        lambda: amt.AUPIMO(num_thresholds=500, fpr_bounds=(0.05, 0.5), force=True),
        MAP_FIELDS,
        "maps",
        lambda m, k: am.aupimo(m, k, fpr_bounds=(0.05, 0.5), num_thresholds=500, force=True).mean,
        per_batch=False,
    ),
    Case(
        "AUPIMO-exact",
        lambda: amt.AUPIMO(num_thresholds=None, fpr_bounds=(0.05, 0.5)),
        MAP_FIELDS,
        "maps",
        lambda m, k: am.aupimo(m, k, fpr_bounds=(0.05, 0.5), num_thresholds=None).mean,
        per_batch=False,
    ),
]


def _data(case, seed=0):
    if case.kind == "scores":
        arrays, splits = _scores_labels(seed), SPLITS
    else:
        arrays, splits = _maps_masks(seed), MAP_SPLITS
    return arrays[: len(case.fields)], splits


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_batched_updates_equal_the_core(case):
    arrays, splits = _data(case)
    metric = case.make()
    for batch in _batches(arrays, splits, case.fields):
        metric.update(batch)
    value, warned = _call(metric.compute)
    expected, expected_warned = _call(case.core, *arrays)
    _same(value, expected)
    assert warned == expected_warned
    if isinstance(value, torch.Tensor):
        assert value.dtype == torch.float64


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_reset_clears_every_state(case):
    arrays, splits = _data(case)
    metric = case.make()
    for batch in _batches(arrays, splits, case.fields):
        metric.update(batch)
    _call(metric.compute)
    metric.reset()
    assert metric._update_count == 0 and not metric.update_called
    for key, default in metric._defaults.items():
        state = getattr(metric, key)
        if isinstance(default, list):
            assert state == []
        else:
            assert torch.equal(state, default)
    # only the new data count
    other, _ = _data(case, seed=1)
    metric.update(dict(zip(case.fields, (torch.from_numpy(a) for a in other))))
    _same(_call(metric.compute)[0], _call(case.core, *other)[0])


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_pickle_and_state_dict_round_trips(case):
    arrays, splits = _data(case)
    metric = case.make()
    for batch in _batches(arrays, splits, case.fields):
        metric.update(batch)
    expected = _call(case.core, *arrays)[0]

    clone = pickle.loads(pickle.dumps(metric))
    _same(_call(clone.compute)[0], expected)

    metric.persistent(True)  # list states are saved only on request (they hold the data)
    state = metric.state_dict()
    assert state, "persistent states appear in the state_dict"
    fresh = case.make()
    fresh.persistent(True)
    fresh.load_state_dict(state)
    _same(_call(fresh.compute)[0], expected)

    # default: the data stay out of checkpoints, and an empty state_dict loads
    assert case.make().state_dict() == {}
    case.make().load_state_dict(case.make().state_dict())


@pytest.mark.parametrize("case", [c for c in CASES if c.per_batch], ids=lambda c: c.id)
def test_forward_returns_the_batch_value_and_accumulates(case):
    arrays, splits = _data(case)
    metric = case.make()
    batches = list(_batches(arrays, splits, case.fields))
    for batch in batches:
        batch_value, _ = _call(metric, batch)
        batch_arrays = [batch[f].numpy() for f in case.fields]
        _same(batch_value, _call(case.core, *batch_arrays)[0])
    _same(_call(metric.compute)[0], _call(case.core, *arrays)[0])


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_object_batches_and_dict_batches_agree(case):
    arrays, _ = _data(case)

    class Batch:  # anything with the attributes works (anomalib's ImageBatch included)
        pass

    batch = Batch()
    for name, a in zip(case.fields, arrays):
        setattr(batch, name, torch.from_numpy(a))
    by_attr, by_key = case.make(), case.make()
    by_attr.update(batch)
    by_key.update({name: torch.from_numpy(a) for name, a in zip(case.fields, arrays)})
    _same(_call(by_attr.compute)[0], _call(by_key.compute)[0])


# --------------------------------------------------------------------------------------------
# property test over random sizes, ties, one class and splits (score-level classes)


@st.composite
def _split_problems(draw):
    n = draw(st.integers(1, 80))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    distinct = draw(st.sampled_from((1, 2, 5, 32, 1000)))
    dtype = draw(st.sampled_from((np.float32, np.float64, np.float16)))
    scores = (rng.integers(0, distinct, n) / distinct * 4 - 1).astype(dtype)  # raw, out of [0,1]
    p = draw(st.sampled_from((0.0, 0.1, 0.5, 1.0)))
    labels = rng.random(n) < p
    cuts = sorted(set(draw(st.lists(st.integers(0, n), max_size=4))) | {0, n})
    return scores, labels, tuple(cuts)


SCORE_CASES = [c for c in CASES if c.kind == "scores"]


@settings(max_examples=30, deadline=None)
@given(problem=_split_problems())
def test_property_every_score_class_equals_the_core(problem):
    scores, labels, cuts = problem
    for case in SCORE_CASES:
        arrays = (scores, labels)[: len(case.fields)]
        metric = case.make()
        for batch in _batches(arrays, cuts, case.fields):
            metric.update(batch)
        value, warned = _call(metric.compute)
        expected, expected_warned = _call(case.core, *arrays)
        _same(value, expected)
        assert warned == expected_warned, case.id


# --------------------------------------------------------------------------------------------
# attributes users read, names, defaults


def test_f1max_threshold_and_f1adaptive_value():
    scores, labels = _scores_labels(3)
    f1max = amt.F1Max(fields=SCORE_FIELDS)
    adaptive = amt.F1AdaptiveThreshold(fields=SCORE_FIELDS)
    batch = {"pred_score": torch.from_numpy(scores), "gt_label": torch.from_numpy(labels)}
    f1max.update(batch)
    adaptive.update(batch)
    value = f1max.compute()
    assert float(value) == am.f1_max(scores, labels)
    assert float(f1max.threshold) == am.f1_adaptive_threshold(scores, labels)
    assert float(adaptive.compute()) == float(f1max.threshold)
    assert float(adaptive.value) == float(f1max.threshold)
    # the threshold reproduces the maximum through F1Score (>= on the same scores)
    assert am.f1_score(scores, labels, float(f1max.threshold)) == float(value)


def test_f1max_threshold_is_nan_when_undefined():
    f1max = amt.F1Max(fields=SCORE_FIELDS)
    f1max.update({"pred_score": torch.tensor([0.1, 0.7]), "gt_label": torch.tensor([0, 0])})
    with pytest.warns(am.UndefinedMetricWarning):
        assert math.isnan(float(f1max.compute()))
    assert math.isnan(float(f1max.threshold))


def test_names_prefix_and_default_fields():
    assert amt.AUROC(fields=SCORE_FIELDS, prefix="image_").name == "image_AUROC"
    assert amt.PGn().name == "PG5" and amt.PBn().name == "PB5"
    assert amt.PGn(prefix="image_", fnr=0.2).name == "image_PG20"
    assert amt.PBn(prefix="pixel_", fpr=0.07).name == "pixel_PB7"
    assert amt.PGn().fields == ("pred_score", "gt_label")
    assert amt.PIMO(num_thresholds=10).fields == ("anomaly_map", "gt_mask")
    assert amt.AUPIMO().fields == ("anomaly_map", "gt_mask")
    assert amt.AUPIMO().num_thresholds == 300_000
    assert repr(amt.AUPIMO()) == "AUPIMO([1e-05, 0.0001])"
    assert amt.AUPRO(fields=MAP_FIELDS).fpr_limit == 0.3
    fields = ["pred_score", "gt_label"]
    assert amt.AUROC(fields=fields).fields is fields  # stored as given
    with pytest.raises(ValueError, match="Batch fields must be provided"):
        amt.AUROC(fields=[])  # empty falls back to the (absent) defaults


def test_aupimo_full_result_equals_the_core():
    maps, masks = _maps_masks(6)
    metric = amt.AUPIMO(num_thresholds=500, fpr_bounds=(0.05, 0.5), return_average=False)
    for batch in _batches((maps, masks), MAP_SPLITS, MAP_FIELDS):
        metric.update(batch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # few curve points (anomalib's notice)
        pimo, result = metric.compute()
        core = am.aupimo(maps, masks, fpr_bounds=(0.05, 0.5), num_thresholds=500)
        curves = am.pimo_curves(maps, masks, num_thresholds=500)
    _same(tuple(pimo), tuple(curves))
    _same(result.aupimos, core.per_image)
    assert (result.fpr_lower_bound, result.fpr_upper_bound) == core.fpr_bounds
    assert (result.thresh_lower_bound, result.thresh_upper_bound) == core.threshold_bounds
    assert result.num_thresholds == core.num_points
    assert result.image_classes.tolist() == core.image_classes.tolist() == [0, 1, 1, 1, 1]
    assert (result.num_normal_images, result.num_anomalous_images) == (1, 4)
    assert result.image_classes.dtype == torch.int32


def test_manual_threshold():
    metric = amt.ManualThreshold()
    metric.update(torch.tensor([0.1, 0.9]), torch.tensor([0, 1]))
    value = metric.compute()
    assert value.dtype == torch.float64 and float(value) == 0.5
    assert "value" in metric.state_dict()
    other = amt.ManualThreshold(default_value=0.25)
    other.load_state_dict(metric.state_dict())
    with pytest.warns(UserWarning, match="before the ``update``"):  # torchmetrics' notice
        assert float(other.compute()) == 0.5


def test_minmax_before_any_update_and_across_dtypes():
    metric = amt.MinMax(fields=["pred_score"])
    with pytest.warns(UserWarning, match="before the ``update``"):
        assert metric.compute().tolist() == [math.inf, -math.inf]
    metric.reset()
    big = np.float64(1.0) + np.finfo(np.float64).eps  # rounds away in float32
    metric.update({"pred_score": torch.tensor([big, 0.5], dtype=torch.float64)})
    metric.update({"pred_score": torch.tensor([2, -3])})
    metric.update({"pred_score": torch.tensor([True, False])})
    assert metric.compute().tolist() == [-3.0, 2.0]
    metric.reset()
    metric.update({"pred_score": torch.tensor([big], dtype=torch.float64)})
    assert metric.compute().tolist() == [big, big]


def test_anomaly_score_distribution_equals_core_and_reset_clears():
    rng = np.random.default_rng(4)
    scores = rng.uniform(0.1, 3, 9).astype(np.float32)
    maps = rng.uniform(0.1, 3, (9, 4, 5)).astype(np.float32)
    labels = rng.random(9) < 0.5
    metric = amt.AnomalyScoreDistribution()
    for a, b in ((0, 2), (2, 3), (3, 9)):
        metric.update(
            anomaly_scores=torch.from_numpy(scores[a:b]),
            anomaly_maps=torch.from_numpy(maps[a:b]),
            labels=torch.from_numpy(labels[a:b]),
        )
    result = metric.compute()
    expected = am.score_distribution(scores, maps)
    _same(result, tuple(expected))
    assert float(metric.image_mean) == expected.image_mean
    assert torch.equal(metric.pixel_std, result[3])
    metric.reset()  # anomalib keeps the data; here they go
    assert metric.anomaly_scores == [] and metric.anomaly_maps == [] and metric.labels == []
    assert metric.image_mean.numel() == 0 and metric.pixel_mean.numel() == 0
    metric.update(anomaly_scores=torch.tensor([1.0, 2.0]))
    image_mean, image_std, pixel_mean, pixel_std = metric.compute()
    _same((image_mean, image_std), tuple(am.score_distribution([1.0, 2.0]))[:2])
    assert pixel_mean.numel() == 0 and pixel_std.numel() == 0


def test_binary_precision_recall_curve_equals_core():
    scores, labels = _scores_labels(5)
    metric = amt.BinaryPrecisionRecallCurve()
    for a, b in itertools.pairwise(SPLITS):
        metric.update(torch.from_numpy(scores[a:b]), torch.from_numpy(labels[a:b]))
    _same(metric.compute(), tuple(am.precision_recall_curve(scores, labels)))


def test_no_sigmoid_on_mixed_batches():
    # anomalib sigmoids the second batch only (AUROC 0.0); the scores are used as given here
    metric = amt.AUROC(fields=SCORE_FIELDS)
    metric.update({"pred_score": torch.tensor([0.9, 0.95]), "gt_label": torch.tensor([0, 0])})
    metric.update({"pred_score": torch.tensor([0.6, 2.0]), "gt_label": torch.tensor([1, 1])})
    assert float(metric.compute()) == 0.5


def test_ignore_index_drops_samples():
    metric = amt.AUROC(fields=SCORE_FIELDS, ignore_index=-1)
    metric.update(
        {"pred_score": torch.tensor([0.1, 0.9, 0.2, 0.8]), "gt_label": torch.tensor([0, -1, 1, 1])}
    )
    assert float(metric.compute()) == am.auroc([0.1, 0.2, 0.8], [0, 1, 1])


def test_float16_bfloat16_and_int_scores():
    labels = torch.tensor([0, 1, 0, 1, 1])
    values = [0.25, 0.5, 0.75, 1.0, 0.5]
    for dtype in (torch.float16, torch.bfloat16, torch.float64, torch.int64):
        metric = amt.AUROC(fields=SCORE_FIELDS)
        scores = (
            torch.tensor(values, dtype=dtype)
            if dtype != torch.int64
            else torch.tensor([1, 2, 3, 4, 2])
        )
        metric.update({"pred_score": scores, "gt_label": labels})
        assert float(metric.compute()) == am.auroc([1, 2, 3, 4, 2], labels.numpy())


def test_states_keep_the_input_dtype_and_masks_are_bool():
    maps, masks = _maps_masks(0)
    metric = amt.AUPRO(fields=MAP_FIELDS)
    metric.update(
        {
            "anomaly_map": torch.from_numpy(maps)[:, None],
            "gt_mask": torch.from_numpy(masks.astype(np.int64))[:, None],
        }
    )
    assert metric.preds[0].dtype == torch.float32 and metric.preds[0].shape == maps.shape
    assert metric.target[0].dtype == torch.bool and metric.target[0].shape == masks.shape
    grad = torch.from_numpy(maps).requires_grad_()
    metric.update({"anomaly_map": grad, "gt_mask": torch.from_numpy(masks)})
    assert not metric.preds[1].requires_grad


# --------------------------------------------------------------------------------------------
# AnomalibMetric field rules (anomalib's test_anomalib_metric.py behaviour)


def test_strict_missing_and_none_fields_raise_and_do_not_count():
    metric = amt.AUROC(fields=["non_existent_field", "gt_label"])
    with pytest.raises(ValueError, match="instance is missing required field: non_existent"):
        metric.update({"gt_label": torch.tensor([1])})
    assert metric._update_count == 0 and not metric.update_called

    class Batch:
        pred_score = None
        gt_label = torch.tensor([1])

    metric = amt.AUROC(fields=SCORE_FIELDS)
    with pytest.raises(ValueError, match="does not have a value for field with name pred_score"):
        metric.update(Batch())
    with pytest.raises(ValueError, match="does not have a value for field with name pred_score"):
        metric.update({"pred_score": None, "gt_label": torch.tensor([1])})
    assert metric._update_count == 0 and not metric.update_called


def test_non_strict_skips_and_compute_returns_none():
    metric = amt.AUROC(fields=MAP_FIELDS, strict=False)
    metric.update({"pred_score": torch.tensor([0.5]), "gt_label": torch.tensor([1])})
    metric.update({"anomaly_map": None, "gt_mask": torch.ones(1, 2, 2)})
    assert metric._update_count == 0 and not metric.update_called
    with pytest.warns(UserWarning, match="before the ``update``"):
        assert metric.compute() is None
    maps, masks = _maps_masks(1)
    metric.update({"anomaly_map": torch.from_numpy(maps), "gt_mask": torch.from_numpy(masks)})
    assert float(metric.compute()) == am.auroc(maps, masks)


def test_create_anomalib_metric_wraps_any_metric():
    from torchmetrics.classification import BinaryF1Score

    wrapped = amt.create_anomalib_metric(BinaryF1Score)
    assert wrapped.__name__ == "BinaryF1Score"
    assert issubclass(wrapped, amt.AnomalibMetric) and issubclass(wrapped, BinaryF1Score)
    metric = wrapped(fields=["pred_label", "gt_label"], prefix="image_")
    assert metric.name == "image_BinaryF1Score"
    metric.update(
        {"pred_label": torch.tensor([0, 1, 1, 1]), "gt_label": torch.tensor([0, 0, 1, 1])}
    )
    assert float(metric.compute()) == pytest.approx(0.8)
    lenient = wrapped(fields=["pred_label", "gt_label"], strict=False)
    lenient.update({"gt_label": torch.tensor([1])})
    with pytest.warns(UserWarning, match="before the ``update``"):
        assert lenient.compute() is None


def test_subclassing_anomalib_metric():
    from torchmetrics import Metric

    class _Count(Metric):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.add_state("n", torch.tensor(0), dist_reduce_fx="sum")

        def update(self, values):
            self.n += values.numel()

        def compute(self):
            return self.n

    class Count(amt.AnomalibMetric, _Count):  # the mixin first: update(batch) -> update(values)
        default_fields = ("pred_score",)

    counter = Count(prefix="image_")
    counter.update({"pred_score": torch.ones(3)})
    counter.update({"pred_score": torch.ones(2)})
    assert counter.name == "image_Count" and int(counter.compute()) == 5


# --------------------------------------------------------------------------------------------
# errors: (callable, exception, message fragment)


def _update(metric, **fields):
    return lambda: metric.update(fields)


def _scores(*values):
    return torch.tensor(values)


ERRORS = [
    (lambda: amt.AUROC(), ValueError, "Batch fields must be provided for metric AUROC"),
    (lambda: amt.AUROC(fields=SCORE_FIELDS, thresholds=1), ValueError, "an int >= 2"),
    (lambda: amt.AUPR(fields=SCORE_FIELDS, thresholds=[[0.0, 1.0]]), ValueError, "1-D"),
    (
        lambda: amt.F1AdaptiveThreshold(
            fields=SCORE_FIELDS, thresholds=torch.tensor([0.0, math.nan])
        ),
        ValueError,
        "`thresholds` must be finite",
    ),
    (lambda: amt.BinaryPrecisionRecallCurve(thresholds="10"), TypeError, "`thresholds` must be"),
    (lambda: amt.BinaryPrecisionRecallCurve(thresholds=True), TypeError, "`thresholds` must be"),
    (lambda: amt.AUROC(fields=SCORE_FIELDS, thresholds=5, bins=10), ValueError, "both"),
    (lambda: amt.PGn(thresholds=5), ValueError, "`thresholds` must be None for PGn"),
    (lambda: amt.AUROC(fields=SCORE_FIELDS, normalization="softmax"), ValueError, "normalization"),
    (lambda: amt.AUROC(fields=SCORE_FIELDS, ignore_index=0.5), TypeError, "`ignore_index`"),
    (lambda: amt.F1Score(fields=SCORE_FIELDS, multidim_average="samplewise"), ValueError, "global"),
    (lambda: amt.F1Score(fields=SCORE_FIELDS, threshold="0.5"), TypeError, "`threshold`"),
    (
        lambda: amt.PRO(fields=MAP_FIELDS, threshold=math.nan),
        ValueError,
        "`threshold` must be finite",
    ),
    (lambda: amt.PGn(fnr=1.1), ValueError, "`fnr` must be in [0, 1], got 1.1"),
    (lambda: amt.PBn(fpr=-0.1), ValueError, "`fpr` must be in [0, 1], got -0.1"),
    (
        lambda: amt.ManualThreshold(default_value=math.inf),
        ValueError,
        "`default_value` must be finite",
    ),
    (lambda: amt.AUPRO(fields=MAP_FIELDS, fpr_limit="0.3"), TypeError, "`fpr_limit`"),
    (lambda: amt.PIMO(num_thresholds=1), ValueError, "`num_thresholds` must be an int >= 2"),
    (lambda: amt.PIMO(num_thresholds=2.5), TypeError, "`num_thresholds` must be an int >= 2"),
    (lambda: amt.AUPIMO(fpr_bounds=(1e-3, 1e-4)), ValueError, "`fpr_bounds` must be increasing"),
    (lambda: amt.AUPIMO(fpr_bounds=0.1), TypeError, "`fpr_bounds` must be a pair"),
    (lambda: amt.create_anomalib_metric(int), TypeError, "subclass of torchmetrics.Metric"),
    (
        _update(amt.AUROC(fields=SCORE_FIELDS), pred_score=np.array([0.5]), gt_label=_scores(1)),
        TypeError,
        "`preds` must be a torch.Tensor",
    ),
    (
        _update(amt.AUROC(fields=SCORE_FIELDS), pred_score=_scores(0.5, 0.2), gt_label=_scores(1)),
        ValueError,
        "must have the same shape",
    ),
    (
        _update(
            amt.AUROC(fields=SCORE_FIELDS),
            pred_score=torch.tensor([1 + 1j]),
            gt_label=torch.tensor([1]),
        ),
        TypeError,
        "real numbers",
    ),
    (
        _update(
            amt.AUROC(fields=SCORE_FIELDS), pred_score=_scores(0.5, 0.2), gt_label=_scores(0, 2)
        ),
        ValueError,
        "`target` must be bool or all 0 or 1, got value(s) [2",
    ),
    (
        _update(
            amt.AUROC(fields=MAP_FIELDS),
            anomaly_map=torch.rand(1, 2, 2),
            gt_mask=torch.tensor([[[0, 255], [0, 0]]]),
        ),
        ValueError,
        "pass `target > 0`",
    ),
    (
        _update(
            amt.AUPRO(fields=MAP_FIELDS),
            anomaly_map=torch.rand(2, 3, 4, 4),
            gt_mask=torch.zeros(2, 3, 4, 4),
        ),
        ValueError,
        "must have shape (N, H, W), (N, 1, H, W) or (H, W)",
    ),
    (
        _update(
            amt.PRO(fields=MAP_FIELDS),
            anomaly_map=torch.rand(2, 4, 4),
            gt_mask=torch.zeros(2, 4, 5),
        ),
        ValueError,
        "must have the same shape",
    ),
    (
        lambda: amt.AnomalyScoreDistribution().update(anomaly_scores=[0.5]),
        TypeError,
        "`anomaly_scores` must be a torch.Tensor",
    ),
    (
        lambda: amt.MinMax(fields=["pred_score"]).update({"pred_score": "x"}),
        TypeError,
        "`predictions` must be a torch.Tensor",
    ),
]


@pytest.mark.parametrize(("fn", "exc", "fragment"), ERRORS)
def test_error_table(fn, exc, fragment):
    with pytest.raises(exc) as info:
        fn()
    assert fragment in str(info.value)


def test_mixin_without_a_metric_is_rejected_at_class_definition():
    with pytest.raises(TypeError, match=r"must also derive from torchmetrics\.Metric"):

        class NotAMetric(amt.AnomalibMetric):
            pass


def test_non_finite_scores_fail_at_compute_with_the_core_message():
    metric = amt.AUROC(fields=SCORE_FIELDS)
    metric.update({"pred_score": _scores(0.5, math.nan), "gt_label": _scores(0, 1)})
    with pytest.raises(ValueError, match="`scores` must be finite, got 1 NaN"):
        metric.compute()
    minmax = amt.MinMax(fields=["pred_score"])
    minmax.update({"pred_score": _scores(0.5, math.nan)})
    with pytest.raises(ValueError, match="must be finite"):
        minmax.compute()


def test_compute_without_data_in_strict_mode_raises():
    metric = amt.AUROC(fields=SCORE_FIELDS)
    with pytest.warns(UserWarning, match="before the ``update``"):
        with pytest.raises(ValueError, match="must not be empty"):
            metric.compute()


# --------------------------------------------------------------------------------------------
# the conversion helper (all device logic)


def test_state_to_numpy_shares_memory_on_cpu():
    from anomaly_metrics_torch._convert import state_to_numpy, to_result

    t = torch.arange(6, dtype=torch.float32)
    assert np.shares_memory(state_to_numpy([t]), t.numpy())
    assert np.shares_memory(state_to_numpy(t), t.numpy())
    assert state_to_numpy([t[:2], t[2:]]).tolist() == t.tolist()
    assert state_to_numpy([torch.ones(2, dtype=torch.bfloat16)]).dtype == np.float32
    assert state_to_numpy([torch.ones(2, dtype=torch.bool)]).dtype == np.bool_
    assert state_to_numpy([]).shape == (0,)
    result = to_result(0.1, "meta")  # any device: the helper only places the result
    assert result.device.type == "meta" and result.dtype == torch.float64
    assert to_result(np.arange(3.0), "cpu").tolist() == [0.0, 1.0, 2.0]


@CUDA
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_cuda_tensors_give_cuda_results_equal_to_cpu(case):
    arrays, splits = _data(case)
    on_gpu = case.make().to("cuda")
    for batch in _batches(arrays, splits, case.fields):
        on_gpu.update({k: v.cuda() for k, v in batch.items()})
    value, _ = _call(on_gpu.compute)
    assert value.device.type == "cuda"
    _same(value, _call(case.core, *arrays)[0])


@CUDA
def test_cuda_compute_on_cpu_states_and_curve():
    scores, labels = _scores_labels(2)
    metric = amt.F1Max(fields=SCORE_FIELDS, compute_on_cpu=True).to("cuda")
    metric.update(
        {"pred_score": torch.from_numpy(scores).cuda(), "gt_label": torch.from_numpy(labels).cuda()}
    )
    assert metric.preds[0].device.type == "cpu"
    assert float(metric.compute()) == am.f1_max(scores, labels)
    assert metric.threshold.device.type == "cuda"
    curve = amt.BinaryPrecisionRecallCurve().to("cuda")
    curve.update(torch.from_numpy(scores).cuda(), torch.from_numpy(labels).cuda())
    assert all(t.device.type == "cuda" for t in curve.compute())


def test_undefined_warning_points_at_the_users_compute_call():
    import anomaly_metrics as am
    from anomaly_metrics_torch import AUROC

    metric = AUROC(fields=["pred_score", "gt_label"])
    metric.update({"pred_score": torch.tensor([0.1, 0.2]), "gt_label": torch.tensor([0, 0])})
    with pytest.warns(am.UndefinedMetricWarning) as record:
        metric.compute()
    assert record[0].filename == __file__


# --------------------------------------------------------------------------------------------
# every exact class hands the stored batches to the core without concatenating them

BATCHED = [
    (lambda: amt.AUROC(fields=MAP_FIELDS), am.auroc),
    (lambda: amt.AUPR(fields=MAP_FIELDS), am.aupr),
    (lambda: amt.F1Max(fields=MAP_FIELDS), am.f1_max),
    (lambda: amt.F1AdaptiveThreshold(fields=MAP_FIELDS), am.f1_adaptive_threshold),
    (lambda: amt.F1Score(fields=MAP_FIELDS, threshold=0.5), lambda m, k: am.f1_score(m, k, 0.5)),
    (lambda: amt.AUPRO(fields=MAP_FIELDS), am.aupro),
    (lambda: amt.PRO(fields=MAP_FIELDS, threshold=0.5), lambda m, k: am.pro(m, k, 0.5)),
    (lambda: amt.PIMO(num_thresholds=50), lambda m, k: am.pimo_curves(m, k, num_thresholds=50)),
    (
        lambda: amt.AUPIMO(num_thresholds=500, fpr_bounds=(0.05, 0.5), force=True),
        lambda m, k: am.aupimo(m, k, fpr_bounds=(0.05, 0.5), num_thresholds=500, force=True).mean,
    ),
    (
        lambda: amt.AUPIMO(num_thresholds=None, fpr_bounds=(0.05, 0.5), return_average=False),
        lambda m, k: am.aupimo(m, k, fpr_bounds=(0.05, 0.5), num_thresholds=None).per_image,
    ),
]


def test_state_batches_are_views_and_skip_empty_updates():
    from anomaly_metrics_torch._convert import state_batches

    a, b = torch.rand(2, 3, 3), torch.rand(1, 3, 3)
    got = state_batches([a, torch.empty(0, 3, 3), b])
    assert len(got) == 2
    assert np.shares_memory(got[0], a.numpy()) and np.shares_memory(got[1], b.numpy())
    assert state_batches([]) == [] and state_batches(torch.empty(0)) == []
    assert len(state_batches(torch.rand(4, 2, 2))) == 1  # a synced (concatenated) state
    assert state_batches([torch.ones(1, 2, 2, dtype=torch.bfloat16)])[0].dtype == np.float32


@pytest.mark.parametrize(("make", "core"), BATCHED)
def test_compute_does_not_concatenate_the_maps(make, core, monkeypatch):
    maps, masks = _maps_masks(0)
    metric = make()
    for batch in _batches((maps, masks), MAP_SPLITS, MAP_FIELDS):
        metric.update(batch)
    concatenate, cat = np.concatenate, torch.cat

    def no_copy_of_the_maps(arrays, *args, **kwargs):
        arrays = list(arrays)
        if sum(int(np.size(a)) for a in arrays) >= maps.size:
            raise AssertionError("the stored maps (or masks) were concatenated")
        return (cat if isinstance(arrays[0], torch.Tensor) else concatenate)(
            arrays, *args, **kwargs
        )

    monkeypatch.setattr(np, "concatenate", no_copy_of_the_maps)
    monkeypatch.setattr(torch, "cat", no_copy_of_the_maps)
    value = _call(metric.compute)[0]
    monkeypatch.undo()
    if isinstance(value, tuple) and len(value) == 2:  # (PIMOResult, AUPIMOResult)
        value = value[1].aupimos
    _same(value, _call(core, maps, masks)[0])


@pytest.mark.parametrize(("make", "core"), BATCHED)
def test_non_finite_maps_in_a_later_update_fail_with_the_core_message(make, core):
    maps, masks = _maps_masks(0)
    maps[-1, 0, :2] = [math.nan, math.inf]
    maps[0, 0, 0] = -math.inf
    metric = make()
    for batch in _batches((maps, masks), MAP_SPLITS, MAP_FIELDS):
        metric.update(batch)
    with pytest.raises(ValueError) as expected:
        core(maps, masks)
    assert "got 1 NaN and 2 infinite value(s)" in str(expected.value)
    with pytest.raises(ValueError) as info:
        metric.compute()
    assert str(info.value) == str(expected.value)


@pytest.mark.parametrize(("make", "core"), BATCHED)
def test_updates_of_mixed_dtypes_equal_the_core_on_the_concatenation(make, core):
    maps, masks = _maps_masks(0)
    parts = [maps[:2].astype(np.float64), maps[2:3], maps[3:].astype(np.float16)]
    metric = make()
    for p, (a, b) in zip(parts, itertools.pairwise(MAP_SPLITS)):
        metric.update({"anomaly_map": torch.from_numpy(p), "gt_mask": torch.from_numpy(masks[a:b])})
    value = _call(metric.compute)[0]
    if isinstance(value, tuple) and len(value) == 2:
        value = value[1].aupimos
    _same(value, _call(core, np.concatenate(parts), masks)[0])
