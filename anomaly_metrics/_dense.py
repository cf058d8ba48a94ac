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
from ._integrate import _polyline_step, _polyline_steps
from ._keys import float32_from_key, float32_of_key
from ._levels import (
    UnitWeights,
    _kept_positives,
    _packed_kept_positives,
    _weights_in_order,
    as_unit_weights,
)
from ._parallel import cut_at_batches, run_tasks, split_range
from ._sorting import sort_float32, sort_method, sort_packed

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
        for tie in range(2):  # the negatives above t (a horizontal segment), then its ties
            if tie == 0:
                while ia >= 0 and neg_a[ia] > t:
                    ia -= 1
                while ib >= 0 and neg_b[ib] > t:
                    ib -= 1
                y1 = y0
            else:
                while ia >= 0 and neg_a[ia] == t:
                    ia -= 1
                while ib >= 0 and neg_b[ib] == t:
                    ib -= 1
                while ip >= 0 and pos[ip] == t:
                    ip -= 1
                y1 = (n_p - 1 - ip) / total
            fp = (n_a - 1 - ia) + (n_b - 1 - ib)
            if fp != fp0:
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


@njit(cache=True, nogil=True)
def _walk_weighted_areas_kernel(
    packed, weights, neg_a, neg_b, n_neg, total, limits, areas
):  # pragma: no cover - compiled
    """:func:`_walk_area_kernel` for weighted float32 positives, one area per limit.

    ``packed`` is the sorted ``key << 32 | rank`` of the kept positives and ``weights[i]`` the
    weight of ``packed[i]`` (``_levels._packed_kept_positives``, ``_levels._weights_in_order``):
    a level's weight is summed in rank order, then added to the running total, as ``_cumulate`` sums them, so each area is that
    of ``_polyline_area_kernel`` on the weighted counts, bit for bit. ``areas[l]`` gets the area
    up to ``limits[l]``; the walk stops when every limit is passed. Inputs are not validated.
    """
    sums = np.zeros((limits.shape[0], 3))  # per limit: sum, compensation, passed
    left = limits.shape[0]
    n_a = neg_a.shape[0]
    n_b = neg_b.shape[0]
    ip = packed.shape[0] - 1
    ia = n_a - 1
    ib = n_b - 1
    fp0 = 0
    x0 = 0.0
    y0 = 0.0
    tpw = 0.0
    first = True
    while ip >= 0 and left > 0:
        key = packed[ip] >> np.uint64(32)
        t = float32_of_key(key)  # the scores are float32 too: compared exactly
        while ia >= 0 and neg_a[ia] > t:
            ia -= 1
        while ib >= 0 and neg_b[ib] > t:
            ib -= 1
        fp = (n_a - 1 - ia) + (n_b - 1 - ib)
        if fp != fp0:
            x1 = fp / n_neg
            left -= _polyline_steps(sums, x0, y0, x1, y0, limits)
            x0 = x1
            fp0 = fp
        while ia >= 0 and neg_a[ia] == t:
            ia -= 1
        while ib >= 0 and neg_b[ib] == t:
            ib -= 1
        lo = ip
        while lo > 0 and (packed[lo - 1] >> np.uint64(32)) == key:
            lo -= 1
        level = 0.0
        for r in range(lo, ip + 1):
            level += weights[r]
        tpw = level if first else tpw + level
        first = False
        ip = lo - 1
        fp = (n_a - 1 - ia) + (n_b - 1 - ib)
        y1 = tpw / total
        if fp != fp0:
            x1 = fp / n_neg
            left -= _polyline_steps(sums, x0, y0, x1, y1, limits)
            x0 = x1
            fp0 = fp
        y0 = y1
    x1 = n_neg / n_neg
    if left > 0 and x1 != x0:
        _polyline_steps(sums, x0, y0, x1, tpw / total, limits)
    for q in range(limits.shape[0]):
        areas[q] = sums[q, 0] + sums[q, 1]


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
    if part.dtype == np.float32:
        sort_float32(part)
    else:
        part.sort()
    return part


