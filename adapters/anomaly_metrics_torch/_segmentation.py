"""Pixel-level metrics over anomaly maps and masks: PRO, AUPRO, PIMO, AUPIMO.

States are the maps ``(N, H, W)`` in their dtype and the masks ``(N, H, W)`` as bool, both
``"cat"``; connected components, curves and areas are computed by the core. With the opt-in
``bins=`` (AUPRO, AUPIMO) the states are summed histograms instead (see ``_binned``).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor

import anomaly_metrics as am
from anomaly_metrics import batched

from ._base import AnomalibMetric
from ._binned import add_binned_states, check_bins, histogram_of, update_binned
from ._checks import as_maps_and_masks
from ._convert import state_pairs, state_to_numpy, to_result
from ._figures import pro_figure
from ._sync import SyncedMetric

__all__ = ["AUPIMO", "AUPRO", "PIMO", "PRO", "AUPIMOResult", "PIMOResult"]


class _MapMetric(SyncedMetric):
    """States ``preds`` (maps, dtype as given) and ``target`` (bool masks), ``(N, H, W)``.

    With ``bins`` (classes with a ``_binned_kind``): the histogram states of that kind instead.
    """

    is_differentiable = False
    higher_is_better: bool | None = True
    full_state_update = False
    _binned_kind: str | None = None
    preds: list[Tensor]
    target: list[Tensor]

    def __init__(self, bins: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bins = check_bins(bins, type(self).__name__, self._binned_kind is not None)
        if self.bins is not None:
            add_binned_states(self, self._binned_kind, self.bins)  # type: ignore[arg-type]
            return
        self.add_state("preds", default=[], dist_reduce_fx="cat")
        self.add_state("target", default=[], dist_reduce_fx="cat")

    def update(self, preds: Tensor, target: Tensor) -> None:
        """Append maps and masks: ``(N, H, W)``, ``(N, 1, H, W)`` or ``(H, W)`` each."""
        maps, masks = as_maps_and_masks(preds, target)
        if self.bins is not None:
            update_binned(self, self._binned_kind, self.bins, maps, masks)  # type: ignore[arg-type]
            return
        self.preds.append(maps)
        self.target.append(masks)

    def _arrays(self) -> tuple[Any, Any]:
        return state_to_numpy(self.preds), state_to_numpy(self.target)

    def _batches(self) -> tuple[list[Any], list[Any]]:
        """Maps and masks as lists of per-update arrays (see ``state_pairs``)."""
        return state_pairs(self.preds, self.target)


class _PRO(_MapMetric):
    def __init__(self, threshold: float = 0.5, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.threshold = batched.check_real(threshold, "threshold")

    def compute(self) -> Tensor:
        return to_result(batched.pro(*self._batches(), threshold=self.threshold), self.device)


class PRO(AnomalibMetric, _PRO):
    """Per-region overlap at one threshold (anomalib's ``PRO``).

    The mean over all defect regions (8-connected, pooled over images) of the fraction of the
    region's pixels with ``score >= threshold``.

    Parameters
    ----------
    fields, prefix, strict
        See :class:`AnomalibMetric`; e.g. ``["anomaly_map", "gt_mask"]`` or
        ``["pred_mask", "gt_mask"]`` (bool predictions count as 0 / 1).
    threshold : float, default 0.5
        A pixel is predicted anomalous iff ``float64(score) >= float64(threshold)``.
    **kwargs
        torchmetrics ``Metric`` options.

    Notes
    -----
    Differs from anomalib on purpose: ``>=`` instead of ``>``; nan with
    ``UndefinedMetricWarning`` when there is no region (anomalib: 1.0); any float dtype works;
    an all-defect mask is one region (anomalib's CPU path drops it).

    Examples
    --------
    >>> import torch
    >>> from anomaly_metrics_torch import PRO
    >>> pro = PRO(fields=["anomaly_map", "gt_mask"], threshold=0.5)
    >>> gt = torch.tensor([[[1, 1, 0], [0, 0, 0], [0, 1, 0]]])
    >>> maps = torch.tensor([[[0.5, 0.6, 0.9], [0.1, 0.1, 0.1], [0.1, 0.4, 0.1]]])
    >>> pro.update({"anomaly_map": maps, "gt_mask": gt})
    >>> float(pro.compute())  # regions: 2 of 2 pixels, 0 of 1
    0.5
    """


class _AUPRO(_MapMetric):
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
            return to_result(value, self.device)
        maps, masks = self._batches()
        return to_result(batched.aupro(maps, masks, fpr_limit=self.fpr_limit), self.device)


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
    accumulates in float32). nan with ``UndefinedMetricWarning`` without regions or background
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


class PIMOResult(NamedTuple):
    """Per-image overlap curves (the result of :class:`PIMO`), as tensors.

    ``thresholds`` ascending ``(K,)``, ``shared_fpr`` ``(K,)`` (mean FPR of the normal images,
    descending), ``per_image_tprs`` ``(N, K)`` (nan rows for normal images) and
    ``image_classes`` ``(N,)`` (1 anomalous, 0 normal).
    """

    thresholds: Tensor
    shared_fpr: Tensor
    per_image_tprs: Tensor
    image_classes: Tensor


class AUPIMOResult(NamedTuple):
    """Per-image AUPIMO scores and the integration range (anomalib's fields, as tensors).

    ``num_thresholds`` is the number of curve points used in the integral; ``aupimos`` is nan
    for normal images; ``image_classes`` is 1 for anomalous images (anomalib inverts it).
    """

    fpr_lower_bound: float
    fpr_upper_bound: float
    num_thresholds: int
    thresh_lower_bound: float
    thresh_upper_bound: float
    aupimos: Tensor
    image_classes: Tensor

    @property
    def num_normal_images(self) -> int:
        """How many images have no anomalous pixel."""
        return int((self.image_classes == 0).sum())

    @property
    def num_anomalous_images(self) -> int:
        """How many images have at least one anomalous pixel."""
        return int((self.image_classes == 1).sum())


class _PIMO(_MapMetric):
    higher_is_better = None

    def __init__(self, num_thresholds: int | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.num_thresholds = batched.check_num_thresholds(num_thresholds)

    def _curves_result(self, curves: Any) -> PIMOResult:
        t, fpr, tpr, classes = curves
        return PIMOResult(
            to_result(t, self.device),
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
    ``compute()`` returns a :class:`PIMOResult` of tensors (not loggable by the Evaluator).

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
    ``AUPIMOResult.image_classes`` is 1 for anomalous images (anomalib inverts it). With
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
