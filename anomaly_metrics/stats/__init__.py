"""Comparing models: per-image statistics, paired tests with Holm correction, bootstrap intervals.

A dataset-level number (AUROC, AU-PRO, mean AUPIMO) does not say whether model A is *really*
better than model B on the images at hand. Per-image metrics (AUPIMO gives one value per
anomalous image) make paired statistics possible: both models are scored on the same images, so
the per-image differences are what is tested.

- :func:`per_image_stats` (``per_image``) summarises one model's per-image values.
- :func:`compare_models` (``paired_tests``) runs every pairwise paired test, corrects the
  p-values for multiple comparisons (Holm), ranks the models and groups those that cannot be told
  apart.
- :func:`bootstrap_ci` (``bootstrap``) gives a percentile confidence interval of any metric by
  resampling images.

Reading result files for ``anomaly-metrics compare`` lives in :mod:`anomaly_metrics.cli.compare`.
"""

from .bootstrap import BootstrapCI, bootstrap_ci
from .paired_tests import ModelComparison, PairwiseTest, compare_models
from .per_image import PerImageStats, per_image_stats

__all__ = [
    "BootstrapCI",
    "ModelComparison",
    "PairwiseTest",
    "PerImageStats",
    "bootstrap_ci",
    "compare_models",
    "per_image_stats",
]
