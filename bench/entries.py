"""What the benchmark measures: one :class:`Entry` per (metric, implementation).

An entry names the modules it needs and a ``build(dataset)`` that does all preparation that is not
part of the measured work (loading, conversion to tensors, splitting into batches) and returns a
zero-argument callable. Calling it runs the metric once and returns its value. Torch metric
classes are measured the way a training loop uses them: construct, ``update`` per batch of
:data:`BATCH_SIZE` images, ``compute``; the callable records the two phases in ``.phases``.

Entry kinds: ``ours`` (the core function), ``ours-torch`` (our ``anomaly_metrics_torch`` class),
``overhead`` (impl ``ours-torch-ab``: the core function and our class's ``compute`` timed on the
same data in the same process, in alternating order, with the paired ratio in ``.phases``; one
for every metric that has both an ``ours`` and an ``ours-torch`` entry), ``peer`` (another
implementation) and ``floor`` (``np.sort`` / ``np.partition`` / ``np.max`` of the same float32
pixels). Every metric has exactly one ``ours`` entry: the other entries' values are compared with
it. A metric's core call and its torch class are defined once (:func:`_ours_trio`) and shared by
its ``ours``, ``ours-torch`` and ``ours-torch-ab`` entries.
"""

from __future__ import annotations

import contextlib
import importlib
import itertools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import numpy as np

from .data import Dataset

__all__ = ["BATCH_SIZE", "ENTRIES", "METRICS", "PRO_THRESHOLD", "Entry", "by_id"]

BATCH_SIZE = 32
PRO_THRESHOLD = 2.0  # on the synthetic maps' scale (background noise has unit std)
FNR = 0.05
FPR = 0.05

# metric id -> (level, description); the order is the order of the tables
METRICS: dict[str, tuple[str, str]] = {
    "image_auroc": ("image", "image AUROC"),
    "image_aupr": ("image", "image AUPR (average precision)"),
    "image_f1_max": ("image", "image F1Max"),
    "image_f1_adaptive_threshold": ("image", "image F1AdaptiveThreshold"),
    "pgn": ("image", "PG5 (PGn, fnr=0.05)"),
    "pbn": ("image", "PB5 (PBn, fpr=0.05)"),
    "pixel_auroc": ("pixel", "pixel AUROC"),
    "pixel_aupr": ("pixel", "pixel AUPR (average precision)"),
    "pixel_f1_max": ("pixel", "pixel F1Max"),
    "pixel_f1_adaptive_threshold": ("pixel", "pixel F1AdaptiveThreshold"),
    "min_max": ("pixel", "MinMax of the maps"),
    "connected_components": ("pixel", "connected components (8-conn.)"),
    "pro": ("pixel", f"PRO at threshold {PRO_THRESHOLD}"),
    "aupro": ("pixel", "AU-PRO (fpr_limit=0.3)"),
    "aupimo": ("pixel", "AUPIMO (300k thresholds)"),
    "aupimo_exact": ("pixel", "AUPIMO exact"),
    "evaluate": ("pixel", "evaluate (all metrics)"),
    "ranking_histogram": ("pixel", "streaming update: ranking_histogram (20 bits)"),
    "pro_histogram": ("pixel", "streaming update: pro_histogram (20 bits)"),
    "pimo_histogram": ("pixel", "streaming update: pimo_histogram (20 bits)"),
    "bootstrap_image_auroc": ("image", "bootstrap_ci of image AUROC (1000 resamples)"),
    "bootstrap_aupro": ("pixel", "bootstrap_ci of AU-PRO (1000 resamples)"),
    "floor": ("pixel", "floors on the float32 pixels"),
}


