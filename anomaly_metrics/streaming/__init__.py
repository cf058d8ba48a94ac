"""Streaming metrics: bit-pattern histograms that add, finalised with a certified error bound.

The exact metrics keep every score. For data that does not fit in memory, or to synchronise a
multi-process evaluation with one small all-reduce, this module reduces each batch to fixed-size
*histograms* that are merged by addition, then finalises the metric from the merged histogram
together with a certified bound on its distance to the exact value.

Bins
    A score is rounded to float32 (float64 scores are rounded *down*, to the largest float32 not
    above them) and its bit pattern is mapped to an unsigned 32-bit *key* that orders like the
    value (``-0.0`` and ``+0.0`` share a key). The bin is the top ``bits`` bits of the key
    (default 20: 2**20 bins, each 2**(32 - bits) consecutive float32 values, a relative width of
    about ``2**(bits - 31)``, ~5e-4 at 20 bits). No value range has to be known in advance;
    negative and huge scores work, and every process bins identically.

Why the bound holds
    Bins are ordered like the scores: a score in a higher bin is strictly higher. So a histogram
    loses only the order of the scores *inside one bin*, and at a bin's lower edge ``e`` the
    predicate ``score >= e`` selects exactly the bins at or above it: every curve point at a bin
    edge is a point of the exact curve. Between two consecutive edges the exact curve is
    monotone, so it stays inside the box spanned by those two points; the streaming value draws
    the diagonal of the box. Each finaliser computes the smallest and largest value any ordering
    inside the bins could give, and reports the distance from its value to the farther end (the
    mass of pairs, or pixels, that share a bin), plus 1e-12 for floating-point rounding.

Modules
    ``_bins`` (bits, :func:`score_bins`, :func:`bin_lower_edges`, threaded counting), ``_bounds``
    (:class:`BoundedValue`, :class:`BoundedThreshold`, the box arithmetic of the bounds),
    ``ranking`` (AUROC, AUPR, F1), ``pro`` (AU-PRO), ``pimo`` (AUPIMO), ``merge``.
"""

from ._bins import DEFAULT_BITS, bin_lower_edges, score_bins
from ._bounds import BoundedThreshold, BoundedValue
from .merge import merge_histograms
from .pimo import BoundedAupimo, PimoHistogram, aupimo_from_histogram, pimo_histogram
from .pro import ProHistogram, aupro_from_histogram, pro_histogram
from .ranking import (
    aupr_from_histogram,
    auroc_from_histogram,
    f1_adaptive_threshold_from_histogram,
    f1_max_from_histogram,
    ranking_histogram,
)

__all__ = [
    "DEFAULT_BITS",
    "BoundedAupimo",
    "BoundedThreshold",
    "BoundedValue",
    "PimoHistogram",
    "ProHistogram",
    "aupimo_from_histogram",
    "aupr_from_histogram",
    "aupro_from_histogram",
    "auroc_from_histogram",
    "bin_lower_edges",
    "f1_adaptive_threshold_from_histogram",
    "f1_max_from_histogram",
    "merge_histograms",
    "pimo_histogram",
    "pro_histogram",
    "ranking_histogram",
    "score_bins",
]
