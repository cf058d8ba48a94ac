"""Slow float64 references for connected regions, per-region overlap, PRO and AU-PRO.

Written from the official MVTec AD evaluation (Bergmann et al., "The MVTec Anomaly Detection
Dataset", IJCV 2021, and its ``evaluate_experiment.py`` / ``pro_curve_util.py`` /
``generic_util.py``), step by step and with no code shared with the library:

- regions: the 8-connected components of each image's ground-truth mask
  (``scipy.ndimage.label`` with a 3x3 structure), never crossing images;
- PRO(t): the mean over all regions of all images of the fraction of the region's pixels with
  ``score >= t``; FPR(t): false positives over all ground-truth-negative pixels of all images
  (normal images included);
- the curve: one point per distinct score, from ``(0, 0)``; AU-PRO: its trapezoidal area up to
  the FPR limit, with linear interpolation at the limit, divided by the limit.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import ndimage as ndi

_STRUCTURES = {8: np.ones((3, 3), bool), 4: ndi.generate_binary_structure(2, 1)}


def _as_batch(maps: ArrayLike, masks: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    maps = np.asarray(maps, np.float64)
    masks = np.asarray(masks) != 0
    if maps.shape != masks.shape:
        raise ValueError(
            f"`anomaly_maps` and `masks` must have the same shape, got {maps.shape} and {masks.shape}."
        )
    if maps.ndim == 2:
        maps, masks = maps[None], masks[None]
    elif maps.ndim == 4:
        maps, masks = maps[:, 0], masks[:, 0]
    elif maps.ndim != 3:
        raise ValueError(
            f"`anomaly_maps` must be (N, H, W), (N, 1, H, W) or (H, W), got {maps.shape}."
        )
    return maps, masks


def reference_labels(masks: ArrayLike, connectivity: int = 8) -> NDArray[np.int32]:
    """Connected regions of each mask with ``scipy.ndimage.label``, numbered across the batch.

    Parameters
    ----------
    masks : array_like
        Binary masks ``(N, H, W)``.
    connectivity : {8, 4}, default 8
        8: a 3x3 structure (the MVTec AD definition); 4: edge neighbours only.

    Returns
    -------
    ndarray of int32
        Same shape; 0 is background, regions of image ``i`` follow those of image ``i - 1``.

    Examples
    --------
    >>> reference_labels([[[1, 0, 1], [0, 1, 0]], [[0, 0, 0], [1, 1, 0]]]).tolist()
    [[[1, 0, 1], [0, 1, 0]], [[0, 0, 0], [2, 2, 0]]]
    """
    if connectivity not in _STRUCTURES:
        raise ValueError(f"`connectivity` must be 4 or 8, got {connectivity!r}.")
    masks = np.asarray(masks) != 0
    out = np.zeros(masks.shape, np.int32)
    offset = 0
    for i in range(masks.shape[0]):
        lab, k = ndi.label(masks[i], structure=_STRUCTURES[connectivity])
        out[i] = np.where(lab > 0, lab + offset, 0)
        offset += k
    return out


class RegionOverlaps(NamedTuple):
    """Per-region result of :func:`reference_region_overlaps`, regions in label order."""

    overlap: NDArray[np.float64]
    """Fraction of the region's pixels with ``score >= threshold``."""
    image_index: NDArray[np.int64]
    """Index of the image the region lies in."""
    size: NDArray[np.int64]
    """Number of pixels of the region."""


def reference_region_overlaps(
    anomaly_maps: ArrayLike, masks: ArrayLike, threshold: float
) -> RegionOverlaps:
    """Overlap of each ground-truth region with the prediction ``score >= threshold``, region by region.

    Parameters
    ----------
    anomaly_maps, masks : array_like
        ``(N, H, W)``, ``(N, 1, H, W)`` or ``(H, W)``, the same shape.
    threshold : float
        Decision threshold (``>=``).

    Returns
    -------
    RegionOverlaps
        ``overlap``, ``image_index`` and ``size`` of every 8-connected region, in the order of
        :func:`reference_labels`.

    Examples
    --------
    >>> maps = [[[0.9, 0.1, 0.2], [0.3, 0.1, 0.8]]]
    >>> masks = [[[1, 0, 0], [1, 0, 1]]]
    >>> reference_region_overlaps(maps, masks, 0.5).overlap.tolist()
    [0.5, 1.0]
    """
    maps, masks = _as_batch(anomaly_maps, masks)
    labels = reference_labels(masks)
    overlap, image, size = [], [], []
    for k in range(1, int(labels.max(initial=0)) + 1):
        where = labels == k
        region = maps[where]
        overlap.append(np.count_nonzero(region >= threshold) / region.size)
        image.append(int(np.flatnonzero(where.any(axis=(1, 2)))[0]))
        size.append(region.size)
    return RegionOverlaps(
        np.array(overlap, np.float64), np.array(image, np.int64), np.array(size, np.int64)
    )


def reference_pro(anomaly_maps: ArrayLike, masks: ArrayLike, threshold: float = 0.5) -> float:
    """PRO at one threshold: the mean over all regions of the region's overlap (loops).

    Parameters
    ----------
    anomaly_maps, masks : array_like
        ``(N, H, W)``, ``(N, 1, H, W)`` or ``(H, W)``, the same shape, at least one region.
    threshold : float, default 0.5
        Decision threshold (``>=``).

    Returns
    -------
    float

    Examples
    --------
    >>> reference_pro([[[0.9, 0.1, 0.2], [0.3, 0.1, 0.8]]], [[[1, 0, 0], [1, 0, 1]]], 0.5)
    0.75
    """
    overlaps = reference_region_overlaps(anomaly_maps, masks, threshold).overlap
    if overlaps.size == 0:
        raise ValueError("`masks` must contain at least one region for PRO, got none.")
    return float(np.mean(overlaps))