@dataclass(frozen=True)
class Entry:
    """One measurable implementation of one metric."""

    metric: str
    impl: str
    kind: str  # ours | ours-torch | overhead (ours-torch-ab: paired core vs compute) | peer | floor
    build: Callable[[Dataset], Callable[[], Any]]
    requires: tuple[str, ...] = ()
    # bytes the entry needs for an (n, h, w) set, when it may not fit: skipped above --max-mem-gb
    memory: Callable[[int, int, int], float] | None = None
    note: str = ""
    tags: tuple[str, ...] = field(default=())

    @property
    def id(self) -> str:
        return f"{self.metric}:{self.impl}"

    @property
    def needs(self) -> tuple[str, ...]:
        """Modules (``"pkg.mod"``) and names (``"pkg.mod:Name"``) the entry cannot run without."""
        return tuple(dict.fromkeys(self.requires + getattr(self.build, "requires", ())))


# --------------------------------------------------------------------------- helpers


def _inputs(ds: Dataset, level: str) -> tuple[np.ndarray, np.ndarray]:
    if level == "image":
        return ds.image_scores, ds.image_labels
    return ds.anomaly_maps, ds.masks


def _ours(name: str, level: str, value: Callable[[Any], Any] = float, **kwargs: Any):
    def build(ds: Dataset) -> Callable[[], Any]:
        import anomaly_metrics as am

        fn = getattr(am, name)
        x, y = _inputs(ds, level)
        return lambda: value(fn(x, y, **kwargs))

    build.requires = (f"anomaly_metrics:{name}",)  # type: ignore[attr-defined]
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


def _to_value(out: Any) -> Any:
    """Tensor / array / number / NamedTuple -> float or list of floats."""
    if hasattr(out, "detach"):
        out = out.detach().cpu().numpy()
    if isinstance(out, tuple) and hasattr(out, "_fields"):
        return {k: _to_value(v) for k, v in out._asdict().items() if np.ndim(v) == 0}
    a = np.asarray(out, dtype=np.float64)
    return float(a) if a.ndim == 0 else [float(v) for v in a.ravel()]


class _Phased:
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
    core's float64 values; their default is float32, as anomalib); other classes are untouched."""
    if not type(metric).__module__.startswith("anomaly_metrics_torch"):
        return contextlib.nullcontext()
    import torch

    import anomaly_metrics_torch

    return anomaly_metrics_torch.result_dtype(torch.float64)


def _update_compute(make: Callable[[], Any], batches: list[SimpleNamespace]) -> _Phased:
    """A training loop's use of a metric class: construct, update per batch, compute (timed)."""

    def run(phases: dict[str, float]) -> Any:
        phases["update"], phases["compute"], out = _timed_update_compute(make, batches)
        return _to_value(out)

    return _Phased(run)


def _anomalib_style(
    module: str, cls: str, level: str, *, fields: bool | list[str] = True, **kwargs: Any
):
    """anomalib's and our torch classes: ``Cls(fields=..., **kwargs)``, update(batch), compute().

    ``fields``: True for the level's two batch fields, a list for others, False for none.

    ``build.setup(ds)`` gives ``(make, batches)`` (the class's constructor call and the batches) to
    entries that time the class in other ways (:func:`_paired`).
    """

    def setup(ds: Dataset) -> tuple[Callable[[], Any], list[SimpleNamespace]]:
        metric_cls = getattr(importlib.import_module(module), cls)
        kw = dict(kwargs)
        if fields:
            kw["fields"] = _fields(level) if fields is True else list(fields)
        return (lambda: metric_cls(**kw)), _batches(ds, level)

    def build(ds: Dataset) -> Callable[[], Any]:
        return _update_compute(*setup(ds))

    build.setup = setup  # type: ignore[attr-defined]
    build.requires = ("torch", f"{module}:{cls}")  # type: ignore[attr-defined]
    return build


def _ours_torch(cls: str, level: str, **kwargs: Any):
    """Our ``anomaly_metrics_torch`` class, used the way anomalib's is (:func:`_anomalib_style`)."""
    return _anomalib_style("anomaly_metrics_torch", cls, level, **kwargs)


