"""AUPR: area under the precision-recall curve (anomalib's ``anomalib.metrics.aupr``)."""

from __future__ import annotations

from typing import Any

import numpy as np
from torch import Tensor

import anomaly_metrics as am
from anomaly_metrics import batched

from ._base import AnomalibMetric
from ._dtype import result
from ._figures import pair_figure
from ._thresholded import pr_points
from .auroc import _AUROC

__all__ = ["AUPR", "_AUPR"]


class _AUPR(_AUROC):
    """The metric without batch fields: ``update(preds, target)`` (see :class:`AUPR`)."""

    def compute(self) -> Tensor:
        if self.thresholds is not None:
            precision, recall = (np.nan_to_num(x, nan=0.0) for x in pr_points(self.confmat))
            return result(-np.sum(np.diff(recall) * precision[:-1]), self.device)
        if self.bins is not None:
            return result(self._finalise_binned(am.aupr_from_histogram), self.device)
        return result(batched.aupr(*self._batches()), self.device)


class AUPR(AnomalibMetric, _AUPR):
    """Area under the precision-recall curve as step-wise average precision (anomalib 2.7).

    Parameters (``bins`` and ``thresholds`` included) and the ``error_bound`` attribute are
    those of :class:`AUROC`. With ``thresholds`` the value is anomalib's step sum over
    torchmetrics' K + 1 precision-recall points (undefined precision or recall counted as 0).

    Notes
    -----
    nan (with ``UndefinedMetricWarning``) without positive samples, where anomalib returns -0.0.
    No sigmoid is applied to any batch.

    Examples
    --------
    >>> import torch
    >>> from anomaly_metrics_torch import AUPR
    >>> aupr = AUPR(fields=["pred_score", "gt_label"])
    >>> batch = {"pred_score": torch.tensor([0.1, 0.5, 0.5, 0.9]), "gt_label": torch.tensor([0, 0, 1, 1])}
    >>> aupr.update(batch)
    >>> round(float(aupr.compute()), 6)
    0.833333
    """

    def generate_figure(self) -> tuple[Any, str]:
        """``(figure, "PR")``: the precision-recall curve of the data so far, AUPR in the legend.

        Drawn by :func:`anomaly_metrics.plotting.plot_pr` (needs the ``plot`` extra).
        """
        return pair_figure(self, "PR")
