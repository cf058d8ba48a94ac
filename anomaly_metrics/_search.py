"""Counting a value into the ties and gaps of an ascending array: the one binary search.

Two kernels count values against a short ascending array ``u`` of distinct levels: the counting
primitive (negatives against the sorted positives, :mod:`anomaly_metrics._counts`) and the exact
AUPIMO (defect pixels against the top normal scores, :mod:`anomaly_metrics._pimo_exact`). Both
need, for each value ``x``, whether it ties with a level (``eq[j]``: ``x == u[j]``) or which gap
it falls in (``gap[j]``: ``u[j - 1] < x < u[j]``, ``gap[0]`` below ``u[0]``, ``gap[m]`` above
``u[-1]``). The search and the tie test are written here once and inlined into both kernels.

Kernels here do no validation.
"""

from __future__ import annotations

from numba import njit

__all__ = ["tie_or_gap"]


@njit(cache=True, nogil=True, inline="always")
def tie_or_gap(u, x, left, right):  # pragma: no cover - compiled
    """``(j, tie)``: the first ``j`` in ``[left, right)`` with ``u[j] >= x``, and ``u[j] == x``.

    ``j`` is ``right`` when every ``u[left:right]`` is below ``x``; the caller narrows the range
    when it knows more (e.g. a bucket of ``u`` that must hold ``x``). ``x`` ties with level ``j``
    when ``tie``, else it falls in gap ``j`` (strictly between ``u[j - 1]`` and ``u[j]``; gap 0
    below ``u[0]``, gap ``len(u)`` above ``u[-1]``). Comparisons are exact in float64.

    The caller does the counting (``eq[j] += 1`` or ``gap[j] += 1``): a version that took the
    count arrays and incremented them itself measured 2x slower in the counting loops (arrays
    passed to a call, even an inlined one, are likely reference-counted per call).
    Inputs are not validated: ``u`` must be ascending and ``0 <= left <= right <= len(u)``.
    """
    while left < right:
        mid = (left + right) >> 1
        if u[mid] < x:
            left = mid + 1
        else:
            right = mid
    return left, left < u.shape[0] and u[left] == x
