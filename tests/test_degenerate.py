"""Every core function on every degenerate data set: its value, or nan with an UndefinedMetricWarning.

DESIGN.md's rule: a metric that the data leave undefined (one class only, no defect region, no
normal image) is ``nan`` with :class:`anomaly_metrics.UndefinedMetricWarning`; it never raises.
The table below states, for each function and each degenerate data set, what it gives:

- ``VALUE``: a value without any UndefinedMetricWarning, equal to an independent reference (the
  oracles of :mod:`anomaly_metrics.testing`, scikit-learn, or NumPy written from the definition)
  wherever one is given, and to the hand value of the ``HAND`` table where one is known;
- ``NAN``: the undefined part of the result is nan and every warning is an UndefinedMetricWarning;
- ``FALLBACK``: a defined fallback value together with an UndefinedMetricWarning (anomalib's
  adaptive threshold without one class: the highest or the lowest score);
- ``UNREACHABLE`` / ``EMPTY``: a ``ValueError``, only where the data cannot support an option
  (AUPIMO's lower FPR bound below the smallest shared FPR the normal pixels reach, e.g. all
  normal pixels tied) or a threshold rule is given no normal score at all (empty input). Neither
  is an undefined metric.

Data sets (maps ``(N, H, W)`` and masks): ``all_normal`` (no defect pixel), ``no_normal_image``
(every image has a defect, with normal pixels beside it), ``full_masks`` (every mask covers its
image: no normal pixel), ``pixel_normal`` / ``pixel_anomalous`` (one 1 x 1 image: a single
score), ``pixels_both`` (two 1 x 1 images, one of each class), ``single_image`` (one 4 x 4 image
with a defect), ``equal_scores`` (both classes, every score 0.5) and ``float16`` ... ``bool``
(both classes; scores of that dtype).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

import anomaly_metrics as am
from anomaly_metrics import batched
from anomaly_metrics import testing as ref

# ----------------------------------------------------------------------------------------------
# the data sets


def _datasets() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(7)
    maps = rng.random((3, 4, 4))  # distinct scores
    none = np.zeros((3, 4, 4), bool)
    every = none.copy()
    every[:, 1:3, 1:3] = True  # a 2 x 2 defect in each image
    one = none.copy()
    one[1, :2, :2] = True  # images 0 and 2 normal, image 1 anomalous
    single = np.zeros((1, 4, 4), bool)
    single[0, :2, :2] = True
    out = {
        "all_normal": (maps, none),
        "no_normal_image": (maps, every),
        "full_masks": (maps, np.ones_like(none)),
        "pixel_normal": (np.array([[[0.3]]]), np.zeros((1, 1, 1), bool)),
        "pixel_anomalous": (np.array([[[0.3]]]), np.ones((1, 1, 1), bool)),
        "pixels_both": (np.array([[[0.2]], [[0.7]]]), np.array([[[False]], [[True]]])),
        "single_image": (maps[:1], single),
        "equal_scores": (np.full((3, 4, 4), 0.5), one),
        "float16": (maps.astype(np.float16), one),
        "float32": (maps.astype(np.float32), one),
        "float64": (maps, one),
        "int": (np.round(maps * 9).astype(np.int64), one),  # ties
        "bool": (maps > 0.5, one),
    }
    return out


DATA = _datasets()

NO_POSITIVE = {"all_normal", "pixel_normal"}  # no defect pixel (no region, no anomalous image)
NO_NEGATIVE = {"full_masks", "pixel_anomalous"}  # no normal pixel
ONE_CLASS = NO_POSITIVE | NO_NEGATIVE  # pixel level
NO_NORMAL_IMAGE = {"no_normal_image", "full_masks", "pixel_anomalous", "single_image"}
ONE_IMAGE = {"pixel_normal", "pixel_anomalous", "single_image"}
TIED_NORMAL = {"pixels_both", "equal_scores"}  # every normal pixel has the same score


def _canonical(maps: np.ndarray) -> np.ndarray:
    """The maps in the dtype the core computes in (float16, bool, 8/16-bit int -> float32;
    wider int -> float64)."""
    if (
        maps.dtype == np.float16
        or maps.dtype == bool
        or (maps.dtype.kind in "iu" and maps.dtype.itemsize <= 2)
    ):
        return maps.astype(np.float32)
    if maps.dtype.kind in "iu":
        return maps.astype(np.float64)
    return maps


def _image_level(maps, masks):
    n = maps.shape[0]
    return maps.reshape(n, -1).max(axis=1), masks.reshape(n, -1).any(axis=1)


def _channels(masks):
    """One sPRO channel per anomalous image (its mask), none for a normal image."""
    return [m[None] if m.any() else np.zeros((0, *m.shape), bool) for m in masks]


def _areas(masks):
    """The default sPRO saturation areas: each channel's own area."""
    return [c.sum(axis=(1, 2)) for c in _channels(masks)]


def _halves(x):
    """Two batches where there are two images or more, else one."""
    return [x] if x.shape[0] < 2 else [x[:1], x[1:]]


def _normal_pixels(maps, masks):
    return maps[~masks]


# ----------------------------------------------------------------------------------------------
# the functions: call, the part of the result that is nan when undefined, an independent reference


class Fn(NamedTuple):
    call: Callable[[Any, Any], Any]
    value: Callable[[Any], Any]  # the checked part of the result
    reference: Callable[[Any, Any], Any] | None = None  # on the maps as given, for VALUE cells
    bound: Callable[[Any], float] | None = None  # streaming: |value - reference| <= bound


