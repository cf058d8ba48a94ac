"""Per-image binary classification curves (anomalib's ``pimo.binary_classification_curve``).

Thin wrappers: the counts come from :func:`anomaly_metrics.counts_at_thresholds` (``score >=
threshold``, compared exactly), one image at a time; the rates are those counts divided.
"""

from __future__ import annotations

import logging
from enum import Enum

import numpy as np
import torch
from torch import Tensor

import anomaly_metrics as am

from .._checks import as_maps_and_masks, as_scores_and_labels
from .._convert import state_to_numpy

__all__ = [
    "ThresholdMethod",
    "binary_classification_curve",
    "per_image_fpr",
    "per_image_tpr",
    "threshold_and_binary_classification_curve",
]

logger = logging.getLogger(__name__)


class ThresholdMethod(Enum):
    """How :func:`threshold_and_binary_classification_curve` chooses thresholds.

    ``GIVEN``: the thresholds passed; ``MINMAX_LINSPACE``: linearly spaced between the maps'
    minimum and maximum; ``MEAN_FPR_OPTIMIZED``: not implemented (as in anomalib).
    """

    GIVEN = "given"
    MINMAX_LINSPACE = "minmax-linspace"
    MEAN_FPR_OPTIMIZED = "mean-fpr-optimized"


def binary_classification_curve(
    scores_batch: Tensor, gts_batch: Tensor, thresholds: Tensor
) -> Tensor:
    """Confusion matrices of each image at each threshold.

    Parameters
    ----------
    scores_batch : Tensor of shape (N, D)
        Scores of N images (flattened), finite.
    gts_batch : Tensor of shape (N, D)
        Bool or 0/1 ground truth.
    thresholds : Tensor of shape (K,)
        Thresholds, cast to the scores' dtype first (as anomalib 2.7 does).

    Returns
    -------
    Tensor
        int64, shape ``(N, K, 2, 2)``: ``[[tn, fp], [fn, tp]]`` per image and threshold, where
        a pixel is positive iff ``score >= threshold``.

    Raises
    ------
    ValueError
        Shapes that are not (N, D) or differ, non-finite scores (anomalib's counts are then
        undefined), masks not in {0, 1}.

    Examples
    --------
    >>> import torch
    >>> from anomaly_metrics_torch.pimo.binary_classification_curve import binary_classification_curve
    >>> scores = torch.tensor([[0.1, 0.6, 0.9], [0.2, 0.4, 0.5]])
    >>> gts = torch.tensor([[False, True, True], [False, False, False]])
    >>> binary_classification_curve(scores, gts, torch.tensor([0.5, 0.95]))[0].tolist()
    [[[1, 0], [0, 2]], [[1, 0], [2, 0]]]
    """
    if scores_batch.ndim != 2 or gts_batch.shape != scores_batch.shape:
        raise ValueError(
            "`scores_batch` and `gts_batch` must both have shape (N, D), got "
            f"{tuple(scores_batch.shape)} and {tuple(gts_batch.shape)}."
        )
    t = torch.as_tensor(thresholds)
    if t.ndim != 1:
        raise ValueError(f"`thresholds` must have shape (K,), got {tuple(t.shape)}.")
    if scores_batch.is_floating_point():
        t = t.to(scores_batch.dtype)
    t_np = state_to_numpy(t)
    out = np.empty((scores_batch.shape[0], t.shape[0], 2, 2), np.int64)
    for i in range(scores_batch.shape[0]):
        s, y = as_scores_and_labels(
            scores_batch[i], gts_batch[i], names=("scores_batch", "gts_batch")
        )
        c = am.counts_at_thresholds(state_to_numpy(s), state_to_numpy(y), t_np)
        out[i] = np.stack([np.stack([c.tn, c.fp], -1), np.stack([c.fn, c.tp], -1)], 1)
    return torch.from_numpy(out).to(scores_batch.device)


