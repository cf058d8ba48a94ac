"""AUPRO: area under the per-region overlap curve (anomalib's ``anomalib.metrics.aupro``)."""

from __future__ import annotations

from typing import Any

from torch import Tensor

import anomaly_metrics as am
from anomaly_metrics import batched

from ._base import AnomalibMetric
from ._binned import histogram_of
from ._convert import to_result
from ._dtype import result
from ._figures import pro_figure
from ._segmentation import _MapMetric

__all__ = ["AUPRO", "_AUPRO"]


class _AUPRO(_MapMetric):
    """The metric without batch fields: ``update(preds, target)`` (see :class:`AUPRO`)."""

    _binned_kind = "pro"

    def __init__(
        self,
        dist_sync_on_step: bool = False,
        process_group: Any | None = None,
        dist_sync_fn: Any | None = None,
        fpr_limit: float = 0.3,
        bins: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            bins=bins,
            dist_sync_on_step=dist_sync_on_step,
            process_group=process_group,
            dist_sync_fn=dist_sync_fn,
            **kwargs,
        )
        self.fpr_limit = batched.check_real(fpr_limit, "fpr_limit")

    def compute(self) -> Tensor:
        if self.bins is not None:
            h = histogram_of(self, "pro")
            value, bound = am.aupro_from_histogram(h, fpr_limit=self.fpr_limit)
            self.error_bound = to_result(bound, self.device)
            return result(value, self.device)
        maps, masks = self._batches()
        return result(batched.aupro(maps, masks, fpr_limit=self.fpr_limit), self.device)


class AUPRO(AnomalibMetric, _AUPRO):
    """Area under the per-region overlap curve up to `fpr_limit`, normalised (anomalib's AUPRO).

    Parameters
    ----------
    fields, prefix, strict
        See :class:`AnomalibMetric`; e.g. ``["anomaly_map", "gt_mask"]``.
    dist_sync_on_step, process_group, dist_sync_fn
        torchmetrics options (anomalib's explicit arguments).
    fpr_limit : float, default 0.3
        Integration limit on the global false positive rate (kept in float64).
    bins : int in [1, 24], optional
        Streaming mode: keep per-bin background counts and region weights
        (:func:`anomaly_metrics.pro_histogram`, states summed across processes; 24 MiB at 20)
        instead of the maps, and finalise with a certified bound, kept in ``error_bound``.
        None (the default) is exact.
    **kwargs
        Other torchmetrics ``Metric`` options (anomalib accepts none).

    Notes
    -----
    Exact: every distinct score is a threshold, counts are int64, the area is float64 (anomalib
    accumulates in float32) and rounded to the result dtype at the end. nan with ``UndefinedMetricWarning`` without regions or background
    (anomalib: 0.0).

    Examples
    --------
    >>> import torch
    >>> from anomaly_metrics_torch import AUPRO
    >>> aupro = AUPRO(fields=["anomaly_map", "gt_mask"], fpr_limit=1.0)
    >>> aupro.update({"anomaly_map": torch.tensor([[[0.5, 0.9], [0.2, 0.1]]]), "gt_mask": torch.tensor([[[1, 0], [0, 0]]])})
    >>> round(float(aupro.compute()), 6)
    0.666667
    """

    def generate_figure(self) -> tuple[Any, str]:
        """``(figure, "PRO")``: the PRO curve up to `fpr_limit`, AU-PRO in the legend.

        Drawn by :func:`anomaly_metrics.plotting.plot_pro` (needs the ``plot`` extra).
        """
        return pro_figure(self, self.fpr_limit)
