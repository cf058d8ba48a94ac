"""Streaming (binned) metrics: bit-pattern histograms that add, finalised with an error bound.

The exact metrics keep every score. For data that does not fit in memory, or to synchronise a
multi-process evaluation with one small all-reduce, this module reduces each batch to fixed-size
*histograms* that are merged by addition, then finalises the metric from the merged histogram
together with a certified bound on its distance to the exact value.

Binning
    A score is rounded to float32 (float64 scores are rounded *down*, to the largest float32 not
    above them) and its bit pattern is mapped to an unsigned 32-bit *key* that orders like the
    value (``-0.0`` and ``+0.0`` share a key). The bin is the top ``bits`` bits of the key
    (default 20: 2**20 bins, each 2**(32 - bits) consecutive float32 values, a relative width of
    about ``2**(bits - 31)``, ~5e-4 at 20 bits). No value range has to be known in advance;
    negative and huge scores work, and every process bins identically.

Why the bound holds
    Bins are ordered like the scores: a score in a higher bin is strictly higher. So the binned
    data differ from the exact data only in how scores *inside one bin* are ordered, and at a
    bin's lower edge ``e`` the predicate ``score >= e`` selects exactly the bins at or above it:
    every curve point at a bin edge is a point of the exact curve. Between two consecutive edges
    the exact curve is monotone, so it stays inside the box spanned by those two points; the
    binned value draws the diagonal of the box. Each finaliser computes the smallest and largest
    value any ordering inside the bins could give, and reports the distance from its value to the
    farther end (the mass of pairs, or pixels, that share a bin), plus 1e-12 for floating-point
    rounding.
"""

from __future__ import annotations

import math
import operator
from typing import Any, NamedTuple

import numpy as np
from numba import njit
from numpy.typing import NDArray

from ._keys import float32_from_key, float32_key
from ._parallel import HISTOGRAM_PER_WORKER, run_in_spans
from ._pimo import _check_fpr_bounds
from ._validation import (
    check_fraction,
    check_maps_and_masks,
    check_scores,
    check_scores_and_labels,
)
from ._warnings import warn_undefined

__all__ = [
    "BoundedAupimo",
    "BoundedThreshold",
    "BoundedValue",
    "PimoHistogram",
    "ProHistogram",
    "aupimo_from_histogram",
    "aupr_from_histogram",
    "aupro_from_histogram",
    "auroc_from_histogram",
    "bin_lower_edges",
    "f1_adaptive_threshold_from_histogram",
    "f1_max_from_histogram",
    "merge_histograms",
    "pimo_histogram",
    "pro_histogram",
    "ranking_histogram",
    "score_bins",
]

DEFAULT_BITS = 20
_MIN_BITS = 1
_MAX_BITS = 24
# Added to every reported bound: the exact and the binned value are both computed in float64.
_ROUNDING = 1e-12
# Below this many scores an update runs in the calling thread.
# Bins with at most this many positives get their AP estimate summed positive by positive.
_AP_DIRECT_SUM = 16


class BoundedValue(NamedTuple):
    """A binned metric and a certified bound: ``|value - exact value| <= error_bound``."""

    value: float
    error_bound: float


class BoundedThreshold(NamedTuple):
    """A binned F1-maximising threshold (see :func:`f1_adaptive_threshold_from_histogram`).

    ``score >= threshold`` gives the F1 score ``f1`` on the data of the histogram, and no threshold
    gives more than ``f1 + f1_error_bound``.
    """

    threshold: float
    f1: float
    f1_error_bound: float


# --------------------------------------------------------------------------------------------
# keys and bins


@njit(cache=True, nogil=True)
def _score_bins_kernel(scores, shift, out):  # pragma: no cover - compiled
    """``out[i]`` = bin of ``scores[i]``. Inputs are not validated; call through `score_bins`."""
    for i in range(scores.shape[0]):
        out[i] = float32_key(scores[i]) >> shift


def _check_bits(bits: Any) -> int:
    if isinstance(bits, (bool, np.bool_)) or not isinstance(bits, (int, np.integer)):
        raise TypeError(f"`bits` must be an int, got {bits!r}.")
    value = operator.index(bits)
    if not _MIN_BITS <= value <= _MAX_BITS:
        raise ValueError(
            f"`bits` must be in [{_MIN_BITS}, {_MAX_BITS}] (2**bits bins), got {value}; "
            f"the default {DEFAULT_BITS} gives a relative bin width of about 5e-4."
        )
    return value


