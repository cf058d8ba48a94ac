"""PGn and PBn (anomalib's ``anomalib.metrics.pg_pb``)."""

from __future__ import annotations

from typing import Any

from torch import Tensor

import anomaly_metrics as am
from anomaly_metrics import batched

from ._base import AnomalibMetric
from ._classification import _PairMetric
from ._dtype import result

__all__ = ["PBn", "PGn", "_PBn", "_PGn"]


class _PGn(_PairMetric):
    def __init__(self, fnr: float = 0.05, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fnr = batched.check_fraction(fnr, "fnr")
        self.name = getattr(self, "prefix", "") + "PG" + str(int(self.fnr * 100))

    def compute(self) -> Tensor:
        return result(am.pgn(*self._arrays(), fnr=self.fnr), self.device)


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
        return result(am.pbn(*self._arrays(), fpr=self.fpr), self.device)


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
