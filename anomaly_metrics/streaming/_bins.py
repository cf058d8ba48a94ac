"""The bin layout shared by every streaming histogram, and the threaded counting into bins.

A bin is the top `bits` bits of a score's order-preserving float32 key (from
:mod:`anomaly_metrics._keys`). This module holds the `bits` check, :func:`score_bins` and
:func:`bin_lower_edges`, the checks of histogram fields shared by the builders and finalisers,
and :func:`count_in_spans`, the one place where a builder's counting is cut into spans for
threads.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import numpy as np
from numba import njit
from numpy.typing import NDArray

from .._keys import float32_from_key, float32_key
from .._parallel import HISTOGRAM_PER_WORKER, run_in_spans
from .._validation import check_scores

__all__ = ["DEFAULT_BITS", "bin_lower_edges", "score_bins"]

DEFAULT_BITS = 20
_MIN_BITS = 1
_MAX_BITS = 24


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
# checks shared by the builders and the finalisers


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


# --------------------------------------------------------------------------------------------
# threaded counting


def count_in_spans(
    n: int,
    count: Callable[[int, int, tuple[NDArray[Any], ...]], None],
    state: tuple[NDArray[Any], ...],
) -> None:
    """Run ``count(start, stop, arrays)`` over spans of ``range(n)``, adding into `state`.

    The first span counts straight into `state`; the others (in threads, through
    :func:`anomaly_metrics._parallel.run_in_spans`, when `n` is large) count into zeroed arrays
    shaped like it, added to `state` at the end. Integer counts are therefore the same whatever
    the number of threads; float weights agree to rounding.
    """
    parts: list[tuple[NDArray[Any], ...]] = []

    def run(start: int, stop: int, first: bool) -> None:
        if first:
            count(start, stop, state)
            return
        part = tuple(np.zeros_like(a) for a in state)
        count(start, stop, part)
        parts.append(part)

    run_in_spans(n, run, HISTOGRAM_PER_WORKER)
    for part in parts:
        for total, add in zip(state, part):
            total += add