def _paired(core_build: Callable[[Dataset], Callable[[], Any]], torch_build: Any):
    """In-process A/B of a torch class's ``compute`` against the core function (kind overhead).

    Per call: the core call of the metric's ``ours`` entry on the full arrays (timed: ``core``),
    and the class of its ``ours-torch`` entry constructed and updated with the same batches
    (``update``, not part of compute), then ``compute()`` (timed: ``compute``). Even calls time the
    core first, odd calls the class first, so that drift (clock, other processes, cache state)
    falls on both sides alike. ``ratio`` is compute / core of the same call; the worker's median
    of it is the median of the paired ratios. Returns the class's value.
    """

    def build(ds: Dataset) -> Callable[[], Any]:
        core = core_build(ds)
        make, batches = torch_build.setup(ds)
        calls = itertools.count()

        def time_core() -> float:
            t0 = time.perf_counter()
            core()
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
            return _to_value(out)

        return _Phased(run)

    build.requires = tuple(  # type: ignore[attr-defined]
        dict.fromkeys(getattr(core_build, "requires", ()) + getattr(torch_build, "requires", ()))
    )
    return build


def _ours_trio(
    metric: str,
    core: Callable[[Dataset], Callable[[], Any]],
    torch_cls: Any,
    core_requires: tuple[str, ...] = (),
) -> list[Entry]:
    """A metric's ``ours``, ``ours-torch`` and ``ours-torch-ab`` entries from one core call and
    one torch class (``torch_cls`` a build with ``.setup``, e.g. from :func:`_anomalib_style`)."""
    return [
        Entry(metric, "ours", "ours", core, core_requires),
        Entry(metric, "ours-torch", "ours-torch", torch_cls, _AMT),
        Entry(
            metric,
            "ours-torch-ab",
            "overhead",
            _paired(core, torch_cls),
            core_requires + _AMT,
            note="in-process, paired, alternating order",
        ),
    ]


def _torchmetrics(cls: str, level: str, finish: Callable[[Any], Any] = _to_value, **kwargs: Any):
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
            return finish(out)

        return _Phased(run)

    build.requires = ("torch", f"torchmetrics.classification:{cls}")  # type: ignore[attr-defined]
    return build


def _f1_max_of_curve(out: Any) -> float:
    precision, recall, _ = (t.double() for t in out)
    f1 = 2 * precision * recall / (precision + recall)
    return float(f1.nan_to_num(0.0).max())


def _plain(fn_path: str, level: str, value: Callable[[Any], Any] = float, **kwargs: Any):
    """A plain function ``fn(scores, labels)`` or ``fn(maps, masks)``, e.g. scikit-learn's."""
    module, name = fn_path.rsplit(".", 1)

    def build(ds: Dataset) -> Callable[[], Any]:
        fn = getattr(importlib.import_module(module), name)
        x, y = _inputs(ds, level)
        return lambda: value(fn(x, y, **kwargs))

    return build


def _sklearn(name: str, level: str):
    """scikit-learn's ``name(y_true, y_score)`` on flattened inputs (it wants 1-D arrays)."""

    def build(ds: Dataset) -> Callable[[], Any]:
        import sklearn.metrics

        fn = getattr(sklearn.metrics, name)
        x, y = _inputs(ds, level)
        xf, yf = x.reshape(-1), y.reshape(-1)
        return lambda: float(fn(yf, xf))

    return build


def _floor(kind: str):
    def build(ds: Dataset) -> Callable[[], Any]:
        flat = ds.anomaly_maps.reshape(-1)
        if kind == "sort":
            return lambda: (np.sort(flat), None)[1]
        if kind == "partition":
            kth = int(0.7 * (flat.size - 1))
            return lambda: (np.partition(flat, kth), None)[1]
        return lambda: float(np.max(flat))

    return build


def _first(out: Any) -> float:
    return float(out[0])


def _mean_field(out: Any) -> float:
    return float(out.mean)


def _components_count(out: Any) -> float:
    return float(np.max(out)) if np.size(out) else 0.0


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


# ---- evaluate


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


# --------------------------------------------------------------------------- the registry

_AM: tuple[str, ...] = ()
_AMT = ("anomaly_metrics_torch", "torch")
_ANOMALIB = ("anomalib", "torch")
_TM = ("torchmetrics", "torch")
_SK = ("sklearn",)


