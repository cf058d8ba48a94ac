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
anomalous images. Results are float32 where anomalib's are (computed in float64, rounded at the
end); ``set_result_dtype(torch.float64)`` keeps every digit.

The module tree mirrors ``anomalib.metrics``: ``anomaly_metrics_torch.auroc._AUROC``,
``anomaly_metrics_torch.pimo.functional.aupimo_scores``, ``anomaly_metrics_torch.threshold.Threshold``
and the other public names of anomalib 2.7.0 import from the same path.

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
from ._dtype import get_result_dtype, result_dtype, set_result_dtype
from .anomaly_score_distribution import AnomalyScoreDistribution
from .aupr import AUPR
from .aupro import AUPRO
from .auroc import AUROC
from .f1_score import F1Max, F1Score
from .min_max import MinMax
from .pg_pb import PBn, PGn
from .pimo import AUPIMO, PIMO, AUPIMOResult, PIMOResult
from .precision_recall_curve import BinaryPrecisionRecallCurve
from .pro import PRO
from .threshold import F1AdaptiveThreshold, ManualThreshold

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
    "get_result_dtype",
    "result_dtype",
    "set_result_dtype",
]


def __getattr__(name: str) -> Any:
    if name == "Evaluator":  # Lightning is an optional extra: import it on first use
        from .evaluator import Evaluator

        return Evaluator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
