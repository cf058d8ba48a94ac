"""PIMO curves and AUPIMO as passes over chunks of images (out of core and on Dask).

The in-memory code (:mod:`._pimo`) reads the normal images several times and each anomalous
image's defect pixels once; here each read is a pass over the chunks (see
:mod:`._chunked_metrics` for the runner), with the same kernels and the same float operations:

1. every chunk: image classes, the defect pixels of the anomalous images (the positives, kept
   in memory) and the min / max of the normal images;
2. linspace: the key-prefix histogram of the normal scores and their full histogram against
   the thresholds (one pass); exact: one pass per 16-bit digit of the order keys (radix
   selection of the top normal scores, :mod:`._keys`), then one pass to collect them;
3. in memory: each anomalous image's curve from its gathered defect pixels.

The linspace result emulates the in-memory selection of the threshold range (its key-prefix
histogram decides where the exact counts start) from the full counts, so that the number of
points and the threshold bounds are the same, not only the areas.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

# Kernels and checks of the in-memory PIMO, imported in one place (the split of ``_pimo`` into
# ``_pimo_linspace`` / ``_pimo_exact`` only moves these names).
from ._pimo import (
    AupimoResult,
    PimoCurves,
    _aupimo_without_a_class,
    _curves_without_normal_image,
)
from ._pimo_bounds import _rank_for_fpr, _unreachable_error
from ._pimo_exact import (
    _SELECT_BUCKET_MAX,
    _aupimo_exact_kernel,
    _collect_kernel,
    _key_histogram_kernel,
)
from ._pimo_linspace import (
    _aupimo_linspace_kernel,
    _first_counted_threshold,
    _integration_range,
    _linspace_thresholds,
    _minmax_kernel,
    _pimo_rows_kernel,
    _range_and_prefixes_kernel,
    _tail_histogram_kernel,
    _trapezoid_weights,
)

_Part = dict[str, Any]


def _flat(values: NDArray[Any], labels: NDArray[np.bool_]) -> tuple[NDArray[Any], NDArray[Any]]:
    return values.reshape(values.shape[0], -1), labels.reshape(labels.shape[0], -1)


def _normal(labels: NDArray[np.bool_]) -> NDArray[np.int64]:
    return np.flatnonzero(~labels.any(axis=1)).astype(np.int64)


# ----------------------------------------------------------------------------------------------
# stages


def stage_images(values: NDArray[Any], labels: NDArray[np.bool_], keep_normal: bool) -> _Part:
    """Pass 1: classes, defect pixels (raster order) and their count per image, normal range."""
    maps, gt = _flat(values, labels)
    anomalous = gt.any(axis=1)
    normal = np.flatnonzero(~anomalous).astype(np.int64)
    lo, hi = _minmax_kernel(maps, normal) if normal.size else (np.inf, -np.inf)
    part: _Part = {
        "cat_anomalous": [anomalous],
        "cat_defects": [maps.reshape(-1)[gt.reshape(-1)]],
        "cat_lengths": [np.count_nonzero(gt, axis=1)[anomalous]],
        "min_lo": float(lo),
        "max_hi": float(hi),
        "set_dtype": frozenset({values.dtype.str}),
        "set_image": frozenset({values.shape[1:]}),
    }
    if keep_normal:
        part["cat_normal"] = [maps[normal].reshape(-1)]
    return part


def stage_linspace_counts(
    values: NDArray[Any],
    labels: NDArray[np.bool_],
    t64: NDArray[np.float64],
    t0: float,
    inv_step: float,
    dtype: str,
) -> _Part:
    """Normal scores binned against all thresholds, and their key-prefix histogram (the keys
    of the maps' common ``dtype``, as in memory)."""
    maps, gt = _flat(values, labels)
    normal = _normal(gt)
    k = t64.shape[0]
    fine = np.zeros(k, np.int64)
    prefixes = np.zeros(1 << 16, np.int64)
    if normal.size:
        _tail_histogram_kernel(maps, normal, t64, t0, inv_step, 0, fine)
        _range_and_prefixes_kernel(_bits(maps, dtype)[0], normal, prefixes)
    return {"sum_fine": fine, "sum_prefixes": prefixes}


def stage_rows(
    values: NDArray[Any],
    labels: NDArray[np.bool_],
    t64: NDArray[np.float64],
    t0: float,
    inv_step: float,
) -> _Part:
    """The linspace curves' rows of the chunk's images and its normal images' counts."""
    maps, gt = _flat(values, labels)
    k = t64.shape[0]
    tpr = np.empty((maps.shape[0], k), np.float64)
    fp = np.zeros(k, np.int64)
    everyone = np.arange(maps.shape[0], dtype=np.int64)
    _pimo_rows_kernel(maps, gt, everyone, t64, t0, inv_step, tpr, fp)
    return {"cat_tpr": [tpr], "sum_fp": fp}


def _bits(maps: NDArray[Any], dtype: str) -> tuple[NDArray[Any], NDArray[Any]]:
    maps = maps if maps.dtype.str == dtype else maps.astype(dtype)
    return maps, maps.view(np.int32 if maps.dtype == np.float32 else np.int64)


def stage_key_histogram(
    values: NDArray[Any],
    labels: NDArray[np.bool_],
    dtype: str,
    shift: int,
    prefix: int,
    use_prefix: bool,
) -> _Part:
    """One radix digit's histogram of the chunk's normal scores."""
    maps, gt = _flat(values, labels)
    _, bits = _bits(maps, dtype)
    hist = np.zeros(1 << 16, np.int64)
    sign_shift = 31 if bits.dtype == np.int32 else 63
    _key_histogram_kernel(bits, _normal(gt), sign_shift, shift, prefix, use_prefix, hist)
    return {"sum_hist": hist}


def stage_collect(
    values: NDArray[Any], labels: NDArray[np.bool_], dtype: str, low_key: int
) -> _Part:
    """The chunk's normal scores whose order key is ``>= low_key`` (float64)."""
    maps, gt = _flat(values, labels)
    maps, bits = _bits(maps, dtype)
    normal = _normal(gt)
    out = np.empty(normal.size * maps.shape[1], np.float64)
    sign_shift = 31 if bits.dtype == np.int32 else 63
    n = _collect_kernel(maps, bits, normal, sign_shift, low_key, out)
    return {"cat_top": [out[:n].copy()]}


# ----------------------------------------------------------------------------------------------
# pass 1 and the per-image finish


class Images:
    """Pass 1's result: classes, positives per anomalous image, normal range and dtype."""

    def __init__(self, part: _Part) -> None:
        if len(part["set_image"]) > 1:
            raise ValueError(
                "`anomaly_maps` chunks must all have the same image size, got "
                f"{sorted(part['set_image'])[:4]}."
            )
        (shape,) = part["set_image"]
        self.n_pixels = int(np.prod(shape))
        self.dtype = np.result_type(*sorted(part["set_dtype"]))
        is_anomalous = np.concatenate(part["cat_anomalous"])
        self.classes = is_anomalous.astype(np.int32)
        self.normal = np.flatnonzero(~is_anomalous).astype(np.int64)
        self.anomalous = np.flatnonzero(is_anomalous).astype(np.int64)
        defects = part["cat_defects"]
        self.defects = defects[0] if len(defects) == 1 else np.concatenate(defects)
        self.offsets = np.concatenate(([0], np.cumsum(np.concatenate(part["cat_lengths"]))))
        self.lo, self.hi = part["min_lo"], part["max_hi"]
        self.normal_parts = part.get("cat_normal")

    @property
    def n_normal_pixels(self) -> int:
        return int(self.normal.shape[0] * self.n_pixels)

    def rows(self) -> Any:
        """``(image index, (1, n) defect scores, (1, n) all-True mask)`` per anomalous image."""
        for j, i in enumerate(self.anomalous):
            d = self.defects[self.offsets[j] : self.offsets[j + 1]].reshape(1, -1)
            yield int(i), d, np.ones(d.shape, bool)

    def result(
        self, out: NDArray[np.float64], lo: float, hi: float, n_points: int, thr: Any
    ) -> Any:
        per_image = np.clip(out / math.log(hi / lo), 0.0, 1.0)
        per_image[self.normal] = np.nan
        mean = float(np.mean(per_image[self.anomalous]))
        return AupimoResult(per_image, mean, n_points, (lo, hi), thr, self.classes)


_ONE = np.zeros(1, np.int64)


def linspace_setup(im: Images, k: int) -> tuple[NDArray[np.float64], float, float, str]:
    """The linspace thresholds between the normal scores' min and max (``lo < hi``: the callers
    handle all-equal normal scores as the in-memory code does), their origin, inverse step and
    the maps' common dtype."""
    lo, hi = im.lo, im.hi
    t = _linspace_thresholds(lo, hi, k, im.dtype)
    if not np.all(t[1:] > t[:-1]):
        raise ValueError(
            f"`num_thresholds` = {k} is too many for the {im.dtype} resolution of the normal "
            f"scores' range [{lo:g}, {hi:g}]: the thresholds are not strictly increasing. Use "
            "fewer thresholds, float64 maps, or `num_thresholds=None` (the exact curve)."
        )
    t64 = t.astype(np.float64)
    return t64, float(t64[0]), float((k - 1) / (t64[-1] - t64[0])), im.dtype.str


def aupimo_linspace_finish(
    im: Images, part: _Part, setup: tuple[Any, ...], lo: float, hi: float, k: int, force: bool
) -> Any:
    """AUPIMO (linspace) from pass 1 (``im``) and :func:`stage_linspace_counts` (``part``)."""
    t64, t0, inv_step, _ = setup
    fp_all = np.cumsum(part["sum_fine"][::-1])[::-1]
    n_normal_pixels = im.n_normal_pixels
    rank = _rank_for_fpr(hi, n_normal_pixels)
    # where the in-memory code starts its exact counts (c) and the first threshold with the
    # same count (j0), from its key-prefix histogram and the full counts
    c = _first_counted_threshold(part["sum_prefixes"], rank, t64, im.dtype)
    if fp_all[c] < rank:  # pragma: no cover - the in-memory margin failed
        c = 0
    j0 = c if c == 0 else int(np.flatnonzero(fp_all == fp_all[c])[0])
    fp = fp_all[c:]
    a, b, n_points, log_fpr = _integration_range(c, j0, fp, n_normal_pixels, lo, hi, k, force)
    weights = _trapezoid_weights(log_fpr)
    out = np.zeros(im.classes.shape[0], np.float64)
    for i, d, ones in im.rows():
        _aupimo_linspace_kernel(d, ones, _ONE, t64, t0, inv_step, a, b, weights, out[i : i + 1])
    return im.result(out, lo, hi, int(n_points), (float(t64[a]), float(t64[b])))


def _top_normal_levels(
    runner: Any, im: Images, rank: int
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Radix selection of the top ``rank`` normal scores: one pass per digit, one to collect."""
    dtype = im.dtype.str
    shift = 16 if im.dtype == np.float32 else 48
    prefix, use_prefix, n_above = 0, False, 0
    while True:
        hist = runner.map_reduce(
            "key digit", stage_key_histogram, dtype, shift, prefix, use_prefix
        )["sum_hist"]
        above = np.cumsum(hist[::-1])[::-1]
        d = int(np.flatnonzero(n_above + above >= rank)[-1])
        digit_prefix = ((prefix << 16) | d) if use_prefix else (d - 32768)
        n_above += int(above[d]) - int(hist[d])
        if hist[d] <= _SELECT_BUCKET_MAX or shift == 0:
            break
        prefix, use_prefix, shift = digit_prefix, True, shift - 16
    size = n_above + int(hist[d])
    top = runner.map_reduce("top normal scores", stage_collect, dtype, digit_prefix << shift)
    values = np.concatenate(top["cat_top"])
    if values.size != size:  # pragma: no cover - would be a bug in the selection
        raise AssertionError(f"radix selection collected {values.size} values, expected {size}")
    levels, counts = np.unique(values, return_counts=True)
    return levels, np.cumsum(counts[::-1])[::-1].astype(np.int64)


def _aupimo_exact(runner: Any, im: Images, lo: float, hi: float) -> Any:
    n_normal_pixels = im.n_normal_pixels
    levels, fp = _top_normal_levels(runner, im, _rank_for_fpr(hi, n_normal_pixels))
    shared_fpr = fp / n_normal_pixels
    if lo < shared_fpr[-1]:
        raise _unreachable_error(lo, int(fp[-1]), n_normal_pixels)
    first = int(np.flatnonzero(shared_fpr >= hi)[-1])
    levels, shared_fpr = levels[first:], shared_fpr[first:]
    with np.errstate(divide="ignore"):
        log_f = np.log(shared_fpr)
    out = np.zeros(im.classes.shape[0], np.float64)
    ln_lo, ln_hi = math.log(lo), math.log(hi)
    for i, d, ones in im.rows():
        _aupimo_exact_kernel(d, ones, _ONE, levels, log_f, ln_lo, ln_hi, out[i : i + 1])
    inside = (shared_fpr >= lo) & (shared_fpr <= hi)
    num_points = int(np.count_nonzero(inside))
    num_points += int(not np.any(shared_fpr == lo)) + int(not np.any(shared_fpr == hi))
    thr = (
        float(levels[np.flatnonzero(shared_fpr <= hi)[0]]),
        float(levels[np.flatnonzero(shared_fpr <= lo)[0]]),
    )
    return im.result(out, lo, hi, num_points, thr)


# ----------------------------------------------------------------------------------------------
# entry points (options already checked)


def aupimo(runner: Any, lo: float, hi: float, k: int | None, force: bool) -> Any:
    im = Images(runner.map_reduce("images", stage_images, False))
    if im.normal.size == 0 or im.anomalous.size == 0:
        return _aupimo_without_a_class(im.classes, lo, hi)
    if k is None:
        return _aupimo_exact(runner, im, lo, hi)
    if not im.hi > im.lo:  # every normal pixel ties: the shared FPR is 1 at every threshold
        raise _unreachable_error(lo, im.n_normal_pixels, im.n_normal_pixels)
    setup = linspace_setup(im, k)
    part = runner.map_reduce("normal counts", stage_linspace_counts, *setup)
    return aupimo_linspace_finish(im, part, setup, lo, hi, k, force)


def pimo_curves(runner: Any, k: int | None) -> PimoCurves:
    im = Images(runner.map_reduce("images", stage_images, k is None))
    if im.normal.size == 0:
        return _curves_without_normal_image(im.classes, k)
    if k is not None and not im.hi > im.lo:  # all normal pixels tie: k copies of that score
        tpr = np.full((im.classes.shape[0], k), np.nan)
        for i, d, _ in im.rows():
            tpr[i] = np.count_nonzero(d.astype(np.float64) >= im.lo) / d.size
        return PimoCurves(np.full(k, im.lo), np.ones(k), tpr, im.classes)
    if k is not None:
        t64, t0, inv_step, _ = linspace_setup(im, k)
        part = runner.map_reduce("curves", stage_rows, t64, t0, inv_step)
        tpr = np.concatenate(part["cat_tpr"])
        return PimoCurves(t64, part["sum_fp"] / im.n_normal_pixels, tpr, im.classes)
    normal_scores = np.sort(np.concatenate(im.normal_parts).astype(np.float64))
    lo, hi = normal_scores[0], normal_scores[-1]
    defects = [np.sort(d.reshape(-1).astype(np.float64)) for _, d, _ in im.rows()]
    inside = [d[(d >= lo) & (d <= hi)] for d in defects]
    thresholds = np.unique(np.concatenate([normal_scores, *inside]) + 0.0)
    n_normal = normal_scores.shape[0]
    shared_fpr = (n_normal - np.searchsorted(normal_scores, thresholds, side="left")) / n_normal
    tpr = np.full((im.classes.shape[0], thresholds.shape[0]), np.nan)
    for i, d in zip(im.anomalous, defects):
        tpr[i] = (d.shape[0] - np.searchsorted(d, thresholds, side="left")) / d.shape[0]
    return PimoCurves(thresholds, shared_fpr, tpr, im.classes)
