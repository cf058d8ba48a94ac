"""Work split over consecutive batches that are treated as their concatenation, never made."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

__all__ = ["cut_at_batches"]


def cut_at_batches(cuts: Sequence[int], lengths: Sequence[int]) -> list[list[tuple[int, int, int]]]:
    """Ranges of the concatenation, as pieces of the batches.

    ``cuts`` are ascending positions in the concatenation of batches of ``lengths`` (from 0 to
    ``sum(lengths)``); each range ``[cuts[k], cuts[k + 1])`` becomes the list of
    ``(batch, start, stop)`` pieces (positions within the batch) that cover it, in order. Empty
    pieces are left out.

    >>> cut_at_batches([0, 4, 7], [3, 0, 4])
    [[(0, 0, 3), (2, 0, 1)], [(2, 1, 4)]]
    """
    ends, end = [], 0
    for n in lengths:
        end += n
        ends.append(end)
    out = []
    for lo, hi in pairwise(cuts):
        pieces = []
        for b, (n, stop) in enumerate(zip(lengths, ends)):
            first = stop - n
            a, z = max(lo, first), min(hi, stop)
            if a < z:
                pieces.append((b, int(a - first), int(z - first)))
        out.append(pieces)
    return out
