"""The counting primitive: positive mass and negatives at every distinct threshold.

Every curve of the library (ROC, PR, F1, PRO, the ranking areas) is post-processing of one
statistic: for each distinct *threshold* ``t`` (descending), how much positive mass and how many
negatives have ``score >= t``. :func:`_binary_counts` computes it in one of two modes:

``thresholds="all"``
    every distinct score is a threshold (the full curves of ``roc_curve`` and
    ``precision_recall_curve``, in ``_curves.py``): both classes are sorted (values only, no
    argsort) and merged.
``thresholds="positives"``
    only the distinct scores of the positives are thresholds. The positives are sorted (they are
    the rare class in pixel-level evaluation) and every negative is *counted* into the gap or tie
    of the sorted positives it falls in: gathered into a buffer, sorted a million at a time in
    cache and merged (see :func:`_count_into_gaps`). The areas under ROC, PR, PRO and the F1
    maximum only ever change at a positive score, so this mode gives them exactly, in a fraction
    of the time of a full sort.

Negatives are counted both with ``score >= t`` (``fp``) and ``score > t`` (``fp_above``), which
is all that is needed to draw the tie diagonals of the full curve between consecutive thresholds.
:func:`_binary_levels` gives the same statistic per level (the counts at and between the
ascending thresholds, :class:`_Levels`): the metrics read it without cumulating it (AUROC, AUPR,
F1, AU-PRO), and :func:`_cumulate` turns it into :class:`_Counts` for the curves. When positives
are many (half the pixels), AUROC and AU-PRO take ``_dense.py`` instead.
"""

from __future__ import annotations

from typing import Any, Literal, NamedTuple

import numpy as np
from numba import njit
from numpy.typing import NDArray

from ._levels import (
    UnitWeights,
    _kept_positives,
    _merge_distinct_kernel,
    _stable_order,
    _weighted_float32_levels,
    as_unit_weights,
)
from ._narrow import is_narrow, narrow_levels
from ._parallel import SCORES_PER_WORKER, cut_at_batches, num_workers, run_tasks, split_range
from ._search import tie_or_gap
from ._sorting import sort_method, sort_values

__all__: list[str] = []  # private: the public curves built on it are in _curves.py


class _Counts(NamedTuple):
    """Cumulative counts at each threshold, descending (the output of :func:`_binary_counts`)."""

    thresholds: NDArray[np.float64]  # (K,) distinct scores, descending
    tp: NDArray[np.int64]  # (K,) positives with score >= threshold
    fp: NDArray[np.int64]  # (K,) negatives with score >= threshold
    fp_above: NDArray[np.int64]  # (K,) negatives with score > threshold
    n_pos: int  # total positives
    n_neg: int  # total negatives
    tp_weight: NDArray[np.float64] | None = None  # (K,) positive weight with score >= threshold
    n_pos_weight: float = 0.0  # total positive weight


class _Levels(NamedTuple):
    """Per-threshold counts at the ascending distinct thresholds (see :func:`_cumulate`)."""

    u: NDArray[np.float64]  # (m,) ascending distinct thresholds
    n_p: NDArray[np.int64]  # (m,) positives equal to each
    w_p: NDArray[np.float64] | None  # (m,) their weight (weighted counts only)
    eq: NDArray[np.int64]  # (m,) negatives equal to each
    gap: NDArray[np.int64]  # (m + 1,) negatives strictly between consecutive thresholds
    n_pos: int
    n_neg: int


