"""Score-level metrics: AUROC, AUPR, PR curve, F1 (fixed, max, adaptive), thresholds, PGn/PBn.

Each private ``_Name(Metric)`` holds the states and the one call into the core; the public
``Name(AnomalibMetric, _Name)`` adds anomalib's batch fields. Inputs are kept as given in
``"cat"`` list states (scores in their dtype, labels as bool) and every compute is exact; with
the opt-in ``bins=`` (AUROC, AUPR, F1Max, F1AdaptiveThreshold) the state is a summed histogram
instead (see ``_binned``).
"""

from __future__ import annotations

import math
from typing import Any, Literal

import torch
from torch import Tensor
from torchmetrics import Metric

import anomaly_metrics as am
from anomaly_metrics import batched

from ._base import AnomalibMetric
from ._binned import add_binned_states, check_bins, histogram_of, update_binned
from ._checks import as_scores_and_labels
from ._convert import state_pairs, state_to_numpy, to_result
from ._figures import pair_figure
from ._sync import SyncedMetric

__all__ = [
    "AUPR",
    "AUROC",
    "BinaryPrecisionRecallCurve",
    "F1AdaptiveThreshold",
    "F1Max",
    "F1Score",
    "ManualThreshold",
    "PBn",
    "PGn",
]


def _exact_mode(thresholds: Any, ignore_index: Any, normalization: Any = None) -> int | None:
    """Check torchmetrics' curve options; only the exact mode exists here. Returns ignore_index."""
    if thresholds is not None:
        raise ValueError(
            f"`thresholds` must be None (exact: every distinct score is a threshold), got "
            f"{thresholds!r}: binned thresholds are not implemented by anomaly_metrics_torch."
        )
    if normalization not in (None, "sigmoid"):
        raise ValueError(
            f"`normalization` must be None or 'sigmoid', got {normalization!r} (scores are "
            "never transformed)."
        )
    if ignore_index is not None and (
        isinstance(ignore_index, bool) or not isinstance(ignore_index, int)
    ):
        raise TypeError(f"`ignore_index` must be None or an int, got {ignore_index!r}.")
    return ignore_index