def _aupimo_anomalib_memory(n: int, h: int, w: int) -> float:
    # anomalib 2.7.0 builds (N, 300k, 2, 2) int64 curves plus sort buffers: ~35 MB per image,
    # measured 17.5 GB for 500 x 256 x 256 (issue 4)
    return 35e6 * n + 40.0 * n * h * w


def _sklearn_memory(n: int, h: int, w: int) -> float:
    return 40.0 * n * h * w


def _registry() -> list[Entry]:
    e: list[Entry] = []
    for level in ("image", "pixel"):
        lv = level
        e += _ours_trio(f"{lv}_auroc", _ours("auroc", lv), _ours_torch("AUROC", lv))
        e += [
            Entry(
                f"{lv}_auroc",
                "anomalib",
                "peer",
                _anomalib_style("anomalib.metrics", "AUROC", lv),
                _ANOMALIB,
                note="sigmoid per batch",
            ),
            Entry(
                f"{lv}_auroc",
                "torchmetrics",
                "peer",
                _torchmetrics("BinaryAUROC", lv),
                _TM,
                note="sigmoid per batch",
            ),
            Entry(
                f"{lv}_auroc",
                "sklearn",
                "peer",
                _sklearn("roc_auc_score", lv),
                _SK,
                memory=_sklearn_memory,
            ),
        ]
        e += _ours_trio(f"{lv}_aupr", _ours("aupr", lv), _ours_torch("AUPR", lv))
        e += [
            Entry(
                f"{lv}_aupr",
                "anomalib",
                "peer",
                _anomalib_style("anomalib.metrics", "AUPR", lv),
                _ANOMALIB,
                note="sigmoid per batch",
            ),
            Entry(
                f"{lv}_aupr",
                "torchmetrics",
                "peer",
                _torchmetrics("BinaryAveragePrecision", lv),
                _TM,
                note="sigmoid per batch",
            ),
            Entry(
                f"{lv}_aupr",
                "sklearn",
                "peer",
                _sklearn("average_precision_score", lv),
                _SK,
                memory=_sklearn_memory,
            ),
        ]
        e += _ours_trio(f"{lv}_f1_max", _ours("f1_max", lv), _ours_torch("F1Max", lv))
        e += [
            Entry(
                f"{lv}_f1_max",
                "anomalib",
                "peer",
                _anomalib_style("anomalib.metrics", "F1Max", lv),
                _ANOMALIB,
            ),
            Entry(
                f"{lv}_f1_max",
                "torchmetrics",
                "peer",
                _torchmetrics("BinaryPrecisionRecallCurve", lv, _f1_max_of_curve),
                _TM,
                note="PR curve, sigmoid per batch",
            ),
            Entry(
                f"{lv}_f1_max",
                "sklearn",
                "peer",
                _plain("bench.reference.sklearn_f1_max", lv),
                _SK,
                memory=_sklearn_memory,
                note="precision_recall_curve",
            ),
        ]
        e += _ours_trio(
            f"{lv}_f1_adaptive_threshold",
            _ours("f1_adaptive_threshold", lv),
            _ours_torch("F1AdaptiveThreshold", lv),
        )
        e += [
            Entry(
                f"{lv}_f1_adaptive_threshold",
                "anomalib",
                "peer",
                _anomalib_style("anomalib.metrics", "F1AdaptiveThreshold", lv),
                _ANOMALIB,
            ),
            Entry(
                f"{lv}_f1_adaptive_threshold",
                "sklearn",
                "peer",
                _plain("bench.reference.sklearn_f1_adaptive_threshold", lv),
                _SK,
                memory=_sklearn_memory,
                note="precision_recall_curve",
            ),
        ]
        if level == "image":
            e += _ours_trio(
                "pgn",
                _ours("pgn", "image", fnr=FNR),
                _ours_torch("PGn", "image", fields=False, fnr=FNR),
            )
            e += [
                Entry(
                    "pgn",
                    "anomalib",
                    "peer",
                    _anomalib_style("anomalib.metrics", "PGn", "image", fields=False, fnr=FNR),
                    _ANOMALIB,
                ),
                Entry(
                    "pgn",
                    "numpy",
                    "peer",
                    _plain("bench.reference.pgn_quantile", "image", fnr=FNR),
                    (),
                    note="np.quantile",
                ),
            ]
            e += _ours_trio(
                "pbn",
                _ours("pbn", "image", fpr=FPR),
                _ours_torch("PBn", "image", fields=False, fpr=FPR),
            )
            e += [
                Entry(
                    "pbn",
                    "anomalib",
                    "peer",
                    _anomalib_style("anomalib.metrics", "PBn", "image", fields=False, fpr=FPR),
                    _ANOMALIB,
                ),
                Entry(
                    "pbn",
                    "numpy",
                    "peer",
                    _plain("bench.reference.pbn_quantile", "image", fpr=FPR),
                    (),
                    note="np.quantile",
                ),
            ]
    e += _ours_trio(
        "min_max",
        _ours_min_max,
        _minmax_torch("anomaly_metrics_torch"),
        ("anomaly_metrics:min_max",),
    )
    e += [
        Entry("min_max", "anomalib", "peer", _minmax_torch("anomalib.metrics"), _ANOMALIB),
        Entry("min_max", "numpy", "peer", _minmax_numpy, (), note="np.min + np.max"),
        Entry(
            "connected_components",
            "ours",
            "ours",
            _ours_cc,
            ("anomaly_metrics:connected_components",),
        ),
        Entry(
            "connected_components",
            "scipy",
            "peer",
            _cc_scipy,
            ("scipy",),
            note="ndimage.label per image",
        ),
        Entry("connected_components", "opencv", "peer", _cc_opencv, ("cv2",), note="per image"),
        Entry(
            "connected_components",
            "anomalib",
            "peer",
            _cc_anomalib,
            ("torch", "anomalib.utils.cv:connected_components_cpu"),
            note="connected_components_cpu",
        ),
    ]
    e += _ours_trio(
        "pro",
        _ours("pro", "pixel", threshold=PRO_THRESHOLD),
        _ours_torch("PRO", "pixel", threshold=PRO_THRESHOLD),
    )
    e += [
        Entry(
            "pro",
            "anomalib",
            "peer",
            _anomalib_style("anomalib.metrics", "PRO", "pixel", threshold=PRO_THRESHOLD),
            _ANOMALIB,
            note="score > t",
        ),
        Entry(
            "pro",
            "scipy",
            "peer",
            _plain("bench.reference.pro_at_threshold", "pixel", threshold=PRO_THRESHOLD),
            ("scipy",),
            note="ndimage.label + bincount",
        ),
    ]
    e += _ours_trio("aupro", _ours("aupro", "pixel"), _ours_torch("AUPRO", "pixel"))
    e += [
        Entry(
            "aupro",
            "anomalib",
            "peer",
            _anomalib_style("anomalib.metrics", "AUPRO", "pixel"),
            _ANOMALIB,
            note="float32 cumsum",
        ),
        Entry(
            "aupro",
            "mvtec-ref",
            "peer",
            _plain("bench.reference.mvtec_aupro", "pixel"),
            ("scipy",),
            memory=lambda n, h, w: 40.0 * n * h * w,
            note="official script's algorithm",
        ),
    ]
    e += _ours_trio(
        "aupimo",
        _ours("aupimo", "pixel", _mean_field),
        _ours_torch("AUPIMO", "pixel", fields=False),
    )
    e += [
        Entry(
            "aupimo",
            "anomalib",
            "peer",
            _anomalib_style("anomalib.metrics", "AUPIMO", "pixel", fields=False),
            _ANOMALIB,
            memory=_aupimo_anomalib_memory,
        ),
        Entry(
            "aupimo",
            "numpy-ref",
            "peer",
            _plain("bench.reference.aupimo_binned", "pixel", _first),
            (),
            note="300k linspace, per-image sort",
        ),
        Entry(
            "aupimo_exact",
            "ours",
            "ours",
            _ours("aupimo", "pixel", _mean_field, num_thresholds=None),
            _AM,
        ),
        Entry(
            "aupimo_exact",
            "numpy-ref",
            "peer",
            _plain("bench.reference.aupimo_exact", "pixel", _first),
            (),
            note="sort of normal pixels",
        ),
        Entry("evaluate", "ours", "ours", _evaluate_ours, ("anomaly_metrics:evaluate",)),
        Entry(
            "evaluate",
            "ours-separate",
            "peer",
            _evaluate_separate,
            ("anomaly_metrics:aupro", "anomaly_metrics:aupimo"),
            note="one call per metric",
        ),
        Entry(
            "evaluate",
            "adeval",
            "peer",
            _evaluate_adeval,
            ("adeval:EvalAccumulator", "cv2"),
            note="binned, 1000 strips",
        ),
        Entry(
            "ranking_histogram",
            "ours",
            "ours",
            _ours("ranking_histogram", "pixel", _histogram_total),
            _AM,
            note="one update pass over all pixels",
        ),
        Entry(
            "pro_histogram",
            "ours",
            "ours",
            _ours("pro_histogram", "pixel", _histogram_total),
            _AM,
            note="incl. connected components",
        ),
        Entry(
            "pimo_histogram",
            "ours",
            "ours",
            _ours("pimo_histogram", "pixel", _histogram_total),
            _AM,
        ),
        Entry(
            "bootstrap_image_auroc",
            "ours",
            "ours",
            _bootstrap("auroc", "image"),
            ("anomaly_metrics:bootstrap_ci",),
            note="seed 0; [low, high]",
        ),
        Entry(
            "bootstrap_aupro",
            "ours",
            "ours",
            _bootstrap("aupro", "pixel"),
            ("anomaly_metrics:bootstrap_ci",),
            note="seed 0; [low, high]",
        ),
        Entry("floor", "np.sort", "floor", _floor("sort"), ()),
        Entry("floor", "np.partition", "floor", _floor("partition"), (), note="kth = 70 %"),
        Entry("floor", "np.max", "floor", _floor("max"), (), note="one pass"),
    ]
    return e


