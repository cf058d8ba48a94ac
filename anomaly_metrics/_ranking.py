"""Ranking metrics: area under the ROC curve and average precision."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numba import njit

from ._counts import _binary_levels, _Counts, _cumulate, _Levels
from ._dense import dense_pays, dense_roc_area
from ._groups import _apply_groups
from ._integrate import _levels_areas_kernel, _polyline_area_kernel
from ._narrow import is_narrow
from ._validation import check_fraction, check_score_batches
from ._warnings import warn_undefined

__all__ = ["aupr", "auroc"]


def _auroc_from_counts(c: _Counts, max_fpr: float | None = None) -> float:
    """AUROC (optionally standardised partial) from counts. Inputs are not validated."""
    if c.n_pos == 0 or c.n_neg == 0:
        missing = "positive" if c.n_pos == 0 else "negative"
        warn_undefined(f"No {missing} samples in `labels`: AUROC is undefined (nan).")
        return float("nan")
    n_neg, n_pos = float(c.n_neg), float(c.n_pos)
    x_max = _roc_x_max(max_fpr)
    area = float(_polyline_area_kernel(c.fp_above, c.fp, c.tp, n_neg, n_pos, n_pos, x_max))
    return _standardised(area, x_max)


def _roc_x_max(max_fpr: float | None) -> float:
    """Where the ROC area is cut: ``inf`` (all of it) for no `max_fpr` or 1."""
    return np.inf if max_fpr is None or max_fpr == 1.0 else float(max_fpr)


def _standardised(area: float, x_max: float) -> float:
    """The area itself when uncut; McClish's standardisation of a partial area (as
    scikit-learn's ``max_fpr``)."""
    if x_max == np.inf:
        return area
    min_area = 0.5 * x_max**2
    return 0.5 * (1.0 + (area - min_area) / (x_max - min_area))


def _aupr_from_counts(c: _Counts) -> float:
    """Step-wise average precision from counts at positive thresholds. Not validated."""
    if c.n_pos == 0:
        warn_undefined("No positive samples in `labels`: AUPR is undefined (nan).")
        return float("nan")
    tp = c.tp.astype(np.float64)
    precision = tp / (tp + c.fp)
    recall_steps = np.diff(np.concatenate(([0.0], tp))) / c.n_pos
    return float(np.sum(recall_steps * precision))


def auroc(scores: Any, labels: Any, *, max_fpr: float | None = None, groups: Any = None) -> float:
    """Area under the ROC curve (trapezoid; ties count one half).

    Parameters
    ----------
    scores : array-like of shape (...)
        Anomaly scores, higher means more anomalous; float16/32/64, int or bool, finite. Any
        shape: image scores ``(N,)`` or anomaly maps ``(N, H, W)`` (pixel AUROC).
    labels : array-like, same shape as `scores`
        1 / True for anomalous, 0 / False for normal.
    max_fpr : float in (0, 1], optional
        Return the standardised partial AUC over ``fpr <= max_fpr`` (McClish correction),
        exactly as ``sklearn.metrics.roc_auc_score(..., max_fpr=max_fpr)``.
    groups : array-like of shape (N,), optional
        Evaluate samples made of several images (Real-IAD's multi-view objects): `scores` and
        `labels` hold one value per image, `groups` the sample of each image (any hashable
        labels); a sample's score is the maximum of its images' scores and it is anomalous iff
        any of its images is (see :func:`group_scores`).

    Returns
    -------
    float
        In [0, 1]; nan when a class is missing.

    Raises
    ------
    TypeError
        Non-numeric inputs.
    ValueError
        Empty input, non-finite scores, labels not in {0, 1}, shapes that differ, or `max_fpr`
        outside (0, 1].

    Warns
    -----
    UndefinedMetricWarning
        Only one class in `labels` (the result is nan).

    Notes
    -----
    Computed from the distinct scores of the positives only: negatives are counted into the gaps
    between them in one pass, without sorting them, which gives the same value as the full curve.
    Scores are compared exactly (no sigmoid, no binning).

    Examples
    --------
    >>> import anomaly_metrics as am
    >>> am.auroc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])
    0.75
    >>> am.auroc([0.1, 0.5, 0.5, 0.9], [0, 0, 1, 1])
    0.875
    >>> am.auroc([0.1, 0.8, 0.3, 0.2, 0.4, 0.5], [0, 1, 0, 0, 0, 0], groups=[0, 0, 1, 1, 2, 2])
    1.0
    """
    if groups is not None:
        scores, labels = _apply_groups(scores, labels, groups)
    return _auroc_batches([scores], [labels], max_fpr=max_fpr)


