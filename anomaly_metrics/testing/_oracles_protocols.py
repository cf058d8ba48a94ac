"""Oracles for the benchmark protocols' metrics: sPRO / AU-sPRO, SegF1, IoU, sample grouping.

Written straight from the definitions with a loop over thresholds (or images, or samples), for
small inputs only. Positive means ``score >= threshold`` (the library's convention; MVTec LOCO's
official evaluation and ADer use ``>``, which differs only at exact ties).

- sPRO (Bergmann et al., "Beyond Dents and Scratches", IJCV 2022): the saturated per-region
  overlap of a defect channel at threshold ``t`` is ``min(TP / saturation_area, 1)``; the curve's
  y is the mean over all channels of all images, its x the false positive rate of the pixels
  outside every channel (normal images included). A saturation area of 0 counts as saturated by
  the first detected pixel.
- SegF1 (MVTec AD 2): ``2 TP / (2 TP + FP + FN)`` of the binarised maps.
- IoU: ``TP / (TP + FP + FN)``; IoU-max is its maximum over every distinct score.
- Sample groups (Real-IAD): a sample's score is the max (or mean) of its views' scores, its
  label "any view is anomalous".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "reference_area",
    "reference_counts",
    "reference_group_scores",
    "reference_iou_max",
    "reference_max_fpr_threshold",
    "reference_seg_f1_per_image",
    "reference_spro",
    "reference_spro_curve",
]


def _saturated_overlap(tp: int, saturation: float) -> float:
    if saturation == 0:
        return 1.0 if tp > 0 else 0.0
    return min(tp / saturation, 1.0)


def reference_spro(
    maps: Sequence[Any], channels: Sequence[Any], saturation_areas: Sequence[Any], threshold: float
) -> float:
    """Mean saturated per-region overlap over every channel of every image at `threshold`.

    ``channels[i]`` is a ``(C_i, H, W)`` bool stack (``C_i`` may be 0) and
    ``saturation_areas[i]`` its ``C_i`` saturation areas. ``nan`` without any channel.

    Examples
    --------
    >>> import numpy as np
    >>> maps = [np.array([[0.9, 0.2], [0.8, 0.1]])]
    >>> channels = [np.array([[[True, True], [False, False]]])]
    >>> reference_spro(maps, channels, [[1.0]], threshold=0.5)
    1.0
    """
    values = []
    for m, ch, sats in zip(maps, channels, saturation_areas):
        m = np.asarray(m, np.float64)
        for c, s in zip(np.asarray(ch, bool), sats):
            values.append(_saturated_overlap(int(((m >= threshold) & c).sum()), float(s)))
    return float(np.mean(values)) if values else float("nan")


def reference_spro_curve(
    maps: Sequence[Any], channels: Sequence[Any], saturation_areas: Sequence[Any]
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """``(fpr, spro, thresholds)``: (0, 0) at ``+inf``, then one point per distinct score, descending.

    Examples
    --------
    >>> import numpy as np
    >>> maps = [np.array([[0.9, 0.2], [0.8, 0.1]])]
    >>> channels = [np.array([[[True, True], [False, False]]])]
    >>> fpr, spro, t = reference_spro_curve(maps, channels, [[2.0]])
    >>> fpr.tolist(), spro.tolist()
    ([0.0, 0.0, 0.5, 0.5, 1.0], [0.0, 0.5, 0.5, 1.0, 1.0])
    """
    maps = [np.asarray(m, np.float64) for m in maps]
    background = [
        ~np.asarray(ch, bool).any(axis=0) if len(ch) else np.ones(m.shape, bool)
        for m, ch in zip(maps, channels)
    ]
    n_background = sum(int(b.sum()) for b in background)
    n_channels = sum(len(ch) for ch in channels)
    fpr = [0.0 if n_background else math.nan]
    spro = [0.0 if n_channels else math.nan]
    thresholds = [math.inf]
    for t in np.unique(np.concatenate([m.ravel() for m in maps]))[::-1]:
        fp = sum(int(((m >= t) & b).sum()) for m, b in zip(maps, background))
        fpr.append(fp / n_background if n_background else math.nan)
        spro.append(reference_spro(maps, channels, saturation_areas, t))
        thresholds.append(float(t))
    return np.array(fpr), np.array(spro), np.array(thresholds)


def reference_area(x: Sequence[float], y: Sequence[float], limit: float) -> float:
    """Trapezoids of a curve up to ``x = limit`` (the crossing segment cut there), over `limit`.

    Examples
    --------
    >>> reference_area([0.0, 0.5, 1.0], [0.0, 1.0, 1.0], limit=0.5)
    0.5
    """
    area = 0.0
    for k in range(1, len(x)):
        x0, x1, y0, y1 = x[k - 1], x[k], y[k - 1], y[k]
        if x1 <= limit:
            area += (x1 - x0) * (y0 + y1) / 2
            continue
        if x0 < limit:
            y_cut = y0 + (y1 - y0) * (limit - x0) / (x1 - x0)
            area += (limit - x0) * (y0 + y_cut) / 2
        break
    return area / limit


def reference_counts(
    maps: Any, masks: Any, threshold: float, *, binary: bool = False
) -> tuple[int, int, int]:
    """``(TP, FP, FN)`` pixels at `threshold` (``binary=True``: positive iff the map is non-zero).

    Examples
    --------
    >>> reference_counts([[0.9, 0.1], [0.6, 0.7]], [[1, 0], [0, 1]], threshold=0.5)
    (2, 1, 0)
    """
    maps = np.asarray(maps, np.float64)
    masks = np.asarray(masks, bool)
    predicted = maps != 0 if binary else maps >= threshold
    return (
        int((predicted & masks).sum()),
        int((predicted & ~masks).sum()),
        int((~predicted & masks).sum()),
    )


def reference_seg_f1_per_image(maps: Any, masks: Any, threshold: float) -> float:
    """Mean over images of the pixel F1 at `threshold` (an image with nothing to find and nothing
    predicted scores 1).

    Examples
    --------
    >>> reference_seg_f1_per_image([[[0.9, 0.1]], [[0.2, 0.1]]], [[[1, 0]], [[0, 0]]], 0.5)
    1.0
    """
    values = []
    for m, g in zip(maps, masks):
        tp, fp, fn = reference_counts(m, g, threshold)
        values.append(1.0 if tp + fp + fn == 0 else 2 * tp / (2 * tp + fp + fn))
    return float(np.mean(values))


def reference_iou_max(maps: Any, masks: Any) -> float:
    """The largest pixel IoU over every distinct score used as the threshold.

    Examples
    --------
    >>> reference_iou_max([[0.9, 0.1], [0.6, 0.7]], [[1, 0], [0, 1]])
    1.0
    """
    best = -1.0
    for t in np.unique(np.asarray(maps, np.float64)):
        tp, fp, fn = reference_counts(maps, masks, t)
        best = max(best, tp / (tp + fp + fn))
    return best


def reference_group_scores(
    scores: Sequence[float], groups: Sequence[Any], labels: Sequence[Any], reduce: str = "max"
) -> tuple[list[Any], list[float], list[bool]]:
    """``(groups, scores, labels)`` of the samples, in order of first appearance.

    Examples
    --------
    >>> reference_group_scores([0.1, 0.7, 0.3], ["a", "a", "b"], [0, 1, 0])
    (['a', 'b'], [0.7, 0.3], [True, False])
    """
    out: dict[Any, list[tuple[float, bool]]] = {}
    for s, g, y in zip(scores, groups, labels):
        out.setdefault(g, []).append((float(s), bool(y)))
    keys = list(out)
    reduce_fn = max if reduce == "max" else (lambda v: math.fsum(v) / len(v))
    return (
        keys,
        [reduce_fn([s for s, _ in out[k]]) for k in keys],
        [any(y for _, y in out[k]) for k in keys],
    )


def reference_max_fpr_threshold(scores: Any, max_fpr: float) -> float:
    """The lowest threshold at which at most ``floor(max_fpr * n)`` normal scores are ``>=`` it.

    Examples
    --------
    >>> reference_max_fpr_threshold([0.1, 0.2, 0.3, 0.4], max_fpr=0.25)
    0.4
    """
    s = np.asarray(scores, np.float64).ravel()
    candidates = sorted(set(s.tolist()) | {float(np.nextafter(s.max(), np.inf))})
    for t in candidates:
        if (s >= t).sum() <= math.floor(max_fpr * s.size):
            return t
    raise AssertionError("unreachable: above the largest score nothing is positive")
