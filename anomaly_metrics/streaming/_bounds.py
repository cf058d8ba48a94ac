"""Result types with a certified bound, and the bound arithmetic shared by the finalisers.

:class:`BoundedValue` and :class:`BoundedThreshold` are what the finalisers return. The helpers
list the occupied bins of a ranking histogram and compute, for a curve known only at bin edges
and monotone between them, the area of the straight line through the edges together with the
lowest and highest area any curve inside the boxes could have.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

__all__ = ["BoundedThreshold", "BoundedValue"]

# Added to every reported bound: the exact and the streaming value are both computed in float64.
_ROUNDING = 1e-12


class BoundedValue(NamedTuple):
    """A streaming metric and a certified bound: ``|value - exact value| <= error_bound``."""

    value: float
    error_bound: float


class BoundedThreshold(NamedTuple):
    """A streaming F1-maximising threshold (see :func:`f1_adaptive_threshold_from_histogram`).

    ``score >= threshold`` gives the F1 score ``f1`` on the data of the histogram, and no threshold
    gives more than ``f1 + f1_error_bound``.
    """

    threshold: float
    f1: float
    f1_error_bound: float


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
