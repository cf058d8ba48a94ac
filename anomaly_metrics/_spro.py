"""Saturated per-region overlap (sPRO) and AU-sPRO: the MVTec LOCO AD localisation metric.

Ground truth is a set of defect *channels* per image: channel ``c`` of image ``i`` is one defect
(a boolean mask, possibly several blobs; channels of an image may overlap) with a *saturation
area* ``s_c``. At a threshold ``t`` (a pixel is positive iff ``score >= t``, in float64)

* ``sPRO_c(t) = min(TP_c(t) / s_c, 1)``, where ``TP_c(t)`` counts the channel's pixels with
  ``score >= t``; the curve's y is the mean over all channels of all images;
* ``FPR(t)`` = positives among the pixels that lie outside every channel of their image, over
  all such pixels of all images (normal images included).

Exactness with the cap
    Without the cap, ``sPRO`` would be a weighted count (each channel pixel weighs ``1 / s_c``)
    and the curve would be the weighted ROC polyline of the counting primitive, as AU-PRO. The cap
    makes a channel's contribution ``min(k, s_c) / s_c`` in the number ``k`` of its detected
    pixels: linear up to the saturation rank, flat after it. So the weight is cut at the
    saturation rank: sort the channel's pixels by descending score, and give the pixel of rank
    ``r`` (0-based) the weight ``clip(s_c - r, 0, 1) / s_c`` (``1 / s_c`` for the first
    ``floor(s_c)`` pixels, the fractional rest to the next one, 0 after). At any threshold the
    channel's detected pixels are exactly its ``TP_c(t)`` top-ranked pixels (a threshold takes a
    tie group whole, so the order inside ties does not matter), whose weights sum to
    ``min(TP_c(t), s_c) / s_c``. A pixel in several channels carries the sum of its weights. The
    counting primitive with these weights therefore gives every point of the exact curve (one
    per distinct score) in one pass: positives are the pixels inside any channel, negatives
    those outside all of them; only the positives are sorted.

Saturation areas
    :func:`loco_saturation_area` is the official rule: ``int(s * defect_area)`` (floored) for a
    relative saturation, ``min(s, defect_area)`` for an absolute one. A saturation area of 0 (a
    floored relative area) is taken as its limit ``s -> 0+``: the channel is saturated by its
    first detected pixel (the official code divides by 0: sPRO 1 once a pixel is detected, nan
    before). A saturation area above the defect area (a relative saturation above 1) leaves
    the channel below 1 for ever: its sPRO tops out at ``defect_area / s``.

The official evaluation (MVTec LOCO AD v2.0) binarises with ``score > t`` and samples its
thresholds (quantiles of a random subsample, refined until adjacent points are within a
distance); the exact curve here has the same points as the full strict-inequality curve except
at exact ties.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from ._pro import (
    _areas_from_levels,
    _check_fpr_limits,
    _cut_weighted_curve,
    _levels_for_cut,
)
from ._validation import check_fraction, check_labels, check_real, check_scores
from ._warnings import warn_undefined

__all__ = [
    "SproCurve",
    "auspro",
    "loco_saturation_area",
    "loco_saturation_areas",
    "spro",
    "spro_curve",
]


class SproCurve(NamedTuple):
    """Mean saturated per-region overlap against the false positive rate (see :func:`spro_curve`)."""

    fpr: NDArray[np.float64]
    spro: NDArray[np.float64]
    thresholds: NDArray[np.float64]


class _Channels(NamedTuple):
    """Checked sPRO inputs: per image a flat map, its union of channels, its channel pixels."""

    scores: list[NDArray[Any]]  # (H_i * W_i,) float32/64
    union: list[NDArray[np.bool_]]  # (H_i * W_i,) inside any channel of the image
    pixels: list[list[NDArray[np.intp]]]  # flat pixel indices of each channel
    saturation: list[NDArray[np.float64]]  # (C_i,) saturation area of each channel
    n_channels: int
    n_background: int


def _check_maps(anomaly_maps: Any) -> list[NDArray[Any]]:
    """Anomaly maps as a list of checked 2-D maps (an (N, H, W) / (N, 1, H, W) array or a list)."""
    if isinstance(anomaly_maps, (list, tuple)):
        maps = []
        for i, m in enumerate(anomaly_maps):
            a = check_scores(m, f"anomaly_maps[{i}]")
            if a.ndim == 3 and a.shape[0] == 1:
                a = a[0]
            if a.ndim != 2:
                raise ValueError(
                    f"`anomaly_maps[{i}]` must be a 2-D map (H, W), got shape {a.shape}."
                )
            maps.append(a)
        if not maps:
            raise ValueError("`anomaly_maps` must not be empty, got an empty sequence.")
        return maps
    a = check_scores(anomaly_maps, "anomaly_maps")
    if a.ndim == 4 and a.shape[1] == 1:
        a = a[:, 0]
    elif a.ndim == 2:
        a = a[None]
    if a.ndim != 3:
        raise ValueError(
            f"`anomaly_maps` must have shape (N, H, W), (N, 1, H, W) or (H, W), or be a list of "
            f"(H, W) maps, got shape {a.shape}."
        )
    return list(a)


def _check_saturation(areas: Any, i: int, n: int) -> NDArray[np.float64]:
    name = f"saturation_areas[{i}]"
    a = check_scores(areas, name, allow_empty=True).astype(np.float64).reshape(-1)
    if a.size != n:
        raise ValueError(f"`{name}` must hold one area per channel ({n}), got {a.size}.")
    if a.size and a.min() < 0:
        raise ValueError(f"`{name}` must be >= 0, got {a.min()}.")
    return a


def _check_channels(anomaly_maps: Any, channels: Any, saturation_areas: Any) -> _Channels:
    """Check maps, channels and saturation areas image by image (never a dense N x C array)."""
    maps = _check_maps(anomaly_maps)
    if isinstance(channels, np.ndarray) or not isinstance(channels, Sequence):
        raise TypeError(
            "`channels` must be a list with one (C_i, H, W) bool array per image, got "
            f"{type(channels).__name__}."
        )
    if len(channels) != len(maps):
        raise ValueError(
            f"`channels` must hold one channel stack per map ({len(maps)}), got {len(channels)}."
        )
    if saturation_areas is not None:
        if isinstance(saturation_areas, np.ndarray) or not isinstance(saturation_areas, Sequence):
            raise TypeError(
                "`saturation_areas` must be a list with one array of C_i areas per image, got "
                f"{type(saturation_areas).__name__}."
            )
        if len(saturation_areas) != len(maps):
            raise ValueError(
                f"`saturation_areas` must hold one entry per map ({len(maps)}), got "
                f"{len(saturation_areas)}."
            )
    scores, union, pixels, saturation = [], [], [], []
    n_channels = n_background = 0
    for i, (m, ch) in enumerate(zip(maps, channels)):
        if ch is None:
            ch_b = np.zeros((0, *m.shape), bool)
        else:
            ch_b = check_labels(ch, f"channels[{i}]")
            if ch_b.ndim != 3 or ch_b.shape[1:] != m.shape:
                raise ValueError(
                    f"`channels[{i}]` must have shape (C, {m.shape[0]}, {m.shape[1]}) (one mask "
                    f"per defect, C may be 0; one (H, W) mask: pass `mask[None]`), got shape "
                    f"{ch_b.shape}."
                )
        flat = ch_b.reshape(ch_b.shape[0], m.size)
        idx = [np.flatnonzero(c) for c in flat]
        for c, ix in enumerate(idx):
            if ix.size == 0:
                raise ValueError(
                    f"`channels[{i}][{c}]` must mark at least one defect pixel, got an empty mask."
                )
        if saturation_areas is None:
            sat = np.array([ix.size for ix in idx], np.float64)
        else:
            sat = _check_saturation(saturation_areas[i], i, len(idx))
        u = flat.any(axis=0) if len(idx) else np.zeros(m.size, bool)
        scores.append(m.reshape(-1))
        union.append(u)
        pixels.append(idx)
        saturation.append(sat)
        n_channels += len(idx)
        n_background += int(m.size - np.count_nonzero(u))
    return _Channels(scores, union, pixels, saturation, n_channels, n_background)


def _capped_weights(ch: _Channels) -> NDArray[np.float64]:
    """Per positive pixel (order of ``scores[union]`` over images) its capped sPRO weight.

    The weight of a channel's pixel of descending-score rank ``r`` is
    ``clip(s - r, 0, 1) / s`` (``s`` = 1 when the saturation area is 0); summed over the
    channels that hold the pixel. See the module docstring. Inputs are not validated.
    """
    parts = []
    for scores, u, idx, sat in zip(ch.scores, ch.union, ch.pixels, ch.saturation):
        if not idx:
            continue
        in_union = np.flatnonzero(u)  # ascending pixel indices: the order of scores[union]
        w_img = np.zeros(in_union.size, np.float64)
        for ix, s in zip(idx, sat):
            s = s if s > 0 else 1.0
            at = np.searchsorted(in_union, ix)  # each channel pixel's place in the union
            if s >= ix.size:  # every rank r <= s - 1: the weight is 1 / s for all pixels
                w_img[at] += 1.0 / s
                continue
            order = np.argsort(-scores[ix].astype(np.float64), kind="stable")
            rank = np.empty(ix.size, np.float64)
            rank[order] = np.arange(ix.size)
            w_img[at] += np.clip(s - rank, 0.0, 1.0) / s
        parts.append(w_img)
    return np.concatenate(parts) if parts else np.zeros(0, np.float64)


def _spro_undefined(n_channels: int, n_background: int, what: str) -> bool:
    """Warn and return True when `what` is undefined (no channel, or no pixel outside them)."""
    if n_channels == 0:
        warn_undefined(f"No defect channel in `channels`: {what} is undefined (nan).")
        return True
    if n_background == 0:
        warn_undefined(f"No pixel outside the channels: {what} is undefined (nan).")
        return True
    return False


def spro(
    anomaly_maps: Any, channels: Any, threshold: float = 0.5, *, saturation_areas: Any = None
) -> float:
    """Mean saturated per-region overlap of all defect channels at one threshold (MVTec LOCO AD).

    Parameters
    ----------
    anomaly_maps : array-like of shape (N, H, W), (N, 1, H, W) or (H, W), or a list of (H, W)
        Pixel anomaly scores, finite; images of a list may differ in size.
    channels : list of array-like
        One entry per map: a ``(C_i, H, W)`` bool (or 0/1) stack of defect masks, one per
        defect (several blobs allowed, channels may overlap), ``C_i`` may be 0; or None for a
        normal image.
    threshold : float, default 0.5
        A pixel is detected iff ``float64(score) >= float64(threshold)``.
    saturation_areas : list of array-like, optional
        One array of ``C_i`` saturation areas (>= 0) per map, e.g. from
        :func:`loco_saturation_areas`. Default: each channel's own area (no saturation).

    Returns
    -------
    float
        Mean over channels of ``min(TP_c / s_c, 1)``; nan when there is no channel.

    Raises
    ------
    TypeError
        `channels` or `saturation_areas` not a list, non-numeric inputs.
    ValueError
        Lengths or shapes that do not match, an empty channel, non-finite scores, masks not in
        {0, 1}, negative saturation areas, a non-finite `threshold`.

    Warns
    -----
    UndefinedMetricWarning
        No channel in any image (the result is nan).

    Notes
    -----
    A saturation area of 0 counts as saturated by the first detected pixel; one above the
    defect area never reaches 1 (see the module docstring). The official code binarises with
    ``score > threshold``.

    Examples
    --------
    >>> import numpy as np
    >>> import anomaly_metrics as am
    >>> maps = np.array([[[0.9, 0.8, 0.1, 0.1]]])
    >>> channels = [np.array([[[1, 1, 1, 0]], [[0, 0, 1, 1]]], bool)]
    >>> am.spro(maps, channels, 0.5)
    0.3333333333333333
    >>> am.spro(maps, channels, 0.5, saturation_areas=[[2, 2]])
    0.5
    """
    t = check_real(threshold, "threshold")
    ch = _check_channels(anomaly_maps, channels, saturation_areas)
    if ch.n_channels == 0:
        warn_undefined("No defect channel in `channels`: sPRO is undefined (nan).")
        return float("nan")
    total = 0.0
    for scores, idx, sat in zip(ch.scores, ch.pixels, ch.saturation):
        for ix, s in zip(idx, sat):
            tp = int(np.count_nonzero(scores[ix].astype(np.float64) >= t))
            total += min(tp / float(s), 1.0) if s > 0 else float(tp > 0)
    return float(total / ch.n_channels)


def spro_curve(
    anomaly_maps: Any, channels: Any, *, saturation_areas: Any = None, fpr_limit: float = 1.0
) -> SproCurve:
    """Mean sPRO against the false positive rate, one point per distinct score (MVTec LOCO AD).

    Parameters
    ----------
    anomaly_maps, channels, saturation_areas
        As :func:`spro`.
    fpr_limit : float in (0, 1], default 1.0
        Where the curve is cut (default: the whole curve).

    Returns
    -------
    SproCurve
        ``fpr``, ``spro`` (float64, non-decreasing) and ``thresholds`` (float64, descending),
        from (0, 0) at ``+inf``; a pixel is positive iff ``score >= threshold``. When
        `fpr_limit` is not a vertex, a last point ``(fpr_limit, spro)`` is interpolated on the
        segment that crosses it (as :func:`pro_curve`). nan FPR without any pixel outside the
        channels; nan sPRO without any channel.

    Raises
    ------
    TypeError, ValueError
        As :func:`spro`; also `fpr_limit` outside (0, 1].

    Warns
    -----
    UndefinedMetricWarning
        No channel, or no pixel outside the channels.

    See Also
    --------
    auspro

    Examples
    --------
    >>> import numpy as np
    >>> import anomaly_metrics as am
    >>> maps = np.array([[[0.9, 0.8, 0.1, 0.2]]])
    >>> channels = [np.array([[[1, 1, 0, 0]]], bool)]
    >>> curve = am.spro_curve(maps, channels, saturation_areas=[[1]])
    >>> curve.fpr.tolist(), curve.spro.tolist(), curve.thresholds.tolist()
    ([0.0, 0.0, 0.0, 0.5, 1.0], [0.0, 1.0, 1.0, 1.0, 1.0], [inf, 0.9, 0.8, 0.2, 0.1])
    """
    limit = check_fraction(fpr_limit, "fpr_limit", low_open=True)
    ch = _check_channels(anomaly_maps, channels, saturation_areas)
    _spro_undefined(ch.n_channels, ch.n_background, "the sPRO curve")
    weights = _capped_weights(ch)
    dtype = np.result_type(*(s.dtype for s in ch.scores))
    scores = np.concatenate([s.astype(dtype, copy=False) for s in ch.scores])
    union = np.concatenate(ch.union)
    return SproCurve(
        *_cut_weighted_curve(scores, union, weights, ch.n_channels, ch.n_background, limit)
    )


def auspro(
    anomaly_maps: Any,
    channels: Any,
    *,
    saturation_areas: Any = None,
    fpr_limit: float | Sequence[float] = 0.05,
) -> float | tuple[float, ...]:
    """Normalised area under the sPRO curve up to `fpr_limit` (MVTec LOCO AD's AU-sPRO).

    Parameters
    ----------
    anomaly_maps, channels, saturation_areas
        As :func:`spro`. For the official numbers pass the test images of one subset (the good
        images plus the logical, or plus the structural anomalies) and the areas of
        :func:`loco_saturation_areas`.
    fpr_limit : float in (0, 1], or a sequence of them, default 0.05
        Integration limit; a sequence (the official ``(0.01, 0.05, 0.1, 0.3, 1.0)``) gives one
        area per limit from one count.

    Returns
    -------
    float, or tuple of float
        ``area / fpr_limit`` in [0, 1]; nan without a channel or without a pixel outside the
        channels. For a sequence of limits, a tuple in their order, each equal to the call with
        that limit alone.

    Raises
    ------
    TypeError, ValueError
        As :func:`spro`; also a limit outside (0, 1] or an empty sequence of limits.

    Warns
    -----
    UndefinedMetricWarning
        No channel, or no pixel outside the channels (the result is nan).

    Notes
    -----
    Exact: one curve point per distinct score, trapezoids, linear interpolation at the limit.
    The official script samples thresholds (and subsamples scores with an unseeded random
    choice above 10M pixels), so its value is an approximation of this one; it also uses
    ``score > t``.

    Examples
    --------
    >>> import numpy as np
    >>> import anomaly_metrics as am
    >>> maps = np.array([[[0.9, 0.8, 0.1, 0.2]]])
    >>> channels = [np.array([[[1, 1, 0, 0]]], bool)]
    >>> am.auspro(maps, channels, fpr_limit=1.0)
    1.0
    >>> am.auspro(maps, channels, saturation_areas=[[4]], fpr_limit=(1.0, 0.5))
    (0.5, 0.5)
    """
    limits, one = _check_fpr_limits(fpr_limit)
    ch = _check_channels(anomaly_maps, channels, saturation_areas)
    if _spro_undefined(ch.n_channels, ch.n_background, "AU-sPRO"):
        areas: tuple[float, ...] = (float("nan"),) * len(limits)
    else:
        lv = _levels_for_cut(ch.scores, ch.union, _capped_weights(ch), ch.n_background, max(limits))
        areas = _areas_from_levels(lv, ch.n_channels, limits)
    return areas[0] if one else areas


def loco_saturation_area(
    defect_area: int, saturation_threshold: float, relative_saturation: bool
) -> float:
    """Saturation area of one defect channel, the MVTec LOCO AD rule.

    Parameters
    ----------
    defect_area : int
        Number of pixels of the channel (>= 0).
    saturation_threshold : float
        ``saturation_threshold`` of the defect's entry in ``defects_config.json`` (>= 0).
    relative_saturation : bool
        ``relative_saturation`` of that entry.

    Returns
    -------
    float
        ``int(saturation_threshold * defect_area)`` (floored, may be 0) when relative, else
        ``min(saturation_threshold, defect_area)``.

    Raises
    ------
    TypeError
        Non-numeric area or threshold, or a non-bool `relative_saturation`.
    ValueError
        A negative or non-integer area, a negative or non-finite threshold.

    Examples
    --------
    >>> import anomaly_metrics as am
    >>> am.loco_saturation_area(250, 0.5, True)
    125.0
    >>> am.loco_saturation_area(3, 0.2, True)
    0.0
    >>> am.loco_saturation_area(250, 100, False)
    100.0
    """
    area = check_real(defect_area, "defect_area")
    if area < 0 or area != int(area):
        raise ValueError(f"`defect_area` must be a non-negative integer, got {defect_area!r}.")
    s = check_real(saturation_threshold, "saturation_threshold")
    if s < 0:
        raise ValueError(f"`saturation_threshold` must be >= 0, got {s}.")
    if not isinstance(relative_saturation, (bool, np.bool_)):
        raise TypeError(
            f"`relative_saturation` must be a bool, got {type(relative_saturation).__name__}."
        )
    if relative_saturation:
        return float(int(s * area))
    return float(min(s, area))


def loco_saturation_areas(
    channels: Any, defect_ids: Any, defects_config: Sequence[Mapping[str, Any]]
) -> list[NDArray[np.float64]]:
    """Saturation areas of every channel from a parsed ``defects_config.json`` (MVTec LOCO AD).

    Parameters
    ----------
    channels : list of array-like
        As :func:`spro`: one ``(C_i, H, W)`` stack (or None) per image.
    defect_ids : list of sequences of int
        Per image, the pixel value of each channel (the defect id its PNG holds), ``C_i`` each.
    defects_config : list of dict
        The parsed ``defects_config.json``: entries with ``"pixel_value"``,
        ``"saturation_threshold"`` and ``"relative_saturation"`` (``"defect_name"`` unused).

    Returns
    -------
    list of ndarray of float64
        One array of ``C_i`` saturation areas per image (:func:`loco_saturation_area` of each
        channel's pixel count), ready for ``saturation_areas=``.

    Raises
    ------
    TypeError, ValueError
        Entries without the three keys or with bad values, a defect id missing from the
        config (the message lists the known ones), lengths that do not match.

    Examples
    --------
    >>> import numpy as np
    >>> import anomaly_metrics as am
    >>> config = [
    ...     {"defect_name": "missing", "pixel_value": 255, "saturation_threshold": 1.0,
    ...      "relative_saturation": True},
    ...     {"defect_name": "extra", "pixel_value": 254, "saturation_threshold": 2,
    ...      "relative_saturation": False},
    ... ]
    >>> ch = np.zeros((2, 4, 4), bool)
    >>> ch[0, :2], ch[1, 3] = True, True
    >>> am.loco_saturation_areas([ch, None], [[255, 254], []], config)
    [array([8., 2.]), array([], dtype=float64)]
    """
    table: dict[int, tuple[float, bool]] = {}
    if isinstance(defects_config, Mapping) or not isinstance(defects_config, Sequence):
        raise TypeError(
            "`defects_config` must be the list of entries of defects_config.json, got "
            f"{type(defects_config).__name__}."
        )
    for k, entry in enumerate(defects_config):
        missing = {"pixel_value", "saturation_threshold", "relative_saturation"} - set(entry)
        if missing:
            raise ValueError(
                f"`defects_config[{k}]` must have the keys pixel_value, saturation_threshold and "
                f"relative_saturation; missing {', '.join(sorted(missing))}."
            )
        pv = entry["pixel_value"]
        if isinstance(pv, bool) or not isinstance(pv, (int, np.integer)):
            raise TypeError(f"`defects_config[{k}]['pixel_value']` must be an int, got {pv!r}.")
        loco_saturation_area(0, entry["saturation_threshold"], entry["relative_saturation"])
        table[int(pv)] = (float(entry["saturation_threshold"]), bool(entry["relative_saturation"]))
    if not isinstance(channels, Sequence) or not isinstance(defect_ids, Sequence):
        raise TypeError("`channels` and `defect_ids` must be lists with one entry per image.")
    if len(channels) != len(defect_ids):
        raise ValueError(
            f"`defect_ids` must hold one entry per image ({len(channels)}), got {len(defect_ids)}."
        )
    out = []
    for i, (ch, ids) in enumerate(zip(channels, defect_ids)):
        stack = [] if ch is None else check_labels(ch, f"channels[{i}]")
        areas = [int(np.count_nonzero(c)) for c in stack]
        ids = list(ids)
        if len(ids) != len(areas):
            raise ValueError(
                f"`defect_ids[{i}]` must hold one id per channel ({len(areas)}), got {len(ids)}."
            )
        row = []
        for c, (a, d) in enumerate(zip(areas, ids)):
            if int(d) not in table:
                raise ValueError(
                    f"`defect_ids[{i}][{c}]` = {d!r} is not a pixel_value of `defects_config` "
                    f"(known: {sorted(table)})."
                )
            row.append(loco_saturation_area(a, *table[int(d)]))
        out.append(np.array(row, np.float64))
    return out
