"""Percentile bootstrap confidence intervals of any metric, resampling images.

Images, never pixels, are resampled: the pixels of one image are not independent. AUROC and
AU-PRO are computed from per-image counts gathered once (:mod:`._image_counts`), anything else by
calling the metric on every resample; both draw the same resamples for a seed.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable, Iterator
from typing import Any, Literal, NamedTuple

import numpy as np
from numpy.typing import NDArray

from .._pro import aupro
from .._ranking import auroc
from .._validation import _describe, _to_array, check_fraction
from .._warnings import UndefinedMetricWarning, warn_undefined
from ._image_counts import aupro_image_counts, auroc_image_counts, resampled_areas

__all__ = ["BootstrapCI", "bootstrap_ci"]

# Resample indices are drawn in chunks of at most this many entries (rows x images).
_CHUNK_ENTRIES = 1 << 22


class BootstrapCI(NamedTuple):
    """Percentile bootstrap confidence interval (see :func:`bootstrap_ci`)."""

    low: float
    high: float
    estimate: float
    confidence: float
    n_resamples: int


def _resample_indices(
    rng: np.random.Generator,
    n: int,
    n_resamples: int,
    strata: list[NDArray[np.intp]] | None,
) -> Iterator[NDArray[np.intp]]:
    """Chunks ``(b, n)`` of image indices, one row per resample, drawn with replacement.

    With `strata` (image index arrays, one per class) each class is resampled within itself, so
    every resample keeps the class sizes. Every path of :func:`bootstrap_ci` draws through this
    function, so a seed gives the same resamples whichever path computes them.
    """
    rows = max(1, min(n_resamples, _CHUNK_ENTRIES // max(n, 1)))
    done = 0
    while done < n_resamples:
        b = min(rows, n_resamples - done)
        if strata is None:
            idx = rng.integers(0, n, size=(b, n))
        else:
            idx = np.empty((b, n), np.intp)
            for members in strata:
                idx[:, members] = members[rng.integers(0, members.size, size=(b, members.size))]
        done += b
        yield idx


def _multiplicities(idx: NDArray[np.intp], n: int) -> NDArray[np.float64]:
    """How many times each image is drawn in each resample: ``(b, n)`` float64 counts."""
    b = idx.shape[0]
    flat = (idx + (np.arange(b) * n)[:, None]).ravel()
    return np.bincount(flat, minlength=b * n).reshape(b, n).astype(np.float64)


def _resolve_fast_path(metric: Callable[..., Any]) -> tuple[str | None, dict[str, Any]]:
    """Which fast path computes `metric` ("auroc", "aupro" or None), with its options."""
    func: Any = metric
    kwargs: dict[str, Any] = {}
    if isinstance(metric, functools.partial):
        if metric.args:
            return None, {}
        func, kwargs = metric.func, dict(metric.keywords)
    if func is auroc and set(kwargs) <= {"max_fpr"} and kwargs.get("max_fpr") in (None, 1, 1.0):
        return "auroc", {}
    if func is aupro and set(kwargs) <= {"fpr_limit"}:
        return "aupro", {"fpr_limit": kwargs.get("fpr_limit", 0.3)}
    return None, {}


def _as_float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"`metric` must return a real number, got {_describe(value)}; wrap it, e.g. "
            "`lambda maps, masks: am.aupimo(maps, masks).mean`."
        ) from err


def bootstrap_ci(
    metric: Callable[..., Any],
    *arrays: Any,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int | np.random.Generator | None = 0,
    by: Literal["image", "class"] = "image",
) -> BootstrapCI:
    """Percentile bootstrap confidence interval of a metric, resampling images.

    Each resample draws N images with replacement (axis 0 of every array, the same draw for all
    arrays) and evaluates ``metric(*resampled_arrays)``; the interval is the
    ``(1 - confidence) / 2`` and ``(1 + confidence) / 2`` percentiles of the resampled values.
    Images, not pixels, are resampled: the pixels of one image are not independent.

    Parameters
    ----------
    metric : callable
        Any metric of this library (or any function of the arrays returning a real number), e.g.
        ``am.auroc``, ``am.f1_max``, ``functools.partial(am.aupro, fpr_limit=0.05)``.
        :func:`auroc` (image- or pixel-level, ``max_fpr`` unset) and ``aupro`` have exact fast
        paths: counts per image are gathered once and every resample is computed from them,
        giving the same values as calling the metric on each resample. Anything else
        is called once per resample.
    *arrays : array-like
        The metric's arguments, all with the same length N along axis 0 (the images):
        ``scores, labels`` of shape ``(N,)`` for image-level metrics, ``anomaly_maps, masks``
        of shape ``(N, H, W)`` for pixel-level ones.
    n_resamples : int >= 1
        Number of bootstrap resamples.
    confidence : float in (0, 1)
        Coverage of the interval.
    seed : int, numpy Generator or None
        Seeds ``numpy.random.default_rng``; a fixed seed gives the same interval every time
        (and the same resamples on every path).
    by : {"image", "class"}
        ``"image"``: resample among all images. ``"class"``: resample normal and anomalous images
        separately, keeping their numbers (a stratified bootstrap: no resample misses a class).
        The class of image i is taken from the second array: anomalous iff ``arrays[1][i]`` has
        any non-zero entry (labels or masks).

    Returns
    -------
    BootstrapCI
        ``low``, ``high``, ``estimate`` (the metric on the data as given), ``confidence`` and
        ``n_resamples``: the number of resamples the interval rests on (resamples whose metric
        is undefined, e.g. with one class only, are left out).

    Raises
    ------
    TypeError
        `metric` not callable, or it returns something that is not a real number.
    ValueError
        No arrays, arrays of different lengths along axis 0, bad
        `n_resamples`, `confidence` or `by`, ``by="class"`` with fewer than 2 arrays; and
        whatever `metric` raises on the data.

    Warns
    -----
    UndefinedMetricWarning
        From `metric` when it is undefined on the data (everything is then nan), when some
        resamples had an undefined metric and were left out, or with a single image (``low`` and
        ``high`` are nan, ``estimate`` is the metric's value: one image has no spread).

    Notes
    -----
    The percentile interval (Efron) is not corrected for bias; with small N it tends to be too
    narrow.

    Fast paths. Every image's counts at the set's distinct positive scores are gathered once by
    the counting primitive; a resample's counts are their sums weighted by how many times it
    draws each image (one sparse product), and its area comes from the code of :func:`auroc` and
    ``aupro`` themselves. AU-PRO first drops the positives below the lowest score any resample's
    curve reaches before `fpr_limit` (the lowest of the images' own floors). The values are those
    of calling the metric on every resample (up to float rounding).

    Examples
    --------
    >>> import numpy as np
    >>> import anomaly_metrics as am
    >>> rng = np.random.default_rng(0)
    >>> labels = np.repeat([0, 1], 100)
    >>> scores = rng.normal(size=200) + labels
    >>> ci = am.bootstrap_ci(am.auroc, scores, labels, n_resamples=1000)
    >>> round(ci.estimate, 4), round(ci.low, 4), round(ci.high, 4)
    (0.7403, 0.6686, 0.809)
    >>> ci.low < ci.estimate < ci.high
    True
    """
    if not callable(metric):
        raise TypeError(f"`metric` must be callable, got {_describe(metric)}.")
    if not arrays:
        raise ValueError("`arrays` must hold at least one array, got none.")
    if isinstance(n_resamples, (bool, np.bool_)) or not isinstance(n_resamples, (int, np.integer)):
        raise TypeError(f"`n_resamples` must be an int, got {_describe(n_resamples)}.")
    if n_resamples < 1:
        raise ValueError(f"`n_resamples` must be >= 1, got {n_resamples}.")
    n_resamples = int(n_resamples)
    confidence = check_fraction(confidence, "confidence", low_open=True, high_open=True)
    if by not in ("image", "class"):
        raise ValueError(f'`by` must be "image" or "class", got {by!r}.')
    arrs = [_to_array(a, f"arrays[{i}]") for i, a in enumerate(arrays)]
    for i, a in enumerate(arrs):
        if a.ndim == 0:
            raise ValueError(f"`arrays[{i}]` must have an image axis (axis 0), got a scalar.")
    n = arrs[0].shape[0]
    for i, a in enumerate(arrs[1:], start=1):
        if a.shape[0] != n:
            raise ValueError(
                f"`arrays[{i}]` must have as many images (axis 0) as `arrays[0]` ({n}), got "
                f"shape {a.shape}."
            )
    strata = None
    if by == "class":
        if len(arrs) < 2:
            raise ValueError(
                '`by="class"` takes the image classes from the second array (labels or masks), '
                "but only one array was given."
            )
        anomalous = arrs[1].reshape(n, -1).any(axis=1)
        strata = [np.flatnonzero(~anomalous), np.flatnonzero(anomalous)]
        strata = [s for s in strata if s.size]

    estimate = _as_float(metric(*arrs))
    if math.isnan(estimate):  # the metric warned already
        nan = float("nan")
        return BootstrapCI(nan, nan, nan, confidence, 0)
    if n < 2:  # every resample is the data itself: no spread to measure
        warn_undefined(
            f"`arrays` hold {n} image: every resample repeats it, so the interval is "
            "undefined (nan); the estimate is the metric on the data."
        )
        nan = float("nan")
        return BootstrapCI(nan, nan, estimate, confidence, 0)

    rng = np.random.default_rng(seed)
    chunks = _resample_indices(rng, n, n_resamples, strata)
    path, options = _resolve_fast_path(metric)
    if path is not None:
        if path == "auroc":
            counts = auroc_image_counts(arrs[0], arrs[1], n)
        else:
            if arrs[0].ndim < 3:
                raise ValueError(
                    "`arrays[0]` must be a batch of anomaly maps (N, H, W) or (N, 1, H, W) to "
                    f"resample images, got shape {arrs[0].shape}."
                )
            counts = aupro_image_counts(arrs[0], arrs[1], float(options["fpr_limit"]))
        values = np.concatenate([resampled_areas(counts, _multiplicities(i, n)) for i in chunks])
    else:
        values = np.empty(n_resamples, np.float64)
        k = 0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UndefinedMetricWarning)
            for idx in chunks:
                for row in idx:
                    values[k] = _as_float(metric(*(a[row] for a in arrs)))
                    k += 1

    valid = values[~np.isnan(values)]
    if valid.size < n_resamples:
        hint = ' by="class" keeps both classes in every resample.' if by == "image" else ""
        warn_undefined(
            f"The metric is undefined on {n_resamples - valid.size} of {n_resamples} resamples "
            f"(e.g. one class only); they are left out of the interval.{hint}"
        )
    if valid.size == 0:
        nan = float("nan")
        return BootstrapCI(nan, nan, estimate, confidence, 0)
    tail = 50.0 * (1.0 - confidence)
    low, high = np.percentile(valid, [tail, 100.0 - tail])
    return BootstrapCI(float(low), float(high), estimate, confidence, int(valid.size))
