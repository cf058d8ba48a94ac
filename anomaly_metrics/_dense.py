"""Many positives (half the pixels in a defect): ROC areas from both classes sorted, one walk.

The counting primitive (:mod:`anomaly_metrics._counts`) sorts the positives and counts the
negatives into the gaps between their distinct scores. That is right when positives are rare
(a few per cent of the pixels, the usual case). When they are as many as the negatives, and
nearly all distinct, its per-level arrays (the levels, their counts, the per-thread tie and gap
counters, the cumulative counts: over 60 bytes per level) cost more than the scores themselves,
in memory and in first-touch page faults.

Here both classes are sorted and one walk from the highest positive score down meets each
distinct positive score, counts the negatives above it and tied with it, and adds the
trapezoids of the ROC polyline as it goes: nothing is stored per level. The scores are walked
in *slices* of their range, from the top: a few cut values (quantiles of a strided sample, so
that a slice holds about an eighth of the values, a tenth for AU-PRO's weighted walk) split
it, and each slice's positives and negatives are gathered and sorted (in two threads) and
walked, the walk's state (its sums, its last vertex, the counts above the slice) carried to
the next. So the sorted copies, and the radix sort's scratch arrays, hold one slice at a time:
a fraction of the scores, whatever the share of positives (on 100 half-defective 256 x 256
maps, peaks of 0.25x the maps for AUROC and 0.66x for AU-PRO, labelling included, against
2.0x and 2.1x walked whole; each slice costs a pass over the pixels). The vertices, and the arithmetic that adds them
(:func:`anomaly_metrics._integrate._polyline_step`), are those of
:func:`anomaly_metrics._integrate._polyline_area_kernel` on the counts, in the same order, so
the area is the same float to the last bit, whichever path a call takes and however the range
is sliced.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from numba import njit
from numpy.typing import NDArray

from ._counts import _GATHER_BLOCK as _GATHER_SLACK
from ._counts import _gather_in_range_kernel
from ._integrate import _polyline_step, _polyline_steps
from ._keys import FLOAT32_KEY_OFFSET, float32_of_key, order_key
from ._levels import UnitWeights, _weights_in_order, as_unit_weights
from ._parallel import run_tasks
from ._sorting import sort_method, sort_packed, sort_values

__all__: list[str] = []  # private: used by _ranking

#: Fewer values than this always take the counting primitive (threads do not pay below it).
DENSE_MIN_VALUES = 1 << 16
#: The walk is taken when the positives are at least this share of the negatives.
DENSE_POSITIVE_SHARE = 0.25
#: The scores' range is cut into at most this many slices (about this fraction each) ...
_MAX_SLICES = 8
#: ... of at least this many values each (fewer values: fewer slices, one below twice this).
_SLICE_MIN_VALUES = 1 << 19
_SAMPLE_VALUES = 1 << 16  # the strided sample whose quantiles cut the range
_WEIGHTED_SLICES = 10  # the weighted walk (AU-PRO): 28 bytes per positive, sort scratch included


def dense_pays(n_pos: int, n_neg: int) -> bool:
    """Whether :func:`dense_roc_area` beats the counting primitive for these class sizes."""
    return n_pos + n_neg >= DENSE_MIN_VALUES and n_pos >= DENSE_POSITIVE_SHARE * n_neg


@njit(cache=True, nogil=True)
def _walk_slice_kernel(pos, neg, n_neg, total, x_max, state):  # pragma: no cover - compiled
    """Walk one slice of the ROC polyline: ascending ``pos`` and ``neg``, the scores of the slice.

    The polyline of :func:`anomaly_metrics._integrate._polyline_area_kernel`: from (0, 0),
    each distinct positive score ``t`` (descending) adds the vertex (negatives above ``t``,
    positives above ``t``) and the vertex (negatives at or above ``t``, positives at or above
    ``t``); abscissae are divided by ``n_neg``, ordinates by ``total``; cut at ``x_max``. As
    there, a segment of no width is skipped (it adds exactly nothing). ``state`` carries the
    walk from the slice above to this one and on: ``(sum, compensation, x0, y0, negatives at
    the last vertex, negatives above the slice, positives above the slice, done)``; the
    counts are integers held exactly in float64. Returns True when ``x_max`` is reached.
    Inputs are not validated.
    """
    n_n = neg.shape[0]
    n_p = pos.shape[0]
    s, comp, x0, y0 = state[0], state[1], state[2], state[3]
    fp0 = np.int64(state[4])
    fp_above = np.int64(state[5])
    tp_above = np.int64(state[6])
    ip = n_p - 1
    i_n = n_n - 1
    while ip >= 0:
        t = pos[ip]  # compared in the values' own type: both classes share it, so it is exact
        for tie in range(2):  # the negatives above t (a horizontal segment), then its ties
            if tie == 0:
                while i_n >= 0 and neg[i_n] > t:
                    i_n -= 1
                y1 = y0
            else:
                while i_n >= 0 and neg[i_n] == t:
                    i_n -= 1
                while ip >= 0 and pos[ip] == t:
                    ip -= 1
                y1 = (tp_above + (n_p - 1 - ip)) / total
            fp = fp_above + (n_n - 1 - i_n)
            if fp != fp0:
                x1 = fp / n_neg
                s, comp, done = _polyline_step(s, comp, x0, y0, x1, y1, x_max)
                if done:
                    state[0], state[1], state[7] = s, comp, 1.0
                    return True
                x0 = x1
                fp0 = fp
            y0 = y1
    state[0], state[1], state[2], state[3] = s, comp, x0, y0
    state[4] = fp0
    state[5] = fp_above + n_n
    state[6] = tp_above + n_p
    return False


@njit(cache=True, nogil=True)
def _walk_weighted_slice_kernel(
    packed, weights, neg, n_neg, total, limits, sums, state
):  # pragma: no cover - compiled
    """:func:`_walk_slice_kernel` for weighted float32 positives, one area per limit.

    ``packed`` is the sorted ``key << 32 | rank`` of the slice's kept positives and
    ``weights[i]`` the weight of ``packed[i]`` (``_levels._packed_kept_positives``,
    ``_levels._weights_in_order``): a level's weight is summed in rank order, then added to the
    running total, as ``_cumulate`` sums them, so each area is that of ``_polyline_area_kernel``
    on the weighted counts, bit for bit. ``sums[q]`` holds ``(sum, compensation, passed)`` of
    the area up to ``limits[q]``; ``state`` is ``(limits left, x0, y0, negatives at the last
    vertex, negatives above the slice, weight above the slice, any level seen)``. Returns True
    when every limit is passed. Inputs are not validated.
    """
    left = np.int64(state[0])
    x0, y0 = state[1], state[2]
    fp0 = np.int64(state[3])
    fp_above = np.int64(state[4])
    tpw = state[5]
    first = state[6] == 0.0
    n_n = neg.shape[0]
    ip = packed.shape[0] - 1
    i_n = n_n - 1
    while ip >= 0 and left > 0:
        key = packed[ip] >> np.uint64(32)
        t = float32_of_key(key)  # the scores are float32 too: compared exactly
        while i_n >= 0 and neg[i_n] > t:
            i_n -= 1
        fp = fp_above + (n_n - 1 - i_n)
        if fp != fp0:
            x1 = fp / n_neg
            left -= _polyline_steps(sums, x0, y0, x1, y0, limits)
            x0 = x1
            fp0 = fp
        while i_n >= 0 and neg[i_n] == t:
            i_n -= 1
        lo = ip
        while lo > 0 and (packed[lo - 1] >> np.uint64(32)) == key:
            lo -= 1
        level = 0.0
        for r in range(lo, ip + 1):
            level += weights[r]
        tpw = level if first else tpw + level
        first = False
        ip = lo - 1
        fp = fp_above + (n_n - 1 - i_n)
        y1 = tpw / total
        if fp != fp0:
            x1 = fp / n_neg
            left -= _polyline_steps(sums, x0, y0, x1, y1, limits)
            x0 = x1
            fp0 = fp
        y0 = y1
    state[0], state[1], state[2], state[3] = left, x0, y0, fp0
    state[4] = fp_above + n_n
    state[5] = tpw
    state[6] = 0.0 if first else 1.0
    return left == 0


@njit(cache=True, nogil=True)
def _packed_slice_kernel(
    values, labels, lo, hi, index, start, j, packed, kept_ix, k
):  # pragma: no cover - compiled
    """The positives of one chunk within ``[lo, hi]`` (float64) as ``_kept_positives_kernel``
    packs them: ``packed[k] = key << 32 | k`` and ``kept_ix[k] = index[j]`` (``j`` itself
    when ``index`` is empty) for positive ``j`` (counted over all chunks), from ``values[start]``
    on. Returns ``(i, j, k)``: where it stopped (``values.shape[0]`` at the end; earlier when
    ``packed`` is full, to be called again from there with longer arrays).

    For a slice of the range, where most positives are not kept: blocks of 1024 values, a
    first loop that the compiler vectorises (the keep flags), a second that counts the
    positives and stores only the kept ones. Inputs are not validated.
    """
    n = values.shape[0]
    cap = packed.shape[0]
    flags = labels.view(np.uint8)
    indexed = index.shape[0] > 0
    keep = np.empty(1024, np.uint8)
    i = start
    while i < n:
        size = min(n - i, 1024)
        block = values[i : i + size]
        mine = flags[i : i + size]
        for t in range(size):
            x = np.float64(block[t])
            keep[t] = mine[t] & (x >= lo) & (x <= hi)
        for t in range(size):
            if keep[t]:
                if k == cap:
                    return i + t, j, k
                key = order_key(np.float32(block[t]).view(np.int32), 31) + FLOAT32_KEY_OFFSET
                packed[k] = (np.uint64(key) << np.uint64(32)) | np.uint64(k)
                kept_ix[k] = index[j] if indexed else j
                k += 1
            j += mine[t]
        i += size
    return n, j, k


@njit(cache=True, nogil=True)
def _class_range_kernel(values, labels, which, low, high, out):  # pragma: no cover - compiled
    """``out`` (min, max, count) updated with the values labelled ``which`` in ``[low, high]``
    (compared in float64)."""
    lo, hi, n = out[0], out[1], out[2]
    for i in range(values.shape[0]):
        if labels[i] == which:
            x = np.float64(values[i])
            if x >= low and x <= high:
                lo = min(lo, x)
                hi = max(hi, x)
                n += 1.0
    out[0], out[1], out[2] = lo, hi, n


def _class_range(
    chunks: list[tuple[NDArray[Any], NDArray[np.bool_]]], which: bool, low: float, high: float
) -> tuple[float, float, int]:
    """The lowest and highest value labelled ``which`` in ``[low, high]``, and how many (one pass)."""
    out = np.array([np.inf, -np.inf, 0.0])
    for values, labels in chunks:
        _class_range_kernel(values, np.ascontiguousarray(labels), which, low, high, out)
    return float(out[0]), float(out[1]), int(out[2])


class _Slice(NamedTuple):
    """One slice ``[lo, hi]`` of the scores (float64, inclusive) and how many of each class it
    is expected to hold (from the sample: buffers start this long and grow if they must)."""

    lo: float
    hi: float
    negatives: int
    positives: int


def _slice_bounds(
    chunks: list[tuple[NDArray[Any], NDArray[np.bool_]]],
    low: float,
    high: float,
    max_slices: int = _MAX_SLICES,
) -> list[_Slice]:
    """The slices (descending) that cover ``[low, inf]``, with the expected size of each class.

    Cut at quantiles of a strided sample of the scores in ``[low, high]``: about one value in
    ``max_slices`` each for a large input, one slice for a small one. ``hi`` of a slice is the
    float64 just below the ``lo`` of the slice above, so every value lies in exactly one slice
    and equal values in the same one.
    """
    total = sum(int(v.shape[0]) for v, _ in chunks)
    n_slices = min(max_slices, total // _SLICE_MIN_VALUES)
    if n_slices <= 1:
        return [_Slice(low, np.inf, total, total)]
    step = max(1, total // _SAMPLE_VALUES)
    parts, flags, start = [], [], 0
    for values, labels in chunks:  # every step-th value of the concatenation
        first = (-start) % step
        parts.append(values[first::step])
        flags.append(labels[first::step])
        start += values.shape[0]
    sample = np.concatenate(parts).astype(np.float64)
    sample_labels = np.concatenate(flags)
    inside = (sample > low) & (sample <= high)
    cuts: list[float] = []
    if inside.any():
        q = np.arange(1, n_slices) / n_slices
        cuts = sorted(set(np.quantile(sample[inside], q, method="lower").tolist()))
    slices = []
    top = np.inf  # the top slice takes every score above: negatives above the highest positive
    for lo in [*reversed(cuts), low]:  # descending; each cut is the lowest value of its slice
        mine = (sample >= lo) & (sample <= top)
        n_p = int(np.count_nonzero(mine & sample_labels))
        n_n = int(np.count_nonzero(mine)) - n_p
        # a quarter more than the sample says, and some: rarely does a buffer grow
        slices.append(_Slice(lo, top, (n_n * step * 5) // 4 + 4096, (n_p * step * 5) // 4 + 4096))
        top = float(np.nextafter(lo, -np.inf))
    return slices


def _gather_sorted(
    chunks: list[tuple[NDArray[Any], NDArray[np.bool_]]],
    which: bool,
    lo: float,
    hi: float,
    size: int,
) -> NDArray[Any]:
    """The values labelled ``which`` within ``[lo, hi]`` (float64), gathered and sorted.

    The buffer starts at ``size`` values (pages never written take no memory) and doubles
    when it fills before the end.
    """
    dtype = np.result_type(*(v.dtype for v, _ in chunks))
    buf = np.empty(max(1, size) + _GATHER_SLACK, dtype)  # (the gather's blocks store every value)
    outside = np.zeros(2, np.int64)
    k = 0
    for values, labels in chunks:
        i = 0
        while i < values.shape[0]:
            i, k = _gather_in_range_kernel(values, labels, which, lo, hi, i, buf, k, outside)
            if i < values.shape[0]:  # full before the end: a buffer twice as long
                bigger = np.empty(2 * buf.shape[0] + _GATHER_SLACK, dtype)
                bigger[:k] = buf[:k]
                buf = bigger
    part = buf[:k]
    sort_values(part)
    return part


def dense_roc_area(
    chunks: list[tuple[NDArray[Any], NDArray[np.bool_]]], n_pos: int, n_neg: int, x_max: float
) -> float:
    """The ROC area up to ``x_max`` (``inf``: all of it) of checked flat batches, by one walk.

    ``n_pos`` / ``n_neg`` are the class sizes, both positive. Slice by slice of the scores at
    or above the lowest positive (:func:`_slice_bounds`), from the top, the positives are
    gathered and sorted in one thread while the negatives are in another, and
    :func:`_walk_slice_kernel` carries the walk on. The float is that of the counting
    primitive's counts through ``_polyline_area_kernel``.
    """
    low, high, _ = _class_range(chunks, True, -np.inf, np.inf)
    sort_method("float32")  # chosen (timed once per process) before the threads start
    state = np.zeros(8)
    for sl in _slice_bounds(chunks, low, high):
        pos, neg = run_tasks(
            lambda w, sl=sl: _gather_sorted(
                chunks, w, sl.lo, sl.hi, sl.positives if w else sl.negatives
            ),
            [True, False],
        )
        if _walk_slice_kernel(pos, neg, float(n_neg), float(n_pos), x_max, state):
            return float(state[0] + state[1])
        del pos, neg
    s, comp, x0, y0 = state[0], state[1], state[2], state[3]
    x1 = n_neg / n_neg
    if x1 != x0:
        s, comp, _ = _polyline_step(s, comp, x0, y0, x1, n_pos / float(n_pos), x_max)
    return float(s + comp)


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
    ``_binary_counts`` keeps them); slice by slice from the top (:func:`_slice_bounds`), the
    slice's kept positives are ordered stably by one sort of packed keys in one thread while its
    negatives are sorted in another, and :func:`_walk_weighted_slice_kernel` carries the walk
    on. Each area is normalised by ``n_units`` (ordinates) and ``n_neg`` (abscissae), not
    divided by its limit. Returns the areas and the number of negatives at or above the lowest
    kept positive (what ``_pro._floor_holds`` checks); None when no positive is kept.
    """
    unit_w = as_unit_weights(pos_weights)
    n_pos = sum(int(np.count_nonzero(y)) for _, y in chunks)
    floor = -np.inf if min_threshold is None else float(min_threshold)
    low, high, n_kept = _class_range(chunks, True, floor, np.inf)
    if n_kept == 0:
        return None
    sort_method("float32"), sort_method("packed")  # chosen before the threads start
    lim = np.asarray(limits, np.float64)
    sums = np.zeros((len(limits), 3))
    state = np.array([float(len(limits)), 0.0, 0.0, 0.0, 0.0, 0.0, 0.0])

    def positives(sl: _Slice) -> tuple[NDArray[np.uint64], NDArray[np.float64]]:
        # the slice's kept positives: arrays of the expected size, doubled if they must be
        wide = n_pos >= 1 << 31 or unit_w.index.dtype != np.int32
        packed = np.empty(min(sl.positives, n_kept), np.uint64)
        kept_ix = np.empty(packed.shape[0], np.int64 if wide else np.int32)
        j = k = 0
        for values, labels in chunks:
            labels = np.ascontiguousarray(labels)
            i = 0
            while i < values.shape[0]:
                i, j, k = _packed_slice_kernel(
                    values, labels, sl.lo, sl.hi, unit_w.index, i, j, packed, kept_ix, k
                )
                if i < values.shape[0]:
                    packed = np.concatenate((packed[:k], np.empty(k + 1, np.uint64)))
                    kept_ix = np.concatenate((kept_ix[:k], np.empty(k + 1, kept_ix.dtype)))
        packed = packed[:k]
        sort_packed(packed)
        return packed, _weights_in_order(packed, kept_ix, unit_w.table)

    counted = 0  # the negatives at or above the lowest kept positive
    # more slices than the unweighted walk: the positives' packed keys, ranks and weights take
    # 28 bytes each with the sort's scratch
    slices = _slice_bounds(chunks, low, high, _WEIGHTED_SLICES)
    for sl in slices:
        if state[0] == 0:  # every limit passed: the slices left are only counted, in one pass
            counted += _class_range(chunks, False, low, sl.hi)[2]
            break
        (packed, weights), neg = run_tasks(
            lambda task, sl=sl: (
                positives(sl)
                if task == 0
                else _gather_sorted(chunks, False, sl.lo, sl.hi, sl.negatives)
            ),
            [0, 1],
        )
        _walk_weighted_slice_kernel(
            packed, weights, neg, float(n_neg), float(n_units), lim, sums, state
        )
        counted += neg.shape[0]
        del packed, weights, neg
    left, x0, y0, tpw = int(state[0]), state[1], state[2], state[5]
    x1 = n_neg / n_neg
    if left > 0 and x1 != x0:
        _polyline_steps(sums, x0, y0, x1, tpw / float(n_units), lim)
    return tuple(float(sums[q, 0] + sums[q, 1]) for q in range(len(limits))), counted
