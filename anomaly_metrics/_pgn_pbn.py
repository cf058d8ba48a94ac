"""PGn and PBn: the share of good images auto-sorted at a tolerated miss rate, and vice versa.

Baitieva et al., "Beyond Academic Benchmarks: Critical Analysis and Best Practices for Visual
Industrial Anomaly Detection", CVPR 2025 VAND workshop (arXiv 2503.23451).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit

from ._validation import check_fraction, check_scores_and_labels
from ._warnings import warn_undefined

__all__ = ["pbn", "pgn"]


@njit(cache=True, nogil=True)
def _count_strict_kernel(scores, labels, which, threshold, below):  # pragma: no cover
    """Count ``scores[labels == which]`` strictly below (or above) ``threshold`` in float64.

    One pass with no temporaries; inputs are not validated (call through `pgn` / `pbn`).
    """
    n = 0
    for i in range(scores.shape[0]):
        if labels[i] == which:
            x = np.float64(scores[i])
            if (x < threshold) if below else (x > threshold):
                n += 1
    return n


def _quantile(values: np.ndarray, q: float) -> float:
    """Linear-interpolation quantile (``torch.quantile``, anomalib's PGn / PBn), in float64.

    Position ``q * (n - 1)`` in the sorted values, between its two neighbours ``a <= b`` with
    weight ``w``: ``a + w * (b - a)`` when ``w < 0.5``, else ``b - (b - a) * (1 - w)``, the
    two-sided interpolation of torch's ``lerp`` and NumPy's ``quantile`` (both agree with it to
    the last bit or one ulp: torch may fuse the multiply-add, NumPy places the position as
    ``n * q + (1 - q) - 1``). One rounding rule, written once, so that a threshold within an
    ulp of a tied score is decided the same way everywhere (the reference in
    :mod:`anomaly_metrics.testing` uses it too). Only the two neighbours are selected
    (``np.partition``), the values are not sorted.
    """
    n = values.shape[0]
    rank = q * (n - 1)
    lo = min(math.floor(rank), n - 1)
    hi = min(lo + 1, n - 1)
    pair = np.partition(values, [lo, hi] if hi > lo else [lo])
    a, b = float(pair[lo]), float(pair[hi])
    w = rank - lo
    return a + w * (b - a) if w < 0.5 else b - (b - a) * (1.0 - w)


def pgn(scores: Any, labels: Any, fnr: float = 0.05) -> float:
    """PGn: the fraction of normal samples sorted out while missing at most `fnr` of anomalies.

    The threshold is the `fnr` quantile of the anomalous scores (linear interpolation); PGn is the
    fraction of normal scores strictly below it (true negative rate at that false negative rate).

    Parameters
    ----------
    scores : array-like of shape (...)
        Anomaly scores (usually one per image); finite. Any size and float dtype.
    labels : array-like, same shape as `scores`
        1 / True for anomalous, 0 / False for normal.
    fnr : float in [0, 1], default 0.05
        Tolerated false negative rate.

    Returns
    -------
    float
        In [0, 1]; nan when a class is missing.

    Raises
    ------
    TypeError, ValueError
        Bad inputs (see :func:`auroc`), or `fnr` outside [0, 1].

    Warns
    -----
    UndefinedMetricWarning
        One class only (the result is nan).

    Examples
    --------
    >>> import anomaly_metrics as am
    >>> am.pgn([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1], fnr=0.2)
    1.0
    >>> am.pgn([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1], fnr=0.05)
    0.5
    """
    fnr = check_fraction(fnr, "fnr")
    s, y = check_scores_and_labels(scores, labels)
    n_pos = int(np.count_nonzero(y))
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        missing = "anomalous" if n_pos == 0 else "normal"
        warn_undefined(f"No {missing} samples in `labels`: PGn is undefined (nan).")
        return float("nan")
    threshold = _quantile(s[y], fnr)
    return _count_strict_kernel(s, y, False, threshold, True) / n_neg


def pbn(scores: Any, labels: Any, fpr: float = 0.05) -> float:
    """PBn: the fraction of anomalous samples caught while flagging at most `fpr` of normal ones.

    The threshold is the ``1 - fpr`` quantile of the normal scores (linear interpolation); PBn is
    the fraction of anomalous scores strictly above it (true positive rate at that false
    positive rate).

    Parameters
    ----------
    scores : array-like of shape (...)
        Anomaly scores; finite. Any size and float dtype.
    labels : array-like, same shape as `scores`
        1 / True for anomalous, 0 / False for normal.
    fpr : float in [0, 1], default 0.05
        Tolerated false positive rate.

    Returns
    -------
    float
        In [0, 1]; nan when a class is missing.

    Raises
    ------
    TypeError, ValueError
        Bad inputs (see :func:`auroc`), or `fpr` outside [0, 1].

    Warns
    -----
    UndefinedMetricWarning
        One class only (the result is nan).

    Examples
    --------
    >>> import anomaly_metrics as am
    >>> am.pbn([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1], fpr=0.2)
    1.0
    >>> am.pbn([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1], fpr=0.05)
    0.5
    """
    fpr = check_fraction(fpr, "fpr")
    s, y = check_scores_and_labels(scores, labels)
    n_pos = int(np.count_nonzero(y))
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        missing = "anomalous" if n_pos == 0 else "normal"
        warn_undefined(f"No {missing} samples in `labels`: PBn is undefined (nan).")
        return float("nan")
    threshold = _quantile(s[~y], 1.0 - fpr)
    return _count_strict_kernel(s, y, True, threshold, False) / n_pos
