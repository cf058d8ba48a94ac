"""PIMO curves and AUPIMO (Bertoldo et al., BMVC 2024): per-image overlap at a shared low FPR.

Definitions (as the paper and anomalib 2.7)
    An image is *anomalous* iff its mask has a defect pixel, else *normal*. At a threshold ``t``
    a pixel is positive iff ``float64(score) >= float64(t)``. The **shared FPR** at ``t`` is the
    mean over normal images of their per-image FPR (every normal image has ``H * W`` pixels, so it
    equals the pooled count ``#normal pixels >= t / #normal pixels``, computed exactly that way).
    The PIMO curve of an anomalous image is its own TPR against the shared FPR; AUPIMO is its area
    over ``ln(shared FPR)`` between two FPR bounds, divided by ``ln(upper / lower)``.

Two curves, one module each
    *Linspace* (``num_thresholds=K``, default 300 000, the published definition,
    :mod:`anomaly_metrics._pimo_linspace`): ``K`` thresholds linearly spaced between the min and
    max of the normal images' scores; the integral is the trapezoid over the thresholds whose
    shared FPR is nearest each bound (no interpolation).
    *Exact* (``num_thresholds=None``, :mod:`anomaly_metrics._pimo_exact`): one curve point per
    distinct score, cut exactly at the bounds by linear interpolation in ``ln(FPR)``.
    (The *streaming* AUPIMO, histograms with a certified error bound, is
    :func:`anomaly_metrics.aupimo_from_histogram`.)

This module holds the results, the option checks, the checked images as consecutive batches
(:class:`_Prepared`, what both paths read), the public functions and their batched variants (the
torch adapter's entry points), and the dispatch to the two paths.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from ._pimo_bounds import _rank_for_fpr, _unreachable_error
from ._pimo_exact import _aupimo_exact, _pimo_curves_exact
from ._pimo_linspace import _aupimo_linspace, _pimo_curves_linspace
from ._validation import check_map_batches as _check_map_batches
from ._validation import check_maps_and_masks, check_real
from ._warnings import warn_undefined

__all__ = ["AupimoResult", "PimoCurves", "aupimo", "pimo_curves"]


class PimoCurves(NamedTuple):
    """Per-image overlap curves (see :func:`pimo_curves`)."""

    thresholds: NDArray[np.float64]  # (K,) ascending
    shared_fpr: NDArray[np.float64]  # (K,) non-increasing
    per_image_tpr: NDArray[np.float64]  # (N, K) non-increasing rows; nan rows for normal images
    image_classes: NDArray[np.int32]  # (N,) 1 anomalous, 0 normal


class AupimoResult(NamedTuple):
    """Area under the per-image overlap curves (see :func:`aupimo`)."""

    per_image: NDArray[np.float64]  # (N,) in [0, 1]; nan for normal images
    mean: float  # mean of per_image over the anomalous images
    num_points: int  # curve points (shared-FPR abscissae) in the integral
    fpr_bounds: tuple[float, float]
    threshold_bounds: tuple[float, float]  # (threshold at the upper FPR bound, at the lower one)
    image_classes: NDArray[np.int32]  # (N,) 1 anomalous, 0 normal


# ----------------------------------------------------------------------------------------------
# option checks


def _check_num_thresholds(num_thresholds: Any) -> int | None:
    if num_thresholds is None:
        return None
    if isinstance(num_thresholds, (bool, np.bool_)) or not isinstance(
        num_thresholds, (int, np.integer)
    ):
        raise TypeError(
            f"`num_thresholds` must be an int >= 2 or None (the exact curve), got "
            f"{type(num_thresholds).__name__} {num_thresholds!r}."
        )
    if num_thresholds < 2:
        raise ValueError(
            f"`num_thresholds` must be an int >= 2 or None (the exact curve), got {num_thresholds}."
        )
    return int(num_thresholds)


def _check_fpr_bounds(fpr_bounds: Any) -> tuple[float, float]:
    if isinstance(fpr_bounds, (str, bytes)) or not isinstance(fpr_bounds, (Sequence, np.ndarray)):
        raise TypeError(
            f"`fpr_bounds` must be a pair (lower, upper) of FPRs, got {type(fpr_bounds).__name__} "
            f"{fpr_bounds!r}."
        )
    if len(fpr_bounds) != 2:
        raise ValueError(
            f"`fpr_bounds` must be a pair (lower, upper) of FPRs, got {len(fpr_bounds)} values."
        )
    lo = check_real(fpr_bounds[0], "fpr_bounds[0]")
    hi = check_real(fpr_bounds[1], "fpr_bounds[1]")
    if not 0.0 < lo < 1.0:
        raise ValueError(f"`fpr_bounds[0]` (the lower FPR) must be in (0, 1), got {lo}.")
    if not 0.0 < hi <= 1.0:
        raise ValueError(f"`fpr_bounds[1]` (the upper FPR) must be in (0, 1], got {hi}.")
    if not lo < hi:
        raise ValueError(
            f"`fpr_bounds` must be increasing (lower < upper), got ({lo}, {hi}): swap them?"
        )
    return lo, hi


# ----------------------------------------------------------------------------------------------
# the checked images, as consecutive batches


class _Prepared(NamedTuple):
    """Checked images as consecutive batches (one batch for the public functions)."""

    batches: list[tuple[NDArray[Any], NDArray[np.bool_]]]  # (B, D) maps (one dtype), masks
    starts: NDArray[np.int64]  # (n_batches + 1,) first image of each batch, then N
    classes: NDArray[np.int32]  # (N,)
    normal: NDArray[np.int64]  # indices of normal images
    anomalous: NDArray[np.int64]  # indices of anomalous images

    @property
    def n_images(self) -> int:
        return int(self.starts[-1])

    @property
    def n_pixels(self) -> int:
        """Pixels per image."""
        return int(self.batches[0][0].shape[1])

    @property
    def n_normal_pixels(self) -> int:
        """Pixels of all normal images: the shared FPR's denominator."""
        return int(self.normal.shape[0]) * self.n_pixels

    @property
    def dtype(self) -> np.dtype[Any]:
        return self.batches[0][0].dtype

    def image(self, i: int) -> tuple[NDArray[Any], NDArray[np.bool_]]:
        """Scores and mask of image ``i``, flat."""
        b = int(np.searchsorted(self.starts, i, side="right")) - 1
        maps, masks = self.batches[b]
        j = i - int(self.starts[b])
        return maps[j], masks[j]

    def per_batch(
        self,
        images: NDArray[np.int64],
        call: Callable[[NDArray[Any], NDArray[np.bool_], NDArray[np.int64], int], object],
    ) -> None:
        """``call(maps, masks, local_images, start)`` for each batch holding some of ``images``.

        ``images`` are ascending global indices; ``local_images`` index the batch's ``(B, D)``
        arrays, and ``start`` is the batch's first global index (per-image outputs are written
        to ``out[start : start + B]``).
        """
        if len(self.batches) == 1:
            maps, masks = self.batches[0]
            call(maps, masks, images, 0)
            return
        cuts = np.searchsorted(images, self.starts)
        for b, (maps, masks) in enumerate(self.batches):
            lo, hi = int(cuts[b]), int(cuts[b + 1])
            if hi > lo:
                start = int(self.starts[b])
                call(maps, masks, images[lo:hi] - start, start)

    def normal_rank(self, fpr: float) -> int:
        """The fewest normal pixels whose share of them, computed in float64, is ``>= fpr``."""
        return _rank_for_fpr(fpr, self.n_normal_pixels)

    def unreachable_error(self, lo: float, n_top: int) -> ValueError:
        """The error for a lower FPR bound below the smallest shared FPR of these images.

        ``n_top`` is the number of normal pixels tied at the highest normal score.
        """
        return _unreachable_error(lo, n_top, self.n_normal_pixels)


