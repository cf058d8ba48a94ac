"""Sorting float32 scores and packed keys: NumPy's sort or a radix sort, whichever is faster here.

The counting primitive, the dense ROC walk and the stable order of weighted positives all sort
large float32 arrays (or ``key << 32 | rank`` uint64 words). How fast ``np.sort`` is depends on
the CPU far more than on anything else: NumPy dispatches an AVX-512 sort, an AVX2 sort or a
scalar one, and the same AVX-512 sort that takes ~4 ns per float32 on one AMD EPYC took ~40-50 ns
on another (6-9x slower than NumPy's own AVX2 sort there). A least-significant-digit radix sort
(four passes of 8 bits, compiled) costs about the same few nanoseconds per value on any CPU.

So the first sort of each kind in a process times both on a small sample (a few milliseconds)
and every later sort of that kind takes the faster; both give the same order (the radix sort is
stable, and so is sorting packed words whose low halves are ascending), so results never depend
on the choice. The environment variable ``ANOMALY_METRICS_SORT`` (``"numpy"``, ``"radix"`` or
``"auto"``, the default) overrides it.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any, Literal

import numpy as np
from numba import njit
from numpy.typing import NDArray

__all__ = ["SORT_ENV_VAR", "sort_method", "sort_packed", "sort_values"]

SORT_ENV_VAR = "ANOMALY_METRICS_SORT"
_METHODS = ("auto", "numpy", "radix")
_CALIBRATION_VALUES = 1 << 17  # values of the timed sample (0.5-1 MiB)
_RADIX_MIN = 1 << 12  # fewer values than this always take np.sort (nothing to win)

_lock = threading.Lock()
_chosen: dict[str, str] = {}


@njit(cache=True, nogil=True, inline="always")
def _to_key(bits):  # pragma: no cover - compiled
    """Order-preserving unsigned key of float32 bits (negative floats reversed)."""
    if bits >> np.uint32(31):
        return bits ^ np.uint32(0xFFFFFFFF)
    return bits ^ np.uint32(0x80000000)


@njit(cache=True, nogil=True, inline="always")
def _from_key(key):  # pragma: no cover - compiled
    """The float32 bits of :func:`_to_key`'s ``key``."""
    if key >> np.uint32(31):
        return key ^ np.uint32(0x80000000)
    return key ^ np.uint32(0xFFFFFFFF)


@njit(cache=True, nogil=True)
def _offsets(counts):  # pragma: no cover - compiled
    """Exclusive prefix sums of a 256-bin histogram (where each digit's run starts)."""
    starts = np.empty(256, np.int64)
    total = 0
    for r in range(256):
        starts[r] = total
        total += counts[r]
    return starts


@njit(cache=True, nogil=True)
def _radix_sort_float32_kernel(values, scratch):  # pragma: no cover - compiled
    """Sort float32 ``values`` in place (ascending, stable) with ``scratch`` (uint32, as long).

    One pass turns each value into its order key and counts the four 8-bit digits; then one
    scatter pass per digit that is not the same for every value (least significant first),
    alternating between ``values`` (seen as uint32) and ``scratch``; a last pass turns the keys
    back into floats in ``values``. ``-0.0`` sorts just before ``0.0`` (they compare equal).
    No NaN. Inputs are not validated.
    """
    n = values.shape[0]
    keys = values.view(np.uint32)
    h = np.zeros((4, 256), np.int64)
    for i in range(n):
        k = _to_key(keys[i])
        keys[i] = k
        h[0, k & np.uint32(255)] += 1
        h[1, (k >> np.uint32(8)) & np.uint32(255)] += 1
        h[2, (k >> np.uint32(16)) & np.uint32(255)] += 1
        h[3, k >> np.uint32(24)] += 1
    src, dst = keys, scratch
    for d in range(4):
        shift = np.uint32(8 * d)
        if n == 0 or h[d, (src[0] >> shift) & np.uint32(255)] == n:
            continue  # every value has this digit: the pass would not move anything
        starts = _offsets(h[d])
        for i in range(n):
            k = src[i]
            r = (k >> shift) & np.uint32(255)
            dst[starts[r]] = k
            starts[r] += 1
        src, dst = dst, src
    for i in range(n):
        keys[i] = _from_key(src[i])


@njit(cache=True, nogil=True)
def _radix_sort_packed_kernel(packed, scratch):  # pragma: no cover - compiled
    """Sort uint64 ``packed`` in place by its high 32 bits, stably, with ``scratch`` (as long).

    The scatter passes are those of :func:`_radix_sort_float32_kernel` on 64-bit words; one
    kernel generic over both word types measured 15 % slower on float32, so each keeps its own.

    For ``key << 32 | rank`` words whose ranks (low halves) ascend, this is the full sort. Four
    scatter passes of 8 bits of the key at most (the passes on a digit shared by every word are
    skipped). Inputs are not validated.
    """
    n = packed.shape[0]
    h = np.zeros((4, 256), np.int64)
    for i in range(n):
        k = packed[i] >> np.uint64(32)
        h[0, k & np.uint64(255)] += 1
        h[1, (k >> np.uint64(8)) & np.uint64(255)] += 1
        h[2, (k >> np.uint64(16)) & np.uint64(255)] += 1
        h[3, (k >> np.uint64(24)) & np.uint64(255)] += 1
    src, dst = packed, scratch
    moved = False
    for d in range(4):
        shift = np.uint64(32 + 8 * d)
        if n == 0 or h[d, (src[0] >> shift) & np.uint64(255)] == n:
            continue
        starts = _offsets(h[d])
        for i in range(n):
            w = src[i]
            r = (w >> shift) & np.uint64(255)
            dst[starts[r]] = w
            starts[r] += 1
        src, dst = dst, src
        moved = not moved
    if moved:  # the sorted words are in scratch
        for i in range(n):
            packed[i] = src[i]


