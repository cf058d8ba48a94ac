"""Statistics of scores: MinMax (min/max reductions) and AnomalyScoreDistribution."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor
from torchmetrics import Metric

import anomaly_metrics as am

from ._base import AnomalibMetric
from ._checks import as_labels, as_scores
from ._convert import state_to_numpy, to_result
from ._figures import score_histogram_figure
from ._sync import SyncedMetric

__all__ = ["AnomalyScoreDistribution", "MinMax"]


def _given(state: Tensor | list[Tensor]) -> bool:
    """Whether a ``"cat"`` state (a list, or a tensor after a distributed sync) holds data."""
    return any(p.numel() for p in (state if isinstance(state, list) else [state]))


class _MinMax(Metric):
    is_differentiable = False
    higher_is_better = None
    full_state_update = False
    min: Tensor
    max: Tensor

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # float64 holds every float16/32/64 score exactly (anomalib's float32 state rounds float64)
        inf = torch.tensor(float("inf"), dtype=torch.float64)
        self.add_state("min", default=inf, dist_reduce_fx="min")
        self.add_state("max", default=-inf, dist_reduce_fx="max")

    def update(self, predictions: Tensor, *args: Any, **kwargs: Any) -> None:
        """Fold the smallest and largest value of `predictions` (any shape) into the state."""
        p = as_scores(predictions, "predictions")
        if p.numel() == 0:
            return
        lo, hi = torch.aminmax(
            p.reshape(-1).to(torch.uint8) if p.dtype == torch.bool else p.reshape(-1)
        )
        self.min = torch.minimum(self.min, lo.to(self.min))
        self.max = torch.maximum(self.max, hi.to(self.max))

    def compute(self) -> Tensor:
        bounds = state_to_numpy(torch.stack([self.min, self.max]))
        if bounds[0] > bounds[1]:  # nothing seen: the reductions' identities
            return to_result(bounds, self.device)
        return to_result(np.asarray(am.min_max(bounds)), self.device)


class MinMax(AnomalibMetric, _MinMax):
    """Smallest and largest value seen (anomalib's ``MinMax``), e.g. for normalisation.

    Parameters
    ----------
    fields, prefix, strict
        See :class:`AnomalibMetric`; one field, e.g. ``["pred_score"]`` or ``["anomaly_map"]``.
    **kwargs
        torchmetrics ``Metric`` options.

    Notes
    -----
    ``compute()`` returns ``tensor([min, max])`` (float64, so float64 scores are not rounded);
    ``[inf, -inf]`` before any update. NaN or infinite values raise ValueError at compute.

    Examples
    --------
    >>> import torch
    >>> from anomaly_metrics_torch import MinMax
    >>> minmax = MinMax(fields=["pred_score"])
    >>> minmax.update({"pred_score": torch.tensor([[0.25, -2.5], [7.75, 1.0]])})
    >>> minmax.update({"pred_score": torch.tensor([3.5, 8.125, -1.25])})
    >>> minmax.compute().tolist()
    [-2.5, 8.125]
    """


class AnomalyScoreDistribution(SyncedMetric):
    """Mean and standard deviation of log scores and log maps (anomalib's metric of that name).

    Not an :class:`AnomalibMetric`: ``update`` takes keyword arguments ``anomaly_scores``,
    ``anomaly_maps`` and ``labels`` (each optional; positional arguments are ignored).

    Parameters
    ----------
    **kwargs
        torchmetrics ``Metric`` options.

    Attributes
    ----------
    image_mean, image_std, pixel_mean, pixel_std : Tensor
        Set by ``compute()``; empty tensors before it and after ``reset()``.

    Notes
    -----
    ``compute()`` returns ``(image_mean, image_std, pixel_mean, pixel_std)``: the mean and
    unbiased std of ``ln(score)`` (0-d) and, per pixel across images, of ``ln(map)`` (the map's
    spatial shape with size-1 axes removed). A field without data is an empty tensor. The data
    are ``"cat"`` states, so ``reset()`` clears them (anomalib keeps them) and processes sync.

    Examples
    --------
    >>> import torch
    >>> from anomaly_metrics_torch import AnomalyScoreDistribution
    >>> dist = AnomalyScoreDistribution()
    >>> dist.update(anomaly_scores=torch.tensor([0.5, 1.0, 2.0, 4.0]))
    >>> image_mean, image_std, pixel_mean, pixel_std = dist.compute()
    >>> round(float(image_mean), 6), round(float(image_std), 6), pixel_mean.numel()
    (0.346574, 0.894849, 0)
    """

    is_differentiable = False
    higher_is_better = None
    full_state_update = False
    anomaly_scores: list[Tensor]
    anomaly_maps: list[Tensor]
    labels: list[Tensor]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_state("anomaly_scores", default=[], dist_reduce_fx="cat")
        self.add_state("anomaly_maps", default=[], dist_reduce_fx="cat")
        self.add_state("labels", default=[], dist_reduce_fx="cat")
        self._clear_results()

    def _clear_results(self) -> None:
        self.image_mean = self.image_std = torch.empty(0)
        self.pixel_mean = self.pixel_std = torch.empty(0)

    def update(
        self,
        *args: Any,
        anomaly_scores: Tensor | None = None,
        anomaly_maps: Tensor | None = None,
        labels: Tensor | None = None,
        **kwargs: Any,
    ) -> None:
        """Append image scores ``(B,)``, maps ``(B, ...)`` and/or labels ``(B,)``."""
        if anomaly_scores is not None:
            self.anomaly_scores.append(as_scores(anomaly_scores, "anomaly_scores").reshape(-1))
        if anomaly_maps is not None:
            maps = as_scores(anomaly_maps, "anomaly_maps")
            self.anomaly_maps.append(maps if maps.ndim else maps.reshape(1))
        if labels is not None:
            self.labels.append(as_labels(labels, "labels").reshape(-1))

    def compute(self) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        scores = state_to_numpy(self.anomaly_scores) if _given(self.anomaly_scores) else None
        maps = state_to_numpy(self.anomaly_maps) if _given(self.anomaly_maps) else None
        d = am.score_distribution(image_scores=scores, anomaly_maps=maps)
        empty = torch.empty(0, device=self.device)
        results = tuple(empty if v is None else to_result(v, self.device) for v in d)
        self.image_mean, self.image_std, self.pixel_mean, self.pixel_std = results
        return results  # type: ignore[return-value]

    def reset(self) -> None:
        """Clear the data and the last results."""
        super().reset()
        self._clear_results()

    def plot(
        self,
        bins: int = 30,
        good_color: str = "skyblue",
        bad_color: str = "salmon",
        xlabel: str = "Score",
        ylabel: str = "Relative Count",
        title: str = "Score Histogram",
        legend_labels: tuple[str, str] = ("Good", "Bad"),
    ) -> tuple[Any, str]:
        """``(figure, title)``: density histograms of the image scores of good vs. bad images.

        anomalib's signature; drawn by :func:`anomaly_metrics.plotting.plot_score_histogram`
        (needs the ``plot`` extra). Raises ValueError without scores or without labels.
        """
        return score_histogram_figure(
            self.anomaly_scores,
            self.labels,
            bins=bins,
            colors=(good_color, bad_color),
            xlabel=xlabel,
            ylabel=ylabel,
            title=title,
            legend_labels=legend_labels,
        )
