"""anomalib's ``BinaryPrecisionRecallCurve``: torchmetrics' curve without the sigmoid."""

from __future__ import annotations

from torch import Tensor

import anomaly_metrics as am

from ._convert import state_to_numpy
from ._dtype import result
from ._thresholded import pr_points
from .auroc import _AUROC

__all__ = ["BinaryPrecisionRecallCurve"]


class BinaryPrecisionRecallCurve(_AUROC):
    """Precision-recall curve without a sigmoid (anomalib's variant of the torchmetrics class).

    Not an :class:`AnomalibMetric`: ``update(preds, target)`` takes tensors.

    Parameters
    ----------
    thresholds : int, list of float or 1-D Tensor, optional
        None (the default): exact. Otherwise torchmetrics' fixed thresholds (an int ``n >= 2``
        gives ``torch.linspace(0, 1, n)``, which assumes scores in [0, 1]; a list or tensor
        gives the thresholds): the curve is torchmetrics' at those thresholds, without a
        sigmoid (nan precision where nothing scores above a threshold, nan recall without
        positives).
    ignore_index, validate_args, normalization, **kwargs
        As :class:`AUROC`.

    Notes
    -----
    ``compute()`` returns ``(precision, recall, thresholds)`` as tensors of the result dtype:
    thresholds are the distinct scores, ascending, in raw score space; precision and recall
    have one more element (the final point precision 1, recall 0). Without positive samples
    recall is nan (with ``UndefinedMetricWarning``), where torchmetrics sets it to 1.

    Examples
    --------
    >>> import torch
    >>> from anomaly_metrics_torch import BinaryPrecisionRecallCurve
    >>> curve = BinaryPrecisionRecallCurve()
    >>> curve.update(torch.tensor([-1.0, 0.5, 2.0, 3.0]), torch.tensor([0, 0, 1, 1]))
    >>> precision, recall, thresholds = curve.compute()
    >>> thresholds.tolist()
    [-1.0, 0.5, 2.0, 3.0]
    >>> recall.tolist()
    [1.0, 1.0, 1.0, 0.5, 0.0]
    """

    higher_is_better = None
    _binnable = False
    _thresholdable = True

    def compute(self) -> tuple[Tensor, Tensor, Tensor]:  # type: ignore[override]
        if self.thresholds is not None:
            precision, recall = pr_points(self.confmat)
            values = (precision, recall, state_to_numpy(self.thresholds))
        else:
            values = am.precision_recall_curve(*self._arrays())
        return tuple(result(x, self.device) for x in values)  # type: ignore[return-value]
