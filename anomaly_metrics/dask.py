"""Exact metrics of ``dask.array`` inputs: the passes are Dask graphs (extra ``[dask]``).

Each function takes Dask arrays (or anything ``dask.array.asarray`` accepts) and returns what the
in-memory function of the same name returns on the computed arrays, to the last bit. The work is
the out-of-core algorithm (:mod:`anomaly_metrics.out_of_core`) with one task per block:

1. every block gives its positives (defect pixels, with their region weight for AU-PRO) and its
   negatives' count; these are merged in block order by a tree reduction and gathered;
2. the sorted positives' distinct scores go to every block, which counts its negatives into
   their gaps; the int64 counts are summed by a tree reduction.

PIMO adds a pass over the normal images (linspace) or one per 16-bit digit of the order keys
(exact). The streaming histograms (:func:`ranking_histogram`, :func:`pro_histogram`,
:func:`pimo_histogram`) are one map-reduce.

Chunking
    Ranking metrics take any chunking (masks are rechunked like the maps). Segmentation metrics
    (PRO, AU-PRO, PIMO, ``evaluate``) need whole images in a block: maps ``(N, H, W)`` (or
    ``(N, 1, H, W)``, or one ``(H, W)`` image) chunked along the other axes are rechunked to
    chunks of whole images (``rechunk({1: -1, 2: -1})``), which keeps the chunks along images.

Schedulers
    ``scheduler=`` goes to ``dask.compute``: ``"threads"``, ``"processes"``, ``"synchronous"``
    or a ``dask.distributed.Client``; ``None`` uses Dask's default (the active distributed
    client, if any). Dask is imported with this module, never by ``import anomaly_metrics``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import dask
import dask.array as da
import numpy as np

from . import _chunked_evaluate, _chunked_metrics, _chunked_pimo
from ._chunked_source import merge_parts, run_stage
from ._evaluate import _check_metrics
from ._pimo import AupimoResult, PimoCurves, _check_aupimo_options, _check_num_thresholds
from ._pro import _check_fpr_limits
from ._validation import check_fraction, check_real
from .streaming import merge_histograms, pimo_histogram, pro_histogram, ranking_histogram

__all__ = [
    "aupimo",
    "aupr",
    "aupro",
    "auroc",
    "evaluate",
    "f1_adaptive_threshold",
    "f1_max",
    "pimo_curves",
    "pimo_histogram",
    "pro",
    "pro_histogram",
    "ranking_histogram",
]

_builders = {"ranking": ranking_histogram, "pro": pro_histogram, "pimo": pimo_histogram}


def _arrays(values: Any, labels: Any, kind: str) -> tuple[Any, Any]:
    """Both as Dask arrays of one shape, blocks aligned (whole images for ``kind="maps"``)."""
    v, y = da.asarray(values), da.asarray(labels)
    names = ("anomaly_maps", "masks") if kind == "maps" else ("scores", "labels")
    if v.shape != y.shape:
        raise ValueError(
            f"`{names[1]}` must have the same shape as `{names[0]}`, got {y.shape} and {v.shape}."
        )
    if v.ndim == 0 or v.size == 0:
        raise ValueError(f"`{names[0]}` must not be empty, got shape {v.shape}.")
    if kind == "maps":
        if v.ndim not in (2, 3, 4) or (v.ndim == 4 and v.shape[1] != 1):
            raise ValueError(
                f"`anomaly_maps` must have shape (N, H, W), (N, 1, H, W) or (H, W), got {v.shape}."
            )
        whole = {a: -1 for a in range(1 if v.ndim > 2 else 0, v.ndim)}
        v = v.rechunk(whole)
    return v, y.rechunk(v.chunks)


def _tree(parts: list[Any], combine: Any) -> Any:
    """Pairwise reduction of delayed values, keeping their order."""
    while len(parts) > 1:
        pairs = [parts[i : i + 2] for i in range(0, len(parts), 2)]
        parts = [dask.delayed(combine)(*p) if len(p) == 2 else p[0] for p in pairs]
    return parts[0]


class _DaskRunner:
    """Runs each pass as one Dask graph: a task per block, a tree of merges, one compute."""

    def __init__(self, values: Any, labels: Any, kind: str, scheduler: Any) -> None:
        v, y = _arrays(values, labels, kind)
        self.blocks = list(zip(v.to_delayed().ravel(), y.to_delayed().ravel()))
        self.kind = kind
        self.scheduler = scheduler
        self.passes = 0

    def map_reduce(self, name: str, stage: Any, *params: Any) -> dict[str, Any]:
        self.passes += 1
        # arrays travel once per graph, not once per task
        shipped = [dask.delayed(p) if isinstance(p, np.ndarray) else p for p in params]
        parts = [
            dask.delayed(run_stage, name=f"{name}-{i}")(self.kind, stage, v, y, *shipped)
            for i, (v, y) in enumerate(self.blocks)
        ]
        return _compute(_tree(parts, merge_parts), self.scheduler)


def _compute(x: Any, scheduler: Any) -> Any:
    if scheduler is None:
        return dask.compute(x)[0]
    if hasattr(scheduler, "get") and not isinstance(scheduler, str):  # a distributed Client
        return scheduler.compute(x).result()
    return dask.compute(x, scheduler=scheduler)[0]


def auroc(
    scores: Any, labels: Any, *, max_fpr: float | None = None, scheduler: Any = None
) -> float:
    """:func:`anomaly_metrics.auroc` of Dask arrays (any shape and chunking), bit for bit.

    Parameters
    ----------
    scores, labels : dask.array.Array or array-like
        Same shape; labels bool or 0/1. Any chunking (labels are rechunked like the scores).
    max_fpr : float in (0, 1], optional
        As in :func:`anomaly_metrics.auroc`.
    scheduler : str or dask.distributed.Client, optional
        Where the graphs run (see the module docstring).

    Examples
    --------
    >>> import dask.array as da
    >>> import anomaly_metrics.dask as amd
    >>> scores = da.from_array([0.1, 0.4, 0.35, 0.8], chunks=2)
    >>> amd.auroc(scores, da.from_array([0, 0, 1, 1], chunks=2), scheduler="synchronous")
    0.75
    """
    if max_fpr is not None:
        max_fpr = check_fraction(max_fpr, "max_fpr", low_open=True)
    return _chunked_metrics.auroc(_DaskRunner(scores, labels, "scores", scheduler), max_fpr)


def aupr(scores: Any, labels: Any, *, scheduler: Any = None) -> float:
    """:func:`anomaly_metrics.aupr` of Dask arrays (see :func:`auroc`).

    Examples
    --------
    >>> import dask.array as da
    >>> import anomaly_metrics.dask as amd
    >>> amd.aupr(da.from_array([0.1, 0.9, 0.4, 0.3], chunks=3), da.from_array([0, 1, 1, 0], chunks=3))
    1.0
    """
    return _chunked_metrics.aupr(_DaskRunner(scores, labels, "scores", scheduler))


def f1_max(scores: Any, labels: Any, *, scheduler: Any = None) -> float:
    """:func:`anomaly_metrics.f1_max` of Dask arrays (see :func:`auroc`).

    Examples
    --------
    >>> import dask.array as da
    >>> import anomaly_metrics.dask as amd
    >>> amd.f1_max(da.from_array([0.1, 0.4, 0.35, 0.8], chunks=1), da.from_array([0, 0, 1, 1], chunks=1))
    0.8
    """
    return _chunked_metrics.f1_max(_DaskRunner(scores, labels, "scores", scheduler))[0]


def f1_adaptive_threshold(scores: Any, labels: Any, *, scheduler: Any = None) -> float:
    """:func:`anomaly_metrics.f1_adaptive_threshold` of Dask arrays (see :func:`auroc`).

    Examples
    --------
    >>> import dask.array as da
    >>> import anomaly_metrics.dask as amd
    >>> s = da.from_array([2.3, 1.6, 2.6, 7.9, 3.3], chunks=2)
    >>> amd.f1_adaptive_threshold(s, da.from_array([0, 0, 0, 1, 1], chunks=2))
    3.3
    """
    return _chunked_metrics.f1_adaptive_threshold(_DaskRunner(scores, labels, "scores", scheduler))


def pro(anomaly_maps: Any, masks: Any, threshold: float = 0.5, *, scheduler: Any = None) -> float:
    """:func:`anomaly_metrics.pro` of Dask arrays ``(N, H, W)`` (blocks of whole images).

    Examples
    --------
    >>> import dask.array as da
    >>> import numpy as np
    >>> import anomaly_metrics.dask as amd
    >>> maps = da.from_array(np.full((3, 4, 4), 0.7), chunks=(1, 4, 4))
    >>> amd.pro(maps, da.ones((3, 4, 4), bool, chunks=(2, 4, 4)), threshold=0.5)
    1.0
    """
    t = check_real(threshold, "threshold")
    return _chunked_metrics.pro(_DaskRunner(anomaly_maps, masks, "maps", scheduler), t)


def aupro(
    anomaly_maps: Any,
    masks: Any,
    *,
    fpr_limit: float | Iterable[float] = 0.3,
    scheduler: Any = None,
) -> float | tuple[float, ...]:
    """:func:`anomaly_metrics.aupro` of Dask arrays ``(N, H, W)`` (blocks of whole images).

    Examples
    --------
    >>> import dask.array as da
    >>> import numpy as np
    >>> import anomaly_metrics as am
    >>> import anomaly_metrics.dask as amd
    >>> masks = np.zeros((2, 8, 8), bool)
    >>> masks[1, 2:5, 2:5] = True
    >>> maps = np.where(masks, 0.9, 0.1) + np.linspace(0, 0.01, 64).reshape(8, 8)
    >>> amd.aupro(da.from_array(maps, chunks=(1, 4, 8)), da.from_array(masks)) == am.aupro(maps, masks)
    True
    """
    limits, one = _check_fpr_limits(fpr_limit)
    runner = _DaskRunner(anomaly_maps, masks, "maps", scheduler)
    return _chunked_metrics.aupro(runner, limits, one)


def pimo_curves(
    anomaly_maps: Any, masks: Any, *, num_thresholds: int | None = 300_000, scheduler: Any = None
) -> PimoCurves:
    """:func:`anomaly_metrics.pimo_curves` of Dask arrays (the ``(N, K)`` curves are gathered).

    Examples
    --------
    >>> import dask.array as da
    >>> import numpy as np
    >>> import anomaly_metrics.dask as amd
    >>> maps = np.random.default_rng(0).random((4, 16, 16))
    >>> masks = np.zeros(maps.shape, bool)
    >>> masks[2:, 4:8, 4:8] = True
    >>> curves = amd.pimo_curves(da.from_array(maps, chunks=(3, 16, 16)), da.from_array(masks))
    >>> curves.image_classes.tolist()
    [0, 0, 1, 1]
    """
    k = _check_num_thresholds(num_thresholds)
    return _chunked_pimo.pimo_curves(_DaskRunner(anomaly_maps, masks, "maps", scheduler), k)


def aupimo(
    anomaly_maps: Any,
    masks: Any,
    *,
    fpr_bounds: tuple[float, float] = (1e-5, 1e-4),
    num_thresholds: int | None = 300_000,
    force: bool = False,
    scheduler: Any = None,
) -> AupimoResult:
    """:func:`anomaly_metrics.aupimo` of Dask arrays ``(N, H, W)`` (blocks of whole images).

    Examples
    --------
    >>> import dask.array as da
    >>> import numpy as np
    >>> import anomaly_metrics.dask as amd
    >>> rng = np.random.default_rng(0)
    >>> maps = rng.random((4, 32, 32))
    >>> masks = np.zeros(maps.shape, bool)
    >>> masks[2:, 4:12, 4:12] = True
    >>> maps[masks] += 0.5
    >>> r = amd.aupimo(da.from_array(maps, chunks=(1, 32, 32)), da.from_array(masks),
    ...                fpr_bounds=(1e-2, 1e-1), num_thresholds=None)
    >>> r.image_classes.tolist(), round(r.mean, 3)
    ([0, 0, 1, 1], 0.539)
    """
    k, lo, hi, forced = _check_aupimo_options(fpr_bounds, num_thresholds, force)
    runner = _DaskRunner(anomaly_maps, masks, "maps", scheduler)
    return _chunked_pimo.aupimo(runner, lo, hi, k, forced)


def evaluate(
    anomaly_maps: Any,
    masks: Any,
    *,
    image_scores: Any | None = None,
    metrics: Iterable[str] | None = None,
    fpr_limit: float = 0.3,
    groups: Any | None = None,
    scheduler: Any = None,
) -> dict[str, float]:
    """:func:`anomaly_metrics.evaluate` of Dask arrays ``(N, H, W)``, in two graphs.

    `image_scores` and `groups` (one per image) are in memory, as in
    :func:`anomaly_metrics.evaluate`.

    Examples
    --------
    >>> import dask.array as da
    >>> import numpy as np
    >>> import anomaly_metrics.dask as amd
    >>> maps = np.zeros((2, 4, 4), np.float32)
    >>> masks = np.zeros((2, 4, 4), bool)
    >>> masks[1, 1:3, 1:3] = True
    >>> maps[1, 1:3, 1:3] = 0.9
    >>> amd.evaluate(da.from_array(maps, chunks=1), da.from_array(masks), metrics=["pixel_auroc"])
    {'pixel_auroc': 1.0}
    """
    wanted = _check_metrics(metrics)
    limit = check_fraction(fpr_limit, "fpr_limit", low_open=True)
    runner = _DaskRunner(anomaly_maps, masks, "maps", scheduler)
    return _chunked_evaluate.evaluate(runner, wanted, limit, image_scores, groups)


def _histogram(kind: str, values: Any, labels: Any, bits: int | None, scheduler: Any) -> Any:
    v, y = _arrays(values, labels, "scores" if kind == "ranking" else "maps")
    build = _builders[kind]
    options = {} if bits is None else {"bits": bits}
    parts = [
        dask.delayed(build)(b_v, b_y, **options)
        for b_v, b_y in zip(v.to_delayed().ravel(), y.to_delayed().ravel())
    ]
    return _compute(_tree(parts, merge_histograms), scheduler)


def ranking_histogram(
    scores: Any, labels: Any, *, bits: int | None = None, scheduler: Any = None
) -> Any:
    """:func:`anomaly_metrics.ranking_histogram` of Dask arrays: one map-reduce (streaming).

    Examples
    --------
    >>> import dask.array as da
    >>> import anomaly_metrics as am
    >>> import anomaly_metrics.dask as amd
    >>> h = amd.ranking_histogram(da.from_array([0.1, 0.4, 0.35, 0.8], chunks=2),
    ...                           da.from_array([0, 0, 1, 1], chunks=2))
    >>> am.auroc_from_histogram(h).value
    0.75
    """
    return _histogram("ranking", scores, labels, bits, scheduler)


def pro_histogram(
    anomaly_maps: Any, masks: Any, *, bits: int | None = None, scheduler: Any = None
) -> Any:
    """:func:`anomaly_metrics.pro_histogram` of Dask arrays (blocks of whole images).

    Examples
    --------
    >>> import dask.array as da
    >>> import numpy as np
    >>> import anomaly_metrics.dask as amd
    >>> masks = np.zeros((2, 8, 8), bool)
    >>> masks[1, 2:5, 2:5] = True
    >>> h = amd.pro_histogram(da.from_array(np.where(masks, 0.9, 0.1), chunks=1), da.from_array(masks))
    >>> h.num_regions
    1
    """
    return _histogram("pro", anomaly_maps, masks, bits, scheduler)


def pimo_histogram(
    anomaly_maps: Any, masks: Any, *, bits: int | None = None, scheduler: Any = None
) -> Any:
    """:func:`anomaly_metrics.pimo_histogram` of Dask arrays (blocks of whole images).

    Examples
    --------
    >>> import dask.array as da
    >>> import numpy as np
    >>> import anomaly_metrics.dask as amd
    >>> masks = np.zeros((3, 8, 8), bool)
    >>> masks[1, 2:5, 2:5] = True
    >>> h = amd.pimo_histogram(da.from_array(np.where(masks, 0.9, 0.1), chunks=1), da.from_array(masks))
    >>> h.image_classes.tolist()
    [0, 1, 0]
    """
    return _histogram("pimo", anomaly_maps, masks, bits, scheduler)
