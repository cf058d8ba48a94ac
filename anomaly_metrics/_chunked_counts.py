"""The counting primitive of the chunked metrics, holding as little as it can at each step.

:func:`_counts._binary_levels` split over two passes (:mod:`._chunked_metrics`), written for
data whose positives alone fill much of the memory: the same integers and the same float
operations, but every array is dropped as soon as the next step no longer needs it.

* Pass 1's per-chunk lists are concatenated into one preallocated array, each part freed once
  copied (never the list and the concatenation whole at once).
* AU-PRO's positives carry an int32 region id (global over the chunks) and each region its size
  until after the sort; the float64 weight ``1 / size`` is made in sorted order (the same
  value per pixel as the in-memory ``1.0 / sizes[ids]``).
* Pass 2, run locally, counts every chunk into one pair of int64 tie / gap arrays per worker
  thread for the whole pass (:class:`GapCounts`), not new arrays per chunk and per thread that
  are then added; on Dask each block returns int32 counts (a block has fewer than 2**31 pixels)
  that the reduction adds into int64.
* AU-PRO and AU-sPRO keep only the positives at or above a *floor* (:func:`background_floor`)
  when the curve is sure to cross the FPR limit above it (the in-memory ``_levels_for_cut``):
  pass 2 then sorts only the background pixels above the floor and merely counts the rest.
* The counts are never cumulated into arrays: the metrics read the per-level counts
  (``_counts._Levels``) and sum them on the fly, with no polyline
  (``_integrate._levels_areas_kernel``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._counts import _SORT_CHUNK, _count_span_into
from ._levels import _merge_distinct_kernel
from ._parallel import SCORES_PER_WORKER, cut_at_batches, num_workers, run_tasks, split_range
from ._pro import _floor_share
from ._sorting import sort_method, sort_values


def take_concat(part: dict[str, Any], key: str) -> NDArray[Any]:
    """``np.concatenate(part.pop(key))``, each part freed as soon as it is copied."""
    parts = part.pop(key)
    if len(parts) == 1:
        return parts.pop()
    out = np.empty(sum(p.shape[0] for p in parts), np.result_type(*parts))
    parts.reverse()
    at = 0
    while parts:
        p = parts.pop()
        out[at : at + p.shape[0]] = p
        at += p.shape[0]
        del p
    return out


def region_ids(part: dict[str, Any]) -> tuple[NDArray[np.int32], NDArray[np.int64]]:
    """Pass 1's per-chunk region ids, numbered over all chunks (int32), and the region sizes."""
    sizes_parts = part.pop("cat_sizes")
    offsets = np.cumsum([0] + [s.shape[0] for s in sizes_parts])
    sizes = np.concatenate(sizes_parts) if sizes_parts else np.zeros(0, np.int64)
    ids_parts = part.pop("cat_ids")
    ids = np.empty(sum(p.shape[0] for p in ids_parts), np.int32)
    ids_parts.reverse()
    at = 0
    for k in range(len(ids_parts)):
        p = ids_parts.pop()
        np.add(p, np.int32(offsets[k]), out=ids[at : at + p.shape[0]])
        at += p.shape[0]
        del p
    return ids, sizes


def sorted_positives(
    part: dict[str, Any], weighted: bool
) -> tuple[NDArray[Any], NDArray[np.float64]]:
    """Pass 1's positives sorted as ``_binary_counts`` sorts them, with their weights.

    Weights come from ``cat_weights`` (per positive, float64) or from ``cat_ids`` /
    ``cat_sizes`` (``1 / region size``); a stable argsort keeps the positives' chunk order
    inside ties, so every per-threshold weight sum adds the same floats in the same order.
    Pops the keys it reads from `part`.
    """
    pos = take_concat(part, "cat_pos")
    if not weighted:
        sort_values(pos)
        return pos, np.empty(0, np.float64)
    order = np.argsort(pos, kind="stable")
    pos = pos[order]
    if "cat_ids" in part:
        ids, sizes = region_ids(part)
        ids = ids[order]
        del order
        w = (1.0 / sizes.astype(np.float64))[ids]
    else:
        weights = take_concat(part, "cat_weights")
        w = np.ascontiguousarray(weights[order], dtype=np.float64)
    return pos, w


# Background pixels sampled per chunk for the floor (every step-th pixel of the chunk).
_SAMPLE_PER_CHUNK = 2048


