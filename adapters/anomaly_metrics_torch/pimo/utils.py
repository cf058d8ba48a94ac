"""`images_classes_from_masks` (anomalib's ``anomalib.metrics.pimo.utils``)."""

from __future__ import annotations

import logging

import torch
from torch import Tensor

from .._checks import as_labels

__all__ = ["images_classes_from_masks"]

logger = logging.getLogger(__name__)


def images_classes_from_masks(masks: Tensor) -> Tensor:
    """1 for each image with at least one anomalous pixel, 0 for the others.

    Parameters
    ----------
    masks : Tensor
        Ground-truth masks ``(N, H, W)`` (or ``(N, 1, H, W)``, ``(H, W)``), bool or 0/1.

    Returns
    -------
    Tensor
        int32, shape ``(N,)``.

    Raises
    ------
    ValueError
        Masks with values other than 0 and 1, or of another shape.

    Examples
    --------
    >>> import torch
    >>> from anomaly_metrics_torch.pimo.utils import images_classes_from_masks
    >>> masks = torch.zeros(3, 4, 4)
    >>> masks[1, 1:3, 1:3] = 1
    >>> images_classes_from_masks(masks)
    tensor([0, 1, 0], dtype=torch.int32)
    """
    m = as_labels(masks, "masks")
    if m.ndim not in (2, 3, 4) or (m.ndim == 4 and m.shape[1] != 1):
        raise ValueError(
            f"`masks` must have shape (N, H, W), (N, 1, H, W) or (H, W), got {tuple(m.shape)}."
        )
    m = m.unsqueeze(0) if m.ndim == 2 else m
    return m.reshape(m.shape[0], -1).any(dim=1).to(torch.int32)