def _histogram_total(h: Any) -> float:
    """A checksum of a streaming state: the number of pixels it counted."""
    if isinstance(h, np.ndarray):
        return float(h.sum())
    if hasattr(h, "background"):  # ProHistogram: background pixels + region count
        return float(np.sum(h.background)) + float(h.num_regions)
    return float(len(h.image_classes))  # PimoHistogram: images seen


def _bootstrap(metric: str, level: str):
    def build(ds: Dataset) -> Callable[[], Any]:
        import anomaly_metrics as am

        fn = getattr(am, metric)
        x, y = _inputs(ds, level)

        def run() -> list[float]:
            ci = am.bootstrap_ci(fn, x, y, n_resamples=1000, seed=0)
            return [float(ci.low), float(ci.high)]

        return run

    build.requires = ("anomaly_metrics:bootstrap_ci", f"anomaly_metrics:{metric}")  # type: ignore[attr-defined]
    return build


def _ours_min_max(ds: Dataset) -> Callable[[], Any]:
    import anomaly_metrics as am

    maps = ds.anomaly_maps
    return lambda: [float(v) for v in am.min_max(maps)]


def _minmax_numpy(ds: Dataset) -> Callable[[], Any]:
    maps = ds.anomaly_maps
    return lambda: [float(np.min(maps)), float(np.max(maps))]


def _minmax_torch(module: str):
    return _anomalib_style(module, "MinMax", "pixel", fields=["anomaly_map"])


def _ours_cc(ds: Dataset) -> Callable[[], Any]:
    import anomaly_metrics as am

    masks = ds.masks
    return lambda: _components_count(am.connected_components(masks))


ENTRIES: list[Entry] = _registry()


def by_id(entry_id: str) -> Entry:
    for entry in ENTRIES:
        if entry.id == entry_id:
            return entry
    raise KeyError(f"no benchmark entry {entry_id!r}")