def score_bins(scores: Any, *, bits: int = DEFAULT_BITS) -> NDArray[np.uint32]:
    """Bin index of every score: the top `bits` bits of its order-preserving float32 key.

    Parameters
    ----------
    scores : array-like of shape (...)
        Finite scores; float16/32/64, int or bool. Float64 (and int) scores are rounded down to
        float32 first, so that a bin's lower edge is an exact threshold for them too.
    bits : int in [1, 24], default 20
        Key bits kept: ``2**bits`` bins, each ``2**(32 - bits)`` consecutive float32 values.

    Returns
    -------
    ndarray of uint32, same shape as `scores`
        Bins are ordered like the scores: ``a < b`` implies ``bin(a) <= bin(b)``, and scores in
        different bins are different. ``-0.0`` and ``0.0`` share a bin.

    Raises
    ------
    TypeError
        Non-numeric `scores` or a non-integer `bits`.
    ValueError
        Empty or non-finite `scores`, or `bits` outside [1, 24].

    See Also
    --------
    bin_lower_edges : the smallest score of each bin.

    Examples
    --------
    >>> import anomaly_metrics as am
    >>> am.score_bins([-1.0, 0.0, 0.5, 0.50001, 1e30], bits=20).tolist()
    [264192, 524288, 782336, 782336, 988319]
    >>> am.score_bins([0.5, 0.5001], bits=24).tolist()  # finer bins separate them
    [12517376, 12517382]
    """
    b = _check_bits(bits)
    s = check_scores(scores, "scores")
    out = np.empty(s.shape, np.uint32)
    _score_bins_kernel(np.ascontiguousarray(s).reshape(-1), 32 - b, out.reshape(-1))
    return out


def _edges_of(bins: NDArray[Any], bits: int) -> NDArray[np.float64]:
    """Lower edge (float64) of each bin index. Inputs are not validated."""
    return float32_from_key(bins.astype(np.int64) << (32 - bits))


def bin_lower_edges(bins: Any, *, bits: int = DEFAULT_BITS) -> NDArray[np.float64]:
    """The smallest score of each bin: ``score >= edge`` holds exactly for the scores in bins >= it.

    Parameters
    ----------
    bins : array-like of int
        Bin indices in ``[0, 2**bits)``.
    bits : int in [1, 24], default 20
        As in :func:`score_bins`.

    Returns
    -------
    ndarray of float64, same shape as `bins`
        A float32 value (as float64). Bins that hold only the most negative float32 values start
        at ``-inf``.

    Raises
    ------
    TypeError
        Non-integer `bins` or `bits`.
    ValueError
        `bins` outside ``[0, 2**bits)`` or `bits` outside [1, 24].

    Examples
    --------
    >>> import anomaly_metrics as am
    >>> b = am.score_bins([0.3, 0.5], bits=20)
    >>> am.bin_lower_edges(b, bits=20).tolist()
    [0.2999267578125, 0.5]
    """
    nbits = _check_bits(bits)
    arr = np.asarray(bins)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"`bins` must hold integers, got dtype {arr.dtype}.")
    if arr.size and (arr.min() < 0 or arr.max() >= (1 << nbits)):
        raise ValueError(
            f"`bins` must be in [0, 2**{nbits}) for bits={nbits}, got values in "
            f"[{arr.min()}, {arr.max()}]."
        )
    return _edges_of(arr, nbits)


# --------------------------------------------------------------------------------------------
# threading helper


# --------------------------------------------------------------------------------------------
# ranking histogram: AUROC, AUPR, F1


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


def _as_count(x: Any, name: str) -> int:
    """A non-negative int from an int, a NumPy integer or a 0-d integer array."""
    if isinstance(x, np.ndarray) and x.ndim == 0:
        x = x[()]
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (int, np.integer)):
        raise TypeError(f"`{name}` must be an int, got {x!r}.")
    if x < 0:
        raise ValueError(f"`{name}` must be >= 0, got {x}.")
    return int(x)


def _check_out(out: Any, shape: tuple[int, ...], dtype: Any, name: str = "out") -> None:
    if not isinstance(out, np.ndarray):
        raise TypeError(f"`{name}` must be a NumPy array, got {type(out).__name__}.")
    if out.dtype != dtype or out.shape != shape:
        raise ValueError(
            f"`{name}` must be an array of dtype {np.dtype(dtype)} and shape {shape}, got "
            f"dtype {out.dtype} and shape {out.shape}."
        )
    if not out.flags.c_contiguous or not out.flags.writeable:
        raise ValueError(f"`{name}` must be C-contiguous and writeable.")


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
        maps ``(N, H, W)`` alike. Float32 is binned as is; float64 and int are rounded down to
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

    def run(start: int, stop: int, first: bool) -> None:
        if first:
            _ranking_histogram_kernel(s[start:stop], y[start:stop], shift, hist)
            return
        part = np.zeros(shape, np.int64)
        _ranking_histogram_kernel(s[start:stop], y[start:stop], shift, part)
        parts.append(part)

    parts: list[NDArray[np.int64]] = []
    run_in_spans(s.shape[0], run, HISTOGRAM_PER_WORKER)
    for part in parts:
        hist += part
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


