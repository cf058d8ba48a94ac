"""anomaly-metrics: exact and fast evaluation metrics for visual anomaly detection.

Stateless functions over NumPy arrays; hot loops are Numba kernels compiled on first use and
cached on disk. Positive means ``score >= threshold``; undefined metrics are ``nan`` with an
:class:`UndefinedMetricWarning`; bad input raises ``TypeError`` / ``ValueError``.
"""

from ._components import connected_components
from ._curves import PrecisionRecallCurve, RocCurve, precision_recall_curve, roc_curve
from ._distribution import ScoreDistribution, score_distribution
from ._f1 import f1_adaptive_threshold, f1_max, f1_score
from ._integrate import auc
from ._normalization import MinMax, min_max, normalize_min_max
from ._pimo import AupimoResult, PimoCurves, aupimo, pimo_curves
from ._presorted import pbn, pgn
from ._pro import ProCurve, aupro, pro, pro_curve
from ._ranking import aupr, auroc
from ._warnings import UndefinedMetricWarning
from .compare import (
    BootstrapCI,
    ModelComparison,
    PairwiseTest,
    PerImageStats,
    bootstrap_ci,
    compare_models,
    per_image_stats,
)

__version__ = "0.1.0"

__all__ = [
    # result types
    "AupimoResult",
    "BootstrapCI",
    "MinMax",
    "ModelComparison",
    "PairwiseTest",
    "PerImageStats",
    "PimoCurves",
    "PrecisionRecallCurve",
    "ProCurve",
    "RocCurve",
    "ScoreDistribution",
    # warnings
    "UndefinedMetricWarning",
    # curves and areas
    "auc",
    "aupimo",
    "aupr",
    "aupro",
    "auroc",
    "bootstrap_ci",
    "compare_models",
    "connected_components",
    # thresholds and F1
    "f1_adaptive_threshold",
    "f1_max",
    "f1_score",
    # normalisation and statistics
    "min_max",
    "normalize_min_max",
    # presorted good / bad
    "pbn",
    "per_image_stats",
    "pgn",
    "pimo_curves",
    "precision_recall_curve",
    "pro",
    "pro_curve",
    "roc_curve",
    "score_distribution",
]
