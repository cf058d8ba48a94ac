"""``evaluate``: every image and pixel metric of a test set at once, sharing the work.

One call of the counting primitive over all pixels, with the per-region weights of AU-PRO,
gives pixel AUROC, AUPR, F1Max (its counts) and AU-PRO (its weights); the regions are labelled
once. Image metrics come from one counting call over the image scores. AUPIMO has its own
per-image statistics (it only needs the top of the normal pixels).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

from ._counts import _binary_levels, _Levels
from ._f1 import _f1_max_from_levels
from ._groups import _group_index, _grouped
from ._levels import UnitWeights
from ._pgn_pbn import pbn, pgn
from ._pimo import _aupimo_checked
from ._pro import _aupro_from_levels, _aupro_from_statistics, _pro_statistics
from ._ranking import _aupr_from_levels, _auroc_from_levels
from ._validation import check_fraction, check_maps_and_masks, check_scores
from ._warnings import UndefinedMetricWarning, _stacklevel, warn_undefined

__all__ = ["METRICS", "evaluate"]

#: Every metric :func:`evaluate` knows, in the order of its result.
METRICS: tuple[str, ...] = (
    "image_auroc",
    "image_aupr",
    "image_f1max",
    "pixel_auroc",
    "pixel_aupr",
    "pixel_f1max",
    "aupro",
    "aupimo",
    "pgn",
    "pbn",
)
_IMAGE_COUNTS = {"image_auroc", "image_aupr", "image_f1max"}
_PIXEL_COUNTS = {"pixel_auroc", "pixel_aupr", "pixel_f1max", "aupro"}

T = TypeVar("T")


def _check_metrics(metrics: Iterable[str] | str | None) -> list[str]:
    if metrics is None:
        return list(METRICS)
    if isinstance(metrics, str):
        metrics = [metrics]
    try:
        names = list(metrics)
    except TypeError as err:
        raise TypeError(
            f"`metrics` must be a list of metric names, got {type(metrics).__name__}."
        ) from err
    unknown = [m for m in names if m not in METRICS]
    if unknown:
        raise ValueError(
            f"`metrics` must name metrics out of {', '.join(METRICS)}; got unknown "
            f"{', '.join(map(repr, unknown))}."
        )
    if not names:
        raise ValueError(f"`metrics` must not be empty; choose out of {', '.join(METRICS)}.")
    wanted = set(names)
    return [m for m in METRICS if m in wanted]


def _prefixed(name: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run `fn`, re-emitting its UndefinedMetricWarnings with the metric's name in front."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UndefinedMetricWarning)
        value = fn(*args, **kwargs)
    for w in caught:
        if issubclass(w.category, UndefinedMetricWarning):
            warn_undefined(f"{name}: {w.message}")
        else:  # e.g. AUPIMO's "bound not exactly achieved": keep its category
            warnings.warn(f"{name}: {w.message}", w.category, stacklevel=_stacklevel())
    return value


def _f1max_or_nan(lv: _Levels) -> float:
    if lv.n_pos == 0 or lv.n_neg == 0:
        missing = "positive" if lv.n_pos == 0 else "negative"
        warn_undefined(f"No {missing} samples: F1 max is undefined (nan).")
        return float("nan")
    return _f1_max_from_levels(lv)[0]


def _from_levels(lv: _Levels, prefix: str, wanted: list[str], out: dict[str, float]) -> None:
    """AUROC, AUPR and F1 max from one count's per-level counts (no cumulative arrays)."""
    table = {
        f"{prefix}_auroc": _auroc_from_levels,
        f"{prefix}_aupr": _aupr_from_levels,
        f"{prefix}_f1max": _f1max_or_nan,
    }
    for name, fn in table.items():
        if name in wanted:
            out[name] = float(_prefixed(name, fn, lv))


def _aupimo_or_nan(maps: NDArray[Any], gt: NDArray[np.bool_]) -> float:
    """Mean AUPIMO of the anomalous images; its data errors become nan with a warning."""
    try:
        result = _prefixed("aupimo", _aupimo_checked, maps, gt)
    except (ValueError, RuntimeError) as err:
        warn_undefined(f"aupimo: {err} (nan).")
        return float("nan")
    return float(result.mean)


def _image_scores(image_scores: Any, maps: NDArray[Any]) -> NDArray[Any]:
    if image_scores is None:
        return maps.max(axis=(1, 2))
    s = check_scores(image_scores, "image_scores")
    if s.reshape(-1).shape != (maps.shape[0],):
        raise ValueError(
            f"`image_scores` must hold one score per image, shape ({maps.shape[0]},), got "
            f"shape {s.shape}."
        )
    return s.reshape(-1)


