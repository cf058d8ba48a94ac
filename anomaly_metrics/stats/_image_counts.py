"""Per-image counts at shared thresholds: every bootstrap resample of AUROC / AU-PRO from them.

A resample draws images with replacement; image ``i`` drawn ``w_i`` times adds ``w_i`` times its
pixels to every count of the counting primitive. So the counts of any resample at a threshold are
the multiplicity-weighted sums of the images' own counts there. This module gathers, once, each
image's counts at the distinct *positive* scores of the whole set (the thresholds of
``_binary_counts(..., thresholds="positives")``): its positive mass equal to each threshold, and
its negatives equal to it or strictly between it and the next one, counted by the core's gap
counter (``_gap_count_kernel`` below, one lookup table for all images). A resample's counts are then one sparse product with its
multiplicities (``scipy.sparse``), and its area comes from the same code as :func:`~anomaly_metrics.auroc` and
:func:`~anomaly_metrics.aupro` (``_cumulate``, then ``_auroc_from_counts`` /
``_aupro_from_counts``).

A resample's positive thresholds are a subset of the set's; the thresholds it lacks carry no
positive mass and only split a horizontal segment of its curve, so the area is the one of calling
the metric on the resample (up to float rounding). AU-PRO drops, as ``aupro`` does, the positives
below a floor under which the curve is past ``fpr_limit``: here the lowest of the images' own
floors (``_background_floor`` image by image), under which every image, hence every resample, has
more than ``fpr_limit`` of its background above the threshold.
"""

from __future__ import annotations

from itertools import pairwise
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from numba import njit
from numpy.typing import NDArray

from .._components import _region_ids
from .._counts import _cumulate
from .._parallel import num_workers, run_tasks, split_range
from .._pro import _aupro_from_counts, _background_floor
from .._ranking import _auroc_from_counts
from .._search import tie_or_gap
from .._validation import check_maps_and_masks, check_scores_and_labels

if TYPE_CHECKING:
    import scipy.sparse

__all__ = ["ImageCounts", "aupro_image_counts", "auroc_image_counts", "resampled_areas"]

# Resamples per block: at most this many (resample, threshold) entries of each block's counts.
_BLOCK_ENTRIES = 1 << 21
# Up to this many thresholds, a block's counts are three sparse-dense products (else one
# sparse product per resample: no (resamples, thresholds) temporaries).
_SMALL = 1 << 12
# Work (resamples x stored counts) per extra worker thread.
_WORK_PER_WORKER = 1 << 24


@njit(cache=True, nogil=True)
def _bucket_table_kernel(u, lo, scale, nbuckets):  # pragma: no cover - compiled
    """``start[b]`` = first index of ``u`` whose bucket is >= b (for :func:`_gap_count_kernel`).

    Inputs are not validated; call through `_bucket_table`.
    """
    m = u.shape[0]
    start = np.empty(nbuckets + 1, np.int64)
    j = 0
    for b in range(nbuckets + 1):
        while j < m and min(np.int64((u[j] - lo) * scale), nbuckets - 1) < b:
            j += 1
        start[b] = j
    return start


@njit(cache=True, nogil=True)
def _gap_count_kernel(values, labels, which, u, start, scale, eq, gap):  # pragma: no cover
    """Count ``values[labels == which]`` into the ties (``eq``) and gaps of the sorted ``u``.

    ``eq[j]`` counts values equal to ``u[j]``; ``gap[j]`` values strictly between ``u[j-1]`` and
    ``u[j]`` (``gap[0]``: below ``u[0]``, ``gap[m]``: above ``u[-1]``). A value is located by a
    monotone bucket function, exact because every ``u`` in another bucket is on the right side of
    it, then a binary search inside its bucket. This is one streaming pass over the data with a
    small lookup: NumPy would need ``searchsorted`` (a cold binary search per element) or a sort.
    Inputs are not validated; call through `_bucket_table` (the bootstrap, image by image, with one table for all images).
    """
    m = u.shape[0]
    lo = u[0]
    hi = u[m - 1]
    nbuckets = start.shape[0] - 1
    for i in range(values.shape[0]):
        if labels[i] != which:
            continue
        x = np.float64(values[i])
        if x < lo:
            gap[0] += 1
            continue
        if x > hi:
            gap[m] += 1
            continue
        b = min(np.int64((x - lo) * scale), nbuckets - 1)
        j, tie = tie_or_gap(u, x, start[b], start[b + 1])
        if tie:
            eq[j] += 1
        else:
            gap[j] += 1


