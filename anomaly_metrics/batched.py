"""Metrics over a sequence of batches, treated as their concatenation and never concatenated.

A stateful evaluator (the torch adapter's metric classes, an out-of-core loop, a data loader)
holds its data as the batches it received. Each function here takes those batches as they are
and returns exactly what the function of the same name in :mod:`anomaly_metrics` returns on
their concatenation: the same float, bit for bit, with the same warnings and errors, without
copying the stored scores or maps into one array. The public function of the same name is the
one-batch case. Batches of segmentation metrics must have the same image size (``(B, H, W)``
or ``(B, 1, H, W)``); score batches may have any shapes (they are flattened).

This is the contract between the core and its adapters: an adapter converts its state to lists
of NumPy arrays and calls these functions, and checks its constructor arguments with the
``check_*`` functions below, so that both layers give the same messages.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ._f1 import _f1_adaptive_threshold_batches, _f1_max_batches, _f1_score_batches
from ._pimo import (
    AupimoResult,
    PimoCurves,
    _aupimo_batches,
    _check_fpr_bounds,
    _check_num_thresholds,
    _pimo_curves_batches,
)
from ._pro import _aupro_batches, _pro_batches
from ._ranking import _aupr_batches, _auroc_batches
from ._validation import check_fraction as _check_fraction
from ._validation import check_real as _check_real

__all__ = [
    "aupimo",
    "aupr",
    "aupro",
    "auroc",
    "check_fpr_bounds",
    "check_fraction",
    "check_num_thresholds",
    "check_real",
    "f1_adaptive_threshold",
    "f1_max",
    "f1_score",
    "pimo_curves",
    "pro",
]


def auroc(scores: Sequence[Any], labels: Sequence[Any], *, max_fpr: float | None = None) -> float:
    """:func:`anomaly_metrics.auroc` of the concatenation of batches of scores and labels.

    Parameters
    ----------
    scores, labels : sequence of array-like
        Batches of scores and of labels (bool, or numbers all 0 or 1); batch ``b`` of `scores`
        and of `labels` have the same shape (any shape: flattened).
    max_fpr : float in (0, 1], optional
        As in :func:`anomaly_metrics.auroc`.

    Returns
    -------
    float
        ``anomaly_metrics.auroc(concatenated scores, concatenated labels)``, bit for bit.

    Examples
    --------
    >>> import numpy as np
    >>> from anomaly_metrics import batched
    >>> batched.auroc([np.array([0.1, 0.9]), np.array([0.4])], [np.array([0, 1]), np.array([1])])
    1.0
    """
    return _auroc_batches(scores, labels, max_fpr=max_fpr)


def aupr(scores: Sequence[Any], labels: Sequence[Any]) -> float:
    """:func:`anomaly_metrics.aupr` of the concatenation of batches (see :func:`auroc`).

    Examples
    --------
    >>> from anomaly_metrics import batched
    >>> batched.aupr([[0.1, 0.9], [0.4, 0.3]], [[0, 1], [1, 0]])
    1.0
    """
    return _aupr_batches(scores, labels)


def f1_score(scores: Sequence[Any], labels: Sequence[Any], threshold: float = 0.5) -> float:
    """:func:`anomaly_metrics.f1_score` of the concatenation of batches (positive: ``>= threshold``).

    Examples
    --------
    >>> from anomaly_metrics import batched
    >>> batched.f1_score([[0.1, 0.9], [0.4]], [[0, 1], [1]], threshold=0.5)
    0.6666666666666666
    """
    return _f1_score_batches(scores, labels, threshold)


def f1_max(scores: Sequence[Any], labels: Sequence[Any]) -> tuple[float, float]:
    """The best F1 over all thresholds and the lowest threshold that attains it.

    :func:`anomaly_metrics.f1_max` of the concatenation of batches, together with its threshold
    (both ``nan``, with one :class:`~anomaly_metrics.UndefinedMetricWarning`, when a class is
    missing).

    Returns
    -------
    tuple of float
        ``(f1_max, threshold)``.

    Examples
    --------
    >>> from anomaly_metrics import batched
    >>> batched.f1_max([[0.1, 0.9], [0.4, 0.3]], [[0, 1], [1, 0]])
    (1.0, 0.4)
    """
    return _f1_max_batches(scores, labels)


def f1_adaptive_threshold(scores: Sequence[Any], labels: Sequence[Any]) -> float:
    """:func:`anomaly_metrics.f1_adaptive_threshold` of the concatenation of batches.

    Examples
    --------
    >>> from anomaly_metrics import batched
    >>> batched.f1_adaptive_threshold([[0.1, 0.9], [0.4, 0.3]], [[0, 1], [1, 0]])
    0.4
    """
    return _f1_adaptive_threshold_batches(scores, labels)


def pro(anomaly_maps: Sequence[Any], masks: Sequence[Any], threshold: float = 0.5) -> float:
    """:func:`anomaly_metrics.pro` of the concatenation of batches of maps and masks.

    Parameters
    ----------
    anomaly_maps, masks : sequence of array-like
        Batches ``(B, H, W)`` or ``(B, 1, H, W)`` of the same image size; masks bool or 0/1.
    threshold : float, default 0.5
        A pixel is positive iff ``score >= threshold``.

    Examples
    --------
    >>> import numpy as np
    >>> from anomaly_metrics import batched
    >>> maps = [np.full((1, 4, 4), 0.2), np.full((2, 4, 4), 0.7)]
    >>> masks = [np.zeros((1, 4, 4), bool), np.ones((2, 4, 4), bool)]
    >>> batched.pro(maps, masks, threshold=0.5)
    1.0
    """
    return _pro_batches(anomaly_maps, masks, threshold=threshold)


def aupro(anomaly_maps: Sequence[Any], masks: Sequence[Any], *, fpr_limit: float = 0.3) -> float:
    """:func:`anomaly_metrics.aupro` of the concatenation of batches (see :func:`pro`).

    Examples
    --------
    >>> import numpy as np
    >>> from anomaly_metrics import batched
    >>> masks = np.zeros((2, 8, 8), bool)
    >>> masks[1, 2:5, 2:5] = True
    >>> maps = np.where(masks, 0.9, 0.1) + np.linspace(0, 0.01, 64).reshape(8, 8)
    >>> batched.aupro([maps[:1], maps[1:]], [masks[:1], masks[1:]]) == batched.aupro([maps], [masks])
    True
    """
    return _aupro_batches(anomaly_maps, masks, fpr_limit=fpr_limit)


def pimo_curves(
    anomaly_maps: Sequence[Any], masks: Sequence[Any], *, num_thresholds: int | None = 300_000
) -> PimoCurves:
    """:func:`anomaly_metrics.pimo_curves` of the concatenation of batches (see :func:`pro`).

    Examples
    --------
    >>> import numpy as np
    >>> from anomaly_metrics import batched
    >>> rng = np.random.default_rng(0)
    >>> maps = rng.random((4, 16, 16))
    >>> masks = np.zeros(maps.shape, bool)
    >>> masks[2:, 4:8, 4:8] = True
    >>> curves = batched.pimo_curves([maps[:3], maps[3:]], [masks[:3], masks[3:]], num_thresholds=None)
    >>> curves.image_classes.tolist()
    [0, 0, 1, 1]
    """
    return _pimo_curves_batches(anomaly_maps, masks, num_thresholds=num_thresholds)


def aupimo(
    anomaly_maps: Sequence[Any],
    masks: Sequence[Any],
    *,
    fpr_bounds: tuple[float, float] = (1e-5, 1e-4),
    num_thresholds: int | None = 300_000,
    force: bool = False,
) -> AupimoResult:
    """:func:`anomaly_metrics.aupimo` of the concatenation of batches (see :func:`pro`).

    Examples
    --------
    >>> import numpy as np
    >>> from anomaly_metrics import batched
    >>> rng = np.random.default_rng(0)
    >>> maps = rng.random((4, 32, 32))
    >>> masks = np.zeros(maps.shape, bool)
    >>> masks[2:, 4:12, 4:12] = True
    >>> maps[masks] += 0.5
    >>> r = batched.aupimo([maps[:1], maps[1:]], [masks[:1], masks[1:]],
    ...                    fpr_bounds=(1e-2, 1e-1), num_thresholds=None)
    >>> r.image_classes.tolist(), round(r.mean, 3)
    ([0, 0, 1, 1], 0.539)
    """
    return _aupimo_batches(
        anomaly_maps, masks, fpr_bounds=fpr_bounds, num_thresholds=num_thresholds, force=force
    )


def check_real(value: Any, name: str) -> float:
    """`value` as a finite float, or the library's ``TypeError`` / ``ValueError`` naming `name`.

    Examples
    --------
    >>> from anomaly_metrics import batched
    >>> batched.check_real(1, "threshold")
    1.0
    """
    return _check_real(value, name)


def check_fraction(value: Any, name: str) -> float:
    """`value` as a float in [0, 1], or the library's error naming `name`.

    Examples
    --------
    >>> from anomaly_metrics import batched
    >>> batched.check_fraction(0.05, "fnr")
    0.05
    """
    return _check_fraction(value, name)


def check_fpr_bounds(fpr_bounds: Any) -> tuple[float, float]:
    """AUPIMO's ``fpr_bounds`` checked as :func:`anomaly_metrics.aupimo` checks them.

    Examples
    --------
    >>> from anomaly_metrics import batched
    >>> batched.check_fpr_bounds((1e-5, 1e-4))
    (1e-05, 0.0001)
    """
    return _check_fpr_bounds(fpr_bounds)


def check_num_thresholds(num_thresholds: Any) -> int | None:
    """PIMO's ``num_thresholds`` (``None``: exact) checked as :func:`anomaly_metrics.aupimo` does.

    Examples
    --------
    >>> from anomaly_metrics import batched
    >>> batched.check_num_thresholds(1000), batched.check_num_thresholds(None)
    (1000, None)
    """
    return _check_num_thresholds(num_thresholds)
