"""Segmentation-style thresholded pixel metrics (the ADer / COCO-AD tables): IoU, Acc, F1.

At a threshold ``t`` every pixel is predicted anomalous iff ``score >= t`` and the pixels of all
images are pooled: ``IoU = TP / (TP + FP + FN)``, ``F1 = 2 TP / (2 TP + FP + FN)`` and ADer's
``Acc = TP / (TP + FN)`` (the accuracy of the defect class in the segmentation sense, i.e. the
recall; not the share of correct pixels). :func:`thresholded_metrics` computes them at given
thresholds in one pass; :func:`iou_max` maximises IoU over every distinct score exactly (with
the counting primitive: IoU, like F1, only peaks at a defect pixel's score);
:func:`ader_pixel_metrics` reproduces ADer's protocol (maps min-max normalised per category,
mF1 / mAcc / mIoU averaged over 0.2, 0.3, ..., 0.8, F1-max / IoU-max over 0, 0.05, ..., 1).

ADer binarises with ``score > t`` and adds ``1e-8`` to its denominators; here ``score >= t`` and
undefined ratios are nan, so the values differ only at exact ties with a grid threshold (e.g.
the normalised minimum 0 at ``t = 0``) and by about 1e-8.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from numba import njit
from numpy.typing import NDArray

from ._counts import _binary_counts
from ._validation import check_maps_and_masks, check_scores
from ._warnings import warn_undefined

__all__ = [
    "ADER_MAX_THRESHOLDS",
    "ADER_MEAN_THRESHOLDS",
    "AderPixelMetrics",
    "ThresholdedMetrics",
    "ader_pixel_metrics",
    "iou_max",
    "thresholded_metrics",
]

#: ADer's grid for mF1 / mAcc / mIoU: ``np.arange(0.2, 0.8 + 1e-3, 0.1)`` (float64, as ADer).
ADER_MEAN_THRESHOLDS: NDArray[np.float64] = np.arange(0.2, 0.8 + 1e-3, 0.1)
#: ADer's grid for F1-max / IoU-max: ``np.arange(0.0, 1.0 + 1e-3, 0.05)``.
ADER_MAX_THRESHOLDS: NDArray[np.float64] = np.arange(0.0, 1.0 + 1e-3, 0.05)


class ThresholdedMetrics(NamedTuple):
    """Pooled pixel metrics at each threshold (see :func:`thresholded_metrics`)."""

    thresholds: NDArray[np.float64]  # (K,) as given
    iou: NDArray[np.float64]  # (K,) TP / (TP + FP + FN)
    accuracy: NDArray[np.float64]  # (K,) TP / (TP + FN), ADer's Acc
    f1: NDArray[np.float64]  # (K,) 2 TP / (2 TP + FP + FN)


class AderPixelMetrics(NamedTuple):
    """ADer's thresholded pixel metrics of one category (see :func:`ader_pixel_metrics`)."""

    mean_f1: float
    mean_accuracy: float
    mean_iou: float
    f1_max: float
    iou_max: float


@njit(cache=True, nogil=True)
def _grid_counts_kernel(scores, labels, grid, lo, scale):  # pragma: no cover - compiled
    """Positives and negatives per slot of the ascending ``grid``: slot ``j`` holds the values
    ``v`` with ``grid[j-1] <= v < grid[j]`` (``v = (float64(score) - lo) * scale``).

    One pass with a binary search per pixel (NumPy would need ``searchsorted`` plus two
    ``bincount`` passes, or a normalised float64 copy of the maps). Inputs are not validated;
    call through `thresholded_metrics`.
    """
    k = grid.shape[0]
    pos = np.zeros(k + 1, np.int64)
    neg = np.zeros(k + 1, np.int64)
    for i in range(scores.shape[0]):
        v = (np.float64(scores[i]) - lo) * scale
        a = 0
        b = k
        while a < b:  # number of grid values <= v
            mid = (a + b) >> 1
            if grid[mid] <= v:
                a = mid + 1
            else:
                b = mid
        if labels[i]:
            pos[a] += 1
        else:
            neg[a] += 1
    return pos, neg


