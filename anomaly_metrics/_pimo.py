"""PIMO curves and AUPIMO (Bertoldo et al., BMVC 2024): per-image overlap at a shared low FPR.

Definitions (as the paper and anomalib 2.7)
    An image is *anomalous* iff its mask has a defect pixel, else *normal*. At a threshold ``t``
    a pixel is positive iff ``float64(score) >= float64(t)``. The **shared FPR** at ``t`` is the
    mean over normal images of their per-image FPR (every normal image has ``H * W`` pixels, so it
    equals the pooled count ``#normal pixels >= t / #normal pixels``, computed exactly that way).
    The PIMO curve of an anomalous image is its own TPR against the shared FPR; AUPIMO is its area
    over ``ln(shared FPR)`` between two FPR bounds, divided by ``ln(upper / lower)``.

Two curves
    *Binned* (``num_thresholds=K``, default 300 000, the published definition): ``K`` thresholds
    linearly spaced between the min and max of the normal images' scores; the integral is the
    trapezoid over the thresholds whose shared FPR is nearest each bound (no interpolation).
    *Exact* (``num_thresholds=None``): one curve point per distinct score, cut exactly at the
    bounds by linear interpolation in ``ln(FPR)``.

How it is fast (AUPIMO never builds the ``(N, K)`` curves)
    Binned: a coarse, cache-resident histogram of the normal scores locates the threshold where
    the shared FPR crosses the upper bound; only the normal scores above it (about ``upper`` of
    them) are binned against the thresholds (a computed index corrected against the actual
    thresholds, so comparisons stay exact), which gives the shared FPR at every threshold the
    bounds can select. One pass per anomalous image then bins its defect pixels into the
    selected range only and integrates on the fly.
    Exact: a radix selection on the bit patterns of the normal scores finds the top
    ``upper * #normal`` of them (2-4 streaming passes, no sort of the rest); only those few
    thousand values become curve levels, and each anomalous image counts its defect pixels into
    the levels' ties and gaps. Both parallelise over images with threads (the kernels release
    the GIL).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, TypeVar

import numpy as np
from numba import njit
from numpy.typing import NDArray

from ._keys import order_key
from ._parallel import run_over_images
from ._validation import check_map_batches as _check_map_batches
from ._validation import check_maps_and_masks, check_real
from ._warnings import _stacklevel

__all__ = ["AupimoResult", "PimoCurves", "aupimo", "pimo_curves"]

_T = TypeVar("_T")

# Radix selection stops refining once the candidate bucket holds at most this many values.
_SELECT_BUCKET_MAX = 1 << 16
# anomalib's point-count rules for the binned integral.
_MIN_POINTS = 30
_FEW_POINTS = 300


class PimoCurves(NamedTuple):
    """Per-image overlap curves (see :func:`pimo_curves`)."""

    thresholds: NDArray[np.float64]  # (K,) ascending
    shared_fpr: NDArray[np.float64]  # (K,) non-increasing
    per_image_tpr: NDArray[np.float64]  # (N, K) non-increasing rows; nan rows for normal images
    image_classes: NDArray[np.int32]  # (N,) 1 anomalous, 0 normal


class AupimoResult(NamedTuple):
    """Area under the per-image overlap curves (see :func:`aupimo`)."""

    per_image: NDArray[np.float64]  # (N,) in [0, 1]; nan for normal images
    mean: float  # mean of per_image over the anomalous images
    num_points: int  # curve points (shared-FPR abscissae) in the integral
    fpr_bounds: tuple[float, float]
    threshold_bounds: tuple[float, float]  # (threshold at the upper FPR bound, at the lower one)
    image_classes: NDArray[np.int32]  # (N,) 1 anomalous, 0 normal


# ----------------------------------------------------------------------------------------------
# small helpers


def _warn(message: str) -> None:
    warnings.warn(message, UserWarning, stacklevel=_stacklevel())


def _check_num_thresholds(num_thresholds: Any) -> int | None:
    if num_thresholds is None:
        return None
    if isinstance(num_thresholds, (bool, np.bool_)) or not isinstance(
        num_thresholds, (int, np.integer)
    ):
        raise TypeError(
            f"`num_thresholds` must be an int >= 2 or None (the exact curve), got "
            f"{type(num_thresholds).__name__} {num_thresholds!r}."
        )
    if num_thresholds < 2:
        raise ValueError(
            f"`num_thresholds` must be an int >= 2 or None (the exact curve), got {num_thresholds}."
        )
    return int(num_thresholds)


def _check_fpr_bounds(fpr_bounds: Any) -> tuple[float, float]:
    if isinstance(fpr_bounds, (str, bytes)) or not isinstance(fpr_bounds, (Sequence, np.ndarray)):
        raise TypeError(
            f"`fpr_bounds` must be a pair (lower, upper) of FPRs, got {type(fpr_bounds).__name__} "
            f"{fpr_bounds!r}."
        )
    if len(fpr_bounds) != 2:
        raise ValueError(
            f"`fpr_bounds` must be a pair (lower, upper) of FPRs, got {len(fpr_bounds)} values."
        )
    lo = check_real(fpr_bounds[0], "fpr_bounds[0]")
    hi = check_real(fpr_bounds[1], "fpr_bounds[1]")
    if not 0.0 < lo < 1.0:
        raise ValueError(f"`fpr_bounds[0]` (the lower FPR) must be in (0, 1), got {lo}.")
    if not 0.0 < hi <= 1.0:
        raise ValueError(f"`fpr_bounds[1]` (the upper FPR) must be in (0, 1], got {hi}.")
    if not lo < hi:
        raise ValueError(
            f"`fpr_bounds` must be increasing (lower < upper), got ({lo}, {hi}): swap them?"
        )
    return lo, hi


class _Prepared(NamedTuple):
    """Checked images as consecutive batches (one batch for the public functions)."""

    batches: list[tuple[NDArray[Any], NDArray[np.bool_]]]  # (B, D) maps (one dtype), masks
    starts: NDArray[np.int64]  # (n_batches + 1,) first image of each batch, then N
    classes: NDArray[np.int32]  # (N,)
    normal: NDArray[np.int64]  # indices of normal images
    anomalous: NDArray[np.int64]  # indices of anomalous images

    @property
    def n_images(self) -> int:
        return int(self.starts[-1])

    @property
    def n_pixels(self) -> int:
        """Pixels per image."""
        return int(self.batches[0][0].shape[1])

    @property
    def dtype(self) -> np.dtype[Any]:
        return self.batches[0][0].dtype

    def image(self, i: int) -> tuple[NDArray[Any], NDArray[np.bool_]]:
        """Scores and mask of image ``i``, flat."""
        b = int(np.searchsorted(self.starts, i, side="right")) - 1
        maps, masks = self.batches[b]
        j = i - int(self.starts[b])
        return maps[j], masks[j]


def _per_batch(
    prep: _Prepared,
    images: NDArray[np.int64],
    call: Callable[[NDArray[Any], NDArray[np.bool_], NDArray[np.int64], int], object],
) -> None:
    """``call(maps, masks, local_images, start)`` for each batch holding some of ``images``.

    ``images`` are ascending global indices; ``local_images`` index the batch's ``(B, D)``
    arrays, and ``start`` is the batch's first global index (per-image outputs are written to
    ``out[start : start + B]``).
    """
    if len(prep.batches) == 1:
        maps, masks = prep.batches[0]
        call(maps, masks, images, 0)
        return
    cuts = np.searchsorted(images, prep.starts)
    for b, (maps, masks) in enumerate(prep.batches):
        lo, hi = int(cuts[b]), int(cuts[b + 1])
        if hi > lo:
            start = int(prep.starts[b])
            call(maps, masks, images[lo:hi] - start, start)


def _prepare(anomaly_maps: Any, masks: Any) -> _Prepared:
    return _prepared([check_maps_and_masks(anomaly_maps, masks)])


def _prepare_batches(anomaly_maps: Sequence[Any], masks: Sequence[Any]) -> _Prepared:
    return _prepared(_check_map_batches(anomaly_maps, masks))


def _prepared(batches: list[tuple[NDArray[Any], NDArray[np.bool_]]]) -> _Prepared:
    flat = [(m.reshape(m.shape[0], -1), k.reshape(k.shape[0], -1)) for m, k in batches]
    sizes = [m.shape[0] for m, _ in flat]
    starts = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
    n = int(starts[-1])
    is_anomalous = np.concatenate([k.any(axis=1) for _, k in flat])
    normal = np.flatnonzero(~is_anomalous).astype(np.int64)
    anomalous = np.flatnonzero(is_anomalous).astype(np.int64)
    if normal.size == 0:
        raise ValueError(
            "`masks` must mark at least one normal image (a mask without defect pixels): the "
            f"shared FPR is defined by normal images, got {n} anomalous and 0 normal images."
        )
    if anomalous.size == 0:
        raise ValueError(
            "`masks` must mark at least one anomalous image (a mask with defect pixels): AUPIMO "
            f"scores anomalous images, got {n} normal and 0 anomalous images."
        )
    return _Prepared(flat, starts, is_anomalous.astype(np.int32), normal, anomalous)


def _unreachable_error(lo: float, n_top: int, n_normal_pixels: int) -> ValueError:
    smallest = n_top / n_normal_pixels
    needed = math.ceil(n_top / lo)
    top = "1 normal pixel has" if n_top == 1 else f"{n_top} normal pixels share"
    return ValueError(
        f"`fpr_bounds[0]` must be at least the smallest shared FPR the data can reach, "
        f"{smallest:.4g} ({top} the highest normal score, out of {n_normal_pixels} normal "
        f"pixels), got {lo:g}: a lower bound of {lo:g} needs at least {needed} normal pixels. "
        "Add normal images or raise `fpr_bounds[0]`."
    )


# ----------------------------------------------------------------------------------------------
# binned thresholds (the published definition)


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
            x = np.float64(row[p])
            if x < lo:
                lo = x
            if x > hi:
                hi = x
    return lo, hi


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


@njit(cache=True, nogil=True)
def _aupimo_binned_kernel(
    maps, masks, images, t, t0, inv_step, a, b, log_fpr, out
):  # pragma: no cover - compiled
    """Trapezoid of TPR over ``ln(shared FPR)`` across thresholds ``a..b``, per listed image.

    Each image's defect pixels are binned into the threshold range only (those below
    ``t[a]`` are skipped after one comparison); the TPR at each threshold is a suffix sum of
    the bins, integrated on the fly in ascending-FPR order, so no ``(N, K)`` curve is built.
    ``log_fpr[j - a]`` is ``ln(shared FPR)`` at threshold ``j``. Inputs are not validated; call
    through `aupimo`.
    """
    m = b - a + 1
    hist = np.zeros(m, np.int64)
    ta = t[a]
    for r in range(images.shape[0]):
        i = images[r]
        row = maps[i]
        mrow = masks[i]
        hist[:] = 0
        n_pos = 0
        for p in range(row.shape[0]):
            if not mrow[p]:
                continue
            n_pos += 1
            x = np.float64(row[p])
            if x < ta:
                continue
            c = _bin_index(x, t, t0, inv_step)
            if c > b + 1:
                c = b + 1
            hist[c - a - 1] += 1
        area = 0.0
        running = 0
        x_prev = 0.0
        y_prev = 0.0
        for j in range(b, a - 1, -1):  # ascending shared FPR
            running += hist[j - a]
            y = running / n_pos
            x = log_fpr[j - a]
            if j < b:
                area += (x - x_prev) * (y + y_prev) * 0.5
            x_prev = x
            y_prev = y
        out[i] = area


def _binned_setup(
    prep: _Prepared, k: int
) -> tuple[NDArray[Any], NDArray[np.float64], float, float]:
    """Thresholds (maps' dtype and float64), their origin and inverse step, for the kernels."""

    def minmax(imgs: NDArray[np.int64]) -> list[tuple[float, float]]:
        found: list[tuple[float, float]] = []
        _per_batch(prep, imgs, lambda m, _k, idx, _s: found.append(_minmax_kernel(m, idx)))
        return found

    parts = [p for found in run_over_images(minmax, prep.normal, prep.n_pixels) for p in found]
    lo = min(p[0] for p in parts)
    hi = max(p[1] for p in parts)
    if not hi > lo:
        raise ValueError(
            f"`anomaly_maps` of the normal images must not all be equal to build thresholds "
            f"between their min and max, got every normal pixel = {lo:g}: the shared FPR can "
            "only be 0 or 1."
        )
    t = _linspace_thresholds(lo, hi, k, prep.dtype)
    if not np.all(t[1:] > t[:-1]):
        raise ValueError(
            f"`num_thresholds` = {k} is too many for the {prep.dtype} resolution of the normal "
            f"scores' range [{lo:g}, {hi:g}]: the thresholds are not strictly increasing. Use "
            "fewer thresholds, float64 maps, or `num_thresholds=None` (the exact curve)."
        )
    t64 = t.astype(np.float64)
    inv_step = (k - 1) / (t64[-1] - t64[0])
    return t, t64, float(t64[0]), float(inv_step)


@njit(cache=True, nogil=True)
def _coarse_histogram_kernel(maps, images, t0, scale, hist):  # pragma: no cover - compiled
    """``hist[b]`` += the listed images' scores in coarse bin ``b`` of ``[t0, max]`` (linear).

    A small (cache-resident) histogram that locates the threshold range the FPR bounds need
    before the exact binning. Inputs are not validated; call through `aupimo`.
    """
    g = hist.shape[0]
    for r in range(images.shape[0]):
        row = maps[images[r]]
        for p in range(row.shape[0]):
            f = (np.float64(row[p]) - t0) * scale
            if f < 0.0:
                b = 0
            elif f >= g:
                b = g - 1
            else:
                b = np.int64(f)
            hist[b] += 1


@njit(cache=True, nogil=True)
def _tail_histogram_kernel(maps, images, t, t0, inv_step, c, hist):  # pragma: no cover
    """Bin the listed images' scores ``>= t[c]`` by threshold; return the max score below it.

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


_COARSE_BINS = 4096


def _rank_for_fpr(level: float, n: int) -> int:
    """The fewest of ``n`` pixels whose fraction, computed in float64, is ``>= level``."""
    rank = max(1, min(n, math.ceil(level * n)))
    while rank > 1 and (rank - 1) / n >= level:
        rank -= 1
    while rank < n and rank / n < level:
        rank += 1
    return rank


def _shared_fp_tail(
    prep: _Prepared, t64: NDArray[np.float64], t0: float, inv_step: float, hi: float
) -> tuple[int, int, NDArray[np.int64]]:
    """Normal pixels ``>= t[j]`` for the thresholds ``j >= c`` that the FPR bounds can select.

    Returns ``(c, j0, fp)``: ``fp[j - c]`` for ``j >= c``; the shared FPR at ``t[c]`` is at least
    ``hi`` (so the thresholds nearest both bounds are ``>= c``), and ``j0 <= c`` is the first
    threshold with the same count as ``t[c]`` (where anomalib's first-nearest rule lands when
    ``t[c]`` is nearest). A coarse histogram finds ``c``; only scores ``>= t[c]`` (about ``hi``
    of the normal pixels) are binned exactly.
    """
    k = t64.shape[0]
    n_normal_pixels = prep.normal.shape[0] * prep.n_pixels
    rank = _rank_for_fpr(hi, n_normal_pixels)
    scale = _COARSE_BINS * inv_step / (k - 1)

    def coarse(imgs: NDArray[np.int64]) -> NDArray[np.int64]:
        hist = np.zeros(_COARSE_BINS, np.int64)
        _per_batch(
            prep, imgs, lambda m, _k, idx, _s: _coarse_histogram_kernel(m, idx, t0, scale, hist)
        )
        return hist

    hist = sum(run_over_images(coarse, prep.normal, prep.n_pixels))
    above = np.cumsum(hist[::-1])[::-1]
    b = int(np.flatnonzero(above >= rank)[-1])
    c = max(0, math.floor(b * (k - 1) / _COARSE_BINS) - 2)  # a margin for rounding
    for _ in range(2):

        def fine(imgs: NDArray[np.int64], c: int = c) -> tuple[NDArray[np.int64], float]:
            hist = np.zeros(k - c, np.int64)
            below = [-np.inf]
            _per_batch(
                prep,
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
        c = 0  # pragma: no cover - the margin failed: bin everything
    below = max(p[1] for p in parts)
    j0 = c if c == 0 else min(c, int(np.searchsorted(t64, below, side="right")))
    return c, j0, fp


def _index_at_fpr(shared_fpr: NDArray[np.float64], level: float) -> int:
    """anomalib's threshold index for an FPR level: nearest point, first on ties (no cut)."""
    if level == 1.0:
        return int(np.flatnonzero(shared_fpr == 1.0)[-1])
    return int(np.argmin(np.abs(shared_fpr - level)))


# ----------------------------------------------------------------------------------------------
# exact curve: radix selection of the top normal scores


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
        _per_batch(
            prep,
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

    _per_batch(prep, prep.normal, collect)
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
            left = 0
            right = m
            while left < right:
                mid = (left + right) >> 1
                if w[mid] < x:
                    left = mid + 1
                else:
                    right = mid
            if left < m and w[left] == x:
                eq[left] += 1
            else:
                gap[left] += 1
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


# ----------------------------------------------------------------------------------------------
# public functions


def pimo_curves(
    anomaly_maps: Any, masks: Any, *, num_thresholds: int | None = 300_000
) -> PimoCurves:
    """Per-image overlap (PIMO) curves: each anomalous image's TPR against the shared FPR.

    Parameters
    ----------
    anomaly_maps : array-like of shape (N, H, W), (N, 1, H, W) or (H, W)
        Pixel anomaly scores, higher means more anomalous; float16/32/64 or int, finite.
    masks : array-like, same shape as `anomaly_maps`
        Ground truth, bool or 0/1: True marks defect pixels. An image whose mask has no defect
        pixel is *normal*, otherwise *anomalous*. At least one of each is needed.
    num_thresholds : int >= 2 or None, default 300_000
        ``K`` thresholds linearly spaced between the min and the max of the normal images'
        scores (anomalib's and the paper's binned curve; computed in the maps' dtype with
        ``torch.linspace``'s element formula). ``None`` gives the exact curve: every distinct
        score of the normal images and of the defect pixels within that range is a threshold.

    Returns
    -------
    PimoCurves
        ``thresholds`` (K,) float64, ascending (values of the maps' dtype);
        ``shared_fpr`` (K,) float64, non-increasing: the mean over normal images of their FPR;
        ``per_image_tpr`` (N, K) float64: each anomalous image's TPR, ``nan`` rows for normal
        images; ``image_classes`` (N,) int32: 1 anomalous, 0 normal.

    Raises
    ------
    TypeError
        Non-numeric maps or masks, or a non-integer `num_thresholds`.
    ValueError
        Shapes that differ or are not (N, H, W) / (N, 1, H, W) / (H, W), non-finite scores, masks
        not in {0, 1}, no normal or no anomalous image, `num_thresholds` < 2, all normal scores
        equal (binned), or more thresholds than the dtype resolves in that range.

    See Also
    --------
    aupimo : the area under these curves in a low-FPR range, without building them.

    Notes
    -----
    A pixel is positive at threshold ``t`` iff ``float64(score) >= float64(t)``. The shared FPR
    is computed as ``#normal pixels >= t / #normal pixels``, which equals the mean of the
    per-image FPRs of normal images (all images have ``H * W`` pixels) and is correctly
    rounded. The curves take ``N * K * 8`` bytes; the exact curve of a real data set has
    millions of thresholds, so use :func:`aupimo` for the area.

    References
    ----------
    J. P. C. Bertoldo, D. Ameln, A. Vaidya, S. Akçay, "AUPIMO: Redefining Visual Anomaly
    Detection Benchmarks with High Speed and Low Tolerance", BMVC 2024, arXiv:2401.01984.

    Examples
    --------
    One normal image (90 pixels at 1, 9 at 2, one at 3) and two anomalous copies of it, one fully
    defective, one with the first 10 pixels defective:

    >>> import numpy as np
    >>> import anomaly_metrics as am
    >>> image = np.ones((10, 10), np.float32)
    >>> image.flat[:10] = 2.0
    >>> image.flat[0] = 3.0
    >>> maps = np.stack([image, image, image])
    >>> masks = np.zeros((3, 10, 10), bool)
    >>> masks[1] = True
    >>> masks[2].flat[:10] = True
    >>> curves = am.pimo_curves(maps, masks, num_thresholds=3)
    >>> curves.thresholds.tolist(), curves.shared_fpr.tolist()
    ([1.0, 2.0, 3.0], [1.0, 0.1, 0.01])
    >>> curves.per_image_tpr.tolist()
    [[nan, nan, nan], [1.0, 0.1, 0.01], [1.0, 1.0, 0.1]]
    >>> curves.image_classes.tolist()
    [0, 1, 1]
    """
    k = _check_num_thresholds(num_thresholds)
    return _pimo_curves_prepared(_prepare(anomaly_maps, masks), k)


def _pimo_curves_prepared(prep: _Prepared, k: int | None) -> PimoCurves:
    if k is None:
        return _pimo_curves_exact(prep)
    _, t64, t0, inv_step = _binned_setup(prep, k)
    n_images = prep.n_images
    tpr = np.empty((n_images, k), np.float64)
    everyone = np.arange(n_images, dtype=np.int64)

    def run(imgs: NDArray[np.int64]) -> NDArray[np.int64]:
        fp = np.zeros(k, np.int64)
        _per_batch(
            prep,
            imgs,
            lambda m, mk, idx, s: _pimo_rows_kernel(
                m, mk, idx, t64, t0, inv_step, tpr[s : s + m.shape[0]], fp
            ),
        )
        return fp

    fp = sum(run_over_images(run, everyone, prep.n_pixels))
    shared_fpr = fp / (prep.normal.shape[0] * prep.n_pixels)
    return PimoCurves(t64, shared_fpr, tpr, prep.classes)


def _pimo_curves_exact(prep: _Prepared) -> PimoCurves:
    """The exact curves: a threshold at every distinct relevant score (full sorts; no target)."""
    normal: list[NDArray[Any]] = []
    _per_batch(prep, prep.normal, lambda m, _k, idx, _s: normal.append(m[idx].reshape(-1)))
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
    return PimoCurves(thresholds, shared_fpr, tpr, prep.classes)


def aupimo(
    anomaly_maps: Any,
    masks: Any,
    *,
    fpr_bounds: tuple[float, float] = (1e-5, 1e-4),
    num_thresholds: int | None = 300_000,
    force: bool = False,
) -> AupimoResult:
    """Area under each anomalous image's PIMO curve in a low shared-FPR range (AUPIMO).

    Parameters
    ----------
    anomaly_maps : array-like of shape (N, H, W), (N, 1, H, W) or (H, W)
        Pixel anomaly scores, higher means more anomalous; float16/32/64 or int, finite.
    masks : array-like, same shape as `anomaly_maps`
        Ground truth, bool or 0/1; images without defect pixels are normal. At least one normal
        and one anomalous image.
    fpr_bounds : (float, float), default (1e-5, 1e-4)
        Shared-FPR range ``(lower, upper)``, ``0 < lower < upper <= 1``.
    num_thresholds : int >= 2 or None, default 300_000
        The binned curve of anomalib and the paper (see :func:`pimo_curves`), or ``None`` for
        the exact curve.
    force : bool, default False
        Binned curve only: integrate even when the range holds 30 points or fewer (otherwise a
        ``RuntimeError``, as anomalib).

    Returns
    -------
    AupimoResult
        ``per_image`` (N,) float64 in [0, 1], ``nan`` for normal images; ``mean``: their mean
        over the anomalous images; ``num_points``: the curve points (distinct shared FPRs,
        including the cuts of the exact mode) in the integral; ``fpr_bounds`` as given;
        ``threshold_bounds``: the thresholds at the upper and at the lower FPR bound (ascending;
        exact mode: the lowest distinct normal score whose shared FPR does not exceed each
        bound); ``image_classes`` (N,) int32, 1 anomalous, 0 normal.

    Raises
    ------
    TypeError, ValueError
        As :func:`pimo_curves`, plus bad `fpr_bounds` or `force`. A lower bound below the
        smallest reachable shared FPR (too few normal pixels; anomalib issue #2939) is a
        ``ValueError`` stating that FPR and how many normal pixels the bound needs.
    RuntimeError
        Binned curve: 30 points or fewer in the range without `force`, or both bounds on the
        same threshold (anomalib's exceptions and messages).

    Warns
    -----
    UserWarning
        Binned curve: fewer than 300 points in the range, a forced computation, or a bound
        whose nearest shared FPR is more than 1 % away from it (anomalib logs the same).

    See Also
    --------
    pimo_curves : the full curves.

    Notes
    -----
    Binned (the published definition, reproduces anomalib 2.7): the thresholds whose shared
    FPR is nearest each bound delimit the integral, ``np.trapezoid(tpr, ln(shared_fpr))`` over
    them, divided by ``ln(upper / lower)`` (the nominal bounds) and clipped to [0, 1].

    Exact (``num_thresholds=None``): the curve has a point at every distinct score. Between two
    consecutive distinct normal scores the shared FPR is constant while the TPR rises
    (vertical steps); at a normal score the FPR jumps, together with the TPR of defect pixels
    tied with it (a diagonal). The area under this polyline in ``(ln FPR, TPR)`` is taken
    exactly from ``ln(lower)`` to ``ln(upper)``, cutting the segments that cross the bounds by
    linear interpolation, then normalised the same way. It differs from the binned value
    where a bound falls between curve points or defect scores fall between thresholds; the
    two agree when every distinct score is a threshold and the bounds are curve points.

    The computation never builds the ``(N, K)`` curves: only the thresholds inside the FPR
    range (the top ~``upper`` fraction of the normal pixels) need per-image counts. Memory
    beyond the inputs is ``O(K + top normal pixels)`` plus a small buffer per thread.

    References
    ----------
    J. P. C. Bertoldo, D. Ameln, A. Vaidya, S. Akçay, "AUPIMO: Redefining Visual Anomaly
    Detection Benchmarks with High Speed and Low Tolerance", BMVC 2024, arXiv:2401.01984.

    Examples
    --------
    The data of :func:`pimo_curves`: the first anomalous image scores like the normal one, the
    second ranks its defects on top.

    >>> import numpy as np
    >>> import anomaly_metrics as am
    >>> image = np.ones((10, 10), np.float32)
    >>> image.flat[:10] = 2.0
    >>> image.flat[0] = 3.0
    >>> maps = np.stack([image, image, image])
    >>> masks = np.zeros((3, 10, 10), bool)
    >>> masks[1] = True
    >>> masks[2].flat[:10] = True
    >>> result = am.aupimo(maps, masks, fpr_bounds=(0.01, 0.1), num_thresholds=None)
    >>> result.per_image.round(6).tolist(), round(result.mean, 6)
    ([nan, 0.055, 0.55], 0.3025)
    >>> result.threshold_bounds, result.num_points
    ((2.0, 3.0), 2)
    >>> binned = am.aupimo(maps, masks, fpr_bounds=(0.01, 0.1))  # 300 000 thresholds
    >>> round(binned.mean, 6)
    0.3025
    """
    k, lo, hi, forced = _check_aupimo_options(fpr_bounds, num_thresholds, force)
    return _aupimo_prepared(_prepare(anomaly_maps, masks), lo, hi, k, forced)


def _check_aupimo_options(
    fpr_bounds: Any, num_thresholds: Any, force: Any
) -> tuple[int | None, float, float, bool]:
    k = _check_num_thresholds(num_thresholds)
    lo, hi = _check_fpr_bounds(fpr_bounds)
    if not isinstance(force, (bool, np.bool_)):
        raise TypeError(f"`force` must be a bool, got {type(force).__name__} {force!r}.")
    return k, lo, hi, bool(force)


def _aupimo_batches(
    anomaly_maps: Sequence[Any],
    masks: Sequence[Any],
    *,
    fpr_bounds: tuple[float, float] = (1e-5, 1e-4),
    num_thresholds: int | None = 300_000,
    force: bool = False,
) -> AupimoResult:
    """`aupimo` of the concatenation of ``(B, H, W)`` batches, without concatenating them.

    The same result bit for bit, warnings and errors as ``aupimo(np.concatenate(anomaly_maps),
    np.concatenate(masks), ...)``: the kernels run batch by batch over the same image chunks
    and their counts are summed (the torch adapter's path: no copy of the stored maps).
    """
    k, lo, hi, forced = _check_aupimo_options(fpr_bounds, num_thresholds, force)
    return _aupimo_prepared(_prepare_batches(anomaly_maps, masks), lo, hi, k, forced)


def _pimo_curves_batches(
    anomaly_maps: Sequence[Any], masks: Sequence[Any], *, num_thresholds: int | None = 300_000
) -> PimoCurves:
    """`pimo_curves` of the concatenation of ``(B, H, W)`` batches, without concatenating them.

    The same curves, bit for bit, and errors as on the concatenation (see `_aupimo_batches`).
    """
    k = _check_num_thresholds(num_thresholds)
    return _pimo_curves_prepared(_prepare_batches(anomaly_maps, masks), k)


def _aupimo_prepared(
    prep: _Prepared, lo: float, hi: float, k: int | None, force: bool
) -> AupimoResult:
    if k is None:
        per_image, num_points, thr_bounds = _aupimo_exact(prep, lo, hi)
    else:
        per_image, num_points, thr_bounds = _aupimo_binned(prep, lo, hi, k, force)
    per_image = np.clip(per_image / math.log(hi / lo), 0.0, 1.0)
    per_image[prep.normal] = np.nan
    mean = float(np.mean(per_image[prep.anomalous]))
    return AupimoResult(per_image, mean, num_points, (lo, hi), thr_bounds, prep.classes)


def _aupimo_binned(
    prep: _Prepared, lo: float, hi: float, k: int, force: bool
) -> tuple[NDArray[np.float64], int, tuple[float, float]]:
    _, t64, t0, inv_step = _binned_setup(prep, k)
    c, j0, fp = _shared_fp_tail(prep, t64, t0, inv_step, hi)
    n_normal_pixels = prep.normal.shape[0] * prep.n_pixels
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
            _warn(
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
        _warn(f"Cannot compute AUPIMO because {few}. Computation was forced!")
    if n_points < _FEW_POINTS:
        _warn(f"The AUPIMO may be inaccurate because {few}.")
    log_fpr = np.log(shared_fpr[a - j0 : b - j0 + 1])
    out = np.zeros(prep.n_images, np.float64)
    run_over_images(
        lambda imgs: _per_batch(
            prep,
            imgs,
            lambda m, mk, idx, s: _aupimo_binned_kernel(
                m, mk, idx, t64, t0, inv_step, a, b, log_fpr, out[s : s + m.shape[0]]
            ),
        ),
        prep.anomalous,
        prep.n_pixels,
    )
    return out, int(n_points), (float(t64[a]), float(t64[b]))


def _aupimo_exact(
    prep: _Prepared, lo: float, hi: float
) -> tuple[NDArray[np.float64], int, tuple[float, float]]:
    n_normal_pixels = prep.normal.shape[0] * prep.n_pixels
    # the fewest top normal pixels whose shared FPR reaches `hi`
    rank = _rank_for_fpr(hi, n_normal_pixels)
    levels, fp = _top_normal_levels(prep, rank)
    shared_fpr = fp / n_normal_pixels
    if lo < shared_fpr[-1]:
        raise _unreachable_error(lo, int(fp[-1]), n_normal_pixels)
    # keep the levels up to the first one at or beyond `hi` (the rest lie outside the range)
    first = int(np.flatnonzero(shared_fpr >= hi)[-1])
    levels, shared_fpr = levels[first:], shared_fpr[first:]
    with np.errstate(divide="ignore"):
        log_f = np.log(shared_fpr)
    out = np.zeros(prep.n_images, np.float64)
    ln_lo, ln_hi = math.log(lo), math.log(hi)
    run_over_images(
        lambda imgs: _per_batch(
            prep,
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