def threshold_and_binary_classification_curve(
    anomaly_maps: Tensor,
    masks: Tensor,
    threshold_choice: ThresholdMethod | str = ThresholdMethod.MINMAX_LINSPACE,
    thresholds: Tensor | None = None,
    num_thresholds: int | None = None,
) -> tuple[Tensor, Tensor]:
    """Choose thresholds, then the per-image confusion matrices at them.

    Parameters
    ----------
    anomaly_maps : Tensor of shape (N, H, W)
        Anomaly maps, floating.
    masks : Tensor of shape (N, H, W)
        Bool or 0/1 masks.
    threshold_choice : ThresholdMethod or str, default "minmax-linspace"
        ``"given"``: use `thresholds` (cast to the maps' dtype); ``"minmax-linspace"``:
        `num_thresholds` linearly spaced between the maps' minimum and maximum.
    thresholds : Tensor of shape (K,), optional
        Required by ``"given"``.
    num_thresholds : int, optional
        Required by ``"minmax-linspace"`` (>= 2).

    Returns
    -------
    tuple of Tensor
        ``(thresholds, binclf_curves)``: ``(K,)`` in the maps' dtype and ``(N, K, 2, 2)``
        int64 (see :func:`binary_classification_curve`).

    Raises
    ------
    ValueError
        An unknown `threshold_choice`, a missing argument, maps with min == max.
    NotImplementedError
        ``"mean-fpr-optimized"`` (not implemented by anomalib either).

    Examples
    --------
    >>> import torch
    >>> from anomaly_metrics_torch.pimo.binary_classification_curve import threshold_and_binary_classification_curve
    >>> maps = torch.tensor([[[0.0, 0.5], [1.0, 0.25]]])
    >>> masks = torch.tensor([[[0, 0], [1, 0]]])
    >>> t, curves = threshold_and_binary_classification_curve(maps, masks, num_thresholds=3)
    >>> t.tolist(), curves[0, :, 1, 1].tolist()
    ([0.0, 0.5, 1.0], [1, 1, 1])
    """
    choice = ThresholdMethod(threshold_choice)
    maps, bool_masks = as_maps_and_masks(anomaly_maps, masks, names=("anomaly_maps", "masks"))
    if choice == ThresholdMethod.MEAN_FPR_OPTIMIZED:
        raise NotImplementedError(f"`threshold_choice` {choice.value!r} is not implemented.")
    if choice == ThresholdMethod.GIVEN:
        if thresholds is None:
            raise ValueError("`thresholds` must be given with threshold_choice='given', got None.")
        t = torch.as_tensor(thresholds).to(maps.dtype)
    else:
        from ..binning import thresholds_between_min_and_max

        if num_thresholds is None or isinstance(num_thresholds, bool) or int(num_thresholds) < 2:
            raise ValueError(
                "`num_thresholds` must be an int >= 2 with threshold_choice='minmax-linspace', "
                f"got {num_thresholds!r}."
            )
        lo, hi = float(maps.min()), float(maps.max())
        if not lo < hi:
            raise ValueError(
                f"`anomaly_maps` must not be constant to span thresholds, got min = max = {lo}."
            )
        t = thresholds_between_min_and_max(maps, int(num_thresholds)).to(maps.dtype)
    n = maps.shape[0]
    return t, binary_classification_curve(maps.reshape(n, -1), bool_masks.reshape(n, -1), t)


def per_image_tpr(binclf_curves: Tensor) -> Tensor:
    """True positive rate of each image at each threshold: ``tp / (tp + fn)``, float64.

    nan for images without positives (normal images), as in anomalib.

    Examples
    --------
    >>> import torch
    >>> from anomaly_metrics_torch.pimo.binary_classification_curve import per_image_tpr
    >>> per_image_tpr(torch.tensor([[[[1, 0], [1, 3]]]])).tolist()
    [[0.75]]
    """
    tps = binclf_curves[..., 1, 1]
    pos = binclf_curves[..., 1, :].sum(dim=-1)
    return tps.to(torch.float64) / pos.to(torch.float64)


def per_image_fpr(binclf_curves: Tensor) -> Tensor:
    """False positive rate of each image at each threshold: ``fp / (fp + tn)``, float64.

    nan for images without negatives, as in anomalib.

    Examples
    --------
    >>> import torch
    >>> from anomaly_metrics_torch.pimo.binary_classification_curve import per_image_fpr
    >>> per_image_fpr(torch.tensor([[[[3, 1], [0, 2]]]])).tolist()
    [[0.25]]
    """
    fps = binclf_curves[..., 0, 1]
    neg = binclf_curves[..., 0, :].sum(dim=-1)
    return fps.to(torch.float64) / neg.to(torch.float64)