def _check_thresholds(thresholds: Any) -> NDArray[np.float64]:
    t = check_scores(thresholds, "thresholds").astype(np.float64).reshape(-1)
    return t


def _normalisation(maps: NDArray[Any], normalize: bool) -> tuple[float, float]:
    """(lo, scale) such that the normalised score is ``(float64(s) - lo) * scale``."""
    if not normalize:
        return 0.0, 1.0
    lo, hi = float(maps.min()), float(maps.max())
    return lo, (1.0 / (hi - lo) if hi > lo else 1.0)


def _ratios(
    tp: NDArray[np.int64], fp: NDArray[np.int64], n_pos: int
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    tp_f = tp.astype(np.float64)
    fn = n_pos - tp_f
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = tp_f / (tp_f + fp + fn)
        acc = tp_f / n_pos if n_pos else np.full(tp.shape, np.nan)
        f1 = 2.0 * tp_f / (2.0 * tp_f + fp + fn)
    return iou, acc, f1


def thresholded_metrics(
    anomaly_maps: Any, masks: Any, thresholds: Any, *, normalize: bool = False
) -> ThresholdedMetrics:
    """Pooled pixel IoU, accuracy (ADer's Acc) and F1 at each of the given thresholds.

    Parameters
    ----------
    anomaly_maps : array-like of shape (N, H, W), (N, 1, H, W) or (H, W)
        Anomaly maps of one category; finite.
    masks : array-like, same shape
        Ground truth, bool or 0/1.
    thresholds : array-like of float
        A pixel is predicted anomalous iff ``score >= threshold`` (the normalised score with
        `normalize`), compared in float64. Any order; the result keeps it.
    normalize : bool, default False
        Min-max normalise the maps over the whole batch first (ADer normalises per category):
        the score compared is ``(float64(s) - min) / (max - min)`` (all 0 when max == min).

    Returns
    -------
    ThresholdedMetrics
        ``thresholds``, ``iou``, ``accuracy`` (TP / (TP + FN)), ``f1`` (float64 arrays). Their
        means over a grid are ADer's mIoU / mAcc / mF1. Undefined ratios are nan.

    Raises
    ------
    TypeError, ValueError
        Bad maps or masks (see :func:`aupro`); empty or non-finite thresholds.

    Warns
    -----
    UndefinedMetricWarning
        No defect pixel (accuracy is nan; IoU and F1 are nan where nothing is predicted).

    Examples
    --------
    >>> import numpy as np
    >>> import anomaly_metrics as am
    >>> maps = np.array([[0.9, 0.6], [0.4, 0.1]])
    >>> masks = np.array([[1, 1], [0, 0]])
    >>> r = am.thresholded_metrics(maps, masks, [0.5, 0.7])
    >>> r.iou.tolist(), r.accuracy.tolist(), r.f1.tolist()
    ([1.0, 0.5], [1.0, 0.5], [1.0, 0.6666666666666666])
    """
    norm = bool(normalize)
    t = _check_thresholds(thresholds)
    maps, gt = check_maps_and_masks(anomaly_maps, masks)
    lo, scale = _normalisation(maps, norm)
    order = np.argsort(t, kind="stable")
    grid = np.ascontiguousarray(t[order])
    pos, neg = _grid_counts_kernel(maps.reshape(-1), gt.reshape(-1), grid, lo, scale)
    # slot j + 1 onwards holds the values >= grid[j]
    tp_sorted = np.cumsum(pos[::-1])[::-1][1:]
    fp_sorted = np.cumsum(neg[::-1])[::-1][1:]
    tp = np.empty_like(tp_sorted)
    fp = np.empty_like(fp_sorted)
    tp[order], fp[order] = tp_sorted, fp_sorted
    n_pos = int(pos.sum())
    if n_pos == 0:
        warn_undefined("No defect pixel in `masks`: the accuracy (TP / (TP + FN)) is nan.")
    iou, acc, f1 = _ratios(tp, fp, n_pos)
    return ThresholdedMetrics(t, iou, acc, f1)


def iou_max(anomaly_maps: Any, masks: Any) -> float:
    """Largest pooled pixel IoU over every threshold (one per distinct score), exact.

    Parameters
    ----------
    anomaly_maps : array-like of shape (N, H, W), (N, 1, H, W) or (H, W)
        Anomaly maps; finite.
    masks : array-like, same shape
        Ground truth, bool or 0/1.

    Returns
    -------
    float
        ``max_t TP / (TP + FP + FN)`` over the predictions ``score >= t``; nan without a defect
        pixel. Invariant to any increasing transform of the scores (min-max normalisation
        included). It equals ``f1 / (2 - f1)`` of the F1 maximum.

    Raises
    ------
    TypeError, ValueError
        Bad maps or masks (see :func:`aupro`).

    Warns
    -----
    UndefinedMetricWarning
        No defect pixel (the result is nan).

    See Also
    --------
    ader_pixel_metrics : ADer's IoU-max over its 21-threshold grid.

    Examples
    --------
    >>> import numpy as np
    >>> import anomaly_metrics as am
    >>> maps = np.array([[0.9, 0.6], [0.7, 0.1]])
    >>> masks = np.array([[1, 1], [0, 0]])
    >>> am.iou_max(maps, masks)
    0.6666666666666666
    """
    maps, gt = check_maps_and_masks(anomaly_maps, masks)
    c = _binary_counts(maps.reshape(-1), gt.reshape(-1))
    if c.n_pos == 0:
        warn_undefined("No defect pixel in `masks`: IoU max is undefined (nan).")
        return float("nan")
    tp = c.tp.astype(np.float64)
    return float(np.max(tp / (c.fp + c.n_pos)))


def ader_pixel_metrics(anomaly_maps: Any, masks: Any) -> AderPixelMetrics:
    """ADer's thresholded pixel metrics of one category: mF1, mAcc, mIoU, F1-max, IoU-max.

    Parameters
    ----------
    anomaly_maps : array-like of shape (N, H, W), (N, 1, H, W) or (H, W)
        The anomaly maps of all test images of one category; finite.
    masks : array-like, same shape
        Ground truth, bool or 0/1.

    Returns
    -------
    AderPixelMetrics
        The maps are min-max normalised over the category, then ``mean_f1``,
        ``mean_accuracy``, ``mean_iou`` are the means over :data:`ADER_MEAN_THRESHOLDS`
        (0.2, 0.3, ..., 0.8) and ``f1_max``, ``iou_max`` the maxima over
        :data:`ADER_MAX_THRESHOLDS` (0, 0.05, ..., 1). The table's "m" prefix is then the mean
        over categories. For the exact maxima over every threshold use :func:`f1_max` and
        :func:`iou_max`.

    Raises
    ------
    TypeError, ValueError
        Bad maps or masks (see :func:`aupro`).

    Warns
    -----
    UndefinedMetricWarning
        No defect pixel.

    Notes
    -----
    ADer predicts ``normalised score > t`` and adds 1e-8 to its denominators; here ``>=`` and
    no epsilon (see the module docstring). With a defect pixel every ratio is defined.

    Examples
    --------
    >>> import numpy as np
    >>> import anomaly_metrics as am
    >>> maps = np.array([[[0.0, 1.0], [0.5, 0.1]]])
    >>> masks = np.array([[[0, 1], [1, 0]]])
    >>> r = am.ader_pixel_metrics(maps, masks)
    >>> round(r.mean_iou, 4), r.iou_max
    (0.7143, 1.0)
    """
    maps, gt = check_maps_and_masks(anomaly_maps, masks)
    if not gt.any():
        warn_undefined("No defect pixel in `masks`: ADer's pixel metrics are undefined (nan).")
        return AderPixelMetrics(*(float("nan"),) * 5)
    mean = thresholded_metrics(maps, gt, ADER_MEAN_THRESHOLDS, normalize=True)
    top = thresholded_metrics(maps, gt, ADER_MAX_THRESHOLDS, normalize=True)
    return AderPixelMetrics(
        float(np.mean(mean.f1)),
        float(np.mean(mean.accuracy)),
        float(np.mean(mean.iou)),
        float(np.max(top.f1)),
        float(np.max(top.iou)),
    )