# Values counted per sort: the buffer is filled across input chunks before it is sorted (NumPy,
# its SIMD sort where the CPU has one) and merged with the levels in one forward walk. Each merge
# walks the levels once, so a fuller buffer means fewer walks: 2**20 measured ~25 % faster than
# 2**18 on the bench set's AUROC and ~40 % on AU-PRO's (whose buffer fills from a third of the
# pixels), for 4 MiB (float32) per thread. With many levels the buffer grows to
# _SORT_VALUES_PER_LEVEL values per level (at most _SORT_CHUNK_MAX): with NumPy's AVX-512 or
# AVX2 sort, 4 Mi values measured 5-15 % faster than 1 Mi on the bench set's AUROC and up to 20 %
# on AU-PRO's; with its scalar sort (NPY_DISABLE_CPU_FEATURES="X86_V3 X86_V4 ...") 5-10 % slower.
_SORT_CHUNK = 1 << 20
_GATHER_BLOCK = 1024  # values per block of the gather's two branch-free loops
_INT32_COUNTS_BELOW = 1 << 31  # a worker counting fewer values than this uses int32 counters
_SORT_CHUNK_MAX = 1 << 22  # with many levels: up to this many, _SORT_VALUES_PER_LEVEL per level
_SORT_VALUES_PER_LEVEL = 8
_BUFFER_SHARE = 4  # the sort buffers of all workers hold at most 1 / _BUFFER_SHARE of the values


@njit(cache=True, nogil=True)
def _gather_in_range_kernel(
    values, labels, which, lo, hi, start, buf, k, outside
):  # pragma: no cover
    """Append ``values[start:][labels == which]`` within ``[lo, hi]`` to ``buf[k:]`` until it is full.

    ``outside[0]`` += values below ``lo``, ``outside[1]`` += values above ``hi`` (compared in
    float64). Returns ``(i, k)``: where the walk stopped in ``values`` (``values.shape[0]`` when
    it reached the end) and how many values ``buf`` now holds. Blocks of 1024 values are done
    in two loops without branches: one that the compiler vectorises (the tests, the counts of
    values outside, a keep flag per value), one that stores every value and advances by its
    flag (measured 25-40 % faster than one branching loop; 2.2 -> 1.4 ns per value since the
    block is sliced and the stores unrolled). Inputs are not validated.
    """
    n = values.shape[0]
    cap = buf.shape[0]
    below = 0
    above = 0
    flags = labels.view(np.uint8)
    want = np.uint8(1 if which else 0)
    keep = np.empty(_GATHER_BLOCK, np.uint8)
    i = start
    while i < n and cap - k >= _GATHER_BLOCK:
        size = min(n - i, _GATHER_BLOCK)
        block = values[i : i + size]  # slices: the compiler then vectorises the first loop
        mine_block = flags[i : i + size]
        for t in range(size):
            x = np.float64(block[t])
            mine = mine_block[t] == want
            low = x < lo
            high = x > hi
            below += mine & low
            above += mine & high
            keep[t] = mine & (not low) & (not high)
        # every value is stored, the position advances by its flag; unsigned positions (no
        # negative-index check) four at a time: 35 % faster than one indexed store per step
        at = np.uint64(k)
        t = 0
        while t + 4 <= size:
            at1 = at + np.uint64(keep[t])
            at2 = at1 + np.uint64(keep[t + 1])
            at3 = at2 + np.uint64(keep[t + 2])
            buf[at] = block[t]
            buf[at1] = block[t + 1]
            buf[at2] = block[t + 2]
            buf[at3] = block[t + 3]
            at = at3 + np.uint64(keep[t + 3])
            t += 4
        while t < size:
            buf[at] = block[t]
            at += np.uint64(keep[t])
            t += 1
        k = np.int64(at)
        i += size
    while i < n and k < cap:  # the last places of the buffer, one value at a time
        if labels[i] == which:
            x = np.float64(values[i])
            if x < lo:
                below += 1
            elif x > hi:
                above += 1
            else:
                buf[k] = values[i]
                k += 1
        i += 1
    outside[0] += below
    outside[1] += above
    return i, k