def _prepare(anomaly_maps: Any, masks: Any) -> _Prepared:
    return _prepared([check_maps_and_masks(anomaly_maps, masks)])


def _prepare_batches(anomaly_maps: Sequence[Any], masks: Sequence[Any]) -> _Prepared:
    return _prepared(_check_map_batches(anomaly_maps, masks))


def _prepared(batches: list[tuple[NDArray[Any], NDArray[np.bool_]]]) -> _Prepared:
    flat = [(m.reshape(m.shape[0], -1), k.reshape(k.shape[0], -1)) for m, k in batches]
    sizes = [m.shape[0] for m, _ in flat]
    starts = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
    is_anomalous = np.concatenate([k.any(axis=1) for _, k in flat])
    normal = np.flatnonzero(~is_anomalous).astype(np.int64)
    anomalous = np.flatnonzero(is_anomalous).astype(np.int64)
    return _Prepared(flat, starts, is_anomalous.astype(np.int32), normal, anomalous)


# ----------------------------------------------------------------------------------------------
# public functions and their batched variants


def pimo_curves(
    anomaly_maps: Any, masks: Any, *, num_thresholds: int | None = 300_000
) -> PimoCurves:
    """Per-image overlap (PIMO) curves: each anomalous image's TPR against the shared FPR.

    Parameters
    ----------
    anomaly_maps : array-like of shape (N, H, W), (N, 1, H, W) or (H, W)
        Pixel anomaly scores, higher means more anomalous; float16/32/64 or int, finite.
    masks : array-like, same shape as `anomaly_maps`
        Ground truth, bool or 0/1: True marks defect pixels. An image whose mask has no defect
        pixel is *normal*, otherwise *anomalous*. Without a normal image the curves are
        undefined (nan, with a warning); without an anomalous image every TPR row is nan.
    num_thresholds : int >= 2 or None, default 300_000
        ``K`` thresholds linearly spaced between the min and the max of the normal images'
        scores (anomalib's and the paper's linspace curve; computed in the maps' dtype with
        ``torch.linspace``'s element formula). ``None`` gives the exact curve: every distinct
        score of the normal images and of the defect pixels within that range is a threshold.

    Returns
    -------
    PimoCurves
        ``thresholds`` (K,) float64, ascending (values of the maps' dtype);
        ``shared_fpr`` (K,) float64, non-increasing: the mean over normal images of their FPR;
        ``per_image_tpr`` (N, K) float64: each anomalous image's TPR, ``nan`` rows for normal
        images; ``image_classes`` (N,) int32: 1 anomalous, 0 normal. Without a normal image,
        ``thresholds``, ``shared_fpr`` and ``per_image_tpr`` are all nan (``K`` points, one
        for the exact curve). When every normal pixel has the same score ``v``, the linspace
        thresholds are ``K`` copies of ``v`` (shared FPR 1, as ``torch.linspace(v, v, K)``).

    Raises
    ------
    TypeError
        Non-numeric maps or masks, or a non-integer `num_thresholds`.
    ValueError
        Shapes that differ or are not (N, H, W) / (N, 1, H, W) / (H, W), empty or non-finite
        scores, masks not in {0, 1}, `num_thresholds` < 2, or more thresholds than the dtype
        resolves in the normal scores' range (an option the data cannot support).

    Warns
    -----
    UndefinedMetricWarning
        No normal image: the shared FPR is undefined (the curves are nan).

    See Also
    --------
    aupimo : the area under these curves in a low-FPR range, without building them.

    Notes
    -----
    A pixel is positive at threshold ``t`` iff ``float64(score) >= float64(t)``. The shared FPR
    is computed as ``#normal pixels >= t / #normal pixels``, which equals the mean of the
    per-image FPRs of normal images (all images have ``H * W`` pixels) and is correctly
    rounded. The curves take ``N * K * 8`` bytes; the exact curve of a real data set has
    millions of thresholds, so use :func:`aupimo` for the area.

    References
    ----------
    J. P. C. Bertoldo, D. Ameln, A. Vaidya, S. Akçay, "AUPIMO: Redefining Visual Anomaly
    Detection Benchmarks with High Speed and Low Tolerance", BMVC 2024, arXiv:2401.01984.

    Examples
    --------
    One normal image (90 pixels at 1, 9 at 2, one at 3) and two anomalous copies of it, one fully
    defective, one with the first 10 pixels defective:

    >>> import numpy as np
    >>> import anomaly_metrics as am
    >>> image = np.ones((10, 10), np.float32)
    >>> image.flat[:10] = 2.0
    >>> image.flat[0] = 3.0
    >>> maps = np.stack([image, image, image])
    >>> masks = np.zeros((3, 10, 10), bool)
    >>> masks[1] = True
    >>> masks[2].flat[:10] = True
    >>> curves = am.pimo_curves(maps, masks, num_thresholds=3)
    >>> curves.thresholds.tolist(), curves.shared_fpr.tolist()
    ([1.0, 2.0, 3.0], [1.0, 0.1, 0.01])
    >>> curves.per_image_tpr.tolist()
    [[nan, nan, nan], [1.0, 0.1, 0.01], [1.0, 1.0, 0.1]]
    >>> curves.image_classes.tolist()
    [0, 1, 1]
    """
    k = _check_num_thresholds(num_thresholds)
    return _pimo_curves_prepared(_prepare(anomaly_maps, masks), k)