def _best_time(run: Any, make: Any, repeats: int = 2) -> float:
    best = np.inf
    for _ in range(repeats):
        data = make()
        start = time.perf_counter()
        run(data)
        best = min(best, time.perf_counter() - start)
    return best


def _calibrate(kind: str) -> str:
    """Time ``np.sort`` and the radix sort on one sample of ``kind``; the faster one's name."""
    rng = np.random.default_rng(0)
    n = _CALIBRATION_VALUES
    if kind == "float32":
        sample = rng.standard_normal(n).astype(np.float32)
        scratch32 = np.empty(n, np.uint32)
        _radix_sort_float32_kernel(sample[:64].copy(), scratch32[:64])  # compiled or loaded

        def radix(a: NDArray[Any]) -> None:
            _radix_sort_float32_kernel(a, scratch32)

    else:
        keys = rng.integers(0, 1 << 32, n, dtype=np.uint64)
        sample = (keys << np.uint64(32)) | np.arange(n, dtype=np.uint64)
        scratch64 = np.empty(n, np.uint64)
        _radix_sort_packed_kernel(sample[:64].copy(), scratch64[:64])

        def radix(a: NDArray[Any]) -> None:
            _radix_sort_packed_kernel(a, scratch64)

    t_numpy = _best_time(np.ndarray.sort, sample.copy)
    t_radix = _best_time(radix, sample.copy)
    return "radix" if t_radix < t_numpy else "numpy"


def sort_method(kind: Literal["float32", "packed"] = "float32") -> str:
    """The sort used for ``kind`` in this process: ``"numpy"`` or ``"radix"``.

    ``ANOMALY_METRICS_SORT`` (``"numpy"`` / ``"radix"``) forces one; otherwise (``"auto"``) the
    first call times both on a sample and the faster is kept for the life of the process.

    >>> sort_method() in ("numpy", "radix")
    True
    """
    forced = os.environ.get(SORT_ENV_VAR, "auto").strip().lower() or "auto"
    if forced not in _METHODS:
        raise ValueError(
            f"environment variable {SORT_ENV_VAR} must be one of {', '.join(_METHODS)}, "
            f"got {os.environ[SORT_ENV_VAR]!r}."
        )
    if forced != "auto":
        return forced
    with _lock:
        if kind not in _chosen:
            _chosen[kind] = _calibrate(kind)
        return _chosen[kind]


def sort_values(
    values: NDArray[Any], scratch: NDArray[np.uint32] | None = None, method: str = ""
) -> None:
    """Sort a contiguous array in place: float32 by ``method`` (default: :func:`sort_method`),
    any other dtype by ``np.sort``.

    ``scratch`` (uint32, at least as long) saves the radix sort an allocation. Arrays of fewer
    than 4,096 values always take ``np.sort`` (the order is the same). No NaN.

    >>> a = np.array([2.0, -1.0, 0.5], np.float32)
    >>> sort_values(a, method="radix")
    >>> a.tolist()
    [-1.0, 0.5, 2.0]
    """
    if values.dtype != np.float32:
        values.sort()
        return
    method = method or sort_method("float32")
    if method == "numpy" or values.shape[0] < _RADIX_MIN:
        values.sort()
        return
    n = values.shape[0]
    if scratch is None or scratch.shape[0] < n:
        scratch = np.empty(n, np.uint32)
    _radix_sort_float32_kernel(values, scratch[:n])


def sort_packed(packed: NDArray[np.uint64], method: str = "") -> None:
    """Sort ``key << 32 | rank`` words (ranks ascending in input order) in place.

    By ``method`` (default: :func:`sort_method` of ``"packed"``); fewer than 4,096 words always
    take ``np.sort``. The radix sort orders by the keys only, stably, which is the full order
    when the ranks ascend.

    >>> w = np.array([(5 << 32) | 0, (3 << 32) | 1, (5 << 32) | 2], np.uint64)
    >>> sort_packed(w, method="radix")
    >>> [int(x >> 32) for x in w], [int(x & 0xFFFFFFFF) for x in w]
    ([3, 5, 5], [1, 0, 2])
    """
    method = method or sort_method("packed")
    if method == "numpy" or packed.shape[0] < _RADIX_MIN:
        packed.sort()
        return
    _radix_sort_packed_kernel(packed, np.empty_like(packed))
