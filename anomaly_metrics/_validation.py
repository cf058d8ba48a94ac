"""Input checks for the public boundary.

Every ``check_*`` helper coerces one argument to its canonical form and raises a precise
``TypeError`` (wrong type / dtype) or ``ValueError`` (wrong shape or values) naming the argument,
what was expected and what was received. Kernels never validate; public functions call these
helpers once and nothing else does.

Dtype policy
    Scores: float32 and float64 stay as they are (no copies of large float32 arrays), float16 and
    bool become float32, integers become float64. Labels and masks: bool. Counts: int64.
"""

from __future__ import annotations

import operator
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "check_fraction",
    "check_labels",
    "check_map_batches",
    "check_maps_and_masks",
    "check_real",
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


def check_scores(x: Any, name: str = "scores", *, allow_empty: bool = False) -> NDArray[Any]:
    """Return ``x`` as a finite float32/float64 array (same shape); raise on anything else."""
    arr = _to_array(x, name)
    kind = arr.dtype.kind
    if kind == "f":
        if arr.dtype == np.float16:
            arr = arr.astype(np.float32)
        elif arr.dtype not in (np.float32, np.float64):  # longdouble
            arr = arr.astype(np.float64)
    elif kind == "b":
        arr = arr.astype(np.float32)
    elif kind in "iu":
        arr = arr.astype(np.float64)
    else:
        raise TypeError(
            f"`{name}` must hold real numbers (float, int or bool), got dtype {arr.dtype}."
        )
    if arr.size == 0 and not allow_empty:
        raise ValueError(f"`{name}` must not be empty, got shape {arr.shape}.")
    if arr.size and not np.isfinite(arr).all():
        n_nan = int(np.isnan(arr).sum())
        n_inf = int(np.isinf(arr).sum())
        raise ValueError(
            f"`{name}` must be finite, got {n_nan} NaN and {n_inf} infinite value(s); "
            "fix or drop them before evaluating."
        )
    return arr


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
    scores: Any, labels: Any, scores_name: str = "scores", labels_name: str = "labels"
) -> tuple[NDArray[Any], NDArray[np.bool_]]:
    """Check a ranking problem's inputs; return both flattened (views where possible)."""
    s = check_scores(scores, scores_name)
    y = check_labels(labels, labels_name)
    if s.shape != y.shape and (s.size != y.size or np.squeeze(s).shape != np.squeeze(y).shape):
        raise ValueError(
            f"`{scores_name}` and `{labels_name}` must have the same shape, got {s.shape} and "
            f"{y.shape}."
        )
    return s.reshape(-1), y.reshape(-1)


def check_maps_and_masks(
    anomaly_maps: Any, masks: Any, maps_name: str = "anomaly_maps", masks_name: str = "masks"
) -> tuple[NDArray[Any], NDArray[np.bool_]]:
    """Check segmentation inputs; return maps ``(N, H, W)`` (float32/64) and masks ``(N, H, W)`` bool.

    Accepts ``(N, H, W)``, ``(N, 1, H, W)`` or a single ``(H, W)``; masks must have the same shape.
    """
    maps = check_scores(anomaly_maps, maps_name)
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


# batches larger than this (pixels per thread) are checked in worker threads
_CHECK_PIXELS_PER_WORKER = 1 << 20


def check_map_batches(
    anomaly_maps: Sequence[Any], masks: Sequence[Any]
) -> list[tuple[NDArray[Any], NDArray[np.bool_]]]:
    """`check_maps_and_masks` of consecutive ``(B, H, W)`` batches, without concatenating them.

    Checks each batch on its own and returns the checked batches (views where the check makes
    no copy) in one dtype, the one the concatenation would have. On any error, or batches
    that would not concatenate into ``(N, H, W)``, the concatenation is checked instead, so the
    error (or, for odd inputs, the single checked array) is exactly the single-array one.
    """
    if len(anomaly_maps) == 1 and len(masks) == 1:
        return [check_maps_and_masks(anomaly_maps[0], masks[0])]
    try:
        raw = [np.asarray(m) for m in anomaly_maps]
        if not raw or len(raw) != len(masks) or any(m.ndim != 3 for m in raw):
            raise ValueError("not (B, H, W) batches")
        dtype = np.result_type(*(m.dtype for m in raw))  # what concatenation gives

        def check(b: int) -> tuple[NDArray[Any], NDArray[np.bool_]]:
            m = raw[b]
            return check_maps_and_masks(m if m.dtype == dtype else m.astype(dtype), masks[b])

        pixels = sum(m.size for m in raw)
        workers = min(os.cpu_count() or 1, 8, len(raw), max(1, pixels // _CHECK_PIXELS_PER_WORKER))
        if workers > 1:  # the checks are NumPy reductions, which release the GIL
            with ThreadPoolExecutor(workers) as pool:
                out = list(pool.map(check, range(len(raw))))
        else:
            out = [check(b) for b in range(len(raw))]
        if len({m.shape[1:] for m, _ in out}) != 1:
            raise ValueError("batches of different image sizes")
    except (TypeError, ValueError):
        return [check_maps_and_masks(np.concatenate(anomaly_maps), np.concatenate(masks))]
    return out


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
