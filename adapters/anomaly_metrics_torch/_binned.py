"""Opt-in streaming states (``bins=``): fixed-size histograms that sync with a sum all-reduce.

A metric built with ``bins=b`` keeps, instead of every score, the histograms of
:func:`anomaly_metrics.ranking_histogram` (AUROC, AUPR, F1Max, F1AdaptiveThreshold),
:func:`anomaly_metrics.pro_histogram` (AUPRO) or :func:`anomaly_metrics.pimo_histogram`
(AUPIMO) over ``2**b`` bins, and finalises with the matching ``*_from_histogram`` function. The
states are added by torchmetrics (``dist_reduce_fx="sum"``; AUPIMO's defect pixels are
``"cat"``), so memory does not grow with the dataset and a distributed sync is one small
all-reduce. The binning runs on the CPU (one pass over the batch); counts stay exact integers.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torchmetrics import Metric

import anomaly_metrics as am

from ._convert import state_to_numpy

__all__ = ["add_binned_states", "check_bins", "histogram_of", "update_binned"]


def check_bins(bins: Any, cls: str, supported: bool = True) -> int | None:
    """`bins` as None (exact) or an int in [1, 24]; a clear error where a class has no binning."""
    if bins is None:
        return None
    if not supported:
        raise ValueError(f"`bins` must be None for {cls}: it has no binned mode, got {bins!r}.")
    if isinstance(bins, (bool, np.bool_)) or not isinstance(bins, (int, np.integer)):
        raise TypeError(f"`bins` must be None (exact) or an int in [1, 24], got {bins!r}.")
    value = operator.index(bins)
    if not 1 <= value <= 24:
        raise ValueError(
            f"`bins` must be None (exact) or an int in [1, 24] (2**bins bins; 20 gives a "
            f"relative bin width of about 5e-4), got {value}."
        )
    return value


def add_binned_states(metric: Metric, kind: str, bits: int) -> None:
    """Register the histogram states of `kind` ("ranking", "pro" or "pimo") on `metric`."""
    n = 1 << bits
    if kind == "ranking":
        metric.add_state("histogram", torch.zeros(2, n, dtype=torch.int64), dist_reduce_fx="sum")
    elif kind == "pro":
        metric.add_state("background", torch.zeros(n, dtype=torch.int64), dist_reduce_fx="sum")
        metric.add_state("region_weight", torch.zeros(n, dtype=torch.float64), dist_reduce_fx="sum")
        metric.add_state("num_regions", torch.tensor(0, dtype=torch.int64), dist_reduce_fx="sum")
    else:
        metric.add_state("normal_fpr", torch.zeros(n, dtype=torch.float64), dist_reduce_fx="sum")
        metric.add_state("num_normal", torch.tensor(0, dtype=torch.int64), dist_reduce_fx="sum")
        metric.add_state("defect_bins", [], dist_reduce_fx="cat")
        metric.add_state("defect_counts", [], dist_reduce_fx="cat")
        metric.add_state("defect_image_classes", [], dist_reduce_fx="cat")


def add_to_state(state: Tensor, value: Any) -> Tensor:
    """``state + value`` (a NumPy array or number), on the state's device and dtype."""
    return state + torch.as_tensor(value).to(device=state.device, dtype=state.dtype)


def update_binned(metric: Metric, kind: str, bits: int, preds: Tensor, target: Tensor) -> None:
    """Add a checked batch (flat scores and labels, or maps and masks) to the states."""
    if preds.numel() == 0:
        return
    p, t = state_to_numpy(preds), state_to_numpy(target)
    if kind == "ranking":
        hist = metric.histogram
        if hist.device.type == "cpu" and hist.is_contiguous():  # add in place, no new array
            am.ranking_histogram(p, t, bits=bits, out=hist.numpy())
        else:
            metric.histogram = add_to_state(hist, am.ranking_histogram(p, t, bits=bits))
    elif kind == "pro":
        h = am.pro_histogram(p, t, bits=bits)
        metric.background = add_to_state(metric.background, h.background)
        metric.region_weight = add_to_state(metric.region_weight, h.region_weight)
        metric.num_regions = add_to_state(metric.num_regions, h.num_regions)
    else:
        h = am.pimo_histogram(p, t, bits=bits)
        metric.normal_fpr = add_to_state(metric.normal_fpr, h.normal_fpr)
        metric.num_normal = add_to_state(metric.num_normal, h.num_normal)
        device = metric.normal_fpr.device
        metric.defect_bins.append(torch.from_numpy(h.defect_bins.astype(np.int32)).to(device))
        metric.defect_counts.append(torch.from_numpy(h.defect_counts).to(device))
        metric.defect_image_classes.append(torch.from_numpy(h.image_classes).to(device))


def histogram_of(metric: Metric, kind: str) -> Any:
    """The merged state of `metric` as the core's histogram (NumPy, on the CPU)."""
    if kind == "ranking":
        return state_to_numpy(metric.histogram)
    if kind == "pro":
        return am.ProHistogram(
            state_to_numpy(metric.background),
            state_to_numpy(metric.region_weight),
            int(metric.num_regions),
        )
    return am.PimoHistogram(
        state_to_numpy(metric.normal_fpr),
        int(metric.num_normal),
        state_to_numpy(metric.defect_bins, empty_shape=(0,)).astype(np.uint32),
        state_to_numpy(metric.defect_counts).astype(np.int64),
        state_to_numpy(metric.defect_image_classes).astype(np.int8),
    )
