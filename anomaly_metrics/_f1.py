"""F1 score at a threshold, its maximum over thresholds, and the threshold that attains it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numba import njit

from ._counts import _binary_levels, _Levels
from ._groups import _apply_groups
from ._validation import check_real, check_score_batches
from ._warnings import warn_undefined

__all__ = ["f1_adaptive_threshold", "f1_max", "f1_score"]


@njit(cache=True, nogil=True)
def _count_at_threshold_kernel(scores, labels, threshold):  # pragma: no cover - compiled
    """(positives, negatives) with ``float64(score) >= threshold``, in one pass.

    A kernel so the comparison is made in float64 whatever the scores' dtype, without a boolean
    temporary of the input's size. Inputs are not validated; call through `f1_score`.
    """
    tp = 0
    fp = 0
    for i in range(scores.shape[0]):
        if np.float64(scores[i]) >= threshold:
            if labels[i]:
                tp += 1
            else:
                fp += 1
    return tp, fp


@njit(cache=True, nogil=True)
def _f1_max_levels_kernel(u, n_p, eq, gap, n_pos):  # pragma: no cover - compiled
    """(max F1, lowest threshold attaining it) from per-level counts at positive thresholds.

    F1 only peaks at a positive score: lowering the threshold to the next negative score adds a
    false positive and no true positive. F1 at a threshold is ``2 tp / ((tp + fp) + n_pos)``
    with the cumulative counts summed on the fly, in float64. Inputs are not validated.
    """
    m = u.shape[0]
    fp = 0
    tp = 0
    best = -1.0
    at = 0
    for k in range(m):
        j = m - 1 - k
        fp = fp + (np.int64(gap[j + 1]) + np.int64(eq[j]))  # (int32 counts from one Dask block)
        tp = tp + n_p[j]
        t = np.float64(tp)
        f1 = 2.0 * t / ((t + np.float64(fp)) + np.float64(n_pos))
        if f1 >= best:  # thresholds descend: the last maximum is the lowest threshold
            best = f1
            at = j
    return best, u[at]


def _f1_max_from_levels(lv: _Levels) -> tuple[float, float]:
    """(max F1, lowest threshold attaining it) of per-level counts with both classes."""
    best, threshold = _f1_max_levels_kernel(lv.u, lv.n_p, lv.eq, lv.gap, lv.n_pos)
    return float(best), float(threshold)


def f1_score(scores: Any, labels: Any, threshold: float = 0.5, *, groups: Any = None) -> float:
    """F1 score of the prediction ``score >= threshold``.

    Parameters
    ----------
    scores : array-like of shape (...)
        Anomaly scores (or predicted labels as bool / 0-1); finite.
    labels : array-like, same shape as `scores`
        1 / True for anomalous, 0 / False for normal.
    threshold : float, default 0.5
        A sample is predicted anomalous iff ``float64(score) >= float64(threshold)``.
    groups : array-like of shape (N,), optional
        Evaluate samples made of several images (Real-IAD's multi-view objects): `scores` and
        `labels` hold one value per image, `groups` the sample of each image (any hashable
        labels); a sample's score is the maximum of its images' scores and it is anomalous iff
        any of its images is (see :func:`group_scores`).

    Returns
    -------
    float
        ``2 TP / (2 TP + FP + FN)``; nan when there are no positive samples.

    Raises
    ------
    TypeError, ValueError
        Bad inputs (see :func:`auroc`) or a non-finite `threshold`.

    Warns
    -----
    UndefinedMetricWarning
        No positive samples (the result is nan).

    Notes
    -----
    anomalib's F1Score (torchmetrics) predicts positive with ``score > threshold`` and applies a
    sigmoid to batches with scores outside [0, 1]; here the comparison is ``>=`` (the same rule
    as every curve and adaptive threshold of this library) and scores are used as given.

    Examples
    --------
    >>> import anomaly_metrics as am
    >>> am.f1_score([0.1, 0.9, 0.2, 0.8], [0, 1, 0, 1])
    1.0
    >>> round(am.f1_score([0.2, 0.5, 0.7], [0, 1, 1], threshold=0.6), 4)
    0.6667
    """
    if groups is not None:
        scores, labels = _apply_groups(scores, labels, groups)
    return _f1_score_batches([scores], [labels], threshold)


def _f1_score_batches(scores: Sequence[Any], labels: Sequence[Any], threshold: float) -> float:
    """`f1_score` of the concatenation of batches, not copied (`f1_score`: one batch)."""
    t = check_real(threshold, "threshold")
    s, y = check_score_batches(scores, labels)
    n_pos = sum(int(np.count_nonzero(b)) for b in y)
    if n_pos == 0:
        warn_undefined("No positive samples in `labels`: the F1 score is undefined (nan).")
        return float("nan")
    tp = fp = 0
    for s_b, y_b in zip(s, y):
        tp_b, fp_b = _count_at_threshold_kernel(s_b, y_b, t)
        tp, fp = tp + tp_b, fp + fp_b
    return 2.0 * tp / (tp + fp + n_pos)


def f1_max(scores: Any, labels: Any, *, groups: Any = None) -> float:
    """Maximum F1 score over all thresholds (every distinct score).

    Parameters
    ----------
    scores : array-like of shape (...)
        Anomaly scores; finite.
    labels : array-like, same shape as `scores`
        1 / True for anomalous, 0 / False for normal.
    groups : array-like of shape (N,), optional
        Evaluate samples made of several images (Real-IAD's multi-view objects): `scores` and
        `labels` hold one value per image, `groups` the sample of each image (any hashable
        labels); a sample's score is the maximum of its images' scores and it is anomalous iff
        any of its images is (see :func:`group_scores`).

    Returns
    -------
    float
        The largest ``2 TP / (2 TP + FP + FN)`` over thresholds ``score >= t``; nan when a class
        is missing (without negatives every threshold up to the lowest positive is trivially
        perfect, so the maximum says nothing about the scores).

    Raises
    ------
    TypeError, ValueError
        As :func:`auroc`.

    Warns
    -----
    UndefinedMetricWarning
        Only one class in `labels` (the result is nan).

    See Also
    --------
    f1_adaptive_threshold : the threshold that attains it.

    Examples
    --------
    >>> import anomaly_metrics as am
    >>> am.f1_max([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])
    0.8
    """
    if groups is not None:
        scores, labels = _apply_groups(scores, labels, groups)
    return _f1_max_batches([scores], [labels])[0]


def _f1_max_batches(scores: Sequence[Any], labels: Sequence[Any]) -> tuple[float, float]:
    """(`f1_max`, the lowest threshold attaining it) of the concatenation of batches, not copied.

    Both nan (and one warning) when a class is missing. `f1_max` is the one-batch case; the
    torch ``F1Max`` reads the threshold too.
    """
    lv = _binary_levels(*check_score_batches(scores, labels, narrow=True))
    if lv.n_pos == 0 or lv.n_neg == 0:
        missing = "positive" if lv.n_pos == 0 else "negative"
        warn_undefined(f"No {missing} samples in `labels`: F1 max is undefined (nan).")
        return float("nan"), float("nan")
    return _f1_max_from_levels(lv)


def _adaptive_threshold_from_levels(lv: _Levels, scores_min: float, scores_max: float) -> float:
    """F1-maximising threshold with anomalib's one-class fallbacks. Inputs are not validated."""
    if lv.n_pos == 0:
        warn_undefined(
            "No anomalous samples: the adaptive threshold takes the highest score observed "
            f"({scores_max!r})."
        )
        return scores_max
    if lv.n_neg == 0:
        warn_undefined(
            "No normal samples: the adaptive threshold takes the lowest score observed "
            f"({scores_min!r})."
        )
        return scores_min
    return _f1_max_from_levels(lv)[1]


def f1_adaptive_threshold(scores: Any, labels: Any, *, groups: Any = None) -> float:
    """The threshold that maximises the F1 score (ties go to the lowest threshold).

    Parameters
    ----------
    scores : array-like of shape (...)
        Anomaly scores; finite.
    labels : array-like, same shape as `scores`
        1 / True for anomalous, 0 / False for normal.
    groups : array-like of shape (N,), optional
        Evaluate samples made of several images (Real-IAD's multi-view objects): `scores` and
        `labels` hold one value per image, `groups` the sample of each image (any hashable
        labels); a sample's score is the maximum of its images' scores and it is anomalous iff
        any of its images is (see :func:`group_scores`).

    Returns
    -------
    float
        A score value ``t`` such that ``score >= t`` maximises F1. Without anomalous samples:
        the highest score; without normal samples: the lowest score (anomalib's fallbacks).

    Raises
    ------
    TypeError, ValueError
        As :func:`auroc`.

    Warns
    -----
    UndefinedMetricWarning
        When a class is missing and a fallback is used.

    Examples
    --------
    >>> import anomaly_metrics as am
    >>> am.f1_adaptive_threshold([2.3, 1.6, 2.6, 7.9, 3.3], [0, 0, 0, 1, 1])
    3.3
    >>> am.f1_adaptive_threshold([0.3, 0.3, 0.6, 0.6], [0, 1, 0, 1])
    0.3
    """
    if groups is not None:
        scores, labels = _apply_groups(scores, labels, groups)
    return _f1_adaptive_threshold_batches([scores], [labels])


def _f1_adaptive_threshold_batches(scores: Sequence[Any], labels: Sequence[Any]) -> float:
    """`f1_adaptive_threshold` of the concatenation of batches, not copied (one batch: itself)."""
    s, y = check_score_batches(scores, labels, narrow=True)
    lv = _binary_levels(s, y)
    lo, hi = min(float(b.min()) for b in s), max(float(b.max()) for b in s)
    return _adaptive_threshold_from_levels(lv, lo, hi)
