"""How an entry of the benchmark is built: ``build(dataset, **args)`` returns the measured callable.

A builder does every preparation that is not part of the measured work (loading modules,
conversion to tensors, splitting into batches) and returns a zero-argument callable that runs the
metric once and returns its value. :mod:`bench.entries` maps the sources of its table to these
builders: our core function (:func:`core`), a class used the way anomalib's metrics are used
(:func:`anomalib_style`: construct, ``update`` per batch of :data:`BATCH_SIZE` images,
``compute``; the phases are timed), torchmetrics' exact classes (:func:`torchmetrics`),
scikit-learn (:func:`sklearn`), any plain function ``fn(scores, labels)`` (:func:`plain`), the
floors (:func:`floor`), the paired torch-overhead measurement (:func:`paired`), and a few
special builders (:data:`SPECIAL`).
"""

from __future__ import annotations

import contextlib
import importlib
import itertools
import math
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import numpy as np

from .data import Dataset

__all__ = [
    "BATCH_SIZE",
    "SPECIAL",
    "anomalib_style",
    "core",
    "floor",
    "paired",
    "plain",
    "sklearn",
    "to_value",
    "torchmetrics",
]

BATCH_SIZE = 32

Build = Callable[..., Callable[[], Any]]


def inputs(ds: Dataset, level: str) -> tuple[np.ndarray, np.ndarray]:
    """The (scores, labels) of a level: image scores and labels, or maps and masks."""
    if level == "image":
        return ds.image_scores, ds.image_labels
    return ds.anomaly_maps, ds.masks


def core(
    name: str,
    level: str,
    value: Callable[[Any], Any] = float,
    on: str | None = None,
    **kwargs: Any,
) -> Build:
    """``anomaly_metrics.<name>(scores, labels, **kwargs)``, its result through ``value``;
    with ``on="maps"`` / ``on="masks"`` the function takes that one array only."""

    def build(ds: Dataset) -> Callable[[], Any]:
        import anomaly_metrics as am

        fn = getattr(am, name)
        args = inputs(ds, level)
        if on is not None:
            args = (ds.anomaly_maps if on == "maps" else ds.masks,)
        return lambda: value(fn(*args, **kwargs))

    return build


def _batches(ds: Dataset, level: str) -> list[SimpleNamespace]:
    """Batches with anomalib's field names, as zero-copy CPU tensors."""
    import torch

    out = []
    n = ds.anomaly_maps.shape[0]
    for start in range(0, n, BATCH_SIZE):
        sl = slice(start, min(n, start + BATCH_SIZE))
        b = SimpleNamespace(
            pred_score=torch.from_numpy(ds.image_scores[sl]),
            gt_label=torch.from_numpy(ds.image_labels[sl]),
        )
        if level == "pixel":
            b.anomaly_map = torch.from_numpy(ds.anomaly_maps[sl])
            b.gt_mask = torch.from_numpy(ds.masks[sl])
        out.append(b)
    return out


def _fields(level: str) -> list[str]:
    return ["pred_score", "gt_label"] if level == "image" else ["anomaly_map", "gt_mask"]


def to_value(out: Any) -> Any:
    """Tensor / array / number / NamedTuple -> float or list of floats."""
    if hasattr(out, "detach"):
        out = out.detach().cpu().numpy()
    if isinstance(out, tuple) and hasattr(out, "_fields"):
        return {k: to_value(v) for k, v in out._asdict().items() if np.ndim(v) == 0}
    a = np.asarray(out, dtype=np.float64)
    return float(a) if a.ndim == 0 else [float(v) for v in a.ravel()]


class Phased:
    """A callable with the phase timings of its last call in ``.phases`` (a new dict per call)."""

    def __init__(self, fn: Callable[[dict[str, float]], Any]) -> None:
        self._fn = fn
        self.phases: dict[str, float] = {}

    def __call__(self) -> Any:
        self.phases = {}
        return self._fn(self.phases)


