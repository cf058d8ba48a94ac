"""Check any implementation of an anomaly-detection metric against slow, obviously-correct oracles.

Three kinds of tools, all usable from a plain ``pytest`` + ``hypothesis`` test of your own code
(a GPU port, another library, a model repository's evaluation script):

- **strategies** (need ``hypothesis``, the ``testing`` extra): :func:`scores_and_labels`,
  :func:`maps_and_masks`, :func:`mask_batches` and :func:`batches` draw the hard cases (ties,
  one class, float16, empty / full masks, thin lines, single pixels, only-normal batches, ...);
  :data:`fast_settings` keeps a property test to a few seconds;
- **oracles** (NumPy and SciPy only): ``reference_*`` functions written straight from the
  definitions (pairwise AUROC, step-wise AP, F1 at every threshold, per-region overlap, PRO and
  AU-PRO as in the official MVTec AD evaluation, PIMO and AUPIMO as in Bertoldo et al.), with
  loops over thresholds, pairs and regions: slow on purpose, for small inputs only;
- **assertions**: :func:`assert_metric_close`, :func:`assert_curve_close`,
  :func:`assert_per_image_close` and :func:`assert_per_region_close`, whose failure messages say
  where the two results part (the first differing threshold, the image, the region).

``import anomaly_metrics`` never imports this package; importing this package does not import
``hypothesis`` either: the strategies import it on first use, and without it raise an
``ImportError`` that says ``pip install "anomaly-metrics[testing]"``.

Examples
--------
Your implementation goes where ``my_auroc`` is (here: ours):

>>> from hypothesis import given
>>> from anomaly_metrics import auroc as my_auroc
>>> from anomaly_metrics.testing import assert_metric_close, fast_settings
>>> from anomaly_metrics.testing import reference_auroc, scores_and_labels
>>> @fast_settings
... @given(scores_and_labels(both_classes=True, max_size=50))
... def test_my_auroc(problem):
...     scores, labels = problem
...     assert_metric_close(my_auroc(scores, labels), reference_auroc(scores, labels), atol=1e-12)
>>> test_my_auroc()
"""

from __future__ import annotations

import importlib
from typing import Any

from ._assertions import (
    assert_curve_close,
    assert_metric_close,
    assert_per_image_close,
    assert_per_region_close,
)
from ._oracles_pimo import (
    reference_aupimo_exact,
    reference_aupimo_exact_from_curves,
    reference_aupimo_from_curves,
    reference_aupimo_linspace,
    reference_image_classes,
    reference_linspace,
    reference_pimo_curves,
)
from ._oracles_pro import (
    RegionOverlaps,
    reference_aupro,
    reference_labels,
    reference_pro,
    reference_pro_curve,
    reference_region_overlaps,
    reference_trapezoid,
)
from ._oracles_protocols import (
    reference_area,
    reference_counts,
    reference_group_scores,
    reference_iou_max,
    reference_max_fpr_threshold,
    reference_seg_f1_per_image,
    reference_spro,
    reference_spro_curve,
)
from ._oracles_ranking import (
    reference_auroc,
    reference_average_precision,
    reference_confusion,
    reference_f1,
    reference_f1_curve,
    reference_f1_max,
    reference_normalize,
    reference_pbn,
    reference_pgn,
    reference_quantile,
    reference_roc_curve,
)
from ._synthetic import synthetic_dataset

# Names served by ``_strategies`` (which imports hypothesis): loaded on first access.
_LAZY = (
    "LABEL_KINDS",
    "MAP_DTYPES",
    "MAP_STYLES",
    "MASK_KINDS",
    "REGION_SHAPES",
    "SCORE_DTYPES",
    "SCORE_STYLES",
    "Batches",
    "batches",
    "fast_settings",
    "loco_channels",
    "maps_and_masks",
    "mask_batches",
    "scores_and_labels",
)

__all__ = [
    "LABEL_KINDS",
    "MAP_DTYPES",
    "MAP_STYLES",
    "MASK_KINDS",
    "REGION_SHAPES",
    "SCORE_DTYPES",
    "SCORE_STYLES",
    "Batches",
    "RegionOverlaps",
    "assert_curve_close",
    "assert_metric_close",
    "assert_per_image_close",
    "assert_per_region_close",
    "batches",
    "fast_settings",
    "loco_channels",
    "maps_and_masks",
    "mask_batches",
    "reference_area",
    "reference_aupimo_exact",
    "reference_aupimo_exact_from_curves",
    "reference_aupimo_from_curves",
    "reference_aupimo_linspace",
    "reference_aupro",
    "reference_auroc",
    "reference_average_precision",
    "reference_confusion",
    "reference_counts",
    "reference_f1",
    "reference_f1_curve",
    "reference_f1_max",
    "reference_group_scores",
    "reference_image_classes",
    "reference_iou_max",
    "reference_labels",
    "reference_linspace",
    "reference_max_fpr_threshold",
    "reference_normalize",
    "reference_pbn",
    "reference_pgn",
    "reference_pimo_curves",
    "reference_pro",
    "reference_pro_curve",
    "reference_quantile",
    "reference_region_overlaps",
    "reference_roc_curve",
    "reference_seg_f1_per_image",
    "reference_spro",
    "reference_spro_curve",
    "reference_trapezoid",
    "scores_and_labels",
    "synthetic_dataset",
]


def __getattr__(name: str) -> Any:
    if name == "loco_channels":
        return importlib.import_module("._strategies_loco", __name__).loco_channels
    if name in _LAZY:
        module = importlib.import_module("._strategies", __name__)
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
