"""`F1AdaptiveThreshold` (anomalib's ``threshold.f1_adaptive_threshold``)."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from torch import Tensor

import anomaly_metrics as am
from anomaly_metrics import batched

from .._base import AnomalibMetric
from .._binned import histogram_of
from .._convert import state_to_numpy, to_result
from .._dtype import result
from .._thresholded import class_totals, pr_points
from ..auroc import _AUROC
from .base import Threshold

__all__ = ["F1AdaptiveThreshold", "_F1AdaptiveThreshold", "handle_mac"]

logger = logging.getLogger(__name__)


@contextmanager
def handle_mac(metric: Any) -> Iterator[None]:
    """Context manager kept for anomalib's API; it does nothing here.

    anomalib moves the states of an F1AdaptiveThreshold on Apple MPS to the CPU around its
    compute (a torch sort that MPS lacked). Every compute of this package already runs on host
    memory (the core is NumPy), so there is nothing to move.

    Parameters
    ----------
    metric : F1AdaptiveThreshold
        Accepted and left as it is.

    Examples
    --------
    >>> from anomaly_metrics_torch.threshold.f1_adaptive_threshold import F1AdaptiveThreshold, handle_mac
    >>> metric = F1AdaptiveThreshold(fields=["pred_score", "gt_label"])
    >>> with handle_mac(metric):
    ...     pass
    """
    del metric
    yield


class _F1AdaptiveThreshold(_AUROC, Threshold):
    value: Tensor
    higher_is_better = None

    def __init__(self, thresholds: Any = None, **kwargs: Any) -> None:
        super().__init__(thresholds, **kwargs)

    def compute(self) -> Tensor:
        if self.thresholds is not None:
            self.value = result(self._threshold_at_fixed(), self.device)
            return self.value
        if self.bins is not None:
            t = am.f1_adaptive_threshold_from_histogram(histogram_of(self, "ranking"))
            self.error_bound = to_result(t.f1_error_bound, self.device)
            self.value = result(t.threshold, self.device)
            return self.value
        self.value = result(batched.f1_adaptive_threshold(*self._batches()), self.device)
        return self.value

    def _threshold_at_fixed(self) -> float:
        """torchmetrics' F1 over the fixed thresholds; the extreme threshold for one class."""
        thresholds = state_to_numpy(self.thresholds).astype(np.float64)
        n_neg, n_pos = class_totals(self.confmat)
        if n_pos == 0 or n_neg == 0:
            which = "anomalous" if n_pos == 0 else "normal"
            warnings.warn(
                f"No {which} samples: the threshold is the "
                f"{'highest' if n_pos == 0 else 'lowest'} candidate threshold.",
                am.UndefinedMetricWarning,
                stacklevel=3,
            )
            return float(thresholds[-1] if n_pos == 0 else thresholds[0])
        precision, recall = pr_points(self.confmat)
        with np.errstate(invalid="ignore"):
            f1 = 2 * precision * recall / (precision + recall + 1e-10)
        return float(thresholds[int(np.argmax(np.nan_to_num(f1, nan=0.0)))])


class F1AdaptiveThreshold(AnomalibMetric, _F1AdaptiveThreshold):
    """The threshold that maximises F1 (anomalib's ``F1AdaptiveThreshold``), exact.

    Parameters
    ----------
    fields, prefix, strict
        See :class:`AnomalibMetric`; `fields` is required.
    thresholds : int, list of float or 1-D Tensor, optional
        None (the default): exact. Otherwise torchmetrics' fixed thresholds (an int ``n >= 2``
        gives ``torch.linspace(0, 1, n)``, which assumes scores in [0, 1]): the value is the
        threshold of anomalib's F1 maximum over them; without anomalous (normal) samples the
        highest (lowest) threshold, with ``UndefinedMetricWarning``.
    ignore_index, validate_args, normalization, **kwargs
        As :class:`AUROC`.
    bins : int in [1, 24], optional
        Streaming mode, as :class:`AUROC`: the lowest bin edge that maximises F1 over the bin
        edges.

    Attributes
    ----------
    value : Tensor
        The last computed threshold (set by every ``compute()``).
    error_bound : Tensor
        Binned mode, after ``compute()``: no threshold gives an F1 more than this above the F1
        of ``value`` (the threshold itself is not bounded; a flat F1 maximum can move).

    Notes
    -----
    A :class:`~anomaly_metrics_torch.threshold.Threshold`. Ties go to the lowest threshold. Without anomalous samples the highest score is returned,
    without normal samples the lowest (anomalib's fallbacks), with ``UndefinedMetricWarning``.

    Examples
    --------
    >>> import torch
    >>> from anomaly_metrics_torch import F1AdaptiveThreshold
    >>> threshold = F1AdaptiveThreshold(fields=["pred_score", "gt_label"])
    >>> threshold.update({"pred_score": torch.tensor([2.3, 1.6, 2.6, 7.9, 3.3]), "gt_label": torch.tensor([0, 0, 0, 1, 1])})
    >>> round(float(threshold.compute()), 4)
    3.3
    """
