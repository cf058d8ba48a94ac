"""Merging streaming histograms: the sum of histograms of the same kind and `bits`."""

from __future__ import annotations

from typing import Any

import numpy as np

from .pimo import PimoHistogram, _check_pimo_histogram
from .pro import ProHistogram, _check_pro_histogram
from .ranking import _check_ranking_histogram

__all__ = ["merge_histograms"]


def merge_histograms(*histograms: Any) -> Any:
    """Sum histograms of the same kind and `bits`.

    Parameters
    ----------
    *histograms : ndarray, ProHistogram or PimoHistogram
        One or more results of the same builder (:func:`ranking_histogram`,
        :func:`pro_histogram`, :func:`pimo_histogram`) with the same `bits`.

    Returns
    -------
    ndarray, ProHistogram or PimoHistogram
        The histogram of all their data together (new arrays; the inputs are not modified).
        Counts add exactly, so any order gives the same integer arrays; float64 weights (AU-PRO,
        AUPIMO) agree to rounding (about 1e-16 relative). A PimoHistogram keeps its images in
        the order of the arguments.

    Raises
    ------
    TypeError, ValueError
        No histograms, mixed kinds, or different `bits`.

    Examples
    --------
    >>> import anomaly_metrics as am
    >>> a = am.ranking_histogram([0.1, 0.8], [0, 1])
    >>> b = am.ranking_histogram([0.4, 0.35], [0, 1])
    >>> am.auroc_from_histogram(am.merge_histograms(a, b)).value
    0.75
    """
    if not histograms:
        raise TypeError("`merge_histograms` needs at least one histogram, got none.")
    first = histograms[0]
    names = [f"histograms[{i}]" for i in range(len(histograms))]
    if isinstance(first, PimoHistogram):
        pims = [_check_pimo_histogram(h, name) for h, name in zip(histograms, names)]
        _same_bins([p.normal_fpr.shape[0] for p in pims])
        normal_fpr = pims[0].normal_fpr.copy()
        for p in pims[1:]:
            normal_fpr += p.normal_fpr
        return PimoHistogram(
            normal_fpr,
            sum(p.num_normal for p in pims),
            np.concatenate([p.defect_bins for p in pims]),
            np.concatenate([p.defect_counts for p in pims]),
            np.concatenate([p.image_classes for p in pims]),
        )
    if isinstance(first, tuple):
        pros = [_check_pro_histogram(h, name) for h, name in zip(histograms, names)]
        _same_bins([p[0].shape[0] for p in pros])
        background = pros[0][0].copy()
        weight = pros[0][1].copy()
        for bg, w, _ in pros[1:]:
            background += bg
            weight += w
        return ProHistogram(background, weight, sum(p[2] for p in pros))
    arrays = [_check_ranking_histogram(h, name)[0] for h, name in zip(histograms, names)]
    _same_bins([a.shape[1] for a in arrays])
    total = arrays[0].copy()
    for arr in arrays[1:]:
        total += arr
    return total


def _same_bins(sizes: list[int]) -> None:
    if len(set(sizes)) != 1:
        bits = sorted({int(n).bit_length() - 1 for n in sizes})
        raise ValueError(f"`histograms` must all have the same bits, got bits {bits}.")
