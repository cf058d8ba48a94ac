"""The public curves of the counting primitive: ROC, precision-recall, counts at given thresholds.

Each is post-processing of :func:`anomaly_metrics._counts._binary_counts` in its ``"all"`` mode
(every distinct score a threshold); ``_roc_polyline`` draws the full ROC-type curve (ties as
diagonals) from the counts at the positive thresholds, for the plots.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from ._counts import _binary_counts, _Counts
from ._validation import check_scores, check_scores_and_labels
from ._warnings import warn_undefined

__all__ = [
    "PrecisionRecallCurve",
    "RocCurve",
    "ThresholdCounts",
    "counts_at_thresholds",
    "precision_recall_curve",
    "roc_curve",
]


class RocCurve(NamedTuple):
    """Receiver operating characteristic curve (see :func:`roc_curve`)."""

    fpr: NDArray[np.float64]
    tpr: NDArray[np.float64]
    thresholds: NDArray[np.float64]


class PrecisionRecallCurve(NamedTuple):
    """Precision-recall curve (see :func:`precision_recall_curve`)."""

    precision: NDArray[np.float64]
    recall: NDArray[np.float64]
    thresholds: NDArray[np.float64]


class ThresholdCounts(NamedTuple):
    """Confusion counts at given thresholds (see :func:`counts_at_thresholds`)."""

    thresholds: NDArray[np.float64]
    tp: NDArray[np.int64]
    fp: NDArray[np.int64]
    fn: NDArray[np.int64]
    tn: NDArray[np.int64]


def _roc_polyline(
    c: _Counts, *, weighted: bool = False
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Vertices (fp, tp) of the full ROC curve from counts at positive thresholds (unnormalised).

    With ``weighted=True`` the y axis is the positive weight ``tp_weight`` (the PRO curve).

    Between consecutive thresholds only negatives move (horizontal segments); at a threshold its
    tied negatives and positives move together (a diagonal). The full curve's other vertices lie
    on these segments, so areas and interpolations are the same.
    """
    k = c.thresholds.shape[0]
    tp = c.tp_weight if weighted else c.tp
    total = c.n_pos_weight if weighted else c.n_pos
    x = np.empty(2 * k + 2, np.float64)
    y = np.empty(2 * k + 2, np.float64)
    x[0] = y[0] = 0.0
    x[1 : 2 * k + 1 : 2] = c.fp_above
    x[2 : 2 * k + 2 : 2] = c.fp
    y[1 : 2 * k + 1 : 2] = np.concatenate(([0.0], tp[:-1])) if k else []
    y[2 : 2 * k + 2 : 2] = tp
    x[-1] = c.n_neg
    y[-1] = total
    return x, y


def roc_curve(scores: Any, labels: Any) -> RocCurve:
    """Receiver operating characteristic curve, one point per distinct score.

    Parameters
    ----------
    scores : array-like of shape (...)
        Anomaly scores, higher means more anomalous; float16/32/64, int or bool, finite.
    labels : array-like, same shape as `scores`
        1 / True for anomalous (positive), 0 / False for normal.

    Returns
    -------
    RocCurve
        ``fpr``, ``tpr`` (float64, non-decreasing) and ``thresholds`` (float64, descending): at
        ``thresholds[i]`` a sample is positive iff ``score >= thresholds[i]``. The first point is
        (0, 0) at threshold ``+inf``; there is one point per distinct score after it, the same
        points as ``sklearn.metrics.roc_curve(..., drop_intermediate=False)``.

    Raises
    ------
    TypeError
        Non-numeric inputs.
    ValueError
        Empty input, non-finite scores, labels not in {0, 1}, or shapes that differ.

    Warns
    -----
    UndefinedMetricWarning
        When a class is missing; the rate of the missing class is nan.

    Examples
    --------
    >>> import anomaly_metrics as am
    >>> fpr, tpr, thresholds = am.roc_curve([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])
    >>> fpr.tolist(), tpr.tolist()
    ([0.0, 0.0, 0.5, 0.5, 1.0], [0.0, 0.5, 0.5, 1.0, 1.0])
    >>> thresholds.tolist()
    [inf, 0.8, 0.4, 0.35, 0.1]
    """
    s, y = check_scores_and_labels(scores, labels)
    c = _binary_counts(s, y, thresholds="all")
    if c.n_neg == 0:
        warn_undefined("No negative samples in `labels`: the false positive rate is nan.")
    if c.n_pos == 0:
        warn_undefined("No positive samples in `labels`: the true positive rate is nan.")
    with np.errstate(invalid="ignore", divide="ignore"):
        fpr = np.concatenate(([0.0], c.fp / c.n_neg)) if c.n_neg else np.full(c.fp.size + 1, np.nan)
        tpr = np.concatenate(([0.0], c.tp / c.n_pos)) if c.n_pos else np.full(c.fp.size + 1, np.nan)
    return RocCurve(fpr, tpr, np.concatenate(([np.inf], c.thresholds)))