class _PairMetric(SyncedMetric):
    """States ``preds`` (flat, dtype as given) and ``target`` (flat bool), both ``"cat"``.

    With ``bins`` (classes whose ``_binnable`` is True): one ``histogram`` state instead, int64
    ``(2, 2**bins)``, summed across processes.
    """

    is_differentiable = False
    higher_is_better: bool | None = True
    full_state_update = False
    _binnable = False
    preds: list[Tensor]
    target: list[Tensor]

    def __init__(
        self, ignore_index: int | None = None, bins: int | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.ignore_index = ignore_index
        self.bins = check_bins(bins, type(self).__name__, self._binnable)
        if self.bins is not None:
            add_binned_states(self, "ranking", self.bins)
            return
        self.add_state("preds", default=[], dist_reduce_fx="cat")
        self.add_state("target", default=[], dist_reduce_fx="cat")

    def update(self, preds: Tensor, target: Tensor) -> None:
        """Append a batch of scores and 0/1 labels (any matching shapes; flattened)."""
        p, t = as_scores_and_labels(preds, target, ignore_index=self.ignore_index)
        if self.bins is not None:
            update_binned(self, "ranking", self.bins, p, t)
            return
        self.preds.append(p)
        self.target.append(t)

    def _finalise_binned(self, finalise: Any) -> Any:
        """Finalise the histogram state; keep the certified bound in ``error_bound``."""
        value, bound = finalise(histogram_of(self, "ranking"))
        self.error_bound = to_result(bound, self.device)
        return value

    def _arrays(self) -> tuple[Any, Any]:
        return state_to_numpy(self.preds), state_to_numpy(self.target)

    def _batches(self) -> tuple[list[Any], list[Any]]:
        """Scores and labels as lists of per-update arrays (see ``state_pairs``)."""
        return state_pairs(self.preds, self.target)


class _AUROC(_PairMetric):
    _binnable = True

    def __init__(
        self,
        thresholds: None = None,
        ignore_index: int | None = None,
        validate_args: bool = True,
        normalization: Literal["sigmoid"] | None = None,
        bins: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(_exact_mode(thresholds, ignore_index, normalization), bins, **kwargs)

    def compute(self) -> Tensor:
        if self.bins is not None:
            return to_result(self._finalise_binned(am.auroc_from_histogram), self.device)
        return to_result(batched.auroc(*self._batches()), self.device)


class AUROC(AnomalibMetric, _AUROC):
    """Area under the ROC curve, exact (anomalib's ``AUROC``).

    Parameters
    ----------
    fields, prefix, strict
        See :class:`AnomalibMetric`; `fields` is required, e.g. ``["pred_score", "gt_label"]``
        or ``["anomaly_map", "gt_mask"]`` (pixel AUROC; any shapes are flattened).
    thresholds : None
        Only the exact mode exists; anything else raises ValueError.
    ignore_index : int, optional
        Samples whose target equals it are dropped.
    validate_args : bool
        Accepted for compatibility; inputs are always checked.
    normalization : {None, "sigmoid"}
        Accepted for compatibility and ignored: scores are never transformed.
    bins : int in [1, 24], optional
        Streaming mode: keep a ``(2, 2**bins)`` int64 histogram of the scores'
        float32 bit patterns (:func:`anomaly_metrics.ranking_histogram`, state summed across
        processes) instead of every score, and finalise with its certified error bound.
        None (the default) is exact. 20 is a good choice (16 MiB of state).
    **kwargs
        torchmetrics ``Metric`` options (``compute_on_cpu``, ``dist_sync_on_step``, ...).

    Attributes
    ----------
    error_bound : Tensor
        Binned mode, after ``compute()``: a bound on ``|value - exact value|``.

    Notes
    -----
    ``compute()`` returns a float64 0-d tensor on the metric's device: nan (with
    ``anomaly_metrics.UndefinedMetricWarning``) when a class is missing, where anomalib returns
    0. No sigmoid is applied to any batch.

    Examples
    --------
    >>> import torch
    >>> from anomaly_metrics_torch import AUROC
    >>> auroc = AUROC(fields=["pred_score", "gt_label"])
    >>> auroc.update({"pred_score": torch.tensor([0.1, 0.5]), "gt_label": torch.tensor([0, 0])})
    >>> auroc.update({"pred_score": torch.tensor([0.5, 0.9]), "gt_label": torch.tensor([1, 1])})
    >>> float(auroc.compute())
    0.875
    """

    def generate_figure(self) -> tuple[Any, str]:
        """``(figure, "ROC")``: the ROC curve of the data so far, AUROC in the legend.

        Drawn by :func:`anomaly_metrics.plotting.plot_roc` (needs the ``plot`` extra).
        """
        return pair_figure(self, "ROC")


class _AUPR(_AUROC):
    def compute(self) -> Tensor:
        if self.bins is not None:
            return to_result(self._finalise_binned(am.aupr_from_histogram), self.device)
        return to_result(batched.aupr(*self._batches()), self.device)


class AUPR(AnomalibMetric, _AUPR):
    """Area under the precision-recall curve as step-wise average precision (anomalib 2.7).

    Parameters (``bins`` included) and the ``error_bound`` attribute are those of
    :class:`AUROC`.

    Notes
    -----
    nan (with ``UndefinedMetricWarning``) without positive samples, where anomalib returns -0.0.
    No sigmoid is applied to any batch.

    Examples
    --------
    >>> import torch
    >>> from anomaly_metrics_torch import AUPR
    >>> aupr = AUPR(fields=["pred_score", "gt_label"])
    >>> batch = {"pred_score": torch.tensor([0.1, 0.5, 0.5, 0.9]), "gt_label": torch.tensor([0, 0, 1, 1])}
    >>> aupr.update(batch)
    >>> round(float(aupr.compute()), 6)
    0.833333
    """

    def generate_figure(self) -> tuple[Any, str]:
        """``(figure, "PR")``: the precision-recall curve of the data so far, AUPR in the legend.

        Drawn by :func:`anomaly_metrics.plotting.plot_pr` (needs the ``plot`` extra).
        """
        return pair_figure(self, "PR")


class BinaryPrecisionRecallCurve(_AUROC):
    """Precision-recall curve without a sigmoid (anomalib's variant of the torchmetrics class).

    Not an :class:`AnomalibMetric`: ``update(preds, target)`` takes tensors.

    Parameters
    ----------
    thresholds, ignore_index, validate_args, normalization, **kwargs
        As :class:`AUROC`.

    Notes
    -----
    ``compute()`` returns ``(precision, recall, thresholds)`` as float64 tensors: thresholds
    are the distinct scores, ascending, in raw score space; precision and recall have one more
    element (the final point precision 1, recall 0). Without positive samples recall is nan
    (with ``UndefinedMetricWarning``), where torchmetrics sets it to 1.

    Examples
    --------
    >>> import torch
    >>> from anomaly_metrics_torch import BinaryPrecisionRecallCurve
    >>> curve = BinaryPrecisionRecallCurve()
    >>> curve.update(torch.tensor([-1.0, 0.5, 2.0, 3.0]), torch.tensor([0, 0, 1, 1]))
    >>> precision, recall, thresholds = curve.compute()
    >>> thresholds.tolist()
    [-1.0, 0.5, 2.0, 3.0]
    >>> recall.tolist()
    [1.0, 1.0, 1.0, 0.5, 0.0]
    """

    higher_is_better = None
    _binnable = False

    def compute(self) -> tuple[Tensor, Tensor, Tensor]:  # type: ignore[override]
        curve = am.precision_recall_curve(*self._arrays())
        return tuple(to_result(x, self.device) for x in curve)  # type: ignore[return-value]


class _F1Score(_PairMetric):
    def __init__(
        self,
        threshold: float = 0.5,
        multidim_average: Literal["global"] = "global",
        ignore_index: int | None = None,
        validate_args: bool = True,
        zero_division: float = 0,
        **kwargs: Any,
    ) -> None:
        if multidim_average != "global":
            raise ValueError(
                f"`multidim_average` must be 'global', got {multidim_average!r}: compute a "
                "per-sample F1 with one metric per sample."
            )
        super().__init__(_exact_mode(None, ignore_index), **kwargs)
        self.threshold = batched.check_real(threshold, "threshold")

    def compute(self) -> Tensor:
        return to_result(batched.f1_score(*self._batches(), self.threshold), self.device)


class F1Score(AnomalibMetric, _F1Score):
    """F1 score of ``score >= threshold`` (anomalib's ``F1Score``, torchmetrics' BinaryF1Score).

    Parameters
    ----------
    fields, prefix, strict
        See :class:`AnomalibMetric`; e.g. ``["pred_label", "gt_label"]`` (bool predictions
        count as 0 / 1) or ``["pred_score", "gt_label"]``.
    threshold : float, default 0.5
        A score is predicted anomalous iff ``float64(score) >= float64(threshold)``.
    multidim_average : {"global"}
        Only "global".
    ignore_index : int, optional
        Samples whose target equals it are dropped.
    validate_args : bool
        Accepted for compatibility; inputs are always checked.
    zero_division : float
        Accepted for compatibility; without positive samples the result is nan (with
        ``UndefinedMetricWarning``).
    **kwargs
        torchmetrics ``Metric`` options.

    Notes
    -----
    Differs from anomalib on purpose: ``>=`` instead of ``>``, and no sigmoid for batches with
    scores outside [0, 1].

    Examples
    --------
    >>> import torch
    >>> from anomaly_metrics_torch import F1Score
    >>> f1 = F1Score(fields=["pred_score", "gt_label"])
    >>> f1.update({"pred_score": torch.tensor([0.2, 0.5, 0.7]), "gt_label": torch.tensor([0, 1, 1])})
    >>> float(f1.compute())
    1.0
    """


class _F1Max(_PairMetric):
    threshold: Tensor
    _binnable = True

    def __init__(self, bins: int | None = None, **kwargs: Any) -> None:
        super().__init__(bins=bins, **kwargs)

    def compute(self) -> Tensor:
        if self.bins is not None:
            value = self._finalise_binned(am.f1_max_from_histogram)
            threshold = math.nan
            if not math.isnan(value):
                h = histogram_of(self, "ranking")
                threshold = am.f1_adaptive_threshold_from_histogram(h).threshold
            self.threshold = to_result(threshold, self.device)
            return to_result(value, self.device)
        value, threshold = batched.f1_max(*self._batches())
        self.threshold = to_result(threshold, self.device)
        return to_result(value, self.device)


class F1Max(AnomalibMetric, _F1Max):
    """Maximum F1 score over all thresholds; ``threshold`` holds the score that attains it.

    Parameters
    ----------
    fields, prefix, strict
        See :class:`AnomalibMetric`; `fields` is required.
    bins : int in [1, 24], optional
        Streaming mode, as :class:`AUROC`: the maximum over the bins' lower edges (an F1 the
        `threshold` attains), never above the exact maximum, by at most ``error_bound``.
    **kwargs
        torchmetrics ``Metric`` options.

    Attributes
    ----------
    threshold : Tensor
        After ``compute()``: the lowest threshold attaining the maximum (float64, raw score
        space, positive means ``score >= threshold``); nan when the value is nan. Binned mode:
        the lowest bin edge attaining it.
    error_bound : Tensor
        Binned mode, after ``compute()``: a bound on ``exact F1 max - value``.

    Examples
    --------
    >>> import torch
    >>> from anomaly_metrics_torch import F1Max
    >>> f1max = F1Max(fields=["pred_score", "gt_label"])
    >>> f1max.update({"pred_score": torch.tensor([0.1, 0.4, 0.35, 0.8]), "gt_label": torch.tensor([0, 0, 1, 1])})
    >>> float(f1max.compute()), round(float(f1max.threshold), 4)
    (0.8, 0.35)
    """


class _F1AdaptiveThreshold(_AUROC):
    value: Tensor
    higher_is_better = None

    def compute(self) -> Tensor:
        if self.bins is not None:
            t = am.f1_adaptive_threshold_from_histogram(histogram_of(self, "ranking"))
            self.error_bound = to_result(t.f1_error_bound, self.device)
            self.value = to_result(t.threshold, self.device)
            return self.value
        self.value = to_result(batched.f1_adaptive_threshold(*self._batches()), self.device)
        return self.value


class F1AdaptiveThreshold(AnomalibMetric, _F1AdaptiveThreshold):
    """The threshold that maximises F1 (anomalib's ``F1AdaptiveThreshold``), exact.

    Parameters
    ----------
    fields, prefix, strict
        See :class:`AnomalibMetric`; `fields` is required.
    thresholds, ignore_index, validate_args, normalization, **kwargs
        As :class:`AUROC` (exact mode only).
    bins : int in [1, 24], optional
        Streaming mode, as :class:`AUROC`: the lowest bin edge that maximises F1 over the bin
        edges.

    Attributes
    ----------
    value : Tensor
        The last computed threshold (set by every ``compute()``).
    error_bound : Tensor
        Binned mode, after ``compute()``: no threshold gives an F1 more than this above the F1
        of ``value`` (the threshold itself is not bounded; a flat F1 maximum can move).

    Notes
    -----
    Ties go to the lowest threshold. Without anomalous samples the highest score is returned,
    without normal samples the lowest (anomalib's fallbacks), with ``UndefinedMetricWarning``.

    Examples
    --------
    >>> import torch
    >>> from anomaly_metrics_torch import F1AdaptiveThreshold
    >>> threshold = F1AdaptiveThreshold(fields=["pred_score", "gt_label"])
    >>> threshold.update({"pred_score": torch.tensor([2.3, 1.6, 2.6, 7.9, 3.3]), "gt_label": torch.tensor([0, 0, 0, 1, 1])})
    >>> round(float(threshold.compute()), 4)
    3.3
    """


class ManualThreshold(Metric):
    """A fixed threshold, returned by ``compute()`` (anomalib's ``ManualThreshold``).

    Parameters
    ----------
    default_value : float, default 0.5
        The threshold.
    **kwargs
        torchmetrics ``Metric`` options.

    Notes
    -----
    The state ``value`` (float64, saved in the ``state_dict``) reduces with ``max`` across
    processes, so every rank returns the same 0-d tensor; ``update`` ignores its arguments.

    Examples
    --------
    >>> from anomaly_metrics_torch import ManualThreshold
    >>> ManualThreshold(default_value=0.3)()
    tensor(0.3000, dtype=torch.float64)
    """

    is_differentiable = False
    higher_is_better = None
    full_state_update = False
    value: Tensor

    def __init__(self, default_value: float = 0.5, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        value = batched.check_real(default_value, "default_value")
        self.add_state(
            "value",
            default=torch.tensor(value, dtype=torch.float64),
            dist_reduce_fx="max",
            persistent=True,
        )

    def update(self, *args: Any, **kwargs: Any) -> None:
        """Do nothing: the threshold does not depend on data."""

    def compute(self) -> Tensor:
        return self.value


class _PGn(_PairMetric):
    def __init__(self, fnr: float = 0.05, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fnr = batched.check_fraction(fnr, "fnr")
        self.name = getattr(self, "prefix", "") + "PG" + str(int(self.fnr * 100))

    def compute(self) -> Tensor:
        return to_result(am.pgn(*self._arrays(), fnr=self.fnr), self.device)


class PGn(AnomalibMetric, _PGn):
    """PGn: the share of normal images sorted out while missing at most `fnr` of anomalies.

    Parameters
    ----------
    fields, prefix, strict
        See :class:`AnomalibMetric`; `fields` defaults to ``("pred_score", "gt_label")``.
    fnr : float in [0, 1], default 0.05
        Tolerated false negative rate.
    **kwargs
        torchmetrics ``Metric`` options.

    Notes
    -----
    ``name`` is ``prefix + "PG" + str(int(fnr * 100))``, e.g. "image_PG5" (anomalib drops the
    prefix). Works for any size, dtype and device; nan with ``UndefinedMetricWarning`` for one
    class, where anomalib raises.

    Examples
    --------
    >>> import torch
    >>> from anomaly_metrics_torch import PGn
    >>> pg = PGn(fnr=0.2, prefix="image_")
    >>> pg.name
    'image_PG20'
    >>> pg.update({"pred_score": torch.tensor([0.1, 0.4, 0.35, 0.8]), "gt_label": torch.tensor([0, 0, 1, 1])})
    >>> float(pg.compute())
    1.0
    """

    default_fields = ("pred_score", "gt_label")


class _PBn(_PairMetric):
    def __init__(self, fpr: float = 0.05, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fpr = batched.check_fraction(fpr, "fpr")
        self.name = getattr(self, "prefix", "") + "PB" + str(int(self.fpr * 100))

    def compute(self) -> Tensor:
        return to_result(am.pbn(*self._arrays(), fpr=self.fpr), self.device)


class PBn(AnomalibMetric, _PBn):
    """PBn: the share of anomalous images caught while flagging at most `fpr` of normal ones.

    Parameters
    ----------
    fields, prefix, strict
        See :class:`AnomalibMetric`; `fields` defaults to ``("pred_score", "gt_label")``.
    fpr : float in [0, 1], default 0.05
        Tolerated false positive rate.
    **kwargs
        torchmetrics ``Metric`` options.

    Notes
    -----
    ``name`` is ``prefix + "PB" + str(int(fpr * 100))`` (anomalib drops the prefix).

    Examples
    --------
    >>> import torch
    >>> from anomaly_metrics_torch import PBn
    >>> pb = PBn(fpr=0.05)
    >>> pb.name
    'PB5'
    >>> pb.update({"pred_score": torch.tensor([0.1, 0.4, 0.35, 0.8]), "gt_label": torch.tensor([0, 0, 1, 1])})
    >>> float(pb.compute())
    0.5
    """

    default_fields = ("pred_score", "gt_label")
