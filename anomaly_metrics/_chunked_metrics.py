"""Exact pixel metrics as passes over chunks (shared by the out-of-core and the Dask functions).

Every function here takes a *runner* (``runner.map_reduce(name, stage, *params)`` runs the
per-chunk ``stage`` over every chunk and merges the partial results in chunk order, see
:mod:`._chunked_source`) and returns what the in-memory function of the same name returns on the
concatenation of the chunks, to the last bit: the counts are the same integers and the float
operations after them are the ones of the in-memory code.

The counting primitive split in two passes:

1. gather the positives (a few percent of the pixels) in chunk order, with their per-region
   weight for AU-PRO, and the number of negatives;
2. after sorting the positives, count every chunk's negatives into the ties and gaps of their
   distinct scores and add the int64 counts (in place locally, see :mod:`._chunked_counts`,
   which also says how each step frees what the next one does not need).

Stages are module-level functions so that Dask can ship them to worker processes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._chunked_counts import (
    _SAMPLE_PER_CHUNK,
    GapCounts,
    background_floor,
    background_sample,
    distinct_levels,
    narrow,
)
from ._components import _region_ids
from ._counts import _count_into_gaps, _Levels
from ._f1 import _adaptive_threshold_from_levels, _f1_max_from_levels
from ._pro import _areas_from_levels, _at_or_above_lowest, _aupro_undefined, _floor_holds
from ._ranking import _aupr_from_levels, _auroc_from_levels
from ._spro import _capped_weights, _Channels, _spro_undefined
from ._warnings import warn_undefined

# ----------------------------------------------------------------------------------------------
# stages (one chunk each; inputs are checked chunks)


def stage_positives(
    values: NDArray[Any],
    labels: NDArray[np.bool_],
    regions: bool,
    images: bool,
    sample: bool = False,
) -> dict[str, Any]:
    """Pass 1: positives in order, negatives' count, score range, dtype (+ regions, images,
    a sample of the negatives for AU-PRO's floor)."""
    flat, gt = values.reshape(-1), labels.reshape(-1)
    part: dict[str, Any] = {
        "cat_pos": [flat[gt]],
        "sum_neg": int(gt.size - np.count_nonzero(gt)),
        "min_lo": float(flat.min()),
        "max_hi": float(flat.max()),
        "set_dtype": frozenset({values.dtype.str}),
        "set_image": frozenset({values.shape[1:]}) if values.ndim == 3 else frozenset(),
    }
    if regions:  # weights 1 / size are made after the sort (_chunked_counts.sorted_positives)
        ids, sizes = _region_ids(labels, 8)
        part["cat_ids"] = [ids]
        part["cat_sizes"] = [sizes]
        part["sum_regions"] = int(sizes.size)
    if sample:
        part.update(background_sample(flat, ~gt))
    if images:
        part["cat_image_max"] = [values.max(axis=(1, 2))]
        part["cat_image_label"] = [labels.reshape(labels.shape[0], -1).any(axis=1)]
    return part


def stage_gaps(
    values: NDArray[Any], labels: NDArray[np.bool_], u: NDArray[np.float64]
) -> dict[str, Any]:
    """Pass 2: the chunk's negatives counted into the ties and gaps of ``u``.

    Locally ``u`` is a :class:`GapCounts` that counts in place (nothing returned); on Dask the
    block's counts are returned, int32 when they fit.
    """
    return count_gaps([(values.reshape(-1), labels.reshape(-1))], u)


def count_gaps(chunks: list[tuple[NDArray[Any], NDArray[np.bool_]]], u: Any) -> dict[str, Any]:
    """The negatives of flat ``(values, labels)`` pairs counted into ``u`` (see stage_gaps)."""
    if isinstance(u, GapCounts):
        u.count(chunks)
        return {}
    eq, gap = _count_into_gaps(chunks, False, u)
    n = sum(v.shape[0] for v, _ in chunks)
    return {"sum_eq": narrow(eq, n), "sum_gap": narrow(gap, n)}


