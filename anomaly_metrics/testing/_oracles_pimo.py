"""Slow references for PIMO and AUPIMO, one loop per threshold and per image.

Written from Bertoldo et al., "AUPIMO: Redefining Visual Anomaly Detection Benchmarks with High
Speed and Low Tolerance" (BMVC 2024, arXiv 2401.01984) and the rules of its reference code (the
``aupimo`` repository and anomalib's port); nothing is shared with the library:

- image classes: an image is anomalous iff its mask has a positive pixel;
- shared FPR(t): the mean over the *normal* images of each image's FPR at ``score >= t``,
  computed with exact rational arithmetic (``fractions.Fraction``) and rounded once;
- per-image TPR(t) of each anomalous image, ``np.count_nonzero(defect >= t) / defect.size``;
- linspace AUPIMO (anomalib's published numbers): ``num_thresholds`` thresholds evaluated
  element by element with ``torch.linspace``'s formula in the maps' dtype between the normal
  images' min and max; the bounds snapped to the nearest shared FPR (first on ties); the slice
  flipped and integrated with ``np.trapezoid`` over ``ln(shared FPR)``, divided by
  ``ln(hi / lo)`` and clipped to [0, 1];
- exact AUPIMO: every distinct relevant score is a threshold, and the area is a brute-force
  integral of the polyline in (ln FPR, TPR), each segment clipped to the bounds.

For a handful of tiny images only: the linspace functions loop over every threshold.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray


def reference_image_classes(masks: ArrayLike) -> NDArray[np.int32]:
    """1 for each image whose mask has a positive pixel (anomalous), else 0 (normal).

    Parameters
    ----------
    masks : array_like
        ``(N, H, W)`` binary masks.

    Returns
    -------
    ndarray of int32, shape (N,)

    Examples
    --------
    >>> reference_image_classes([[[0, 0]], [[0, 1]]]).tolist()
    [0, 1]
    """
    return np.array([int(np.any(m)) for m in np.asarray(masks)], np.int32)


def reference_linspace(lo: float, hi: float, k: int, dtype: DTypeLike) -> NDArray[Any]:
    """``torch.linspace(lo, hi, k)`` in ``dtype``, element by element, each operation rounded.

    The first half counts up from ``lo`` by ``step * i``, the second half down from ``hi``, as
    torch's kernels do; used by anomalib's AUPIMO thresholds.

    Parameters
    ----------
    lo, hi : float
        First and last value.
    k : int
        Number of values, at least 2.
    dtype : dtype
        Floating dtype in which every operation is rounded.

    Returns
    -------
    ndarray of ``dtype``, shape (k,)

    Examples
    --------
    >>> reference_linspace(0.0, 1.0, 5, "float32").tolist()
    [0.0, 0.25, 0.5, 0.75, 1.0]
    """
    dt = np.dtype(dtype).type
    start, end = dt(lo), dt(hi)
    step = dt(dt(end - start) / dt(k - 1))
    values = []
    for i in range(k):
        if i < k // 2:
            values.append(dt(start + dt(step * dt(i))))
        else:
            values.append(dt(end - dt(step * dt(k - 1 - i))))
    return np.array(values, dt)


def _rates(
    maps: NDArray[Any], masks: NDArray[np.bool_], thresholds: NDArray[Any]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Shared FPR (K,) and per-image TPR (N, K) at each threshold, by loops."""
    classes = reference_image_classes(masks)
    n, k = maps.shape[0], thresholds.shape[0]
    shared = np.empty(k)
    tpr = np.full((n, k), np.nan)
    for j, t in enumerate(thresholds.astype(np.float64)):
        fprs = []
        for i in range(n):
            scores = maps[i].astype(np.float64)
            if classes[i] == 0:
                fprs.append(Fraction(int(np.count_nonzero(scores >= t)), scores.size))
            else:
                defect = scores[masks[i].astype(bool)]
                tpr[i, j] = np.count_nonzero(defect >= t) / defect.size
        shared[j] = float(sum(fprs) / len(fprs))
    return shared, tpr


