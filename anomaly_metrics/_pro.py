"""Per-region overlap (PRO) at a threshold, the PRO curve and the area under it (AU-PRO).

The official MVTec AD definition (Bergmann et al., IJCV 2021, and its evaluation code): regions
are the 8-connected components of each ground-truth mask, labelled image by image; the
background is every non-region pixel of every image, normal images included. At a threshold
``t`` (positive iff ``score >= t``)

* ``FPR(t)`` = background pixels with ``score >= t`` / all background pixels,
* ``PRO(t)`` = mean over all regions of the batch of (region pixels with ``score >= t`` /
  region size).

The curve has one point per distinct score, starts at (0, 0) and is integrated by the trapezoid
rule up to ``fpr_limit`` (the segment crossing the limit is cut by linear interpolation), then
divided by ``fpr_limit``.

AU-PRO is the weighted ROC area of the counting primitive: region pixels are the positives with
weight ``1 / region size``, background pixels the negatives. Only the region pixels are sorted;
background pixels are counted into the gaps between them in one streaming pass.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
from numba import njit
from numpy.typing import NDArray

from ._components import _region_ids
from ._counts import _binary_counts, _binary_levels, _Counts, _Levels
from ._dense import dense_pays, dense_weighted_areas
from ._integrate import _levels_areas_kernel, _polyline_area_kernel
from ._levels import UnitWeights
from ._narrow import is_narrow
from ._validation import check_fraction, check_maps_and_masks, check_real
from ._validation import check_map_batches as _check_map_batches
from ._warnings import warn_undefined

__all__ = ["ProCurve", "aupro", "pro", "pro_curve"]


class ProCurve(NamedTuple):
    """Per-region overlap curve (see :func:`pro_curve`)."""

    fpr: NDArray[np.float64]
    pro: NDArray[np.float64]
    thresholds: NDArray[np.float64]


class _ProStatistics(NamedTuple):
    """Flat scores and region structure of a checked batch (shared by pro / pro_curve / aupro).

    ``scores`` / ``in_region`` are flat views of the maps and masks: one array each, or lists of
    consecutive batches (the torch adapter's stored updates), never concatenated.
    """

    scores: NDArray[Any] | list[NDArray[Any]]  # (N*H*W,) float32/64 views of the maps
    in_region: NDArray[np.bool_] | list[NDArray[np.bool_]]  # (N*H*W,) views of the masks
    ids: NDArray[np.int32]  # (n_pos,) region index of each region pixel, order of scores[in_region]
    sizes: NDArray[np.int64]  # (n_regions,) pixels per region
    n_background: int


def _pro_statistics(maps: NDArray[Any], masks: NDArray[np.bool_]) -> _ProStatistics:
    """Label the regions of a checked ``(N, H, W)`` batch. Inputs are not validated."""
    ids, sizes = _region_ids(masks, 8)
    return _ProStatistics(
        maps.reshape(-1), masks.reshape(-1), ids, sizes, int(masks.size - ids.size)
    )


def _pro_statistics_batches(
    batches: list[tuple[NDArray[Any], NDArray[np.bool_]]],
) -> _ProStatistics:
    """:func:`_pro_statistics` of the concatenation of checked batches, without concatenating.

    The regions of all batches are labelled in one pass (they never cross images), numbered as
    in the concatenation. Inputs are not validated.
    """
    if len(batches) == 1:
        return _pro_statistics(*batches[0])
    ids, sizes = _region_ids([masks for _, masks in batches], 8)
    n_pixels = sum(m.size for _, m in batches)
    return _ProStatistics(
        [maps.reshape(-1) for maps, _ in batches],
        [masks.reshape(-1) for _, masks in batches],
        ids,
        sizes,
        int(n_pixels - ids.size),
    )


@njit(cache=True, nogil=True)
def _count_background_at_least_kernel(scores, in_region, floor):  # pragma: no cover - compiled
    """Number of background pixels (``in_region`` False) with ``float64(score) >= floor``.

    One pass with no temporaries (NumPy would allocate two bool arrays of every pixel).
    Inputs are not validated; call through `aupro`.
    """
    n = 0
    for i in range(scores.shape[0]):
        if not in_region[i] and np.float64(scores[i]) >= floor:
            n += 1
    return n


def _floor_need(fpr_limit: float, n_background: int) -> int:
    """Background pixels at or above a floor that make the curve pass `fpr_limit` above it."""
    return math.floor(fpr_limit * n_background) + 1


def _floor_share(fpr_limit: float, n_background: int, sample_size: int) -> float | None:
    """Share of a background sample to keep above the floor: the needed share plus a margin of
    four standard errors and one sample; None when that is everything (nothing to gain)."""
    share = _floor_need(fpr_limit, n_background) / n_background
    share += 4.0 * math.sqrt(share * (1.0 - share) / sample_size) + 1.0 / sample_size
    return share if share < 1.0 else None


def _floor_holds(at_or_above: int, fpr_limit: float, n_background: int) -> bool:
    """Whether counts made above a floor are exact up to `fpr_limit`: the background pixels at
    or above the lowest kept threshold (``at_or_above``) pass the limit."""
    return at_or_above >= _floor_need(fpr_limit, n_background)


def _at_or_above_lowest(lv: _Levels) -> int:
    """Negatives at or above the lowest threshold of ``lv``: all but ``gap[0]`` (0 with none)."""
    return lv.n_neg - int(lv.gap[0]) if lv.u.shape[0] else 0


def _background_floor(
    scores: NDArray[Any] | list[NDArray[Any]],
    in_region: NDArray[np.bool_] | list[NDArray[np.bool_]],
    n_background: int,
    fpr_limit: float,
    sample_size: int = 1 << 16,
    *,
    verify: bool = True,
) -> float | None:
    """A score ``floor`` with more than ``fpr_limit * n_background`` background pixels >= it.

    The PRO curve crosses ``fpr_limit`` above such a floor, so AU-PRO never needs to locate the
    pixels below it (see ``min_threshold`` of ``_binary_counts``). The floor is a quantile of a
    strided sample of the background, a little lower than the (1 - fpr_limit) quantile, and is
    then verified with an exact count; None when the sample's guess fails (or when nothing would
    be gained). With ``verify=False`` the guess is returned unverified: the caller checks the
    counts it makes with it (:func:`_levels_for_cut`), which saves a pass over the pixels.
    Inputs are not validated.
    """
    if fpr_limit >= 1.0 or n_background == 0:
        return None
    chunks = list(zip(scores, in_region)) if isinstance(scores, list) else [(scores, in_region)]
    step = max(1, sum(c.size for c, _ in chunks) // sample_size)
    parts, start = [], 0
    for c, r in chunks:  # every step-th pixel of the concatenation, chunk by chunk
        first = (-start) % step
        parts.append(c[first::step][~r[first::step]])
        start += c.size
    sample = parts[0] if len(parts) == 1 else np.concatenate(parts)
    if sample.size == 0:
        return None
    share = _floor_share(fpr_limit, n_background, sample.size)
    if share is None:
        return None
    floor = float(np.quantile(sample, 1.0 - share, method="lower"))
    need = _floor_need(fpr_limit, n_background)
    if verify and sum(_count_background_at_least_kernel(c, r, floor) for c, r in chunks) < need:
        return None
    return floor


def _levels_for_cut(
    scores: NDArray[Any] | list[NDArray[Any]],
    in_region: NDArray[np.bool_] | list[NDArray[np.bool_]],
    weights: NDArray[np.float64] | UnitWeights,
    n_background: int,
    fpr_limit: float,
) -> _Levels:
    """Weighted per-level counts at the positive thresholds that the area up to `fpr_limit` needs.

    Positives below an unverified :func:`_background_floor` are dropped (``min_threshold``); the
    counts then tell whether that was exact: the curve must pass ``fpr_limit`` at or above the
    lowest kept threshold, i.e. more than ``fpr_limit * n_background`` background pixels score at
    or above it (a stricter test than the floor's own, :func:`_floor_holds`). When they do not (a
    poor sample), the counts are made again over every pixel. Inputs are not validated.
    """
    first = scores[0] if isinstance(scores, list) else scores
    if is_narrow(first.dtype):  # counted by value in one pass: no floor to gain from
        return _binary_levels(scores, in_region, pos_weights=weights)
    floor = _background_floor(scores, in_region, n_background, fpr_limit, verify=False)
    if floor is not None:
        lv = _binary_levels(scores, in_region, pos_weights=weights, min_threshold=floor)
        if _floor_holds(_at_or_above_lowest(lv), fpr_limit, n_background):
            return lv
    return _binary_levels(scores, in_region, pos_weights=weights)


def _areas_from_levels(lv: _Levels, n_units: int, limits: tuple[float, ...]) -> tuple[float, ...]:
    """:func:`_areas_from_counts` of ``_cumulate(*lv)``, to the last bit, without cumulating."""
    assert lv.w_p is not None
    areas = np.zeros(len(limits))
    lim = np.asarray(limits, np.float64)
    _levels_areas_kernel(lv.n_p, lv.w_p, lv.eq, lv.gap, float(lv.n_neg), float(n_units), lim, areas)
    return tuple(float(a) / limit for a, limit in zip(areas, limits))


def _aupro_undefined(n_regions: int, n_background: int) -> bool:
    """Warn and return True when AU-PRO is undefined (no region or no background pixel)."""
    if n_regions == 0:
        warn_undefined("No defect regions in `masks`: AU-PRO is undefined (nan).")
        return True
    if n_background == 0:
        warn_undefined("No background pixels in `masks`: AU-PRO is undefined (nan).")
        return True
    return False


def _check_fpr_limits(fpr_limit: Any) -> tuple[tuple[float, ...], bool]:
    """(limits, one): `fpr_limit` as a tuple of floats in (0, 1], and whether it was a scalar.

    A scalar gives a one-tuple and ``one=True``; a non-empty sequence of numbers gives its
    values in order (duplicates allowed) and ``one=False``.
    """
    if isinstance(fpr_limit, (str, bytes)) or not hasattr(fpr_limit, "__len__"):
        if isinstance(fpr_limit, np.ndarray) and fpr_limit.ndim == 0:
            fpr_limit = fpr_limit.item()
        return (check_fraction(fpr_limit, "fpr_limit", low_open=True),), True
    values = list(fpr_limit)
    if not values:
        raise ValueError("`fpr_limit` must be a number or a non-empty sequence of numbers, got [].")
    return tuple(check_fraction(v, "fpr_limit", low_open=True) for v in values), False


def _areas_from_counts(c: _Counts, n_units: int, limits: tuple[float, ...]) -> tuple[float, ...]:
    """Normalised areas under the weighted curve (y = tp_weight / n_units) up to each limit.

    One count, several cuts: each area is computed exactly as a single-limit call would (the
    same vertices up to the cut, the same arithmetic: :func:`_polyline_area_kernel`). Inputs
    are not validated.
    """
    assert c.tp_weight is not None
    n_neg, end, total = float(c.n_neg), float(c.n_pos_weight), float(n_units)
    return tuple(
        float(_polyline_area_kernel(c.fp_above, c.fp, c.tp_weight, n_neg, end, total, limit))
        / limit
        for limit in limits
    )


def _aupro_from_levels(lv: _Levels, n_regions: int, fpr_limit: float) -> float:
    """:func:`_aupro_from_counts` of ``_cumulate(*lv)``, the same float, without cumulating."""
    if _aupro_undefined(n_regions, lv.n_neg):
        return float("nan")
    return _areas_from_levels(lv, n_regions, (fpr_limit,))[0]


def _aupro_from_counts(c: _Counts, n_regions: int, fpr_limit: float) -> float:
    """AU-PRO from weighted counts (positives: region pixels, weight 1 / region size).

    ``c`` comes from ``_binary_counts(..., pos_weights=1 / sizes[ids])`` over all pixels (or with
    ``min_threshold`` from :func:`_background_floor`); ``n_regions`` is the number of regions.
    Inputs are not validated.
    """
    if _aupro_undefined(n_regions, c.n_neg):
        return float("nan")
    return _areas_from_counts(c, n_regions, (fpr_limit,))[0]


def _aupro_from_statistics(
    st: _ProStatistics, fpr_limit: float | tuple[float, ...]
) -> float | tuple[float, ...]:
    """AU-PRO of a labelled batch; only pixels above the background floor are located.

    With a tuple of limits, one area per limit from one count (the floor of the largest).
    """
    limits = fpr_limit if isinstance(fpr_limit, tuple) else (fpr_limit,)
    n_regions = int(st.sizes.size)
    if _aupro_undefined(n_regions, st.n_background):
        areas: tuple[float, ...] = (float("nan"),) * len(limits)
    else:
        weights = UnitWeights(st.ids, 1.0 / st.sizes.astype(np.float64))  # 1 / region size
        dense = _dense_cut_areas(st, weights, limits)
        if dense is not None:
            areas = dense
        else:
            lv = _levels_for_cut(st.scores, st.in_region, weights, st.n_background, max(limits))
            areas = _areas_from_levels(lv, n_regions, limits)
    return areas if isinstance(fpr_limit, tuple) else areas[0]


def _dense_cut_areas(
    st: _ProStatistics, weights: UnitWeights, limits: tuple[float, ...]
) -> tuple[float, ...] | None:
    """The areas of :func:`_areas_from_counts` by the dense walk, when it pays; else None.

    For float32 maps whose region pixels are many (``_dense.dense_pays``): the same floor as
    :func:`_levels_for_cut`, the same check of it (the walk counts the background pixels at
    or above the lowest kept score), the same fallback; the same floats, bit for bit.
    """
    chunks = (
        list(zip(st.scores, st.in_region))
        if isinstance(st.scores, list)
        else [(st.scores, st.in_region)]
    )
    n_pos, n_bg = int(st.ids.size), st.n_background
    if not dense_pays(n_pos, n_bg) or any(v.dtype != np.float32 for v, _ in chunks):
        return None
    n_units, cut = int(st.sizes.size), max(limits)
    floor = _background_floor(st.scores, st.in_region, n_bg, cut, verify=False)
    walked = None
    if floor is not None:
        walked = dense_weighted_areas(chunks, weights, n_units, n_bg, limits, floor)
        if walked is not None and not _floor_holds(walked[1], cut, n_bg):
            walked = None  # a poor sample: walk over every pixel
    if walked is None:
        walked = dense_weighted_areas(chunks, weights, n_units, n_bg, limits, None)
    if walked is None:
        return None
    return tuple(area / limit for area, limit in zip(walked[0], limits))


def aupro(
    anomaly_maps: Any, masks: Any, *, fpr_limit: float | Sequence[float] = 0.3
) -> float | tuple[float, ...]:
    """Normalised area under the PRO curve up to `fpr_limit` (official MVTec AD definition).

    Parameters
    ----------
    anomaly_maps : array-like of shape (N, H, W), (N, 1, H, W) or (H, W)
        Pixel anomaly scores, higher means more anomalous; float16/32/64, int or bool, finite.
    masks : array-like, same shape as `anomaly_maps`
        Ground truth: bool, or numbers that are all 0 or 1. Normal images (all 0) contribute
        background pixels.
    fpr_limit : float in (0, 1], or a sequence of them, default 0.3
        Integrate the PRO curve over ``FPR <= fpr_limit``. A sequence (e.g. ``(0.3, 0.05,
        0.01)``, the MVTec 3D-AD and AD 2 limits) gives one area per limit from one count.

    Returns
    -------
    float, or tuple of float
        ``area / fpr_limit``, in [0, 1]; nan when there is no region or no background pixel.
        For a sequence of limits, a tuple of such floats in the order of the limits, each equal
        (to the last bit) to the call with that limit alone.

    Raises
    ------
    TypeError
        Non-numeric inputs.
    ValueError
        Shapes that differ or are not (N, H, W), (N, 1, H, W) or (H, W); non-finite scores;
        masks not in {0, 1} (0/255 masks get the hint ``masks > 0``); `fpr_limit` outside (0, 1].

    Warns
    -----
    UndefinedMetricWarning
        No region in the whole batch, or no background pixel (the result is nan).

    See Also
    --------
    pro_curve : the curve itself; ``auc(*pro_curve(...)[:2]) / fpr_limit`` equals this.
    pro : the PRO at one threshold.

    Notes
    -----
    Regions are the 8-connected components of each mask (never across images). The PRO curve has
    one point per distinct score (ties move together, a diagonal segment), starts at (0, 0) and is
    integrated with the trapezoid rule; when `fpr_limit` is not a vertex, the crossing segment is
    cut at `fpr_limit` by linear interpolation; a vertical jump exactly at `fpr_limit` adds no
    area. Counts are int64, sums float64; no binning, no sigmoid.

    Only region pixels are sorted; background pixels are counted in one pass, so the cost is
    about a sort of the defect pixels plus a scan of all pixels.

    References
    ----------
    P. Bergmann, K. Batzner, M. Fauser, D. Sattlegger, C. Steger, "The MVTec Anomaly Detection
    Dataset: A Comprehensive Real-World Dataset for Unsupervised Anomaly Detection", IJCV 2021.

    Examples
    --------
    >>> import numpy as np
    >>> import anomaly_metrics as am
    >>> maps = np.array([[0.5, 0.9], [0.2, 0.1]])
    >>> masks = np.array([[1, 0], [0, 0]])
    >>> round(am.aupro(maps, masks, fpr_limit=1.0), 6)
    0.666667
    >>> round(am.aupro(maps, masks, fpr_limit=0.5), 6)
    0.333333
    >>> [round(v, 6) for v in am.aupro(maps, masks, fpr_limit=(1.0, 0.5))]
    [0.666667, 0.333333]
    """
    return _aupro_batches([anomaly_maps], [masks], fpr_limit)


def _aupro_batches(
    anomaly_maps: Sequence[Any], masks: Sequence[Any], fpr_limit: float | Sequence[float]
) -> float | tuple[float, ...]:
    """`aupro` of the concatenation of ``(B, H, W)`` batches, without concatenating the pixels.

    The same float, warning and errors as ``aupro(np.concatenate(anomaly_maps),
    np.concatenate(masks), fpr_limit=fpr_limit)`` (the torch adapter's path: no copy of the
    stored maps).
    """
    limits, one = _check_fpr_limits(fpr_limit)
    batches = _check_map_batches(anomaly_maps, masks, narrow=True)
    return _aupro_from_statistics(_pro_statistics_batches(batches), limits[0] if one else limits)


def pro_curve(anomaly_maps: Any, masks: Any, *, fpr_limit: float = 0.3) -> ProCurve:
    """Per-region overlap against the false positive rate, one point per distinct score.

    Parameters
    ----------
    anomaly_maps : array-like of shape (N, H, W), (N, 1, H, W) or (H, W)
        Pixel anomaly scores; finite.
    masks : array-like, same shape as `anomaly_maps`
        Ground truth: bool, or numbers that are all 0 or 1.
    fpr_limit : float in (0, 1], default 0.3
        Where the curve is cut.

    Returns
    -------
    ProCurve
        ``fpr``, ``pro`` (float64, non-decreasing) and ``thresholds`` (float64, descending). The
        first point is (0, 0) at threshold ``+inf``; then one point per distinct score ``t``
        (a pixel is positive iff ``score >= t``) while ``fpr <= fpr_limit``. When `fpr_limit` is
        not reached exactly, a last point ``(fpr_limit, pro)`` is linearly interpolated on the
        segment that crosses it; its threshold is the score whose tie group that segment adds.
        With no background pixel the FPR is nan and the curve is not cut; with no region the
        PRO is nan.

    Raises
    ------
    TypeError, ValueError
        As :func:`aupro`.

    Warns
    -----
    UndefinedMetricWarning
        No region or no background pixel.

    See Also
    --------
    aupro, auc

    Examples
    --------
    >>> import numpy as np
    >>> import anomaly_metrics as am
    >>> maps = np.array([[0.5, 0.9], [0.2, 0.1]])
    >>> masks = np.array([[1, 0], [0, 0]])
    >>> curve = am.pro_curve(maps, masks, fpr_limit=0.5)
    >>> curve.fpr.round(4).tolist(), curve.pro.tolist()
    ([0.0, 0.3333, 0.3333, 0.5], [0.0, 0.0, 1.0, 1.0])
    >>> curve.thresholds.tolist()
    [inf, 0.9, 0.5, 0.2]
    >>> round(am.auc(curve.fpr, curve.pro) / 0.5, 6) == round(am.aupro(maps, masks, fpr_limit=0.5), 6)
    True
    """
    limit = check_fraction(fpr_limit, "fpr_limit", low_open=True)
    maps, m = check_maps_and_masks(anomaly_maps, masks)
    st = _pro_statistics(maps, m)
    n_regions = st.sizes.size
    n_bg = st.n_background
    if n_regions == 0:
        warn_undefined("No defect regions in `masks`: the PRO curve is undefined (nan).")
    if n_bg == 0:
        warn_undefined("No background pixels in `masks`: the FPR is undefined (nan).")
    weights = 1.0 / st.sizes.astype(np.float64)[st.ids]
    return ProCurve(*_cut_weighted_curve(st.scores, st.in_region, weights, n_regions, n_bg, limit))


def _cut_weighted_curve(
    scores: NDArray[Any],
    in_region: NDArray[np.bool_],
    weights: NDArray[np.float64],
    n_units: int,
    n_bg: int,
    limit: float,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """(fpr, y, thresholds) of the weighted curve, one point per distinct score, cut at `limit`.

    Positives are the ``in_region`` pixels with ``weights`` (in the order of
    ``scores[in_region]``), y is their cumulative weight / `n_units`; negatives are the others.
    Shared by :func:`pro_curve` and the sPRO curve. Inputs are not validated.
    """
    floor = _background_floor(scores, in_region, n_bg, limit)
    if floor is not None:
        # fpr(floor) > limit: no lower threshold is a point of the cut curve or the first point
        # beyond the limit, so only the pixels at or above the floor are needed.
        keep = scores >= np.float64(floor)
        weights = weights[keep[in_region]]
        scores, in_region = scores[keep], in_region[keep]
        del keep
    c = _binary_counts(scores, in_region, pos_weights=weights, thresholds="all")
    assert c.tp_weight is not None
    with np.errstate(invalid="ignore", divide="ignore"):
        fpr = np.concatenate(([0.0], c.fp / n_bg)) if n_bg else np.full(c.fp.size + 1, np.nan)
        pr = (
            np.concatenate(([0.0], c.tp_weight / n_units))
            if n_units
            else np.full(c.fp.size + 1, np.nan)
        )
    thresholds = np.concatenate(([np.inf], c.thresholds))
    if n_bg == 0:
        return fpr, pr, thresholds
    stop = int(np.searchsorted(fpr, limit, side="right"))  # points with fpr <= limit
    if stop < fpr.size and fpr[stop - 1] < limit:
        x0, x1, y0, y1 = fpr[stop - 1], fpr[stop], pr[stop - 1], pr[stop]
        y_cut = y0 + (y1 - y0) * (limit - x0) / (x1 - x0)
        return (
            np.append(fpr[:stop], limit),
            np.append(pr[:stop], y_cut),
            np.append(thresholds[:stop], thresholds[stop]),
        )
    return fpr[:stop].copy(), pr[:stop].copy(), thresholds[:stop].copy()


def pro(anomaly_maps: Any, masks: Any, threshold: float = 0.5) -> float:
    """Per-region overlap at one threshold: the mean over regions of their detected fraction.

    Parameters
    ----------
    anomaly_maps : array-like of shape (N, H, W), (N, 1, H, W) or (H, W)
        Pixel anomaly scores (or a binary prediction); finite.
    masks : array-like, same shape as `anomaly_maps`
        Ground truth: bool, or numbers that are all 0 or 1.
    threshold : float, default 0.5
        A pixel is predicted anomalous iff ``score >= threshold`` (compared in float64).

    Returns
    -------
    float
        Mean over all regions of the batch (8-connected, per image) of the fraction of the
        region's pixels predicted anomalous; nan when there is no region.

    Raises
    ------
    TypeError, ValueError
        As :func:`aupro`; also a non-finite or non-real `threshold`.

    Warns
    -----
    UndefinedMetricWarning
        No region in the whole batch (the result is nan).

    Notes
    -----
    anomalib's ``PRO`` binarises with ``score > threshold``; here ``score >= threshold``, the
    same predicate as every curve and threshold of the library.

    Examples
    --------
    >>> import numpy as np
    >>> import anomaly_metrics as am
    >>> maps = np.array([[0.5, 0.6, 0.9], [0.1, 0.1, 0.1], [0.1, 0.5, 0.1]])
    >>> masks = np.array([[1, 1, 0], [0, 0, 0], [0, 1, 0]])
    >>> am.pro(maps, masks, threshold=0.55)
    0.25
    >>> am.pro(maps, masks, threshold=0.5)
    1.0
    """
    return _pro_batches([anomaly_maps], [masks], threshold)


def _pro_batches(anomaly_maps: Sequence[Any], masks: Sequence[Any], threshold: float) -> float:
    """`pro` of the concatenation of ``(B, H, W)`` batches, without concatenating the pixels.

    The same float, warning and errors as ``pro(np.concatenate(anomaly_maps),
    np.concatenate(masks), threshold)``: each batch is checked on its own, the regions of all
    batches are labelled in one pass, and only the region pixels' scores are gathered (the torch
    adapter's path: no copy of the stored maps). `pro` is the one-batch case.
    """
    t = check_real(threshold, "threshold")
    batches = _check_map_batches(anomaly_maps, masks)
    ids, sizes = _region_ids([m for _, m in batches], 8)
    if sizes.size == 0:
        warn_undefined("No defect regions in `masks`: PRO is undefined (nan).")
        return float("nan")
    # the region pixels' scores, in the order of `ids` (a few percent of the pixels)
    parts = [maps.reshape(-1)[m.reshape(-1)] for maps, m in batches]
    region_scores = parts[0] if len(parts) == 1 else np.concatenate(parts)
    detected = np.bincount(ids[region_scores >= np.float64(t)], minlength=sizes.size)
    return float(np.mean(detected / sizes))
