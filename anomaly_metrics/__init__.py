"""anomaly-metrics: exact and fast evaluation metrics for visual anomaly detection.

Stateless functions over NumPy arrays; hot loops are Numba kernels compiled on first use and
cached on disk. Positive means ``score >= threshold``; undefined metrics are ``nan`` with an
:class:`UndefinedMetricWarning`; bad input raises ``TypeError`` / ``ValueError``.
"""

from ._components import connected_components
from ._counts import (
    PrecisionRecallCurve,
    RocCurve,
    ThresholdCounts,
    counts_at_thresholds,
    precision_recall_curve,
    roc_curve,
)
from ._distribution import ScoreDistribution, score_distribution
from ._evaluate import evaluate
from ._f1 import f1_adaptive_threshold, f1_max, f1_score
from ._histogram import (
    BoundedAupimo,
    BoundedThreshold,
    BoundedValue,
    PimoHistogram,
    ProHistogram,
    aupimo_from_histogram,
    aupr_from_histogram,
    aupro_from_histogram,
    auroc_from_histogram,
    bin_lower_edges,
    f1_adaptive_threshold_from_histogram,
    f1_max_from_histogram,
    merge_histograms,
    pimo_histogram,
    pro_histogram,
    ranking_histogram,
    score_bins,
)
from ._integrate import auc
from ._normalization import MinMax, min_max, normalize_min_max
from ._parallel import get_num_threads, set_num_threads, threads
from ._pgn_pbn import pbn, pgn
from ._pimo import AupimoResult, PimoCurves, aupimo, pimo_curves
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
    "BoundedAupimo",
    "BoundedThreshold",
    "BoundedValue",
    "MinMax",
    "ModelComparison",
    "PairwiseTest",
    "PerImageStats",
    "PimoCurves",
    "PimoHistogram",
    "PrecisionRecallCurve",
    "ProCurve",
    "ProHistogram",
    "RocCurve",
    "ScoreDistribution",
    "ThresholdCounts",
    # warnings
    "UndefinedMetricWarning",
    # curves and areas
    "auc",
    "aupimo",
    "aupimo_from_histogram",
    "aupr",
    "aupr_from_histogram",
    "aupro",
    "aupro_from_histogram",
    "auroc",
    "auroc_from_histogram",
    "bin_lower_edges",
    "bootstrap_ci",
    "compare_models",
    "connected_components",
    "counts_at_thresholds",
    # everything at once
    "evaluate",
    # thresholds and F1
    "f1_adaptive_threshold",
    "f1_adaptive_threshold_from_histogram",
    "f1_max",
    "f1_max_from_histogram",
    "f1_score",
    "get_num_threads",
    "merge_histograms",
    # normalisation and statistics
    "min_max",
    "normalize_min_max",
    # presorted good / bad
    "pbn",
    "per_image_stats",
    "pgn",
    "pimo_curves",
    "pimo_histogram",
    "precision_recall_curve",
    "pro",
    "pro_curve",
    "pro_histogram",
    "ranking_histogram",
    "roc_curve",
    "score_bins",
    "score_distribution",
    "set_num_threads",
    "threads",
]
