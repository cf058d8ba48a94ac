"""Integration of sampled curves: trapezoid, trapezoid cut at ``x_max``."""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit
from numpy.typing import NDArray

from ._validation import check_real, check_scores

__all__ = ["auc"]


def _trapezoid(x: NDArray[np.float64], y: NDArray[np.float64]) -> float:
    """Trapezoid rule over points sorted by ``x``. Inputs are not validated."""
    if x.shape[0] < 2:
        return 0.0
    return float(np.sum(np.diff(x) * (y[1:] + y[:-1])) / 2.0)


def _trapezoid_to(x: NDArray[np.float64], y: NDArray[np.float64], x_max: float) -> float:
    """Trapezoid rule over the part of the curve with ``x <= x_max``, ``x`` non-decreasing.

    Keeps every point with ``x <= x_max`` (a vertical jump at ``x_max`` is kept); when ``x_max``
    is not a vertex, the segment from the last such point to the next one is cut at ``x_max`` by
    linear interpolation (the MVTec AD evaluation's rule). Inputs are not validated.
    """
    stop = int(np.searchsorted(x, x_max, side="right"))  # points with x <= x_max
    area = _trapezoid(x[:stop], y[:stop])
    if stop == 0 or stop == x.shape[0] or x[stop - 1] == x_max:
        return area
    x0, x1, y0, y1 = x[stop - 1], x[stop], y[stop - 1], y[stop]
    y_cut = y0 + (y1 - y0) * (x_max - x0) / (x1 - x0)
    return float(area + 0.5 * (y0 + y_cut) * (x_max - x0))


@njit(cache=True, nogil=True)
def _polyline_area_kernel(
    fp_above, fp, y, n_neg, y_end, total, x_max
):  # pragma: no cover - compiled
    """Trapezoid area under the ROC-type polyline of descending-threshold counts, up to ``x_max``.

    The polyline (see ``_curves._roc_polyline``) starts at (0, 0); threshold ``k`` adds the
    vertices ``(fp_above[k], y[k - 1])`` (its negatives above it: a horizontal move) and
    ``(fp[k], y[k])`` (its ties: a diagonal); it ends at ``(n_neg, y_end)`` (``y_end`` is the
    total positive mass counted: below ``total`` when positives under a floor were dropped).
    Abscissae are divided by ``n_neg``, ordinates by ``total``. The area is :func:`_trapezoid_to` of those vertices
    (every vertex with ``x <= x_max``, then the crossing segment cut by linear interpolation;
    ``x_max = inf`` for the whole area), computed in one pass without building the polyline, the
    terms added with Neumaier's compensated summation (error about one rounding, whatever the
    number of thresholds). Segments of no width are skipped: their term is +0.0, which leaves
    the sum and its compensation as they are (neither is ever -0.0). Inputs are not validated.
    """
    k_all = fp.shape[0]
    s = 0.0
    comp = 0.0
    x0 = 0.0
    y0 = 0.0
    for v in range(2 * k_all + 1):
        k = v >> 1
        if v == 2 * k_all:  # the last vertex, (n_neg, y_end)
            x1 = n_neg / n_neg
            y1 = y_end / total
        elif v & 1 == 0:
            x1 = fp_above[k] / n_neg
            y1 = (y[k - 1] / total) if k > 0 else 0.0
        else:
            x1 = fp[k] / n_neg
            y1 = y[k] / total
        if x1 != x0:  # (a segment of no width adds exactly nothing, and cannot pass x_max)
            s, comp, done = _polyline_step(s, comp, x0, y0, x1, y1, x_max)
            if done:
                break
        x0 = x1
        y0 = y1
    return s + comp


@njit(cache=True, nogil=True)
def _levels_areas_kernel(
    n_p, w_p, eq, gap, n_neg, total, limits, areas
):  # pragma: no cover - compiled
    """:func:`_polyline_area_kernel` of the cumulated counts, straight from per-level counts.

    ``n_p`` (or, when it has one entry per level, the weight ``w_p``), ``eq`` and ``gap`` are
    the counts at and between the ascending thresholds (``_counts._Levels``); the cumulative
    counts are summed on the fly, in the order and with the operations of
    ``_counts._cumulate``, so each area is the same float to the last bit, without the
    cumulative arrays. ``areas[q]`` gets the area up to ``limits[q]`` (``inf``: all of it); the
    polyline ends at ``(n_neg, the total positive mass)``. Inputs are not validated.
    """
    m = n_p.shape[0]
    weighted = w_p.shape[0] == m and m > 0
    sums = np.zeros((limits.shape[0], 3))  # per limit: sum, compensation, passed
    left = limits.shape[0]
    x0 = 0.0
    y0 = 0.0
    fp = 0
    tp = 0
    tpw = 0.0
    for k in range(m):
        if left == 0:
            break
        j = m - 1 - k
        x1 = (fp + np.int64(gap[j + 1])) / n_neg  # the negatives above threshold k: horizontal
        if x1 != x0:
            left -= _polyline_steps(sums, x0, y0, x1, y0, limits)
            x0 = x1
        fp = fp + (np.int64(gap[j + 1]) + np.int64(eq[j]))  # (int32 counts from one Dask block)
        if weighted:
            tpw = w_p[j] if k == 0 else tpw + w_p[j]
            y1 = tpw / total
        else:
            tp = tp + n_p[j]
            y1 = tp / total
        x1 = fp / n_neg
        if x1 != x0:  # its ties: the diagonal
            left -= _polyline_steps(sums, x0, y0, x1, y1, limits)
            x0 = x1
        y0 = y1
    x1 = n_neg / n_neg
    if left > 0 and x1 != x0:
        _polyline_steps(sums, x0, y0, x1, (tpw if weighted else tp) / total, limits)
    for q in range(limits.shape[0]):
        areas[q] = sums[q, 0] + sums[q, 1]


