"""AUROC: area under the ROC curve (anomalib's ``anomalib.metrics.auroc``)."""

from __future__ import annotations

from typing import Any, Literal

from torch import Tensor

import anomaly_metrics as am
from anomaly_metrics import batched

from ._base import AnomalibMetric
from ._classification import _PairMetric, check_curve_options
from ._dtype import result
from ._figures import pair_figure
from ._thresholded import roc_points

__all__ = ["AUROC", "_AUROC"]


class _AUROC(_PairMetric):
    """The metric without batch fields: ``update(preds, target)`` (see :class:`AUROC`)."""

    _binnable = True
    _thresholdable = True

    def __init__(
        self,
        thresholds: Any = None,
        ignore_index: int | None = None,
        validate_args: bool = True,
        normalization: Literal["sigmoid"] | None = None,
        bins: int | None = None,
        **kwargs: Any,
    ) -> None:
        ignore_index = check_curve_options(ignore_index, normalization)
        super().__init__(ignore_index, bins, thresholds, **kwargs)

    def compute(self) -> Tensor:
        if self.thresholds is not None:
            fpr, tpr = roc_points(self.confmat)
            return result(am.auc(fpr, tpr) if fpr.size > 1 else 0.0, self.device)
        if self.bins is not None:
            return result(self._finalise_binned(am.auroc_from_histogram), self.device)
        return result(batched.auroc(*self._batches()), self.device)


class AUROC(AnomalibMetric, _AUROC):
    """Area under the ROC curve, exact (anomalib's ``AUROC``).

    Parameters
    ----------
    fields, prefix, strict
        See :class:`AnomalibMetric`; `fields` is required, e.g. ``["pred_score", "gt_label"]``
        or ``["anomaly_map", "gt_mask"]`` (pixel AUROC; any shapes are flattened).
    thresholds : int, list of float or 1-D Tensor, optional
        None (the default): exact, every distinct score is a threshold. Otherwise
        torchmetrics' fixed-threshold mode: an int ``n >= 2`` gives ``torch.linspace(0, 1, n)``
        (torchmetrics' convention, which assumes scores in [0, 1]), a list or tensor gives the
        thresholds themselves. The state is then the ``(K, 2, 2)`` confusion counts at those
        thresholds (``score >= t``, summed across processes) and the value is torchmetrics'
        trapezoidal area through the K ROC points, without any sigmoid.
    ignore_index : int, optional
        Samples whose target equals it are dropped.
    validate_args : bool
        Accepted for compatibility; inputs are always checked.
    normalization : {None, "sigmoid"}
        Accepted for compatibility and ignored: scores are never transformed.
    bins : int in [1, 24], optional
        Streaming mode: keep a ``(2, 2**bins)`` int64 histogram of the scores'
        float32 bit patterns (:func:`anomaly_metrics.ranking_histogram`, state summed across
        processes) instead of every score, and finalise with its certified error bound.
        None (the default) is exact. 20 is a good choice (16 MiB of state).
    **kwargs
        torchmetrics ``Metric`` options (``compute_on_cpu``, ``dist_sync_on_step``, ...).

    Attributes
    ----------
    error_bound : Tensor
        Binned mode, after ``compute()``: a bound on ``|value - exact value|``.

    Notes
    -----
    ``compute()`` returns a 0-d tensor of the result dtype (float32 unless
    :func:`set_result_dtype` says float64) on the metric's device: nan (with
    ``anomaly_metrics.UndefinedMetricWarning``) when a class is missing, where anomalib returns
    0. No sigmoid is applied to any batch.

    Examples
    --------
    >>> import torch
    >>> from anomaly_metrics_torch import AUROC
    >>> auroc = AUROC(fields=["pred_score", "gt_label"])
    >>> auroc.update({"pred_score": torch.tensor([0.1, 0.5]), "gt_label": torch.tensor([0, 0])})
    >>> auroc.update({"pred_score": torch.tensor([0.5, 0.9]), "gt_label": torch.tensor([1, 1])})
    >>> float(auroc.compute())
    0.875
    """

    def generate_figure(self) -> tuple[Any, str]:
        """``(figure, "ROC")``: the ROC curve of the data so far, AUROC in the legend.

        Drawn by :func:`anomaly_metrics.plotting.plot_roc` (needs the ``plot`` extra).
        """
        return pair_figure(self, "ROC")
