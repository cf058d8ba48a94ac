"""The linspace PIMO curves and AUPIMO: anomalib's published ``K`` linearly spaced thresholds.

``K`` thresholds (default 300 000) linearly spaced between the min and max of the normal images'
scores, in the maps' dtype (``torch.linspace``'s element formula); the AUPIMO integral is the
trapezoid over the thresholds whose shared FPR is nearest each bound (no interpolation), with
anomalib's point-count rules. The dispatch, the checks and the public functions are in
:mod:`anomaly_metrics._pimo`.

How AUPIMO is fast (it never builds the ``(N, K)`` curves)
    One pass over the normal scores takes their range (the thresholds' span) and a histogram of
    them by the top 16 bits of their order keys (cache-resident, and needing no range known in
    advance), which locates the threshold where the shared FPR crosses the upper bound; only the normal scores above it (about ``upper`` of them)
    are counted against the thresholds (a computed index corrected against the actual
    thresholds, so comparisons stay exact), which gives the shared FPR at every threshold the
    bounds can select. One pass per anomalous image then counts its defect pixels into the
    selected range only (its mask read eight pixels at a time, skipping background words) and
    integrates on the fly. Threads run over images (the kernels release the GIL).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from numba import njit
from numpy.typing import NDArray

from ._keys import order_key
from ._parallel import run_over_images
from ._pimo_bounds import _unreachable_error
from ._warnings import warn_advice

if TYPE_CHECKING:
    from ._pimo import _Prepared

__all__: list[str] = []

# anomalib's point-count rules for the linspace integral.
_MIN_POINTS = 30
_FEW_POINTS = 300
_PREFIX_OFFSET = 1 << 15  # a signed 16-bit key prefix + this: a bin in [0, 65536)


def _linspace_thresholds(lo: float, hi: float, k: int, dtype: np.dtype[Any]) -> NDArray[Any]:
    """``k`` thresholds from ``lo`` to ``hi`` in ``dtype`` arithmetic, torch.linspace's rule.

    ``start + i * step`` for the first half and ``end - (k - 1 - i) * step`` for the second, each
    operation rounded to ``dtype`` (float32 for float32 maps), so both ends are exact. This is
    the element formula of ``torch.linspace`` (anomalib); torch's vectorised CPU kernel rounds a
    few elements of long ranges differently (by one unit in the last place, depending on the
    CPU), which only matters for a pixel whose score is exactly such a threshold.
    """
    dt = dtype.type
    start, end = dt(lo), dt(hi)
    step = dt((end - start) / dt(k - 1))
    half = k // 2
    idx = np.arange(k)
    out = np.empty(k, dtype)
    out[:half] = start + step * idx[:half].astype(dtype)
    out[half:] = end - step * (k - 1 - idx[half:]).astype(dtype)
    return out


@njit(cache=True, nogil=True, inline="always")
def _widened(lo, hi, x):  # pragma: no cover - compiled
    """The range ``[lo, hi]`` widened to hold ``x``."""
    return (x if x < lo else lo), (x if x > hi else hi)


@njit(cache=True, nogil=True)
def _minmax_kernel(maps, images):  # pragma: no cover - compiled
    """Min and max of the listed images' scores, as float64.

    A kernel so that the normal images are reduced in place, without gathering a copy of them.
    Inputs are not validated; call through `pimo_curves` / `aupimo`.
    """
    lo = np.inf
    hi = -np.inf
    for r in range(images.shape[0]):
        row = maps[images[r]]
        for p in range(row.shape[0]):
            lo, hi = _widened(lo, hi, np.float64(row[p]))
    return lo, hi


def _normal_range(prep: _Prepared) -> tuple[float, float]:
    """Min and max of the normal images' scores, as float64."""

    def minmax(imgs: NDArray[np.int64]) -> list[tuple[float, float]]:
        found: list[tuple[float, float]] = []
        prep.per_batch(imgs, lambda m, _k, idx, _s: found.append(_minmax_kernel(m, idx)))
        return found

    parts = [p for found in run_over_images(minmax, prep.normal, prep.n_pixels) for p in found]
    return min(p[0] for p in parts), max(p[1] for p in parts)


