"""PIMO curves and AUPIMO scores as functions (anomalib's ``anomalib.metrics.pimo.functional``).

Thin wrappers over :func:`anomaly_metrics.pimo_curves` and :func:`anomaly_metrics.aupimo`:
tensors in, NumPy to the core, tensors out. Thresholds come back in the maps' dtype (float32
unless the maps are float64 or :func:`~anomaly_metrics_torch.set_result_dtype` says float64),
rates and scores in float64, as anomalib returns them.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import torch
from torch import Tensor

import anomaly_metrics as am

from .._checks import as_maps_and_masks
from .._convert import state_to_numpy, to_result
from .._dtype import get_result_dtype

__all__ = [
    "aupimo_normalizing_factor",
    "aupimo_scores",
    "pimo_curves",
    "thresh_at_shared_fpr_level",
]

logger = logging.getLogger(__name__)


def threshold_dtype(maps_dtype: torch.dtype) -> torch.dtype:
    """The dtype of PIMO thresholds: the maps' (anomalib), float64 when asked for."""
    if maps_dtype == torch.float64 or get_result_dtype() == torch.float64:
        return torch.float64
    return torch.float32


def _inputs(anomaly_maps: Any, masks: Any) -> tuple[Any, Any, torch.device, torch.dtype]:
    maps, bool_masks = as_maps_and_masks(anomaly_maps, masks, names=("anomaly_maps", "masks"))
    return state_to_numpy(maps), state_to_numpy(bool_masks), maps.device, maps.dtype