def reference_pimo_curves(
    anomaly_maps: ArrayLike, masks: ArrayLike, num_thresholds: int | None = 300_000
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.int32]]:
    """PIMO curves ``(thresholds, shared_fpr, per_image_tpr, image_classes)``, threshold by threshold.

    Parameters
    ----------
    anomaly_maps, masks : array_like
        ``(N, H, W)``, the same shape, with at least one normal image (empty mask).
    num_thresholds : int or None, default 300_000
        ``int``: that many linspace thresholds between the normal images' min and max score
        (anomalib's curve). ``None``: every distinct normal score and every anomalous-region
        score within that range (the exact curve).

    Returns
    -------
    thresholds : ndarray of float64, shape (K,)
        Ascending.
    shared_fpr : ndarray of float64, shape (K,)
    per_image_tpr : ndarray of float64, shape (N, K)
        ``nan`` rows for normal images.
    image_classes : ndarray of int32, shape (N,)

    Examples
    --------
    >>> maps = np.array([[[0.1, 0.2]], [[0.3, 0.4]], [[0.15, 0.35]]])
    >>> masks = np.array([[[0, 0]], [[0, 0]], [[1, 1]]])
    >>> thr, fpr, tpr, classes = reference_pimo_curves(maps, masks, None)
    >>> thr.tolist(), fpr.tolist(), tpr[2].tolist()
    ([0.1, 0.15, 0.2, 0.3, 0.35, 0.4], [1.0, 0.75, 0.75, 0.5, 0.25, 0.25], [1.0, 1.0, 0.5, 0.5, 0.5, 0.0])
    """
    maps = np.asarray(anomaly_maps)
    masks = np.asarray(masks).astype(bool)
    classes = reference_image_classes(masks)
    if not np.any(classes == 0):
        raise ValueError("`masks` must leave at least one normal image (empty mask) for PIMO.")
    normal_scores = maps[classes == 0].astype(np.float64)
    lo, hi = normal_scores.min(), normal_scores.max()
    if num_thresholds is None:
        relevant = [normal_scores.ravel()]
        for i in np.flatnonzero(classes):
            d = maps[i][masks[i]].astype(np.float64)
            relevant.append(d[(d >= lo) & (d <= hi)])
        thresholds = np.unique(np.concatenate(relevant))
    else:
        thresholds = reference_linspace(lo, hi, num_thresholds, maps.dtype).astype(np.float64)
    shared, tpr = _rates(maps, masks, thresholds)
    return thresholds, shared, tpr, classes


def _index_at(shared_fpr: NDArray[np.float64], level: float) -> int:
    """anomalib's bound snapping: the nearest shared FPR (first on ties; last 1.0 for 1.0)."""
    if level == 1.0:
        return max(j for j, f in enumerate(shared_fpr) if f == 1.0)
    distances = [abs(f - level) for f in shared_fpr]
    return distances.index(min(distances))


def _trapezoid_slice(
    shared: NDArray[np.float64],
    tpr: NDArray[np.float64],
    classes: NDArray[np.int32],
    fpr_bounds: tuple[float, float],
) -> tuple[NDArray[np.float64], int, int]:
    lo, hi = fpr_bounds
    a = _index_at(shared, hi)
    b = _index_at(shared, lo)
    x = np.log(shared[a : b + 1][::-1])
    per_image = np.full(len(classes), np.nan)
    for i in np.flatnonzero(classes):
        y = tpr[i, a : b + 1][::-1]
        per_image[i] = min(max(np.trapezoid(y, x) / math.log(hi / lo), 0.0), 1.0)
    return per_image, a, b


