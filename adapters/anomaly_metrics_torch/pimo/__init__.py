"""Per-image overlap metrics (anomalib's ``anomalib.metrics.pimo``).

``PIMO`` / ``AUPIMO`` (metrics), ``PIMOResult`` / ``AUPIMOResult`` (results), and the
submodules ``functional``, ``binary_classification_curve``, ``dataclasses``, ``utils``, ``pimo``
with anomalib's public names. anomalib's ``__all__`` also lists ``StatsOutliersPolicy``, which
anomalib does not define; it is not provided.
"""

from .binary_classification_curve import ThresholdMethod
from .dataclasses import AUPIMOResult, PIMOResult
from .pimo import AUPIMO, PIMO

__all__ = ["AUPIMO", "PIMO", "AUPIMOResult", "PIMOResult", "ThresholdMethod"]
