"""Summary statistics of one model's per-image values (nan = image not scored)."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from .._validation import _to_array
from .._warnings import warn_undefined

__all__ = ["PerImageStats", "per_image_stats"]


class PerImageStats(NamedTuple):
    """Summary of one model's per-image values, nan ignored (see :func:`per_image_stats`)."""

    count: int
    mean: float
    median: float
    std: float
    q1: float
    q3: float
    min: float
    argmin: int
    max: float
    argmax: int


def _check_per_image(x: Any, name: str) -> NDArray[np.float64]:
    """A 1-D float64 array of per-image values; nan allowed (not scored), inf is not."""
    if not isinstance(x, np.ndarray) and hasattr(x, "per_image"):
        x = x.per_image  # an AupimoResult (or anything holding per-image values)
    arr = _to_array(x, name)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"`{name}` must hold real numbers, got dtype {arr.dtype}.")
    arr = arr.astype(np.float64)
    if arr.ndim != 1:
        raise ValueError(
            f"`{name}` must be 1-D (one value per image), got shape {arr.shape}; "
            "pass the per-image values, e.g. `aupimo(...).per_image`."
        )
    if arr.size == 0:
        raise ValueError(f"`{name}` must not be empty, got shape {arr.shape}.")
    if np.isinf(arr).any():
        bad = int(np.flatnonzero(np.isinf(arr))[0])
        raise ValueError(
            f"`{name}` must be finite or nan (nan = image not scored), got {arr[bad]} at image "
            f"{bad}."
        )
    return arr


def per_image_stats(scores: Any) -> PerImageStats:
    """Summary statistics of per-image values, ignoring nan (images without a value).

    Parameters
    ----------
    scores : array-like of shape (N,) or AupimoResult
        One value per image, e.g. per-image AUPIMO; nan marks an image that has no value (a
        normal image in AUPIMO). An object with a ``per_image`` attribute (``AupimoResult``) is
        accepted as well.

    Returns
    -------
    PerImageStats
        ``count`` (images with a value), ``mean``, ``median``, ``std`` (unbiased, ``N - 1``),
        the quartiles ``q1`` and ``q3`` (linear interpolation, as ``numpy.percentile``),
        ``min`` / ``max`` and ``argmin`` / ``argmax``: their image indices in the *original*
        array, nan included (the first one on ties).

    Raises
    ------
    TypeError
        Non-numeric input.
    ValueError
        Empty input, not 1-D, or infinite values.

    Warns
    -----
    UndefinedMetricWarning
        Every value is nan (all statistics nan, indices -1), or a single value (``std`` is nan).

    Examples
    --------
    >>> import numpy as np
    >>> import anomaly_metrics as am
    >>> s = am.per_image_stats([0.9, np.nan, 0.2, 0.6, 0.7])
    >>> s.count, round(s.mean, 6), round(s.median, 6), round(s.q1, 6)
    (4, 0.6, 0.65, 0.5)
    >>> s.min, s.argmin, s.max, s.argmax
    (0.2, 2, 0.9, 0)
    """
    values = _check_per_image(scores, "scores")
    return _per_image_stats(values)


def _per_image_stats(values: NDArray[np.float64]) -> PerImageStats:
    """Statistics of a checked 1-D array (nan = no value). Inputs are not validated."""
    valid = ~np.isnan(values)
    count = int(valid.sum())
    nan = float("nan")
    if count == 0:
        warn_undefined("Every per-image value is nan: the statistics are undefined (nan).")
        return PerImageStats(0, nan, nan, nan, nan, nan, nan, -1, nan, -1)
    v = values[valid]
    if count == 1:
        warn_undefined("A single per-image value: the unbiased std is undefined (nan).")
        std = nan
    else:
        std = float(v.std(ddof=1))
    q1, median, q3 = (float(q) for q in np.percentile(v, [25.0, 50.0, 75.0]))
    return PerImageStats(
        count=count,
        mean=float(v.mean()),
        median=median,
        std=std,
        q1=q1,
        q3=q3,
        min=float(v.min()),
        argmin=int(np.nanargmin(values)),
        max=float(v.max()),
        argmax=int(np.nanargmax(values)),
    )
