"""Ranking histograms (negatives and positives per bin) and their finalisers: AUROC, AUPR, F1.

:func:`ranking_histogram` is the streaming state of the ranking metrics; the ``*_from_histogram``
functions finalise a (merged) histogram into a value and a certified bound on its distance to the
exact metric.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit
from numpy.typing import NDArray

from .._keys import float32_key
from .._validation import check_fraction, check_scores_and_labels
from .._warnings import warn_undefined
from ._bins import (
    _MAX_BITS,
    _MIN_BITS,
    DEFAULT_BITS,
    _check_bits,
    _check_out,
    _edges_of,
    count_in_spans,
)
from ._bounds import (
    BoundedThreshold,
    BoundedValue,
    _bounded,
    _cell_areas,
    _Occupied,
    _occupied,
)

__all__ = [
    "aupr_from_histogram",
    "auroc_from_histogram",
    "f1_adaptive_threshold_from_histogram",
    "f1_max_from_histogram",
    "ranking_histogram",
]

# Bins with at most this many positives get their AP estimate summed positive by positive.
_AP_DIRECT_SUM = 16


@njit(cache=True, nogil=True)
def _ranking_histogram_kernel(scores, labels, shift, hist):  # pragma: no cover - compiled
    """Add every score to ``hist[label, bin]`` in one pass (keys computed on the fly).

    A kernel so that keys are never materialised: NumPy would need a key array, then a
    ``bincount`` per class. Inputs are not validated; call through `ranking_histogram`.
    """
    for i in range(scores.shape[0]):
        b = float32_key(scores[i]) >> shift
        if labels[i]:
            hist[1, b] += 1
        else:
            hist[0, b] += 1


def ranking_histogram(
    scores: Any,
    labels: Any,
    *,
    bits: int = DEFAULT_BITS,
    out: NDArray[np.int64] | None = None,
) -> NDArray[np.int64]:
    """Per-bin counts of negative and positive scores: the streaming state of AUROC, AUPR, F1.

    Parameters
    ----------
    scores : array-like of shape (...)
        Anomaly scores, higher means more anomalous; finite. Image scores ``(N,)`` or anomaly
        maps ``(N, H, W)`` alike. Float32 is keyed as is; float64 and int are rounded down to
        float32 first.
    labels : array-like, same shape as `scores`
        1 / True for anomalous (positive), 0 / False for normal.
    bits : int in [1, 24], default 20
        ``2**bits`` bins (see :func:`score_bins`). Every histogram that is merged must use the
        same `bits`.
    out : ndarray of int64, shape (2, 2**bits), optional
        A histogram to add the batch into, in place (no new 16 MiB array per batch).

    Returns
    -------
    ndarray of int64, shape (2, 2**bits)
        ``h[0, b]`` negatives and ``h[1, b]`` positives in bin ``b``. Histograms of any batches
        *add*: ``ranking_histogram(a) + ranking_histogram(b)`` is the histogram of both, so the
        state size does not depend on the amount of data and a distributed run syncs it with
        one sum all-reduce. The result is `out` when given.

    Raises
    ------
    TypeError, ValueError
        Bad `scores` / `labels` (as :func:`auroc`), bad `bits`, or an `out` of the wrong
        dtype or shape.

    See Also
    --------
    auroc_from_histogram, aupr_from_histogram, f1_max_from_histogram,
    f1_adaptive_threshold_from_histogram : the finalisers.

    Notes
    -----
    The update is one pass over the scores that computes each key and counts it (in threads
    over chunks for large batches); it costs a fraction of a sort of the same scores.

    Examples
    --------
    >>> import numpy as np
    >>> import anomaly_metrics as am
    >>> h = am.ranking_histogram([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])
    >>> h.shape, int(h[0].sum()), int(h[1].sum())
    ((2, 1048576), 2, 2)
    >>> h = am.ranking_histogram([0.9, 0.2], [1, 0], out=h)  # add a second batch in place
    >>> am.auroc_from_histogram(h)
    BoundedValue(value=0.888888888888889, error_bound=1e-12)
    """
    b = _check_bits(bits)
    s, y = check_scores_and_labels(scores, labels)
    shape = (2, 1 << b)
    if out is None:
        hist = np.zeros(shape, np.int64)
    else:
        _check_out(out, shape, np.int64)
        hist = out
    shift = 32 - b

    def count(start: int, stop: int, into: tuple[NDArray[np.int64], ...]) -> None:
        _ranking_histogram_kernel(s[start:stop], y[start:stop], shift, into[0])

    count_in_spans(s.shape[0], count, (hist,))
    return hist


def _check_ranking_histogram(h: Any, name: str = "histogram") -> tuple[NDArray[np.int64], int]:
    """Return ``(h, bits)`` for a valid ranking histogram; raise otherwise."""
    if type(h).__module__.startswith("torch"):
        raise TypeError(
            f"`{name}` must be a NumPy array, got a torch tensor: pass "
            f"`{name}.detach().cpu().numpy()`."
        )
    if isinstance(h, tuple):
        raise TypeError(
            f"`{name}` must be an array of shape (2, 2**bits) from `ranking_histogram`, got "
            f"{type(h).__name__}."
        )
    arr = np.asarray(h)
    if arr.dtype.kind not in "iu":
        raise TypeError(
            f"`{name}` must hold integer counts (from `ranking_histogram`), got dtype {arr.dtype}."
        )
    nbins = arr.shape[-1] if arr.ndim == 2 else 0
    bits = nbins.bit_length() - 1
    if (
        arr.ndim != 2
        or arr.shape[0] != 2
        or nbins != 1 << bits
        or not (_MIN_BITS <= bits <= _MAX_BITS)
    ):
        raise ValueError(
            f"`{name}` must have shape (2, 2**bits) with bits in [{_MIN_BITS}, {_MAX_BITS}] "
            f"(from `ranking_histogram`), got shape {arr.shape}."
        )
    if arr.dtype.kind == "i" and arr.min() < 0:
        raise ValueError(f"`{name}` must hold non-negative counts, got a minimum of {arr.min()}.")
    return arr.astype(np.int64, copy=False), bits


def auroc_from_histogram(histogram: Any, *, max_fpr: float | None = None) -> BoundedValue:
    """Streaming AUROC of a ranking histogram, with a bound on its distance to the exact AUROC.

    Parameters
    ----------
    histogram : ndarray of int64, shape (2, 2**bits)
        From :func:`ranking_histogram` (summed over any number of batches or processes).
    max_fpr : float in (0, 1], optional
        Standardised partial AUROC over ``fpr <= max_fpr`` (McClish), as :func:`auroc`.

    Returns
    -------
    BoundedValue
        ``value``: the AUROC with every pair of scores that shares a bin counted as a tie (one
        half); ``error_bound``: a certified bound on ``|value - auroc(scores, labels)|``. nan and
        nan when a class is missing.

    Raises
    ------
    TypeError, ValueError
        Not a ranking histogram, or `max_fpr` outside (0, 1].

    Warns
    -----
    UndefinedMetricWarning
        Only one class in the histogram.

    Notes
    -----
    At each bin's lower edge the streaming ROC point *is* a point of the exact ROC curve (the
    threshold selects exactly the bins above). Inside a bin with ``p_b`` positives and ``n_b``
    negatives the exact curve is a staircase inside a ``n_b / N`` by ``p_b / P`` box, of which
    the streaming curve takes the diagonal: the exact area differs by at most half the box, so

    ``error_bound = sum_b p_b n_b / (2 P N)``,

    half the fraction of positive-negative pairs that share a bin (cut at `max_fpr` and scaled by
    the McClish standardisation when it is given).

    Examples
    --------
    >>> import anomaly_metrics as am
    >>> h = am.ranking_histogram([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])
    >>> am.auroc_from_histogram(h).value
    0.75
    >>> h = am.ranking_histogram([0.5, 0.50001, 0.9], [0, 1, 1])  # 0.5 and 0.50001 share a bin
    >>> value, bound = am.auroc_from_histogram(h)
    >>> value, round(bound, 6)
    (0.75, 0.25)
    """
    if max_fpr is not None:
        max_fpr = check_fraction(max_fpr, "max_fpr", low_open=True)
    h, _ = _check_ranking_histogram(histogram)
    occ = _occupied(h)
    if occ.n_pos == 0 or occ.n_neg == 0:
        missing = "positive" if occ.n_pos == 0 else "negative"
        warn_undefined(f"No {missing} samples in the histogram: AUROC is undefined (nan).")
        return BoundedValue(float("nan"), float("nan"))
    x = np.concatenate(([0], np.cumsum(occ.neg))) / occ.n_neg
    y = np.concatenate(([0], np.cumsum(occ.pos))) / occ.n_pos
    limit = 1.0 if max_fpr is None else max_fpr
    est, low, high = _cell_areas(x, y, 0.0, limit)
    if max_fpr is None or max_fpr == 1.0:
        return _bounded(est, low, high)
    min_area = 0.5 * max_fpr**2
    scale = 0.5 / (max_fpr - min_area)

    def mcclish(area: float) -> float:
        return 0.5 + (area - min_area) * scale

    return _bounded(mcclish(est), mcclish(low), mcclish(high))


def _ap_bin_terms(
    occ: _Occupied,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Per-bin (estimate, lowest, highest) of the bin's positives' summed precision."""
    n = occ.pos.astype(np.float64)
    f = occ.neg.astype(np.float64)
    tp = np.cumsum(n)
    fp = np.cumsum(f)
    a = tp - n  # positives strictly above the bin
    g = fp - f  # negatives strictly above the bin
    with np.errstate(invalid="ignore", divide="ignore"):
        # highest: every positive of the bin tied at its top, its negatives below them
        high = np.where(n > 0, n * tp / (tp + g), 0.0)
        # lowest: negatives first, then the positives one by one; the j-th has precision
        # (a + j) / (a + j + g + f), and sum_j 1 / (c + j) <= ln((c + n + 1/2) / (c + 1/2)) by
        # convexity (midpoint rule), c = a + g + f
        c = a + g + f
        low_sum = n - (g + f) * np.log1p(n / (c + 0.5))
        low_first = n * (a + 1.0) / (a + 1.0 + g + f)  # every positive at least as the first
        low = np.where(n > 0, np.maximum(low_sum, low_first), 0.0)
        # estimate: the bin's negatives spread evenly between its positives, the j-th positive
        # seeing f (j - 1/2) / n of them: summed directly for small bins, and by the midpoint
        # rule (the integral of the same precision over j in [1/2, n + 1/2]) for large ones
        a2 = a + 0.5
        u = n + f
        est = n * (n / u + (a2 - n * (a2 + g) / u) / u * np.log1p(u / (a2 + g)))
    small = np.flatnonzero((n > 0) & (n <= _AP_DIRECT_SUM))
    if small.size:
        j = np.arange(1, _AP_DIRECT_SUM + 1, dtype=np.float64)
        ns = n[small, None]
        tp_j = a[small, None] + j
        fp_j = g[small, None] + f[small, None] * (j - 0.5) / ns
        est[small] = np.sum(np.where(j <= ns, tp_j / (tp_j + fp_j), 0.0), axis=1)
    est = np.where(n > 0, est, 0.0)
    return est, low, high


