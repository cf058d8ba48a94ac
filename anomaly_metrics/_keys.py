"""Floats as order-preserving integers: the one key every integer-keyed path uses.

An IEEE float's bit pattern, read as a sign-magnitude integer, orders like the value. Turned into
a two's-complement integer (negative values: minus their magnitude bits), it becomes a key that
compares exactly like the float: ``a < b`` iff ``key(a) < key(b)``, with ``-0.0`` and ``+0.0``
sharing the key 0. Integer keys are what radix selection (AUPIMO's top normal pixels) and the
streaming histograms' bins are made of: a digit or a prefix of the key is a value range, and no
value range has to be known in advance.

Kernels here do no validation (finite inputs are assumed) and are inlined into their callers.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

__all__ = [
    "FLOAT32_KEY_OFFSET",
    "KEY32_NEG_INF",
    "KEY32_POS_INF",
    "float32_from_key",
    "float32_key",
    "float32_of_key",
    "order_key",
]

# float32 keys are shifted by 2**31 into [0, 2**32): unsigned, so that their top bits are a bin.
FLOAT32_KEY_OFFSET = 1 << 31
KEY32_NEG_INF = FLOAT32_KEY_OFFSET - 0x7F800000  # key of -inf: the lowest key of any non-NaN value
KEY32_POS_INF = FLOAT32_KEY_OFFSET + 0x7F800000  # key of +inf: the highest


@njit(cache=True, nogil=True, inline="always")
def order_key(bits, sign_shift):  # pragma: no cover - compiled
    """Signed integer key of the float whose bit pattern (signed int32/int64) is ``bits``.

    ``sign_shift`` is 31 for float32 bits, 63 for float64. Non-negative floats keep their bits;
    negative ones get minus their magnitude bits, so ``-0.0`` and ``+0.0`` both give 0.
    """
    b = np.int64(bits)
    if b >= 0:
        return b
    mask = np.int64(0x7FFFFFFFFFFFFFFF) >> (63 - sign_shift)  # all bits below the sign
    return -(b & mask)


@njit(cache=True, nogil=True, inline="always")
def float32_key(x):  # pragma: no cover - compiled
    """Key in ``[0, 2**32)`` (as int64) of ``x`` rounded *down* to a float32.

    A float64 that is not a float32 gets the key of the largest float32 below it, so that the
    float32 a key stands for is an exact lower bound (``x >= edge`` for every ``x`` of the key).
    """
    f = np.float32(x)
    key = order_key(f.view(np.int32), 31) + FLOAT32_KEY_OFFSET
    if np.float64(f) > np.float64(x):  # rounding went up (wider input): take the float32 below
        key -= 1
    return key


@njit(cache=True, nogil=True, inline="always")
def float32_of_key(key):  # pragma: no cover - compiled
    """The float32 whose key (``order_key`` of its bits + ``FLOAT32_KEY_OFFSET``) is ``key``.

    The compiled, scalar inverse of the key of an exact float32 (:func:`float32_from_key` is
    the NumPy one); ``+0.0`` for the key of zero, which ``-0.0`` shares.
    """
    magnitude = np.int64(key) - FLOAT32_KEY_OFFSET
    if magnitude >= 0:
        return np.uint32(magnitude).view(np.float32)
    return np.uint32((-magnitude) | 0x80000000).view(np.float32)


def float32_from_key(keys: NDArray[np.integer]) -> NDArray[np.float64]:
    """The float32 value (as float64) of each key of :func:`float32_key` (clipped to +-inf).

    >>> import numpy as np
    >>> float32_from_key(np.array([FLOAT32_KEY_OFFSET, KEY32_POS_INF], np.int64)).tolist()
    [0.0, inf]
    """
    key = np.clip(np.asarray(keys, np.int64), KEY32_NEG_INF, KEY32_POS_INF)
    magnitude = key - FLOAT32_KEY_OFFSET
    sign = np.where(magnitude < 0, np.int64(1) << 31, np.int64(0))
    bits = (np.abs(magnitude) | sign).astype(np.uint32)
    return bits.view(np.float32).astype(np.float64)