def aupr(scores: Any, labels: Any, *, groups: Any = None) -> float:
    """Area under the precision-recall curve as step-wise average precision.

    ``AP = sum_k (R_k - R_{k-1}) * P_k`` over the distinct thresholds, descending: each gain in
    recall is weighted by the precision at that threshold (anomalib 2.7's AUPR and
    ``sklearn.metrics.average_precision_score``; no interpolation).

    Parameters
    ----------
    scores : array-like of shape (...)
        Anomaly scores, higher means more anomalous; finite.
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
        In [0, 1]. 1.0 when there are no negatives; nan when there are no positives.

    Raises
    ------
    TypeError, ValueError
        As :func:`auroc`.

    Warns
    -----
    UndefinedMetricWarning
        No positive samples (the result is nan).

    Examples
    --------
    >>> import anomaly_metrics as am
    >>> round(am.aupr([0.1, 0.5, 0.5, 0.9], [0, 0, 1, 1]), 6)
    0.833333
    >>> am.aupr([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1])
    1.0
    """
    if groups is not None:
        scores, labels = _apply_groups(scores, labels, groups)
    return _aupr_batches([scores], [labels])


def _auroc_batches(
    scores: Sequence[Any], labels: Sequence[Any], *, max_fpr: float | None = None
) -> float:
    """`auroc` of the concatenation of batches (any matching shapes, flattened), not copied.

    The same float, warnings and errors as ``auroc`` of the concatenated flattened batches;
    the torch adapter's path (no copy of the stored scores). `auroc` is the one-batch case.
    """
    if max_fpr is not None:
        max_fpr = check_fraction(max_fpr, "max_fpr", low_open=True)
    values, flags = check_score_batches(scores, labels, narrow=True)
    n_pos = sum(int(np.count_nonzero(y)) for y in flags)
    n_neg = sum(int(y.size) for y in flags) - n_pos
    # many positives: one walk, no counts (float16 / 8- and 16-bit scores: counted by value)
    if n_pos and n_neg and dense_pays(n_pos, n_neg) and not is_narrow(values[0].dtype):
        x_max = _roc_x_max(max_fpr)
        return _standardised(dense_roc_area(list(zip(values, flags)), n_pos, n_neg, x_max), x_max)
    return _auroc_from_levels(_binary_levels(values, flags), max_fpr)


def _auroc_from_levels(lv: _Levels, max_fpr: float | None = None) -> float:
    """:func:`_auroc_from_counts` of ``_cumulate(*lv)``, the same float, without cumulating."""
    if lv.n_pos == 0 or lv.n_neg == 0:
        return _auroc_from_counts(_cumulate(*lv), max_fpr)  # (its warning and nan)
    x_max = _roc_x_max(max_fpr)
    out = np.zeros(1)
    no_w, limits = np.zeros(0), np.array([x_max])
    _levels_areas_kernel(lv.n_p, no_w, lv.eq, lv.gap, float(lv.n_neg), float(lv.n_pos), limits, out)
    return _standardised(float(out[0]), x_max)


@njit(cache=True, nogil=True)
def _aupr_terms_kernel(n_p, eq, gap, n_pos):  # pragma: no cover - compiled
    """The terms ``recall step * precision`` of :func:`_aupr_from_counts`, from per-level counts.

    The same operations on the same floats as the NumPy expressions there (the cumulative
    counts summed on the fly, as ``_cumulate`` does), so ``np.sum`` of the terms is the same
    float. Inputs are not validated.
    """
    m = n_p.shape[0]
    terms = np.empty(m, np.float64)
    fp = 0
    tp = 0
    prev = 0.0
    for k in range(m):
        j = m - 1 - k
        fp = fp + (np.int64(gap[j + 1]) + np.int64(eq[j]))  # (int32 counts from one Dask block)
        tp = tp + n_p[j]
        t = np.float64(tp)
        terms[k] = ((t - prev) / np.float64(n_pos)) * (t / (t + np.float64(fp)))
        prev = t
    return terms


def _aupr_from_levels(lv: _Levels) -> float:
    """:func:`_aupr_from_counts` of ``_cumulate(*lv)``, the same float, without cumulating."""
    if lv.n_pos == 0:
        return _aupr_from_counts(_cumulate(*lv))  # (its warning and nan)
    return float(np.sum(_aupr_terms_kernel(lv.n_p, lv.eq, lv.gap, lv.n_pos)))


def _aupr_batches(scores: Sequence[Any], labels: Sequence[Any]) -> float:
    """`aupr` of the concatenation of batches, not copied (see :func:`_auroc_batches`)."""
    return _aupr_from_levels(_binary_levels(*check_score_batches(scores, labels, narrow=True)))