def reference_aupimo_linspace(
    anomaly_maps: ArrayLike,
    masks: ArrayLike,
    fpr_bounds: tuple[float, float] = (1e-5, 1e-4),
    num_thresholds: int = 300_000,
) -> tuple[NDArray[np.float64], float, int, tuple[float, float]]:
    """anomalib's AUPIMO on ``num_thresholds`` linspace thresholds: the published definition.

    Parameters
    ----------
    anomaly_maps, masks : array_like
        ``(N, H, W)``, the same shape, at least one normal and one anomalous image.
    fpr_bounds : (float, float), default (1e-5, 1e-4)
        Integration range of the shared FPR.
    num_thresholds : int, default 300_000
        Linspace thresholds (keep it small here: every threshold is a Python loop).

    Returns
    -------
    per_image : ndarray of float64, shape (N,)
        ``nan`` for normal images.
    mean : float
        Mean over the anomalous images.
    num_points : int
        Curve points inside the snapped bounds.
    threshold_bounds : (float, float)
        Thresholds at the upper and at the lower FPR bound.

    Examples
    --------
    >>> maps = np.array([[[0.0, 0.25, 0.5, 0.75, 1.0]], [[0.9, 0.8, 0.1, 0.6, 0.4]]])
    >>> masks = np.array([[[0, 0, 0, 0, 0]], [[1, 1, 1, 0, 0]]])
    >>> per_image, mean, points, bounds = reference_aupimo_linspace(maps, masks, (0.2, 0.8), 5)
    >>> round(mean, 6), points, bounds
    (0.5, 4, (0.25, 1.0))
    """
    thresholds, shared, tpr, classes = reference_pimo_curves(anomaly_maps, masks, num_thresholds)
    per_image, a, b = _trapezoid_slice(shared, tpr, classes, fpr_bounds)
    mean = float(np.mean(per_image[classes == 1]))
    return per_image, mean, b - a + 1, (float(thresholds[a]), float(thresholds[b]))


def reference_aupimo_from_curves(
    curves: Any, fpr_bounds: tuple[float, float] = (1e-5, 1e-4)
) -> tuple[NDArray[np.float64], int, tuple[float, float]]:
    """anomalib's AUPIMO integration rules applied to given linspace curves.

    Parameters
    ----------
    curves : PimoCurves or any object with ``thresholds`` (ascending), ``shared_fpr``,
        ``per_image_tpr`` and ``image_classes``
        The curves to integrate (for instance :func:`anomaly_metrics.pimo_curves`'s result).
    fpr_bounds : (float, float), default (1e-5, 1e-4)
        Integration range of the shared FPR.

    Returns
    -------
    per_image : ndarray of float64
    num_points : int
    threshold_bounds : (float, float)

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> curves = SimpleNamespace(
    ...     thresholds=np.array([0.0, 0.5, 1.0]), shared_fpr=np.array([1.0, 0.5, 0.25]),
    ...     per_image_tpr=np.array([[1.0, 1.0, 0.0]]), image_classes=np.array([1]))
    >>> per_image, points, bounds = reference_aupimo_from_curves(curves, (0.25, 1.0))
    >>> round(float(per_image[0]), 6), points, bounds
    (0.75, 3, (0.0, 1.0))
    """
    shared = np.asarray(curves.shared_fpr, np.float64)
    tpr = np.asarray(curves.per_image_tpr, np.float64)
    classes = np.asarray(curves.image_classes)
    per_image, a, b = _trapezoid_slice(shared, tpr, classes, fpr_bounds)
    thresholds = np.asarray(curves.thresholds, np.float64)
    return per_image, b - a + 1, (float(thresholds[a]), float(thresholds[b]))


def _clipped_segment_area(
    xa: float, ya: float, xb: float, yb: float, lo: float, hi: float
) -> float:
    """Area under the segment (xa, ya)-(xb, yb) restricted to lo <= x <= hi."""
    if not xb > xa:
        return 0.0
    a, b = max(xa, lo), min(xb, hi)
    if not b > a:
        return 0.0

    def y(x: float) -> float:
        return ya + (yb - ya) * (x - xa) / (xb - xa)

    return (b - a) * (y(a) + y(b)) / 2


