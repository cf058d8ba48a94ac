"""Plain reference implementations used as peers by the benchmark.

Each is written from the published definition of the metric, in the most direct NumPy/SciPy form,
so that every metric has at least one independent peer even where anomalib, ADEval or OpenCV are
not installed:

- :func:`mvtec_aupro` -- AU-PRO as the official MVTec AD evaluation script computes it: a global
  descending argsort of every pixel, per-pixel FPR increments (1 per background pixel) and PRO
  increments (``1/|region|`` per region pixel), cumulative sums, one point per group of tied
  scores, the curve padded with (0, 0) and (1, 1), a trapezoid up to the FPR limit with linear
  interpolation at the limit, divided by the limit.
- :func:`aupimo_linspace` -- AUPIMO as the paper / anomalib define it: ``num_thresholds`` linearly
  spaced thresholds between the min and max of the normal images' scores, per-image counts,
  shared FPR = mean per-image FPR of the normal images, the thresholds nearest the FPR bounds,
  trapezoid of TPR over ln(shared FPR), normalised by ln(upper / lower), clipped to [0, 1].
- :func:`aupimo_exact` -- the same integral on the exact curve (one vertex per distinct score),
  cut at the bounds by linear interpolation in ln(FPR).
- :func:`pro_at_threshold`, :func:`label_loop` -- PRO at one threshold and per-image connected
  components with ``scipy.ndimage.label`` (8-connectivity).
- small helpers that turn scikit-learn's precision-recall curve into F1Max and the F1-adaptive
  threshold, and PGn / PBn from their definition with ``np.quantile``.
"""

from __future__ import annotations

import bisect

import numpy as np

__all__ = [
    "aupimo_exact",
    "aupimo_linspace",
    "label_loop",
    "mvtec_aupro",
    "pbn_quantile",
    "pgn_quantile",
    "pro_at_threshold",
    "sklearn_f1_adaptive_threshold",
    "sklearn_f1_max",
]

_EIGHT = np.ones((3, 3), dtype=int)


# --------------------------------------------------------------------------- components / PRO


def label_loop(masks: np.ndarray) -> tuple[np.ndarray, int]:
    """Per-image ``scipy.ndimage.label`` (8-connectivity) with a running offset: (labels, count)."""
    from scipy import ndimage

    out = np.zeros(masks.shape, dtype=np.int32)
    total = 0
    for i in range(masks.shape[0]):
        labels, k = ndimage.label(masks[i], structure=_EIGHT, output=np.int32)
        if k:
            labels[labels > 0] += total
            total += k
        out[i] = labels
    return out, total


def pro_at_threshold(maps: np.ndarray, masks: np.ndarray, threshold: float) -> float:
    """Mean over all regions of the fraction of the region's pixels with ``score >= threshold``."""
    labels, k = label_loop(masks)
    if k == 0:
        return float("nan")
    flat = labels.ravel()
    hit = (maps.ravel().astype(np.float64) >= float(threshold)) & (flat > 0)
    size = np.bincount(flat, minlength=k + 1)[1:]
    covered = np.bincount(flat[hit], minlength=k + 1)[1:]
    return float(np.mean(covered / size))


# --------------------------------------------------------------------------- AU-PRO (MVTec AD)


