"""SegF1 (MVTec AD 2) and the rules that choose a segmentation threshold without test anomalies.

MVTec AD 2 scores binarised anomaly maps with the pixel F1 ``2 TP / (2 TP + FP + FN)``; the
threshold must be chosen without test anomalies, typically from the anomaly maps of normal
validation images: mean + k standard deviations of their pixel scores (the baseline rule, k = 3),
a percentile of them, or the highest false positive rate allowed on them. With a labelled
validation set, the F1-maximising threshold is the other option. Each rule returns a
:class:`ThresholdChoice` that says which rule chose the threshold and with what parameters.

Maps are often float16 TIFFs with heavy ties: every comparison is
``float64(score) >= float64(threshold)``, exact for any input dtype.
"""

from __future__ import annotations

import math
from typing import Any, Literal, NamedTuple

import numpy as np
from numba import njit
from numpy.typing import NDArray

from ._f1 import _f1_max_batches
from ._validation import check_fraction, check_labels, check_maps_and_masks, check_real
from ._validation import check_scores as _check_scores
from ._warnings import warn_undefined

__all__ = [
    "ThresholdChoice",
    "seg_f1",
    "threshold_f1_max",
    "threshold_max_fpr",
    "threshold_mean_std",
    "threshold_percentile",
]


class ThresholdChoice(NamedTuple):
    """A threshold and the rule that chose it (see :func:`threshold_mean_std` and siblings)."""

    threshold: float
    rule: str  # "mean_std", "percentile", "max_fpr" or "f1_max"
    params: dict[str, float]  # the rule's parameters and the statistics it used


@njit(cache=True, nogil=True)
def _image_counts_kernel(maps, masks, threshold, binary):  # pragma: no cover - compiled
    """Per image (tp, fp, fn) of the prediction ``float64(score) >= threshold`` (or ``!= 0``).

    One pass over ``(N, P)`` maps without a boolean temporary of the input's size. Inputs are
    not validated; call through `seg_f1`.
    """
    n = maps.shape[0]
    out = np.zeros((n, 3), np.int64)
    for i in range(n):
        tp = 0
        fp = 0
        fn = 0
        for j in range(maps.shape[1]):
            pred = maps[i, j] != 0 if binary else np.float64(maps[i, j]) >= threshold
            if masks[i, j]:
                if pred:
                    tp += 1
                else:
                    fn += 1
            elif pred:
                fp += 1
        out[i, 0] = tp
        out[i, 1] = fp
        out[i, 2] = fn
    return out


