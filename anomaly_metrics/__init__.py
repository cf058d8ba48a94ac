"""anomaly-metrics: exact and fast evaluation metrics for visual anomaly detection.

Stateless functions over NumPy arrays; hot loops are Numba kernels compiled on first use and
cached on disk. Positive means ``score >= threshold``; undefined metrics are ``nan`` with an
:class:`UndefinedMetricWarning`; bad input raises ``TypeError`` / ``ValueError``.
"""

from . import batched
from ._components import (
    connected_components,
)
from ._curves import (
    PrecisionRecallCurve,
    RocCurve,
    ThresholdCounts,
    counts_at_thresholds,
    precision_recall_curve,
    roc_curve,
)
from ._distribution import (
    ScoreDistribution,
    score_distribution,
)
from ._evaluate import (
    evaluate,
)
from ._f1 import (
    f1_adaptive_threshold,
    f1_max,
    f1_score,
)
from ._groups import (
    GroupedScores,
    group_scores,
)
from ._integrate import (
    auc,
)
from ._normalization import (
    MinMax,
    min_max,
    normalize_min_max,
)
from ._parallel import (
    get_num_threads,
    set_num_threads,
    threads,
)
from ._pgn_pbn import (
    pbn,
    pgn,
)
from ._pimo import (
    AupimoResult,
    PimoCurves,
    aupimo,
    pimo_curves,
)
from ._pro import (
    ProCurve,
    aupro,
    pro,
    pro_curve,
)
from ._ranking import (
    aupr,
    auroc,
)
from ._segf1 import (
    ThresholdChoice,
    seg_f1,
    threshold_f1_max,
    threshold_max_fpr,
    threshold_mean_std,
    threshold_percentile,
)
from ._spro import (
    SproCurve,
    auspro,
    loco_saturation_area,
    loco_saturation_areas,
    spro,
    spro_curve,
)
from ._thresholded import (
    ADER_MAX_THRESHOLDS,
    ADER_MEAN_THRESHOLDS,
    AderPixelMetrics,
    ThresholdedMetrics,
    ader_pixel_metrics,
    iou_max,
    thresholded_metrics,
)
from ._warnings import (
    UndefinedMetricWarning,
    register_wrapper_dirs,
)
from .stats import (
    BootstrapCI,
    ModelComparison,
    PairwiseTest,
    PerImageStats,
    bootstrap_ci,
    compare_models,
    per_image_stats,
)
from .streaming import (
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

__version__ = "0.1.0"

__all__ = [
    "ADER_MAX_THRESHOLDS",
    "ADER_MEAN_THRESHOLDS",
    "AderPixelMetrics",
    "AupimoResult",
    "BootstrapCI",
    "BoundedAupimo",
    "BoundedThreshold",
    "BoundedValue",
    "GroupedScores",
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
    "SproCurve",
    "ThresholdChoice",
    "ThresholdCounts",
    "ThresholdedMetrics",
    "UndefinedMetricWarning",
    "ader_pixel_metrics",
    "auc",
    "aupimo",
    "aupimo_from_histogram",
    "aupr",
    "aupr_from_histogram",
    "aupro",
    "aupro_from_histogram",
    "auroc",
    "auroc_from_histogram",
    "auspro",
    "batched",
    "bin_lower_edges",
    "bootstrap_ci",
    "compare_models",
    "connected_components",
    "counts_at_thresholds",
    "evaluate",
    "f1_adaptive_threshold",
    "f1_adaptive_threshold_from_histogram",
    "f1_max",
    "f1_max_from_histogram",
    "f1_score",
    "get_num_threads",
    "group_scores",
    "iou_max",
    "loco_saturation_area",
    "loco_saturation_areas",
    "merge_histograms",
    "min_max",
    "normalize_min_max",
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
    "register_wrapper_dirs",
    "roc_curve",
    "score_bins",
    "score_distribution",
    "seg_f1",
    "set_num_threads",
    "spro",
    "spro_curve",
    "threads",
    "threshold_f1_max",
    "threshold_max_fpr",
    "threshold_mean_std",
    "threshold_percentile",
    "thresholded_metrics",
]
