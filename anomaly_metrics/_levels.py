"""The distinct levels of the positives: sorted, their ties merged, their weights summed.

The counting primitive (:mod:`anomaly_metrics._counts`) counts the negatives into the gaps and
ties of the positives' distinct scores; this module makes those levels. Unweighted positives
are sorted by value and merged (:func:`_merge_distinct_kernel`). Weighted ones (AU-PRO's
``1 / region size``) are ordered stably, so that the weights of a tie are summed in pixel order
and every path (in memory, batched, out of core) gives the same float to the last bit; float32
positives get that order from one plain sort of ``key << 32 | rank`` (:func:`_packed_order`,
:func:`_weighted_float32_levels`) instead of an argsort.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from numba import njit
from numpy.typing import NDArray

from ._keys import FLOAT32_KEY_OFFSET, float32_of_key, order_key
from ._sorting import sort_packed

__all__: list[str] = []  # private: used by _counts, _dense, _pro and _chunked_counts


@njit(cache=True, nogil=True)
def _merge_distinct_kernel(pos, pos_w, neg):  # pragma: no cover - compiled
    """Merge two ascending sorted arrays into distinct values with per-class counts.

    ``pos_w`` holds one weight per element of ``pos`` (empty for unit weights: the returned
    weights are then empty too, as are the negative counts when ``neg`` is). A loop because a
    merge with run-length collapse of two sorted arrays has no vectorised NumPy form that avoids
    concatenating and sorting again. A first walk counts the distinct values, so that the outputs
    take 8 bytes per distinct value each, not per input value. Inputs are not validated; call
    through `_binary_counts`.
    """
    n_p = pos.shape[0]
    n_n = neg.shape[0]
    with_weights = pos_w.shape[0] == n_p  # (also when there is no positive at all)
    weighted = with_weights and n_p > 0
    m = 0
    i = 0
    j = 0
    last = 0.0
    while i < n_p or j < n_n:
        if j >= n_n or (i < n_p and np.float64(pos[i]) <= np.float64(neg[j])):
            v = np.float64(pos[i])
            i += 1
        else:
            v = np.float64(neg[j])
            j += 1
        if m == 0 or v != last:
            m += 1
            last = v
    values = np.empty(m, np.float64)
    n_pos = np.zeros(m, np.int64)
    w_pos = np.zeros(m if with_weights else 0, np.float64)  # only what is asked for: at a million
    n_neg = np.zeros(m if n_n > 0 else 0, np.int64)  # distinct scores, each is 8 MB to fill
    i = 0
    j = 0
    k = -1
    while i < n_p or j < n_n:
        if j >= n_n or (i < n_p and np.float64(pos[i]) <= np.float64(neg[j])):
            v = np.float64(pos[i])
            if k < 0 or v != last:
                k += 1
                values[k] = v
                last = v
            n_pos[k] += 1
            if weighted:
                w_pos[k] += pos_w[i]
            i += 1
        else:
            v = np.float64(neg[j])
            if k < 0 or v != last:
                k += 1
                values[k] = v
                last = v
            n_neg[k] += 1
            j += 1
    return values, n_pos, w_pos, n_neg


def _packed_order(values: NDArray[np.float32]) -> NDArray[np.uint64]:
    """Sorted ``key << 32 | index`` of float32 ``values`` (fewer than 2**32): the stable order.

    Each float32 becomes its order key (:mod:`anomaly_metrics._keys`: ``-0.0`` and ``0.0`` tie,
    as they compare equal) in the high 32 bits and its index in the low 32, so that a plain sort
    (no indirection; :func:`~anomaly_metrics._sorting.sort_packed`) gives ``argsort(kind="stable")``.
    """
    bits = values.view(np.int32).astype(np.int64)
    keys = np.where(bits >= 0, bits, -(bits & 0x7FFFFFFF)) + (1 << 31)  # in [0, 2**32)
    packed = (keys.astype(np.uint64) << np.uint64(32)) | np.arange(values.shape[0], dtype=np.uint64)
    del bits, keys
    sort_packed(packed)
    return packed


def _stable_order(values: NDArray[Any]) -> NDArray[np.intp]:
    """``np.argsort(values, kind="stable")``, faster for float32 (:func:`_packed_order`)."""
    if values.dtype != np.float32 or values.shape[0] >= 1 << 32:
        return np.argsort(values, kind="stable")
    return (_packed_order(values) & np.uint64(0xFFFFFFFF)).astype(np.intp)


@njit(cache=True, nogil=True)
def _kept_positives_kernel(
    values, labels, threshold, out, index, j, packed, kept_ix, k, zero_sign
):  # pragma: no cover - compiled
    """Extract the positives of one chunk with ``float64(value) >= threshold``; return ``(j, k)``.

    One pass with no temporaries (NumPy needs a boolean index, then a comparison and a second
    index for the floor), skipping 8 labels at a time where there is no positive: most words
    of the labels hold none. Positive ``j`` (counted over all chunks) that is kept becomes the
    ``k``-th kept one:

    * without ``packed`` (empty): ``out[k] = value``;
    * with it (float32 values): ``packed[k] = key << 32 | k`` (its order key,
      :mod:`anomaly_metrics._keys`, and its rank) and ``kept_ix[k] = index[j]`` (``j`` itself
      when ``index`` is empty): where its weight is (:class:`UnitWeights`);
      ``zero_sign[0]`` records the sign bit of the first kept zero (-1 while there is none):
      ``-0.0`` and ``0.0`` share a key, and the level they make is written as the first of them.

    The outputs need one place more than the positives: a label that is not kept is stored
    where the next kept one goes. Inputs are not validated.
    """
    n = values.shape[0]
    keyed = packed.shape[0] > 0
    indexed = index.shape[0] > 0
    last = index.shape[0] - 1
    words = labels[: n - n % 8].view(np.uint64)
    n_words = words.shape[0]
    for w in range(n_words + 1):  # (a for loop: a while loop here measured 2x slower)
        if w < n_words:
            if words[w] == 0:
                continue
            first, stop = 8 * w, 8 * w + 8
        else:
            first, stop = 8 * w, n  # the last n % 8 labels
        # every label of the word is stored at k, which only a kept positive advances: no
        # branch on the labels (measured 40 % faster than branching on each)
        if keyed:
            for i in range(first, stop):
                x = values[i]
                positive = labels[i]
                keep = positive & (np.float64(x) >= threshold)
                bits = np.float32(x).view(np.int32)
                key = order_key(bits, 31) + FLOAT32_KEY_OFFSET
                packed[k] = (np.uint64(key) << np.uint64(32)) | np.uint64(k)
                kept_ix[k] = index[min(j, last)] if indexed else j
                if x == 0 and keep and zero_sign[0] < 0:  # (x == 0 first: rarely true)
                    zero_sign[0] = 1 if bits < 0 else 0
                k += keep
                j += positive
        else:
            for i in range(first, stop):
                x = values[i]
                out[k] = x
                k += labels[i] & (np.float64(x) >= threshold)
    return j, k


def _kept_positives(
    chunks: list[tuple[NDArray[Any], NDArray[np.bool_]]], n_pos: int, min_threshold: float | None
) -> NDArray[Any]:
    """``concatenate([s[y] for s, y in chunks])``, only values ``>= min_threshold`` (float64).

    ``n_pos`` is the number of positives of all chunks. One pass per chunk
    (:func:`_kept_positives_kernel`); the result is a fresh array, owned by the caller.
    """
    dtype = np.result_type(*(s.dtype for s, _ in chunks))
    out = np.empty(n_pos + 1, dtype)  # (+ 1: see the kernel)
    threshold = -np.inf if min_threshold is None else float(min_threshold)
    none_ix, none_packed, none_sign = (
        np.empty(0, np.int32),
        np.empty(0, np.uint64),
        np.empty(1, np.int64),
    )
    k = 0
    for values, labels in chunks:
        _, k = _kept_positives_kernel(
            values,
            np.ascontiguousarray(labels),
            threshold,
            out,
            none_ix,
            0,
            none_packed,
            none_ix,
            k,
            none_sign,
        )
    return out[:k]


@njit(cache=True, nogil=True)
def _distinct_keys_kernel(packed, weights, negative_zero):  # pragma: no cover - compiled
    """Distinct values, counts and weight sums from sorted packed keys (:func:`_kept_positives_kernel`).

    Each level's value is decoded from its key (``-0.0`` when ``negative_zero``, for the key of
    zero); ``weights[i]`` belongs to ``packed[i]`` (:func:`_weights_in_order`), and the sums run
    in rank order within a level: the result is that of :func:`_merge_distinct_kernel` on the
    stably sorted kept values and weights, to the last bit. Inputs are not validated.
    """
    n = packed.shape[0]
    m = 0
    last = np.uint64(0)
    for i in range(n):
        key = packed[i] >> np.uint64(32)
        if i == 0 or key != last:
            m += 1
            last = key
    u = np.empty(m, np.float64)
    n_p = np.zeros(m, np.int64)
    w_p = np.zeros(m, np.float64)
    j = -1
    for i in range(n):
        key = packed[i] >> np.uint64(32)
        if j < 0 or key != last:
            j += 1
            last = key
            if key == FLOAT32_KEY_OFFSET and negative_zero:
                u[j] = -0.0
            else:
                u[j] = np.float64(float32_of_key(key))
        n_p[j] += 1
        w_p[j] += weights[i]
    return u, n_p, w_p


@njit(cache=True, nogil=True)
def _weights_in_order(packed, kept_ix, table):  # pragma: no cover - compiled
    """``table[kept_ix[rank]]`` for the rank in the low 32 bits of each ``packed``: the weights
    in the packed order.

    A loop with nothing else in it keeps many of its random loads in flight; the same loads
    inside a walk with unpredictable branches measured 3x slower. Inputs are not validated.
    """
    out = np.empty(packed.shape[0], np.float64)
    for i in range(packed.shape[0]):
        out[i] = table[kept_ix[np.int64(packed[i] & np.uint64(0xFFFFFFFF))]]
    return out


class UnitWeights(NamedTuple):
    """Positive ``j`` weighs ``table[index[j]]``: a weight per unit, not per pixel.

    AU-PRO's positives weigh ``1 / size`` of their region: ``index`` is the region of each
    (int32, one per positive), ``table`` the weight of each region. Kept this way, no array of
    one float64 per positive is made.
    """

    index: NDArray[np.integer]
    table: NDArray[np.float64]

    def per_positive(self) -> NDArray[np.float64]:
        """The weight of every positive (an array of one float64 each)."""
        return self.table[self.index]


def as_unit_weights(weights: NDArray[np.float64] | UnitWeights) -> UnitWeights:
    """``weights`` as :class:`UnitWeights` (an array of one weight per positive: an empty index
    stands for ``index[j] = j``)."""
    if isinstance(weights, UnitWeights):
        return weights
    return UnitWeights(np.zeros(0, np.int32), np.ascontiguousarray(weights, dtype=np.float64))


def _packed_kept_positives(
    chunks: list[tuple[NDArray[np.float32], NDArray[np.bool_]]],
    weights: UnitWeights,
    n_pos: int,
    min_threshold: float | None,
) -> tuple[NDArray[np.uint64], NDArray[np.integer], bool]:
    """``(packed, kept_ix, negative_zero)`` of the ``n_pos`` float32 positives ``>= min_threshold``.

    ``packed`` (not yet sorted; sorted, it is the stable order of the kept positives) holds
    ``key << 32 | rank`` per kept positive and ``kept_ix[rank]`` where its weight is in
    ``weights.table`` (:func:`_kept_positives_kernel`; :func:`_weights_in_order` reads them once
    ``packed`` is sorted); ``negative_zero`` tells whether the first kept zero is ``-0.0``.
    """
    packed = np.empty(n_pos + 1, np.uint64)  # (+ 1: see the kernel)
    wide = n_pos >= 1 << 31 or weights.index.dtype != np.int32
    kept_ix = np.empty(n_pos + 1, np.int64 if wide else np.int32)
    zero_sign = np.full(1, -1, np.int64)
    threshold = -np.inf if min_threshold is None else float(min_threshold)
    j = k = 0
    for values, labels in chunks:
        labels = np.ascontiguousarray(labels)  # (a view when it is already: the usual case)
        j, k = _kept_positives_kernel(
            values, labels, threshold, values[:0], weights.index, j, packed, kept_ix, k, zero_sign
        )
    return packed[:k], kept_ix, bool(zero_sign[0] == 1)


def _weighted_float32_levels(
    chunks: list[tuple[NDArray[np.float32], NDArray[np.bool_]]],
    weights: UnitWeights,
    n_pos: int,
    min_threshold: float | None,
) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.float64], int]:
    """Distinct levels, counts and weight sums of the kept float32 positives, and their number.

    The same as sorting ``scores[labels]`` (those ``>= min_threshold``) stably with their weights
    and merging the ties, bit for bit: the positives are packed with their rank into one uint64
    each (:func:`_packed_kept_positives`), sorted (no indirection: :func:`~anomaly_metrics._sorting.sort_packed`) and read back in order.
    """
    packed, kept_ix, negative_zero = _packed_kept_positives(chunks, weights, n_pos, min_threshold)
    sort_packed(packed)
    w_sorted = _weights_in_order(packed, kept_ix, weights.table)
    del kept_ix
    u, n_p, w_p = _distinct_keys_kernel(packed, w_sorted, negative_zero)
    return u, n_p, w_p, int(packed.shape[0])
