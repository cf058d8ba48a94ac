"""`AnomalibMetric` and `create_anomalib_metric` (anomalib's ``anomalib.metrics.base``)."""

from ._base import AnomalibMetric, create_anomalib_metric

__all__ = ["AnomalibMetric", "create_anomalib_metric"]