def _bucket_table(u: NDArray[np.float64]) -> tuple[NDArray[np.int64], float]:
    """``(start, scale)``: the lookup of :func:`_gap_count_kernel` for ascending distinct ``u``."""
    span = float(u[-1] - u[0])
    nbuckets = int(min(max(2 * u.shape[0], 1), 1 << 22))
    scale = nbuckets / span if span > 0 and np.isfinite(nbuckets / span) else 0.0
    return _bucket_table_kernel(u, u[0], scale, nbuckets), scale


class ImageCounts(NamedTuple):
    """Counts of every image at the set's distinct positive scores (ascending ``u``).

    The sparse matrices have one row per threshold and one column per image; ``gap`` has one
    more row in front (negatives below ``u[0]``: never used, left empty).
    """

    u: NDArray[np.float64]  # (K,) distinct positive scores kept, ascending
    pos: scipy.sparse.csr_matrix  # (K, N) positive mass of image j equal to u[k]
    eq: scipy.sparse.csr_matrix  # (K, N) negatives of image j equal to u[k]
    gap: scipy.sparse.csr_matrix  # (K + 1, N) negatives of image j in (u[k - 1], u[k])
    n_pos: NDArray[np.float64]  # (N,) positives per image (AUROC)
    n_neg: NDArray[np.float64]  # (N,) negatives per image
    n_regions: NDArray[np.float64] | None  # (N,) regions per image (AU-PRO), else None
    fpr_limit: float | None  # AU-PRO's limit, or None for AUROC


def _image_counts(
    scores: NDArray[Any],
    labels: NDArray[np.bool_],
    weights: NDArray[np.float64] | None,
    floor: float | None,
    n_regions: NDArray[np.float64] | None,
    fpr_limit: float | None,
) -> ImageCounts:
    """Gather :class:`ImageCounts` from checked ``(N, P)`` scores and labels (not validated).

    ``weights``: one per positive, in the order of ``scores[labels]`` (AU-PRO), else unit mass;
    positives below ``floor`` are dropped (their negatives fall below ``u[0]``, into the unused
    first gap).
    """
    import scipy.sparse  # not at the top: it would slow down ``import anomaly_metrics``

    n = scores.shape[0]
    image = np.nonzero(labels)[0]
    values = scores[labels]
    mass = np.ones(values.shape[0]) if weights is None else weights
    n_pos = np.bincount(image, minlength=n).astype(np.float64)
    n_neg = labels.shape[1] - n_pos
    if floor is not None:
        kept = values >= np.float64(floor)
        image, values, mass = image[kept], values[kept], mass[kept]
    u, level = np.unique(values.astype(np.float64), return_inverse=True)
    k = u.shape[0]
    pos = scipy.sparse.csr_matrix((mass, (level.reshape(-1), image)), shape=(k, n))
    eq_rows, eq_cols, eq_vals, gap_rows, gap_cols, gap_vals = [], [], [], [], [], []
    if k:
        start, scale = _bucket_table(u)
        for i in range(n):
            eq_i, gap_i = np.zeros(k, np.int64), np.zeros(k + 1, np.int64)
            _gap_count_kernel(scores[i], labels[i], False, u, start, scale, eq_i, gap_i)
            nz = np.flatnonzero(eq_i)
            eq_rows.append(nz)
            eq_cols.append(np.full(nz.size, i))
            eq_vals.append(eq_i[nz].astype(np.float64))
            nz = np.flatnonzero(gap_i[1:]) + 1
            gap_rows.append(nz)
            gap_cols.append(np.full(nz.size, i))
            gap_vals.append(gap_i[nz].astype(np.float64))

    def sparse(rows: list[Any], cols: list[Any], vals: list[Any], shape: tuple[int, int]) -> Any:
        if not rows:
            return scipy.sparse.csr_matrix(shape)
        data = (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols)))
        return scipy.sparse.csr_matrix(data, shape=shape)

    eq = sparse(eq_rows, eq_cols, eq_vals, (k, n))
    gap = sparse(gap_rows, gap_cols, gap_vals, (k + 1, n))
    return ImageCounts(u, pos, eq, gap, n_pos, n_neg, n_regions, fpr_limit)