def _mvtec_pro_curve(maps: np.ndarray, masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The official script's PRO curve: (fpr, pro), ascending, padded with (0, 0) and (1, 1)."""
    from scipy import ndimage

    fp_change = np.zeros(maps.shape, dtype=np.uint32)
    pro_change = np.zeros(maps.shape, dtype=np.float64)
    n_ok = 0
    n_regions = 0
    for i in range(maps.shape[0]):
        labels, k = ndimage.label(masks[i], structure=_EIGHT)
        n_regions += k
        background = labels == 0
        n_ok += int(background.sum())
        fp_change[i][background] = 1
        for c in range(1, k + 1):
            region = labels == c
            pro_change[i][region] = 1.0 / region.sum()
    scores = maps.ravel()
    order = np.argsort(scores)[::-1]
    scores = scores[order]
    fp = np.cumsum(fp_change.ravel()[order]).astype(np.float32) / n_ok
    pro = np.cumsum(pro_change.ravel()[order]) / n_regions
    last_of_tie = np.append(scores[1:] != scores[:-1], True)
    fp = np.clip(fp[last_of_tie], None, 1.0)
    pro = np.clip(pro[last_of_tie], None, 1.0)
    return np.concatenate([[0.0], fp, [1.0]]), np.concatenate([[0.0], pro, [1.0]])


def _mvtec_trapezoid(x: np.ndarray, y: np.ndarray, x_max: float) -> float:
    """Trapezoid of y(x) up to ``x_max``, interpolating the crossing segment (MVTec rule)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    correction = 0.0
    if x_max not in x:
        ins = bisect.bisect(list(x), x_max)
        if not 0 < ins < len(x):
            raise ValueError("x_max is outside the curve")
        dx = x[ins] - x[ins - 1]
        y_at = y[ins - 1] + (y[ins] - y[ins - 1]) * (x_max - x[ins - 1]) / dx
        correction = 0.5 * (y_at + y[ins - 1]) * (x_max - x[ins - 1])
    keep = x <= x_max
    xs, ys = x[keep], y[keep]
    return float(np.sum(0.5 * (ys[1:] + ys[:-1]) * (xs[1:] - xs[:-1])) + correction)


def mvtec_aupro(maps: np.ndarray, masks: np.ndarray, fpr_limit: float = 0.3) -> float:
    """AU-PRO up to ``fpr_limit``, normalised by it, as the official MVTec AD script computes it."""
    fpr, pro = _mvtec_pro_curve(maps, masks)
    return _mvtec_trapezoid(fpr, pro, fpr_limit) / fpr_limit


# --------------------------------------------------------------------------- AUPIMO


def _split_classes(maps: np.ndarray, masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    anomalous = masks.reshape(masks.shape[0], -1).any(axis=1)
    return anomalous, ~anomalous


def _nearest(shared_fpr: np.ndarray, level: float) -> int:
    return int(np.argmin(np.abs(shared_fpr - level)))


def aupimo_linspace(
    maps: np.ndarray,
    masks: np.ndarray,
    fpr_bounds: tuple[float, float] = (1e-5, 1e-4),
    num_thresholds: int = 300_000,
) -> tuple[float, np.ndarray, int]:
    """AUPIMO with linearly spaced thresholds: (mean over anomalous images, per image, points).

    Per-image counts come from a sort of each image's scores and a binary search of the
    thresholds; the TPR of anomalous images is only evaluated between the two bound thresholds.
    """
    anomalous, normal = _split_classes(maps, masks)
    lo, hi = fpr_bounds
    normal_maps = maps[normal]
    thresholds = np.linspace(normal_maps.min(), normal_maps.max(), num_thresholds, dtype=maps.dtype)
    shared = np.zeros(num_thresholds, dtype=np.float64)
    for m in normal_maps:
        s = np.sort(m.ravel())
        shared += (s.size - np.searchsorted(s, thresholds, side="left")) / s.size
    shared /= normal_maps.shape[0]
    i_hi_fpr = _nearest(shared, hi)  # smaller threshold index
    i_lo_fpr = _nearest(shared, lo)
    if i_hi_fpr >= i_lo_fpr:
        raise ValueError("the FPR bounds map to invalid thresholds")
    sl = slice(i_hi_fpr, i_lo_fpr + 1)
    x = np.log(shared[sl])[::-1]
    finite = np.isfinite(x)
    x = x[finite]
    per_image = np.full(maps.shape[0], np.nan)
    for i in np.flatnonzero(anomalous):
        pos = np.sort(maps[i][masks[i]])
        tpr = (pos.size - np.searchsorted(pos, thresholds[sl], side="left")) / pos.size
        y = tpr[::-1][finite]
        area = float(np.sum(0.5 * (y[1:] + y[:-1]) * np.diff(x)))
        per_image[i] = np.clip(area / np.log(hi / lo), 0.0, 1.0)
    return float(np.nanmean(per_image)), per_image, int(x.size)


def _area_between(x: np.ndarray, y: np.ndarray, a: float, b: float) -> float:
    """Integral of the polyline (x, y) (x non-decreasing) over [a, b], interpolating the ends."""
    x0, x1, y0, y1 = x[:-1], x[1:], y[:-1], y[1:]
    width = x1 - x0
    seg = width > 0
    x0, x1, y0, y1, width = x0[seg], x1[seg], y0[seg], y1[seg], width[seg]
    lo = np.clip(x0, a, b)
    hi = np.clip(x1, a, b)
    y_lo = y0 + (y1 - y0) * (lo - x0) / width
    y_hi = y0 + (y1 - y0) * (hi - x0) / width
    return float(np.sum(0.5 * (y_lo + y_hi) * (hi - lo)))


def aupimo_exact(
    maps: np.ndarray, masks: np.ndarray, fpr_bounds: tuple[float, float] = (1e-5, 1e-4)
) -> tuple[float, np.ndarray]:
    """AUPIMO on the exact curve: (mean over anomalous images, per image).

    Vertices at every distinct score of the normal images' pixels and of the image's defect pixels
    (a tie moves FPR and TPR together); trapezoid over ln(shared FPR) cut at the bounds by linear
    interpolation. All images have the same size, so the shared FPR at ``t`` is the fraction of all
    normal-image pixels with ``score >= t``.
    """
    anomalous, normal = _split_classes(maps, masks)
    lo, hi = fpr_bounds
    neg = np.sort(maps[normal].ravel().astype(np.float64))
    n_neg = neg.size
    # the normal scores that matter: every one with shared FPR <= hi, and the next lower one
    m = int(np.floor(hi * n_neg)) + 1
    t_min = neg[max(n_neg - m - 1, 0)]
    if (n_neg - np.searchsorted(neg, neg[-1], side="left")) / n_neg > lo:
        raise ValueError("the lower FPR bound is not reachable with so few normal pixels")
    top = np.unique(neg[neg >= t_min])
    per_image = np.full(maps.shape[0], np.nan)
    for i in np.flatnonzero(anomalous):
        pos = np.sort(maps[i][masks[i]].astype(np.float64))
        t = np.unique(np.concatenate([top, pos[pos >= t_min]]))[::-1]  # descending
        fpr = (n_neg - np.searchsorted(neg, t, side="left")) / n_neg
        tpr = (pos.size - np.searchsorted(pos, t, side="left")) / pos.size
        with np.errstate(divide="ignore"):
            x = np.log(fpr)
        keep = np.isfinite(x)
        area = _area_between(x[keep], tpr[keep], np.log(lo), np.log(hi))
        per_image[i] = np.clip(area / np.log(hi / lo), 0.0, 1.0)
    return float(np.nanmean(per_image)), per_image


# --------------------------------------------------------------------------- F1, PGn / PBn


def _sklearn_f1(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.metrics import precision_recall_curve

    precision, recall, thresholds = precision_recall_curve(labels.ravel(), scores.ravel())
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(denom), where=denom > 0)
    return f1[:-1], thresholds


def sklearn_f1_max(scores: np.ndarray, labels: np.ndarray) -> float:
    """Largest F1 over all thresholds, from scikit-learn's precision-recall curve."""
    f1, _ = _sklearn_f1(scores, labels)
    return float(f1.max())


def sklearn_f1_adaptive_threshold(scores: np.ndarray, labels: np.ndarray) -> float:
    """The (lowest) threshold that maximises F1, from scikit-learn's precision-recall curve."""
    f1, thresholds = _sklearn_f1(scores, labels)
    return float(thresholds[int(np.argmax(f1))])


def pgn_quantile(scores: np.ndarray, labels: np.ndarray, fnr: float = 0.05) -> float:
    """PGn: fraction of normal scores strictly below the ``fnr`` quantile of anomalous scores."""
    s = scores.ravel().astype(np.float64)
    y = labels.ravel().astype(bool)
    return float(np.mean(s[~y] < np.quantile(s[y], fnr)))


def pbn_quantile(scores: np.ndarray, labels: np.ndarray, fpr: float = 0.05) -> float:
    """PBn: fraction of anomalous scores strictly above the ``1 - fpr`` quantile of normal ones."""
    s = scores.ravel().astype(np.float64)
    y = labels.ravel().astype(bool)
    return float(np.mean(s[y] > np.quantile(s[~y], 1.0 - fpr)))
