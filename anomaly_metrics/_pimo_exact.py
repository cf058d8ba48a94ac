"""The exact PIMO curves and AUPIMO: one curve point per distinct score.

Every distinct score of the normal images (and, for the full curves, of the defect pixels within
their range) is a threshold; the AUPIMO integral is cut exactly at the FPR bounds by linear
interpolation in ``ln(FPR)``. The dispatch, the checks and the public functions are in
:mod:`anomaly_metrics._pimo`.

How AUPIMO is fast
    Only the top ``upper * #normal pixels`` normal scores can be curve points inside the FPR
    range. A radix selection on their order keys (:func:`anomaly_metrics._keys.order_key`, one
    16-bit digit per streaming pass, 2-4 passes, no sort and no copy of the rest) finds them;
    those few thousand values become the curve's levels, and each anomalous image counts its
    defect pixels into the levels' ties and gaps (:func:`anomaly_metrics._search.tie_or_gap`)
    and integrates on the fly. Threads run over images (the kernels release the GIL).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
from numba import njit
from numpy.typing import NDArray

from ._keys import order_key
from ._parallel import run_over_images
from ._search import tie_or_gap

if TYPE_CHECKING:
    from ._pimo import _Prepared

__all__: list[str] = []

# Radix selection stops refining once the candidate bucket holds at most this many values.
_SELECT_BUCKET_MAX = 1 << 16


def _pimo_curves_exact(
    prep: _Prepared,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Thresholds, shared FPR and TPR rows with a threshold at every distinct relevant score.

    Full sorts of the normal scores and of each image's defect scores (the curves themselves
    are ``(N, thresholds)``, so there is nothing to gain from a selection here).
    """
    normal: list[NDArray[Any]] = []
    prep.per_batch(prep.normal, lambda m, _k, idx, _s: normal.append(m[idx].reshape(-1)))
    normal_scores = np.sort(np.concatenate(normal).astype(np.float64))
    lo, hi = normal_scores[0], normal_scores[-1]
    defects = [
        np.sort(row[mrow].astype(np.float64)) for row, mrow in map(prep.image, prep.anomalous)
    ]
    inside = [d[(d >= lo) & (d <= hi)] for d in defects]
    thresholds = np.unique(np.concatenate([normal_scores, *inside]) + 0.0)
    n_normal = normal_scores.shape[0]
    shared_fpr = (n_normal - np.searchsorted(normal_scores, thresholds, side="left")) / n_normal
    tpr = np.full((prep.n_images, thresholds.shape[0]), np.nan)
    for i, d in zip(prep.anomalous, defects):
        tpr[i] = (d.shape[0] - np.searchsorted(d, thresholds, side="left")) / d.shape[0]
    return thresholds, shared_fpr, tpr


# ----------------------------------------------------------------------------------------------
# AUPIMO: radix selection of the top normal scores, then one pass per anomalous image


@njit(cache=True, nogil=True)
def _key_histogram_kernel(
    bits, images, sign_shift, shift, prefix, use_prefix, hist
):  # pragma: no cover - compiled
    """Histogram of one 16-bit digit of the order keys of the listed images' scores.

    Top digit (``use_prefix`` false): ``(key >> shift) + 32768``; lower digits count only keys
    whose higher digits equal ``prefix``. Radix selection needs no sort and no copy of the
    scores, only a streaming pass per digit. Inputs are not validated; call through `aupimo`.
    """
    for r in range(images.shape[0]):
        row = bits[images[r]]
        for p in range(row.shape[0]):
            key = order_key(row[p], sign_shift)
            if use_prefix:
                if (key >> (shift + 16)) != prefix:
                    continue
                hist[(key >> shift) & 0xFFFF] += 1
            else:
                hist[(key >> shift) + 32768] += 1


@njit(cache=True, nogil=True)
def _collect_kernel(maps, bits, images, sign_shift, low_key, out):  # pragma: no cover
    """Copy the listed images' scores whose order key is ``>= low_key`` into ``out`` (float64).

    Inputs are not validated; call through `aupimo`.
    """
    n = 0
    for r in range(images.shape[0]):
        i = images[r]
        row = maps[i]
        brow = bits[i]
        for p in range(row.shape[0]):
            if order_key(brow[p], sign_shift) >= low_key:
                out[n] = np.float64(row[p]) + 0.0
                n += 1
    return n


def _key_histogram(
    prep: _Prepared, bits_dtype: Any, sign_shift: int, shift: int, prefix: int, use_prefix: bool
) -> NDArray[np.int64]:
    """One radix digit's histogram over the normal images (threads over images)."""

    def run(imgs: NDArray[np.int64]) -> NDArray[np.int64]:
        hist = np.zeros(1 << 16, np.int64)
        prep.per_batch(
            imgs,
            lambda m, _k, idx, _s: _key_histogram_kernel(
                m.view(bits_dtype), idx, sign_shift, shift, prefix, use_prefix, hist
            ),
        )
        return hist

    return sum(run_over_images(run, prep.normal, prep.n_pixels))  # type: ignore[return-value]


