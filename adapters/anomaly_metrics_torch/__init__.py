"""anomaly_metrics_torch: drop-in ``anomalib.metrics`` classes computed exactly by anomaly_metrics.

Change ``from anomalib.metrics import AUROC, F1Max, Evaluator`` to
``from anomaly_metrics_torch import AUROC, F1Max, Evaluator``: the same names, constructor
arguments and batch fields, with exact results. Every class is a thin ``torchmetrics.Metric``:
its states hold the inputs as given (scores in their dtype, masks as bool), and ``compute``
makes one call into the ``anomaly_metrics`` core and returns a tensor on the metric's device.
CPU and CUDA tensors are accepted; distributed runs sync through torchmetrics.

Deliberate differences from anomalib: no sigmoid is ever applied to scores; metrics undefined
for the data (one class, no defect region) are nan with
``anomaly_metrics.UndefinedMetricWarning``; thresholds mean ``score >= threshold``; PGn/PBn keep
the prefix; AnomalyScoreDistribution.reset() clears its data; AUPIMO's image classes are 1 for
anomalous images; results are float64.

``Evaluator`` needs Lightning (``pip install 'anomaly-metrics[lightning]'``) and is imported on
first use.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import torch
import torchmetrics

import anomaly_metrics as am

from ._base import AnomalibMetric, create_anomalib_metric
from ._classification import (
    AUPR,
    AUROC,
    BinaryPrecisionRecallCurve,
    F1AdaptiveThreshold,
    F1Max,
    F1Score,
    ManualThreshold,
    PBn,
    PGn,
)
from ._segmentation import AUPIMO, AUPRO, PIMO, PRO, AUPIMOResult, PIMOResult
from ._statistics import AnomalyScoreDistribution, MinMax

if TYPE_CHECKING:
    from .evaluator import Evaluator

# a warning from the core names the user's line, not ours or torchmetrics' compute wrapper
am.register_wrapper_dirs(
    os.path.dirname(__file__),
    os.path.dirname(torch.__file__),
    os.path.dirname(torchmetrics.__file__),
)

__all__ = [
    "AUPIMO",
    "AUPR",
    "AUPRO",
    "AUROC",
    "PIMO",
    "PRO",
    "AUPIMOResult",
    "AnomalibMetric",
    "AnomalyScoreDistribution",
    "BinaryPrecisionRecallCurve",
    "Evaluator",
    "F1AdaptiveThreshold",
    "F1Max",
    "F1Score",
    "ManualThreshold",
    "MinMax",
    "PBn",
    "PGn",
    "PIMOResult",
    "create_anomalib_metric",
]


def __getattr__(name: str) -> Any:
    if name == "Evaluator":  # Lightning is an optional extra: import it on first use
        from .evaluator import Evaluator

        return Evaluator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