def _sorted_classes(
    chunks: list[tuple[NDArray[Any], NDArray[np.bool_]]],
    sort_positives: Any,
    low: float,
    n_pos: int,
    n_neg: int,
) -> tuple[NDArray[Any], NDArray[Any]]:
    """Run ``sort_positives()`` in one thread while the negatives ``>= low`` are gathered and
    sorted in another (in two halves, in two, when they are more than twice as many); return
    the negatives as two ascending arrays (the second empty when in one)."""
    dtype = np.result_type(*(v.dtype for v, _ in chunks))
    lengths = [int(v.shape[0]) for v, _ in chunks]
    # one array of negatives while they are not many more: one fewer unpredictable loop per
    # level in the walk
    parts = 1 if n_neg <= 2 * n_pos else 2
    spans = [
        [(chunks[b][0][a:z], chunks[b][1][a:z]) for b, a, z in pieces]
        for pieces in cut_at_batches(split_range(sum(lengths), parts), lengths)
    ]

    def run(task: int) -> NDArray[Any] | None:
        if task == 0:
            sort_positives()
            return None
        return _sorted_negatives_from(spans[task - 1], low, dtype)

    _, *negs = run_tasks(run, range(parts + 1))
    return (negs[0], negs[1]) if parts == 2 else (negs[0], negs[0][:0])


def dense_roc_area(
    chunks: list[tuple[NDArray[Any], NDArray[np.bool_]]], n_pos: int, n_neg: int, x_max: float
) -> float:
    """The ROC area up to ``x_max`` (``inf``: all of it) of checked flat batches, by one walk.

    ``n_pos`` / ``n_neg`` are the class sizes, both positive. The positives are extracted and
    sorted in one thread while the negatives at or above the lowest positive are gathered and
    sorted in another; :func:`_walk_area_kernel` then adds the area. The float is that of the
    counting primitive's counts through ``_polyline_area_kernel``.
    """
    pos = _kept_positives(chunks, n_pos, None)
    sort_method("float32")  # chosen (timed once per process) before the threads start
    sort_pos = (lambda: sort_float32(pos)) if pos.dtype == np.float32 else pos.sort
    neg_a, neg_b = _sorted_classes(chunks, sort_pos, float(pos.min()), n_pos, n_neg)
    return float(_walk_area_kernel(pos, neg_a, neg_b, float(n_neg), float(n_pos), x_max))


def dense_weighted_areas(
    chunks: list[tuple[NDArray[np.float32], NDArray[np.bool_]]],
    pos_weights: NDArray[np.float64] | UnitWeights,
    n_units: int,
    n_neg: int,
    limits: tuple[float, ...],
    min_threshold: float | None,
) -> tuple[tuple[float, ...], int] | None:
    """Weighted ROC-type areas up to each limit (AU-PRO: weight 1 / region size), by one walk.

    Float32 scores only. The positives scored at or above ``min_threshold`` are kept (as
    ``_binary_counts`` keeps them), ordered stably by one sort of packed keys, while the
    negatives at or above the lowest of them are sorted; the walk adds each area, normalised by
    ``n_units`` (ordinates) and ``n_neg`` (abscissae), not divided by its limit. Returns the
    areas and the number of negatives at or above the lowest kept positive (what
    ``_pro._floor_holds`` checks); None when no positive is kept.
    """
    unit_w = as_unit_weights(pos_weights)
    n_pos = sum(int(np.count_nonzero(y)) for _, y in chunks)
    packed, kept_ix, _ = _packed_kept_positives(chunks, unit_w, n_pos, min_threshold)
    if packed.shape[0] == 0:
        return None
    low = float(float32_from_key(np.array([int(packed.min() >> np.uint64(32))]))[0])
    sort_method("float32"), sort_method("packed")  # chosen before the threads start
    neg_a, neg_b = _sorted_classes(
        chunks, lambda: sort_packed(packed), low, int(packed.shape[0]), n_neg
    )
    weights = _weights_in_order(packed, kept_ix, unit_w.table)
    del kept_ix
    areas = np.zeros(len(limits))
    lim = np.asarray(limits, np.float64)
    _walk_weighted_areas_kernel(
        packed, weights, neg_a, neg_b, float(n_neg), float(n_units), lim, areas
    )
    return tuple(float(a) for a in areas), int(neg_a.shape[0] + neg_b.shape[0])
