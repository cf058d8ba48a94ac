"""The obvious exact method, written plainly: sort each class, merge, closed-form area.

A peer for the pixel metrics (``sort-merge`` in the benchmark): split the scores by label,
``np.sort`` the positives, sort the negatives in two threads (each half in its own thread, then
one merge of the two sorted halves), then count, for each distinct positive score (or each
distinct negative score for AU-PRO), the scores of the other class below and above it with
``np.searchsorted`` -- one merge of the two sorted arrays into per-distinct-score counts -- and
evaluate the area in closed form. Comparisons are ``score >= threshold`` in the scores' own dtype,
which orders them exactly as float64 does. Nothing here calls :mod:`anomaly_metrics`.

What ours must beat: on any CPU, a sort of each class is the plain exact method, and a SIMD sort
(AVX-512 or AVX2 ``np.sort``) makes it fast.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

__all__ = ["aupr", "aupro", "auroc", "f1_adaptive_threshold", "f1_max", "sorted_classes"]


def _merge(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The sorted union (with repeats) of two sorted arrays."""
    out = np.empty(a.size + b.size, dtype=np.result_type(a, b))
    at_b = np.searchsorted(a, b, side="right") + np.arange(b.size)
    in_a = np.ones(out.size, dtype=bool)
    in_a[at_b] = False
    out[at_b] = b
    out[in_a] = a
    return out


def _sort_two_threads(values: np.ndarray) -> np.ndarray:
    """``np.sort(values)`` as two half sorts in two threads (NumPy releases the GIL) + a merge."""
    half = values.size // 2
    with ThreadPoolExecutor(2) as pool:
        lo, hi = pool.map(np.sort, (values[:half], values[half:]))
    return _merge(lo, hi)


def _sortable(values: np.ndarray) -> np.ndarray:
    """float16 as float32 (exact); anything else as it is.

    Needed: NumPy 2.4's AVX-512 float16 sort mis-orders arrays of more than ~2M values with
    negatives among them (seen on an AMD EPYC with AVX512_ICL), which breaks the merge.
    """
    return values.astype(np.float32) if values.dtype == np.float16 else values


def sorted_classes(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(positives sorted, negatives sorted), both ascending, in the scores' dtype."""
    s = _sortable(np.asarray(scores).reshape(-1))
    y = np.asarray(labels).reshape(-1).astype(bool, copy=False)
    return np.sort(s[y]), _sort_two_threads(s[~y])


def _distinct(sorted_values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distinct values, index of each one's first occurrence) of an ascending array."""
    first = np.flatnonzero(np.concatenate(([True], sorted_values[1:] != sorted_values[:-1])))
    return sorted_values[first], first


def _positive_counts(scores, labels):
    """Per distinct positive score t (ascending): tp(t) = #pos >= t, fp(t) = #neg >= t."""
    pos, neg = sorted_classes(scores, labels)
    values, first = _distinct(pos)
    tp = pos.size - first
    fp = neg.size - np.searchsorted(neg, values, side="left")
    return values, tp.astype(np.int64), fp.astype(np.int64), pos, neg


def auroc(scores: np.ndarray, labels: np.ndarray) -> float:
    """P(positive > negative) + P(tie) / 2, from integer counts."""
    pos, neg = sorted_classes(scores, labels)
    values, first = _distinct(pos)
    count = np.diff(np.append(first, pos.size))
    below = np.searchsorted(neg, values, side="left")
    below_or_tied = np.searchsorted(neg, values, side="right")
    twice = int(np.sum(count * (below + below_or_tied).astype(np.int64)))
    return twice / (2.0 * pos.size * neg.size)


def aupr(scores: np.ndarray, labels: np.ndarray) -> float:
    """Average precision: sum over distinct positive scores of (recall step) * precision."""
    _, tp, fp, pos, _ = _positive_counts(scores, labels)
    step = np.diff(np.append(pos.size - tp, pos.size))  # positives tied at each value
    return float(np.sum(step / pos.size * (tp / (tp + fp))))


def _f1(scores, labels):
    values, tp, fp, pos, _ = _positive_counts(scores, labels)
    # only a threshold at a positive score can be best: lower ones add false positives only
    return values, 2.0 * tp / (tp + fp + pos.size)


def f1_max(scores: np.ndarray, labels: np.ndarray) -> float:
    """Largest F1 = 2 tp / (tp + fp + #pos) over all thresholds."""
    _, f1 = _f1(scores, labels)
    return float(f1.max())


def f1_adaptive_threshold(scores: np.ndarray, labels: np.ndarray) -> float:
    """The lowest threshold with the largest F1."""
    values, f1 = _f1(scores, labels)
    return float(values[int(np.argmax(f1))])


def aupro(maps: np.ndarray, masks: np.ndarray, fpr_limit: float = 0.3) -> float:
    """Area under the PRO curve up to ``fpr_limit`` (linear interpolation there), / ``fpr_limit``.

    Regions: ``scipy.ndimage.label`` per image (8-connectivity). Each defect pixel weighs
    1 / (its region's size * number of regions); the PRO at ``t`` is the weight of the defect
    pixels ``>= t``. Only a distinct negative score moves the FPR, so the area is a sum over the
    distinct negative scores ``v`` of the trapezoid from (FPR(> v), PRO(> v)) to
    (FPR(>= v), PRO(>= v)).
    """
    from .reference import label_loop

    labels, n_regions = label_loop(np.asarray(masks).astype(bool, copy=False))
    flat = labels.reshape(-1)
    s = _sortable(np.asarray(maps).reshape(-1))
    defect = flat > 0
    pos_scores, pos_labels = s[defect], flat[defect]
    order = np.argsort(pos_scores, kind="stable")
    pos = pos_scores[order]
    sizes = np.bincount(pos_labels, minlength=n_regions + 1).astype(np.float64)
    weight = 1.0 / (sizes[pos_labels[order]] * n_regions)
    # cum[k]: PRO of the k highest defect pixels
    cum = np.concatenate(([0.0], np.cumsum(weight[::-1])))
    neg = _sort_two_threads(s[~defect])
    n_neg = neg.size
    # the distinct negative scores whose FPR(> v) is below the limit: the top of the sorted array
    cut = max(0, n_neg - int(np.floor(fpr_limit * n_neg)) - 1)
    top, first = _distinct(neg[cut:])
    first = first + cut
    if cut > 0 and neg[cut - 1] == top[0]:  # the cut split a run of ties: find its real start
        first[0] = np.searchsorted(neg, top[0], side="left")
    after = np.append(first[1:], n_neg)  # index past each value's run
    fpr_ge, fpr_gt = (n_neg - first) / n_neg, (n_neg - after) / n_neg
    pro_ge = cum[pos.size - np.searchsorted(pos, top, side="left")]
    pro_gt = cum[pos.size - np.searchsorted(pos, top, side="right")]
    # descending scores = ascending FPR: keep the segments below the limit, cut the crossing one
    inside = fpr_ge <= fpr_limit
    area = float(np.sum((fpr_ge - fpr_gt)[inside] * (pro_ge + pro_gt)[inside] / 2.0))
    crossing = np.flatnonzero(~inside)
    if crossing.size:
        k = crossing[-1]  # the highest value whose FPR(>= v) passes the limit
        x0, x1, y0, y1 = fpr_gt[k], fpr_ge[k], pro_gt[k], pro_ge[k]
        y_at = y0 + (y1 - y0) * (fpr_limit - x0) / (x1 - x0)
        area += (fpr_limit - x0) * (y0 + y_at) / 2.0
    return area / fpr_limit
