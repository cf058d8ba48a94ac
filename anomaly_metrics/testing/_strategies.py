"""Hypothesis strategies for anomaly-detection metrics: ranking problems, maps and masks, batches.

Each strategy draws its sizes, styles and kinds with hypothesis (so failures shrink to few,
small images of the simplest kinds) and the values themselves from a NumPy generator seeded by
hypothesis (so drawing stays fast). Every strategy is bounded by its parameters; the defaults
keep one example to at most a few hundred scores or pixels, small enough for the oracles.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.special import expit

from ._strategies_images import (
    MAP_DTYPES,
    MAP_STYLES,
    REGION_SHAPES,
    Batches,
    batches,
    maps_and_masks,
)
from ._strategy_tools import (
    _check_choices,
    _check_dtypes,
    _check_int,
    _check_range,
    fast_settings,
    st,
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
    "batches",
    "fast_settings",
    "maps_and_masks",
    "mask_batches",
    "scores_and_labels",
]

SCORE_DTYPES = (np.float16, np.float32, np.float64, np.int32, np.int64)
SCORE_STYLES = ("ties", "continuous", "all-equal", "integers", "heavy-tailed")
LABEL_KINDS = ("bool", "int", "float")
MASK_KINDS = ("random", "blobs", "lines", "checkerboard", "single", "full", "empty", "snake")


# ---------------------------------------------------------------------------------------------
# scores and labels


def scores_and_labels(
    *,
    min_size: int = 1,
    max_size: int = 300,
    both_classes: bool = False,
    dtypes: Sequence[Any] = SCORE_DTYPES,
    styles: Sequence[str] = SCORE_STYLES,
    label_kinds: Sequence[str] = LABEL_KINDS,
    unit_interval: bool = False,
) -> st.SearchStrategy[tuple[NDArray[Any], NDArray[Any]]]:
    """Ranking problems ``(scores, labels)``: 1-D arrays of the same size, for image-level metrics.

    What it covers: heavy ties (a few distinct values), all scores equal, continuous scores,
    small integers, heavy-tailed scores spanning seven orders of magnitude; float16, float32,
    float64, int32 and int64 scores; labels as bool, int64 or float32 0/1; positive fractions
    0, 3 %, 30 %, 50 %, 90 % and 100 % (so one class only, unless ``both_classes``); sizes from
    ``min_size`` to ``max_size``.

    What it cannot produce: NaN or infinite scores, labels other than 0/1, empty arrays,
    more than ``max_size`` scores, scores that need more than float64 to be told apart.

    Parameters
    ----------
    min_size, max_size : int, default 1, 300
        Bounds on the number of scores (the oracles are O(n^2) for AUROC: keep ``max_size``
        in the hundreds).
    both_classes : bool, default False
        Force at least one positive and one negative label (then at least 2 scores).
    dtypes : sequence of dtype, default :data:`SCORE_DTYPES`
        Score dtypes to draw from.
    styles : sequence of str, default :data:`SCORE_STYLES`
        Score styles to draw from: ``"ties"``, ``"continuous"``, ``"all-equal"``,
        ``"integers"``, ``"heavy-tailed"``.
    label_kinds : sequence of str, default :data:`LABEL_KINDS`
        Label representations to draw from: ``"bool"``, ``"int"``, ``"float"``.
    unit_interval : bool, default False
        Keep the scores in [0, 1] (order and ties preserved: a logistic map of the styles that
        leave [0, 1]), for implementations that treat other scores as logits (torchmetrics
        applies a sigmoid to them). Float dtypes only.

    Returns
    -------
    hypothesis strategy of (scores, labels)

    Examples
    --------
    >>> from hypothesis import given
    >>> from anomaly_metrics.testing import fast_settings
    >>> @fast_settings
    ... @given(scores_and_labels(both_classes=True, max_size=20, dtypes=["float32"]))
    ... def test_sizes(problem):
    ...     scores, labels = problem
    ...     assert scores.dtype == np.float32 and 2 <= scores.size <= 20
    ...     assert labels.astype(bool).any() and not labels.astype(bool).all()
    >>> test_sizes()
    """
    _check_range("min_size", min_size, "max_size", max_size, 1)
    dtypes = _check_dtypes("dtypes", dtypes, SCORE_DTYPES)
    styles = _check_choices("styles", styles, SCORE_STYLES)
    label_kinds = _check_choices("label_kinds", label_kinds, LABEL_KINDS)
    if unit_interval and any(np.dtype(d).kind != "f" for d in dtypes):
        raise ValueError(f"`dtypes` must be float dtypes with `unit_interval=True`, got {dtypes}.")
    return _scores_and_labels(
        min_size, max_size, both_classes, dtypes, styles, label_kinds, unit_interval
    )


@st.composite
def _scores_and_labels(draw, min_size, max_size, both_classes, dtypes, styles, label_kinds, unit):
    n = draw(st.integers(min_size, max_size))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    dtype = draw(st.sampled_from(dtypes))
    style = draw(st.sampled_from(styles))
    if style == "ties":
        scores = rng.integers(0, draw(st.integers(1, 8)), n) / 8.0
    elif style == "continuous":
        scores = rng.normal(size=n)
    elif style == "all-equal":
        scores = np.full(n, 0.25)
    elif style == "integers":
        scores = rng.integers(-5, 5, n).astype(np.float64)
    else:
        scores = rng.normal(size=n) * 10.0 ** rng.integers(-3, 4, n)
    if unit and (scores.min() < 0 or scores.max() > 1):
        scores = expit(scores)
    if np.dtype(dtype).kind in "iu":
        scores = np.round(scores * 8)
    scores = scores.astype(dtype)
    p = draw(st.sampled_from((0.0, 0.03, 0.3, 0.5, 0.9, 1.0)))
    labels = rng.random(n) < p
    if both_classes:
        if n < 2:
            scores = np.resize(scores, 2)
            labels = np.resize(labels, 2)
        labels[0], labels[-1] = True, False
    kind = draw(st.sampled_from(label_kinds))
    if kind == "int":
        labels = labels.astype(np.int64)
    elif kind == "float":
        labels = labels.astype(np.float32)
    return scores, labels


# ---------------------------------------------------------------------------------------------
# masks for connected components


def _mask_image(rng: np.random.Generator, kind: str, h: int, w: int) -> NDArray[np.bool_]:
    if kind == "random":
        return rng.random((h, w)) < rng.choice([0.1, 0.3, 0.5, 0.7, 0.9])
    if kind == "full":
        return np.ones((h, w), bool)
    if kind == "empty":
        return np.zeros((h, w), bool)
    if kind == "checkerboard":
        yy, xx = np.mgrid[0:h, 0:w]
        period = int(rng.integers(1, 3))
        return ((yy // period + xx // period) % 2 == rng.integers(0, 2)).astype(bool)
    if kind == "single":
        m = np.zeros(h * w, bool)
        m[rng.choice(h * w, size=min(h * w, int(rng.integers(1, 5))), replace=False)] = True
        return m.reshape(h, w)
    m = np.zeros((h, w), bool)
    if kind == "lines":
        for _ in range(int(rng.integers(1, 4))):
            r, c = int(rng.integers(0, h)), int(rng.integers(0, w))
            direction = rng.integers(0, 4)
            for t in range(max(h, w)):
                y, x = [(r, t), (t, c), (t, t + c - r), (t, r + c - t)][direction]
                if 0 <= y < h and 0 <= x < w:
                    m[y, x] = True
        return m
    if kind == "blobs":
        yy, xx = np.mgrid[0:h, 0:w]
        for _ in range(int(rng.integers(1, 4))):
            cy, cx = rng.uniform(0, h), rng.uniform(0, w)
            ry, rx = rng.uniform(0.5, h / 2 + 1), rng.uniform(0.5, w / 2 + 1)
            m |= ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 < 1
        return m
    # snake: a serpentine path; one long region whose arms join late in a row-major scan
    for y in range(0, h, 2):
        m[y] = True
        if y + 1 < h:
            m[y + 1, w - 1 if (y // 2) % 2 == 0 else 0] = True
    return m


def mask_batches(
    *,
    min_images: int = 1,
    max_images: int = 4,
    max_side: int = 20,
    kinds: Sequence[str] = MASK_KINDS,
) -> st.SearchStrategy[NDArray[np.bool_]]:
    """Boolean masks ``(N, H, W)`` with hard shapes for connected-component labelling.

    What it covers: random speckle at densities 10-90 %, blobs (overlapping ellipses), thin
    horizontal, vertical and diagonal lines (8- but not 4-connected), checkerboards of period
    1 and 2, 1-4 single pixels, full and empty images, serpentines (one region whose arms join
    late in a row-major scan); images 1 pixel wide or high.

    What it cannot produce: anomaly maps (see :func:`maps_and_masks`), images of different
    sizes in one batch, more than ``max_images`` images or sides over ``max_side``.

    Parameters
    ----------
    min_images, max_images : int, default 1, 4
        Bounds on ``N``.
    max_side : int, default 20
        Bound on ``H`` and ``W``.
    kinds : sequence of str, default :data:`MASK_KINDS`
        Image kinds to draw from.

    Returns
    -------
    hypothesis strategy of ndarray of bool

    Examples
    --------
    >>> from hypothesis import given
    >>> from anomaly_metrics.testing import fast_settings
    >>> @fast_settings
    ... @given(mask_batches(max_images=2, max_side=5))
    ... def test_shapes(masks):
    ...     assert masks.dtype == bool and masks.ndim == 3 and masks.shape[0] <= 2
    >>> test_shapes()
    """
    _check_range("min_images", min_images, "max_images", max_images, 1)
    _check_int("max_side", max_side, 1)
    kinds = _check_choices("kinds", kinds, MASK_KINDS)
    return _mask_batches(min_images, max_images, max_side, kinds)


@st.composite
def _mask_batches(draw, min_images, max_images, max_side, kinds):
    n = draw(st.integers(min_images, max_images))
    h = draw(st.one_of(st.just(1), st.integers(1, max_side)))
    w = draw(st.one_of(st.just(1), st.integers(1, max_side)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    image_kinds = draw(st.lists(st.sampled_from(kinds), min_size=n, max_size=n))
    return np.stack([_mask_image(rng, k, h, w) for k in image_kinds])