class _Occupied(NamedTuple):
    """The non-empty bins of a ranking histogram, highest first."""

    bins: NDArray[np.int64]  # (K,) bin indices, descending
    neg: NDArray[np.int64]  # (K,) negatives per bin
    pos: NDArray[np.int64]  # (K,) positives per bin
    n_neg: int
    n_pos: int


def _occupied(h: NDArray[np.int64]) -> _Occupied:
    bins = np.flatnonzero((h[0] != 0) | (h[1] != 0))[::-1]
    neg = h[0, bins]
    pos = h[1, bins]
    return _Occupied(bins, neg, pos, int(neg.sum()), int(pos.sum()))


def _bounded(value: float, low: float, high: float) -> BoundedValue:
    """``value`` with the distance to the farther end of ``[low, high]`` (+ rounding)."""
    bound = max(value - low, high - value, 0.0) + _ROUNDING
    return BoundedValue(float(value), float(bound))


def _box_areas(
    x0: NDArray[np.float64],
    x1: NDArray[np.float64],
    y0: NDArray[np.float64],
    y1: NDArray[np.float64],
    lo: float,
    hi: float,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """(estimate, lowest, highest) area over ``[lo, hi]`` of a curve known cell by cell.

    Cell ``k`` spans ``[x0[k], x1[k]]`` (``x0`` may be ``-inf``) and the curve is monotone in it
    from ``y0[..., k]`` to ``y1[..., k]`` (``y`` may carry leading axes, one curve per row). The
    estimate is the straight line between the corners (cut at ``lo`` and ``hi`` by
    interpolation; the middle height for a cell from ``-inf``); any monotone curve in the boxes
    has an area in ``[lowest, highest]``. Sums run over the last axis.
    """
    a = np.clip(x0, lo, hi)
    b = np.clip(x1, lo, hi)
    w = b - a
    keep = w > 0
    x0, x1, a, b, w = (v[keep] for v in (x0, x1, a, b, w))
    y0, y1 = y0[..., keep], y1[..., keep]
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = (y1 - y0) / (x1 - x0)
        ya = y0 + slope * (a - x0)
        yb = y0 + slope * (b - x0)
    unbounded = ~np.isfinite(x0)  # a cell that starts at -inf: no diagonal, take the middle
    if unbounded.any():
        mid = 0.5 * (y0 + y1)
        ya = np.where(unbounded, mid, ya)
        yb = np.where(unbounded, mid, yb)
    estimate = np.sum(w * (ya + yb), axis=-1) / 2.0
    return estimate, np.sum(w * y0, axis=-1), np.sum(w * y1, axis=-1)


def _cell_areas(
    x: NDArray[np.float64], y: NDArray[np.float64], lo: float, hi: float
) -> tuple[float, float, float]:
    """:func:`_box_areas` of the polyline through vertices ``(x, y)`` (both non-decreasing)."""
    est, low, high = _box_areas(x[:-1], x[1:], y[:-1], y[1:], lo, hi)
    return float(est), float(low), float(high)


def auroc_from_histogram(histogram: Any, *, max_fpr: float | None = None) -> BoundedValue:
    """AUROC of the binned scores, with a bound on its distance to the exact AUROC.

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
    At each bin's lower edge the binned ROC point *is* a point of the exact ROC curve (the
    threshold selects exactly the bins above). Inside a bin with ``p_b`` positives and ``n_b``
    negatives the exact curve is a staircase inside a ``n_b / N`` by ``p_b / P`` box, of which
    the binned curve takes the diagonal: the exact area differs by at most half the box, so

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
    """Average precision (step-wise AUPR) of the binned scores, with a bound to the exact one.

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


# --------------------------------------------------------------------------------------------
# AU-PRO histogram


class ProHistogram(NamedTuple):
    """Streaming state of AU-PRO (see :func:`pro_histogram`); merge with :func:`merge_histograms`."""

    background: NDArray[np.int64]  # (2**bits,) background pixels per bin
    region_weight: NDArray[np.float64]  # (2**bits,) sum of 1 / region size over region pixels
    num_regions: int  # regions seen


@njit(cache=True, nogil=True)
def _pro_histogram_kernel(
    scores, in_region, ids, inv_sizes, shift, background, weight
):  # pragma: no cover - compiled
    """Count background pixels and add ``1 / |region|`` of region pixels per bin, in one pass.

    ``ids`` holds the region of each region pixel, in the order of ``scores[in_region]``. A
    kernel so that keys and per-pixel weights are never materialised. Inputs are not validated;
    call through `pro_histogram`.
    """
    k = 0
    for i in range(scores.shape[0]):
        b = float32_key(scores[i]) >> shift
        if in_region[i]:
            weight[b] += inv_sizes[ids[k]]
            k += 1
        else:
            background[b] += 1


def pro_histogram(
    anomaly_maps: Any,
    masks: Any,
    *,
    bits: int = DEFAULT_BITS,
    out: ProHistogram | None = None,
) -> ProHistogram:
    """Per-bin background counts and region weights: the streaming state of AU-PRO.

    Parameters
    ----------
    anomaly_maps : array-like of shape (N, H, W), (N, 1, H, W) or (H, W)
        Pixel anomaly scores; finite. Float64 and int are rounded down to float32 to be binned.
    masks : array-like, same shape as `anomaly_maps`
        Ground truth, bool or 0/1. Regions are the 8-connected components of each image's mask
        (as :func:`aupro`), so a region never spans two batches and its size is known here.
    bits : int in [1, 24], default 20
        ``2**bits`` bins (see :func:`score_bins`).
    out : ProHistogram, optional
        A histogram to add the batch into: its arrays are updated in place, and the returned
        histogram (which carries the new region count) must be used from then on.

    Returns
    -------
    ProHistogram
        ``background[b]``: background pixels (of every image, normal ones included) in bin
        ``b``, int64; ``region_weight[b]``: the sum of ``1 / size(region)`` over the region
        pixels in bin ``b``, float64; ``num_regions``: the number of regions. Histograms add
        (:func:`merge_histograms`); the state has the same size whatever the number of images.

    Raises
    ------
    TypeError, ValueError
        Bad maps or masks (as :func:`aupro`), bad `bits`, or an `out` that does not match.

    See Also
    --------
    aupro_from_histogram : the finaliser.

    Examples
    --------
    >>> import numpy as np
    >>> import anomaly_metrics as am
    >>> maps = np.array([[0.5, 0.9], [0.2, 0.1]])
    >>> masks = np.array([[1, 0], [0, 0]])
    >>> h = am.pro_histogram(maps, masks)
    >>> int(h.background.sum()), float(h.region_weight.sum()), h.num_regions
    (3, 1.0, 1)
    >>> am.aupro_from_histogram(h, fpr_limit=1.0).value == am.aupro(maps, masks, fpr_limit=1.0)
    True
    """
    from ._components import _region_ids

    nbits = _check_bits(bits)
    maps, m = check_maps_and_masks(anomaly_maps, masks)
    nbins = 1 << nbits
    if out is None:
        background = np.zeros(nbins, np.int64)
        weight = np.zeros(nbins, np.float64)
        num_regions = 0
    else:
        background, weight, num_regions = _check_pro_histogram(out, "out")
        if background.shape[0] != nbins:
            raise ValueError(
                f"`out` must have 2**{nbits} bins (bits={nbits}), got {background.shape[0]}."
            )
        if not (background.flags.writeable and weight.flags.writeable):
            raise ValueError("`out` must hold writeable arrays.")
    ids, sizes = _region_ids(m, 8)
    inv_sizes = 1.0 / sizes.astype(np.float64)
    scores = maps.reshape(-1)
    in_region = m.reshape(-1)
    shift = 32 - nbits
    parts: list[tuple[NDArray[np.int64], NDArray[np.float64]]] = []

    def run(start: int, stop: int, first: bool) -> None:
        k0 = int(np.count_nonzero(in_region[:start])) if start else 0
        k1 = k0 + int(np.count_nonzero(in_region[start:stop]))
        if first:
            bg, w = background, weight
        else:
            bg, w = np.zeros(nbins, np.int64), np.zeros(nbins, np.float64)
            parts.append((bg, w))
        _pro_histogram_kernel(
            scores[start:stop], in_region[start:stop], ids[k0:k1], inv_sizes, shift, bg, w
        )

    run_in_spans(scores.shape[0], run, HISTOGRAM_PER_WORKER)
    for bg, w in parts:
        background += bg
        weight += w
    return ProHistogram(background, weight, num_regions + int(sizes.shape[0]))


def _check_pro_histogram(
    h: Any, name: str = "histogram"
) -> tuple[NDArray[np.int64], NDArray[np.float64], int]:
    """Return the fields of a valid :class:`ProHistogram`; raise otherwise."""
    if not isinstance(h, tuple) or len(h) != 3:
        raise TypeError(
            f"`{name}` must be a ProHistogram (from `pro_histogram`), got {type(h).__name__}."
        )
    background, weight, num_regions = h
    background = np.asarray(background)
    weight = np.asarray(weight)
    if background.dtype.kind not in "iu" or weight.dtype.kind != "f":
        raise TypeError(
            f"`{name}` must hold integer background counts and float region weights, got "
            f"dtypes {background.dtype} and {weight.dtype}."
        )
    nbins = background.shape[0] if background.ndim == 1 else 0
    bits = nbins.bit_length() - 1
    if background.shape != weight.shape or nbins != 1 << bits or not _MIN_BITS <= bits <= _MAX_BITS:
        raise ValueError(
            f"`{name}` must hold two arrays of shape (2**bits,) with bits in "
            f"[{_MIN_BITS}, {_MAX_BITS}], got shapes {background.shape} and {weight.shape}."
        )
    num = _as_count(num_regions, f"{name}.num_regions")
    return background.astype(np.int64, copy=False), weight.astype(np.float64, copy=False), num


def aupro_from_histogram(histogram: Any, *, fpr_limit: float = 0.3) -> BoundedValue:
    """AU-PRO of the binned maps, with a bound on its distance to the exact :func:`aupro`.

    Parameters
    ----------
    histogram : ProHistogram
        From :func:`pro_histogram` (merged over any number of batches or processes).
    fpr_limit : float in (0, 1], default 0.3
        Integrate the PRO curve over ``FPR <= fpr_limit``; the area is divided by it.

    Returns
    -------
    BoundedValue
        ``value``: the normalised area under the PRO curve drawn through the bin edges (straight
        inside each bin, cut at `fpr_limit` by interpolation); ``error_bound``: a certified bound
        on ``|value - aupro(anomaly_maps, masks, fpr_limit=fpr_limit)|``. nan and nan without
        regions or without background pixels.

    Raises
    ------
    TypeError, ValueError
        Not a ProHistogram, or `fpr_limit` outside (0, 1].

    Warns
    -----
    UndefinedMetricWarning
        No region, or no background pixel.

    Notes
    -----
    At a bin's lower edge the binned (FPR, PRO) point is a point of the exact curve; between two
    edges the exact curve is monotone inside the box those points span. A bin holding a share
    ``f_b`` of the background and a share ``p_b`` of the mean region overlap can move the area
    by at most ``f_b p_b / 2`` (the half box), so

    ``error_bound = sum_b f_b p_b / (2 fpr_limit)``

    over the bins below the limit (the bin that crosses it counts its clipped part).

    Examples
    --------
    >>> import numpy as np
    >>> import anomaly_metrics as am
    >>> rng = np.random.default_rng(0)
    >>> masks = np.zeros((2, 32, 32), bool)
    >>> masks[0, 4:12, 4:12] = True
    >>> maps = rng.random((2, 32, 32)) + masks
    >>> value, bound = am.aupro_from_histogram(am.pro_histogram(maps, masks))
    >>> abs(value - am.aupro(maps, masks)) <= bound
    True
    """
    limit = check_fraction(fpr_limit, "fpr_limit", low_open=True)
    background, weight, num_regions = _check_pro_histogram(histogram)
    n_bg = int(background.sum())
    if num_regions == 0:
        warn_undefined("No defect regions in the histogram: AU-PRO is undefined (nan).")
        return BoundedValue(float("nan"), float("nan"))
    if n_bg == 0:
        warn_undefined("No background pixels in the histogram: AU-PRO is undefined (nan).")
        return BoundedValue(float("nan"), float("nan"))
    bins = np.flatnonzero((background != 0) | (weight != 0))[::-1]
    x = np.concatenate(([0.0], np.cumsum(background[bins]) / n_bg))
    y = np.concatenate(([0.0], np.cumsum(weight[bins]) / num_regions))
    est, low, high = _cell_areas(x, y, 0.0, limit)
    return _bounded(est / limit, low / limit, high / limit)


# --------------------------------------------------------------------------------------------
# AUPIMO histogram


class PimoHistogram(NamedTuple):
    """Streaming state of AUPIMO (see :func:`pimo_histogram`); merge with :func:`merge_histograms`."""

    normal_fpr: NDArray[np.float64]  # (2**bits,) sum over normal images of (pixels in bin) / size
    num_normal: int  # normal images seen
    defect_bins: NDArray[np.uint32]  # (M,) bin of every defect pixel, anomalous image by image
    defect_counts: NDArray[np.int64]  # (A,) defect pixels of each anomalous image
    image_classes: NDArray[np.int8]  # (N,) 1 anomalous, 0 normal, in the order seen


@njit(cache=True, nogil=True)
def _count_bins_kernel(scores, shift, counts):  # pragma: no cover - compiled
    """``counts[bin(s)] += 1`` for every score, keys computed on the fly (no key array).

    Inputs are not validated; call through `pimo_histogram`.
    """
    for i in range(scores.shape[0]):
        counts[float32_key(scores[i]) >> shift] += 1


def pimo_histogram(anomaly_maps: Any, masks: Any, *, bits: int = DEFAULT_BITS) -> PimoHistogram:
    """Shared-FPR weights of normal images and binned defect pixels: the streaming state of AUPIMO.

    Parameters
    ----------
    anomaly_maps : array-like of shape (N, H, W), (N, 1, H, W) or (H, W)
        Pixel anomaly scores; finite. Float64 and int are rounded down to float32 to be binned.
    masks : array-like, same shape as `anomaly_maps`
        Ground truth, bool or 0/1. An image is normal when its mask is empty.
    bits : int in [1, 24], default 20
        ``2**bits`` bins (see :func:`score_bins`).

    Returns
    -------
    PimoHistogram
        ``normal_fpr[b]``: the sum over normal images of the fraction of their pixels in bin
        ``b`` (float64; the shared FPR at a bin edge is the sum from that bin up, divided by
        ``num_normal``); ``num_normal``; ``defect_bins``: the bin (uint32) of every defect pixel
        of the anomalous images, image after image, with ``defect_counts`` pixels each;
        ``image_classes``: 1 for anomalous, 0 for normal, in the order seen. The normal part
        has a fixed size; the anomalous part grows with the defect pixels only (4 bytes each),
        not with the images' other pixels, which AUPIMO does not use.

    Raises
    ------
    TypeError, ValueError
        Bad maps or masks (as :func:`aupro`), or bad `bits`.

    See Also
    --------
    aupimo_from_histogram : the finaliser.
    merge_histograms : to add batches.

    Examples
    --------
    >>> import numpy as np
    >>> import anomaly_metrics as am
    >>> maps = np.zeros((2, 4, 4))
    >>> masks = np.zeros((2, 4, 4), bool)
    >>> masks[1, :2, :2] = True
    >>> h = am.pimo_histogram(maps, masks)
    >>> h.num_normal, h.defect_counts.tolist(), h.image_classes.tolist()
    (1, [4], [0, 1])
    """
    nbits = _check_bits(bits)
    maps, m = check_maps_and_masks(anomaly_maps, masks)
    n_img = maps.shape[0]
    pixels = maps.shape[1] * maps.shape[2]
    shift = 32 - nbits
    anomalous = m.reshape(n_img, -1).any(axis=1)
    normal_idx = np.flatnonzero(~anomalous)
    counts = np.zeros(1 << nbits, np.int64)
    parts: list[NDArray[np.int64]] = []
    if normal_idx.size == n_img:
        flat = maps.reshape(-1)
    else:
        flat = maps[normal_idx].reshape(-1)

    def run(start: int, stop: int, first: bool) -> None:
        if first:
            _count_bins_kernel(flat[start:stop], shift, counts)
            return
        part = np.zeros(1 << nbits, np.int64)
        _count_bins_kernel(flat[start:stop], shift, part)
        parts.append(part)

    if normal_idx.size:
        run_in_spans(flat.shape[0], run, HISTOGRAM_PER_WORKER)
        for part in parts:
            counts += part
    normal_fpr = counts / float(pixels)
    anom = maps[anomalous]
    anom_masks = m[anomalous]
    defect_scores = anom[anom_masks]
    defect_bins = np.empty(defect_scores.shape[0], np.uint32)
    if defect_scores.size:
        _score_bins_kernel(defect_scores, shift, defect_bins)
    defect_counts = anom_masks.reshape(anom_masks.shape[0], -1).sum(axis=1).astype(np.int64)
    return PimoHistogram(
        normal_fpr, int(normal_idx.size), defect_bins, defect_counts, anomalous.astype(np.int8)
    )


def _check_pimo_histogram(h: Any, name: str = "histogram") -> PimoHistogram:
    """Return a valid :class:`PimoHistogram` (arrays coerced); raise otherwise."""
    if not isinstance(h, tuple) or len(h) != 5:
        raise TypeError(
            f"`{name}` must be a PimoHistogram (from `pimo_histogram`), got {type(h).__name__}."
        )
    normal_fpr, num_normal, defect_bins, defect_counts, image_classes = h
    normal_fpr = np.asarray(normal_fpr)
    defect_bins = np.asarray(defect_bins)
    defect_counts = np.asarray(defect_counts)
    image_classes = np.asarray(image_classes)
    if (
        normal_fpr.dtype.kind != "f"
        or defect_bins.dtype.kind not in "iu"
        or defect_counts.dtype.kind not in "iu"
        or image_classes.dtype.kind not in "iub"
    ):
        raise TypeError(
            f"`{name}` must hold float normal_fpr and integer defect_bins, defect_counts and "
            f"image_classes, got dtypes {normal_fpr.dtype}, {defect_bins.dtype}, "
            f"{defect_counts.dtype} and {image_classes.dtype}."
        )
    nbins = normal_fpr.shape[0] if normal_fpr.ndim == 1 else 0
    bits = nbins.bit_length() - 1
    if nbins != 1 << bits or not _MIN_BITS <= bits <= _MAX_BITS:
        raise ValueError(
            f"`{name}.normal_fpr` must have shape (2**bits,) with bits in "
            f"[{_MIN_BITS}, {_MAX_BITS}], got shape {normal_fpr.shape}."
        )
    num_normal = _as_count(num_normal, f"{name}.num_normal")
    defect_bins = defect_bins.reshape(-1)
    defect_counts = defect_counts.reshape(-1)
    image_classes = image_classes.reshape(-1)
    n_anomalous = int(np.count_nonzero(image_classes))
    if (
        int(num_normal) != image_classes.size - n_anomalous
        or defect_counts.size != n_anomalous
        or int(defect_counts.sum()) != defect_bins.size
        or (defect_counts.size and defect_counts.min() < 1)
        or (defect_bins.size and int(defect_bins.max()) >= nbins)
    ):
        raise ValueError(
            f"`{name}` must be consistent (one defect count >= 1 per anomalous image, their sum "
            f"the number of defect bins, each bin < 2**{bits}, num_normal the number of normal "
            f"images), got num_normal={int(num_normal)}, {n_anomalous} anomalous of "
            f"{image_classes.size} images, {defect_counts.size} defect counts summing to "
            f"{int(defect_counts.sum())} and {defect_bins.size} defect bins."
        )
    return PimoHistogram(
        normal_fpr.astype(np.float64, copy=False),
        int(num_normal),
        defect_bins.astype(np.uint32, copy=False),
        defect_counts.astype(np.int64, copy=False),
        (image_classes != 0).astype(np.int8),
    )


class BoundedAupimo(NamedTuple):
    """Binned AUPIMO with certified bounds (see :func:`aupimo_from_histogram`)."""

    per_image: NDArray[np.float64]  # (N,) in [0, 1]; nan for normal images
    per_image_error_bound: NDArray[np.float64]  # (N,) |per_image - exact| <= this; nan if normal
    mean: float  # mean of per_image over the anomalous images
    error_bound: float  # |mean - exact mean| <= this
    image_classes: NDArray[np.int8]  # (N,) 1 anomalous, 0 normal, in the order seen


def aupimo_from_histogram(
    histogram: Any, *, fpr_bounds: tuple[float, float] = (1e-5, 1e-4)
) -> BoundedAupimo:
    """AUPIMO of the binned maps, with bounds on the distance to the exact AUPIMO.

    Parameters
    ----------
    histogram : PimoHistogram
        From :func:`pimo_histogram` (merged over any number of batches or processes).
    fpr_bounds : (float, float), default (1e-5, 1e-4)
        Shared-FPR integration range ``(lower, upper)``, ``0 < lower < upper <= 1``.

    Returns
    -------
    BoundedAupimo
        ``per_image``: each image's area under its PIMO curve drawn through the bin edges
        (straight inside each bin in ``(ln shared FPR, TPR)``, cut at the bounds), divided by
        ``ln(upper / lower)``, nan for normal images; ``per_image_error_bound``: a certified
        bound on its distance to ``aupimo(..., num_thresholds=None).per_image`` (the exact
        curve); ``mean`` over the anomalous images and its bound (the mean of theirs);
        ``image_classes``.

    Raises
    ------
    TypeError, ValueError
        Not a PimoHistogram, bad `fpr_bounds`, or no normal or no anomalous image (as
        :func:`aupimo`).

    Notes
    -----
    The shared FPR at a bin's lower edge is exact (every normal pixel above the edge is counted),
    and so is each image's TPR there. Between two such edges the exact PIMO curve is monotone, so
    it stays in the box the two points span; the binned curve takes the box's diagonal, and the
    bound is the summed half-boxes over the range (up to the farther end of the range of areas
    the boxes allow). A bin holding many normal pixels is a wide box in ``ln FPR``: near the
    lower FPR bound only the few highest normal scores count, so the bins there are narrow and
    the bound small.

    If `fpr_bounds[0]` lies below the shared FPR of the highest occupied normal bin, the curve
    below it is only known to lie in that bin's box (the exact :func:`aupimo` raises when the
    bound is below the smallest FPR the data can reach).

    Examples
    --------
    >>> import numpy as np
    >>> import anomaly_metrics as am
    >>> image = np.ones((10, 10), np.float32)
    >>> image.flat[:10] = 2.0
    >>> image.flat[0] = 3.0
    >>> maps = np.stack([image, image, image])
    >>> masks = np.zeros((3, 10, 10), bool)
    >>> masks[1] = True
    >>> masks[2].flat[:10] = True
    >>> result = am.aupimo_from_histogram(am.pimo_histogram(maps, masks), fpr_bounds=(0.01, 0.1))
    >>> result.per_image.round(6).tolist(), round(result.mean, 6)
    ([nan, 0.055, 0.55], 0.3025)
    """
    lo, hi = _check_fpr_bounds(fpr_bounds)  # the same check as aupimo
    h = _check_pimo_histogram(histogram)
    n_anomalous = h.defect_counts.shape[0]
    if h.num_normal == 0:
        raise ValueError(
            "`histogram` must hold at least one normal image (a mask without defect pixels): the "
            f"shared FPR is defined by normal images, got {n_anomalous} anomalous and 0 normal "
            "images."
        )
    if n_anomalous == 0:
        raise ValueError(
            "`histogram` must hold at least one anomalous image (a mask with defect pixels): "
            f"AUPIMO scores anomalous images, got {h.num_normal} normal and 0 anomalous images."
        )
    # normal-occupied bins, highest first, with the shared FPR above and at each
    bins = np.flatnonzero(h.normal_fpr)[::-1]
    fpr_at = np.cumsum(h.normal_fpr[bins]) / h.num_normal
    fpr_above = np.concatenate(([0.0], fpr_at[:-1]))
    # only the cells that reach into [lo, hi]
    sel = np.flatnonzero((fpr_at >= lo) & (fpr_above <= hi))
    bins, fpr_at, fpr_above = bins[sel], fpr_at[sel], fpr_above[sel]
    with np.errstate(divide="ignore"):
        x0 = np.log(fpr_above)
        x1 = np.log(fpr_at)
    # TPR of every anomalous image at and above each selected bin: one sort of the defect bins
    # by (image, bin) and a binary search per (image, bin)
    image_of = np.repeat(np.arange(n_anomalous, dtype=np.uint64), h.defect_counts)
    keys = np.sort((image_of << np.uint64(32)) | h.defect_bins.astype(np.uint64))
    rows = np.arange(n_anomalous, dtype=np.uint64)[:, None] << np.uint64(32)
    starts = np.concatenate(([0], np.cumsum(h.defect_counts)))
    ends = starts[1:, None]
    n_defect = h.defect_counts.astype(np.float64)[:, None]
    ge = ends - np.searchsorted(keys, rows | bins.astype(np.uint64)[None, :], side="left")
    gt = ends - np.searchsorted(keys, rows | (bins.astype(np.uint64)[None, :] + 1), side="left")
    est, low, high = _box_areas(x0, x1, gt / n_defect, ge / n_defect, math.log(lo), math.log(hi))
    norm = math.log(hi / lo)
    value = np.clip(est / norm, 0.0, 1.0)
    bound = np.maximum(est - low, high - est) / norm + _ROUNDING
    classes = h.image_classes
    per_image = np.full(classes.shape[0], np.nan)
    per_bound = np.full(classes.shape[0], np.nan)
    anomalous = classes == 1
    per_image[anomalous] = value
    per_bound[anomalous] = bound
    return BoundedAupimo(
        per_image, per_bound, float(value.mean()), float(bound.mean()), classes.copy()
    )


# --------------------------------------------------------------------------------------------
# merging


def merge_histograms(*histograms: Any) -> Any:
    """Sum histograms of the same kind and `bits`.

    Parameters
    ----------
    *histograms : ndarray, ProHistogram or PimoHistogram
        One or more results of the same builder (:func:`ranking_histogram`,
        :func:`pro_histogram`, :func:`pimo_histogram`) with the same `bits`.

    Returns
    -------
    ndarray, ProHistogram or PimoHistogram
        The histogram of all their data together (new arrays; the inputs are not modified).
        Counts add exactly, so any order gives the same integer arrays; float64 weights (AU-PRO,
        AUPIMO) agree to rounding (about 1e-16 relative). A PimoHistogram keeps its images in
        the order of the arguments.

    Raises
    ------
    TypeError, ValueError
        No histograms, mixed kinds, or different `bits`.

    Examples
    --------
    >>> import anomaly_metrics as am
    >>> a = am.ranking_histogram([0.1, 0.8], [0, 1])
    >>> b = am.ranking_histogram([0.4, 0.35], [0, 1])
    >>> am.auroc_from_histogram(am.merge_histograms(a, b)).value
    0.75
    """
    if not histograms:
        raise TypeError("`merge_histograms` needs at least one histogram, got none.")
    first = histograms[0]
    names = [f"histograms[{i}]" for i in range(len(histograms))]
    if isinstance(first, PimoHistogram):
        pims = [_check_pimo_histogram(h, name) for h, name in zip(histograms, names)]
        _same_bins([p.normal_fpr.shape[0] for p in pims])
        normal_fpr = pims[0].normal_fpr.copy()
        for p in pims[1:]:
            normal_fpr += p.normal_fpr
        return PimoHistogram(
            normal_fpr,
            sum(p.num_normal for p in pims),
            np.concatenate([p.defect_bins for p in pims]),
            np.concatenate([p.defect_counts for p in pims]),
            np.concatenate([p.image_classes for p in pims]),
        )
    if isinstance(first, tuple):
        pros = [_check_pro_histogram(h, name) for h, name in zip(histograms, names)]
        _same_bins([p[0].shape[0] for p in pros])
        background = pros[0][0].copy()
        weight = pros[0][1].copy()
        for bg, w, _ in pros[1:]:
            background += bg
            weight += w
        return ProHistogram(background, weight, sum(p[2] for p in pros))
    arrays = [_check_ranking_histogram(h, name)[0] for h, name in zip(histograms, names)]
    _same_bins([a.shape[1] for a in arrays])
    total = arrays[0].copy()
    for arr in arrays[1:]:
        total += arr
    return total


def _same_bins(sizes: list[int]) -> None:
    if len(set(sizes)) != 1:
        bits = sorted({int(n).bit_length() - 1 for n in sizes})
        raise ValueError(f"`histograms` must all have the same bits, got bits {bits}.")