def aupr_from_histogram(histogram: Any) -> BoundedValue:
    """Streaming average precision (step-wise AUPR), with a bound on the distance to the exact AP.

    Parameters
    ----------
    histogram : ndarray of int64, shape (2, 2**bits)
        From :func:`ranking_histogram`.

    Returns
    -------
    BoundedValue
        ``value``: the average precision with positives and negatives spread evenly inside each
        bin; ``error_bound``: a certified bound on ``|value - aupr(scores, labels)|``. nan and
        nan without positives; 1.0 without negatives.

    Raises
    ------
    TypeError, ValueError
        Not a ranking histogram.

    Warns
    -----
    UndefinedMetricWarning
        No positive samples.

    Notes
    -----
    AP is the mean over positives of the precision at their score. For a positive in bin ``b``
    (``A`` positives and ``G`` negatives in higher bins, ``n`` positives and ``f`` negatives in
    ``b``) that precision lies between ``(A + j) / (A + j + G + f)`` (it is the ``j``-th positive
    of the bin, every negative of the bin above it) and ``(A + n) / (A + n + G)`` (all of the
    bin's positives tied above its negatives). Summing both ends over the bins gives an interval
    that holds the exact AP whatever the order inside the bins; the bound is the distance from the
    value to its farther end. Only bins holding both classes contribute.

    Examples
    --------
    >>> import anomaly_metrics as am
    >>> h = am.ranking_histogram([0.1, 0.5, 0.5, 0.9], [0, 0, 1, 1])
    >>> value, bound = am.aupr_from_histogram(h)
    >>> round(value, 6), round(bound, 6)
    (0.9, 0.1)
    >>> round(am.aupr([0.1, 0.5, 0.5, 0.9], [0, 0, 1, 1]), 6)
    0.833333
    """
    h, _ = _check_ranking_histogram(histogram)
    occ = _occupied(h)
    if occ.n_pos == 0:
        warn_undefined("No positive samples in the histogram: AUPR is undefined (nan).")
        return BoundedValue(float("nan"), float("nan"))
    est, low, high = _ap_bin_terms(occ)
    p = float(occ.n_pos)
    return _bounded(float(est.sum()) / p, float(low.sum()) / p, float(high.sum()) / p)


