"""Input checks for the public boundary.

Every ``check_*`` helper coerces one argument to its canonical form and raises a precise
``TypeError`` (wrong type / dtype) or ``ValueError`` (wrong shape or values) naming the argument,
what was expected and what was received. Kernels never validate; public functions call these
helpers once and nothing else does.

Dtype policy
    Scores: float32 and float64 stay as they are (no copies of large float32 arrays); float16,
    bool and 8/16-bit integers become float32 (exactly), wider integers float64, except where
    the caller counts by value (``narrow=True``: float16 and 8/16-bit integers stay as they
    are, see :mod:`anomaly_metrics._narrow`). Labels and masks: bool. Counts: int64.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from functools import partial
from itertools import pairwise
from typing import Any

import numpy as np
from numba import njit
from numpy.typing import NDArray

from ._narrow import NARROW_DTYPES, all_finite_float16
from ._parallel import PIXELS_PER_WORKER, num_workers, run_tasks, split_range

__all__ = [
    "check_fraction",
    "check_labels",
    "check_map_batches",
    "check_maps_and_masks",
    "check_real",
    "check_score_batches",
    "check_scores",
    "check_scores_and_labels",
]


def _describe(x: Any) -> str:
    if isinstance(x, np.ndarray):
        return f"an array of dtype {x.dtype} and shape {x.shape}"
    return f"{type(x).__name__} {x!r}"[:120]


def _to_array(x: Any, name: str) -> np.ndarray:
    if x is None:
        raise TypeError(f"`{name}` must be an array-like of numbers, got None.")
    if type(x).__module__.startswith("torch"):
        raise TypeError(
            f"`{name}` must be a NumPy array-like, got a torch tensor: pass "
            f"`{name}.detach().cpu().numpy()` or use the `anomaly_metrics_torch` classes."
        )
    try:
        arr = np.asarray(x)
    except (ValueError, TypeError) as err:  # ragged nested lists, ...
        raise TypeError(f"`{name}` must be an array-like of numbers, got {_describe(x)}.") from err
    return arr


def check_scores(
    x: Any, name: str = "scores", *, allow_empty: bool = False, narrow: bool = False
) -> NDArray[Any]:
    """Return ``x`` as a finite float32/float64 array (same shape); raise on anything else.

    ``narrow=True`` (callers that count by value, :mod:`anomaly_metrics._narrow`) keeps float16
    and 8/16-bit integers as they are instead of converting them to float32.
    """
    arr = _to_array(x, name)
    kind = arr.dtype.kind
    if narrow and arr.dtype in NARROW_DTYPES:
        if arr.size == 0 and not allow_empty:
            raise ValueError(f"`{name}` must not be empty, got shape {arr.shape}.")
        if arr.dtype == np.float16 and arr.size and not all_finite_float16(arr):
            _refuse_non_finite(arr, name)
        return arr
    if kind == "f":
        if arr.dtype == np.float16:
            arr = arr.astype(np.float32)
        elif arr.dtype not in (np.float32, np.float64):  # longdouble
            arr = arr.astype(np.float64)
    elif kind == "b":
        arr = arr.astype(np.float32)
    elif kind in "iu":  # 8- and 16-bit integers are exact in float32: half the copy, faster sorts
        arr = arr.astype(np.float32 if arr.dtype.itemsize <= 2 else np.float64)
        if arr.size == 0 and not allow_empty:
            raise ValueError(f"`{name}` must not be empty, got shape {arr.shape}.")
        return arr  # (integers are finite)
    else:
        raise TypeError(
            f"`{name}` must hold real numbers (float, int or bool), got dtype {arr.dtype}."
        )
    if arr.size == 0 and not allow_empty:
        raise ValueError(f"`{name}` must not be empty, got shape {arr.shape}.")
    if arr.size and not _all_finite(arr):
        _refuse_non_finite(arr, name)
    return arr


def _refuse_non_finite(arr: NDArray[Any], name: str) -> None:
    """Raise the error for scores `name` that hold NaN or infinities, counting each."""
    n_nan = int(np.isnan(arr).sum())
    n_inf = int(np.isinf(arr).sum())
    raise ValueError(
        f"`{name}` must be finite, got {n_nan} NaN and {n_inf} infinite value(s); "
        "fix or drop them before evaluating."
    )


_SMALL = 1 << 16  # fewer values: the two NumPy reductions, no kernel to load


@njit(cache=True, nogil=True)
def _count_non_finite_kernel(values):  # pragma: no cover - compiled
    """How many of ``values`` (flat float32/float64) are NaN or infinite: ``x - x != 0``.

    One pass that the compiler vectorises, no temporary. Inputs are not validated.
    """
    bad = 0
    for i in range(values.shape[0]):
        x = values[i]
        bad += (x - x) != 0
    return bad


def _all_finite(arr: NDArray[Any]) -> bool:
    """Whether every value of a float32/float64 array is finite, in one threaded pass.

    Large contiguous arrays are read once, in spans over the worker threads (26 -> 10 ms on the
    bench set's 32.8M float32 pixels with 2 threads, against the two NumPy reductions ``min``
    and ``max``, which propagate NaN and show infinities; neither makes a temporary of the
    input's size as ``np.isfinite(arr).all()`` does); small or strided arrays take those two
    reductions.
    """
    if arr.size < _SMALL or not arr.flags.c_contiguous:
        return bool(np.isfinite(arr.min()) and np.isfinite(arr.max()))
    flat = arr.reshape(-1)
    bounds = split_range(flat.size, num_workers(flat.size, PIXELS_PER_WORKER * 8))
    spans = [flat[a:z] for a, z in pairwise(bounds)]
    return sum(run_tasks(_count_non_finite_kernel, spans)) == 0


def check_labels(x: Any, name: str = "labels") -> NDArray[np.bool_]:
    """Return ``x`` as a bool array; accept bool or numbers that are all 0 or 1."""
    arr = _to_array(x, name)
    kind = arr.dtype.kind
    if kind == "b":
        return arr
    if kind not in "iuf":
        raise TypeError(f"`{name}` must be bool or numbers in {{0, 1}}, got dtype {arr.dtype}.")
    if arr.size == 0:
        return arr.astype(bool)
    lo, hi = arr.min(), arr.max()
    if lo < 0 or hi > 1 or not np.isfinite(lo) or not np.isfinite(hi):
        bad = arr[(arr != 0) & (arr != 1)].ravel()
        hint = ""
        if hi == 255 and lo >= 0:
            hint = f" ({name} look like 0/255 images: pass `{name} > 0`)"
        raise ValueError(
            f"`{name}` must be bool or all 0 or 1, got value(s) {np.unique(bad)[:5].tolist()}"
            f"{hint}."
        )
    out = arr != 0
    if kind == "f" and not np.array_equal(out, arr == 1):
        bad = arr[(arr != 0) & (arr != 1)].ravel()
        raise ValueError(
            f"`{name}` must be bool or all 0 or 1, got value(s) {np.unique(bad)[:5].tolist()}."
        )
    return out


def check_scores_and_labels(
    scores: Any,
    labels: Any,
    scores_name: str = "scores",
    labels_name: str = "labels",
    *,
    narrow: bool = False,
) -> tuple[NDArray[Any], NDArray[np.bool_]]:
    """Check a ranking problem's inputs; return both flattened (views where possible).

    ``narrow``: as :func:`check_scores`.
    """
    s = check_scores(scores, scores_name, narrow=narrow)
    y = check_labels(labels, labels_name)
    if s.shape != y.shape and (s.size != y.size or np.squeeze(s).shape != np.squeeze(y).shape):
        raise ValueError(
            f"`{scores_name}` and `{labels_name}` must have the same shape, got {s.shape} and "
            f"{y.shape}."
        )
    return s.reshape(-1), y.reshape(-1)


def check_maps_and_masks(
    anomaly_maps: Any,
    masks: Any,
    maps_name: str = "anomaly_maps",
    masks_name: str = "masks",
    *,
    narrow: bool = False,
) -> tuple[NDArray[Any], NDArray[np.bool_]]:
    """Check segmentation inputs; return maps ``(N, H, W)`` (float32/64) and masks ``(N, H, W)`` bool.

    Accepts ``(N, H, W)``, ``(N, 1, H, W)`` or a single ``(H, W)``; masks must have the same
    shape. ``narrow``: as :func:`check_scores`.
    """
    maps = check_scores(anomaly_maps, maps_name, narrow=narrow)
    m = check_labels(masks, masks_name)
    if maps.shape != m.shape:
        raise ValueError(
            f"`{masks_name}` must have the same shape as `{maps_name}`, got {m.shape} and "
            f"{maps.shape}."
        )
    if maps.ndim == 2:
        maps, m = maps[None], m[None]
    elif maps.ndim == 4 and maps.shape[1] == 1:
        maps, m = maps[:, 0], m[:, 0]
    elif maps.ndim != 3:
        raise ValueError(
            f"`{maps_name}` must have shape (N, H, W), (N, 1, H, W) or (H, W), got {maps.shape}."
        )
    return np.ascontiguousarray(maps), np.ascontiguousarray(m)


# fewer values than this in all: the batches are concatenated and checked as one array
_CONCATENATE_BELOW = 1 << 16

_Pair = tuple[NDArray[Any], NDArray[np.bool_]]


def _check_batches(
    values: Sequence[Any],
    labels: Sequence[Any],
    check: Callable[[Any, Any], _Pair],
    ndim: int | None,
) -> list[_Pair]:
    """``check`` of each batch pair, as if applied to the concatenation, without concatenating.

    Shared by :func:`check_map_batches` and :func:`check_score_batches`. The batches of
    `values` are cast to the dtype their concatenation would have and checked one by one (in
    worker threads when large: the checks are NumPy reductions, which release the GIL). On any
    error, batches that are not arrays of `ndim` dimensions, or fewer than
    ``_CONCATENATE_BELOW`` values in all (where one copy is cheaper than many calls), the
    concatenation is checked instead, so the errors, and for odd inputs the single checked
    array, are exactly those of the single-array check.
    """

    def whole() -> list[_Pair]:
        flat = ndim is None
        cat = (
            [np.ravel(v) if flat else v for v in values],
            [np.ravel(y) if flat else y for y in labels],
        )
        return [check(np.concatenate(cat[0]), np.concatenate(cat[1]))]

    if len(values) == 1 and len(labels) == 1:
        return [check(values[0], labels[0])]
    try:
        raw = [np.asarray(v) for v in values]
        if (
            not raw
            or len(raw) != len(labels)
            or any(ndim is not None and v.ndim != ndim for v in raw)
        ):
            raise ValueError("not batches that concatenate")
        total = sum(v.size for v in raw)
        if total < _CONCATENATE_BELOW:
            return whole()
        dtype = np.result_type(*(v.dtype for v in raw))  # what concatenation gives

        def one(b: int) -> _Pair:
            v = raw[b]
            return check(v if v.dtype == dtype else v.astype(dtype), labels[b])

        workers = num_workers(total, PIXELS_PER_WORKER, max_tasks=len(raw))
        out = run_tasks(one, range(len(raw)), workers)
        if ndim is not None and len({v.shape[1:] for v, _ in out}) != 1:
            raise ValueError("batches of different image sizes")
    except (TypeError, ValueError):
        return whole()
    return out


def check_map_batches(
    anomaly_maps: Sequence[Any], masks: Sequence[Any], *, narrow: bool = False
) -> list[_Pair]:
    """`check_maps_and_masks` of consecutive ``(B, H, W)`` batches, without concatenating them.

    Returns the checked batches (views where the check makes no copy) in one dtype, the one
    the concatenation would have; errors (and small or odd inputs, checked as one concatenated
    array) are exactly those of ``check_maps_and_masks(np.concatenate(anomaly_maps),
    np.concatenate(masks))``. ``narrow``: as :func:`check_scores`.
    """
    return _check_batches(anomaly_maps, masks, partial(check_maps_and_masks, narrow=narrow), 3)


def check_score_batches(
    scores: Sequence[Any], labels: Sequence[Any], *, narrow: bool = False
) -> tuple[list[NDArray[Any]], list[NDArray[np.bool_]]]:
    """`check_scores_and_labels` of consecutive batches, flattened, without concatenating them.

    Each batch pair may have any matching shape. Returns the checked flat scores and labels as
    two lists (views where the check makes no copy; scores in the dtype the concatenation would
    have): the chunks that ``_binary_counts`` takes, whose concatenation is
    ``check_scores_and_labels`` of the concatenated flattened batches. Errors (and small or odd
    inputs, checked as one array) are exactly those of that call. ``narrow``: as
    :func:`check_scores`.
    """
    pairs = _check_batches(scores, labels, partial(check_scores_and_labels, narrow=narrow), None)
    return [s for s, _ in pairs], [y for _, y in pairs]


def check_real(x: Any, name: str) -> float:
    """Return ``x`` as a finite Python float."""
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (int, float, np.integer, np.floating)):
        if isinstance(x, np.ndarray) and x.ndim == 0 and x.dtype.kind in "iuf":
            x = x.item()
        else:
            raise TypeError(f"`{name}` must be a real number, got {_describe(x)}.")
    value = float(x)
    if not np.isfinite(value):
        raise ValueError(f"`{name}` must be finite, got {value}.")
    return value


def check_fraction(x: Any, name: str, *, low_open: bool = False, high_open: bool = False) -> float:
    """Return ``x`` as a float in [0, 1] (with optionally open ends)."""
    value = check_real(x, name)
    lo_ok = operator.gt(value, 0.0) if low_open else operator.ge(value, 0.0)
    hi_ok = operator.lt(value, 1.0) if high_open else operator.le(value, 1.0)
    if not (lo_ok and hi_ok):
        interval = ("(" if low_open else "[") + "0, 1" + (")" if high_open else "]")
        raise ValueError(f"`{name}` must be in {interval}, got {value}.")
    return value