def evaluate(
    anomaly_maps: Any,
    masks: Any,
    *,
    image_scores: Any | None = None,
    metrics: Iterable[str] | None = None,
    fpr_limit: float = 0.3,
    groups: Any | None = None,
) -> dict[str, float]:
    """Every image and pixel metric of a test set at once.

    Parameters
    ----------
    anomaly_maps : array-like of shape (N, H, W), (N, 1, H, W) or (H, W)
        Anomaly maps, higher means more anomalous; finite floats (float32 stays float32).
    masks : array-like, same shape as `anomaly_maps`
        Ground truth, bool or numbers that are all 0 or 1 (0/255 images: pass ``masks > 0``).
        An image is anomalous iff its mask has a foreground pixel.
    image_scores : array-like of shape (N,), optional
        One anomaly score per image for the image metrics. Default: each map's maximum, as the
        official MVTec AD evaluation.
    metrics : iterable of str, optional
        The metrics to compute, out of :data:`METRICS` (default: all of them):
        ``image_auroc``, ``image_aupr``, ``image_f1max`` (image scores vs. image labels),
        ``pixel_auroc``, ``pixel_aupr``, ``pixel_f1max`` (every pixel), ``aupro`` (up to
        `fpr_limit`), ``aupimo`` (mean over anomalous images, default linspace definition),
        ``pgn`` and ``pbn`` (image level, at 5 %).
    fpr_limit : float in (0, 1], default 0.3
        Integration limit of AU-PRO.
    groups : array-like of shape (N,), optional
        The sample of each image (any hashable labels), for samples made of several images
        (Real-IAD's multi-view objects): the image metrics (``image_*``, ``pgn``, ``pbn``) then
        evaluate samples, a sample's score being the maximum of its images' scores and its
        label anomalous iff any of its images is. Pixel metrics are unchanged.

    Returns
    -------
    dict of str to float
        Metric name -> value, in the order of :data:`METRICS`.

    Raises
    ------
    TypeError, ValueError
        Bad inputs (see :func:`aupro`), `image_scores` not one per image, an unknown metric
        name (the message lists the valid ones), `fpr_limit` outside (0, 1], or `groups` not
        one hashable label per image.

    Warns
    -----
    UndefinedMetricWarning
        For each metric undefined for the data (e.g. no normal image: image AUROC, AUPIMO, ...);
        its value is nan and the warning names it. AUPIMO's data errors (an FPR bound the
        normal pixels cannot reach, too few curve points) also become nan with a warning here,
        so that one metric does not stop the others.

    Notes
    -----
    The work is shared: the regions of the masks are labelled once, and one counting pass over
    the pixels (the positives sorted, the negatives counted into the gaps between them) yields
    the pixel AUROC, AUPR and F1Max from its counts and AU-PRO from its per-region weights.
    Each value is the one the individual function returns on the same arrays (:func:`auroc`,
    :func:`aupr`, :func:`f1_max`, :func:`aupro`, :func:`aupimo`, :func:`pgn`, :func:`pbn`).

    Examples
    --------
    >>> import numpy as np
    >>> import anomaly_metrics as am
    >>> maps = np.zeros((2, 4, 4), np.float32)
    >>> masks = np.zeros((2, 4, 4), bool)
    >>> masks[1, 1:3, 1:3] = True
    >>> maps[1, 1:3, 1:3] = 0.9
    >>> maps[1, 0, 0] = 0.5
    >>> result = am.evaluate(maps, masks, metrics=["image_auroc", "pixel_auroc", "aupro"])
    >>> result
    {'image_auroc': 1.0, 'pixel_auroc': 1.0, 'aupro': 1.0}
    >>> am.evaluate(maps, masks, metrics=["image_auroc"], groups=["a", "b"])  # 2 one-view samples
    {'image_auroc': 1.0}
    """
    wanted = _check_metrics(metrics)
    limit = check_fraction(fpr_limit, "fpr_limit", low_open=True)
    maps, gt = check_maps_and_masks(anomaly_maps, masks)
    out: dict[str, float] = {}

    if _IMAGE_COUNTS.intersection(wanted) or {"pgn", "pbn"}.intersection(wanted):
        scores = _image_scores(image_scores, maps)
        labels = gt.reshape(gt.shape[0], -1).any(axis=1)
        if groups is not None:
            names, inv = _group_index(groups, scores.size)
            sample = _grouped(scores, labels, names, inv, "max")
            assert sample.labels is not None
            scores, labels = sample.scores, sample.labels
        if _IMAGE_COUNTS.intersection(wanted):
            _from_levels(_binary_levels(scores, labels), "image", wanted, out)
        if "pgn" in wanted:
            out["pgn"] = _prefixed("pgn", pgn, scores, labels)
        if "pbn" in wanted:
            out["pbn"] = _prefixed("pbn", pbn, scores, labels)
    else:  # still validate them
        if image_scores is not None:
            _image_scores(image_scores, maps)
        if groups is not None:
            _group_index(groups, maps.shape[0])

    if _PIXEL_COUNTS.intersection(wanted) == {"aupro"}:  # alone: AU-PRO's own shortcut
        st = _pro_statistics(maps, gt)
        out["aupro"] = float(_prefixed("aupro", _aupro_from_statistics, st, limit))
    elif _PIXEL_COUNTS.intersection(wanted):
        flat_maps = maps.reshape(-1)
        flat_gt = gt.reshape(-1)
        weights = st = None
        if "aupro" in wanted:
            st = _pro_statistics(maps, gt)  # the regions, labelled once
            weights = UnitWeights(st.ids, 1.0 / st.sizes.astype(np.float64))
        lv = _binary_levels(flat_maps, flat_gt, pos_weights=weights)
        del weights
        _from_levels(lv, "pixel", wanted, out)
        if st is not None:
            n_regions = int(st.sizes.size)
            out["aupro"] = float(_prefixed("aupro", _aupro_from_levels, lv, n_regions, limit))

    if "aupimo" in wanted:
        out["aupimo"] = _aupimo_or_nan(maps, gt)

    return {m: out[m] for m in METRICS if m in out}