def _f1_at_edges(occ: _Occupied) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """F1 at each occupied bin's lower edge, and the highest F1 any threshold inside it reaches."""
    tp = np.cumsum(occ.pos).astype(np.float64)
    fp = np.cumsum(occ.neg).astype(np.float64)
    fp_above = fp - occ.neg
    f1_edge = 2.0 * tp / (tp + fp + occ.n_pos)
    f1_inside = 2.0 * tp / (tp + fp_above + occ.n_pos)  # all of the bin's positives, none of its
    has_pos = occ.pos > 0  # negatives; F1 only peaks at a positive's score
    return np.where(has_pos, f1_edge, -1.0), np.where(has_pos, f1_inside, -1.0)


def f1_max_from_histogram(histogram: Any) -> BoundedValue:
    """Maximum F1 over the bin edges, with a bound on its distance to the exact F1 max.

    Parameters
    ----------
    histogram : ndarray of int64, shape (2, 2**bits)
        From :func:`ranking_histogram`.

    Returns
    -------
    BoundedValue
        ``value``: the largest F1 of ``score >= e`` over the bins' lower edges ``e``, an F1 that
        the threshold of :func:`f1_adaptive_threshold_from_histogram` really attains, so it never
        exceeds :func:`f1_max`; ``error_bound``: a certified bound on ``f1_max - value``.
        nan and nan when a class is missing (as :func:`f1_max`).

    Raises
    ------
    TypeError, ValueError
        Not a ranking histogram.

    Warns
    -----
    UndefinedMetricWarning
        No positive samples.

    Notes
    -----
    ``F1 = 2 TP / (TP + FP + P)`` grows with TP and falls with FP. A threshold inside bin ``b``
    keeps at most the positives at or above ``b`` and at least the negatives above ``b``, so
    ``2 TP_{>=b} / (TP_{>=b} + FP_{>b} + P)`` caps the F1 of every threshold in the bin; the
    bound is the largest cap minus the value.

    Examples
    --------
    >>> import anomaly_metrics as am
    >>> h = am.ranking_histogram([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])
    >>> am.f1_max_from_histogram(h)
    BoundedValue(value=0.8, error_bound=1e-12)
    """
    h, _ = _check_ranking_histogram(histogram)
    occ = _occupied(h)
    if occ.n_pos == 0 or occ.n_neg == 0:
        missing = "positive" if occ.n_pos == 0 else "negative"
        warn_undefined(f"No {missing} samples in the histogram: F1 max is undefined (nan).")
        return BoundedValue(float("nan"), float("nan"))
    f1_edge, f1_inside = _f1_at_edges(occ)
    best = float(f1_edge.max())
    return _bounded(best, best, float(f1_inside.max()))