@njit(cache=True, nogil=True)
def _merge_count_kernel(vals, u, eq, gap):  # pragma: no cover - compiled
    """Count ascending ``vals`` (all within ``[u[0], u[-1]]``) into the ties and gaps of ``u``.

    One forward walk over both: the level index only grows, found from the previous one by one
    step or by galloping (doubling steps, then a binary search), so a chunk much sparser than
    ``u`` costs a logarithm per value, not a walk over every level. The values of one gap or
    tie are counted in registers and added when the walk leaves the level: an increment of
    ``gap[j]`` per value would wait on the one before it (measured 1.5x slower on the bench
    set). Inputs are not validated.
    """
    n = vals.shape[0]
    m = u.shape[0]
    if n == 0:
        return
    j, _ = tie_or_gap(u, np.float64(vals[0]), 0, m)
    level = u[j]
    ties = 0  # values equal to u[j] since the walk reached it
    seen = 0  # values counted at u[j] (its ties and the gap below it)
    for i in range(n):
        x = np.float64(vals[i])
        if level < x:  # leave level j (j < m - 1: the values are at most u[m - 1])
            eq[j] += ties
            gap[j] += seen - ties
            ties = 0
            seen = 0
            if u[j + 1] >= x:
                j += 1
            else:
                step = 1
                hi = j + 1
                while hi < m and u[hi] < x:
                    j = hi
                    step <<= 1
                    hi = j + step
                if hi > m - 1:
                    hi = m - 1  # u[m - 1] >= x: the values lie within [u[0], u[m - 1]]
                j, _ = tie_or_gap(u, x, j + 1, hi)
            level = u[j]
        ties += level == x
        seen += 1
    eq[j] += ties
    gap[j] += seen - ties


def _sort_and_merge(
    part: NDArray[Any],
    u: NDArray[np.float64],
    eq: NDArray[np.int64],
    gap: NDArray[np.int64],
    scratch: NDArray[np.uint32] | None,
) -> None:
    """Sort ``part`` in place and count it into ``u``; ``scratch`` given: float32 by radix.

    Both sorts release the GIL (NumPy's and the compiled radix sort of :mod:`._sorting`).
    """
    if scratch is None:
        part.sort()
    else:
        sort_values(part, scratch, "radix")
    _merge_count_kernel(part, u, eq, gap)


def _count_span_into(
    pieces: list[tuple[NDArray[Any], NDArray[np.bool_]]],
    which: bool,
    u: NDArray[np.float64],
    eq: NDArray[Any],
    gap: NDArray[Any],
    dtype: Any,
    sort_chunk: int,
    method: str = "numpy",
) -> None:
    """One worker's share of :func:`_count_into_gaps`: count ``pieces`` into ``eq`` / ``gap``.

    The values of each ``(values, labels)`` piece whose label is ``which`` are gathered within
    ``[u[0], u[-1]]`` into a sort buffer of ``sort_chunk`` values (its size is chosen by the
    caller); each full buffer is sorted (float32 by ``method``: ``"numpy"`` or ``"radix"``,
    which needs a uint32 scratch array as long) and merged with ``u``; the values outside are
    added to ``gap[0]`` and ``gap[m]``. Inputs are not validated.
    """
    m = u.shape[0]
    lo, hi = float(u[0]), float(u[-1])
    n = sum(v.shape[0] for v, _ in pieces)
    buf = np.empty(max(1, min(sort_chunk, n)), dtype)
    radix = method == "radix" and buf.dtype == np.float32
    scratch = np.empty(buf.shape[0], np.uint32) if radix else None
    outside = np.zeros(2, np.int64)
    k = 0
    for values, labels in pieces:
        i = 0
        while i < values.shape[0]:
            i, k = _gather_in_range_kernel(values, labels, which, lo, hi, i, buf, k, outside)
            if k == buf.shape[0]:
                _sort_and_merge(buf, u, eq, gap, scratch)
                k = 0
    if k:
        _sort_and_merge(buf[:k], u, eq, gap, scratch)
    gap[0] += outside[0]
    gap[m] += outside[1]