def stage_spro_positives(ch: _Channels) -> dict[str, Any]:
    """AU-sPRO's pass 1: the channel pixels' scores and capped weights, the counts."""
    parts = [scores[union] for scores, union in zip(ch.scores, ch.union)]
    dtype = np.result_type(*(s.dtype for s in ch.scores))
    step = max(1, sum(s.shape[0] for s in ch.scores) // _SAMPLE_PER_CHUNK)
    sample = [s[::step][~u[::step]] for s, u in zip(ch.scores, ch.union)]
    return {
        "cat_pos": [np.concatenate(parts, dtype=dtype) if parts else np.zeros(0, dtype)],
        "cat_weights": [_capped_weights(ch)],
        "sum_neg": int(ch.n_background),
        "sum_channels": int(ch.n_channels),
        "cat_bg_sample": [np.concatenate(sample, dtype=dtype)],
        "cat_bg_step": [np.full(sum(x.shape[0] for x in sample), step, np.int64)],
    }


def stage_spro_gaps(ch: _Channels, u: NDArray[np.float64]) -> dict[str, Any]:
    """AU-sPRO's pass 2: the pixels outside every channel counted into the gaps of ``u``."""
    return count_gaps(list(zip(ch.scores, ch.union)), u)


def stage_pro(values: NDArray[Any], labels: NDArray[np.bool_], threshold: float) -> dict[str, Any]:
    """PRO's one pass: pixels detected and size of each region of the chunk."""
    ids, sizes = _region_ids(labels, 8)
    region_scores = values.reshape(-1)[labels.reshape(-1)]
    detected = np.bincount(ids[region_scores >= np.float64(threshold)], minlength=sizes.size)
    return {"cat_detected": [detected], "cat_sizes": [sizes]}


# ----------------------------------------------------------------------------------------------
# the counts


def check_image_size(part: dict[str, Any]) -> None:
    """Chunks of segmentation metrics must share one image size."""
    if len(part["set_image"]) > 1:
        sizes = sorted(part["set_image"])
        raise ValueError(
            f"`anomaly_maps` chunks must all have the same image size, got {sizes[:4]}."
        )


def concat(parts: list[NDArray[Any]]) -> NDArray[Any]:
    """The concatenation of the partial arrays (the first one itself when alone)."""
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def gap_counts(
    runner: Any, gaps: Any, u: NDArray[np.float64], n_neg: int
) -> tuple[NDArray[Any], NDArray[Any]]:
    """Pass 2 (the stage ``gaps`` of every chunk): the negatives' (eq, gap) counts against ``u``.

    Counted in place on a local runner (:class:`GapCounts`), summed from the blocks' counts
    on Dask; no pass when there is nothing to count.
    """
    if u.shape[0] == 0:
        return np.zeros(0, np.int64), np.array([n_neg], np.int64)
    if n_neg == 0:
        return np.zeros(u.shape[0], np.int64), np.zeros(u.shape[0] + 1, np.int64)
    if getattr(runner, "counts_in_place", False):
        counter = GapCounts(u)
        runner.map_reduce("count", gaps, counter)
        return counter.totals()
    counted = runner.map_reduce("count", gaps, u)
    return counted.pop("sum_eq"), counted.pop("sum_gap")


def levels_from_positives(
    runner: Any,
    part: dict[str, Any],
    weighted: bool,
    gaps: Any = stage_gaps,
    *,
    floor: float | None = None,
) -> _Levels:
    """``_binary_levels`` of the chunks from pass 1's ``part``, with the counting pass.

    The positives are sorted exactly as ``_binary_levels`` sorts them (a stable argsort when
    they carry weights), so the thresholds, counts and weight sums are the same. Consumes the
    positives of `part` (see :mod:`._chunked_counts`).
    """
    n_neg = int(part["sum_neg"])
    u, n_p, w_p, n_pos = distinct_levels(part, weighted, floor)
    eq, gap = gap_counts(runner, gaps, u, n_neg)
    return _Levels(u, n_p, w_p, eq, gap, n_pos, n_neg)


def pixel_levels(runner: Any) -> tuple[_Levels, dict[str, Any]]:
    """Per-level counts at the positives' thresholds (pass 1 and 2), and pass 1's result."""
    part = runner.map_reduce("positives", stage_positives, False, False)
    return levels_from_positives(runner, part, False), part


# ----------------------------------------------------------------------------------------------
# metrics


def auroc(runner: Any, max_fpr: float | None) -> float:
    return _auroc_from_levels(pixel_levels(runner)[0], max_fpr)


def aupr(runner: Any) -> float:
    return _aupr_from_levels(pixel_levels(runner)[0])


def f1_max(runner: Any) -> tuple[float, float]:
    lv = pixel_levels(runner)[0]
    if lv.n_pos == 0 or lv.n_neg == 0:
        missing = "positive" if lv.n_pos == 0 else "negative"
        warn_undefined(f"No {missing} samples in `labels`: F1 max is undefined (nan).")
        return float("nan"), float("nan")
    return _f1_max_from_levels(lv)


def f1_adaptive_threshold(runner: Any) -> float:
    lv, part = pixel_levels(runner)
    return _adaptive_threshold_from_levels(lv, part["min_lo"], part["max_hi"])


def pro(runner: Any, threshold: float) -> float:
    part = runner.map_reduce("regions", stage_pro, threshold)
    sizes = concat(part["cat_sizes"])
    if sizes.size == 0:
        warn_undefined("No defect regions in `masks`: PRO is undefined (nan).")
        return float("nan")
    detected = concat(part["cat_detected"])
    return float(np.mean(detected / sizes))


def levels_for_cut(
    runner: Any, stage: Any, params: tuple[Any, ...], part: dict[str, Any], gaps: Any, limit: float
) -> _Levels:
    """Weighted per-level counts for the areas up to `limit` (AU-PRO, AU-sPRO), from `part`.

    Only the positives at or above the sampled background floor are kept (the in-memory
    ``_pro._levels_for_cut``, same areas to the last bit); when the counts show the curve does
    not pass `limit` above the floor (a poor sample), pass 1 is read again and every positive
    is counted.
    """
    n_neg = int(part["sum_neg"])
    floor = background_floor(part, limit, n_neg)
    lv = levels_from_positives(runner, part, True, gaps, floor=floor)
    if floor is None or _floor_holds(_at_or_above_lowest(lv), limit, n_neg):
        return lv
    del lv
    part = runner.map_reduce("positives again", stage, *params)
    return levels_from_positives(runner, part, True, gaps)


def aupro(runner: Any, limits: tuple[float, ...], one: bool) -> float | tuple[float, ...]:
    params = (True, False, True)
    part = runner.map_reduce("positives", stage_positives, *params)
    check_image_size(part)
    n_regions = int(part["sum_regions"])
    if _aupro_undefined(n_regions, int(part["sum_neg"])):
        areas: tuple[float, ...] = (float("nan"),) * len(limits)
    else:
        lv = levels_for_cut(runner, stage_positives, params, part, stage_gaps, max(limits))
        del part
        areas = _areas_from_levels(lv, n_regions, limits)
    return areas[0] if one else areas


def auspro(runner: Any, limits: tuple[float, ...], one: bool) -> float | tuple[float, ...]:
    part = runner.map_reduce("positives", stage_spro_positives)
    n_channels = int(part["sum_channels"])
    if _spro_undefined(n_channels, int(part["sum_neg"]), "AU-sPRO"):
        areas: tuple[float, ...] = (float("nan"),) * len(limits)
    else:
        lv = levels_for_cut(runner, stage_spro_positives, (), part, stage_spro_gaps, max(limits))
        del part
        areas = _areas_from_levels(lv, n_channels, limits)
    return areas[0] if one else areas