def _timed_update_compute(
    make: Callable[[], Any], batches: list[SimpleNamespace]
) -> tuple[float, float, Any]:
    """Construct, update per batch, compute: (update seconds incl. construction, compute s, out)."""
    t0 = time.perf_counter()
    metric = make()
    for b in batches:
        metric.update(b)
    t1 = time.perf_counter()
    with _full_precision(metric):
        out = metric.compute()
    return t1 - t0, time.perf_counter() - t1, out


def _full_precision(metric: Any) -> Any:
    """Our torch classes return float64 inside this block (the bench compares them with the
    core's float64 values; their default is float32, as anomalib's); other classes untouched."""
    if not type(metric).__module__.startswith("anomaly_metrics_torch"):
        return contextlib.nullcontext()
    import torch

    import anomaly_metrics_torch

    return anomaly_metrics_torch.result_dtype(torch.float64)


def anomalib_style(
    module: str, cls: str, level: str, *, fields: bool | list[str] = True, **kwargs: Any
) -> Build:
    """anomalib's and our torch classes: ``Cls(fields=..., **kwargs)``, update(batch), compute().

    ``fields``: True for the level's two batch fields, a list for others, False for none.
    ``build.setup(ds)`` gives ``(make, batches)`` (the class's constructor call and the batches) to
    entries that time the class in other ways (:func:`paired`).
    """

    def setup(ds: Dataset) -> tuple[Callable[[], Any], list[SimpleNamespace]]:
        metric_cls = getattr(importlib.import_module(module), cls)
        kw = dict(kwargs)
        if fields:
            kw["fields"] = _fields(level) if fields is True else list(fields)
        return (lambda: metric_cls(**kw)), _batches(ds, level)

    def build(ds: Dataset) -> Callable[[], Any]:
        make, batches = setup(ds)

        def run(phases: dict[str, float]) -> Any:
            phases["update"], phases["compute"], out = _timed_update_compute(make, batches)
            return to_value(out)

        return Phased(run)

    build.setup = setup  # type: ignore[attr-defined]
    return build


def paired(core_build: Build, torch_build: Any) -> Build:
    """In-process A/B of a torch class's ``compute`` against the core function (kind overhead).

    Per call: the core call of the metric's ``ours`` entry on the full arrays (timed: ``core``),
    and the class of its ``ours-torch`` entry constructed and updated with the same batches
    (``update``, not part of compute), then ``compute()`` (timed: ``compute``). Even calls time the
    core first, odd calls the class first, so that drift (clock, other processes, cache state)
    falls on both sides alike. ``ratio`` is compute / core of the same call; the worker's median
    of it is the median of the paired ratios. Returns the class's value.
    """

    def build(ds: Dataset) -> Callable[[], Any]:
        core_fn = core_build(ds)
        make, batches = torch_build.setup(ds)
        calls = itertools.count()

        def time_core() -> float:
            t0 = time.perf_counter()
            core_fn()
            return time.perf_counter() - t0

        def run(phases: dict[str, float]) -> Any:
            if next(calls) % 2 == 0:
                core_s = time_core()
                update_s, compute_s, out = _timed_update_compute(make, batches)
            else:
                update_s, compute_s, out = _timed_update_compute(make, batches)
                core_s = time_core()
            phases["core"] = core_s
            phases["update"] = update_s
            phases["compute"] = compute_s
            phases["ratio"] = compute_s / core_s if core_s > 0 else math.inf
            return to_value(out)

        return Phased(run)

    return build


def torchmetrics(
    cls: str, level: str, value: Callable[[Any], Any] = to_value, **kwargs: Any
) -> Build:
    """torchmetrics' exact binary classes (``thresholds=None``): update(preds, target), compute()."""

    def build(ds: Dataset) -> Callable[[], Any]:
        import torchmetrics.classification as tmc

        metric_cls = getattr(tmc, cls)
        batches = _batches(ds, level)
        names = _fields(level)

        def run(phases: dict[str, float]) -> Any:
            t0 = time.perf_counter()
            metric = metric_cls(thresholds=None, **kwargs)
            for b in batches:
                metric.update(getattr(b, names[0]), getattr(b, names[1]))
            t1 = time.perf_counter()
            out = metric.compute()
            phases["update"] = t1 - t0
            phases["compute"] = time.perf_counter() - t1
            return value(out)

        return Phased(run)

    return build


