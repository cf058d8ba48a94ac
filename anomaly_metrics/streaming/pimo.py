"""AUPIMO histograms (normal images' shared-FPR weights, defect pixels' bins) and their finaliser.

:func:`pimo_histogram` is the streaming state of AUPIMO: the normal images reduce to one
fixed-size array of shared-FPR weights per bin; anomalous images keep only the bins of their
defect pixels (AUPIMO uses no other pixel of them). :func:`aupimo_from_histogram` finalises a
(merged) histogram into per-image values with certified bounds on their distance to
``anomaly_metrics.aupimo(..., num_thresholds=None)``.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
from numba import njit
from numpy.typing import NDArray

from .._keys import float32_key
from .._pimo import _check_fpr_bounds
from .._validation import check_maps_and_masks
from .._warnings import warn_undefined
from ._bins import (
    _MAX_BITS,
    _MIN_BITS,
    DEFAULT_BITS,
    _as_count,
    _check_bits,
    _score_bins_kernel,
    count_in_spans,
)
from ._bounds import _ROUNDING, _box_areas

__all__ = ["BoundedAupimo", "PimoHistogram", "aupimo_from_histogram", "pimo_histogram"]


class PimoHistogram(NamedTuple):
    """Streaming state of AUPIMO (see :func:`pimo_histogram`); merge with :func:`merge_histograms`."""

    normal_fpr: NDArray[np.float64]  # (2**bits,) sum over normal images of (pixels in bin) / size
    num_normal: int  # normal images seen
    defect_bins: NDArray[np.uint32]  # (M,) bin of every defect pixel, anomalous image by image
    defect_counts: NDArray[np.int64]  # (A,) defect pixels of each anomalous image
    image_classes: NDArray[np.int8]  # (N,) 1 anomalous, 0 normal, in the order seen


@njit(cache=True, nogil=True)
def _count_bins_kernel(scores, shift, counts):  # pragma: no cover - compiled
    """``counts[bin(s)] += 1`` for every score, keys computed on the fly (no key array).

    Inputs are not validated; call through `pimo_histogram`.
    """
    for i in range(scores.shape[0]):
        counts[float32_key(scores[i]) >> shift] += 1


def pimo_histogram(anomaly_maps: Any, masks: Any, *, bits: int = DEFAULT_BITS) -> PimoHistogram:
    """Normal images' shared-FPR weights and defect pixels' bins: the streaming state of AUPIMO.

    Parameters
    ----------
    anomaly_maps : array-like of shape (N, H, W), (N, 1, H, W) or (H, W)
        Pixel anomaly scores; finite. Float64 and int are rounded down to float32 to find their bin.
    masks : array-like, same shape as `anomaly_maps`
        Ground truth, bool or 0/1. An image is normal when its mask is empty. Any batch is
        accepted: only normal images (as the first batches of most MVTec AD loaders), only
        anomalous ones, masks covering whole images, a single image or a single pixel.
    bits : int in [1, 24], default 20
        ``2**bits`` bins (see :func:`score_bins`).

    Returns
    -------
    PimoHistogram
        ``normal_fpr[b]``: the sum over normal images of the fraction of their pixels in bin
        ``b`` (float64; the shared FPR at a bin edge is the sum from that bin up, divided by
        ``num_normal``); ``num_normal``; ``defect_bins``: the bin (uint32) of every defect pixel
        of the anomalous images, image after image, with ``defect_counts`` pixels each;
        ``image_classes``: 1 for anomalous, 0 for normal, in the order seen. The normal part
        has a fixed size; the anomalous part grows with the defect pixels only (4 bytes each),
        not with the images' other pixels, which AUPIMO does not use.

    Raises
    ------
    TypeError, ValueError
        Bad maps or masks (as :func:`aupro`), or bad `bits`.

    See Also
    --------
    aupimo_from_histogram : the finaliser.
    merge_histograms : to add batches.

    Examples
    --------
    >>> import numpy as np
    >>> import anomaly_metrics as am
    >>> maps = np.zeros((2, 4, 4))
    >>> masks = np.zeros((2, 4, 4), bool)
    >>> masks[1, :2, :2] = True
    >>> h = am.pimo_histogram(maps, masks)
    >>> h.num_normal, h.defect_counts.tolist(), h.image_classes.tolist()
    (1, [4], [0, 1])
    """
    nbits = _check_bits(bits)
    maps, m = check_maps_and_masks(anomaly_maps, masks)
    n_img = maps.shape[0]
    pixels = maps.shape[1] * maps.shape[2]
    shift = 32 - nbits
    flat_masks = m.reshape(n_img, -1)  # n_img >= 1 (empty input is refused): never (0, -1)
    anomalous = flat_masks.any(axis=1)
    normal_idx = np.flatnonzero(~anomalous)
    counts = np.zeros(1 << nbits, np.int64)
    if normal_idx.size == n_img:
        flat = maps.reshape(-1)
    else:
        flat = maps[normal_idx].reshape(-1)

    def count(start: int, stop: int, into: tuple[NDArray[np.int64], ...]) -> None:
        _count_bins_kernel(flat[start:stop], shift, into[0])

    if normal_idx.size:
        count_in_spans(flat.shape[0], count, (counts,))
    normal_fpr = counts / float(pixels)
    # defect pixels of the anomalous images, image after image (none when the batch is normal)
    defect_scores = maps[m]
    defect_bins = np.empty(defect_scores.shape[0], np.uint32)
    if defect_scores.size:
        _score_bins_kernel(defect_scores, shift, defect_bins)
    defect_counts = np.count_nonzero(flat_masks[anomalous], axis=1).astype(np.int64)
    return PimoHistogram(
        normal_fpr, int(normal_idx.size), defect_bins, defect_counts, anomalous.astype(np.int8)
    )


def _check_pimo_histogram(h: Any, name: str = "histogram") -> PimoHistogram:
    """Return a valid :class:`PimoHistogram` (arrays coerced); raise otherwise."""
    if not isinstance(h, tuple) or len(h) != 5:
        raise TypeError(
            f"`{name}` must be a PimoHistogram (from `pimo_histogram`), got {type(h).__name__}."
        )
    normal_fpr, num_normal, defect_bins, defect_counts, image_classes = h
    normal_fpr = np.asarray(normal_fpr)
    defect_bins = np.asarray(defect_bins)
    defect_counts = np.asarray(defect_counts)
    image_classes = np.asarray(image_classes)
    if (
        normal_fpr.dtype.kind != "f"
        or defect_bins.dtype.kind not in "iu"
        or defect_counts.dtype.kind not in "iu"
        or image_classes.dtype.kind not in "iub"
    ):
        raise TypeError(
            f"`{name}` must hold float normal_fpr and integer defect_bins, defect_counts and "
            f"image_classes, got dtypes {normal_fpr.dtype}, {defect_bins.dtype}, "
            f"{defect_counts.dtype} and {image_classes.dtype}."
        )
    nbins = normal_fpr.shape[0] if normal_fpr.ndim == 1 else 0
    bits = nbins.bit_length() - 1
    if nbins != 1 << bits or not _MIN_BITS <= bits <= _MAX_BITS:
        raise ValueError(
            f"`{name}.normal_fpr` must have shape (2**bits,) with bits in "
            f"[{_MIN_BITS}, {_MAX_BITS}], got shape {normal_fpr.shape}."
        )
    num_normal = _as_count(num_normal, f"{name}.num_normal")
    defect_bins = defect_bins.reshape(-1)
    defect_counts = defect_counts.reshape(-1)
    image_classes = image_classes.reshape(-1)
    n_anomalous = int(np.count_nonzero(image_classes))
    if (
        int(num_normal) != image_classes.size - n_anomalous
        or defect_counts.size != n_anomalous
        or int(defect_counts.sum()) != defect_bins.size
        or (defect_counts.size and defect_counts.min() < 1)
        or (defect_bins.size and int(defect_bins.max()) >= nbins)
    ):
        raise ValueError(
            f"`{name}` must be consistent (one defect count >= 1 per anomalous image, their sum "
            f"the number of defect bins, each bin < 2**{bits}, num_normal the number of normal "
            f"images), got num_normal={int(num_normal)}, {n_anomalous} anomalous of "
            f"{image_classes.size} images, {defect_counts.size} defect counts summing to "
            f"{int(defect_counts.sum())} and {defect_bins.size} defect bins."
        )
    return PimoHistogram(
        normal_fpr.astype(np.float64, copy=False),
        int(num_normal),
        defect_bins.astype(np.uint32, copy=False),
        defect_counts.astype(np.int64, copy=False),
        (image_classes != 0).astype(np.int8),
    )


class BoundedAupimo(NamedTuple):
    """Streaming AUPIMO with certified bounds (see :func:`aupimo_from_histogram`)."""

    per_image: NDArray[np.float64]  # (N,) in [0, 1]; nan for normal images
    per_image_error_bound: NDArray[np.float64]  # (N,) |per_image - exact| <= this; nan if normal
    mean: float  # mean of per_image over the anomalous images
    error_bound: float  # |mean - exact mean| <= this
    image_classes: NDArray[np.int8]  # (N,) 1 anomalous, 0 normal, in the order seen


def aupimo_from_histogram(
    histogram: Any, *, fpr_bounds: tuple[float, float] = (1e-5, 1e-4)
) -> BoundedAupimo:
    """Streaming AUPIMO of a PIMO histogram, with bounds on the distance to the exact AUPIMO.

    Parameters
    ----------
    histogram : PimoHistogram
        From :func:`pimo_histogram` (merged over any number of batches or processes).
    fpr_bounds : (float, float), default (1e-5, 1e-4)
        Shared-FPR integration range ``(lower, upper)``, ``0 < lower < upper <= 1``.

    Returns
    -------
    BoundedAupimo
        ``per_image``: each image's area under its PIMO curve drawn through the bin edges
        (straight inside each bin in ``(ln shared FPR, TPR)``, cut at the bounds), divided by
        ``ln(upper / lower)``, nan for normal images; ``per_image_error_bound``: a certified
        bound on its distance to ``aupimo(..., num_thresholds=None).per_image`` (the exact
        curve); ``mean`` over the anomalous images and its bound (the mean of theirs);
        ``image_classes``. Without a normal or without an anomalous image, AUPIMO is undefined:
        every value and bound is nan.

    Raises
    ------
    TypeError, ValueError
        Not a PimoHistogram, or bad `fpr_bounds`.

    Warns
    -----
    UndefinedMetricWarning
        No normal image (no shared FPR) or no anomalous image (nothing to score), as the exact
        :func:`aupimo`.

    Notes
    -----
    The shared FPR at a bin's lower edge is exact (every normal pixel above the edge is counted),
    and so is each image's TPR there. Between two such edges the exact PIMO curve is monotone, so
    it stays in the box the two points span; the streaming curve takes the box's diagonal, and the
    bound is the summed half-boxes over the range (up to the farther end of the range of areas
    the boxes allow). A bin holding many normal pixels is a wide box in ``ln FPR``: near the
    lower FPR bound only the few highest normal scores count, so the bins there are narrow and
    the bound small.

    If `fpr_bounds[0]` lies below the shared FPR of the highest occupied normal bin, the curve
    below it is only known to lie in that bin's box (the exact :func:`aupimo` raises when the
    bound is below the smallest FPR the data can reach).

    Examples
    --------
    >>> import numpy as np
    >>> import anomaly_metrics as am
    >>> image = np.ones((10, 10), np.float32)
    >>> image.flat[:10] = 2.0
    >>> image.flat[0] = 3.0
    >>> maps = np.stack([image, image, image])
    >>> masks = np.zeros((3, 10, 10), bool)
    >>> masks[1] = True
    >>> masks[2].flat[:10] = True
    >>> result = am.aupimo_from_histogram(am.pimo_histogram(maps, masks), fpr_bounds=(0.01, 0.1))
    >>> result.per_image.round(6).tolist(), round(result.mean, 6)
    ([nan, 0.055, 0.55], 0.3025)
    """
    lo, hi = _check_fpr_bounds(fpr_bounds)  # the same check as aupimo
    h = _check_pimo_histogram(histogram)
    n_anomalous = h.defect_counts.shape[0]
    if h.num_normal == 0 or n_anomalous == 0:
        missing = "normal" if h.num_normal == 0 else "anomalous"
        warn_undefined(
            f"No {missing} image in the histogram ({h.num_normal} normal, {n_anomalous} "
            "anomalous): AUPIMO is undefined (nan)."
        )
        nan = np.full(h.image_classes.shape[0], np.nan)
        return BoundedAupimo(nan, nan.copy(), float("nan"), float("nan"), h.image_classes.copy())
    # normal-occupied bins, highest first, with the shared FPR above and at each
    bins = np.flatnonzero(h.normal_fpr)[::-1]
    fpr_at = np.cumsum(h.normal_fpr[bins]) / h.num_normal
    fpr_above = np.concatenate(([0.0], fpr_at[:-1]))
    # only the cells that reach into [lo, hi]
    sel = np.flatnonzero((fpr_at >= lo) & (fpr_above <= hi))
    bins, fpr_at, fpr_above = bins[sel], fpr_at[sel], fpr_above[sel]
    with np.errstate(divide="ignore"):
        x0 = np.log(fpr_above)
        x1 = np.log(fpr_at)
    # TPR of every anomalous image at and above each selected bin: one sort of the defect bins
    # by (image, bin) and a binary search per (image, bin)
    image_of = np.repeat(np.arange(n_anomalous, dtype=np.uint64), h.defect_counts)
    keys = np.sort((image_of << np.uint64(32)) | h.defect_bins.astype(np.uint64))
    rows = np.arange(n_anomalous, dtype=np.uint64)[:, None] << np.uint64(32)
    starts = np.concatenate(([0], np.cumsum(h.defect_counts)))
    ends = starts[1:, None]
    n_defect = h.defect_counts.astype(np.float64)[:, None]
    ge = ends - np.searchsorted(keys, rows | bins.astype(np.uint64)[None, :], side="left")
    gt = ends - np.searchsorted(keys, rows | (bins.astype(np.uint64)[None, :] + 1), side="left")
    est, low, high = _box_areas(x0, x1, gt / n_defect, ge / n_defect, math.log(lo), math.log(hi))
    norm = math.log(hi / lo)
    value = np.clip(est / norm, 0.0, 1.0)
    bound = np.maximum(est - low, high - est) / norm + _ROUNDING
    classes = h.image_classes
    per_image = np.full(classes.shape[0], np.nan)
    per_bound = np.full(classes.shape[0], np.nan)
    anomalous = classes == 1
    per_image[anomalous] = value
    per_bound[anomalous] = bound
    return BoundedAupimo(
        per_image, per_bound, float(value.mean()), float(bound.mean()), classes.copy()
    )
