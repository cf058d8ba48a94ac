"""F1Score and F1Max (anomalib's ``anomalib.metrics.f1_score``)."""

from __future__ import annotations

import math
from typing import Any, Literal

from torch import Tensor

import anomaly_metrics as am
from anomaly_metrics import batched

from ._base import AnomalibMetric
from ._binned import histogram_of
from ._classification import _PairMetric, check_curve_options
from ._dtype import result

__all__ = ["F1Max", "F1Score", "_F1Max", "_F1Score"]


class _F1Score(_PairMetric):
    def __init__(
        self,
        threshold: float = 0.5,
        multidim_average: Literal["global"] = "global",
        ignore_index: int | None = None,
        validate_args: bool = True,
        zero_division: float = 0,
        **kwargs: Any,
    ) -> None:
        if multidim_average != "global":
            raise ValueError(
                f"`multidim_average` must be 'global', got {multidim_average!r}: compute a "
                "per-sample F1 with one metric per sample."
            )
        super().__init__(check_curve_options(ignore_index), **kwargs)
        self.threshold = batched.check_real(threshold, "threshold")

    def compute(self) -> Tensor:
        return result(batched.f1_score(*self._batches(), self.threshold), self.device)


class F1Score(AnomalibMetric, _F1Score):
    """F1 score of ``score >= threshold`` (anomalib's ``F1Score``, torchmetrics' BinaryF1Score).

    Parameters
    ----------
    fields, prefix, strict
        See :class:`AnomalibMetric`; e.g. ``["pred_label", "gt_label"]`` (bool predictions
        count as 0 / 1) or ``["pred_score", "gt_label"]``.
    threshold : float, default 0.5
        A score is predicted anomalous iff ``float64(score) >= float64(threshold)``.
    multidim_average : {"global"}
        Only "global".
    ignore_index : int, optional
        Samples whose target equals it are dropped.
    validate_args : bool
        Accepted for compatibility; inputs are always checked.
    zero_division : float
        Accepted for compatibility; without positive samples the result is nan (with
        ``UndefinedMetricWarning``).
    **kwargs
        torchmetrics ``Metric`` options.

    Notes
    -----
    Differs from anomalib on purpose: ``>=`` instead of ``>``, and no sigmoid for batches with
    scores outside [0, 1].

    Examples
    --------
    >>> import torch
    >>> from anomaly_metrics_torch import F1Score
    >>> f1 = F1Score(fields=["pred_score", "gt_label"])
    >>> f1.update({"pred_score": torch.tensor([0.2, 0.5, 0.7]), "gt_label": torch.tensor([0, 1, 1])})
    >>> float(f1.compute())
    1.0
    """


class _F1Max(_PairMetric):
    threshold: Tensor
    _binnable = True

    def __init__(self, bins: int | None = None, **kwargs: Any) -> None:
        super().__init__(bins=bins, **kwargs)

    def compute(self) -> Tensor:
        if self.bins is not None:
            value = self._finalise_binned(am.f1_max_from_histogram)
            threshold = math.nan
            if not math.isnan(value):
                h = histogram_of(self, "ranking")
                threshold = am.f1_adaptive_threshold_from_histogram(h).threshold
            self.threshold = result(threshold, self.device)
            return result(value, self.device)
        value, threshold = batched.f1_max(*self._batches())
        self.threshold = result(threshold, self.device)
        return result(value, self.device)


class F1Max(AnomalibMetric, _F1Max):
    """Maximum F1 score over all thresholds; ``threshold`` holds the score that attains it.

    Parameters
    ----------
    fields, prefix, strict
        See :class:`AnomalibMetric`; `fields` is required.
    bins : int in [1, 24], optional
        Streaming mode, as :class:`AUROC`: the maximum over the bins' lower edges (an F1 the
        `threshold` attains), never above the exact maximum, by at most ``error_bound``.
    **kwargs
        torchmetrics ``Metric`` options.

    Attributes
    ----------
    threshold : Tensor
        After ``compute()``: the lowest threshold attaining the maximum (result dtype, raw
        score space, positive means ``score >= threshold``); nan when the value is nan. Binned mode:
        the lowest bin edge attaining it.
    error_bound : Tensor
        Binned mode, after ``compute()``: a bound on ``exact F1 max - value``.

    Examples
    --------
    >>> import torch
    >>> from anomaly_metrics_torch import F1Max
    >>> f1max = F1Max(fields=["pred_score", "gt_label"])
    >>> f1max.update({"pred_score": torch.tensor([0.1, 0.4, 0.35, 0.8]), "gt_label": torch.tensor([0, 0, 1, 1])})
    >>> round(float(f1max.compute()), 4), round(float(f1max.threshold), 4)
    (0.8, 0.35)
    """
