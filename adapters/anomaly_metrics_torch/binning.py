"""Linearly spaced thresholds (anomalib's ``anomalib.metrics.binning``)."""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["thresholds_between_0_and_1", "thresholds_between_min_and_max"]


def thresholds_between_min_and_max(
    preds: Tensor, num_thresholds: int = 100, device: torch.device | None = None
) -> Tensor:
    """`num_thresholds` thresholds linearly spaced from ``preds.min()`` to ``preds.max()``.

    Parameters
    ----------
    preds : Tensor
        Scores (any shape, not empty).
    num_thresholds : int, default 100
        Number of thresholds.
    device : torch.device, optional
        Where the result lives; defaults to `preds`' device (anomalib 2.7).

    Returns
    -------
    Tensor
        ``torch.linspace(preds.min(), preds.max(), num_thresholds)`` (torch's default float
        dtype).

    Examples
    --------
    >>> import torch
    >>> from anomaly_metrics_torch.binning import thresholds_between_min_and_max
    >>> thresholds_between_min_and_max(torch.tensor([0.5, 1.5, 2.5]), 3)
    tensor([0.5000, 1.5000, 2.5000])
    """
    if preds.numel() == 0:
        raise ValueError("`preds` must not be empty to span thresholds, got 0 elements.")
    device = preds.device if device is None else device
    return torch.linspace(start=preds.min(), end=preds.max(), steps=num_thresholds, device=device)


def thresholds_between_0_and_1(
    num_thresholds: int = 100, device: torch.device | None = None
) -> Tensor:
    """`num_thresholds` thresholds linearly spaced from 0 to 1 (torchmetrics' int ``thresholds``).

    Examples
    --------
    >>> from anomaly_metrics_torch.binning import thresholds_between_0_and_1
    >>> thresholds_between_0_and_1(5)
    tensor([0.0000, 0.2500, 0.5000, 0.7500, 1.0000])
    """
    return torch.linspace(start=0, end=1, steps=num_thresholds, device=device)
