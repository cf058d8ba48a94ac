"""What the benchmark measures: one :class:`Entry` per (metric, implementation), from a table.

Each row of :data:`TABLE` (and of :data:`LEVEL_TABLE`, whose metric ids hold ``{lv}`` and are
expanded for the image and the pixel level) is ``(metric, impl, kind, source, args, note,
requires, memory, value)``; a short row leaves the trailing columns at their defaults. ``source``
says what is called (the builders are in :mod:`bench.builders`):

- ``am:NAME``: our core function ``anomaly_metrics.NAME(scores, labels, **args)`` (with
  ``args["on"]`` ``"maps"`` or ``"masks"``: of that one array);
- ``amt:CLASS`` / ``anomalib:CLASS``: our ``anomaly_metrics_torch.CLASS`` / ``anomalib.metrics.CLASS``,
  used the way a training loop uses it (construct, ``update`` per batch of 32 images, ``compute``;
  ``args`` go to the constructor, ``fields`` as anomalib's);
- ``tm:CLASS``: torchmetrics' exact binary class (``thresholds=None``);
- ``sklearn:NAME``: ``sklearn.metrics.NAME(y_true, y_score)`` on flattened inputs;
- ``fn:MODULE.NAME``: any plain function ``fn(scores, labels, **args)``;
- ``special:NAME``: a builder of :data:`bench.builders.SPECIAL`;
- ``floor:sort`` / ``floor:partition`` / ``floor:max``: of the same float pixels.

``requires`` adds modules (``"pkg.mod"``) or names (``"pkg.mod:Name"``) to what the source needs,
``memory`` estimates the bytes an ``(n, h, w)`` set needs (skipped above ``--max-mem-gb``), and
``value`` turns the result into a float or a list of floats. Adding a metric is adding rows (and its
id to :data:`METRICS`).

Entry kinds: ``ours`` (the core function), ``ours-torch`` (our ``anomaly_metrics_torch`` class),
``overhead`` (impl ``ours-torch-ab``: the core function and our class's ``compute`` timed on the
same data in the same process, in alternating order; derived by the loop for every metric that
has both an ``ours`` and an ``ours-torch`` row), ``peer`` (another implementation) and ``floor``.
Every metric has exactly one ``ours`` entry: the other entries' values are compared with it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from . import builders as b
from .data import Dataset

__all__ = ["BATCH_SIZE", "ENTRIES", "LEVEL_TABLE", "METRICS", "PRO_THRESHOLD", "TABLE", "Entry", "by_id"]  # fmt: skip

BATCH_SIZE = b.BATCH_SIZE
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
    "aupro_multi": ("pixel", "AU-PRO at 0.3, 0.05, 0.01 (one count)"),
    "auspro": ("pixel", "AU-sPRO at 0.05, 0.01 (~2 channels per defective image)"),
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


def _aupimo_anomalib_memory(n: int, h: int, w: int) -> float:
    # anomalib 2.7.0 builds (N, 300k, 2, 2) int64 curves plus sort buffers: ~35 MB per image,
    # measured 17.5 GB for 500 x 256 x 256
    return 35e6 * n + 40.0 * n * h * w


def _sklearn_memory(n: int, h: int, w: int) -> float:
    return 40.0 * n * h * w


class Row(NamedTuple):
    """One row of the table (see the module docstring)."""

    metric: str
    impl: str
    kind: str
    source: str
    args: dict[str, Any] = {}  # noqa: RUF012 (never mutated)
    note: str = ""
    requires: tuple[str, ...] = ()
    memory: Callable[[int, int, int], float] | None = None
    value: Callable[[Any], Any] | None = None


_SK = ("sklearn",)
_SORT_MERGE = "np.sort per class, negatives in 2 threads + merge"
_CC = "connected_components"

# fmt: off
# metric ({lv}: image_ and pixel_), impl, kind, source, args, note, requires, memory, value
LEVEL_TABLE: list[tuple[Any, ...]] = [
    ("{lv}_auroc", "ours", "ours", "am:auroc"),
    ("{lv}_auroc", "ours-torch", "ours-torch", "amt:AUROC"),
    ("{lv}_auroc", "anomalib", "peer", "anomalib:AUROC", {}, "sigmoid per batch"),
    ("{lv}_auroc", "torchmetrics", "peer", "tm:BinaryAUROC", {}, "sigmoid per batch"),
    ("{lv}_auroc", "sklearn", "peer", "sklearn:roc_auc_score", {}, "", (), _sklearn_memory),
    ("{lv}_aupr", "ours", "ours", "am:aupr"),
    ("{lv}_aupr", "ours-torch", "ours-torch", "amt:AUPR"),
    ("{lv}_aupr", "anomalib", "peer", "anomalib:AUPR", {}, "sigmoid per batch"),
    ("{lv}_aupr", "torchmetrics", "peer", "tm:BinaryAveragePrecision", {}, "sigmoid per batch"),
    ("{lv}_aupr", "sklearn", "peer", "sklearn:average_precision_score", {}, "", (), _sklearn_memory),
    ("{lv}_f1_max", "ours", "ours", "am:f1_max"),
    ("{lv}_f1_max", "ours-torch", "ours-torch", "amt:F1Max"),
    ("{lv}_f1_max", "anomalib", "peer", "anomalib:F1Max"),
    ("{lv}_f1_max", "torchmetrics", "peer", "tm:BinaryPrecisionRecallCurve", {}, "PR curve, sigmoid per batch", (), None, b.f1_max_of_curve),
    ("{lv}_f1_max", "sklearn", "peer", "fn:bench.reference.sklearn_f1_max", {}, "precision_recall_curve", _SK, _sklearn_memory),
    ("{lv}_f1_adaptive_threshold", "ours", "ours", "am:f1_adaptive_threshold"),
    ("{lv}_f1_adaptive_threshold", "ours-torch", "ours-torch", "amt:F1AdaptiveThreshold"),
    ("{lv}_f1_adaptive_threshold", "anomalib", "peer", "anomalib:F1AdaptiveThreshold"),
    ("{lv}_f1_adaptive_threshold", "sklearn", "peer", "fn:bench.reference.sklearn_f1_adaptive_threshold", {}, "precision_recall_curve", _SK, _sklearn_memory),
]

TABLE: list[tuple[Any, ...]] = [
    ("pgn", "ours", "ours", "am:pgn", {"fnr": FNR}),
    ("pgn", "ours-torch", "ours-torch", "amt:PGn", {"fields": False, "fnr": FNR}),
    ("pgn", "anomalib", "peer", "anomalib:PGn", {"fields": False, "fnr": FNR}),
    ("pgn", "numpy", "peer", "fn:bench.reference.pgn_quantile", {"fnr": FNR}, "np.quantile"),
    ("pbn", "ours", "ours", "am:pbn", {"fpr": FPR}),
    ("pbn", "ours-torch", "ours-torch", "amt:PBn", {"fields": False, "fpr": FPR}),
    ("pbn", "anomalib", "peer", "anomalib:PBn", {"fields": False, "fpr": FPR}),
    ("pbn", "numpy", "peer", "fn:bench.reference.pbn_quantile", {"fpr": FPR}, "np.quantile"),
    ("pixel_auroc", "sort-merge", "peer", "fn:bench.sort_merge.auroc", {}, _SORT_MERGE),
    ("pixel_aupr", "sort-merge", "peer", "fn:bench.sort_merge.aupr", {}, _SORT_MERGE),
    ("pixel_f1_max", "sort-merge", "peer", "fn:bench.sort_merge.f1_max", {}, _SORT_MERGE),
    ("pixel_f1_adaptive_threshold", "sort-merge", "peer", "fn:bench.sort_merge.f1_adaptive_threshold", {}, _SORT_MERGE),
    ("min_max", "ours", "ours", "am:min_max", {"on": "maps"}, "", (), None, b.floats),
    ("min_max", "ours-torch", "ours-torch", "amt:MinMax", {"fields": ["anomaly_map"]}),
    ("min_max", "anomalib", "peer", "anomalib:MinMax", {"fields": ["anomaly_map"]}),
    ("min_max", "numpy", "peer", "special:min_max_numpy", {}, "np.min + np.max"),
    (_CC, "ours", "ours", "am:connected_components", {"on": "masks"}, "", (), None, b.components_count),
    (_CC, "scipy", "peer", "special:cc_scipy", {}, "ndimage.label per image", ("scipy",)),
    (_CC, "opencv", "peer", "special:cc_opencv", {}, "per image", ("cv2",)),
    (_CC, "anomalib", "peer", "special:cc_anomalib", {}, "connected_components_cpu", ("torch", "anomalib.utils.cv:connected_components_cpu")),
    ("pro", "ours", "ours", "am:pro", {"threshold": PRO_THRESHOLD}),
    ("pro", "ours-torch", "ours-torch", "amt:PRO", {"threshold": PRO_THRESHOLD}),
    ("pro", "anomalib", "peer", "anomalib:PRO", {"threshold": PRO_THRESHOLD}, "score > t"),
    ("pro", "scipy", "peer", "fn:bench.reference.pro_at_threshold", {"threshold": PRO_THRESHOLD}, "ndimage.label + bincount", ("scipy",)),
    ("aupro", "ours", "ours", "am:aupro"),
    ("aupro", "ours-torch", "ours-torch", "amt:AUPRO"),
    ("aupro", "anomalib", "peer", "anomalib:AUPRO", {}, "float32 cumsum"),
    ("aupro", "mvtec-ref", "peer", "fn:bench.reference.mvtec_aupro", {}, "official script's algorithm", ("scipy",), lambda n, h, w: 40.0 * n * h * w),
    ("aupro", "sort-merge", "peer", "fn:bench.sort_merge.aupro", {}, _SORT_MERGE + "; ndimage.label", ("scipy",)),
    ("aupro_multi", "ours", "ours", "am:aupro", {"fpr_limit": (0.3, 0.05, 0.01)}, "one count", (), None, b.floats),
    ("auspro", "ours", "ours", "special:auspro", {"fpr_limit": (0.05, 0.01)}, "channels from the masks' regions", ("anomaly_metrics:auspro",)),
    ("aupimo", "ours", "ours", "am:aupimo", {}, "", (), None, b.mean_field),
    ("aupimo", "ours-torch", "ours-torch", "amt:AUPIMO", {"fields": False}),
    ("aupimo", "anomalib", "peer", "anomalib:AUPIMO", {"fields": False}, "", (), _aupimo_anomalib_memory),
    ("aupimo", "numpy-ref", "peer", "fn:bench.reference.aupimo_linspace", {}, "300k linspace, per-image sort", (), None, b.first),
    ("aupimo_exact", "ours", "ours", "am:aupimo", {"num_thresholds": None}, "", (), None, b.mean_field),
    ("aupimo_exact", "numpy-ref", "peer", "fn:bench.reference.aupimo_exact", {}, "sort of normal pixels", (), None, b.first),
    ("evaluate", "ours", "ours", "special:evaluate_ours", {}, "", ("anomaly_metrics:evaluate",)),
    ("evaluate", "ours-separate", "peer", "special:evaluate_separate", {}, "one call per metric", ("anomaly_metrics:aupro", "anomaly_metrics:aupimo")),
    ("evaluate", "adeval", "peer", "special:evaluate_adeval", {}, "binned, 1000 strips", ("adeval:EvalAccumulator", "cv2")),
    ("ranking_histogram", "ours", "ours", "am:ranking_histogram", {}, "one update pass over all pixels", (), None, b.histogram_total),
    ("pro_histogram", "ours", "ours", "am:pro_histogram", {}, "incl. connected components", (), None, b.histogram_total),
    ("pimo_histogram", "ours", "ours", "am:pimo_histogram", {}, "", (), None, b.histogram_total),
    ("bootstrap_image_auroc", "ours", "ours", "special:bootstrap", {"metric": "auroc", "level": "image"}, "seed 0; [low, high]", ("anomaly_metrics:bootstrap_ci", "anomaly_metrics:auroc")),
    ("bootstrap_aupro", "ours", "ours", "special:bootstrap", {"metric": "aupro", "level": "pixel"}, "seed 0; [low, high]", ("anomaly_metrics:bootstrap_ci", "anomaly_metrics:aupro")),
    ("floor", "np.sort", "floor", "floor:sort"),
    ("floor", "np.partition", "floor", "floor:partition", {}, "kth = 70 %"),
    ("floor", "np.max", "floor", "floor:max", {}, "one pass"),
]
# fmt: on


def _source(row: Row, level: str) -> tuple[Callable[..., Any], tuple[str, ...]]:
    """The row's build and what its source needs (before the row's own ``requires``)."""
    kind, _, target = row.source.partition(":")
    args = dict(row.args)
    if row.value is not None:
        args["value"] = row.value
    if kind == "am":
        return b.core(target, level, **args), (f"anomaly_metrics:{target}",)
    if kind in ("amt", "anomalib"):
        module = "anomaly_metrics_torch" if kind == "amt" else "anomalib.metrics"
        top = module.split(".")[0]
        return b.anomalib_style(module, target, level, **args), (top, "torch", f"{module}:{target}")
    if kind == "tm":
        need = f"torchmetrics.classification:{target}"
        return b.torchmetrics(target, level, **args), ("torchmetrics", "torch", need)
    if kind == "sklearn":
        return b.sklearn(target, level, **args), _SK
    if kind == "fn":
        return b.plain(target, level, **args), ()
    if kind == "floor":
        return b.floor(target), ()
    if kind == "special":
        builder = b.SPECIAL[target]
        return (lambda ds: builder(ds, **args)), ()
    raise ValueError(f"unknown source {row.source!r} in the benchmark table")


def _entry(row: Row) -> Entry:
    level = METRICS[row.metric][0]
    build, needs = _source(row, level)
    requires = tuple(dict.fromkeys(row.requires + needs))
    return Entry(row.metric, row.impl, row.kind, build, requires, row.memory, row.note)


def _registry() -> list[Entry]:
    rows = [Row(*r) for r in LEVEL_TABLE]
    expanded = [
        r._replace(metric=r.metric.format(lv=lv)) for lv in ("image", "pixel") for r in rows
    ]
    out: list[Entry] = []
    for row in expanded + [Row(*r) for r in TABLE]:
        out.append(_entry(row))
        if row.impl == "ours-torch":  # the paired overhead entry of the core and the class
            core = next(e for e in out if e.metric == row.metric and e.kind == "ours")
            torch_cls = out[-1]
            out.append(
                Entry(
                    row.metric,
                    "ours-torch-ab",
                    "overhead",
                    b.paired(core.build, torch_cls.build),
                    tuple(dict.fromkeys(core.needs + torch_cls.needs)),
                    note="in-process, paired, alternating order",
                )
            )
    return out


ENTRIES: list[Entry] = _registry()


def by_id(entry_id: str) -> Entry:
    for entry in ENTRIES:
        if entry.id == entry_id:
            return entry
    raise KeyError(f"no benchmark entry {entry_id!r}")
