"""Scores of at most 16 bits (float16 maps, 8- and 16-bit integer maps): counted, never sorted.

A float16 or 8/16-bit integer score takes one of at most 65,536 values, so the statistic of the
counting primitive (:mod:`anomaly_metrics._counts`: positives, their weight and negatives at
each distinct positive score) is a histogram: one pass over the pixels adds each to the bin of
its value, read through an order-preserving 16-bit code, and the levels, ties and gaps are read
off the bins. No copy of the scores (a float32 copy of float16 maps is twice their bytes), no
sort, one sequential pass, a table that stays in cache. MVTec AD 2 asks for float16 TIFFs.

The counts are those of the sort-based path, and so is each level's weight: positives are added
to their bin in input order, which is the stable order within a level, so the float sums are
the same, bit for bit (tested against the float32 path).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit
from numpy.typing import NDArray

from ._levels import UnitWeights

__all__ = ["NARROW_DTYPES", "all_finite_float16", "is_narrow", "narrow_levels"]

#: Score dtypes counted by value: every value has a bin.
NARROW_DTYPES = (np.float16, np.int8, np.uint8, np.int16, np.uint16)
_BINS = 1 << 16


def is_narrow(dtype: Any) -> bool:
    """Whether scores of ``dtype`` are counted by value here (at most 16 bits, not bool).

    >>> is_narrow(np.float16), is_narrow(np.uint8), is_narrow(np.float32)
    (True, True, False)
    """
    return np.dtype(dtype) in NARROW_DTYPES


def _codes(values: NDArray[Any]) -> tuple[NDArray[Any], int, bool]:
    """``(raw, offset, half)``: what the kernel reads and how it makes a value's 16-bit code.

    Integers: ``code = value + offset``; float16 (``half``): its bits, read as uint16.
    """
    if values.dtype == np.float16:
        return values.view(np.uint16), 0, True
    return values, -int(np.iinfo(values.dtype).min), False


@njit(cache=True, nogil=True, inline="always")
def _half_code(bits):  # pragma: no cover - compiled
    """Order-preserving code of float16 bits; ``-0.0`` and ``0.0`` share the code of ``0.0``."""
    if bits == np.uint16(0x8000):
        bits = np.uint16(0)
    if bits >> np.uint16(15):
        return np.int64(bits ^ np.uint16(0xFFFF))
    return np.int64(bits | np.uint16(0x8000))


@njit(cache=True, nogil=True)
def _value_counts_kernel(
    raw, labels, offset, half, index, table, j, n_p, w_p, n_n
):  # pragma: no cover - compiled
    """Add each value of one chunk to its bin: ``n_p`` / ``n_n`` (positives / negatives) and
    ``w_p`` (the positives' weight, ``table[index[j]]`` for positive ``j``; an empty ``index``
    stands for ``j`` itself, an empty ``table`` for no weights). Returns the positives counted
    so far (``j``). Inputs are not validated.
    """
    weighted = table.shape[0] > 0
    indexed = index.shape[0] > 0
    for i in range(raw.shape[0]):
        code = _half_code(raw[i]) if half else np.int64(raw[i]) + offset
        if labels[i]:
            n_p[code] += 1
            if weighted:
                w_p[code] += table[index[j]] if indexed else table[j]
            j += 1
        else:
            n_n[code] += 1
    return j


@njit(cache=True, nogil=True)
def _finite_half_kernel(bits):  # pragma: no cover - compiled
    """Whether no float16 (given as uint16 bits) is inf or NaN (exponent bits all set)."""
    bad = np.uint16(0)
    for i in range(bits.shape[0]):
        bad |= np.uint16((bits[i] & np.uint16(0x7C00)) == np.uint16(0x7C00))
    return bad == 0


def all_finite_float16(values: NDArray[np.float16]) -> bool:
    """Whether every float16 of ``values`` is finite, in one pass and no temporary.

    >>> all_finite_float16(np.array([1.0, -65504.0], np.float16))
    True
    >>> all_finite_float16(np.array([1.0, np.inf], np.float16))
    False
    """
    return bool(_finite_half_kernel(np.ascontiguousarray(values).reshape(-1).view(np.uint16)))


def _bin_values(dtype: np.dtype[Any]) -> NDArray[np.float64]:
    """The value (float64) of every bin of ``dtype`` (bins past an integer type's range: unused)."""
    code = np.arange(_BINS, dtype=np.int64)
    if dtype == np.float16:
        bits = np.where(code >= 0x8000, code ^ 0x8000, code ^ 0xFFFF).astype(np.uint16)
        return bits.view(np.float16).astype(np.float64)
    return (code - (-int(np.iinfo(dtype).min))).astype(np.float64)


def narrow_levels(
    chunks: list[tuple[NDArray[Any], NDArray[np.bool_]]],
    weights: UnitWeights | None,
    min_threshold: float | None,
) -> tuple[
    NDArray[np.float64],
    NDArray[np.int64],
    NDArray[np.float64] | None,
    NDArray[np.int64],
    NDArray[np.int64],
    int,
    int,
]:
    """``(u, n_p, w_p, eq, gap, n_pos, n_neg)`` of ``_counts._Levels`` for narrow scores.

    ``chunks`` are flat ``(values, labels)`` pairs of one narrow dtype; ``weights`` those of the
    positives in the order of ``values[labels]`` over all chunks (None: unweighted, ``w_p`` is
    None); positives below ``min_threshold`` (compared in float64) are dropped, as the sort-based
    path drops them. One pass; the result is that path's, count for count and bit for bit.
    """
    dtype = chunks[0][0].dtype
    n_p = np.zeros(_BINS, np.int64)
    n_n = np.zeros(_BINS, np.int64)
    w_bins = np.zeros(_BINS if weights is not None else 0, np.float64)
    if weights is None:
        index, table = np.zeros(0, np.int32), np.zeros(0, np.float64)
    else:
        index, table = weights.index, weights.table
    j = 0
    for values, labels in chunks:
        raw, offset, half = _codes(np.ascontiguousarray(values))
        j = _value_counts_kernel(
            raw, np.ascontiguousarray(labels), offset, half, index, table, j, n_p, w_bins, n_n
        )
    at = _bin_values(dtype)
    kept = n_p > 0
    if min_threshold is not None:
        kept &= at >= np.float64(min_threshold)
    levels = np.flatnonzero(kept)
    below = np.concatenate(([0], np.cumsum(n_n)))  # negatives in the bins before each
    # negatives strictly between consecutive levels: the bins after one level and before the next
    starts = np.concatenate(([0], levels + 1))
    ends = np.concatenate((levels, [_BINS]))
    gap = below[ends] - below[starts]
    return (
        at[levels],
        n_p[levels],
        w_bins[levels] if weights is not None else None,
        n_n[levels],
        gap,
        int(n_p[levels].sum()),
        int(n_n.sum()),
    )