def auroc_image_counts(scores: Any, labels: Any, n: int) -> ImageCounts:
    """:class:`ImageCounts` for AUROC of ``n`` images (``scores`` of any shape ``(n, ...)``)."""
    s, y = check_scores_and_labels(scores, labels)
    return _image_counts(s.reshape(n, -1), y.reshape(n, -1), None, None, None, None)


def aupro_image_counts(anomaly_maps: Any, masks: Any, fpr_limit: float) -> ImageCounts:
    """:class:`ImageCounts` for AU-PRO: region pixels weigh ``1 / region size``."""
    maps, m = check_maps_and_masks(anomaly_maps, masks)
    n = maps.shape[0]
    ids, sizes = _region_ids(m, 8)
    flat_maps, flat_masks = maps.reshape(n, -1), m.reshape(n, -1)
    region_image = np.zeros(sizes.size, np.int64)
    region_image[ids] = np.nonzero(flat_masks)[0]
    n_regions = np.bincount(region_image, minlength=n).astype(np.float64)
    floors = []
    for i in range(n):
        n_background = int(flat_masks.shape[1] - np.count_nonzero(flat_masks[i]))
        if n_background:
            floors.append(_background_floor(flat_maps[i], flat_masks[i], n_background, fpr_limit))
    floor = None if not floors or any(f is None for f in floors) else min(floors)
    weights = 1.0 / sizes.astype(np.float64)[ids]
    return _image_counts(flat_maps, flat_masks, weights, floor, n_regions, fpr_limit)


def _areas_of_block(st: ImageCounts, w: NDArray[np.float64]) -> NDArray[np.float64]:
    """Metric of each resample of a block (rows of multiplicities ``w``); nan when undefined."""
    if st.u.shape[0] <= _SMALL:  # few thresholds: the whole block in three products
        block = [np.ascontiguousarray((m @ w.T).T) for m in (st.pos, st.eq, st.gap)]
    n_neg = w @ st.n_neg
    total = w @ (st.n_pos if st.n_regions is None else st.n_regions)
    out = np.full(w.shape[0], np.nan)
    for b in range(w.shape[0]):
        if n_neg[b] == 0.0 or total[b] == 0.0:
            continue  # one class missing: undefined, as the metric says with a warning
        # the resample's counts at every threshold: (K,), (K,), (K + 1,)
        if st.u.shape[0] <= _SMALL:
            pos, eq, gap = block[0][b], block[1][b], block[2][b]
        else:
            pos, eq, gap = st.pos @ w[b], st.eq @ w[b], st.gap @ w[b]
        if st.fpr_limit is None:
            c = _cumulate(st.u, pos, None, eq, gap, float(total[b]), float(n_neg[b]))
            out[b] = _auroc_from_counts(c)
        else:
            c = _cumulate(st.u, pos, pos, eq, gap, 0, float(n_neg[b]))
            out[b] = _aupro_from_counts(c, float(total[b]), st.fpr_limit)
    return out


def resampled_areas(st: ImageCounts, multiplicity: NDArray[np.float64]) -> NDArray[np.float64]:
    """AUROC or AU-PRO of every resample, rows of ``(B, N)`` image multiplicities, in threads."""
    n_resamples = multiplicity.shape[0]
    rows = max(1, _BLOCK_ENTRIES // (st.u.shape[0] + 2))
    n_blocks = -(-n_resamples // rows)
    stored = st.pos.nnz + st.eq.nnz + st.gap.nnz + 4 * st.u.shape[0]
    workers = num_workers(n_resamples * stored, _WORK_PER_WORKER, max_tasks=n_blocks)
    bounds = split_range(n_resamples, max(n_blocks, workers))
    spans = [(int(a), int(z)) for a, z in pairwise(bounds) if z > a]
    parts = run_tasks(lambda s: _areas_of_block(st, multiplicity[s[0] : s[1]]), spans, workers)
    return np.concatenate(parts)
