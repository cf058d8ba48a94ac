"""Many positives (half the pixels in a defect): ROC areas from both classes sorted, one walk.

The counting primitive (:mod:`anomaly_metrics._counts`) sorts the positives and counts the
negatives into the gaps between their distinct scores. That is right when positives are rare
(a few per cent of the pixels, the usual case). When they are as many as the negatives, and
nearly all distinct, its per-level arrays (the levels, their counts, the per-thread tie and gap
counters, the cumulative counts: over 60 bytes per level) cost more than the scores themselves,
in memory and in first-touch page faults.

Here both classes are sorted (the positives and the two halves of the negatives in parallel
threads), and one walk from the highest positive score down meets each distinct positive
score, counts the negatives above it and tied with it, and adds the trapezoids of the ROC
polyline as it goes: nothing is stored per level. The vertices, and the arithmetic that adds
them (:func:`anomaly_metrics._integrate._polyline_step`), are those of
:func:`anomaly_metrics._integrate._polyline_area_kernel` on the counts, in the same order, so
the area is the same float to the last bit, whichever path a call takes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit
from numpy.typing import NDArray

from ._counts import _gather_in_range_kernel
from ._integrate import _polyline_step
from ._levels import _kept_positives
from ._parallel import cut_at_batches, run_tasks, split_range

__all__: list[str] = []  # private: used by _ranking

#: Fewer values than this always take the counting primitive (threads do not pay below it).
DENSE_MIN_VALUES = 1 << 16
#: The walk is taken when the positives are at least this share of the negatives.
DENSE_POSITIVE_SHARE = 0.25


def dense_pays(n_pos: int, n_neg: int) -> bool:
    """Whether :func:`dense_roc_area` beats the counting primitive for these class sizes."""
    return n_pos + n_neg >= DENSE_MIN_VALUES and n_pos >= DENSE_POSITIVE_SHARE * n_neg


@njit(cache=True, nogil=True)
def _walk_area_kernel(pos, neg_a, neg_b, n_neg, total, x_max):  # pragma: no cover - compiled
    """Area under the ROC polyline of ascending ``pos`` against ascending ``neg_a`` + ``neg_b``.

    The polyline of :func:`anomaly_metrics._integrate._polyline_area_kernel`: from (0, 0),
    each distinct positive score ``t`` (descending) adds the vertex (negatives above ``t``,
    positives above ``t``) and the vertex (negatives at or above ``t``, positives at or above
    ``t``); it ends at ``(n_neg, len(pos))``. Abscissae are divided by ``n_neg``, ordinates by
    ``total``; cut at ``x_max``. As there, a segment of no width is skipped (it adds exactly
    nothing), so a quotient is only computed where a segment is added. The negatives need only
    hold those at or above ``pos[0]`` (the others only reach the last vertex). Inputs are not
    validated.
    """
    n_a = neg_a.shape[0]
    n_b = neg_b.shape[0]
    n_p = pos.shape[0]
    ip = n_p - 1
    ia = n_a - 1
    ib = n_b - 1
    s = 0.0
    comp = 0.0
    fp0 = 0  # negatives counted at the last vertex, whose abscissa is x0
    x0 = 0.0
    y0 = 0.0
    while ip >= 0:
        t = pos[ip]  # compared in the values' own type: both classes share it, so it is exact
        while ia >= 0 and neg_a[ia] > t:
            ia -= 1
        while ib >= 0 and neg_b[ib] > t:
            ib -= 1
        fp = (n_a - 1 - ia) + (n_b - 1 - ib)
        if fp != fp0:  # the negatives above t: a horizontal segment
            x1 = fp / n_neg
            s, comp, done = _polyline_step(s, comp, x0, y0, x1, y0, x_max)
            if done:
                return s + comp
            x0 = x1
            fp0 = fp
        while ia >= 0 and neg_a[ia] == t:
            ia -= 1
        while ib >= 0 and neg_b[ib] == t:
            ib -= 1
        while ip >= 0 and pos[ip] == t:
            ip -= 1
        fp = (n_a - 1 - ia) + (n_b - 1 - ib)
        y1 = (n_p - 1 - ip) / total
        if fp != fp0:  # negatives tied with t: the diagonal
            x1 = fp / n_neg
            s, comp, done = _polyline_step(s, comp, x0, y0, x1, y1, x_max)
            if done:
                return s + comp
            x0 = x1
            fp0 = fp
        y0 = y1
    x1 = n_neg / n_neg
    if x1 != x0:
        s, comp, _ = _polyline_step(s, comp, x0, y0, x1, n_p / total, x_max)
    return s + comp


def _sorted_negatives_from(
    pieces: list[tuple[NDArray[Any], NDArray[np.bool_]]], low: float, dtype: Any
) -> NDArray[Any]:
    """The negatives of consecutive ``(values, labels)`` pieces scored at or above ``low``, sorted."""
    buf = np.empty(max(1, sum(int(v.shape[0]) for v, _ in pieces)), dtype)
    outside = np.zeros(2, np.int64)
    k = 0
    for values, labels in pieces:  # the buffer holds every value: each call reaches the end
        _, k = _gather_in_range_kernel(values, labels, False, low, np.inf, 0, buf, k, outside)
    part = buf[:k]
    part.sort()
    return part


def dense_roc_area(
    chunks: list[tuple[NDArray[Any], NDArray[np.bool_]]], n_pos: int, n_neg: int, x_max: float
) -> float:
    """The ROC area up to ``x_max`` (``inf``: all of it) of checked flat batches, by one walk.

    ``n_pos`` / ``n_neg`` are the class sizes, both positive. The positives are extracted and
    sorted in one thread while the negatives at or above the lowest positive are gathered and
    sorted in another (in two halves, in two, when they are more than twice as many);
    :func:`_walk_area_kernel` then adds the area. The float is that of the counting
    primitive's counts through ``_polyline_area_kernel``.
    """
    pos = _kept_positives(chunks, n_pos, None)
    low = float(pos.min())
    dtype = np.result_type(*(v.dtype for v, _ in chunks))
    lengths = [int(v.shape[0]) for v, _ in chunks]
    # the negatives in one sort beside the positives' while they are not many more (one
    # array: one fewer unpredictable loop per level in the walk), else in two halves
    parts = 1 if n_neg <= 2 * n_pos else 2
    spans = [
        [(chunks[b][0][a:z], chunks[b][1][a:z]) for b, a, z in pieces]
        for pieces in cut_at_batches(split_range(sum(lengths), parts), lengths)
    ]

    def run(task: int) -> NDArray[Any] | None:
        if task == 0:
            pos.sort()
            return None
        return _sorted_negatives_from(spans[task - 1], low, dtype)

    _, *negs = run_tasks(run, range(parts + 1))
    neg_a, neg_b = negs if parts == 2 else (negs[0], negs[0][:0])
    return float(_walk_area_kernel(pos, neg_a, neg_b, float(n_neg), float(n_pos), x_max))
