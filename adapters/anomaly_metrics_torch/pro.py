"""PRO: per-region overlap at one threshold (anomalib's ``anomalib.metrics.pro``)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

import anomaly_metrics as am
from anomaly_metrics import batched

from ._base import AnomalibMetric
from ._checks import as_maps_and_masks
from ._convert import state_to_numpy
from ._dtype import get_result_dtype, result
from ._segmentation import _MapMetric

__all__ = ["PRO", "_PRO", "pro_score"]


def pro_score(predictions: Tensor, comps: Tensor, threshold: float = 0.5) -> Tensor:
    """PRO of `predictions` over the defect regions of `comps` (anomalib's helper).

    Parameters
    ----------
    predictions : Tensor
        Anomaly maps (``score >= threshold`` is predicted anomalous) or bool predictions, of
        the shape of `comps`: ``(N, H, W)``, ``(N, 1, H, W)`` or ``(H, W)``.
    comps : Tensor
        Region labels (anomalib passes connected-component labels, 0 for background). Only
        ``comps > 0`` is used: the regions are the 8-connected components of that mask,
        computed by the core, which is what anomalib's labels are.
    threshold : float, default 0.5
        Threshold for float predictions (``>=``, where anomalib uses ``>``).

    Returns
    -------
    Tensor
        0-d, of the result dtype: :func:`anomaly_metrics.pro`; nan with
        ``UndefinedMetricWarning`` without regions (anomalib: ``tensor([1.0])``).

    Examples
    --------
    >>> import torch
    >>> from anomaly_metrics_torch.pro import pro_score
    >>> comps = torch.tensor([[[1, 1, 0], [0, 0, 0], [0, 2, 0]]])
    >>> maps = torch.tensor([[[0.5, 0.6, 0.9], [0.1, 0.1, 0.1], [0.1, 0.4, 0.1]]])
    >>> float(pro_score(maps, comps))
    0.5
    """
    maps, masks = as_maps_and_masks(predictions, comps > 0, names=("predictions", "comps"))
    value = am.pro(
        state_to_numpy(maps),
        state_to_numpy(masks),
        threshold=batched.check_real(threshold, "threshold"),
    )
    return torch.tensor(value, dtype=get_result_dtype(), device=predictions.device)


class _PRO(_MapMetric):
    """The metric without batch fields: ``update(preds, target)`` (see :class:`PRO`)."""

    def __init__(self, threshold: float = 0.5, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.threshold = batched.check_real(threshold, "threshold")

    def compute(self) -> Tensor:
        return result(batched.pro(*self._batches(), threshold=self.threshold), self.device)


class PRO(AnomalibMetric, _PRO):
    """Per-region overlap at one threshold (anomalib's ``PRO``).

    The mean over all defect regions (8-connected, pooled over images) of the fraction of the
    region's pixels with ``score >= threshold``.

    Parameters
    ----------
    fields, prefix, strict
        See :class:`AnomalibMetric`; e.g. ``["anomaly_map", "gt_mask"]`` or
        ``["pred_mask", "gt_mask"]`` (bool predictions count as 0 / 1).
    threshold : float, default 0.5
        A pixel is predicted anomalous iff ``float64(score) >= float64(threshold)``.
    **kwargs
        torchmetrics ``Metric`` options.

    Notes
    -----
    Differs from anomalib on purpose: ``>=`` instead of ``>``; nan with
    ``UndefinedMetricWarning`` when there is no region (anomalib: 1.0); any float dtype works;
    an all-defect mask is one region (anomalib's CPU path drops it).

    Examples
    --------
    >>> import torch
    >>> from anomaly_metrics_torch import PRO
    >>> pro = PRO(fields=["anomaly_map", "gt_mask"], threshold=0.5)
    >>> gt = torch.tensor([[[1, 1, 0], [0, 0, 0], [0, 1, 0]]])
    >>> maps = torch.tensor([[[0.5, 0.6, 0.9], [0.1, 0.1, 0.1], [0.1, 0.4, 0.1]]])
    >>> pro.update({"anomaly_map": maps, "gt_mask": gt})
    >>> float(pro.compute())  # regions: 2 of 2 pixels, 0 of 1
    0.5
    """
