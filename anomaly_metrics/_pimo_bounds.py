"""Shared-FPR bound arithmetic used by every PIMO path (in memory, linspace, exact, out of core)."""

from __future__ import annotations

import math

__all__ = ["_rank_for_fpr", "_unreachable_error"]


def _rank_for_fpr(fpr: float, n: int) -> int:
    """The fewest of ``n`` normal pixels whose share, computed in float64, is ``>= fpr``."""
    rank = max(1, min(n, math.ceil(fpr * n)))
    while rank > 1 and (rank - 1) / n >= fpr:
        rank -= 1
    while rank < n and rank / n < fpr:
        rank += 1
    return rank


def _unreachable_error(lo: float, n_top: int, n_normal_pixels: int) -> ValueError:
    """The error for a lower FPR bound below the smallest shared FPR the data can reach."""
    smallest = n_top / n_normal_pixels
    needed = math.ceil(n_top / lo)
    top = "1 normal pixel has" if n_top == 1 else f"{n_top} normal pixels share"
    return ValueError(
        f"`fpr_bounds[0]` must be at least the smallest shared FPR the data can reach, "
        f"{smallest:.4g} ({top} the highest normal score, out of {n_normal_pixels} normal "
        f"pixels), got {lo:g}: a lower bound of {lo:g} needs at least {needed} normal "
        "pixels. Add normal images or raise `fpr_bounds[0]`."
    )