@njit(cache=True, nogil=True)
def _range_and_prefixes_kernel(maps, images, hist):  # pragma: no cover - compiled
    """:func:`_minmax_kernel`, and ``hist[prefix] += 1`` for each score, in one pass.

    The prefix is the top 16 bits of the score's order key (:mod:`anomaly_metrics._keys`),
    offset into ``[0, 65536)``: a bin that needs no range known in advance, so the histogram
    that locates the top normal scores (:func:`_shared_fp_tail`) is made in the same pass as
    the range the thresholds span. Inputs are not validated; call through `aupimo`.
    """
    lo = np.inf
    hi = -np.inf
    single = maps.itemsize == 4
    for r in range(images.shape[0]):
        row = maps[images[r]]
        for p in range(row.shape[0]):
            lo, hi = _widened(lo, hi, np.float64(row[p]))
            if single:
                key = order_key(np.float32(row[p]).view(np.int32), 31) >> 16
            else:
                key = order_key(np.float64(row[p]).view(np.int64), 63) >> 48
            hist[key + _PREFIX_OFFSET] += 1
    return lo, hi


def _prefix_floor(prefix: int, dtype: np.dtype[Any]) -> float:
    """The lowest score of ``dtype`` (as float64) whose key has the 16-bit ``prefix``."""
    width = 8 * np.dtype(dtype).itemsize
    key = (prefix - _PREFIX_OFFSET) << (width - 16)
    bits = key if key >= 0 else (-key) | (1 << (width - 1))
    unsigned = np.uint32 if width == 32 else np.uint64
    return float(np.array(bits, dtype=unsigned).view(np.dtype(dtype)))


def _first_counted_threshold(
    prefixes: NDArray[np.int64], rank: int, t64: NDArray[np.float64], dtype: np.dtype[Any]
) -> int:
    """The largest threshold index ``c`` with at least ``rank`` normal scores ``>= t[c]``, or less.

    From the normal scores' key-prefix histogram: the highest prefix with ``rank`` scores at or
    above it, and the largest threshold at or below that prefix's lowest value (0 if none).
    The exact counts then start at ``t[c]`` (in memory and out of core alike).
    """
    above = np.cumsum(prefixes[::-1])[::-1]
    edge = _prefix_floor(int(np.flatnonzero(above >= rank)[-1]), dtype)
    return max(0, int(np.searchsorted(t64, edge, side="right")) - 1)


def _normal_range_and_prefixes(prep: _Prepared) -> tuple[float, float, NDArray[np.int64]]:
    """Min and max of the normal images' scores (float64) and their key-prefix histogram."""

    def scan(imgs: NDArray[np.int64]) -> tuple[list[tuple[float, float]], NDArray[np.int64]]:
        hist = np.zeros(1 << 16, np.int64)
        found: list[tuple[float, float]] = []
        prep.per_batch(
            imgs, lambda m, _k, idx, _s: found.append(_range_and_prefixes_kernel(m, idx, hist))
        )
        return found, hist

    parts = run_over_images(scan, prep.normal, prep.n_pixels)
    ranges = [r for found, _ in parts for r in found]
    hist = parts[0][1]
    for _, h in parts[1:]:
        hist += h
    return min(r[0] for r in ranges), max(r[1] for r in ranges), hist


def _linspace_setup(
    prep: _Prepared, k: int, lo: float, hi: float
) -> tuple[NDArray[np.float64], float, float]:
    """The thresholds (values of the maps' dtype, as float64), their origin and inverse step.

    ``lo < hi`` are the normal scores' range (the caller handles all-equal normal scores).
    """
    t = _linspace_thresholds(lo, hi, k, prep.dtype)
    if not np.all(t[1:] > t[:-1]):
        raise ValueError(
            f"`num_thresholds` = {k} is too many for the {prep.dtype} resolution of the normal "
            f"scores' range [{lo:g}, {hi:g}]: the thresholds are not strictly increasing. Use "
            "fewer thresholds, float64 maps, or `num_thresholds=None` (the exact curve)."
        )
    t64 = t.astype(np.float64)
    inv_step = (k - 1) / (t64[-1] - t64[0])
    return t64, float(t64[0]), float(inv_step)


@njit(cache=True, nogil=True)
def _bin_index(x, t, t0, inv_step):  # pragma: no cover - compiled
    """Number of thresholds ``<= x`` (``x`` is positive at exactly that many thresholds).

    A guess from the linear spacing, corrected against the actual thresholds so the answer is
    exact for any rounding of them. Inputs are not validated.
    """
    k = t.shape[0]
    f = (x - t0) * inv_step
    if f < 0.0:
        g = 0
    elif f >= k:
        g = k
    else:
        g = np.int64(f) + 1
        if g > k:
            g = k
    while g < k and t[g] <= x:
        g += 1
    while g > 0 and t[g - 1] > x:
        g -= 1
    return g