def _pimo_curves_prepared(prep: _Prepared, k: int | None) -> PimoCurves:
    if prep.normal.size == 0:
        return _curves_without_normal_image(prep.classes, k)
    if k is None:
        thresholds, shared_fpr, tpr = _pimo_curves_exact(prep)
    else:
        thresholds, shared_fpr, tpr = _pimo_curves_linspace(prep, k)
    return PimoCurves(thresholds, shared_fpr, tpr, prep.classes)


def aupimo(
    anomaly_maps: Any,
    masks: Any,
    *,
    fpr_bounds: tuple[float, float] = (1e-5, 1e-4),
    num_thresholds: int | None = 300_000,
    force: bool = False,
) -> AupimoResult:
    """Area under each anomalous image's PIMO curve in a low shared-FPR range (AUPIMO).

    Parameters
    ----------
    anomaly_maps : array-like of shape (N, H, W), (N, 1, H, W) or (H, W)
        Pixel anomaly scores, higher means more anomalous; float16/32/64 or int, finite.
    masks : array-like, same shape as `anomaly_maps`
        Ground truth, bool or 0/1; images without defect pixels are normal. Without a normal
        image (no shared FPR) or without an anomalous image (nothing to score) AUPIMO is
        undefined: nan, with a warning.
    fpr_bounds : (float, float), default (1e-5, 1e-4)
        Shared-FPR range ``(lower, upper)``, ``0 < lower < upper <= 1``.
    num_thresholds : int >= 2 or None, default 300_000
        The linspace curve of anomalib and the paper (see :func:`pimo_curves`), or ``None`` for
        the exact curve.
    force : bool, default False
        Linspace curve only: integrate even when the range holds 30 points or fewer (otherwise a
        ``RuntimeError``, as anomalib).

    Returns
    -------
    AupimoResult
        ``per_image`` (N,) float64 in [0, 1], ``nan`` for normal images; ``mean``: their mean
        over the anomalous images; ``num_points``: the curve points (distinct shared FPRs,
        including the cuts of the exact mode) in the integral; ``fpr_bounds`` as given;
        ``threshold_bounds``: the thresholds at the upper and at the lower FPR bound (ascending;
        exact mode: the lowest distinct normal score whose shared FPR does not exceed each
        bound); ``image_classes`` (N,) int32, 1 anomalous, 0 normal. Undefined (no normal or
        no anomalous image): ``per_image`` all nan, ``mean`` nan, ``num_points`` 0,
        ``threshold_bounds`` (nan, nan).

    Raises
    ------
    TypeError, ValueError
        As :func:`pimo_curves`, plus bad `fpr_bounds` or `force`. A lower bound below the
        smallest reachable shared FPR (too few normal pixels, or all normal scores equal: the
        shared FPR is then 1 at every threshold) is a ``ValueError`` stating that FPR and how
        many normal pixels the bound needs: an option the data cannot support, not an undefined
        metric.
    RuntimeError
        Linspace curve: 30 points or fewer in the range without `force`, or both bounds on the
        same threshold (anomalib's exceptions and messages).

    Warns
    -----
    UndefinedMetricWarning
        No normal or no anomalous image (one warning; the result is nan).
    UserWarning
        Linspace curve: fewer than 300 points in the range, a forced computation, or a bound
        whose nearest shared FPR is more than 1 % away from it (anomalib logs the same).

    See Also
    --------
    pimo_curves : the full curves.

    Notes
    -----
    Linspace (the published definition, reproduces anomalib 2.7): the thresholds whose shared
    FPR is nearest each bound delimit the integral, ``np.trapezoid(tpr, ln(shared_fpr))`` over
    them, divided by ``ln(upper / lower)`` (the nominal bounds) and clipped to [0, 1].

    Exact (``num_thresholds=None``): the curve has a point at every distinct score. Between two
    consecutive distinct normal scores the shared FPR is constant while the TPR rises
    (vertical steps); at a normal score the FPR jumps, together with the TPR of defect pixels
    tied with it (a diagonal). The area under this polyline in ``(ln FPR, TPR)`` is taken
    exactly from ``ln(lower)`` to ``ln(upper)``, cutting the segments that cross the bounds by
    linear interpolation, then normalised the same way. It differs from the linspace value
    where a bound falls between curve points or defect scores fall between thresholds; the
    two agree when every distinct score is a threshold and the bounds are curve points.

    The computation never builds the ``(N, K)`` curves: only the thresholds inside the FPR
    range (the top ~``upper`` fraction of the normal pixels) need per-image counts. Memory
    beyond the inputs is ``O(K + top normal pixels)`` plus a small buffer per thread.

    References
    ----------
    J. P. C. Bertoldo, D. Ameln, A. Vaidya, S. Akçay, "AUPIMO: Redefining Visual Anomaly
    Detection Benchmarks with High Speed and Low Tolerance", BMVC 2024, arXiv:2401.01984.

    Examples
    --------
    The data of :func:`pimo_curves`: the first anomalous image scores like the normal one, the
    second ranks its defects on top.

    >>> import numpy as np
    >>> import anomaly_metrics as am
    >>> image = np.ones((10, 10), np.float32)
    >>> image.flat[:10] = 2.0
    >>> image.flat[0] = 3.0
    >>> maps = np.stack([image, image, image])
    >>> masks = np.zeros((3, 10, 10), bool)
    >>> masks[1] = True
    >>> masks[2].flat[:10] = True
    >>> result = am.aupimo(maps, masks, fpr_bounds=(0.01, 0.1), num_thresholds=None)
    >>> result.per_image.round(6).tolist(), round(result.mean, 6)
    ([nan, 0.055, 0.55], 0.3025)
    >>> result.threshold_bounds, result.num_points
    ((2.0, 3.0), 2)
    >>> linspace = am.aupimo(maps, masks, fpr_bounds=(0.01, 0.1))  # 300 000 thresholds
    >>> round(linspace.mean, 6)
    0.3025
    """
    k, lo, hi, forced = _check_aupimo_options(fpr_bounds, num_thresholds, force)
    return _aupimo_prepared(_prepare(anomaly_maps, masks), lo, hi, k, forced)