def seg_f1(
    anomaly_maps: Any,
    masks: Any,
    threshold: float | None = None,
    *,
    average: Literal["pooled", "per_image"] = "pooled",
) -> float:
    """Pixel F1 of binarised anomaly maps (MVTec AD 2's SegF1).

    Parameters
    ----------
    anomaly_maps : array-like of shape (N, H, W), (N, 1, H, W) or (H, W)
        Anomaly maps (any float dtype, float16 included) with a `threshold`; or, with
        ``threshold=None``, binary predictions (bool or 0/1; 0/255 PNGs: pass ``pngs > 0``).
    masks : array-like, same shape
        Ground truth, bool or 0/1.
    threshold : float, optional
        A pixel is predicted anomalous iff ``float64(score) >= float64(threshold)``. None: the
        maps are binary already.
    average : {"pooled", "per_image"}, default "pooled"
        ``"pooled"``: one F1 from the TP / FP / FN of all pixels (of a category).
        ``"per_image"``: the mean of the images' F1; an image with no defect pixel and no
        predicted pixel has F1 = 1 (nothing to find, nothing found).

    Returns
    -------
    float
        ``2 TP / (2 TP + FP + FN)``; pooled: nan when there is no defect and no predicted pixel.

    Raises
    ------
    TypeError, ValueError
        Bad maps or masks (see :func:`aupro`), non-binary maps without a threshold (the message
        says to pass one), a non-finite threshold, an unknown `average`.

    Warns
    -----
    UndefinedMetricWarning
        Pooled F1 with no defect pixel and no predicted pixel (the result is nan).

    Notes
    -----
    Whether the MVTec AD 2 server pools the pixels of a category or averages per image is not
    public; pooled is the default here.

    Examples
    --------
    >>> import numpy as np
    >>> import anomaly_metrics as am
    >>> maps = np.array([[[0.9, 0.6], [0.2, 0.1]], [[0.1, 0.7], [0.1, 0.1]]], np.float16)
    >>> masks = np.array([[[1, 1], [0, 0]], [[0, 0], [0, 0]]], bool)
    >>> am.seg_f1(maps, masks, 0.5)
    0.8
    >>> am.seg_f1(maps, masks, 0.5, average="per_image")
    0.5
    >>> am.seg_f1(maps >= 0.65, masks)
    0.5
    """
    if average not in ("pooled", "per_image"):
        raise ValueError(f"`average` must be 'pooled' or 'per_image', got {average!r}.")
    binary = threshold is None
    if binary:
        pred = check_labels(anomaly_maps, "anomaly_maps")
        m = check_labels(masks, "masks")
        pred_f, gt = check_maps_and_masks(pred, m)
        t = 0.0
    else:
        t = check_real(threshold, "threshold")
        pred_f, gt = check_maps_and_masks(anomaly_maps, masks)
    n = pred_f.shape[0]
    counts = _image_counts_kernel(pred_f.reshape(n, -1), gt.reshape(n, -1), t, binary)
    if average == "pooled":
        tp, fp, fn = (int(v) for v in counts.sum(axis=0))
        if tp + fp + fn == 0:
            warn_undefined("No defect pixel and no predicted pixel: SegF1 is undefined (nan).")
            return float("nan")
        return 2.0 * tp / (2 * tp + fp + fn)
    tp, fp, fn = counts[:, 0], counts[:, 1], counts[:, 2]
    denom = 2 * tp + fp + fn
    f1 = np.where(denom > 0, 2.0 * tp / np.maximum(denom, 1), 1.0)
    return float(f1.mean())


def _normal_scores(normal_scores: Any) -> NDArray[Any]:
    return _check_scores(normal_scores, "normal_scores").reshape(-1)


def threshold_mean_std(normal_scores: Any, k: float = 3.0) -> ThresholdChoice:
    """Threshold ``mean + k * std`` of the scores of normal validation data (MVTec AD 2 baseline).

    Parameters
    ----------
    normal_scores : array-like of any shape
        Scores of normal data only, e.g. the anomaly maps of the normal validation images
        (every pixel counts); finite.
    k : float, default 3.0
        Number of standard deviations above the mean.

    Returns
    -------
    ThresholdChoice
        ``threshold``, ``rule="mean_std"``, ``params={"k", "mean", "std"}`` (float64; the
        population standard deviation, ``ddof=0``).

    Raises
    ------
    TypeError, ValueError
        Non-numeric, empty or non-finite scores; a non-finite `k`.

    Examples
    --------
    >>> import anomaly_metrics as am
    >>> am.threshold_mean_std([1.0, 2.0, 3.0, 2.0], k=2)
    ThresholdChoice(threshold=3.414213562373095, rule='mean_std', params={'k': 2.0, 'mean': 2.0, 'std': 0.7071067811865476})
    """
    kk = check_real(k, "k")
    s = _normal_scores(normal_scores)
    mean = float(np.mean(s, dtype=np.float64))
    std = float(np.std(s, dtype=np.float64))
    return ThresholdChoice(mean + kk * std, "mean_std", {"k": kk, "mean": mean, "std": std})


