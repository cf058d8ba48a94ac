"""AnomalyScoreDistribution (anomalib's ``anomalib.metrics.anomaly_score_distribution``)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

import anomaly_metrics as am

from ._checks import as_labels, as_scores
from ._convert import state_to_numpy
from ._dtype import result
from ._figures import score_histogram_figure
from ._sync import SyncedMetric

__all__ = ["AnomalyScoreDistribution"]


def _given(state: Tensor | list[Tensor]) -> bool:
    """Whether a ``"cat"`` state (a list, or a tensor after a distributed sync) holds data."""
    return any(p.numel() for p in (state if isinstance(state, list) else [state]))


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
        results = tuple(empty if v is None else result(v, self.device) for v in d)
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
