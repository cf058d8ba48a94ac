"""A deterministic synthetic evaluation set (blob masks, smooth maps) for checks at realistic sizes."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import DTypeLike, NDArray
from scipy import ndimage as ndi


def synthetic_dataset(
    n: int = 500,
    h: int = 256,
    w: int = 256,
    *,
    seed: int = 0,
    normal_fraction: float = 0.4,
    dtype: DTypeLike = np.float32,
) -> tuple[NDArray[Any], NDArray[np.bool_]]:
    """Deterministic anomaly maps and masks: irregular blobs on ~60 % of the images, smooth maps.

    Masks: 1-4 ellipses per anomalous image with a noisy boundary (a few hundred to a few
    thousand pixels each at 256 x 256). Maps: smooth noise, plus a blurred bump over each defect,
    plus a little pixel noise, so that almost every score is distinct, as with real models. Use
    it where the oracles are too slow and two fast implementations are compared, or to check an
    implementation at a realistic size; the hypothesis strategies cover the corner cases.

    Parameters
    ----------
    n, h, w : int, default 500, 256, 256
        Number of images and their size.
    seed : int, default 0
        The set depends only on ``(n, h, w, seed, normal_fraction, dtype)``.
    normal_fraction : float, default 0.4
        Expected fraction of normal (empty-mask) images.
    dtype : dtype, default float32
        dtype of the maps.

    Returns
    -------
    anomaly_maps : ndarray, shape (n, h, w)
    masks : ndarray of bool, shape (n, h, w)

    Examples
    --------
    >>> maps, masks = synthetic_dataset(4, 32, 32, seed=1)
    >>> maps.shape, maps.dtype, masks.dtype
    ((4, 32, 32), dtype('float32'), dtype('bool'))
    """
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    masks = np.zeros((n, h, w), bool)
    anomalous = np.flatnonzero(rng.random(n) >= normal_fraction)
    wobble = ndi.zoom(rng.normal(size=(8, 9, 9)).astype(np.float32), (1, h / 9, w / 9), order=1)
    for i in anomalous:
        r2 = np.full((h, w), np.inf, np.float32)
        for _ in range(int(rng.integers(1, 5))):
            cy, cx = rng.uniform(0, h), rng.uniform(0, w)
            ay, ax = rng.uniform(2, h / 10), rng.uniform(2, w / 10)
            th = rng.uniform(0, np.pi)
            dy, dx = yy - cy, xx - cx
            u = (dy * np.cos(th) + dx * np.sin(th)) / ay
            v = (-dy * np.sin(th) + dx * np.cos(th)) / ax
            r2 = np.minimum(r2, u * u + v * v)
        masks[i] = r2 + 0.4 * wobble[i % 8] < 1.0
    low = rng.normal(size=(n, -(-h // 16), -(-w // 16))).astype(np.float32)
    maps = np.ascontiguousarray(np.repeat(np.repeat(low, 16, axis=1), 16, axis=2)[:, :h, :w])
    maps = ndi.uniform_filter(maps, size=(1, 16, 16))
    maps += 2.0 * ndi.gaussian_filter(masks.astype(np.float32), sigma=(0, 3, 3))
    maps += 0.2 * rng.standard_normal(size=maps.shape, dtype=np.float32)
    return maps.astype(dtype, copy=False), masks