# ----------------------------------------------------------------------------------------------
# the full curves


@njit(cache=True, nogil=True)
def _pimo_rows_kernel(maps, masks, images, t, t0, inv_step, tpr, fp_total):  # pragma: no cover
    """Per-image TPR rows at every threshold (anomalous images), FP totals (normal images).

    Images without defect pixels add their per-threshold false positives to ``fp_total`` and get
    a nan row; the others get their TPR row. Inputs are not validated; call through
    `pimo_curves`.
    """
    k = t.shape[0]
    hist = np.zeros(k + 1, np.int64)
    for r in range(images.shape[0]):
        i = images[r]
        row = maps[i]
        mrow = masks[i]
        n_pos = 0
        for p in range(mrow.shape[0]):
            if mrow[p]:
                n_pos += 1
        hist[:] = 0
        for p in range(row.shape[0]):
            if n_pos > 0 and not mrow[p]:
                continue
            hist[_bin_index(np.float64(row[p]), t, t0, inv_step)] += 1
        running = 0
        for j in range(k - 1, -1, -1):
            running += hist[j + 1]
            if n_pos > 0:
                tpr[i, j] = running / n_pos
            else:
                fp_total[j] += running
                tpr[i, j] = np.nan


def _pimo_curves_linspace(
    prep: _Prepared, k: int
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Thresholds, shared FPR and ``(N, K)`` TPR rows at ``k`` linearly spaced thresholds."""
    lo, hi = _normal_range(prep)
    if not hi > lo:
        return _pimo_curves_one_level(prep, k, lo)
    t64, t0, inv_step = _linspace_setup(prep, k, lo, hi)
    n_images = prep.n_images
    tpr = np.empty((n_images, k), np.float64)
    everyone = np.arange(n_images, dtype=np.int64)

    def run(imgs: NDArray[np.int64]) -> NDArray[np.int64]:
        fp = np.zeros(k, np.int64)
        prep.per_batch(
            imgs,
            lambda m, mk, idx, s: _pimo_rows_kernel(
                m, mk, idx, t64, t0, inv_step, tpr[s : s + m.shape[0]], fp
            ),
        )
        return fp

    fp = sum(run_over_images(run, everyone, prep.n_pixels))
    shared_fpr = fp / prep.n_normal_pixels
    return t64, shared_fpr, tpr


def _pimo_curves_one_level(
    prep: _Prepared, k: int, level: float
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """The curves when every normal pixel scores ``level``: ``k`` thresholds all equal to it.

    The linspace between a min and a max that are equal (as ``torch.linspace``): the shared FPR
    is 1 at each of them and each anomalous image's TPR is its share of defect pixels
    ``>= level``; a constant curve, one point repeated ``k`` times.
    """
    tpr = np.full((prep.n_images, k), np.nan)
    for i in prep.anomalous:
        row, mrow = prep.image(int(i))
        defects = row[mrow].astype(np.float64)
        tpr[i] = np.count_nonzero(defects >= level) / defects.shape[0]
    return np.full(k, level), np.ones(k), tpr


# ----------------------------------------------------------------------------------------------
# AUPIMO: the shared FPR near the bounds, then one pass per anomalous image


@njit(cache=True, nogil=True)
def _tail_histogram_kernel(maps, images, t, t0, inv_step, c, hist):  # pragma: no cover
    """Count the listed images' scores ``>= t[c]`` by threshold; return the max score below it.

    ``hist[j - c]`` counts scores positive at exactly ``j + 1`` thresholds (``j >= c``); scores
    below ``t[c]`` cost one comparison. Inputs are not validated; call through `aupimo`.
    """
    tc = t[c]
    below = -np.inf
    for r in range(images.shape[0]):
        row = maps[images[r]]
        for p in range(row.shape[0]):
            x = np.float64(row[p])
            if x < tc:
                if x > below:
                    below = x
                continue
            hist[_bin_index(x, t, t0, inv_step) - c - 1] += 1
    return below


def _shared_fp_tail(
    prep: _Prepared,
    t64: NDArray[np.float64],
    t0: float,
    inv_step: float,
    hi: float,
    prefixes: NDArray[np.int64],
) -> tuple[int, int, NDArray[np.int64]]:
    """Normal pixels ``>= t[j]`` for the thresholds ``j >= c`` that the FPR bounds can select.

    Returns ``(c, j0, fp)``: ``fp[j - c]`` for ``j >= c``; the shared FPR at ``t[c]`` is at least
    ``hi`` (so the thresholds nearest both bounds are ``>= c``), and ``j0 <= c`` is the first
    threshold with the same count as ``t[c]`` (where anomalib's first-nearest rule lands when
    ``t[c]`` is nearest). The normal scores' key-prefix histogram ``prefixes`` finds ``c``: the
    highest prefix with at least the bound's count of scores at or above it, whose lowest value
    is at least the largest threshold ``t[c]`` at or below it; only scores ``>= t[c]`` (about
    ``hi`` of the normal pixels, and the rest of that prefix) are counted exactly.
    """
    k = t64.shape[0]
    rank = prep.normal_rank(hi)
    c = _first_counted_threshold(prefixes, rank, t64, prep.dtype)
    for _ in range(2):

        def fine(imgs: NDArray[np.int64], c: int = c) -> tuple[NDArray[np.int64], float]:
            hist = np.zeros(k - c, np.int64)
            below = [-np.inf]
            prep.per_batch(
                imgs,
                lambda m, _k, idx, _s: below.append(
                    _tail_histogram_kernel(m, idx, t64, t0, inv_step, c, hist)
                ),
            )
            return hist, max(below)

        parts = run_over_images(fine, prep.normal, prep.n_pixels)
        fp = np.cumsum(sum(p[0] for p in parts)[::-1])[::-1]
        if fp[0] >= rank or c == 0:
            break
        c = 0  # pragma: no cover - the margin failed: count everything
    below = max(p[1] for p in parts)
    j0 = c if c == 0 else min(c, int(np.searchsorted(t64, below, side="right")))
    return c, j0, fp


def _index_at_fpr(shared_fpr: NDArray[np.float64], level: float) -> int:
    """anomalib's threshold index for an FPR level: nearest point, first on ties (no cut)."""
    if level == 1.0:
        return int(np.flatnonzero(shared_fpr == 1.0)[-1])
    return int(np.argmin(np.abs(shared_fpr - level)))


def _integration_range(
    c: int,
    j0: int,
    fp: NDArray[np.int64],
    n_normal_pixels: int,
    lo: float,
    hi: float,
    k: int,
    force: bool,
) -> tuple[int, int, int, NDArray[np.float64]]:
    """anomalib's rules for the linspace integration range, from the shared FP counts.

    ``fp`` holds the normal pixels ``>=`` thresholds ``c .. k - 1`` (thresholds ``j0 .. c``
    share the count at ``c``). Returns the threshold indices ``a < b`` nearest the upper and the
    lower FPR bound, the number of points and ``ln(shared FPR)`` over ``a .. b``; warns or
    raises as anomalib does when the range is inexact or too short. Shared by the in-memory and
    the out-of-core AUPIMO.
    """
    tail_fpr = fp / n_normal_pixels  # shared FPR at thresholds c, c + 1, ..., k - 1
    if lo < tail_fpr[-1]:
        raise _unreachable_error(lo, int(fp[-1]), n_normal_pixels)
    # the upper FPR bound is the lower threshold; thresholds j0..c share the FPR at c
    a, b = (c + _index_at_fpr(tail_fpr, level) for level in (hi, lo))
    a, b = (j0 if idx == c else idx for idx in (a, b))
    shared_fpr = np.concatenate((np.full(c - j0, tail_fpr[0]), tail_fpr))  # from j0 on
    for level, idx, name in ((lo, b, "lower"), (hi, a, "upper")):
        got = float(shared_fpr[idx - j0])
        if abs(got - level) > 1e-2 * level:
            warn_advice(
                f"The {name} bound of the shared FPR integration range is not exactly achieved: "
                f"the nearest of the {k} thresholds has shared FPR {got:.6g} for {level:g} (not "
                "within 1 %). Increase `num_thresholds` or use `num_thresholds=None` (exact)."
            )
    if a >= b:
        raise RuntimeError(
            f"The thresholds corresponding to the given `fpr_bounds` are not valid: both bounds "
            f"({lo:g}, {hi:g}) fall on the same threshold index {a} of {k}. Increase "
            "`num_thresholds` or use `num_thresholds=None` (exact)."
        )
    n_points = b - a + 1
    few = (
        "the shared fpr integration range doesn't have enough points. Found "
        f"{n_points} points in the integration range. Try increasing `num_thresholds`"
    )
    if n_points <= _MIN_POINTS:
        if not force:
            raise RuntimeError(
                f"Cannot compute AUPIMO because {few}, use `num_thresholds=None` (the exact "
                "curve) or pass `force=True`."
            )
        warn_advice(f"Cannot compute AUPIMO because {few}. Computation was forced!")
    if n_points < _FEW_POINTS:
        warn_advice(f"The AUPIMO may be inaccurate because {few}.")
    return a, b, n_points, np.log(shared_fpr[a - j0 : b - j0 + 1])


def _trapezoid_weights(log_fpr: NDArray[np.float64]) -> NDArray[np.float64]:
    """What one defect pixel adds to twice the trapezoid of TPR over ``ln(shared FPR)``.

    ``log_fpr[i]`` is ``ln(shared FPR)`` at threshold ``a + i`` (descending in ``i``), and
    ``w[h]`` is the pixel's share when ``a + h`` is the highest threshold of ``a..b`` it is
    positive at: as ``TPR = Y / n`` with ``Y_j`` the pixels positive at threshold ``j``, the
    trapezoid ``sum_j (x_j - x_{j+1}) (Y_j + Y_{j+1}) / 2n`` over ``j = a..b - 1`` is
    ``sum_pixels w[h] / 2n`` with ``w[h] = 2 x_a - x_h - x_{min(h + 1, b)}``. The area is then
    a sum over the image's defect pixels, not over the range's thresholds for every image.
    """
    m = log_fpr.shape[0]
    nxt = log_fpr[np.minimum(np.arange(1, m + 1), m - 1)]
    return (2.0 * log_fpr[0] - log_fpr) - nxt


@njit(cache=True, nogil=True)
def _aupimo_linspace_kernel(
    maps, masks, images, t, t0, inv_step, a, b, weights, out
):  # pragma: no cover - compiled
    """Trapezoid of TPR over ``ln(shared FPR)`` across thresholds ``a..b``, per listed image.

    Each image's defect pixels at or above ``t[a]`` add the weight of the highest threshold of
    ``a..b`` they are positive at (``weights = _trapezoid_weights(ln shared FPR over a..b)``),
    summed with a compensation term (Neumaier), so no per-image histogram or ``(N, K)`` curve
    is built; those below ``t[a]`` are counted after one comparison. The mask is read eight
    pixels at a time (most of its words are all background). Inputs are not validated; call
    through `aupimo`.
    """
    ta = t[a]
    d = masks.shape[1]
    whole = d - d % 8
    for r in range(images.shape[0]):
        i = images[r]
        row = maps[i]
        mrow = masks[i]
        words = mrow[:whole].view(np.uint64)
        n_pos = 0
        total = 0.0
        comp = 0.0
        for w in range(words.shape[0] + 1):
            if w < words.shape[0]:
                if words[w] == 0:
                    continue
                start, stop = w * 8, w * 8 + 8
            else:
                start, stop = whole, d
            for p in range(start, stop):
                if not mrow[p]:
                    continue
                n_pos += 1
                x = np.float64(row[p])
                if x < ta:
                    continue
                c = _bin_index(x, t, t0, inv_step)
                if c > b + 1:
                    c = b + 1
                v = weights[c - a - 1]
                s = total + v
                if abs(total) >= abs(v):
                    comp += (total - s) + v
                else:
                    comp += (v - s) + total
                total = s
        out[i] = (total + comp) / (2.0 * n_pos)


def _aupimo_linspace(
    prep: _Prepared, lo: float, hi: float, k: int, force: bool
) -> tuple[NDArray[np.float64], int, tuple[float, float]]:
    """Per-image trapezoids (not yet normalised), points in the range, thresholds at the bounds."""
    score_lo, score_hi, prefixes = _normal_range_and_prefixes(prep)
    if not score_hi > score_lo:  # every normal pixel ties: the shared FPR is 1 at every threshold
        raise prep.unreachable_error(lo, prep.n_normal_pixels)
    t64, t0, inv_step = _linspace_setup(prep, k, score_lo, score_hi)
    c, j0, fp = _shared_fp_tail(prep, t64, t0, inv_step, hi, prefixes)
    a, b, n_points, log_fpr = _integration_range(c, j0, fp, prep.n_normal_pixels, lo, hi, k, force)
    out = np.zeros(prep.n_images, np.float64)
    weights = _trapezoid_weights(log_fpr)
    run_over_images(
        lambda imgs: prep.per_batch(
            imgs,
            lambda m, mk, idx, s: _aupimo_linspace_kernel(
                m, mk, idx, t64, t0, inv_step, a, b, weights, out[s : s + m.shape[0]]
            ),
        ),
        prep.anomalous,
        prep.n_pixels,
    )
    return out, int(n_points), (float(t64[a]), float(t64[b]))
