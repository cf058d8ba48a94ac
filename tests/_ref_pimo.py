"""Slow reference PIMO / AUPIMO written from the definitions: one loop per threshold, per image.

Only for tiny inputs. Nothing here shares code with ``anomaly_metrics._pimo*``:

- thresholds: ``torch.linspace``'s element formula, evaluated element by element in the maps'
  dtype (each operation rounded, as in C++ ``float`` arithmetic);
- counts: ``np.count_nonzero(scores >= t)`` in float64 for each threshold and image;
- shared FPR: the mean of the per-image FPRs of the normal images, with exact rational arithmetic
  (``fractions.Fraction``), rounded once;
- AUPIMO: anomalib's rules (nearest shared FPR to each bound, first on ties; slice; flip;
  ``np.trapezoid`` over ``ln``; nominal normalisation; clip);
- exact curve: every distinct relevant score is a threshold, and the area is a brute-force
  integral of the polyline in (ln FPR, TPR), each segment clipped to the bounds.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np


def ref_classes(masks: np.ndarray) -> np.ndarray:
    return np.array([int(np.any(m)) for m in masks], np.int32)


def ref_linspace(lo: float, hi: float, k: int, dtype) -> np.ndarray:
    dt = np.dtype(dtype).type
    start, end = dt(lo), dt(hi)
    step = dt(dt(end - start) / dt(k - 1))
    values = []
    for i in range(k):
        if i < k // 2:
            values.append(dt(start + dt(step * dt(i))))
        else:
            values.append(dt(end - dt(step * dt(k - 1 - i))))
    return np.array(values, dtype)


def _rates(maps: np.ndarray, masks: np.ndarray, thresholds: np.ndarray):
    """Shared FPR (K,) and per-image TPR (N, K) at each threshold, by loops."""
    classes = ref_classes(masks)
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


def ref_pimo_curves(maps: np.ndarray, masks: np.ndarray, num_thresholds: int | None):
    maps = np.asarray(maps)
    masks = np.asarray(masks).astype(bool)
    classes = ref_classes(masks)
    normal_scores = maps[classes == 0].astype(np.float64)
    lo, hi = normal_scores.min(), normal_scores.max()
    if num_thresholds is None:
        relevant = [normal_scores.ravel()]
        for i in np.flatnonzero(classes):
            d = maps[i][masks[i]].astype(np.float64)
            relevant.append(d[(d >= lo) & (d <= hi)])
        thresholds = np.unique(np.concatenate(relevant))
    else:
        thresholds = ref_linspace(lo, hi, num_thresholds, maps.dtype).astype(np.float64)
    shared, tpr = _rates(maps, masks, thresholds)
    return thresholds, shared, tpr, classes


def ref_index_at(shared_fpr: np.ndarray, level: float) -> int:
    if level == 1.0:
        return max(j for j, f in enumerate(shared_fpr) if f == 1.0)
    distances = [abs(f - level) for f in shared_fpr]
    return distances.index(min(distances))


def ref_aupimo_linspace(maps, masks, fpr_bounds, num_thresholds):
    """(per_image, mean, num_points, threshold_bounds) by anomalib's rules."""
    lo, hi = fpr_bounds
    thresholds, shared, tpr, classes = ref_pimo_curves(maps, masks, num_thresholds)
    a = ref_index_at(shared, hi)
    b = ref_index_at(shared, lo)
    x = np.log(shared[a : b + 1][::-1])
    per_image = np.full(len(classes), np.nan)
    for i in np.flatnonzero(classes):
        y = tpr[i, a : b + 1][::-1]
        per_image[i] = min(max(np.trapezoid(y, x) / math.log(hi / lo), 0.0), 1.0)
    mean = float(np.mean(per_image[classes == 1]))
    return per_image, mean, b - a + 1, (thresholds[a], thresholds[b])


def _clipped_segment_area(xa, ya, xb, yb, lo, hi) -> float:
    """Area under the segment (xa, ya)-(xb, yb) restricted to lo <= x <= hi."""
    if not xb > xa:
        return 0.0
    a, b = max(xa, lo), min(xb, hi)
    if not b > a:
        return 0.0

    def y(x):
        return ya + (yb - ya) * (x - xa) / (xb - xa)

    return (b - a) * (y(a) + y(b)) / 2


def ref_aupimo_exact(maps, masks, fpr_bounds):
    """Brute-force integral of the exact PIMO polyline over [ln lo, ln hi]: per_image, mean."""
    lo, hi = fpr_bounds
    thresholds, shared, tpr, classes = ref_pimo_curves(maps, masks, None)
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


def ref_exact_areas(curves, fpr_bounds) -> np.ndarray:
    """Brute-force AUPIMO of a given exact curve (``PimoCurves``): every segment, clipped.

    Vectorised over segments (for curves with many thousand points); per image the same
    rule as :func:`ref_aupimo_exact`.
    """
    lo, hi = math.log(fpr_bounds[0]), math.log(fpr_bounds[1])
    x = np.log(curves.shared_fpr[::-1])
    xa, xb = x[:-1], x[1:]
    a, b = np.clip(xa, lo, hi), np.clip(xb, lo, hi)
    valid = (xb > xa) & (b > a)
    out = np.full(curves.image_classes.shape[0], np.nan)
    for i in np.flatnonzero(curves.image_classes):
        y = curves.per_image_tpr[i, ::-1]
        ya, yb = y[:-1][valid], y[1:][valid]
        xa_v, xb_v, a_v, b_v = xa[valid], xb[valid], a[valid], b[valid]
        slope = (yb - ya) / (xb_v - xa_v)
        area = np.sum((b_v - a_v) * (2 * ya + slope * (a_v - xa_v) + slope * (b_v - xa_v)) / 2)
        out[i] = min(max(area / (hi - lo), 0.0), 1.0)
    return out


def ref_aupimo_from_curves(curves, fpr_bounds):
    """anomalib's integration rules applied to given linspace curves: per_image, points, bounds."""
    lo, hi = fpr_bounds
    shared = curves.shared_fpr
    a = ref_index_at(shared, hi)
    b = ref_index_at(shared, lo)
    x = np.log(shared[a : b + 1][::-1])
    per_image = np.full(curves.image_classes.shape[0], np.nan)
    for i in np.flatnonzero(curves.image_classes):
        y = curves.per_image_tpr[i, a : b + 1][::-1]
        per_image[i] = min(max(np.trapezoid(y, x) / math.log(hi / lo), 0.0), 1.0)
    return per_image, b - a + 1, (curves.thresholds[a], curves.thresholds[b])
