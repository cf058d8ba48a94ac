"""Hypothesis strategies for pixel-level metrics (anomaly maps and masks) and for update batches."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage as ndi

from ._strategy_tools import (
    _check_choices,
    _check_dtypes,
    _check_int,
    _check_range,
    st,
)

__all__ = ["MAP_DTYPES", "MAP_STYLES", "REGION_SHAPES", "Batches", "batches", "maps_and_masks"]

MAP_DTYPES = (np.float64, np.float32, np.float16, np.int64)
MAP_STYLES = ("all-equal", "ties", "integers", "noisy", "smooth", "float16-ties", "heavy-tailed")
REGION_SHAPES = ("pixel", "blob", "line", "border", "speckle")
IMAGE_KINDS = ("normal", "regions", "full")
_HEAVY_TAIL_CLIP = 6e4  # float16's largest finite value is 65504


def _add_region(rng: np.random.Generator, m: NDArray[np.bool_], shape: str) -> None:
    """Draw one region of ``shape`` into ``m`` (at least one pixel; it may touch others)."""
    h, w = m.shape
    y, x = int(rng.integers(0, h)), int(rng.integers(0, w))
    if shape == "pixel":
        m[y, x] = True
    elif shape == "blob":
        yy, xx = np.mgrid[0:h, 0:w]
        ry, rx = rng.uniform(0.5, h / 3 + 1), rng.uniform(0.5, w / 3 + 1)
        m |= ((yy - y) / ry) ** 2 + ((xx - x) / rx) ** 2 < 1
        m[y, x] = True
    elif shape == "line":  # one pixel thick: horizontal, vertical or diagonal
        dy, dx = [(0, 1), (1, 0), (1, 1), (1, -1)][int(rng.integers(0, 4))]
        for t in range(int(rng.integers(2, max(h, w) + 2))):
            if 0 <= y + t * dy < h and 0 <= x + t * dx < w:
                m[y + t * dy, x + t * dx] = True
    elif shape == "border":  # a band along one edge of the image
        depth_h, depth_w = (
            int(rng.integers(1, max(1, h // 3) + 1)),
            int(rng.integers(1, max(1, w // 3) + 1)),
        )
        edge = int(rng.integers(0, 4))
        if edge == 0:
            m[:depth_h, min(x, w - 1) :] = True
        elif edge == 1:
            m[h - depth_h :, : x + 1] = True
        elif edge == 2:
            m[: y + 1, :depth_w] = True
        else:
            m[y:, w - depth_w :] = True
    else:  # speckle: scattered pixels in a window, many tiny regions
        y1, x1 = int(rng.integers(y, h)) + 1, int(rng.integers(x, w)) + 1
        m[y:y1, x:x1] |= rng.random((y1 - y, x1 - x)) < 0.3
        m[y, x] = True


def _maps(rng: np.random.Generator, style: str, masks: NDArray[np.bool_]) -> NDArray[np.float64]:
    shape = masks.shape
    strength = float(rng.choice([0.0, 0.5, 2.0]))  # how much the defects stand out
    if style == "all-equal":
        return np.full(shape, 0.25)
    if style == "ties":
        q = int(rng.integers(1, 9))
        return np.minimum(rng.integers(0, q + 1, shape) + masks * int(strength), q) / q
    if style == "integers":
        return (rng.integers(-3, 4, shape) + masks * int(strength)).astype(np.float64)
    if style == "noisy":
        return rng.normal(size=shape) + strength * masks
    bump = ndi.gaussian_filter(masks.astype(np.float64), sigma=(0, 1, 1))
    if style == "smooth":
        sigma = float(rng.uniform(0.5, 3))
        return (
            ndi.gaussian_filter(rng.normal(size=shape), sigma=(0, sigma, sigma)) + strength * bump
        )
    if style == "float16-ties":  # scores in a narrow range, rounded to float16: many ties
        noise = rng.normal(size=shape) + strength * bump
        return (0.5 + 0.01 * noise).astype(np.float16).astype(np.float64)
    tails = rng.standard_cauchy(size=shape) + strength * masks
    return np.clip(tails, -_HEAVY_TAIL_CLIP, _HEAVY_TAIL_CLIP)


def maps_and_masks(
    *,
    min_images: int = 1,
    max_images: int = 4,
    min_side: int = 1,
    max_side: int = 16,
    dtypes: Sequence[Any] = MAP_DTYPES,
    styles: Sequence[str] = MAP_STYLES,
    region_shapes: Sequence[str] = REGION_SHAPES,
    max_regions: int = 4,
    require_normal: bool = False,
    require_anomalous: bool = False,
    require_background: bool = False,
) -> st.SearchStrategy[tuple[NDArray[Any], NDArray[np.bool_]]]:
    """Segmentation problems ``(anomaly_maps, masks)``, both ``(N, H, W)``, for pixel-level metrics.

    What it covers: normal images (empty mask), anomalous images with 1 to ``max_regions``
    regions of varied shapes (single pixels, blobs, one-pixel lines including diagonal ones
    that are 8- but not 4-connected, bands touching the image border, speckle of many tiny
    regions; regions may touch and merge) and fully anomalous images; images 1 pixel wide or
    high. Maps: all equal, few distinct values, small integers, noisy, smooth (blurred noise),
    float16-rounded scores in a narrow range (heavy ties, as float16 TIFF maps), heavy-tailed
    (Cauchy) scores; defects that stand out from the background by 0, 0.5 or 2. dtypes float64,
    float32, float16 and int64.

    What it cannot produce: NaN or infinite scores, images of different sizes in one batch,
    channels (no ``(N, 1, H, W)``: add the axis yourself), masks other than bool, more than
    ``max_images`` images or sides over ``max_side``. Unless asked with the ``require_*``
    flags, a batch may have no region, no normal image or no background pixel: the cases where
    PRO, AU-PRO and AUPIMO are undefined, which an implementation must handle too.

    Parameters
    ----------
    min_images, max_images : int, default 1, 4
        Bounds on ``N``.
    min_side, max_side : int, default 1, 16
        Bounds on ``H`` and ``W`` (drawn independently).
    dtypes : sequence of dtype, default :data:`MAP_DTYPES`
        Map dtypes to draw from.
    styles : sequence of str, default :data:`MAP_STYLES`
        Map styles to draw from.
    region_shapes : sequence of str, default :data:`REGION_SHAPES`
        Region shapes to draw from.
    max_regions : int, default 4
        Most regions drawn into one anomalous image.
    require_normal, require_anomalous : bool, default False
        Force at least one normal / one anomalous image (PIMO needs both).
    require_background : bool, default False
        Force at least one background pixel (AU-PRO needs a region and a background pixel:
        ``require_anomalous=True, require_background=True``).

    Returns
    -------
    hypothesis strategy of (anomaly_maps, masks)

    Examples
    --------
    >>> from hypothesis import given
    >>> from anomaly_metrics.testing import fast_settings
    >>> @fast_settings
    ... @given(maps_and_masks(max_images=3, max_side=8, require_anomalous=True,
    ...                       require_background=True))
    ... def test_defined(problem):
    ...     maps, masks = problem
    ...     assert maps.shape == masks.shape and maps.shape[0] <= 3
    ...     assert masks.any() and not masks.all()
    >>> test_defined()
    """
    _check_range("min_images", min_images, "max_images", max_images, 1)
    _check_range("min_side", min_side, "max_side", max_side, 1)
    _check_int("max_regions", max_regions, 1)
    if require_normal and require_anomalous and max_images < 2:
        raise ValueError(
            "`max_images` must be >= 2 with `require_normal` and `require_anomalous`, "
            f"got {max_images}."
        )
    return _maps_and_masks(
        max(min_images, 2 if require_normal and require_anomalous else 1),
        max_images,
        min_side,
        max_side,
        _check_dtypes("dtypes", dtypes, MAP_DTYPES),
        _check_choices("styles", styles, MAP_STYLES),
        _check_choices("region_shapes", region_shapes, REGION_SHAPES),
        max_regions,
        (require_normal, require_anomalous, require_background),
    )


@st.composite
def _maps_and_masks(
    draw, min_images, max_images, min_side, max_side, dtypes, styles, shapes, max_regions, require
):
    require_normal, require_anomalous, require_background = require
    n = draw(st.integers(min_images, max_images))
    h = draw(st.integers(min_side, max_side))
    w = draw(st.integers(min_side, max_side))
    if require_anomalous and require_background and n * h * w < 2:
        w = 2  # a region and a background pixel need two pixels
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kinds = draw(st.lists(st.sampled_from(IMAGE_KINDS), min_size=n, max_size=n))
    if require_normal and "normal" not in kinds:
        kinds[0] = "normal"
    if require_anomalous and kinds.count("normal") == n:
        kinds[-1] = "regions"
    masks = np.zeros((n, h, w), bool)
    for i, kind in enumerate(kinds):
        if kind == "full":
            masks[i] = True
        elif kind == "regions":
            count = draw(st.integers(1, max_regions))
            for shape in draw(st.lists(st.sampled_from(shapes), min_size=count, max_size=count)):
                _add_region(rng, masks[i], shape)
    if require_background and masks.all():
        last = max(i for i, k in enumerate(kinds) if k != "normal")
        masks[last, -1, -1] = False  # another pixel or image keeps a region (n * h * w >= 2)
    style = draw(st.sampled_from(styles))
    dtype = draw(st.sampled_from(dtypes))
    maps = _maps(rng, style, masks)
    if np.dtype(dtype).kind in "iu":
        maps = np.round(maps * 16)
    return maps.astype(dtype), masks


class Batches(NamedTuple):
    """A data set and its split into update batches (see :func:`batches`)."""

    whole: tuple[NDArray[Any], ...]
    """The data set's arrays in the order the batches cover them."""
    batches: list[tuple[NDArray[Any], ...]]
    """Consecutive slices of every array along axis 0; none is empty."""