def precision_recall_curve(scores: Any, labels: Any) -> PrecisionRecallCurve:
    """Precision-recall curve, one point per distinct score.

    Parameters
    ----------
    scores : array-like of shape (...)
        Anomaly scores, higher means more anomalous; float16/32/64, int or bool, finite.
    labels : array-like, same shape as `scores`
        1 / True for anomalous (positive), 0 / False for normal.

    Returns
    -------
    PrecisionRecallCurve
        ``precision`` and ``recall`` of length ``K + 1`` and ``thresholds`` of length ``K``: the
        distinct scores in **ascending** order, exactly as ``sklearn.metrics.precision_recall_curve``
        (so the arrays are interchangeable with scikit-learn's). At ``thresholds[i]`` a sample is
        positive iff ``score >= thresholds[i]``. The curve ends with the point (precision 1,
        recall 0), which has no threshold.

    Raises
    ------
    TypeError, ValueError
        As :func:`roc_curve`.

    Warns
    -----
    UndefinedMetricWarning
        No positive samples: recall is nan.

    Examples
    --------
    >>> import anomaly_metrics as am
    >>> precision, recall, thresholds = am.precision_recall_curve([0.1, 0.5, 0.5, 0.9], [0, 0, 1, 1])
    >>> precision.round(4).tolist()
    [0.5, 0.6667, 1.0, 1.0]
    >>> recall.tolist()
    [1.0, 1.0, 0.5, 0.0]
    >>> thresholds.tolist()
    [0.1, 0.5, 0.9]
    """
    s, y = check_scores_and_labels(scores, labels)
    c = _binary_counts(s, y, thresholds="all")
    if c.n_pos == 0:
        warn_undefined("No positive samples in `labels`: recall is nan.")
    precision = c.tp / (c.tp + c.fp)
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = c.tp / c.n_pos if c.n_pos else np.full(c.tp.size, np.nan)
    return PrecisionRecallCurve(
        np.concatenate((precision[::-1], [1.0])),
        np.concatenate((recall[::-1], [0.0])),
        c.thresholds[::-1].copy(),
    )


def counts_at_thresholds(scores: Any, labels: Any, thresholds: Any) -> ThresholdCounts:
    """Confusion counts at the given thresholds (a sample is positive iff ``score >= t``).

    The counts torchmetrics' ``thresholds=`` mode accumulates (without its sigmoid): at each
    given threshold, how many positives and negatives score at or above it. Compared exactly,
    in float64, whatever the dtypes.

    Parameters
    ----------
    scores : array-like of shape (...)
        Anomaly scores; float16/32/64, int or bool, finite, not empty.
    labels : array-like, same shape as `scores`
        1 / True for anomalous (positive), 0 / False for normal.
    thresholds : array-like of shape (K,)
        Finite thresholds, in any order; K >= 1.

    Returns
    -------
    ThresholdCounts
        ``thresholds`` (float64, as given) and int64 ``tp``, ``fp``, ``fn``, ``tn`` of shape
        ``(K,)``, in the order of `thresholds`.

    Raises
    ------
    TypeError
        Non-numeric inputs.
    ValueError
        Empty or non-finite scores or thresholds, labels not in {0, 1}, shapes that differ,
        thresholds that are not one-dimensional.

    Examples
    --------
    >>> import anomaly_metrics as am
    >>> c = am.counts_at_thresholds([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1], [0.0, 0.4, 1.0])
    >>> c.tp.tolist(), c.fp.tolist(), c.fn.tolist(), c.tn.tolist()
    ([2, 1, 0], [2, 1, 0], [0, 1, 2], [0, 1, 2])
    """
    s, y = check_scores_and_labels(scores, labels)
    t = np.asarray(check_scores(thresholds, "thresholds"), dtype=np.float64)
    if t.ndim != 1:
        raise ValueError(f"`thresholds` must be one-dimensional, got shape {t.shape}.")
    n_pos = int(np.count_nonzero(y))
    n_neg = int(y.size) - n_pos
    c = _binary_counts(s, y, thresholds="all")
    k = c.thresholds.size
    # distinct scores below each threshold; the counts at t are those at the next distinct score
    below = np.searchsorted(c.thresholds[::-1], t, side="left")
    idx = k - 1 - below  # index into the descending arrays; -1: no score reaches t
    reached = idx >= 0
    tp = np.where(reached, c.tp[np.maximum(idx, 0)], 0).astype(np.int64)
    fp = np.where(reached, c.fp[np.maximum(idx, 0)], 0).astype(np.int64)
    return ThresholdCounts(t, tp, fp, n_pos - tp, n_neg - fp)
