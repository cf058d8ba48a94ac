"""Slow reference implementations of the ranking metrics, written from their definitions.

Plain Python loops over thresholds and pairs, float64 throughout, for inputs of a few hundred
scores at most. Nothing here calls the library: each function restates one definition.

Conventions (the same as the library's): a score is predicted positive iff
``float64(score) >= threshold``; labels are anything whose truth value says "anomalous".
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
from numpy.typing import ArrayLike, NDArray


def _as_lists(scores: ArrayLike, labels: ArrayLike) -> tuple[list[float], list[bool]]:
    s = [float(v) for v in np.asarray(scores, dtype=np.float64).ravel()]
    y = [bool(v) for v in np.asarray(labels).ravel()]
    if len(s) != len(y):
        raise ValueError(
            f"`scores` and `labels` must have the same number of elements, got {len(s)} and {len(y)}."
        )
    return s, y


def reference_confusion(
    scores: ArrayLike, labels: ArrayLike, threshold: float
) -> tuple[int, int, int, int]:
    """Confusion counts ``(tp, fp, fn, tn)`` of the prediction ``score >= threshold``, by counting.

    Parameters
    ----------
    scores, labels : array_like
        Scores (any real dtype) and binary labels of the same size; both are flattened.
    threshold : float
        A score is predicted positive iff ``float64(score) >= threshold``.

    Returns
    -------
    tuple of int
        ``(tp, fp, fn, tn)``.

    Examples
    --------
    >>> reference_confusion([0.1, 0.4, 0.4, 0.9], [0, 0, 1, 1], 0.4)
    (2, 1, 0, 1)
    """
    s, y = _as_lists(scores, labels)
    tp = sum(1 for v, p in zip(s, y) if p and v >= threshold)
    fp = sum(1 for v, p in zip(s, y) if not p and v >= threshold)
    fn = sum(1 for v, p in zip(s, y) if p and v < threshold)
    tn = sum(1 for v, p in zip(s, y) if not p and v < threshold)
    return tp, fp, fn, tn


def reference_f1(scores: ArrayLike, labels: ArrayLike, threshold: float) -> float:
    """F1 score ``2 tp / (2 tp + fp + fn)`` of the prediction ``score >= threshold``.

    Parameters
    ----------
    scores, labels : array_like
        Scores and binary labels of the same size.
    threshold : float
        Decision threshold (``>=``).

    Returns
    -------
    float
        The F1 score; ``nan`` when there is no positive label and no positive prediction.

    Examples
    --------
    >>> reference_f1([0.1, 0.4, 0.4, 0.9], [0, 0, 1, 1], 0.4)
    0.8
    """
    tp, fp, fn, _ = reference_confusion(scores, labels, threshold)
    denominator = 2 * tp + fp + fn
    return 2 * tp / denominator if denominator else math.nan


def reference_f1_curve(
    scores: ArrayLike, labels: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """F1 at every distinct score used as the threshold: ``(thresholds, f1)``, thresholds descending.

    Parameters
    ----------
    scores, labels : array_like
        Scores and binary labels of the same size, at least one positive label.

    Returns
    -------
    thresholds, f1 : ndarray of float64
        One entry per distinct score, from the highest score down.

    Examples
    --------
    >>> thresholds, f1 = reference_f1_curve([0.1, 0.4, 0.4, 0.9], [0, 0, 1, 1])
    >>> thresholds.tolist(), f1.round(4).tolist()
    ([0.9, 0.4, 0.1], [0.6667, 0.8, 0.6667])
    """
    s, _ = _as_lists(scores, labels)
    thresholds = sorted(set(s), reverse=True)
    f1 = [reference_f1(scores, labels, t) for t in thresholds]
    return np.array(thresholds, np.float64), np.array(f1, np.float64)


def reference_f1_max(scores: ArrayLike, labels: ArrayLike) -> tuple[float, float]:
    """Best F1 over every distinct score as threshold, and the threshold: the lowest among the best.

    Parameters
    ----------
    scores, labels : array_like
        Scores and binary labels of the same size, at least one positive label.

    Returns
    -------
    best, threshold : float
        The maximum F1 and the lowest threshold that reaches it (anomalib's
        ``F1AdaptiveThreshold`` convention).

    Examples
    --------
    >>> reference_f1_max([0.1, 0.4, 0.4, 0.9], [0, 0, 1, 1])
    (0.8, 0.4)
    """
    best, best_t = -1.0, math.nan
    for t, f in zip(*reference_f1_curve(scores, labels)):
        if f >= best:  # descending thresholds: a later tie is a lower threshold
            best, best_t = float(f), float(t)
    return best, best_t


def reference_auroc(scores: ArrayLike, labels: ArrayLike) -> float:
    """AUROC as the probability that a random positive outscores a random negative (ties count 1/2).

    This is the Mann-Whitney reading of the area under the ROC curve (Hanley and McNeil, 1982);
    it equals the trapezoidal area of the exact ROC curve with ties merged, which is what
    scikit-learn's ``roc_auc_score`` and the official MVTec AD evaluation compute. Every pair is
    visited: O(positives x negatives).

    Parameters
    ----------
    scores, labels : array_like
        Scores and binary labels of the same size, both classes present.

    Returns
    -------
    float

    Examples
    --------
    >>> reference_auroc([0.1, 0.4, 0.4, 0.9], [0, 0, 1, 1])
    0.875
    """
    s, y = _as_lists(scores, labels)
    pos = [v for v, p in zip(s, y) if p]
    neg = [v for v, p in zip(s, y) if not p]
    if not pos or not neg:
        raise ValueError("`labels` must contain both classes for AUROC, got one class only.")
    total = 0.0
    for a in pos:
        for b in neg:
            total += 1.0 if a > b else 0.5 if a == b else 0.0
    return total / (len(pos) * len(neg))


def reference_roc_curve(
    scores: ArrayLike, labels: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Exact ROC curve ``(fpr, tpr, thresholds)``: one point per distinct score, from ``(0, 0)``.

    The first point has threshold ``+inf`` (nothing predicted positive), then thresholds descend
    over the distinct scores, as in scikit-learn's ``roc_curve(drop_intermediate=False)``.

    Parameters
    ----------
    scores, labels : array_like
        Scores and binary labels of the same size, both classes present.

    Returns
    -------
    fpr, tpr, thresholds : ndarray of float64

    Examples
    --------
    >>> fpr, tpr, thr = reference_roc_curve([0.1, 0.4, 0.4, 0.9], [0, 0, 1, 1])
    >>> fpr.tolist(), tpr.tolist(), thr.tolist()
    ([0.0, 0.0, 0.5, 1.0], [0.0, 0.5, 1.0, 1.0], [inf, 0.9, 0.4, 0.1])
    """
    s, y = _as_lists(scores, labels)
    n_pos, n_neg = sum(y), len(y) - sum(y)
    if not n_pos or not n_neg:
        raise ValueError("`labels` must contain both classes for a ROC curve, got one class only.")
    thresholds = [math.inf, *sorted(set(s), reverse=True)]
    fpr, tpr = [], []
    for t in thresholds:
        tp, fp, _, _ = reference_confusion(scores, labels, t)
        fpr.append(fp / n_neg)
        tpr.append(tp / n_pos)
    return np.array(fpr), np.array(tpr), np.array(thresholds)


