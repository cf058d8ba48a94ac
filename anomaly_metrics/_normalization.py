"""Min-max statistics and anomalib's min-max normalisation of scores."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from ._validation import check_real, check_scores

__all__ = ["MinMax", "min_max", "normalize_min_max"]


class MinMax(NamedTuple):
    """Smallest and largest value (see :func:`min_max`)."""

    min: float
    max: float


def min_max(values: Any) -> MinMax:
    """Smallest and largest of all values (any shape).

    Parameters
    ----------
    values : array-like
        Scores or anomaly maps; finite, not empty.

    Returns
    -------
    MinMax
        ``(min, max)`` as Python floats.

    Raises
    ------
    TypeError
        Non-numeric input.
    ValueError
        Empty input or non-finite values.

    Examples
    --------
    >>> import anomaly_metrics as am
    >>> am.min_max([[0.25, -2.5], [7.75, 1.0]])
    MinMax(min=-2.5, max=7.75)
    """
    v = check_scores(values, "values")
    return MinMax(float(v.min()), float(v.max()))


def normalize_min_max(values: Any, threshold: float, min: float, max: float) -> NDArray[Any]:
    """anomalib's post-processing normalisation: ``clip((x - threshold) / (max - min) + 0.5, 0, 1)``.

    A score at the threshold maps to 0.5, so 0.5 becomes the decision threshold of normalised
    scores.

    Parameters
    ----------
    values : array-like
        Scores or anomaly maps, any shape; finite.
    threshold : float
        The decision threshold in raw score space (e.g. from :func:`f1_adaptive_threshold`).
    min, max : float
        The range of raw scores (e.g. from :func:`min_max` on validation data); ``min <= max``.

    Returns
    -------
    ndarray
        Same shape as `values`; float32 for float16/float32 input, float64 otherwise; in [0, 1].
        When ``min == max`` the formula's limit: 1 above the threshold, 0 below, 0.5 at it.

    Raises
    ------
    TypeError
        Non-numeric input.
    ValueError
        Empty or non-finite values, non-finite parameters, or ``min > max``.

    Examples
    --------
    >>> import anomaly_metrics as am
    >>> am.normalize_min_max([0.0, 0.5, 1.0, 3.0], threshold=0.5, min=0.0, max=2.0).tolist()
    [0.25, 0.5, 0.75, 1.0]
    >>> am.normalize_min_max([0.2, 0.5, 0.9], threshold=0.5, min=0.5, max=0.5).tolist()
    [0.0, 0.5, 1.0]
    """
    v = check_scores(values, "values")
    t = check_real(threshold, "threshold")
    lo = check_real(min, "min")
    hi = check_real(max, "max")
    if lo > hi:
        raise ValueError(f"`min` must be <= `max`, got min={lo} and max={hi}.")
    out_dtype = v.dtype
    x = v.astype(np.float64, copy=False)
    if hi == lo:
        out = np.where(x > t, 1.0, np.where(x < t, 0.0, 0.5))
    else:
        with np.errstate(over="ignore"):  # a tiny range sends far scores to +-inf: clipped
            out = np.clip((x - t) / (hi - lo) + 0.5, 0.0, 1.0)
    return out.astype(out_dtype, copy=False)
