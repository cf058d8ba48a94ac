"""MinMax: smallest and largest value seen (anomalib's ``anomalib.metrics.min_max``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor
from torchmetrics import Metric

import anomaly_metrics as am

from ._base import AnomalibMetric
from ._checks import as_scores
from ._convert import state_to_numpy
from ._dtype import result

__all__ = ["MinMax", "_MinMax"]


class _MinMax(Metric):
    """The metric without batch fields: ``update(predictions)`` (see :class:`MinMax`)."""

    is_differentiable = False
    higher_is_better = None
    full_state_update = False
    min: Tensor
    max: Tensor

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # float64 holds every float16/32/64 score exactly (anomalib's float32 state rounds float64)
        inf = torch.tensor(float("inf"), dtype=torch.float64)
        self.add_state("min", default=inf, dist_reduce_fx="min")
        self.add_state("max", default=-inf, dist_reduce_fx="max")

    def update(self, predictions: Tensor, *args: Any, **kwargs: Any) -> None:
        """Fold the smallest and largest value of `predictions` (any shape) into the state."""
        p = as_scores(predictions, "predictions")
        if p.numel() == 0:
            return
        lo, hi = torch.aminmax(
            p.reshape(-1).to(torch.uint8) if p.dtype == torch.bool else p.reshape(-1)
        )
        self.min = torch.minimum(self.min, lo.to(self.min))
        self.max = torch.maximum(self.max, hi.to(self.max))

    def compute(self) -> Tensor:
        bounds = state_to_numpy(torch.stack([self.min, self.max]))
        if bounds[0] > bounds[1]:  # nothing seen: the reductions' identities
            return result(bounds, self.device)
        return result(np.asarray(am.min_max(bounds)), self.device)


class MinMax(AnomalibMetric, _MinMax):
    """Smallest and largest value seen (anomalib's ``MinMax``), e.g. for normalisation.

    Parameters
    ----------
    fields, prefix, strict
        See :class:`AnomalibMetric`; one field, e.g. ``["pred_score"]`` or ``["anomaly_map"]``.
    **kwargs
        torchmetrics ``Metric`` options.

    Notes
    -----
    ``compute()`` returns ``tensor([min, max])`` of the result dtype (the state is float64, so
    ``set_result_dtype(torch.float64)`` returns float64 scores unrounded);
    ``[inf, -inf]`` before any update. NaN or infinite values raise ValueError at compute.

    Examples
    --------
    >>> import torch
    >>> from anomaly_metrics_torch import MinMax
    >>> minmax = MinMax(fields=["pred_score"])
    >>> minmax.update({"pred_score": torch.tensor([[0.25, -2.5], [7.75, 1.0]])})
    >>> minmax.update({"pred_score": torch.tensor([3.5, 8.125, -1.25])})
    >>> minmax.compute().tolist()
    [-2.5, 8.125]
    """