def batches(
    data: st.SearchStrategy[Any] | None = None, *, max_batches: int | None = None
) -> st.SearchStrategy[Batches]:
    """A data set drawn from ``data`` and split into update batches, for stateful metric objects.

    The items (axis 0 of every array: scores, or images) are reordered in one of four ways (as
    drawn, normal items first, anomalous items first, shuffled), then cut into consecutive
    batches: one batch, every item its own batch (sizes 1), or random cuts, optionally also
    wherever the class changes, so that with a sorted order there are only-normal and
    only-anomalous batches. An item is anomalous when the last array (labels or masks) has a
    positive value in it. Check that updating with every batch and computing once equals the
    oracle on ``whole``.

    What it cannot produce: empty batches, items split across batches, batches of different
    arrays cut differently, more than ``max_batches`` batches.

    Parameters
    ----------
    data : hypothesis strategy, optional
        Draws one array or a tuple of arrays with the same length along axis 0, e.g.
        :func:`scores_and_labels` or :func:`maps_and_masks` (the default, with up to 8 images).
    max_batches : int, optional
        Most batches; default: one per item.

    Returns
    -------
    hypothesis strategy of Batches
        ``(whole, batches)``.

    Examples
    --------
    >>> from hypothesis import given
    >>> from anomaly_metrics.testing import fast_settings
    >>> @fast_settings
    ... @given(batches(maps_and_masks(max_images=6, max_side=4), max_batches=3))
    ... def test_split(split):
    ...     maps, masks = split.whole
    ...     assert 1 <= len(split.batches) <= 3
    ...     assert np.array_equal(np.concatenate([b[0] for b in split.batches]), maps)
    >>> test_split()
    """
    if data is None:
        data = maps_and_masks(max_images=8)
    if not isinstance(data, st.SearchStrategy):
        raise TypeError(f"`data` must be a hypothesis strategy, got {type(data).__name__}.")
    if max_batches is not None:
        _check_int("max_batches", max_batches, 1)
    return _batches(data, max_batches)