def background_sample(values: NDArray[Any], background: NDArray[np.bool_]) -> dict[str, Any]:
    """A chunk's strided sample of background scores, each standing for `step` pixels."""
    step = max(1, values.shape[0] // _SAMPLE_PER_CHUNK)
    sample = values[::step][background[::step]]
    return {"cat_bg_sample": [sample], "cat_bg_step": [np.full(sample.shape[0], step, np.int64)]}


def background_floor(part: dict[str, Any], fpr_limit: float, n_background: int) -> float | None:
    """A guess of a score with more than ``fpr_limit * n_background`` background pixels at or
    above it, from pass 1's samples (popped from `part`), a little below the weighted
    ``1 - fpr_limit`` quantile as the in-memory ``_pro._background_floor``; None when nothing
    would be gained. Unverified: the counts made with it are checked (``_pro._floor_holds``)."""
    sample = take_concat(part, "cat_bg_sample")
    steps = take_concat(part, "cat_bg_step")
    if fpr_limit >= 1.0 or n_background == 0 or sample.shape[0] == 0:
        return None
    share = _floor_share(fpr_limit, n_background, sample.shape[0])
    if share is None:
        return None
    order = np.argsort(sample, kind="stable")
    cumulated = np.cumsum(steps[order])
    k = int(np.searchsorted(cumulated, (1.0 - share) * cumulated[-1], side="left"))
    return float(sample[order[min(k, order.shape[0] - 1)]])


def distinct_levels(
    part: dict[str, Any], weighted: bool, floor: float | None = None
) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.float64] | None, int]:
    """(u, n_p, w_p or None, n_pos): the positives' distinct scores (ascending) and their counts.

    With `floor`, positives below it (in float64) are dropped first, as ``min_threshold`` of
    ``_binary_counts`` drops them: ``n_pos`` counts the kept ones.
    """
    pos, w = sorted_positives(part, weighted)
    if floor is not None:
        at = pos.dtype.type(floor)
        if float(at) == floor:  # a sampled score: always, unless dtypes differ
            k = int(np.searchsorted(pos, at, side="left"))
            pos = pos[k:]
            w = w[k:] if weighted else w
    u, n_p, w_p, n_neg = _merge_distinct_kernel(pos, w, pos[:0])
    n_pos = int(pos.shape[0])
    del pos, w, n_neg
    return u, n_p, (w_p if weighted else None), n_pos


class GapCounts:
    """Tie and gap counts of a local pass 2, counted in place chunk after chunk.

    One ``(eq, gap)`` pair per worker thread for the whole pass; each chunk's values are cut
    into one span per worker, gathered within ``[u[0], u[-1]]`` into a sort buffer, sorted and
    merged with ``u`` as ``_counts._count_into_gaps`` does. The counts are integers, so the
    totals are the same whatever the split.
    """

    def __init__(self, u: NDArray[np.float64]) -> None:
        self.u = u
        self.acc: list[tuple[NDArray[np.int64], NDArray[np.int64]]] = []

    def count(self, chunks: list[tuple[NDArray[Any], NDArray[np.bool_]]]) -> None:
        """Count the values of flat ``(values, labels)`` pairs whose label is False."""
        u = self.u
        m = u.shape[0]
        total = sum(v.shape[0] for v, _ in chunks)
        workers = num_workers(total, SCORES_PER_WORKER)
        while len(self.acc) < workers:
            self.acc.append((np.zeros(m, np.int64), np.zeros(m + 1, np.int64)))
        spans = [
            [(chunks[b][0][a:z], chunks[b][1][a:z]) for b, a, z in pieces]
            for pieces in cut_at_batches(
                split_range(total, workers), [v.shape[0] for v, _ in chunks]
            )
        ]
        dtype = np.result_type(*(v.dtype for v, _ in chunks))
        method = sort_method("float32") if dtype == np.float32 else "numpy"
        # the radix sort's scratch array is as long as its buffer: half as many values each
        chunk = _SORT_CHUNK // 2 if method == "radix" else _SORT_CHUNK

        def run(k: int) -> None:
            eq, gap = self.acc[k]
            _count_span_into(spans[k], False, u, eq, gap, dtype, chunk, method)

        if len(spans) == 1:
            run(0)
        else:
            run_tasks(run, list(range(len(spans))))

    def totals(self) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """The summed counts (the per-worker arrays are released)."""
        if not self.acc:
            m = self.u.shape[0]
            return np.zeros(m, np.int64), np.zeros(m + 1, np.int64)
        eq, gap = self.acc.pop(0)
        while self.acc:
            e, g = self.acc.pop()
            eq += e
            gap += g
            del e, g
        return eq, gap


def narrow(counts: NDArray[np.int64], n: int) -> NDArray[Any]:
    """A block's counts as int32 when its `n` values cannot overflow it (the reduction widens)."""
    return counts.astype(np.int32) if n < 1 << 31 else counts