def _count_into_gaps(
    chunks: list[tuple[NDArray[Any], NDArray[np.bool_]]], which: bool, u: NDArray[np.float64]
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Tie and gap counts of ``values[labels == which]`` against ascending distinct ``u``.

    ``chunks`` are ``(values, labels)`` pairs of flat arrays (one pair, or consecutive batches
    that are never concatenated). Each worker thread takes an equal span of the concatenation
    gathers the values within ``[u[0], u[-1]]`` (those outside only counted) into a buffer of
    at least :data:`_SORT_CHUNK` values (more with many levels, the workers' buffers together
    at most a quarter of the values), across chunks; each full buffer is sorted (NumPy) and merged with
    ``u`` in one forward walk: a few
    sequential passes, no random access into tables, whatever the values' layout (heavy tails,
    signed scores, massive ties). The counts are integers, so any split gives the same result.
    """
    m = u.shape[0]
    total = sum(v.shape[0] for v, _ in chunks)
    workers = num_workers(total, SCORES_PER_WORKER)
    # each worker counts one contiguous span of the (virtual) concatenation into its own
    # accumulators, so that there are as many count arrays to add as workers, not as chunks
    cuts = split_range(total, workers)
    spans = [
        [(chunks[b][0][a:z], chunks[b][1][a:z]) for b, a, z in pieces]
        for pieces in cut_at_batches(cuts, [v.shape[0] for v, _ in chunks])
    ]
    dtype = np.result_type(*(v.dtype for v, _ in chunks))
    # with many levels, larger sorts pay (each merge walks the levels once); the workers'
    # buffers together hold at most a quarter of the values (many threads: smaller buffers)
    sort_chunk = max(
        _SORT_CHUNK,
        min(_SORT_VALUES_PER_LEVEL * m, _SORT_CHUNK_MAX, total // (_BUFFER_SHARE * workers)),
    )
    method = sort_method("float32") if dtype == np.float32 else "numpy"
    if method == "radix":  # its scratch array doubles the buffer: half as many values each
        sort_chunk = max(_SORT_CHUNK // 2, sort_chunk // 2)

    def run(
        pieces: list[tuple[NDArray[Any], NDArray[np.bool_]]],
    ) -> tuple[NDArray[Any], NDArray[Any]]:
        n = sum(v.shape[0] for v, _ in pieces)
        # a worker counts fewer than 2**31 values: int32 counters cannot overflow, and take half
        # the cache of int64 ones in the merge's writes; the workers' sum is int64
        counter = np.int32 if n < _INT32_COUNTS_BELOW else np.int64
        eq_c = np.zeros(m, counter)
        gap_c = np.zeros(m + 1, counter)
        _count_span_into(pieces, which, u, eq_c, gap_c, dtype, sort_chunk, method)
        return eq_c, gap_c

    parts = [run(spans[0])] if len(spans) == 1 else run_tasks(run, spans)
    eq, gap = parts[0][0].astype(np.int64), parts[0][1].astype(np.int64)
    for eq_c, gap_c in parts[1:]:
        eq += eq_c
        gap += gap_c
    return eq, gap


def _binary_counts(
    scores: NDArray[Any] | list[NDArray[Any]],
    labels: NDArray[np.bool_] | list[NDArray[np.bool_]],
    *,
    pos_weights: NDArray[np.float64] | UnitWeights | None = None,
    thresholds: Literal["all", "positives"] = "positives",
    min_threshold: float | None = None,
) -> _Counts:
    """Cumulative positive mass and negative counts at each distinct threshold, descending.

    :func:`_cumulate` of :func:`_binary_levels` (same arguments).
    """
    return _cumulate(
        *_binary_levels(
            scores,
            labels,
            pos_weights=pos_weights,
            thresholds=thresholds,
            min_threshold=min_threshold,
        )
    )


def _binary_levels(
    scores: NDArray[Any] | list[NDArray[Any]],
    labels: NDArray[np.bool_] | list[NDArray[np.bool_]],
    *,
    pos_weights: NDArray[np.float64] | UnitWeights | None = None,
    thresholds: Literal["all", "positives"] = "positives",
    min_threshold: float | None = None,
) -> _Levels:
    """Positive mass and negative counts at and between the distinct thresholds, ascending.

    Parameters
    ----------
    scores, labels : ndarray of shape (n,), or lists of them
        Checked, flat scores (float32 or float64; or, for ``"positives"``, the narrow dtypes of
        :mod:`anomaly_metrics._narrow`, counted by value) and bool labels; or lists of such arrays,
        consecutive batches that are treated as their concatenation without being copied
        into one array (same counts, same result).
    pos_weights : ndarray of shape (n_pos,), or UnitWeights, optional
        A weight per positive, in the order of ``scores[labels]`` (AU-PRO: 1 / region size,
        best given as :class:`~anomaly_metrics._levels.UnitWeights`: region ids and a weight
        per region, so that no array of a float64 per positive is made).
        With it the result also carries the cumulative weight ``tp_weight`` (and the total
        ``n_pos_weight``) beside the counts, so one pass serves AUROC and AU-PRO alike.
    thresholds : {"positives", "all"}
        Which distinct scores become thresholds (see the module docstring).
    min_threshold : float, optional
        ``"positives"`` mode only: positives scored below it (compared in float64) are dropped
        first. Counts at every remaining threshold stay exact (negatives below the lowest one are
        counted below it, without a search), ``n_pos`` / ``n_pos_weight`` are the totals of the
        kept positives and ``n_neg`` the total of all negatives, so the polyline ends with a
        horizontal segment. Exact for an area cut at an FPR that the curve passes above
        `min_threshold` (AU-PRO skips the bulk of the background this way).

    Inputs are not validated; call through a public function.
    """
    chunks = list(zip(scores, labels)) if isinstance(scores, list) else [(scores, labels)]
    if thresholds == "positives" and all(is_narrow(s.dtype) for s, _ in chunks):
        # float16 / 8- and 16-bit integer scores: a histogram by value, one pass, no sort
        unit = as_unit_weights(pos_weights) if pos_weights is not None else None
        u, n_p, w_p, eq, gap, n_pos, n_neg = narrow_levels(chunks, unit, min_threshold)
        return _Levels(u, n_p, w_p, eq, gap, n_pos, n_neg)
    n_pos_total = sum(int(np.count_nonzero(y)) for _, y in chunks)
    n_neg_total = sum(int(y.size) for _, y in chunks) - n_pos_total
    if (
        pos_weights is not None
        and thresholds == "positives"
        and all(s.dtype == np.float32 for s, _ in chunks)
        and n_pos_total < 1 << 32
    ):
        # weighted float32 positives (AU-PRO, AU-sPRO, evaluate): extracted, floored, keyed and
        # weighted in one pass, their distinct levels read from the packed order
        unit_w = as_unit_weights(pos_weights)
        u, n_p, w_p, n_pos = _weighted_float32_levels(chunks, unit_w, n_pos_total, min_threshold)
        if u.shape[0] == 0:
            eq, gap = np.zeros(0, np.int64), np.array([n_neg_total], np.int64)
        else:
            eq, gap = _count_into_gaps(chunks, False, u)
        return _Levels(u, n_p, w_p, eq, gap, n_pos, n_neg_total)
    if isinstance(pos_weights, UnitWeights):
        pos_weights = pos_weights.per_positive()
    weighted = pos_weights is not None
    if not weighted:  # one pass, the floor included
        pos = _kept_positives(chunks, n_pos_total, min_threshold)
    else:
        pos = chunks[0][0][chunks[0][1]]
        if len(chunks) > 1:
            pos = np.concatenate([s[y] for s, y in chunks])
        if min_threshold is not None:
            kept = pos >= np.float64(min_threshold)
            pos = pos[kept]
            pos_weights = pos_weights[kept]  # type: ignore[index]
    n_pos = int(pos.size)
    if weighted:
        order = _stable_order(pos)
        pos = pos[order]
        w = np.ascontiguousarray(pos_weights[order], dtype=np.float64)  # type: ignore[index]
    else:
        sort_values(pos)  # a fresh array (boolean indexing copies): sorted in place
        w = np.empty(0, np.float64)
    if thresholds == "all":
        negs = [s[~y] for s, y in chunks]
        neg = np.sort(negs[0] if len(negs) == 1 else np.concatenate(negs))
        u, n_p, w_p, eq = _merge_distinct_kernel(pos, w, neg)
        if eq.shape[0] != u.shape[0]:  # no negative at all
            eq = np.zeros(u.shape[0], np.int64)
        gap = np.zeros(u.shape[0] + 1, np.int64)
    else:
        u, n_p, w_p, _ = _merge_distinct_kernel(pos, w, pos[:0])
        if u.shape[0] == 0:
            eq = np.zeros(0, np.int64)
            gap = np.array([n_neg_total], np.int64)
        else:
            eq, gap = _count_into_gaps(chunks, False, u)
    return _Levels(u, n_p, w_p if weighted else None, eq, gap, n_pos, n_neg_total)


def _cumulate(
    u: NDArray[np.float64],
    n_p: NDArray[Any],
    w_p: NDArray[np.float64] | None,
    eq: NDArray[Any],
    gap: NDArray[Any],
    n_pos: Any,
    n_neg: Any,
) -> _Counts:
    """:class:`_Counts` from per-threshold counts at the ascending distinct thresholds ``u``.

    ``n_p`` (and ``w_p``, the positive weight) are the positives equal to each threshold, ``eq``
    the negatives equal to it and ``gap`` the negatives strictly between consecutive thresholds
    (``gap[0]`` below ``u[0]``, never used). The counts may be float64 sums of per-image counts
    weighted by how many times each image is drawn (the bootstrap's resamples). Inputs are not
    validated.
    """
    m = u.shape[0]
    counts = np.result_type(eq.dtype, gap.dtype)
    thresholds = np.empty(m, u.dtype)
    tp = np.empty(m, n_p.dtype)
    fp = np.empty(m, counts)
    fp_above = np.empty(m, counts)
    tp_weight = np.empty(m, np.float64) if w_p is not None else None
    _cumulate_kernel(
        u,
        n_p,
        w_p if w_p is not None else np.empty(0, np.float64),
        eq.astype(counts, copy=False),
        gap.astype(counts, copy=False),
        thresholds,
        tp,
        fp,
        fp_above,
        tp_weight if tp_weight is not None else np.empty(0, np.float64),
    )
    n_pos_weight = float(tp_weight[-1]) if tp_weight is not None and tp_weight.size else 0.0
    return _Counts(thresholds, tp, fp, fp_above, n_pos, n_neg, tp_weight, n_pos_weight)


@njit(cache=True, nogil=True)
def _cumulate_kernel(
    u, n_p, w_p, eq, gap, thresholds, tp, fp, fp_above, tp_weight
):  # pragma: no cover
    """The cumulative sums of :func:`_cumulate`, descending, in one pass and no temporaries.

    The sums are sequential, as ``np.cumsum``'s, so the results are those of the NumPy
    expressions ``cumsum(n_p[::-1])``, ``cumsum(gap[:0:-1] + eq[::-1])`` (minus ``eq[::-1]``
    for ``fp_above``) and ``cumsum(w_p[::-1])`` to the last bit. ``tp_weight`` is filled only
    when it has one entry per threshold. Inputs are not validated.
    """
    m = u.shape[0]
    weighted = tp_weight.shape[0] == m and m > 0
    for k in range(m):
        j = m - 1 - k
        thresholds[k] = u[j]
        if k == 0:
            tp[k] = n_p[j]
            fp[k] = gap[j + 1] + eq[j]
            if weighted:
                tp_weight[k] = w_p[j]
        else:
            tp[k] = tp[k - 1] + n_p[j]
            fp[k] = fp[k - 1] + (gap[j + 1] + eq[j])
            if weighted:
                tp_weight[k] = tp_weight[k - 1] + w_p[j]
        fp_above[k] = fp[k] - eq[j]