def _aupimo_checked(maps: NDArray[Any], masks: NDArray[np.bool_]) -> AupimoResult:
    """:func:`aupimo` with its default options, of maps and masks already checked
    (``check_maps_and_masks``: ``evaluate`` checks them once for every metric)."""
    k, lo, hi, forced = _check_aupimo_options((1e-5, 1e-4), 300_000, False)
    return _aupimo_prepared(_prepared([(maps, masks)]), lo, hi, k, forced)


def _check_aupimo_options(
    fpr_bounds: Any, num_thresholds: Any, force: Any
) -> tuple[int | None, float, float, bool]:
    k = _check_num_thresholds(num_thresholds)
    lo, hi = _check_fpr_bounds(fpr_bounds)
    if not isinstance(force, (bool, np.bool_)):
        raise TypeError(f"`force` must be a bool, got {type(force).__name__} {force!r}.")
    return k, lo, hi, bool(force)


def _aupimo_batches(
    anomaly_maps: Sequence[Any],
    masks: Sequence[Any],
    *,
    fpr_bounds: tuple[float, float] = (1e-5, 1e-4),
    num_thresholds: int | None = 300_000,
    force: bool = False,
) -> AupimoResult:
    """`aupimo` of the concatenation of ``(B, H, W)`` batches, without concatenating them.

    The same result bit for bit, warnings and errors as ``aupimo(np.concatenate(anomaly_maps),
    np.concatenate(masks), ...)``: the kernels run batch by batch over the same image chunks
    and their counts are summed (the torch adapter's path: no copy of the stored maps).
    """
    k, lo, hi, forced = _check_aupimo_options(fpr_bounds, num_thresholds, force)
    return _aupimo_prepared(_prepare_batches(anomaly_maps, masks), lo, hi, k, forced)


