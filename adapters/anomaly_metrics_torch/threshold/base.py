"""`Threshold`: the base class of the threshold metrics (anomalib's ``threshold.base``)."""

from __future__ import annotations

from typing import Any

from torch import Tensor
from torchmetrics import Metric

__all__ = ["Threshold"]


class Threshold(Metric):
    """Base class of metrics whose value is a threshold (F1AdaptiveThreshold, ManualThreshold).

    A subclass implements ``update`` and ``compute``; ``isinstance(metric, Threshold)`` is how
    code tells threshold metrics apart.

    Parameters
    ----------
    **kwargs
        torchmetrics ``Metric`` options.

    Raises
    ------
    NotImplementedError
        From ``update`` or ``compute`` when a subclass does not define them.

    Examples
    --------
    >>> from anomaly_metrics_torch.threshold import F1AdaptiveThreshold, ManualThreshold, Threshold
    >>> isinstance(ManualThreshold(), Threshold), issubclass(F1AdaptiveThreshold, Threshold)
    (True, True)
    """

    is_differentiable = False
    higher_is_better = None
    full_state_update = False

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)

    def compute(self) -> Tensor:
        """The threshold; subclasses define it."""
        raise NotImplementedError("Subclass of Threshold must implement the compute method")

    def update(self, *args: Any, **kwargs: Any) -> None:
        """Add data; subclasses define it."""
        raise NotImplementedError("Subclass of Threshold must implement the update method")
