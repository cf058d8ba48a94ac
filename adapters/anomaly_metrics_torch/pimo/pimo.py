"""PIMO and AUPIMO metrics (anomalib's ``anomalib.metrics.pimo.pimo``)."""

from __future__ import annotations

import logging
from typing import Any

import torch
from torch import Tensor

import anomaly_metrics as am
from anomaly_metrics import batched

from .._base import AnomalibMetric
from .._binned import histogram_of
from .._convert import to_result
from .._segmentation import _MapMetric
from .dataclasses import AUPIMOResult, PIMOResult
from .functional import aupimo_normalizing_factor, threshold_dtype
from .utils import images_classes_from_masks

__all__ = ["AUPIMO", "PIMO", "_AUPIMO", "_PIMO", "AUPIMOResult", "PIMOResult"]

logger = logging.getLogger(__name__)


class _PIMO(_MapMetric):
    """The metric without batch fields: ``update(anomaly_maps, masks)`` (see :class:`PIMO`)."""

    higher_is_better = None

    def __init__(self, num_thresholds: int | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.num_thresholds = batched.check_num_thresholds(num_thresholds)

    @property
    def num_images(self) -> int:
        """Number of images added so far."""
        return sum(int(m.shape[0]) for m in self._stored("preds"))

    @property
    def image_classes(self) -> Tensor:
        """1 for each image added so far with an anomalous pixel, 0 for the others (int32)."""
        masks = self._stored("target")
        if not masks:
            return torch.zeros(0, dtype=torch.int32, device=self.device)
        return torch.cat([images_classes_from_masks(m) for m in masks])

    def _stored(self, name: str) -> list[Tensor]:
        if self.bins is not None:
            raise ValueError(
                f"{type(self).__name__}(bins=...) keeps histograms, not the images: create the "
                "metric without `bins` to list them."
            )
        state = getattr(self, name)
        return [t for t in (state if isinstance(state, list) else [state]) if t.numel()]

    def _curves_result(self, curves: Any) -> PIMOResult:
        t, fpr, tpr, classes = curves
        maps = self._stored("preds")
        dtype = threshold_dtype(maps[0].dtype if maps else torch.float32)
        return PIMOResult(
            to_result(t, self.device, dtype),
            to_result(fpr, self.device),
            to_result(tpr, self.device),
            to_result(classes, self.device, torch.int32),
        )

    def compute(self) -> PIMOResult:
        curves = batched.pimo_curves(*self._batches(), num_thresholds=self.num_thresholds)
        return self._curves_result(curves)


class PIMO(AnomalibMetric, _PIMO):
    """Per-image overlap curves against the shared FPR of the normal images (anomalib's PIMO).

    Parameters
    ----------
    fields, prefix, strict
        See :class:`AnomalibMetric`; `fields` defaults to ``("anomaly_map", "gt_mask")``.
    num_thresholds : int or None
        Required, as in anomalib: the number of linearly spaced thresholds between the normal
        images' min and max score; None gives the exact curve (every distinct normal score).
    **kwargs
        torchmetrics ``Metric`` options.

    Notes
    -----
    ``compute()`` returns a :class:`PIMOResult` of tensors (not loggable by the Evaluator):
    thresholds in the maps' dtype, rates in float64, as anomalib.

    Examples
    --------
    A normal image and two anomalous ones with the same map (90 pixels at 1, 9 at 2, 1 at 3):
    the first is all defect, the second has its defect on the top row.

    >>> import torch
    >>> from anomaly_metrics_torch import PIMO
    >>> image = torch.ones(10, 10)
    >>> image[0, 0], image[0, 1:] = 3.0, 2.0
    >>> masks = torch.zeros(3, 10, 10, dtype=torch.bool)
    >>> masks[1], masks[2, 0] = True, True
    >>> pimo = PIMO(num_thresholds=3)
    >>> pimo.update({"anomaly_map": torch.stack([image] * 3), "gt_mask": masks})
    >>> result = pimo.compute()
    >>> result.thresholds.tolist(), result.shared_fpr.tolist()
    ([1.0, 2.0, 3.0], [1.0, 0.1, 0.01])
    >>> result.per_image_tprs[1:].tolist()
    [[1.0, 0.1, 0.01], [1.0, 1.0, 0.1]]
    """

    default_fields = ("anomaly_map", "gt_mask")


class _AUPIMO(_PIMO):
    """The metric without batch fields: ``update(anomaly_maps, masks)`` (see :class:`AUPIMO`)."""

    higher_is_better = True
    _binned_kind = "pimo"

    def __init__(
        self,
        num_thresholds: int | None = 300_000,
        fpr_bounds: tuple[float, float] = (1e-5, 1e-4),
        return_average: bool = True,
        force: bool = False,
        bins: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(num_thresholds, bins=bins, **kwargs)
        if self.bins is not None and not return_average:
            raise ValueError(
                "`return_average` must be True with `bins`: the binned mode keeps no PIMO "
                "curves (use the exact mode for them)."
            )
        self.fpr_bounds = batched.check_fpr_bounds(fpr_bounds)
        self.return_average = return_average
        self.force = force

    @staticmethod
    def normalizing_factor(fpr_bounds: tuple[float, float]) -> float:
        """``ln(upper / lower)``: see :func:`.functional.aupimo_normalizing_factor`."""
        return aupimo_normalizing_factor(fpr_bounds)

    def __repr__(self) -> str:
        lo, hi = self.fpr_bounds
        return f"{type(self).__name__}([{lo:.2g}, {hi:.2g}])"

    def compute(self, force: bool | None = None) -> Any:
        if self.bins is not None:
            result = am.aupimo_from_histogram(
                histogram_of(self, "pimo"), fpr_bounds=self.fpr_bounds
            )
            self.error_bound = to_result(result.error_bound, self.device)
            return to_result(result.mean, self.device)
        force = self.force if force is None else force
        maps, masks = self._batches()
        result = batched.aupimo(
            maps,
            masks,
            fpr_bounds=self.fpr_bounds,
            num_thresholds=self.num_thresholds,
            force=force,
        )
        if self.return_average:
            return to_result(result.mean, self.device)
        curves = batched.pimo_curves(maps, masks, num_thresholds=self.num_thresholds)
        lo, hi = result.threshold_bounds
        return self._curves_result(curves), AUPIMOResult(
            float(result.fpr_bounds[0]),
            float(result.fpr_bounds[1]),
            int(result.num_points),
            float(lo),
            float(hi),
            to_result(result.per_image, self.device),
            to_result(result.image_classes, self.device, torch.int32),
        )


class AUPIMO(AnomalibMetric, _AUPIMO):
    """Area under each anomalous image's PIMO curve in a log-FPR range (anomalib's AUPIMO).

    Parameters
    ----------
    fields, prefix, strict
        See :class:`AnomalibMetric`; `fields` defaults to ``("anomaly_map", "gt_mask")``.
    num_thresholds : int or None, default 300_000
        Linearly spaced thresholds (reproduces published numbers); None: the exact curve.
    fpr_bounds : tuple of float, default (1e-5, 1e-4)
        The shared-FPR integration range.
    return_average : bool, default True
        Return the mean over anomalous images (a loggable 0-d tensor); otherwise
        ``(PIMOResult, AUPIMOResult)``.
    force : bool, default False
        Compute even when the range holds too few curve points.
    bins : int in [1, 24], optional
        Streaming mode: keep the normal images' shared-FPR histogram (summed across processes)
        and the binned defect pixels only (:func:`anomaly_metrics.pimo_histogram`), and return
        the mean AUPIMO of the curve through the bin edges, within ``error_bound`` of the exact
        curve's (``num_thresholds=None``); `num_thresholds` and `force` are then unused and
        `return_average` must be True. None (the default) keeps the maps.
    **kwargs
        torchmetrics ``Metric`` options.

    Notes
    -----
    Results are float64, as anomalib's. ``AUPIMOResult.image_classes`` is 1 for anomalous
    images (anomalib inverts it). With
    ``return_average=False`` the curves come from a second call into the core.

    Examples
    --------
    The data of :class:`PIMO`, integrated exactly between shared FPR 0.01 and 0.1:

    >>> import torch
    >>> from anomaly_metrics_torch import AUPIMO
    >>> image = torch.ones(10, 10)
    >>> image[0, 0], image[0, 1:] = 3.0, 2.0
    >>> masks = torch.zeros(3, 10, 10, dtype=torch.bool)
    >>> masks[1], masks[2, 0] = True, True
    >>> aupimo = AUPIMO(num_thresholds=None, fpr_bounds=(0.01, 0.1), return_average=False)
    >>> aupimo.update({"anomaly_map": torch.stack([image] * 3), "gt_mask": masks})
    >>> curves, result = aupimo.compute()
    >>> [round(x, 6) for x in result.aupimos.tolist()[1:]], result.image_classes.tolist()
    ([0.055, 0.55], [0, 1, 1])
    """

    default_fields = ("anomaly_map", "gt_mask")