def _pimo_curves_batches(
    anomaly_maps: Sequence[Any], masks: Sequence[Any], *, num_thresholds: int | None = 300_000
) -> PimoCurves:
    """`pimo_curves` of the concatenation of ``(B, H, W)`` batches, without concatenating them.

    The same curves, bit for bit, and errors as on the concatenation (see `_aupimo_batches`).
    """
    k = _check_num_thresholds(num_thresholds)
    return _pimo_curves_prepared(_prepare_batches(anomaly_maps, masks), k)


def _aupimo_prepared(
    prep: _Prepared, lo: float, hi: float, k: int | None, force: bool
) -> AupimoResult:
    if prep.normal.size == 0 or prep.anomalous.size == 0:
        return _aupimo_without_a_class(prep.classes, lo, hi)
    if k is None:
        per_image, num_points, thr_bounds = _aupimo_exact(prep, lo, hi)
    else:
        per_image, num_points, thr_bounds = _aupimo_linspace(prep, lo, hi, k, force)
    per_image = np.clip(per_image / math.log(hi / lo), 0.0, 1.0)
    per_image[prep.normal] = np.nan
    mean = float(np.mean(per_image[prep.anomalous]))
    return AupimoResult(per_image, mean, num_points, (lo, hi), thr_bounds, prep.classes)


