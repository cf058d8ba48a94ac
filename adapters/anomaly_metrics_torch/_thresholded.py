"""torchmetrics' ``thresholds=`` mode: confusion counts at given thresholds, without a sigmoid.

A metric built with ``thresholds=`` (an int, a list or a 1-D tensor) keeps one int64 state
``confmat`` of shape ``(K, 2, 2)`` (torchmetrics' layout: ``[[tn, fp], [fn, tp]]`` per
threshold), summed across processes; each update adds the counts of
:func:`anomaly_metrics.counts_at_thresholds`. The finalisers turn the counts into torchmetrics'
curves with torchmetrics' conventions (undefined precision or recall is nan in the PR curve,
0 in the ROC curve), which differ from the core's exact-mode conventions on purpose: this mode
exists to reproduce torchmetrics' numbers.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from torch import Tensor
from torchmetrics import Metric

import anomaly_metrics as am

from ._convert import state_to_numpy

__all__ = ["add_confmat_state", "as_thresholds", "pr_points", "roc_points", "update_confmat"]


def as_thresholds(thresholds: Any) -> Tensor | None:
    """`thresholds` as None (exact mode) or a 1-D float tensor of finite thresholds.

    An int ``n >= 2`` gives ``torch.linspace(0, 1, n)`` (float32, torchmetrics' convention,
    meant for scores in [0, 1]); a list or tuple gives ``torch.tensor(thresholds)``; a tensor is
    used as given (floating, or converted to float64 when integer).
    """
    if thresholds is None:
        return None
    if isinstance(thresholds, bool):
        raise TypeError(
            f"`thresholds` must be None, an int, a list or a tensor, got {thresholds!r}."
        )
    if isinstance(thresholds, numbers.Integral):
        if int(thresholds) < 2:
            raise ValueError(
                f"`thresholds` must be an int >= 2 when an int (that many linearly spaced "
                f"thresholds in [0, 1]), got {thresholds}."
            )
        return torch.linspace(0, 1, int(thresholds))
    if isinstance(thresholds, (list, tuple)):
        t = torch.tensor(list(thresholds))
    elif isinstance(thresholds, Tensor):
        t = thresholds.detach()
    else:
        raise TypeError(
            f"`thresholds` must be None, an int, a list or a tensor, got {type(thresholds).__name__}."
        )
    if not t.is_floating_point():
        t = t.to(torch.float64)
    if t.ndim != 1 or t.numel() == 0:
        raise ValueError(
            f"`thresholds` must be a non-empty 1-D list or tensor, got shape {tuple(t.shape)}."
        )
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"`thresholds` must be finite, got {t.tolist()[:5]}.")
    return t


def add_confmat_state(metric: Metric, thresholds: Tensor) -> None:
    """Register ``thresholds`` (a buffer) and the summed ``confmat`` state on `metric`."""
    metric.register_buffer("thresholds", thresholds, persistent=False)
    k = thresholds.numel()
    metric.add_state("confmat", torch.zeros(k, 2, 2, dtype=torch.int64), dist_reduce_fx="sum")


def update_confmat(metric: Metric, preds: Tensor, target: Tensor) -> None:
    """Add the counts of a checked batch (flat scores, bool labels) to ``metric.confmat``."""
    if preds.numel() == 0:
        return
    c = am.counts_at_thresholds(
        state_to_numpy(preds), state_to_numpy(target), state_to_numpy(metric.thresholds)
    )
    counts = np.stack([np.stack([c.tn, c.fp], -1), np.stack([c.fn, c.tp], -1)], 1)
    metric.confmat = metric.confmat + torch.from_numpy(counts).to(metric.confmat.device)


def _ratio(num: NDArray[Any], den: NDArray[Any], undefined: float) -> NDArray[np.float64]:
    out = np.full(num.shape, undefined, np.float64)
    np.divide(num, den, out=out, where=den != 0)
    return out


def pr_points(confmat: Tensor) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """torchmetrics' precision and recall (``K + 1`` each) from the counts at K thresholds."""
    m = state_to_numpy(confmat).astype(np.int64)
    tp, fp, fn = m[:, 1, 1], m[:, 0, 1], m[:, 1, 0]
    precision = np.append(_ratio(tp, tp + fp, math.nan), 1.0)
    recall = np.append(_ratio(tp, tp + fn, math.nan), 0.0)
    return precision, recall


def roc_points(confmat: Tensor) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """torchmetrics' fpr and tpr (thresholds descending) from the counts at K thresholds."""
    m = state_to_numpy(confmat).astype(np.int64)
    tp, fp, fn, tn = m[:, 1, 1], m[:, 0, 1], m[:, 1, 0], m[:, 0, 0]
    return _ratio(fp, fp + tn, 0.0)[::-1], _ratio(tp, tp + fn, 0.0)[::-1]


def class_totals(confmat: Tensor) -> tuple[int, int]:
    """(negatives, positives) counted so far."""
    m = confmat[0] if confmat.numel() else torch.zeros(2, 2, dtype=torch.int64)
    return int(m[0].sum()), int(m[1].sum())