@st.composite
def _batches(draw, data, max_batches):
    drawn = draw(data)
    whole = (drawn,) if isinstance(drawn, np.ndarray) else tuple(np.asarray(a) for a in drawn)
    n = len(whole[0])
    if any(len(a) != n for a in whole):
        raise ValueError(
            f"`data` must draw arrays of the same length, got lengths {[len(a) for a in whole]}."
        )
    positive = np.array([bool(np.any(item)) for item in whole[-1]])
    order = draw(st.sampled_from(("as-drawn", "normal-first", "anomalous-first", "shuffled")))
    if order == "normal-first":
        perm = np.argsort(positive, kind="stable")
    elif order == "anomalous-first":
        perm = np.argsort(~positive, kind="stable")
    elif order == "shuffled":
        perm = np.array(draw(st.permutations(range(n))), dtype=np.intp)
    else:
        perm = np.arange(n)
    whole = tuple(a[perm] for a in whole)
    positive = positive[perm]
    limit = n - 1 if max_batches is None else min(n - 1, max_batches - 1)
    mode = draw(st.sampled_from(("one-batch", "random", "singletons")))
    cuts: set[int] = set()
    if mode == "singletons" and limit == n - 1:
        cuts = set(range(1, n))
    elif mode != "one-batch" and limit > 0:
        if draw(st.booleans()):  # also cut wherever the class changes
            changes = np.flatnonzero(positive[1:] != positive[:-1]) + 1
            cuts = {int(c) for c in changes[:limit]}
        cuts |= draw(st.sets(st.integers(1, n - 1), max_size=limit - len(cuts)))
    bounds = sorted(cuts)
    parts = [tuple(np.split(a, bounds)) for a in whole]
    return Batches(whole, [tuple(p[k] for p in parts) for k in range(len(bounds) + 1)])
