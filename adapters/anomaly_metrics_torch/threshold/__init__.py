"""Threshold metrics (anomalib's ``anomalib.metrics.threshold``)."""

from .base import Threshold
from .f1_adaptive_threshold import F1AdaptiveThreshold
from .manual_threshold import ManualThreshold

__all__ = ["F1AdaptiveThreshold", "ManualThreshold", "Threshold"]