def plain(fn_path: str, level: str, value: Callable[[Any], Any] = float, **kwargs: Any) -> Build:
    """A plain function ``fn(scores, labels)`` or ``fn(maps, masks)``, e.g. scikit-learn's."""
    module, name = fn_path.rsplit(".", 1)

    def build(ds: Dataset) -> Callable[[], Any]:
        fn = getattr(importlib.import_module(module), name)
        x, y = inputs(ds, level)
        return lambda: value(fn(x, y, **kwargs))

    return build


def sklearn(name: str, level: str, value: Callable[[Any], Any] = float) -> Build:
    """scikit-learn's ``name(y_true, y_score)`` on flattened inputs (it wants 1-D arrays)."""

    def build(ds: Dataset) -> Callable[[], Any]:
        import sklearn.metrics

        fn = getattr(sklearn.metrics, name)
        x, y = inputs(ds, level)
        xf, yf = x.reshape(-1), y.reshape(-1)
        return lambda: value(fn(yf, xf))

    return build


def floor(kind: str, level: str = "pixel") -> Build:
    """``np.sort`` / ``np.partition`` (70 %) / ``np.max`` of the pixels."""

    def build(ds: Dataset) -> Callable[[], Any]:
        flat = ds.anomaly_maps.reshape(-1)
        if kind == "sort":
            return lambda: (np.sort(flat), None)[1]
        if kind == "partition":
            kth = int(0.7 * (flat.size - 1))
            return lambda: (np.partition(flat, kth), None)[1]
        return lambda: float(np.max(flat))

    return build


# --------------------------------------------------------------------------- value conversions


def first(out: Any) -> float:
    return float(out[0])


def mean_field(out: Any) -> float:
    return float(out.mean)


def floats(out: Any) -> list[float]:
    return [float(v) for v in out]


def components_count(out: Any) -> float:
    return float(np.max(out)) if np.size(out) else 0.0


def f1_max_of_curve(out: Any) -> float:
    precision, recall, _ = (t.double() for t in out)
    f1 = 2 * precision * recall / (precision + recall)
    return float(f1.nan_to_num(0.0).max())


def histogram_total(h: Any) -> float:
    """A checksum of a streaming state: the number of pixels it counted."""
    if isinstance(h, np.ndarray):
        return float(h.sum())
    if hasattr(h, "background"):  # ProHistogram: background pixels + region count
        return float(np.sum(h.background)) + float(h.num_regions)
    return float(len(h.image_classes))  # PimoHistogram: images seen


# --------------------------------------------------------------------------- special builders


def _min_max_numpy(ds: Dataset) -> Callable[[], Any]:
    maps = ds.anomaly_maps
    return lambda: [float(np.min(maps)), float(np.max(maps))]


def _cc_scipy(ds: Dataset) -> Callable[[], Any]:
    from .reference import label_loop

    masks = ds.masks
    return lambda: float(label_loop(masks)[1])


def _cc_opencv(ds: Dataset) -> Callable[[], Any]:
    import cv2

    masks = ds.masks.view(np.uint8)

    def run() -> float:
        out = np.zeros(masks.shape, np.int32)
        total = 0
        for i in range(masks.shape[0]):
            k, labels = cv2.connectedComponents(masks[i], connectivity=8, ltype=cv2.CV_32S)
            labels[labels > 0] += total
            out[i] = labels
            total += k - 1
        return float(total)

    return run


def _cc_anomalib(ds: Dataset) -> Callable[[], Any]:
    import torch
    from anomalib.utils.cv import connected_components_cpu

    masks = torch.from_numpy(ds.masks).unsqueeze(1).float()
    return lambda: float(connected_components_cpu(masks).max())


def _evaluate_ours(ds: Dataset) -> Callable[[], Any]:
    import anomaly_metrics as am

    def run() -> dict[str, float]:
        out = am.evaluate(ds.anomaly_maps, ds.masks, image_scores=ds.image_scores)
        return {str(k): float(v) for k, v in dict(out).items() if np.ndim(v) == 0}

    return run