def reference_aupimo_exact(
    anomaly_maps: ArrayLike, masks: ArrayLike, fpr_bounds: tuple[float, float] = (1e-5, 1e-4)
) -> tuple[NDArray[np.float64], float]:
    """Exact AUPIMO: a brute-force integral of the exact PIMO polyline over ``[ln lo, ln hi]``.

    Parameters
    ----------
    anomaly_maps, masks : array_like
        ``(N, H, W)``, the same shape, at least one normal and one anomalous image.
    fpr_bounds : (float, float), default (1e-5, 1e-4)
        Integration range of the shared FPR.

    Returns
    -------
    per_image : ndarray of float64, shape (N,)
        ``nan`` for normal images.
    mean : float
        Mean over the anomalous images.

    Examples
    --------
    >>> maps = np.array([[[0.0, 0.25, 0.5, 0.75, 1.0]], [[0.9, 0.8, 0.1, 0.6, 0.4]]])
    >>> masks = np.array([[[0, 0, 0, 0, 0]], [[1, 1, 1, 0, 0]]])
    >>> per_image, mean = reference_aupimo_exact(maps, masks, (0.2, 0.8))
    >>> round(mean, 6)
    0.666667
    """
    lo, hi = fpr_bounds
    thresholds, shared, tpr, classes = reference_pimo_curves(anomaly_maps, masks, None)
    order = np.arange(thresholds.size)[::-1]  # descending thresholds = ascending FPR
    per_image = np.full(len(classes), np.nan)
    with np.errstate(divide="ignore"):
        x = np.log(shared[order])
    for i in np.flatnonzero(classes):
        y = tpr[i, order]
        area = sum(
            _clipped_segment_area(x[j], y[j], x[j + 1], y[j + 1], math.log(lo), math.log(hi))
            for j in range(len(x) - 1)
        )
        per_image[i] = min(max(area / math.log(hi / lo), 0.0), 1.0)
    return per_image, float(np.mean(per_image[classes == 1]))


def reference_aupimo_exact_from_curves(
    curves: Any, fpr_bounds: tuple[float, float] = (1e-5, 1e-4)
) -> NDArray[np.float64]:
    """Exact AUPIMO per image of given exact curves: every segment clipped to the bounds.

    The rule of :func:`reference_aupimo_exact`, vectorised over segments (for curves with many
    thousand points).

    Parameters
    ----------
    curves : PimoCurves or any object with ``shared_fpr``, ``per_image_tpr``, ``image_classes``
        Exact curves, thresholds ascending.
    fpr_bounds : (float, float), default (1e-5, 1e-4)
        Integration range of the shared FPR.

    Returns
    -------
    ndarray of float64, shape (N,)
        ``nan`` for normal images.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> curves = SimpleNamespace(shared_fpr=np.array([1.0, 0.5, 0.25]),
    ...     per_image_tpr=np.array([[1.0, 1.0, 0.0]]), image_classes=np.array([1]))
    >>> reference_aupimo_exact_from_curves(curves, (0.25, 1.0)).round(6).tolist()
    [0.75]
    """
    lo, hi = math.log(fpr_bounds[0]), math.log(fpr_bounds[1])
    with np.errstate(divide="ignore"):
        x = np.log(np.asarray(curves.shared_fpr, np.float64)[::-1])
    xa, xb = x[:-1], x[1:]
    a, b = np.clip(xa, lo, hi), np.clip(xb, lo, hi)
    valid = (xb > xa) & (b > a)
    classes = np.asarray(curves.image_classes)
    out = np.full(classes.shape[0], np.nan)
    for i in np.flatnonzero(classes):
        y = np.asarray(curves.per_image_tpr, np.float64)[i, ::-1]
        ya, yb = y[:-1][valid], y[1:][valid]
        xa_v, xb_v, a_v, b_v = xa[valid], xb[valid], a[valid], b[valid]
        slope = (yb - ya) / (xb_v - xa_v)
        area = np.sum((b_v - a_v) * (2 * ya + slope * (a_v - xa_v) + slope * (b_v - xa_v)) / 2)
        out[i] = min(max(area / (hi - lo), 0.0), 1.0)
    return out