def _top_normal_levels(prep: _Prepared, rank: int) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Distinct normal scores down to the ``rank``-th largest, ascending, with counts ``>=``.

    Returns ``levels`` (ascending) and ``fp`` (normal pixels ``>=`` each level); the lowest
    level is at or below the ``rank``-th largest normal score.
    """
    is32 = prep.dtype == np.float32
    bits_dtype = np.int32 if is32 else np.int64
    sign_shift = 31 if is32 else 63
    shift = 16 if is32 else 48
    prefix = 0
    use_prefix = False
    n_above = 0  # values known to lie above the current bucket
    while True:
        hist = _key_histogram(prep, bits_dtype, sign_shift, shift, prefix, use_prefix)
        above = np.cumsum(hist[::-1])[::-1]  # above[d]: candidates with digit >= d
        # the bucket holding the rank-th largest: the largest digit d with n_above + above[d] >= rank
        d = int(np.flatnonzero(n_above + above >= rank)[-1])
        digit_prefix = ((prefix << 16) | d) if use_prefix else (d - 32768)
        n_above += int(above[d]) - int(hist[d])
        if hist[d] <= _SELECT_BUCKET_MAX or shift == 0:
            break
        prefix, use_prefix, shift = digit_prefix, True, shift - 16
    size = n_above + int(hist[d])
    out = np.empty(size, np.float64)
    low_key = digit_prefix << shift
    got = 0

    def collect(m: NDArray[Any], _k: Any, idx: NDArray[np.int64], _s: int) -> None:
        nonlocal got
        got += _collect_kernel(m, m.view(bits_dtype), idx, sign_shift, low_key, out[got:])

    prep.per_batch(prep.normal, collect)
    if got != size:  # pragma: no cover - would be a bug in the selection
        raise AssertionError(f"radix selection collected {got} values, expected {size}")
    levels, counts = np.unique(out, return_counts=True)
    fp = np.cumsum(counts[::-1])[::-1]
    return levels, fp.astype(np.int64)


@njit(cache=True, nogil=True)
def _aupimo_exact_kernel(maps, masks, images, w, log_f, ln_lo, ln_hi, out):  # pragma: no cover
    """Exact area of each listed image's PIMO curve over ``[ln_lo, ln_hi]`` (ln shared FPR).

    ``w`` are the curve's normal-score levels ascending, ``log_f`` the ln shared FPR at each.
    Defect pixels are counted into the ties (``eq``) and gaps of the levels; between levels
    ``w[i]`` and ``w[i + 1]`` the curve is the segment from ``(log_f[i + 1], TPR(> w[i]))`` to
    ``(log_f[i], TPR(>= w[i]))`` (horizontal unless defect pixels tie with ``w[i]``), clipped to
    the bounds by linear interpolation. A loop because it is a per-pixel binary search plus a
    per-image scan. Inputs are not validated; call through `aupimo`.
    """
    m = w.shape[0]
    eq = np.zeros(m, np.int64)
    gap = np.zeros(m + 1, np.int64)
    w0 = w[0]
    for r in range(images.shape[0]):
        i = images[r]
        row = maps[i]
        mrow = masks[i]
        eq[:] = 0
        gap[:] = 0
        n_pos = 0
        for p in range(row.shape[0]):
            if not mrow[p]:
                continue
            n_pos += 1
            x = np.float64(row[p])
            if x < w0:
                continue
            j, tie = tie_or_gap(w, x, 0, m)
            if tie:
                eq[j] += 1
            else:
                gap[j] += 1
        area = 0.0
        running = gap[m]  # defect pixels above the top level
        for lv in range(m - 1, -1, -1):
            tp_gt = running
            tp_ge = running + eq[lv]
            running = tp_ge + gap[lv]
            if lv == m - 1:
                continue  # from shared FPR 0 up to the top level: below any lower bound
            xa = log_f[lv + 1]
            xb = log_f[lv]
            if xb <= ln_lo or xa >= ln_hi or xb <= xa:
                continue
            ya = tp_gt / n_pos
            yb = tp_ge / n_pos
            slope = (yb - ya) / (xb - xa)
            ca = xa if xa > ln_lo else ln_lo
            cb = xb if xb < ln_hi else ln_hi
            area += (cb - ca) * (ya + slope * (ca - xa) + ya + slope * (cb - xa)) * 0.5
        out[i] = area


def _aupimo_exact(
    prep: _Prepared, lo: float, hi: float
) -> tuple[NDArray[np.float64], int, tuple[float, float]]:
    """Per-image exact areas (not yet normalised), points in the range, thresholds at the bounds."""
    # the fewest top normal pixels whose shared FPR reaches `hi`
    levels, fp = _top_normal_levels(prep, prep.normal_rank(hi))
    shared_fpr = fp / prep.n_normal_pixels
    if lo < shared_fpr[-1]:
        raise prep.unreachable_error(lo, int(fp[-1]))
    # keep the levels up to the first one at or beyond `hi` (the rest lie outside the range)
    first = int(np.flatnonzero(shared_fpr >= hi)[-1])
    levels, shared_fpr = levels[first:], shared_fpr[first:]
    with np.errstate(divide="ignore"):
        log_f = np.log(shared_fpr)
    out = np.zeros(prep.n_images, np.float64)
    ln_lo, ln_hi = math.log(lo), math.log(hi)
    run_over_images(
        lambda imgs: prep.per_batch(
            imgs,
            lambda m, mk, idx, s: _aupimo_exact_kernel(
                m, mk, idx, levels, log_f, ln_lo, ln_hi, out[s : s + m.shape[0]]
            ),
        ),
        prep.anomalous,
        prep.n_pixels,
    )
    inside = (shared_fpr >= lo) & (shared_fpr <= hi)
    num_points = int(np.count_nonzero(inside))
    num_points += int(not np.any(shared_fpr == lo)) + int(not np.any(shared_fpr == hi))
    thr_hi_fpr = float(levels[np.flatnonzero(shared_fpr <= hi)[0]])
    thr_lo_fpr = float(levels[np.flatnonzero(shared_fpr <= lo)[0]])
    return out, num_points, (thr_hi_fpr, thr_lo_fpr)