def f1_adaptive_threshold_from_histogram(histogram: Any) -> BoundedThreshold:
    """The F1-maximising bin edge: a threshold, the F1 it gives, and how far from the best F1.

    Parameters
    ----------
    histogram : ndarray of int64, shape (2, 2**bits)
        From :func:`ranking_histogram`.

    Returns
    -------
    BoundedThreshold
        ``threshold``: the lowest bin edge ``e`` whose ``score >= e`` maximises F1 over the bin
        edges; ``f1``: that F1 (exactly the F1 of ``score >= threshold`` on the data, float32
        and rounded-down float64 alike); ``f1_error_bound``: no threshold reaches more than
        ``f1 + f1_error_bound``. The threshold itself can differ from
        :func:`f1_adaptive_threshold`'s (a flat F1 maximum may move to another bin); what is
        bounded is the F1 it gives up.

        One class only (anomalib's fallbacks): without positives, the lower edge of the highest
        occupied bin (the exact method takes the highest score, within that bin); without
        negatives, the lower edge of the lowest occupied bin; F1 and its bound are nan.

    Raises
    ------
    TypeError, ValueError
        Not a ranking histogram.

    Warns
    -----
    UndefinedMetricWarning
        When a class is missing and a fallback is used.

    Examples
    --------
    >>> import anomaly_metrics as am
    >>> h = am.ranking_histogram([2.3, 1.6, 2.6, 7.9, 3.3], [0, 0, 0, 1, 1])
    >>> t = am.f1_adaptive_threshold_from_histogram(h)
    >>> round(t.threshold, 4), t.f1
    (3.2998, 1.0)
    """
    h, bits = _check_ranking_histogram(histogram)
    occ = _occupied(h)
    if occ.bins.size == 0:
        raise ValueError("`histogram` must hold at least one score, got an empty histogram.")
    if occ.n_pos == 0:
        top = float(_edges_of(occ.bins[:1], bits)[0])
        warn_undefined(
            "No anomalous samples: the adaptive threshold takes the highest bin's lower edge "
            f"({top!r})."
        )
        return BoundedThreshold(top, float("nan"), float("nan"))
    if occ.n_neg == 0:
        bottom = float(_edges_of(occ.bins[-1:], bits)[0])
        warn_undefined(
            "No normal samples: the adaptive threshold takes the lowest bin's lower edge "
            f"({bottom!r})."
        )
        return BoundedThreshold(bottom, float("nan"), float("nan"))
    f1_edge, f1_inside = _f1_at_edges(occ)
    best = float(f1_edge.max())
    k = int(np.flatnonzero(f1_edge == best)[-1])  # bins descend: the last is the lowest edge
    threshold = float(_edges_of(occ.bins[k : k + 1], bits)[0])
    bound = _bounded(best, best, float(f1_inside.max())).error_bound
    return BoundedThreshold(threshold, best, bound)