def _scalar(r):
    return r


def _ranking_ref(fn):
    return lambda m, k: fn(m.ravel().astype(np.float64), k.ravel())


def _f1_score_ref(m, k, t=0.5):
    tp, fp, fn = ref.reference_counts(m, k, t)
    return 2 * tp / (2 * tp + fp + fn)


def _max_fpr_auroc_ref(m, k):
    return skm.roc_auc_score(k.ravel(), m.ravel().astype(np.float64), max_fpr=0.3)


def _roc_ref(m, k):
    fpr, tpr, _ = skm.roc_curve(k.ravel(), m.ravel().astype(np.float64), drop_intermediate=False)
    return np.concatenate([fpr, tpr])


def _pr_ref(m, k):
    p, r, _ = skm.precision_recall_curve(k.ravel(), m.ravel().astype(np.float64))
    return np.concatenate([p, r])


def _pro_curve_ref(m, k):
    fpr, pro, _ = ref.reference_pro_curve(m, k)
    return np.concatenate([fpr, pro])


def _thresholded_ref(m, k, normalize=False):
    x = m.astype(np.float64)
    if normalize:
        lo, hi = x.min(), x.max()
        x = (x - lo) / (hi - lo) if hi > lo else np.zeros_like(x)
    out = []
    for t in (0.2, 0.5):
        tp, fp, fn = ref.reference_counts(x, k, t)
        out.append((tp / (tp + fp + fn), tp / (tp + fn), 2 * tp / (2 * tp + fp + fn)))
    return np.array(out).T.ravel()


def _positive(m):
    """The maps plus one, in their dtype (bool: all True): positive, for the log statistics."""
    return m + np.ones((), m.dtype)


def _score_distribution_ref(m, k):
    s, _ = _image_level(m, k)
    logs = np.log(s.astype(np.float64))
    pixel = np.log(m.astype(np.float64))
    return np.array(
        [logs.mean(), logs.std(ddof=1), *pixel.mean(0).ravel(), *pixel.std(0, ddof=1).ravel()]
    )


def _per_image_stats_ref(m, k):
    s = _image_level(m, k)[0].astype(np.float64)
    return np.array([s.size, s.mean(), np.median(s), s.std(ddof=1), *np.percentile(s, [25, 75])])