def _evaluate_separate(ds: Dataset) -> Callable[[], Any]:
    """Our functions called one by one (what ``evaluate`` saves by sharing work)."""
    import anomaly_metrics as am

    maps, masks, s, y = ds.anomaly_maps, ds.masks, ds.image_scores, ds.image_labels

    def run() -> dict[str, float]:
        out = {
            "image_auroc": am.auroc(s, y),
            "image_aupr": am.aupr(s, y),
            "image_f1_max": am.f1_max(s, y),
            "pixel_auroc": am.auroc(maps, masks),
            "pixel_aupr": am.aupr(maps, masks),
            "pixel_f1_max": am.f1_max(maps, masks),
            "aupro": am.aupro(maps, masks),
            "aupimo": am.aupimo(maps, masks).mean,
        }
        return {k: float(v) for k, v in out.items()}

    return run


def _evaluate_adeval(ds: Dataset) -> Callable[[], Any]:
    if not hasattr(np, "trapz"):  # ADEval 1.1.0 calls np.trapz, removed in NumPy 2.4
        setattr(np, "trapz", np.trapezoid)  # noqa: B010
    from adeval import EvalAccumulator

    maps, masks = ds.anomaly_maps, ds.masks.view(np.uint8)
    s, y = ds.image_scores, ds.image_labels.astype(np.uint8)
    # ADEval needs score bounds up front; give it the exact ones (computed outside the timing)
    bounds = (float(s.min()), float(s.max()), float(maps.min()), float(maps.max()))

    def run() -> dict[str, float]:
        acc = EvalAccumulator(*bounds)
        acc.add_anomap_batch(maps, masks)
        acc.add_image(s, y)
        r = acc.summary()
        return {
            "image_auroc": r["i_auroc"],
            "image_aupr (trapezoid)": r["i_aupr"],
            "pixel_auroc": r["p_auroc"],
            "pixel_aupr (trapezoid)": r["p_aupr"],
            "aupro": r["p_aupro"],
        }

    return run


def _bootstrap(ds: Dataset, *, metric: str, level: str) -> Callable[[], Any]:
    import anomaly_metrics as am

    fn = getattr(am, metric)
    x, y = inputs(ds, level)

    def run() -> list[float]:
        ci = am.bootstrap_ci(fn, x, y, n_resamples=1000, seed=0)
        return [float(ci.low), float(ci.high)]

    return run


def loco_channels_of(masks: np.ndarray) -> list[np.ndarray]:
    """MVTec LOCO-style ground truth from the set's masks: about two channels per defective
    image (its regions split by the parity of their label), none for a normal image."""
    import anomaly_metrics as am

    labels = am.connected_components(masks)
    out = []
    for lab in labels:
        ids = np.unique(lab[lab > 0])
        groups = [ids[ids % 2 == 1], ids[ids % 2 == 0]]
        out.append(np.stack([np.isin(lab, g) for g in groups if g.size]) if ids.size else None)
    return out


def _auspro(ds: Dataset, fpr_limit: Any = 0.05) -> Callable[[], Any]:
    """AU-sPRO (saturation = each channel's area) of the set's maps, channels prepared ahead."""
    import anomaly_metrics as am

    maps, channels = ds.anomaly_maps, loco_channels_of(ds.masks)
    return lambda: floats(np.atleast_1d(am.auspro(maps, channels, fpr_limit=fpr_limit)))


# name -> builder ``(ds, **args)`` of the table's ``special:NAME`` sources
SPECIAL: dict[str, Callable[..., Callable[[], Any]]] = {
    "min_max_numpy": _min_max_numpy,
    "cc_scipy": _cc_scipy,
    "cc_opencv": _cc_opencv,
    "cc_anomalib": _cc_anomalib,
    "evaluate_ours": _evaluate_ours,
    "evaluate_separate": _evaluate_separate,
    "evaluate_adeval": _evaluate_adeval,
    "bootstrap": _bootstrap,
    "auspro": _auspro,
}
