"""Assertions that compare a candidate result with a reference and say where they part.

A failure names the place in the metric's own terms: for a scalar the two values and the
tolerance; for a curve the first point (and its threshold) where any array differs; for
per-image results the image index; for per-region results the region, its image and its size.
Candidates may be NumPy arrays, Python numbers or tensors of any framework that has
``.detach().cpu().numpy()`` (nothing is imported for them).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

_SHOWN = 10  # at most this many further indices are listed in a message


def _to_numpy(x: Any) -> NDArray[np.float64]:
    if hasattr(x, "detach"):  # a torch tensor (any device), without importing torch
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


def _mismatch(
    candidate: NDArray[np.float64],
    reference: NDArray[np.float64],
    atol: float,
    rtol: float,
    equal_nan: bool,
) -> NDArray[np.bool_]:
    with np.errstate(invalid="ignore", over="ignore"):
        close = np.abs(candidate - reference) <= atol + rtol * np.abs(reference)
    close |= candidate == reference  # equal infinities
    if equal_nan:
        close |= np.isnan(candidate) & np.isnan(reference)
    return ~close


def _check_tolerances(atol: float, rtol: float) -> None:
    for name, value in (("atol", atol), ("rtol", rtol)):
        if not (isinstance(value, (int, float, np.floating)) and value >= 0):
            raise ValueError(f"`{name}` must be a number >= 0, got {value!r}.")


def _describe(c: float, r: float, atol: float, rtol: float) -> str:
    allowed = atol + rtol * abs(r) if np.isfinite(r) else 0.0
    if np.isnan(c) or np.isnan(r) or np.isinf(c) or np.isinf(r):
        return f"candidate {c!r}, reference {r!r}"
    return (
        f"candidate {c!r}, reference {r!r} (difference {abs(c - r):.3g} > allowed {allowed:.3g}"
        f" = atol {atol:g} + rtol {rtol:g} x |reference|)"
    )


def assert_metric_close(
    candidate: Any,
    reference: Any,
    *,
    atol: float = 1e-9,
    rtol: float = 1e-9,
    name: str = "metric",
    equal_nan: bool = True,
) -> None:
    """Assert that a scalar metric equals the reference within ``atol + rtol * |reference|``.

    Parameters
    ----------
    candidate, reference : float or 0-d array / tensor
        The value of the implementation under test and the oracle's.
    atol, rtol : float, default 1e-9, 1e-9
        Absolute and relative tolerance. A float64 implementation of the exact definition
        meets the defaults; one that accumulates in float32 needs ``atol`` about 1e-6.
    name : str, default "metric"
        Name used in the failure message (e.g. ``"AU-PRO"``).
    equal_nan : bool, default True
        Whether ``nan`` equals ``nan`` (an undefined metric on both sides).

    Raises
    ------
    AssertionError
        With both values, the difference and the tolerance.

    Examples
    --------
    >>> assert_metric_close(0.75 + 1e-12, 0.75, name="AUROC")
    >>> assert_metric_close(0.8, 0.75, name="AUROC", atol=1e-3)
    Traceback (most recent call last):
    ...
    AssertionError: AUROC: candidate 0.8, reference 0.75 (difference 0.05 > allowed 0.001 = atol 0.001 + rtol 1e-09 x |reference|)
    """
    _check_tolerances(atol, rtol)
    c, r = _to_numpy(candidate), _to_numpy(reference)
    if c.size != 1 or r.size != 1:
        raise ValueError(
            f"`candidate` and `reference` must be scalars, got shapes {c.shape} and {r.shape}: "
            "use assert_per_image_close or assert_curve_close for arrays."
        )
    c_val, r_val = float(c.reshape(())), float(r.reshape(()))
    if _mismatch(c.reshape(()), r.reshape(()), atol, rtol, equal_nan):
        raise AssertionError(f"{name}: {_describe(c_val, r_val, atol, rtol)}")


def _indexed_mismatch(
    candidate: Any, reference: Any, atol: float, rtol: float, equal_nan: bool, what: str, name: str
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.intp]]:
    _check_tolerances(atol, rtol)
    c, r = _to_numpy(candidate).ravel(), _to_numpy(reference).ravel()
    if c.shape != r.shape:
        raise AssertionError(f"{name}: candidate has {c.size} {what}s, reference {r.size} {what}s.")
    return c, r, np.flatnonzero(_mismatch(c, r, atol, rtol, equal_nan))


def _others(bad: NDArray[np.intp]) -> str:
    if bad.size <= 1:
        return ""
    shown = ", ".join(str(int(i)) for i in bad[1 : 1 + _SHOWN])
    return f"; also at {shown}" + (", ..." if bad.size > 1 + _SHOWN else "")


def assert_per_image_close(
    candidate: Any,
    reference: Any,
    *,
    atol: float = 1e-9,
    rtol: float = 1e-9,
    name: str = "per-image metric",
    equal_nan: bool = True,
) -> None:
    """Assert that per-image results (one value per image) agree, naming the first differing image.

    Parameters
    ----------
    candidate, reference : array_like or tensor, shape (N,)
        One value per image (e.g. AUPIMO per image; ``nan`` for normal images).
    atol, rtol : float, default 1e-9, 1e-9
        Absolute and relative tolerance.
    name : str, default "per-image metric"
        Name used in the failure message.
    equal_nan : bool, default True
        Whether ``nan`` equals ``nan``.

    Raises
    ------
    AssertionError
        With the number of differing images, the first one's index and values, and the next
        indices.

    Examples
    --------
    >>> nan = float("nan")
    >>> assert_per_image_close([nan, 0.5, 0.25], [nan, 0.5, 0.25], name="AUPIMO")
    >>> assert_per_image_close([nan, 0.5, 0.3], [nan, 0.5, 0.25], name="AUPIMO")
    Traceback (most recent call last):
    ...
    AssertionError: AUPIMO differs at 1 of 3 images; first at image 2: candidate 0.3, reference 0.25 (difference 0.05 > allowed 1.25e-09 = atol 1e-09 + rtol 1e-09 x |reference|)
    """
    c, r, bad = _indexed_mismatch(candidate, reference, atol, rtol, equal_nan, "image", name)
    if bad.size:
        i = int(bad[0])
        raise AssertionError(
            f"{name} differs at {bad.size} of {c.size} images; first at image {i}: "
            f"{_describe(float(c[i]), float(r[i]), atol, rtol)}{_others(bad)}"
        )


def assert_per_region_close(
    candidate: Any,
    reference: Any,
    *,
    atol: float = 1e-9,
    rtol: float = 1e-9,
    name: str = "region overlap",
    equal_nan: bool = True,
) -> None:
    """Assert that per-region results agree, naming the first differing region and its image.

    Parameters
    ----------
    candidate : array_like or tensor, shape (R,)
        One value per ground-truth region, in the order of
        :func:`~anomaly_metrics.testing.reference_labels` (image by image, then scipy's label
        order: row-major first pixel).
    reference : RegionOverlaps or array_like, shape (R,)
        The oracle's values; a :class:`~anomaly_metrics.testing.RegionOverlaps` (from
        :func:`~anomaly_metrics.testing.reference_region_overlaps`) also gives each region's
        image and size to the message.
    atol, rtol : float, default 1e-9, 1e-9
        Absolute and relative tolerance.
    name : str, default "region overlap"
        Name used in the failure message.
    equal_nan : bool, default True
        Whether ``nan`` equals ``nan``.

    Raises
    ------
    AssertionError
        With the number of differing regions and the first one's index, image, size and values.

    Examples
    --------
    >>> from anomaly_metrics.testing import reference_region_overlaps
    >>> maps = [[[0.9, 0.1, 0.2], [0.3, 0.1, 0.8]]]
    >>> masks = [[[1, 0, 0], [1, 0, 1]]]
    >>> reference = reference_region_overlaps(maps, masks, 0.5)
    >>> assert_per_region_close([0.5, 1.0], reference)
    >>> assert_per_region_close([0.5, 0.0], reference)
    Traceback (most recent call last):
    ...
    AssertionError: region overlap differs at 1 of 2 regions; first at region 1 (image 0, 1 pixels): candidate 0.0, reference 1.0 (difference 1 > allowed 2e-09 = atol 1e-09 + rtol 1e-09 x |reference|)
    """
    values = getattr(reference, "overlap", reference)
    c, r, bad = _indexed_mismatch(candidate, values, atol, rtol, equal_nan, "region", name)
    if bad.size:
        k = int(bad[0])
        where = ""
        if hasattr(reference, "image_index") and hasattr(reference, "size"):
            where = f" (image {int(reference.image_index[k])}, {int(reference.size[k])} pixels)"
        raise AssertionError(
            f"{name} differs at {bad.size} of {c.size} regions; first at region {k}{where}: "
            f"{_describe(float(c[k]), float(r[k]), atol, rtol)}{_others(bad)}"
        )


def _fields(curve: Any) -> tuple[list[str], list[NDArray[np.float64]]]:
    if hasattr(curve, "_fields"):
        names = list(curve._fields)
    elif isinstance(curve, Sequence) and not isinstance(curve, (str, bytes)):
        names = [f"array {k}" for k in range(len(curve))]
    else:
        raise TypeError(
            f"a curve must be a NamedTuple or a sequence of arrays, got {type(curve).__name__}."
        )
    return names, [_to_numpy(a) for a in curve]


def assert_curve_close(
    candidate: Any,
    reference: Any,
    *,
    atol: float = 1e-9,
    rtol: float = 1e-9,
    name: str = "curve",
    equal_nan: bool = True,
) -> None:
    """Assert that two curves agree point by point, naming the first differing point and threshold.

    Each array of the curve is compared along its last axis, the curve's points: ``(fpr, tpr,
    thresholds)``, ``(fpr, pro, thresholds)``, or PIMO's ``(thresholds, shared_fpr,
    per_image_tpr (N, K), image_classes)`` (a 2-D array names the image too).

    Parameters
    ----------
    candidate, reference : NamedTuple or sequence of array_like
        The two curves, with the same number of arrays in the same order; field names come
        from the one that is a NamedTuple (the reference first), and an array named
        ``thresholds`` gives the threshold of the differing point.
    atol, rtol : float, default 1e-9, 1e-9
        Absolute and relative tolerance (thresholds included).
    name : str, default "curve"
        Name used in the failure message.
    equal_nan : bool, default True
        Whether ``nan`` equals ``nan``.

    Raises
    ------
    AssertionError
        With the first point where any array differs (or the number of points, when they
        differ), its threshold and the differing values.

    Examples
    --------
    >>> from anomaly_metrics import roc_curve
    >>> from anomaly_metrics.testing import reference_roc_curve
    >>> scores, labels = [0.1, 0.4, 0.4, 0.9], [0, 0, 1, 1]
    >>> assert_curve_close(roc_curve(scores, labels), reference_roc_curve(scores, labels))
    >>> shifted = roc_curve([0.1, 0.4, 0.5, 0.9], labels)
    >>> assert_curve_close(shifted, reference_roc_curve(scores, labels), name="ROC")
    Traceback (most recent call last):
    ...
    AssertionError: ROC: candidate has 5 points, reference 4; first differing point 2 (reference threshold 0.4): thresholds candidate 0.5, reference 0.4
    """
    _check_tolerances(atol, rtol)
    c_names, c_arrays = _fields(candidate)
    r_names, r_arrays = _fields(reference)
    names = r_names if hasattr(reference, "_fields") else c_names
    if len(c_arrays) != len(r_arrays):
        raise AssertionError(
            f"{name}: candidate has {len(c_arrays)} arrays, reference {len(r_arrays)}."
        )
    r_thr = r_arrays[names.index("thresholds")] if "thresholds" in names else None
    c_thr = c_arrays[names.index("thresholds")] if "thresholds" in names else None

    def at_threshold(j: int) -> str:
        if r_thr is not None and r_thr.ndim == 1 and j < r_thr.size:
            return f" (reference threshold {float(r_thr[j])!r})"
        return ""

    # Different numbers of points: report the first point where the thresholds part.
    if c_thr is not None and r_thr is not None and c_thr.shape != r_thr.shape:
        n = min(c_thr.size, r_thr.size)
        bad = np.flatnonzero(_mismatch(c_thr[:n], r_thr[:n], atol, rtol, equal_nan))
        j = int(bad[0]) if bad.size else n
        detail = (
            f"thresholds candidate {float(c_thr[j])!r}, reference {float(r_thr[j])!r}"
            if j < n
            else "the shorter curve ends there"
        )
        raise AssertionError(
            f"{name}: candidate has {c_thr.size} points, reference {r_thr.size}; "
            f"first differing point {j}{at_threshold(j)}: {detail}"
        )
    first: tuple[int, int] | None = None  # (point, image) of the earliest difference
    parts: dict[int, list[str]] = {}
    for field, c, r in zip(names, c_arrays, r_arrays):
        if c.shape != r.shape:
            raise AssertionError(
                f"{name}: `{field}` has shape {c.shape} in the candidate, {r.shape} in the reference."
            )
        bad = _mismatch(c, r, atol, rtol, equal_nan)
        if not bad.any():
            continue
        if r_thr is not None and c.ndim == 1 and c.size != r_thr.size:  # per image, not per point
            i = int(np.flatnonzero(bad)[0])
            raise AssertionError(
                f"{name}: `{field}` differs at image {i}: "
                f"{_describe(float(c[i]), float(r[i]), atol, rtol)}"
            )
        if bad.ndim == 0:
            j, i = 0, -1
        elif bad.ndim == 1:
            j, i = int(np.flatnonzero(bad)[0]), -1
        else:  # (N, K): the earliest point with a difference in any image, then the first image
            cols = bad.reshape(-1, bad.shape[-1]).any(axis=0)
            j = int(np.flatnonzero(cols)[0])
            i = int(np.flatnonzero(bad.reshape(-1, bad.shape[-1])[:, j])[0])
        where = f"image {i}: " if i >= 0 else ""
        cv = c.reshape(-1, c.shape[-1])[max(i, 0), j] if c.ndim > 1 else c.reshape(-1)[j]
        rv = r.reshape(-1, r.shape[-1])[max(i, 0), j] if r.ndim > 1 else r.reshape(-1)[j]
        parts.setdefault(j, []).append(
            f"{field} {where}{_describe(float(cv), float(rv), atol, rtol)}"
        )
        if first is None or j < first[0]:
            first = (j, i)
    if first is not None:
        j = first[0]
        raise AssertionError(
            f"{name}: first differing point {j}{at_threshold(j)}: " + "; ".join(parts[j])
        )
