"""Statistics of log anomaly scores (anomalib's AnomalyScoreDistribution)."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from ._validation import check_scores
from ._warnings import warn_undefined

__all__ = ["ScoreDistribution", "score_distribution"]


class ScoreDistribution(NamedTuple):
    """Mean and unbiased standard deviation of log scores (see :func:`score_distribution`).

    The image fields are floats (None without image scores); the pixel fields are arrays of the
    per-pixel statistics across images (None without anomaly maps).
    """

    image_mean: float | None
    image_std: float | None
    pixel_mean: NDArray[np.float64] | None
    pixel_std: NDArray[np.float64] | None


def _log_positive(x: Any, name: str) -> NDArray[np.float64]:
    v = check_scores(x, name).astype(np.float64, copy=False)
    if (v <= 0).any():
        raise ValueError(
            f"`{name}` must be > 0 (the statistics are of their natural log), got minimum "
            f"{float(v.min())}."
        )
    return np.log(v)


def score_distribution(
    image_scores: Any | None = None, anomaly_maps: Any | None = None
) -> ScoreDistribution:
    """Mean and standard deviation of the natural log of image scores and of anomaly maps.

    Parameters
    ----------
    image_scores : array-like of shape (N,), optional
        One positive score per image.
    anomaly_maps : array-like of shape (N, H, W) or (N, 1, H, W), optional
        Positive anomaly maps; statistics are per pixel across the N images.

    Returns
    -------
    ScoreDistribution
        ``image_mean``, ``image_std`` (floats; std unbiased, N - 1) and ``pixel_mean``,
        ``pixel_std`` (float64 arrays of the map's spatial shape with size-1 axes removed, as
        anomalib's ``squeeze``). Fields for an input not given are None.

    Raises
    ------
    TypeError
        Non-numeric input.
    ValueError
        Neither input given, empty or non-finite input, or a score <= 0.

    Warns
    -----
    UndefinedMetricWarning
        A single image: the unbiased standard deviation is nan.

    Examples
    --------
    >>> import anomaly_metrics as am
    >>> d = am.score_distribution(image_scores=[0.5, 1.0, 2.0, 4.0])
    >>> round(d.image_mean, 6), round(d.image_std, 6)
    (0.346574, 0.894849)
    >>> d.pixel_mean is None
    True
    """
    if image_scores is None and anomaly_maps is None:
        raise ValueError("Pass `image_scores`, `anomaly_maps` or both; got neither.")
    image_mean = image_std = None
    pixel_mean = pixel_std = None
    if image_scores is not None:
        s = _log_positive(image_scores, "image_scores").reshape(-1)
        image_mean = float(s.mean())
        if s.size < 2:
            warn_undefined("A single image score: its unbiased standard deviation is nan.")
            image_std = float("nan")
        else:
            image_std = float(s.std(ddof=1))
    if anomaly_maps is not None:
        m = _log_positive(anomaly_maps, "anomaly_maps")
        if m.ndim < 2:
            raise ValueError(
                f"`anomaly_maps` must have shape (N, H, W) or (N, 1, H, W), got {m.shape}."
            )
        pixel_mean = np.squeeze(m.mean(axis=0))
        if m.shape[0] < 2:
            warn_undefined("A single anomaly map: the unbiased per-pixel std is nan.")
            pixel_std = np.full(pixel_mean.shape, np.nan)
        else:
            pixel_std = np.squeeze(m.std(axis=0, ddof=1))
    return ScoreDistribution(image_mean, image_std, pixel_mean, pixel_std)