def _curves_without_normal_image(classes: NDArray[np.int32], k: int | None) -> PimoCurves:
    """nan curves, with one warning: without a normal image there is no shared FPR (and no
    thresholds between normal scores; the exact curve gets one point)."""
    warn_undefined(
        f"No normal image (a mask without defect pixels) among the {classes.size} images: "
        "the shared FPR, and with it the PIMO curves, is undefined (nan)."
    )
    n_points = 1 if k is None else k
    nan = np.full(n_points, np.nan)
    return PimoCurves(nan, nan.copy(), np.full((classes.size, n_points), np.nan), classes)


def _aupimo_without_a_class(classes: NDArray[np.int32], lo: float, hi: float) -> AupimoResult:
    """The nan result, with one warning, of a set without a normal or an anomalous image."""
    n_anomalous = int(np.count_nonzero(classes))
    n_normal = classes.size - n_anomalous
    missing = "normal" if n_normal == 0 else "anomalous"
    why = "no shared FPR" if n_normal == 0 else "no image to score"
    warn_undefined(
        f"No {missing} image among the {classes.size} images ({n_normal} normal, "
        f"{n_anomalous} anomalous): AUPIMO is undefined ({why}), nan."
    )
    nan = np.full(classes.size, np.nan)
    return AupimoResult(nan, math.nan, 0, (lo, hi), (math.nan, math.nan), classes)