@njit(cache=True, nogil=True, inline="always")
def _polyline_steps(sums, x0, y0, x1, y1, limits):  # pragma: no cover - compiled
    """:func:`_polyline_step` for each limit not yet passed; returns how many it passes now.

    ``sums[q]`` holds ``(sum, compensation, passed)`` of the area up to ``limits[q]``.
    """
    passed = 0
    for q in range(limits.shape[0]):
        if sums[q, 2] == 0.0:
            s, comp, d = _polyline_step(sums[q, 0], sums[q, 1], x0, y0, x1, y1, limits[q])
            sums[q, 0] = s
            sums[q, 1] = comp
            if d:
                sums[q, 2] = 1.0
                passed += 1
    return passed


@njit(cache=True, nogil=True, inline="always")
def _polyline_step(s, comp, x0, y0, x1, y1, x_max):  # pragma: no cover - compiled
    """Add the segment from vertex ``(x0, y0)`` to ``(x1, y1)``: ``(s, comp, done)``.

    The trapezoid under the segment, or, when ``x1`` passes ``x_max``, the part of it up to
    ``x_max`` (cut by linear interpolation) and ``done``. The one step of every polyline area
    (:func:`_polyline_area_kernel`, the dense walk of ``_dense.py``), so that they add the same
    terms in the same order.
    """
    if x1 > x_max:
        if x0 < x_max:
            y_cut = y0 + (y1 - y0) * (x_max - x0) / (x1 - x0)
            s, comp = _neumaier_add(s, comp, 0.5 * (y0 + y_cut) * (x_max - x0))
        return s, comp, True
    s, comp = _neumaier_add(s, comp, 0.5 * (x1 - x0) * (y1 + y0))
    return s, comp, False


@njit(cache=True, nogil=True, inline="always")
def _neumaier_add(s, comp, term):  # pragma: no cover - compiled
    """``(s + term, compensation)``: one step of Neumaier's compensated summation."""
    t = s + term
    if abs(s) >= abs(term):
        comp += (s - t) + term
    else:
        comp += (term - t) + s
    return t, comp


def auc(x: Any, y: Any, *, x_max: float | None = None) -> float:
    """Area under a sampled curve by the trapezoidal rule.

    Parameters
    ----------
    x : array-like of shape (K,)
        Abscissae, monotonic (non-decreasing or non-increasing), finite. At least 2 points.
    y : array-like of shape (K,)
        Ordinates, finite.
    x_max : float, optional
        Integrate only up to ``x = x_max``: points beyond it are dropped and the segment crossing
        it is cut there by linear interpolation (the rule of the MVTec AD evaluation's
        ``trapezoid``). Must lie within ``[min(x), max(x)]``. The area is *not* normalised.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        Fewer than 2 points, lengths differ, non-finite values, ``x`` not monotonic, or ``x_max``
        outside the range of ``x``.

    Examples
    --------
    >>> import anomaly_metrics as am
    >>> am.auc([0.0, 0.5, 1.0], [0.0, 1.0, 1.0])
    0.75
    >>> am.auc([0.0, 0.5, 1.0], [0.0, 1.0, 1.0], x_max=0.25)
    0.0625
    """
    xs = np.asarray(check_scores(x, "x"), dtype=np.float64).reshape(-1)
    ys = np.asarray(check_scores(y, "y"), dtype=np.float64).reshape(-1)
    if xs.shape != ys.shape:
        raise ValueError(f"`x` and `y` must have the same length, got {xs.size} and {ys.size}.")
    if xs.size < 2:
        raise ValueError(f"`x` must have at least 2 points, got {xs.size}.")
    dx = np.diff(xs)
    if np.all(dx <= 0) and np.any(dx < 0):
        xs, ys = xs[::-1], ys[::-1]
    elif not np.all(dx >= 0):
        raise ValueError("`x` must be monotonic (non-decreasing or non-increasing).")
    if x_max is None:
        return _trapezoid(xs, ys)
    limit = check_real(x_max, "x_max")
    if not xs[0] <= limit <= xs[-1]:
        raise ValueError(
            f"`x_max` must be within [{xs[0]}, {xs[-1]}] (the range of `x`), got {limit}."
        )
    return _trapezoid_to(xs, ys, limit)