def reference_pro_curve(
    anomaly_maps: ArrayLike, masks: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """The full PRO curve ``(fpr, pro, thresholds)``: one point per distinct score, from ``(0, 0)``.

    The official MVTec AD recipe: each background pixel adds 1 to the false positives and each
    pixel of region ``k`` adds ``1 / |k|`` to the overlap sum; all pixels sorted by descending
    score; cumulative sums; the last point of each run of equal scores kept; ``(0, 0)`` prepended
    with threshold ``+inf``. Not cut at any limit.

    Parameters
    ----------
    anomaly_maps, masks : array_like
        ``(N, H, W)``, ``(N, 1, H, W)`` or ``(H, W)``, the same shape, with at least one region
        and one background pixel.

    Returns
    -------
    fpr, pro, thresholds : ndarray of float64
        Ascending FPR and PRO, descending thresholds.

    Examples
    --------
    >>> fpr, pro, thr = reference_pro_curve([[0.9, 0.5], [0.5, 0.1]], [[1, 0], [1, 0]])
    >>> fpr.tolist(), pro.tolist(), thr.tolist()
    ([0.0, 0.0, 0.5, 1.0], [0.0, 0.5, 1.0, 1.0], [inf, 0.9, 0.5, 0.1])
    """
    maps, masks = _as_batch(anomaly_maps, masks)
    labels = reference_labels(masks)
    n_regions = int(labels.max(initial=0))
    sizes = np.bincount(labels.ravel(), minlength=n_regions + 1).astype(np.float64)
    fp_change = (labels == 0).astype(np.float64).ravel()
    pro_change = np.where(labels > 0, 1.0 / sizes[labels], 0.0).ravel()
    n_bg = fp_change.sum()
    if n_regions == 0 or n_bg == 0:
        raise ValueError(
            "`masks` must contain at least one region and one background pixel for a PRO curve, "
            f"got {n_regions} regions and {int(n_bg)} background pixels."
        )
    scores = maps.ravel()
    order = np.argsort(scores, kind="stable")[::-1]
    scores = scores[order]
    fpr = np.cumsum(fp_change[order]) / n_bg
    pro = np.cumsum(pro_change[order]) / n_regions
    keep = np.append(scores[:-1] != scores[1:], True)  # the last element of each run of ties
    return (
        np.concatenate(([0.0], fpr[keep])),
        np.concatenate(([0.0], pro[keep])),
        np.concatenate(([np.inf], scores[keep])),
    )


def reference_trapezoid(x: ArrayLike, y: ArrayLike, x_max: float) -> float:
    """Trapezoidal area under ``y(x)`` for ``x <= x_max``, interpolating linearly at ``x_max``.

    The rule of the official MVTec AD ``trapezoid(x, y, x_max)``: keep the points with
    ``x <= x_max``; if ``x_max`` is not one of the ``x``, add the area of the segment that
    crosses it up to the interpolated point.

    Parameters
    ----------
    x, y : array_like
        Curve points, ``x`` ascending.
    x_max : float
        Upper integration limit.

    Returns
    -------
    float

    Examples
    --------
    >>> reference_trapezoid([0.0, 0.5, 1.0], [0.0, 1.0, 1.0], 0.25)
    0.0625
    """
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    correction = 0.0
    if x_max not in x:
        ins = int(np.searchsorted(x, x_max, side="right"))
        if 0 < ins < len(x):
            y_cut = y[ins - 1] + (y[ins] - y[ins - 1]) * (x_max - x[ins - 1]) / (
                x[ins] - x[ins - 1]
            )
            correction = 0.5 * (y_cut + y[ins - 1]) * (x_max - x[ins - 1])
    keep = x <= x_max
    xs, ys = x[keep], y[keep]
    return float(np.sum(0.5 * (ys[1:] + ys[:-1]) * (xs[1:] - xs[:-1])) + correction)


def reference_aupro(anomaly_maps: ArrayLike, masks: ArrayLike, fpr_limit: float = 0.3) -> float:
    """AU-PRO: the area under the PRO curve up to ``fpr_limit``, divided by ``fpr_limit``.

    :func:`reference_pro_curve`, then :func:`reference_trapezoid` at the limit, divided by the
    limit (not by the last FPR reached), as in the official MVTec AD evaluation.

    Parameters
    ----------
    anomaly_maps, masks : array_like
        ``(N, H, W)``, ``(N, 1, H, W)`` or ``(H, W)``, the same shape, with at least one region
        and one background pixel.
    fpr_limit : float, default 0.3
        Integration limit in (0, 1].

    Returns
    -------
    float

    Examples
    --------
    >>> reference_aupro([[0.9, 0.5], [0.5, 0.1]], [[1, 0], [1, 0]], fpr_limit=0.5)
    0.75
    """
    fpr, pro, _ = reference_pro_curve(anomaly_maps, masks)
    return reference_trapezoid(fpr, pro, fpr_limit) / fpr_limit