def _grouped_auroc_ref(m, k):
    s, y = _image_level(m, k)
    _, scores, labels = ref.reference_group_scores(list(s), list(np.arange(len(s)) // 2), list(y))
    return ref.reference_auroc(scores, labels)


def _group_scores_ref(m, k):
    s, y = _image_level(m, k)
    _, scores, labels = ref.reference_group_scores(list(s), list(np.arange(len(s)) // 2), list(y))
    return np.array([*scores, *labels], np.float64)


def _relabelled(labels):
    """Component labels renumbered in order of first appearance (to compare partitions)."""
    flat = labels.ravel()
    _, first = np.unique(flat, return_index=True)
    order = {v: i for i, v in enumerate(flat[np.sort(first)])}
    return np.array([order[v] if v else 0 for v in flat])


def _error_bound(r):
    return r.error_bound


PIMO_BOUNDS = (0.6, 1.0)  # reachable on every data set with two distinct normal scores
PIMO_K = 1000  # linspace thresholds of the AUPIMO calls (forced: the range holds few points)
CURVE_K = 50  # linspace thresholds of the curve calls


def _aupimo_linspace_ref(m, k):
    return ref.reference_aupimo_linspace(_canonical(m), k, PIMO_BOUNDS, PIMO_K)[1]


def _aupimo_exact_ref(m, k):
    return ref.reference_aupimo_exact(_canonical(m), k, PIMO_BOUNDS)[1]


def _bootstrap(metric):
    return lambda m, k: am.bootstrap_ci(metric, m, k, n_resamples=20, by="class")


def _bootstrap_value(r):
    return np.array([r.low, r.high, r.estimate])


def _f1_max_slow(scores, labels):  # not one of the bootstrap's fast paths
    return am.f1_max(scores, labels)


FUNCTIONS: dict[str, Fn] = {
    # ranking metrics, pixel level (scores = maps, labels = masks)
    "auroc": Fn(am.auroc, _scalar, _ranking_ref(ref.reference_auroc)),
    "auroc-max_fpr": Fn(lambda m, k: am.auroc(m, k, max_fpr=0.3), _scalar, _max_fpr_auroc_ref),
    "aupr": Fn(am.aupr, _scalar, _ranking_ref(ref.reference_average_precision)),
    "roc_curve": Fn(am.roc_curve, lambda r: np.concatenate([r.fpr, r.tpr]), _roc_ref),
    "precision_recall_curve": Fn(
        am.precision_recall_curve, lambda r: np.concatenate([r.precision, r.recall]), _pr_ref
    ),
    "f1_score": Fn(am.f1_score, _scalar, _f1_score_ref),
    "f1_max": Fn(am.f1_max, _scalar, lambda m, k: ref.reference_f1_max(m.ravel(), k.ravel())[0]),
    "f1_adaptive_threshold": Fn(
        am.f1_adaptive_threshold,
        _scalar,
        lambda m, k: ref.reference_f1_max(m.ravel(), k.ravel())[1],
    ),
    "pgn": Fn(am.pgn, _scalar, _ranking_ref(ref.reference_pgn)),
    "pbn": Fn(am.pbn, _scalar, _ranking_ref(ref.reference_pbn)),
    # image level, samples of two images (Real-IAD's groups)
    "auroc-groups": Fn(
        lambda m, k: am.auroc(*_image_level(m, k), groups=np.arange(m.shape[0]) // 2),
        _scalar,
        _grouped_auroc_ref,
    ),
    "group_scores": Fn(
        lambda m, k: am.group_scores(
            _image_level(m, k)[0], np.arange(m.shape[0]) // 2, _image_level(m, k)[1]
        ),
        lambda r: np.concatenate([r.scores, r.labels]).astype(np.float64),
        _group_scores_ref,
    ),
    # normalisation and distributions
    "min_max": Fn(
        lambda m, k: am.min_max(m),
        lambda r: np.array([r.min, r.max]),
        lambda m, k: np.array([m.min(), m.max()]),
    ),
    "normalize_min_max": Fn(
        lambda m, k: am.normalize_min_max(m, 0.5, float(m.min()), float(m.max())),
        _scalar,
        lambda m, k: ref.reference_normalize(m, 0.5, float(m.min()), float(m.max())),
    ),
    "score_distribution": Fn(  # natural logs: the maps shifted to be positive
        lambda m, k: am.score_distribution(_image_level(_positive(m), k)[0], _positive(m)),
        lambda r: np.array(
            [r.image_mean, r.image_std, *np.ravel(r.pixel_mean), *np.ravel(r.pixel_std)]
        ),
        lambda m, k: _score_distribution_ref(_positive(m), k),
    ),
    "per_image_stats": Fn(
        lambda m, k: am.per_image_stats(_image_level(m, k)[0]),
        lambda r: np.array([r.count, r.mean, r.median, r.std, r.q1, r.q3]),
        _per_image_stats_ref,
    ),
    "connected_components": Fn(
        lambda m, k: am.connected_components(k),
        _relabelled,
        lambda m, k: _relabelled(ref.reference_labels(k)),
    ),
    # region overlap
    "pro": Fn(am.pro, _scalar, ref.reference_pro),
    "pro_curve": Fn(
        lambda m, k: am.pro_curve(m, k, fpr_limit=1.0),
        lambda r: np.concatenate([r.fpr, r.pro]),
        _pro_curve_ref,
    ),
    "aupro": Fn(am.aupro, _scalar, ref.reference_aupro),
    "aupro-limits": Fn(
        lambda m, k: am.aupro(m, k, fpr_limit=(0.05, 0.3, 1.0)),
        np.array,
        lambda m, k: np.array([ref.reference_aupro(m, k, x) for x in (0.05, 0.3, 1.0)]),
    ),
    "spro": Fn(
        lambda m, k: am.spro(m, _channels(k)),
        _scalar,
        lambda m, k: ref.reference_spro(list(m), _channels(k), _areas(k), 0.5),
    ),
    "spro_curve": Fn(
        lambda m, k: am.spro_curve(m, _channels(k)),
        lambda r: np.concatenate([r.fpr, r.spro]),
        lambda m, k: np.concatenate(ref.reference_spro_curve(list(m), _channels(k), _areas(k))[:2]),
    ),
    "auspro": Fn(
        lambda m, k: am.auspro(m, _channels(k)),
        _scalar,
        lambda m, k: ref.reference_area(
            *ref.reference_spro_curve(list(m), _channels(k), _areas(k))[:2], 0.05
        ),
    ),
    # per-image overlap (PIMO)
    "pimo_curves": Fn(
        lambda m, k: am.pimo_curves(m, k, num_thresholds=CURVE_K),
        lambda r: r.shared_fpr,
        lambda m, k: ref.reference_pimo_curves(_canonical(m), k, CURVE_K)[1],
    ),
    "pimo_curves-exact": Fn(
        lambda m, k: am.pimo_curves(m, k, num_thresholds=None),
        lambda r: r.shared_fpr,
        lambda m, k: ref.reference_pimo_curves(_canonical(m), k, None)[1],
    ),
    "aupimo": Fn(
        lambda m, k: am.aupimo(m, k, fpr_bounds=PIMO_BOUNDS, num_thresholds=PIMO_K, force=True),
        lambda r: r.mean,
        _aupimo_linspace_ref,
    ),
    "aupimo-exact": Fn(
        lambda m, k: am.aupimo(m, k, fpr_bounds=PIMO_BOUNDS, num_thresholds=None),
        lambda r: r.mean,
        _aupimo_exact_ref,
    ),
    # segmentation protocols
    "seg_f1": Fn(lambda m, k: am.seg_f1(m, k, 0.5), _scalar, _f1_score_ref),
    "seg_f1-per_image": Fn(
        lambda m, k: am.seg_f1(m, k, 0.5, average="per_image"),
        _scalar,
        lambda m, k: ref.reference_seg_f1_per_image(m, k, 0.5),
    ),
    "threshold_mean_std": Fn(
        lambda m, k: am.threshold_mean_std(_normal_pixels(m, k)),
        lambda r: r.threshold,
        lambda m, k: (
            _normal_pixels(m, k).astype(np.float64).mean()
            + 3 * _normal_pixels(m, k).astype(np.float64).std()
        ),
    ),
    "threshold_percentile": Fn(
        lambda m, k: am.threshold_percentile(_normal_pixels(m, k)),
        lambda r: r.threshold,
        lambda m, k: np.percentile(_normal_pixels(m, k).astype(np.float64), 99.0),
    ),
    "threshold_max_fpr": Fn(
        lambda m, k: am.threshold_max_fpr(_normal_pixels(m, k)),
        lambda r: r.threshold,
        lambda m, k: ref.reference_max_fpr_threshold(_normal_pixels(m, k), 0.01),
    ),
    "threshold_f1_max": Fn(
        am.threshold_f1_max,
        lambda r: r.threshold,
        lambda m, k: ref.reference_f1_max(m.ravel(), k.ravel())[1],
    ),
    "thresholded_metrics": Fn(
        lambda m, k: am.thresholded_metrics(m, k, [0.2, 0.5]),
        lambda r: np.concatenate([r.iou, r.accuracy, r.f1]),
        _thresholded_ref,
    ),
    "thresholded_metrics-normalize": Fn(
        lambda m, k: am.thresholded_metrics(m, k, [0.2, 0.5], normalize=True),
        lambda r: np.concatenate([r.iou, r.accuracy, r.f1]),
        lambda m, k: _thresholded_ref(m, k, normalize=True),
    ),
    "iou_max": Fn(am.iou_max, _scalar, ref.reference_iou_max),
    # everything at once
    "evaluate": Fn(am.evaluate, lambda r: r),
    # the batched contract (two batches where there are two images)
    "batched.auroc": Fn(
        lambda m, k: batched.auroc(_halves(m), _halves(k)),
        _scalar,
        _ranking_ref(ref.reference_auroc),
    ),
    "batched.aupr": Fn(
        lambda m, k: batched.aupr(_halves(m), _halves(k)),
        _scalar,
        _ranking_ref(ref.reference_average_precision),
    ),
    "batched.f1_score": Fn(
        lambda m, k: batched.f1_score(_halves(m), _halves(k)), _scalar, _f1_score_ref
    ),
    "batched.f1_max": Fn(
        lambda m, k: batched.f1_max(_halves(m), _halves(k)),
        np.array,
        lambda m, k: np.array(ref.reference_f1_max(m.ravel(), k.ravel())),
    ),
    "batched.f1_adaptive_threshold": Fn(
        lambda m, k: batched.f1_adaptive_threshold(_halves(m), _halves(k)),
        _scalar,
        lambda m, k: ref.reference_f1_max(m.ravel(), k.ravel())[1],
    ),
    "batched.pro": Fn(lambda m, k: batched.pro(_halves(m), _halves(k)), _scalar, ref.reference_pro),
    "batched.aupro": Fn(
        lambda m, k: batched.aupro(_halves(m), _halves(k)), _scalar, ref.reference_aupro
    ),
    "batched.pimo_curves": Fn(
        lambda m, k: batched.pimo_curves(_halves(m), _halves(k), num_thresholds=CURVE_K),
        lambda r: r.shared_fpr,
        lambda m, k: ref.reference_pimo_curves(_canonical(m), k, CURVE_K)[1],
    ),
    "batched.aupimo": Fn(
        lambda m, k: batched.aupimo(
            _halves(m), _halves(k), fpr_bounds=PIMO_BOUNDS, num_thresholds=None
        ),
        lambda r: r.mean,
        _aupimo_exact_ref,
    ),
    # streaming: histograms and their finalisers (within the certified bound of the exact value)
    "auroc_from_histogram": Fn(
        lambda m, k: am.auroc_from_histogram(am.ranking_histogram(m, k)),
        lambda r: r.value,
        _ranking_ref(ref.reference_auroc),
        bound=_error_bound,
    ),
    "aupr_from_histogram": Fn(
        lambda m, k: am.aupr_from_histogram(am.ranking_histogram(m, k)),
        lambda r: r.value,
        _ranking_ref(ref.reference_average_precision),
        bound=_error_bound,
    ),
    "f1_max_from_histogram": Fn(
        lambda m, k: am.f1_max_from_histogram(am.ranking_histogram(m, k)),
        lambda r: r.value,
        lambda m, k: ref.reference_f1_max(m.ravel(), k.ravel())[0],
        bound=_error_bound,
    ),
    "f1_adaptive_threshold_from_histogram": Fn(
        lambda m, k: am.f1_adaptive_threshold_from_histogram(am.ranking_histogram(m, k)),
        lambda r: r.f1,
        lambda m, k: ref.reference_f1_max(m.ravel(), k.ravel())[0],
        bound=lambda r: r.f1_error_bound,
    ),
    "aupro_from_histogram": Fn(
        lambda m, k: am.aupro_from_histogram(am.pro_histogram(m, k)),
        lambda r: r.value,
        ref.reference_aupro,
        bound=_error_bound,
    ),
    "aupimo_from_histogram": Fn(
        lambda m, k: am.aupimo_from_histogram(am.pimo_histogram(m, k), fpr_bounds=PIMO_BOUNDS),
        lambda r: r.mean,
        None,  # the exact value does not exist where the lower bound is unreachable
        bound=_error_bound,
    ),
    "merge_histograms": Fn(
        lambda m, k: am.merge_histograms(
            *[am.ranking_histogram(a, b) for a, b in ((m, k), (m, k))]
        ),
        lambda r: r.sum(axis=1),
        lambda m, k: np.array([2 * (~k).sum(), 2 * k.sum()]),
    ),
    # statistics (stratified bootstrap: every resample keeps both classes where there are two)
    "bootstrap_ci-auroc": Fn(
        _bootstrap(am.auroc), _bootstrap_value, _ranking_ref(ref.reference_auroc)
    ),
    "bootstrap_ci-aupro": Fn(_bootstrap(am.aupro), _bootstrap_value, ref.reference_aupro),
    "bootstrap_ci-f1_max": Fn(
        _bootstrap(_f1_max_slow),
        _bootstrap_value,
        lambda m, k: ref.reference_f1_max(m.ravel(), k.ravel())[0],
    ),
}


# ----------------------------------------------------------------------------------------------
# the table: what each function gives on each data set (VALUE where not listed)

VALUE, NAN, FALLBACK, UNREACHABLE, EMPTY = "value", "nan", "fallback", "unreachable", "empty"


def _on(sets: set[str], kind: str) -> dict[str, str]:
    return dict.fromkeys(sets, kind)


# AUPIMO: undefined without a normal image (no shared FPR) or without an anomalous one (nothing
# to score); with every normal pixel tied the shared FPR is 1 at every threshold, so no lower
# bound below 1 is reachable: a ValueError (an option the data cannot support). The PIMO curves
# themselves are defined there (K copies of the tied score, shared FPR 1) and without an
# anomalous image (the shared FPR; every TPR row is nan by convention).
_AUPIMO = {**_on(NO_NORMAL_IMAGE | NO_POSITIVE, NAN), **_on(TIED_NORMAL, UNREACHABLE)}
# Samples of two images (groups 0, 0, 1): both classes only where image 1 is the only anomalous one.
_ONE_CLASS_SAMPLES = {"all_normal", "no_normal_image", "full_masks", "pixels_both", "single_image"}
_ONE_CLASS_SAMPLES |= {"pixel_normal", "pixel_anomalous"}
# threshold rules take the normal pixels: none at all without a normal pixel (empty input)
_NORMAL_SCORES = _on(NO_NEGATIVE, EMPTY)

EXPECTED: dict[str, dict[str, str]] = {
    # ranking: undefined with one class. AUPR (precision) and F1 at a fixed threshold are defined
    # without negatives (every detection is right: AUPR 1.0, as anomalib; F1 = 2TP / (2TP + FN)).
    "auroc": _on(ONE_CLASS, NAN),
    "auroc-max_fpr": _on(ONE_CLASS, NAN),
    "aupr": _on(NO_POSITIVE, NAN),
    "roc_curve": _on(ONE_CLASS, NAN),  # the FPR (TPR) axis is nan without negatives (positives)
    "precision_recall_curve": _on(NO_POSITIVE, NAN),  # recall is nan without positives
    "f1_score": _on(NO_POSITIVE, NAN),
    "f1_max": _on(ONE_CLASS, NAN),
    "f1_adaptive_threshold": _on(ONE_CLASS, FALLBACK),  # highest / lowest score, with a warning
    "pgn": _on(ONE_CLASS, NAN),
    "pbn": _on(ONE_CLASS, NAN),
    "auroc-groups": _on(_ONE_CLASS_SAMPLES, NAN),
    # statistics of scores: defined on any non-empty input except the unbiased std of one value
    "score_distribution": _on(ONE_IMAGE, NAN),
    "per_image_stats": _on(ONE_IMAGE, NAN),
    # region overlap: PRO at a threshold needs a region only (defined with a full mask: each
    # image is one region); curves and areas need background pixels too (an FPR axis)
    "pro": _on(NO_POSITIVE, NAN),
    "pro_curve": _on(ONE_CLASS, NAN),
    "aupro": _on(ONE_CLASS, NAN),
    "aupro-limits": _on(ONE_CLASS, NAN),
    "spro": _on(NO_POSITIVE, NAN),
    "spro_curve": _on(ONE_CLASS, NAN),
    "auspro": _on(ONE_CLASS, NAN),
    "pimo_curves": _on(NO_NORMAL_IMAGE, NAN),
    "pimo_curves-exact": _on(NO_NORMAL_IMAGE, NAN),
    "aupimo": _AUPIMO,
    "aupimo-exact": _AUPIMO,
    # SegF1 is 2TP / (2TP + FP + FN): defined (0) with false positives and no defect; nan only
    # with no defect and no detection (pooled). Per image, such an image scores 1.
    "seg_f1": _on({"pixel_normal"}, NAN),
    "threshold_mean_std": _NORMAL_SCORES,
    "threshold_percentile": _NORMAL_SCORES,
    "threshold_max_fpr": _NORMAL_SCORES,
    "threshold_f1_max": _on(ONE_CLASS, NAN),
    "thresholded_metrics": _on(NO_POSITIVE, NAN),  # accuracy (TP / (TP + FN)) needs a defect
    "thresholded_metrics-normalize": _on(NO_POSITIVE, NAN),
    "iou_max": _on(NO_POSITIVE, NAN),  # defined with full masks: 1 at the lowest score
    "batched.auroc": _on(ONE_CLASS, NAN),
    "batched.aupr": _on(NO_POSITIVE, NAN),
    "batched.f1_score": _on(NO_POSITIVE, NAN),
    "batched.f1_max": _on(ONE_CLASS, NAN),
    "batched.f1_adaptive_threshold": _on(ONE_CLASS, FALLBACK),
    "batched.pro": _on(NO_POSITIVE, NAN),
    "batched.aupro": _on(ONE_CLASS, NAN),
    "batched.pimo_curves": _on(NO_NORMAL_IMAGE, NAN),
    "batched.aupimo": _AUPIMO,
    "auroc_from_histogram": _on(ONE_CLASS, NAN),
    "aupr_from_histogram": _on(NO_POSITIVE, NAN),
    "f1_max_from_histogram": _on(ONE_CLASS, NAN),
    "f1_adaptive_threshold_from_histogram": _on(ONE_CLASS, NAN),  # f1 nan, fallback threshold
    "aupro_from_histogram": _on(ONE_CLASS, NAN),
    # streaming AUPIMO with tied normal pixels: a value with a certified bound (no exact value)
    "aupimo_from_histogram": _on(NO_NORMAL_IMAGE | NO_POSITIVE, NAN),
    # the interval of one image is undefined (every resample is the image itself)
    "bootstrap_ci-auroc": _on(ONE_CLASS | ONE_IMAGE, NAN),
    "bootstrap_ci-aupro": _on(ONE_CLASS | ONE_IMAGE, NAN),
    "bootstrap_ci-f1_max": _on(ONE_CLASS | ONE_IMAGE, NAN),
}

# Values by hand, from the definitions, where the degenerate set makes them simple.
HAND: dict[tuple[str, str], Any] = {
    ("auroc", "equal_scores"): 0.5,  # all scores tied: the ROC curve is the diagonal
    ("auroc-max_fpr", "equal_scores"): 0.5,  # McClish's standardisation keeps the diagonal at 0.5
    ("auroc", "pixels_both"): 1.0,
    ("aupr", "equal_scores"): 4 / 48,  # one threshold: the precision there, the prevalence
    ("aupr", "full_masks"): 1.0,  # no negatives: precision 1 at every threshold
    ("aupr", "pixel_anomalous"): 1.0,
    ("f1_max", "equal_scores"): 2 / 13,  # 2p / (1 + p), p = 1/12
    ("f1_adaptive_threshold", "all_normal"): DATA["all_normal"][0].max(),  # no positive
    ("f1_adaptive_threshold", "full_masks"): DATA["full_masks"][0].min(),  # no negative
    ("f1_adaptive_threshold", "pixel_normal"): 0.3,
    ("f1_adaptive_threshold", "pixel_anomalous"): 0.3,
    ("pgn", "equal_scores"): 0.0,  # missing no anomaly means flagging every normal image
    ("pbn", "equal_scores"): 0.0,
    ("min_max", "pixel_normal"): np.array([0.3, 0.3]),
    ("normalize_min_max", "equal_scores"): np.full((3, 4, 4), 0.5),  # min == max: 0.5 at it
    ("pro", "equal_scores"): 1.0,  # every pixel >= 0.5
    ("pro", "pixel_anomalous"): 0.0,  # 0.3 < 0.5
    ("aupro", "equal_scores"): 0.15,  # the diagonal up to 0.3, normalised: 0.045 / 0.3
    ("pimo_curves", "equal_scores"): np.ones(CURVE_K),  # K copies of 0.5, shared FPR 1
    ("pimo_curves-exact", "equal_scores"): np.ones(1),
    ("seg_f1", "all_normal"): 0.0,  # false positives, no defect
    ("seg_f1-per_image", "pixel_normal"): 1.0,  # nothing to find, nothing found
    ("iou_max", "full_masks"): 1.0,  # the lowest score predicts the whole mask
    ("per_image_stats", "equal_scores"): np.array([3, 0.5, 0.5, 0.0, 0.5, 0.5]),
}


def _expected(fn: str, dataset: str) -> str:
    return EXPECTED.get(fn, {}).get(dataset, VALUE)


# The only exceptions a degenerate data set may raise: options the data cannot support, and a
# threshold rule given no normal score at all. (exception, message fragment) per function.
_BOUND = (ValueError, "smallest shared FPR the data can reach")
_RESOLUTION = (ValueError, "is too many for the")  # more linspace thresholds than the dtype holds
_SAME_THRESHOLD = (RuntimeError, "fall on the same threshold")  # anomalib's rule, linspace
_EMPTY = (ValueError, "must not be empty")
CARVE_OUTS: dict[str, list[tuple[type[Exception], str]]] = {
    "aupimo": [_BOUND, _RESOLUTION, _SAME_THRESHOLD],
    "aupimo-exact": [_BOUND],
    "batched.aupimo": [_BOUND],
    "pimo_curves": [_RESOLUTION],
    "batched.pimo_curves": [_RESOLUTION],
    "threshold_mean_std": [_EMPTY],
    "threshold_percentile": [_EMPTY],
    "threshold_max_fpr": [_EMPTY],
}
# functions whose warning may come with a value (a fallback, or resamples left out)
WARNS_WITH_VALUE = {"f1_adaptive_threshold", "batched.f1_adaptive_threshold"}
WARNS_WITH_VALUE |= {name for name in FUNCTIONS if name.startswith("bootstrap_ci")}

# score_distribution warns once for the image std and once for the pixel std
ONE_WARNING_PER_STATISTIC = {"score_distribution"}

# the linspace AUPIMO's advice on few points (anomalib logs it): not about undefined metrics
_ADVICE = "(Cannot compute|The AUPIMO may|The (lower|upp))"


def _call(fn: str, maps, masks):
    """Run one function, recording its warnings; ValueError / RuntimeError are returned."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", message=_ADVICE)
        try:
            result, error = FUNCTIONS[fn].call(maps, masks), None
        except (ValueError, RuntimeError) as err:
            result, error = None, err
    undefined = [w for w in caught if issubclass(w.category, am.UndefinedMetricWarning)]
    others = [w for w in caught if not issubclass(w.category, am.UndefinedMetricWarning)]
    return result, error, undefined, others


def _checked(fn: str, result) -> np.ndarray:
    if fn == "evaluate":
        return np.array(list(result.values()), np.float64)
    return np.asarray(FUNCTIONS[fn].value(result), np.float64)


def _compare(fn: str, result, expected, name: str) -> None:
    spec = FUNCTIONS[fn]
    got = _checked(fn, result)
    if spec.bound is not None:
        assert abs(float(got) - float(expected)) <= spec.bound(result) + 1e-9, name
    elif fn.startswith("bootstrap_ci"):
        low, high, estimate = got
        assert estimate == pytest.approx(float(expected), abs=1e-9), name
        assert low <= estimate <= high, name
    else:  # float32 results (normalised float32 maps) are rounded to float32
        single = getattr(result, "dtype", None) == np.float32
        rtol, atol = (1e-6, 1e-7) if single else (1e-9, 1e-12)
        np.testing.assert_allclose(got, np.asarray(expected, np.float64), rtol=rtol, atol=atol)


CELLS = [(fn, ds) for fn in FUNCTIONS if fn != "evaluate" for ds in DATA]


@pytest.mark.parametrize(("fn", "dataset"), CELLS)
def test_degenerate_table(fn, dataset):
    maps, masks = DATA[dataset]
    kind = _expected(fn, dataset)
    if kind in (UNREACHABLE, EMPTY):
        exc, fragment = _BOUND if kind == UNREACHABLE else _EMPTY
        with pytest.raises(exc, match=fragment):
            _call_quietly(fn, maps, masks)
        return
    if kind == VALUE:
        with warnings.catch_warnings():
            warnings.simplefilter("error", am.UndefinedMetricWarning)
            warnings.filterwarnings("ignore", message=_ADVICE)
            result = FUNCTIONS[fn].call(maps, masks)
        assert not np.isnan(_checked(fn, result)).any(), f"{fn} on {dataset} is nan"
    else:
        with pytest.warns(am.UndefinedMetricWarning) as record:
            result = _call_quietly(fn, maps, masks)
        # one warning per call (score_distribution: one per undefined statistic)
        assert len(record) == 1 or fn in ONE_WARNING_PER_STATISTIC, [str(w.message) for w in record]
        assert all(issubclass(w.category, am.UndefinedMetricWarning) for w in record)
        has_nan = np.isnan(_checked(fn, result)).any()
        assert has_nan if kind == NAN else not has_nan
        if kind == NAN:
            return
    if (fn, dataset) in HAND:
        _compare(fn, result, HAND[fn, dataset], f"{fn} on {dataset} (by hand)")
    reference = FUNCTIONS[fn].reference
    if reference is not None and kind == VALUE:
        _compare(fn, result, reference(maps, masks), f"{fn} on {dataset}")


def _call_quietly(fn, maps, masks):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_ADVICE)
        return FUNCTIONS[fn].call(maps, masks)


def test_table_names_known_functions_and_sets():
    assert set(EXPECTED) <= set(FUNCTIONS)
    for cells in EXPECTED.values():
        assert set(cells) <= set(DATA)
    assert {fn for fn, _ in HAND} <= set(FUNCTIONS) and {ds for _, ds in HAND} <= set(DATA)


# ----------------------------------------------------------------------------------------------
# evaluate: every metric at once; each nan names its metric in an UndefinedMetricWarning


@pytest.mark.parametrize("dataset", list(DATA))
def test_evaluate(dataset):
    maps, masks = DATA[dataset]
    result, error, undefined, others = _call("evaluate", maps, masks)
    assert error is None
    assert not others, [str(w.message) for w in others]
    messages = " ".join(str(w.message) for w in undefined)
    for name, value in result.items():
        if math.isnan(value):
            assert f"{name}:" in messages, (name, messages)
    pixel = (
        math.nan
        if dataset in ONE_CLASS
        else ref.reference_auroc(_canonical(maps).ravel(), masks.ravel())
    )
    np.testing.assert_allclose(result["pixel_auroc"], pixel, rtol=1e-12)
    scores, labels = _image_level(_canonical(maps), masks)
    image = ref.reference_auroc(scores, labels) if 0 < labels.sum() < labels.size else math.nan
    np.testing.assert_allclose(result["image_auroc"], image, rtol=1e-12)
    aupro = math.nan if dataset in ONE_CLASS else ref.reference_aupro(_canonical(maps), masks)
    np.testing.assert_allclose(result["aupro"], aupro, rtol=1e-9)


# ----------------------------------------------------------------------------------------------
# the PIMO results without a normal image keep their types and arity


@pytest.mark.parametrize("num_thresholds", [CURVE_K, None])
@pytest.mark.parametrize("dataset", sorted(NO_NORMAL_IMAGE))
def test_pimo_without_normal_image_keeps_shapes(dataset, num_thresholds):
    maps, masks = DATA[dataset]
    n = maps.shape[0]
    with pytest.warns(am.UndefinedMetricWarning, match="No normal image"):
        curves = am.pimo_curves(maps, masks, num_thresholds=num_thresholds)
    k = 1 if num_thresholds is None else num_thresholds
    assert isinstance(curves, am.PimoCurves)
    assert curves.thresholds.shape == curves.shared_fpr.shape == (k,)
    assert curves.per_image_tpr.shape == (n, k) and np.isnan(curves.per_image_tpr).all()
    assert curves.image_classes.tolist() == [1] * n
    with pytest.warns(am.UndefinedMetricWarning, match="No normal image") as record:
        result = am.aupimo(maps, masks, fpr_bounds=(1e-3, 1e-2), num_thresholds=num_thresholds)
    assert len(record) == 1
    assert isinstance(result, am.AupimoResult) and len(result) == 6
    assert result.per_image.shape == (n,) and np.isnan(result.per_image).all()
    assert math.isnan(result.mean) and result.num_points == 0
    assert result.fpr_bounds == (1e-3, 1e-2)
    assert all(math.isnan(t) for t in result.threshold_bounds)
    # the streaming AUPIMO agrees
    with pytest.warns(am.UndefinedMetricWarning):
        streamed = am.aupimo_from_histogram(am.pimo_histogram(maps, masks))
    assert math.isnan(streamed.mean)


def test_aupimo_without_anomalous_image_is_nan():
    maps, masks = DATA["all_normal"]
    for k in (PIMO_K, None):
        with pytest.warns(am.UndefinedMetricWarning, match="No anomalous image") as record:
            result = am.aupimo(maps, masks, fpr_bounds=PIMO_BOUNDS, num_thresholds=k, force=True)
        assert len(record) == 1
        assert np.isnan(result.per_image).all() and math.isnan(result.mean)
        assert result.image_classes.tolist() == [0, 0, 0]


def test_tied_normal_pixels_keep_the_value_error():
    # a lower bound the data cannot reach stays a ValueError, in both modes
    maps, masks = DATA["equal_scores"]
    for k in (PIMO_K, None):
        with pytest.raises(ValueError, match="smallest shared FPR the data can reach, 1 "):
            am.aupimo(maps, masks, fpr_bounds=(0.5, 1.0), num_thresholds=k, force=True)


def test_bootstrap_of_one_image():
    maps, masks = DATA["single_image"]
    with pytest.warns(am.UndefinedMetricWarning, match="1 image") as record:
        ci = am.bootstrap_ci(am.auroc, maps, masks, n_resamples=10)
    assert len(record) == 1
    assert math.isnan(ci.low) and math.isnan(ci.high) and ci.n_resamples == 0
    assert ci.estimate == ref.reference_auroc(maps.ravel(), masks.ravel())


def test_empty_input_stays_a_value_error():
    with pytest.raises(ValueError, match="must not be empty"):
        am.aupimo(np.zeros((0, 4, 4)), np.zeros((0, 4, 4), bool))
    with pytest.raises(ValueError, match="must not be empty"):
        am.pimo_curves(np.zeros((0, 4, 4)), np.zeros((0, 4, 4), bool), num_thresholds=None)
    with pytest.raises(ValueError, match="must not be empty"):
        am.bootstrap_ci(am.auroc, np.zeros(0), np.zeros(0, bool))


# ----------------------------------------------------------------------------------------------
# property: any degenerate data set, any function -> a value, or nan with the warning


KINDS = ["all_normal", "no_normal_image", "full_masks", "single_pixel", "single_image"]
KINDS += ["equal_scores", "two_classes"]
DTYPES = [np.float16, np.float32, np.float64, np.int64, np.bool_]


@st.composite
def degenerate_data(draw):
    kind = draw(st.sampled_from(KINDS))
    dtype = draw(st.sampled_from(DTYPES))
    n = 1 if kind in ("single_pixel", "single_image") else draw(st.integers(1, 4))
    h, w = (1, 1) if kind == "single_pixel" else (draw(st.integers(1, 5)), draw(st.integers(1, 5)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    values = rng.random((n, h, w))
    if draw(st.booleans()):
        values = np.round(values * 4) / 4  # ties
    if kind == "equal_scores":
        values = np.full((n, h, w), 0.75)
    if dtype == np.bool_:
        maps = values > 0.5
    elif dtype == np.int64:
        maps = np.round(values * 9).astype(np.int64)
    else:
        maps = values.astype(dtype)
    masks = rng.random((n, h, w)) < draw(st.sampled_from([0.2, 0.5, 0.9]))
    if kind == "all_normal":
        masks[:] = False
    elif kind == "full_masks":
        masks[:] = True
    elif kind == "no_normal_image":
        masks.reshape(n, -1)[:, 0] = True
    elif kind in ("equal_scores", "two_classes") and n > 1:
        masks[0] = False
        masks[-1].flat[0] = True
    return maps, masks


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=degenerate_data(), fn=st.sampled_from(sorted(FUNCTIONS)))
def test_value_or_nan_with_warning(data, fn):
    maps, masks = data
    result, error, undefined, others = _call(fn, maps, masks)
    if error is not None:
        allowed = CARVE_OUTS.get(fn, [])
        assert any(isinstance(error, e) and f in str(error) for e, f in allowed), repr(error)
        return
    assert not others, [str(w.message) for w in others]
    has_nan = np.isnan(_checked(fn, result)).any()
    if has_nan:
        assert undefined, f"{fn}: nan without an UndefinedMetricWarning"
    elif fn not in WARNS_WITH_VALUE:
        assert not undefined, f"{fn}: a value with {[str(w.message) for w in undefined]}"