def pimo_curves(
    anomaly_maps: Tensor, masks: Tensor, num_thresholds: int | None
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Per-image overlap curves of every image against the shared FPR of the normal images.

    Parameters
    ----------
    anomaly_maps : Tensor of shape (N, H, W)
        Anomaly maps (also ``(N, 1, H, W)`` or ``(H, W)``).
    masks : Tensor of the same shape
        Bool or 0/1 masks; at least one normal and one anomalous image.
    num_thresholds : int or None
        Linearly spaced thresholds between the normal images' minimum and maximum (anomalib);
        None: the exact curve (every distinct normal score).

    Returns
    -------
    tuple of Tensor
        ``(thresholds, shared_fpr, per_image_tprs, image_classes)``: ``(K,)`` ascending,
        ``(K,)`` descending (float64), ``(N, K)`` (float64, nan rows for normal images) and
        ``(N,)`` int32 (1 anomalous).

    Raises
    ------
    ValueError
        Bad shapes or values, no normal or no anomalous image (see
        :func:`anomaly_metrics.pimo_curves`).

    Examples
    --------
    >>> import torch
    >>> from anomaly_metrics_torch.pimo.functional import pimo_curves
    >>> maps = torch.tensor([[[0.0, 1.0], [2.0, 3.0]], [[0.0, 1.0], [2.0, 3.0]]])
    >>> masks = torch.tensor([[[0, 0], [0, 0]], [[0, 0], [1, 1]]])
    >>> thresholds, shared_fpr, tprs, classes = pimo_curves(maps, masks, num_thresholds=4)
    >>> thresholds.tolist(), shared_fpr.tolist(), tprs[1].tolist(), classes.tolist()
    ([0.0, 1.0, 2.0, 3.0], [1.0, 0.75, 0.5, 0.25], [1.0, 1.0, 1.0, 0.5], [0, 1])
    """
    maps, bool_masks, device, dtype = _inputs(anomaly_maps, masks)
    t, fpr, tpr, classes = am.pimo_curves(maps, bool_masks, num_thresholds=num_thresholds)
    return (
        to_result(t, device, threshold_dtype(dtype)),
        to_result(fpr, device),
        to_result(tpr, device),
        to_result(classes, device, torch.int32),
    )


def aupimo_scores(
    anomaly_maps: Tensor,
    masks: Tensor,
    num_thresholds: int | None = 300_000,
    fpr_bounds: tuple[float, float] = (1e-5, 1e-4),
    force: bool = False,
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor, int]:
    """PIMO curves and the AUPIMO of each image (the area in log-FPR, normalised to [0, 1]).

    Parameters
    ----------
    anomaly_maps, masks, num_thresholds
        As :func:`pimo_curves` (None: the exact curve and exact areas).
    fpr_bounds : tuple of float, default (1e-5, 1e-4)
        The shared-FPR integration range.
    force : bool, default False
        Compute even when the range holds too few curve points.

    Returns
    -------
    tuple
        ``(thresholds, shared_fpr, per_image_tprs, image_classes, aupimos, num_points)``: the
        four of :func:`pimo_curves`, the ``(N,)`` float64 scores (nan for normal images) and
        the number of curve points in the integral.

    Raises
    ------
    ValueError
        As :func:`anomaly_metrics.aupimo` (e.g. too few points without `force`).

    Examples
    --------
    >>> import torch
    >>> from anomaly_metrics_torch.pimo.functional import aupimo_scores
    >>> image = torch.ones(10, 10)
    >>> image[0, 0], image[0, 1:] = 3.0, 2.0
    >>> masks = torch.zeros(3, 10, 10, dtype=torch.bool)
    >>> masks[1], masks[2, 0] = True, True
    >>> *_, aupimos, n = aupimo_scores(torch.stack([image] * 3), masks, None, (0.01, 0.1), True)
    >>> [round(x, 6) for x in aupimos.tolist()[1:]], n
    ([0.055, 0.55], 2)
    """
    maps, bool_masks, device, dtype = _inputs(anomaly_maps, masks)
    r = am.aupimo(
        maps, bool_masks, fpr_bounds=fpr_bounds, num_thresholds=num_thresholds, force=force
    )
    t, fpr, tpr, classes = am.pimo_curves(maps, bool_masks, num_thresholds=num_thresholds)
    return (
        to_result(t, device, threshold_dtype(dtype)),
        to_result(fpr, device),
        to_result(tpr, device),
        to_result(classes, device, torch.int32),
        to_result(r.per_image, device),
        int(r.num_points),
    )


def thresh_at_shared_fpr_level(
    thresholds: Tensor, shared_fpr: Tensor, fpr_level: float
) -> tuple[int, Tensor, Tensor]:
    """The curve point whose shared FPR is nearest `fpr_level` (anomalib's rule).

    At level 0 the lowest threshold with shared FPR 0, at level 1 the highest with shared FPR
    1, otherwise the first point of least ``|shared_fpr - fpr_level|``.

    Parameters
    ----------
    thresholds : Tensor of shape (K,)
        Ascending thresholds.
    shared_fpr : Tensor of shape (K,)
        Shared FPR at each threshold (descending).
    fpr_level : float in [0, 1]
        The level; must lie within ``[shared_fpr.min(), shared_fpr.max()]``.

    Returns
    -------
    tuple
        ``(index, threshold, shared FPR at the index)``, the last two 0-d tensors.

    Raises
    ------
    ValueError
        Shapes that differ, or `fpr_level` outside [0, 1] or outside the curve's range.

    Examples
    --------
    >>> import torch
    >>> from anomaly_metrics_torch.pimo.functional import thresh_at_shared_fpr_level
    >>> idx, thresh, fpr = thresh_at_shared_fpr_level(torch.tensor([0.1, 0.5, 0.9]), torch.tensor([1.0, 0.3, 0.0]), 0.25)
    >>> idx, float(thresh), float(fpr)
    (1, 0.5, 0.30000001192092896)
    """
    if thresholds.ndim != 1 or thresholds.shape != shared_fpr.shape:
        raise ValueError(
            "`thresholds` and `shared_fpr` must both have shape (K,), got "
            f"{tuple(thresholds.shape)} and {tuple(shared_fpr.shape)}."
        )
    level = float(fpr_level)
    lo, hi = float(shared_fpr.min()), float(shared_fpr.max())
    if not (0.0 <= level <= 1.0 and lo <= level <= hi):
        raise ValueError(
            f"`fpr_level` must lie in [0, 1] and in the range of `shared_fpr` = [{lo}, {hi}], "
            f"got {fpr_level}."
        )
    if level == 0.0:
        index = int(torch.nonzero(shared_fpr == level)[0])
    elif level == 1.0:
        index = int(torch.nonzero(shared_fpr == level)[-1])
    else:
        index = int(torch.argmin(torch.abs(shared_fpr - level)))
    return index, thresholds[index], shared_fpr[index]


def aupimo_normalizing_factor(fpr_bounds: tuple[float, float]) -> float:
    """The largest AUPIMO integral over `fpr_bounds`, ``ln(upper / lower)`` (TPR 1 everywhere).

    Raises
    ------
    ValueError
        Bounds not satisfying ``0 < lower < upper <= 1``.

    Examples
    --------
    >>> from anomaly_metrics_torch.pimo.functional import aupimo_normalizing_factor
    >>> round(aupimo_normalizing_factor((1e-5, 1e-4)), 3)
    2.303
    """
    lower, upper = (float(x) for x in fpr_bounds)
    if not 0.0 < lower < upper <= 1.0:
        raise ValueError(
            f"`fpr_bounds` must satisfy 0 < lower < upper <= 1, got {tuple(fpr_bounds)}."
        )
    return math.log(upper / lower)
