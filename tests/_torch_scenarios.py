"""Data sets, ways of feeding them, and every torch class with its expected value.

Shared by the single-process property suite (``test_torch_feeding.py``) and its distributed
half (``test_torch_sync.py``). A data set is a list of batches (dicts of NumPy arrays: image
scores and labels, maps and masks, each batch in its own float dtype); the expected value of a
metric is the core function on the concatenation of the batches in the order fed (in rank
order across processes), computed independently of the torch classes and their states. Exact
classes must return that float; streaming classes (``bins=``) a value within their certified
bound of it. A core error on the whole data set (no data, no normal image, images of
different sizes) is expected as the same error class.
"""

from __future__ import annotations

import math
import os
import socket
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.multiprocessing as mp

import anomaly_metrics as am
import anomaly_metrics_torch as amt

SCORES = ("pred_score", "gt_label")
MAPS = ("anomaly_map", "gt_mask")
FLOATS = (np.float16, np.float32, np.float64)
FPR_BOUNDS = (0.05, 0.5)
BITS = 10

THOROUGH = os.environ.get("HYPOTHESIS_PROFILE") == "thorough"


# --- data ---------------------------------------------------------------------------------


def make_images(rng, n, h, w, levels, *, p_anomalous=0.6):
    """`n` images: (maps, masks, scores, labels) in float64 / bool, quantised (ties).

    Anomalous images get 1 to 4 rectangular regions (regions may touch and merge); defect
    pixels and anomalous images score higher on average. Values are ``k / levels`` (k >= 1).
    """
    maps = rng.integers(1, levels + 1, (n, h, w)) / levels
    masks = np.zeros((n, h, w), bool)
    for i in range(n):
        if rng.random() < p_anomalous:
            for _ in range(rng.integers(1, 5)):
                r, c = rng.integers(0, h), rng.integers(0, w)
                masks[i, r : r + rng.integers(1, 4), c : c + rng.integers(1, 4)] = True
    maps[masks] += rng.integers(0, levels // 2 + 1, int(masks.sum())) / levels
    labels = masks.reshape(n, h * w).any(axis=1)
    scores = (rng.integers(1, levels + 1, n) + labels * rng.integers(0, levels, n)) / levels
    return maps, masks, scores, labels


def batch(maps, masks, scores, labels, dtype):
    """One batch as NumPy arrays, maps and scores cast to `dtype`."""
    return {
        "anomaly_map": maps.astype(dtype),
        "gt_mask": masks.copy(),
        "pred_score": scores.astype(dtype),
        "gt_label": labels.copy(),
    }


def split(images, sizes, dtypes):
    """Consecutive batches of `sizes` images (sum(sizes) == n), batch k in ``dtypes[k]``."""
    out, start = [], 0
    for size, dtype in zip(sizes, dtypes):
        part = [a[start : start + size] for a in images]
        out.append(batch(*part, dtype))
        start += size
    return out


def cut(rng, n, max_batch):
    """Random batch sizes (>= 1) adding up to `n`."""
    sizes = []
    while n:
        sizes.append(int(rng.integers(1, min(n, max_batch) + 1)))
        n -= sizes[-1]
    return sizes


def merge_batches_without_defects(batches):
    """Batches regrouped so that each holds an anomalous image (streaming AUPIMO's input).

    ``pimo_histogram`` currently rejects a batch whose masks are all False (another change
    fixes it); the streaming AUPIMO is fed through this regrouping, which keeps the order.
    """
    out, pending = [], []
    for b in batches:
        pending.append(b)
        if b["gt_mask"].any():
            out.append(_concat(pending))
            pending = []
    if pending and out:
        out[-1] = _concat([out[-1], *pending])
    elif pending:
        out.append(_concat(pending))
    return out


def _concat(batches):
    return {k: np.concatenate([b[k] for b in batches]) for k in batches[0]}


def to_torch(b):
    return {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in b.items()}


# --- metrics --------------------------------------------------------------------------------


def _flat(batches, key):
    if not batches:
        return np.empty(0, np.float32)
    return np.concatenate([np.ravel(b[key]) for b in batches])


def _stack(batches, key):
    if not batches:
        return np.empty(0, np.float32)
    return np.concatenate([b[key] for b in batches])


def _pair(batches):
    return _flat(batches, "pred_score"), _flat(batches, "gt_label")


def _pixels(batches):
    return _flat(batches, "anomaly_map"), _flat(batches, "gt_mask")


def _maps(batches):
    return _stack(batches, "anomaly_map"), _stack(batches, "gt_mask")


def _squeezed(arrays):
    """Arrays of one element as scalars, as torchmetrics returns them."""
    return [np.squeeze(x) if np.size(x) == 1 else x for x in arrays]


def _f1max(batches):
    value = am.f1_max(*_pair(batches))
    return [value, math.nan if math.isnan(value) else am.f1_adaptive_threshold(*_pair(batches))]


def _distribution(batches):
    return list(
        am.score_distribution(
            image_scores=_flat(batches, "pred_score"),
            anomaly_maps=_stack(batches, "anomaly_map"),
        )
    )


def _minmax(batches):
    if not batches:
        return [math.inf, -math.inf]
    return list(am.min_max(_flat(batches, "anomaly_map")))


# name -> (factory, how it is fed, expected value on the fed batches, streaming kind)
# streaming kinds: None (exact), "value" (|value - exact| <= error_bound), "f1max"
# (exact - error_bound <= value <= exact), "threshold" (the F1 of the threshold is within
# error_bound of the exact F1 max)
METRICS: dict[str, tuple[Callable[[], Any], str, Callable[[list], Any], str | None]] = {
    "AUROC": (lambda: amt.AUROC(fields=SCORES), "batch", lambda b: am.auroc(*_pair(b)), None),
    "AUPR": (lambda: amt.AUPR(fields=SCORES), "batch", lambda b: am.aupr(*_pair(b)), None),
    "F1Score": (
        lambda: amt.F1Score(fields=SCORES, threshold=0.5),
        "batch",
        lambda b: am.f1_score(*_pair(b), threshold=0.5),
        None,
    ),
    "F1Max": (lambda: amt.F1Max(fields=SCORES), "batch", _f1max, None),
    "F1AdaptiveThreshold": (
        lambda: amt.F1AdaptiveThreshold(fields=SCORES),
        "batch",
        lambda b: am.f1_adaptive_threshold(*_pair(b)),
        None,
    ),
    "PGn": (lambda: amt.PGn(fnr=0.2), "batch", lambda b: am.pgn(*_pair(b), fnr=0.2), None),
    "PBn": (lambda: amt.PBn(fpr=0.2), "batch", lambda b: am.pbn(*_pair(b), fpr=0.2), None),
    "BinaryPrecisionRecallCurve": (
        amt.BinaryPrecisionRecallCurve,
        "positional",
        lambda b: _squeezed(am.precision_recall_curve(*_pair(b))),
        None,
    ),
    "pixel_AUROC": (lambda: amt.AUROC(fields=MAPS), "batch", lambda b: am.auroc(*_pixels(b)), None),
    "pixel_AUROC_compute_on_cpu": (
        lambda: amt.AUROC(fields=MAPS, compute_on_cpu=True),
        "batch",
        lambda b: am.auroc(*_pixels(b)),
        None,
    ),
    "AUPRO": (
        lambda: amt.AUPRO(fields=MAPS, fpr_limit=0.3),
        "batch",
        lambda b: am.aupro(*_maps(b), fpr_limit=0.3),
        None,
    ),
    "PRO": (
        lambda: amt.PRO(fields=MAPS, threshold=0.5),
        "batch",
        lambda b: am.pro(*_maps(b), threshold=0.5),
        None,
    ),
    "PIMO": (
        lambda: amt.PIMO(num_thresholds=None),
        "batch",
        # PIMOResult keeps its shapes (K,), (N, K), (N,) where torchmetrics would squeeze
        lambda b: list(am.pimo_curves(*_maps(b), num_thresholds=None)),
        None,
    ),
    "AUPIMO": (
        lambda: amt.AUPIMO(num_thresholds=None, fpr_bounds=FPR_BOUNDS, force=True),
        "batch",
        lambda b: am.aupimo(*_maps(b), fpr_bounds=FPR_BOUNDS, num_thresholds=None, force=True).mean,
        None,
    ),
    "MinMax": (lambda: amt.MinMax(fields=["anomaly_map"]), "batch", _minmax, None),
    "AnomalyScoreDistribution": (amt.AnomalyScoreDistribution, "keyword", _distribution, None),
    "lenient_AUROC": (
        lambda: amt.AUROC(fields=SCORES, strict=False),
        "batch",
        lambda b: am.auroc(*_pair(b)) if b else None,
        None,
    ),
    # streaming
    "streaming_AUROC": (
        lambda: amt.AUROC(fields=SCORES, bins=BITS),
        "batch",
        lambda b: am.auroc(*_pair(b)),
        "value",
    ),
    "streaming_AUPR": (
        lambda: amt.AUPR(fields=MAPS, bins=BITS),
        "batch",
        lambda b: am.aupr(*_pixels(b)),
        "value",
    ),
    "streaming_F1Max": (
        lambda: amt.F1Max(fields=SCORES, bins=BITS),
        "batch",
        lambda b: am.f1_max(*_pair(b)),
        "f1max",
    ),
    "streaming_F1AdaptiveThreshold": (
        lambda: amt.F1AdaptiveThreshold(fields=SCORES, bins=BITS),
        "batch",
        lambda b: am.f1_max(*_pair(b)),
        "threshold",
    ),
    "streaming_AUPRO": (
        lambda: amt.AUPRO(fields=MAPS, fpr_limit=0.3, bins=BITS),
        "batch",
        lambda b: am.aupro(*_maps(b), fpr_limit=0.3),
        "value",
    ),
    "streaming_AUPIMO": (
        lambda: amt.AUPIMO(fpr_bounds=FPR_BOUNDS, bins=BITS),
        "defects",
        lambda b: am.aupimo(*_maps(b), fpr_bounds=FPR_BOUNDS, num_thresholds=None, force=True).mean,
        "value",
    ),
    "lenient_streaming_AUROC": (
        lambda: amt.AUROC(fields=SCORES, strict=False, bins=BITS),
        "batch",
        lambda b: am.auroc(*_pair(b)) if b else None,
        "value",
    ),
}


def feed(metric, style, batches):
    """Update `metric` with NumPy `batches` (as tensors) in the way its class takes them."""
    if style == "defects":
        batches = merge_batches_without_defects(batches) if batches else []
    for b in batches:
        t = to_torch(b)
        if style == "positional":
            metric.update(t["pred_score"], t["gt_label"])
        elif style == "keyword":
            metric.update(anomaly_scores=t["pred_score"], anomaly_maps=t["anomaly_map"])
        else:
            metric.update(t)


def plain(value):
    """A result as nested Python floats (picklable, comparable)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().double().numpy().tolist()
    if isinstance(value, np.ndarray):
        return value.astype(np.float64).tolist()
    if isinstance(value, (np.floating, np.integer)):
        return float(value)
    if isinstance(value, (tuple, list)):
        return [plain(v) for v in value]
    raise TypeError(type(value))


def outcome(fn):
    """``("value", plain(fn()))`` or ``("error", exception class name)``, warnings silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return ("value", plain(fn()))
        except (ValueError, TypeError) as err:
            return ("error", type(err).__name__)


def compute(metric, name):
    """The metric's result with the attributes a test checks (threshold, bound)."""
    value = metric.compute()
    if name in ("F1Max",):
        return [value, metric.threshold]
    if METRICS[name][3] is not None and value is not None:
        return [value, metric.error_bound]
    return value


def result_of(name, batches_in_order):
    """What `name` returns after being fed `batches_in_order` in one process."""
    make, style, _, _ = METRICS[name]
    metric = make()
    feed(metric, style, batches_in_order)
    return outcome(lambda: compute(metric, name))


def expected_of(name, batches):
    return outcome(lambda: METRICS[name][2](batches))


def same(a, b):
    """Exact equality of nested floats, nan equal to nan."""
    if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
        return (
            isinstance(a, (list, tuple))
            and isinstance(b, (list, tuple))
            and len(a) == len(b)
            and all(same(x, y) for x, y in zip(a, b))
        )
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return a == b


def check(name, got, batches):
    """Assert that `got` (an `outcome`) is right for `name` on the fed `batches`."""
    expected = expected_of(name, batches)
    kind = METRICS[name][3]
    if kind is None:
        assert same(got, expected), f"{name}: got {got}, expected {expected}"
        return
    if expected == ("value", None):  # non-strict, nothing fed
        assert got == expected, f"{name}: got {got}, expected None"
        return
    if expected[0] == "error":
        # no exact value to bound (no data, or too coarse for the exact AUPIMO's range): the
        # streaming class returns a value or nan, or raises a ValueError
        assert got[0] == "value" or got[1] == "ValueError", f"{name}: got {got}"
        return
    assert got[0] == "value", f"{name}: got {got}, expected {expected}"
    value, bound = got[1]
    exact = expected[1]
    if math.isnan(exact):  # undefined: nan (a threshold class returns its fallback)
        assert kind == "threshold" or math.isnan(value), f"{name}: {value} for nan"
        return
    assert bound >= 0, f"{name}: bound {bound}"
    slack = 1e-12 * max(1.0, abs(exact))
    if kind == "value":
        assert abs(value - exact) <= bound + slack, f"{name}: |{value} - {exact}| > {bound}"
    elif kind == "f1max":
        assert exact - bound - slack <= value <= exact + slack, f"{name}: {value}, {exact}, {bound}"
    else:
        f1 = am.f1_score(*_pair(batches), threshold=value)
        assert f1 >= exact - bound - slack, f"{name}: F1 {f1} at {value}, best {exact}, {bound}"


# --- processes ------------------------------------------------------------------------------


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_processes(worker, args, world=2, timeout=300.0):
    """Fork `world` processes running ``worker(rank, *args)``; fail on a crash or a hang."""
    context = mp.start_processes(worker, args=args, nprocs=world, join=False, start_method="fork")
    deadline = time.monotonic() + timeout
    try:
        while not context.join(timeout=1.0):
            if time.monotonic() > deadline:
                raise AssertionError(f"the {world} processes did not finish in {timeout} s")
    finally:
        for p in context.processes:
            if p.is_alive():
                p.kill()
                p.join()