def threshold_percentile(normal_scores: Any, q: float = 99.0) -> ThresholdChoice:
    """Threshold at the `q`-th percentile of the scores of normal validation data.

    Parameters
    ----------
    normal_scores : array-like of any shape
        Scores of normal data only; finite.
    q : float in [0, 100], default 99.0
        The percentile, NumPy's default linear interpolation between order statistics
        (``np.percentile`` in float64).

    Returns
    -------
    ThresholdChoice
        ``threshold``, ``rule="percentile"``, ``params={"q": q}``.

    Raises
    ------
    TypeError, ValueError
        Bad scores; `q` outside [0, 100].

    See Also
    --------
    threshold_max_fpr : the lowest threshold whose false positive rate stays within a bound.

    Examples
    --------
    >>> import anomaly_metrics as am
    >>> am.threshold_percentile([0.0, 1.0, 2.0, 3.0, 4.0], q=50)
    ThresholdChoice(threshold=2.0, rule='percentile', params={'q': 50.0})
    """
    qq = check_real(q, "q")
    if not 0.0 <= qq <= 100.0:
        raise ValueError(f"`q` must be in [0, 100], got {qq}.")
    s = _normal_scores(normal_scores).astype(np.float64)
    return ThresholdChoice(float(np.percentile(s, qq)), "percentile", {"q": qq})


def threshold_max_fpr(normal_scores: Any, max_fpr: float = 0.01) -> ThresholdChoice:
    """The lowest threshold whose false positive rate on normal data is at most `max_fpr`.

    Parameters
    ----------
    normal_scores : array-like of any shape
        Scores of normal data only; finite.
    max_fpr : float in [0, 1], default 0.01
        Largest allowed share of normal scores with ``score >= threshold``.

    Returns
    -------
    ThresholdChoice
        ``threshold``, ``rule="max_fpr"``, ``params={"max_fpr", "fpr"}`` where ``fpr`` is the
        share actually reached. The threshold is a normal score (the lowest distinct score
        with at most ``floor(max_fpr * n)`` scores at or above it), or the next float64 above
        the highest score when even that one is too frequent (then ``fpr`` is 0).

    Raises
    ------
    TypeError, ValueError
        Bad scores; `max_fpr` outside [0, 1].

    Examples
    --------
    >>> import anomaly_metrics as am
    >>> am.threshold_max_fpr([0.1, 0.2, 0.3, 0.4, 0.4], max_fpr=0.4)
    ThresholdChoice(threshold=0.4, rule='max_fpr', params={'max_fpr': 0.4, 'fpr': 0.4})
    >>> am.threshold_max_fpr([0.1, 0.2, 0.3, 0.4, 0.4], max_fpr=0.3).threshold > 0.4
    True
    """
    limit = check_fraction(max_fpr, "max_fpr")
    s = _normal_scores(normal_scores)
    n = s.size
    allowed = math.floor(limit * n)
    u, counts = np.unique(s.astype(np.float64), return_counts=True)
    at_least = np.cumsum(counts[::-1])[::-1]  # scores >= u[j]
    ok = np.flatnonzero(at_least <= allowed)
    if ok.size:
        j = int(ok[0])
        t, fpr = float(u[j]), float(at_least[j]) / n
    else:
        t, fpr = float(np.nextafter(u[-1], np.inf)), 0.0
    return ThresholdChoice(t, "max_fpr", {"max_fpr": limit, "fpr": fpr})


def threshold_f1_max(scores: Any, labels: Any) -> ThresholdChoice:
    """The F1-maximising threshold on a labelled validation set (pixels or images).

    Parameters
    ----------
    scores : array-like of any shape
        Validation scores (e.g. anomaly maps), finite.
    labels : array-like, same shape
        Their ground truth (1 / True anomalous).

    Returns
    -------
    ThresholdChoice
        ``threshold`` (the lowest one attaining the maximum, a score value), ``rule="f1_max"``,
        ``params={"f1": the maximum}``. Both nan when a class is missing.

    Raises
    ------
    TypeError, ValueError
        As :func:`f1_max`.

    Warns
    -----
    UndefinedMetricWarning
        Only one class in `labels`.

    Examples
    --------
    >>> import anomaly_metrics as am
    >>> am.threshold_f1_max([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])
    ThresholdChoice(threshold=0.35, rule='f1_max', params={'f1': 0.8})
    """
    f1, t = _f1_max_batches([scores], [labels])
    return ThresholdChoice(t, "f1_max", {"f1": f1})
