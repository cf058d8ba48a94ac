"""Counting a value into the ties and gaps of an ascending array: the one binary search.

Two kernels count values against a short ascending array ``u`` of distinct levels: the counting
primitive (negatives against the sorted positives, :mod:`anomaly_metrics._counts`) and the exact
AUPIMO (defect pixels against the top normal scores, :mod:`anomaly_metrics._pimo_exact`). Both
need, for each value ``x``, whether it ties with a level (``eq[j]``: ``x == u[j]``) or which gap
it falls in (``gap[j]``: ``u[j - 1] < x < u[j]``, ``gap[0]`` below ``u[0]``, ``gap[m]`` above
``u[-1]``). The search is written here once and inlined into both kernels.

Kernels here do no validation.
"""

from __future__ import annotations

from numba import njit

__all__ = ["count_tie_or_gap"]


@njit(cache=True, nogil=True, inline="always")
def count_tie_or_gap(u, x, left, right, eq, gap):  # pragma: no cover - compiled
    """Add one to ``eq[j]`` if ``u[j] == x``, else to ``gap[j]``; ``j`` = first ``u[j] >= x``.

    ``j`` is searched in ``[left, right)`` of the ascending ``u`` (``right`` when every
    ``u[left:right]`` is below ``x``): the caller narrows the range when it knows more, e.g. a
    bucket of ``u`` that must hold ``x``. Comparisons are exact in the common type of ``u`` and
    ``x`` (float64). Inputs are not validated: ``u`` must be ascending and ``0 <= left <= right
    <= len(u)``.
    """
    while left < right:
        mid = (left + right) >> 1
        if u[mid] < x:
            left = mid + 1
        else:
            right = mid
    if left < u.shape[0] and u[left] == x:
        eq[left] += 1
    else:
        gap[left] += 1
