"""`ManualThreshold` (anomalib's ``threshold.manual_threshold``)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from anomaly_metrics import batched

from .base import Threshold

__all__ = ["ManualThreshold"]


class ManualThreshold(Threshold):
    """A fixed threshold, returned by ``compute()`` (anomalib's ``ManualThreshold``).

    Parameters
    ----------
    default_value : float, default 0.5
        The threshold.
    **kwargs
        torchmetrics ``Metric`` options.

    Notes
    -----
    A :class:`Threshold`. The state ``value`` (float64 as in anomalib, saved in the ``state_dict``) reduces with ``max`` across
    processes, so every rank returns the same 0-d tensor; ``update`` ignores its arguments.

    Examples
    --------
    >>> from anomaly_metrics_torch import ManualThreshold
    >>> ManualThreshold(default_value=0.3)()
    tensor(0.3000, dtype=torch.float64)
    """

    value: Tensor

    def __init__(self, default_value: float = 0.5, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        value = batched.check_real(default_value, "default_value")
        self.add_state(
            "value",
            default=torch.tensor(value, dtype=torch.float64),
            dist_reduce_fx="max",
            persistent=True,
        )

    def update(self, *args: Any, **kwargs: Any) -> None:
        """Do nothing: the threshold does not depend on data."""

    def compute(self) -> Tensor:
        return self.value