def reference_average_precision(scores: ArrayLike, labels: ArrayLike) -> float:
    """Step-wise average precision: the sum over distinct thresholds of recall gain x precision.

    ``AP = sum_k (R_k - R_{k-1}) P_k`` over the distinct scores in descending order (the
    definition of scikit-learn's ``average_precision_score`` and torchmetrics'
    ``BinaryAveragePrecision``; not the trapezoidal area under the PR curve).

    Parameters
    ----------
    scores, labels : array_like
        Scores and binary labels of the same size, at least one positive label.

    Returns
    -------
    float

    Examples
    --------
    >>> round(reference_average_precision([0.1, 0.4, 0.4, 0.9], [0, 0, 1, 1]), 6)
    0.833333
    """
    s, y = _as_lists(scores, labels)
    n_pos = sum(y)
    if not n_pos:
        raise ValueError("`labels` must contain a positive label for AP, got none.")
    ap, prev_recall = 0.0, 0.0
    for t in sorted(set(s), reverse=True):
        tp, fp, _, _ = reference_confusion(scores, labels, t)
        recall = tp / n_pos
        ap += (recall - prev_recall) * (tp / (tp + fp))
        prev_recall = recall
    return ap


def reference_quantile(values: Iterable[float], q: float) -> float:
    """Linear-interpolation quantile: position ``q (n - 1)`` in the sorted values.

    The rule of ``torch.quantile`` (anomalib's PGn / PBn) and ``numpy.quantile(method="linear")``:
    the interpolation starts from the nearer of the two neighbours (both libraries agree with
    this to the last bit or one ulp).

    Parameters
    ----------
    values : iterable of float
        At least one value.
    q : float
        Quantile level in [0, 1].

    Returns
    -------
    float

    Examples
    --------
    >>> reference_quantile([4.0, 1.0, 2.0, 3.0], 0.5)
    2.5
    """
    v = sorted(float(x) for x in values)
    pos = q * (len(v) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(v) - 1)
    a, b, w = v[lo], v[hi], pos - lo
    # from the nearer end, as torch's lerp and NumPy's quantile interpolate
    return a + w * (b - a) if w < 0.5 else b - (b - a) * (1.0 - w)


