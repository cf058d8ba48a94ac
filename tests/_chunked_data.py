"""Segmentation sets cut into chunks, and a comparison of results with their warnings.

Shared by the out-of-core and the Dask tests: the reference is the in-memory function on the
whole arrays, which the chunked functions must reproduce to the last bit (values, warnings and
errors alike).
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from hypothesis import strategies as st


@st.composite
def segmentation_sets(
    draw,
    *,
    max_images=7,
    min_side=2,
    max_side=12,
    both_classes=False,
    dtypes=(np.float16, np.float32, np.float64),
):
    """(maps, masks, cuts): a small test set and the image indices where chunks start.

    Images get 0-3 rectangular defects; maps have ties or not; the images may be sorted by
    class so that whole chunks are normal or anomalous; cuts may give one-image chunks.
    """
    n = draw(st.integers(2 if both_classes else 1, max_images))
    h, w = draw(st.integers(min_side, max_side)), draw(st.integers(min_side, max_side))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    dtype = draw(st.sampled_from(dtypes))
    p_anomalous = draw(st.sampled_from((0.0, 0.3, 0.6, 1.0)))
    masks = np.zeros((n, h, w), bool)
    for i in range(n):
        if rng.random() < p_anomalous:
            for _ in range(rng.integers(1, 4)):
                y, x = rng.integers(0, h), rng.integers(0, w)
                masks[i, y : y + rng.integers(1, 4), x : x + rng.integers(1, 4)] = True
    if both_classes:
        masks[0] = False
        masks[-1, h // 2, w // 2] = True
    if draw(st.booleans()):
        maps = rng.integers(0, draw(st.integers(1, 9)), (n, h, w)) / 8.0
    else:
        maps = rng.random((n, h, w))
    maps = (maps + masks * rng.random() * 0.5).astype(dtype)
    if draw(st.booleans()):  # chunks of only normal / only anomalous images
        order = np.argsort(masks.reshape(n, -1).any(axis=1), kind="stable")
        maps, masks = maps[order], masks[order]
    style = draw(st.sampled_from(("random", "ones", "whole")))
    if style == "ones":
        cuts = list(range(n + 1))
    elif style == "whole":
        cuts = [0, n]
    else:
        inner = draw(st.lists(st.integers(1, max(1, n - 1)), max_size=3)) if n > 1 else []
        cuts = sorted({0, n, *inner})
    return maps, masks, cuts


def chunks_of(maps: np.ndarray, masks: np.ndarray, cuts: list[int]) -> list[tuple[Any, Any]]:
    return [(maps[a:b], masks[a:b]) for a, b in itertools.pairwise(cuts)]


def canonical(x: Any) -> str:
    """A string equal for equal results: arrays by dtype, shape and bytes; floats by repr."""
    if isinstance(x, np.ndarray):
        return f"array({x.dtype}, {x.shape}, {x.tobytes().hex()})"
    if isinstance(x, tuple):
        return f"{type(x).__name__}({', '.join(canonical(v) for v in x)})"
    if isinstance(x, dict):
        return "{" + ", ".join(f"{k!r}: {canonical(v)}" for k, v in x.items()) + "}"
    return f"{type(x).__name__} {x!r}"


def outcome(fn: Callable[[], Any]) -> tuple[str, list[str]]:
    """The result (or the exception) as a canonical string, and the warnings' messages."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            value = canonical(fn())
        except (TypeError, ValueError, RuntimeError) as err:
            value = f"{type(err).__name__}: {err}"
    return value, [f"{w.category.__name__}: {w.message}" for w in caught]


# (name, in-memory call on (maps, masks), the keyword arguments of both)
METRIC_CALLS = (
    ("auroc", {}),
    ("aupr", {}),
    ("f1_max", {}),
    ("f1_adaptive_threshold", {}),
    ("pro", {"threshold": 0.6}),
    ("aupro", {"fpr_limit": (0.3, 0.05, 1.0)}),
    ("pimo_curves", {"num_thresholds": None}),
    ("pimo_curves", {"num_thresholds": 50}),
    ("evaluate", {}),
)
# AUPIMO on sets with both classes and images of at least 8 x 8 pixels
PIMO_CALLS = (
    ("aupimo", {"fpr_bounds": (0.05, 0.5), "num_thresholds": None}),
    ("aupimo", {"fpr_bounds": (0.05, 0.5), "num_thresholds": 2000, "force": True}),
    ("aupimo", {"fpr_bounds": (0.01, 1.0), "num_thresholds": 300, "force": True}),
    ("evaluate", {"metrics": ["aupimo", "pixel_auroc"]}),
)
