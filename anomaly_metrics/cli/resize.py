"""Upsampling anomaly maps to the size of their masks (``evaluate --resize-maps``).

Models often output maps smaller than the ground truth (256 x 256 maps for full-resolution
masks). Both methods treat a pixel as a unit square and align the *centres*: output pixel ``i``
of ``H`` samples the input at ``y = (i + 0.5) * h / H - 0.5`` of ``h`` input pixels (the
``align_corners=False`` convention of PyTorch, PIL and OpenCV; never the corner-aligned one).

``nearest``
    The input pixel that contains the output pixel's centre, ``floor((i + 0.5) * h / H)``,
    computed in exact integer arithmetic (``(2 i + 1) h // (2 H)``): PyTorch's
    ``"nearest-exact"``. Scores are copied, never mixed, so ties and the map's values are kept.
``bilinear``
    Linear interpolation between the four nearest input centres, coordinates clamped to the
    edge (outside the outer centres the edge value is repeated): ``scipy.ndimage.zoom`` with
    ``order=1, mode="nearest", grid_mode=True``, equal to PyTorch's
    ``interpolate(mode="bilinear", align_corners=False)`` without antialiasing. float32 maps
    stay float32 (float16 maps are interpolated in float32).

Only upsampling (or keeping) a size is allowed: downsampling a map would drop scores.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["RESIZE_METHODS", "describe_resize", "resize_map"]

#: The ``--resize-maps`` methods.
RESIZE_METHODS = ("nearest", "bilinear")

_DESCRIPTIONS = {
    "nearest": "nearest (pixel centres aligned, align_corners=False: source pixel "
    "floor((i + 0.5) * in / out))",
    "bilinear": "bilinear (pixel centres aligned, align_corners=False, edges clamped: "
    "scipy.ndimage.zoom order=1, grid_mode=True, mode='nearest')",
}


def describe_resize(method: str | None) -> str:
    """One line saying how maps are resized (for the printed output and the JSON settings)."""
    if method is None:
        return "none (maps must have the size of their masks)"
    return _DESCRIPTIONS[method]


def _nearest_index(n_in: int, n_out: int) -> NDArray[np.intp]:
    i = np.arange(n_out, dtype=np.int64)
    return ((2 * i + 1) * n_in // (2 * n_out)).astype(np.intp)


def resize_map(amap: NDArray[Any], shape: tuple[int, int], method: str) -> NDArray[Any]:
    """Upsample a 2-D map to `shape` with `method` (see the module docstring).

    Raises ``ValueError`` when `shape` is smaller than the map along an axis or `method` is
    unknown; returns the map itself when the shapes are equal.

    Examples
    --------
    >>> import numpy as np
    >>> from anomaly_metrics.cli.resize import resize_map
    >>> resize_map(np.array([[0.0, 1.0]]), (1, 4), "nearest").tolist()
    [[0.0, 0.0, 1.0, 1.0]]
    >>> resize_map(np.array([[0.0, 1.0]]), (1, 4), "bilinear").tolist()
    [[0.0, 0.25, 0.75, 1.0]]
    """
    if method not in RESIZE_METHODS:
        raise ValueError(f"`method` must be one of {RESIZE_METHODS}, got {method!r}.")
    h, w = amap.shape
    out_h, out_w = int(shape[0]), int(shape[1])
    if (h, w) == (out_h, out_w):
        return amap
    if out_h < h or out_w < w:
        raise ValueError(
            f"the map ({h}, {w}) is larger than its mask ({out_h}, {out_w}) along an axis: "
            "--resize-maps only upsamples"
        )
    if method == "nearest":
        return amap[np.ix_(_nearest_index(h, out_h), _nearest_index(w, out_w))]
    from scipy.ndimage import zoom

    src = amap.astype(np.float32) if amap.dtype == np.float16 else amap
    out = zoom(src, (out_h / h, out_w / w), order=1, mode="nearest", grid_mode=True)
    if out.shape != (out_h, out_w):  # pragma: no cover - zoom rounds the ratio back exactly
        raise ValueError(f"resizing gave shape {out.shape}, expected {(out_h, out_w)}")
    return out