def reference_pgn(scores: ArrayLike, labels: ArrayLike, fnr: float = 0.05) -> float:
    """PGn: the fraction of normal images below the score that misses a fraction ``fnr`` of anomalies.

    Baitieva et al., "Beyond Academic Benchmarks", CVPR 2025 VAND workshop (arXiv 2503.23451):
    threshold = the ``fnr`` linear quantile of the anomalous scores; PGn = fraction of normal
    scores strictly below it (anomalib's rule).

    Parameters
    ----------
    scores, labels : array_like
        Image scores and labels, both classes present.
    fnr : float, default 0.05
        Tolerated false-negative rate.

    Returns
    -------
    float

    Examples
    --------
    >>> reference_pgn([0.1, 0.2, 0.3, 0.8, 0.9], [0, 0, 0, 1, 1], fnr=0.0)
    1.0
    """
    s, y = _as_lists(scores, labels)
    thr = reference_quantile([v for v, p in zip(s, y) if p], fnr)
    neg = [v for v, p in zip(s, y) if not p]
    return sum(1 for v in neg if v < thr) / len(neg)


def reference_pbn(scores: ArrayLike, labels: ArrayLike, fpr: float = 0.05) -> float:
    """PBn: the fraction of anomalous images above the score that lets a fraction ``fpr`` of normals pass.

    Baitieva et al. (arXiv 2503.23451): threshold = the ``1 - fpr`` linear quantile of the normal
    scores; PBn = fraction of anomalous scores strictly above it (anomalib's rule).

    Parameters
    ----------
    scores, labels : array_like
        Image scores and labels, both classes present.
    fpr : float, default 0.05
        Tolerated false-positive rate.

    Returns
    -------
    float

    Examples
    --------
    >>> reference_pbn([0.1, 0.2, 0.3, 0.25, 0.9], [0, 0, 0, 1, 1], fpr=0.0)
    0.5
    """
    s, y = _as_lists(scores, labels)
    thr = reference_quantile([v for v, p in zip(s, y) if not p], 1.0 - fpr)
    pos = [v for v, p in zip(s, y) if p]
    return sum(1 for v in pos if v > thr) / len(pos)


def reference_normalize(
    values: ArrayLike, threshold: float, lo: float, hi: float
) -> NDArray[np.float64]:
    """anomalib's min-max normalisation, value by value: ``clip((v - threshold) / (hi - lo) + 0.5, 0, 1)``.

    When ``hi == lo`` a value maps to 1 above the threshold, 0 below and 0.5 at it.

    Parameters
    ----------
    values : array_like
        Scores to normalise (any shape).
    threshold, lo, hi : float
        The threshold and the min / max the normalisation was fitted on.

    Returns
    -------
    ndarray of float64
        Same shape as ``values``.

    Examples
    --------
    >>> reference_normalize([0.0, 0.5, 2.0], 0.5, 0.0, 1.0).tolist()
    [0.0, 0.5, 1.0]
    """
    out = []
    for v in np.asarray(values, dtype=np.float64).ravel():
        if hi == lo:
            out.append(1.0 if v > threshold else 0.0 if v < threshold else 0.5)
        else:
            with np.errstate(over="ignore"):
                z = (v - threshold) / (hi - lo)
            out.append(min(1.0, max(0.0, z + 0.5)))
    return np.array(out, np.float64).reshape(np.shape(values))
