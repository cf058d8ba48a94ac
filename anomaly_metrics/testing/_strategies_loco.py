"""Hypothesis strategy for MVTec LOCO AD-style ground truth: defect channels with saturation."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._strategy_tools import _check_int, st

__all__ = ["loco_channels"]


@st.composite
def _loco(draw: Any, max_images: int, max_side: int, max_channels: int) -> Any:
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n = draw(st.integers(1, max_images))
    h, w = draw(st.integers(1, max_side)), draw(st.integers(2, max_side))
    levels = draw(st.integers(1, 12))
    dtype = draw(st.sampled_from((np.float16, np.float32, np.float64)))
    maps = [(rng.integers(0, levels, (h, w)) / levels + 0.1).astype(dtype) for _ in range(n)]
    channels = []
    for _ in range(n):
        c = draw(st.integers(0, max_channels))
        ch = rng.random((c, h, w)) < draw(st.sampled_from((0.1, 0.3, 0.6)))
        for k in range(c):  # a channel is never empty
            ch[k, rng.integers(h), rng.integers(w)] = True
        channels.append(ch)
    mode = draw(st.sampled_from(("none", "absolute", "relative")))
    if mode == "none":
        return maps, channels, None
    if mode == "absolute":  # 0, below, at and above the defect area
        sats = [
            np.asarray(rng.integers(0, ch.reshape(len(ch), -1).sum(1) + 3), np.float64)
            if len(ch)
            else np.zeros(0)
            for ch in channels
        ]
        return maps, channels, sats
    relative = draw(st.sampled_from((0.0, 0.3, 0.5, 1.0, 1.5)))
    return (
        maps,
        channels,
        [np.array([float(int(relative * c.sum())) for c in ch]) for ch in channels],
    )


def loco_channels(max_images: int = 3, max_side: int = 6, max_channels: int = 3) -> Any:
    """Draw ``(maps, channels, saturation_areas)``: MVTec LOCO AD-style data for sPRO.

    ``maps`` is a list of ``(H, W)`` maps (float16/32/64, a few levels: many ties);
    ``channels[i]`` a ``(C_i, H, W)`` bool stack of defect channels (``C_i`` from 0 to
    `max_channels`; channels may overlap, a channel may hold several blobs, none is empty);
    ``saturation_areas`` is ``None`` (the channel areas) or a list of per-channel areas, either
    absolute (0, below, at or above the channel's area) or relative (``floor(r * area)`` for
    ``r`` in 0, 0.3, 0.5, 1, 1.5).

    Cannot produce: maps of different sizes, empty channels, non-finite scores.

    Parameters
    ----------
    max_images, max_side, max_channels : int
        Bounds on the number of images, on each side and on the channels of one image.

    Examples
    --------
    >>> from hypothesis import given
    >>> from anomaly_metrics.testing import fast_settings, loco_channels
    >>> @fast_settings
    ... @given(loco_channels(max_images=2))
    ... def test_shapes(problem):
    ...     maps, channels, sats = problem
    ...     assert all(c.shape[1:] == m.shape for m, c in zip(maps, channels))
    >>> test_shapes()
    """
    _check_int("max_images", max_images, 1)
    _check_int("max_side", max_side, 1)
    _check_int("max_channels", max_channels, 0)
    return _loco(max_images, max_side, max_channels)
