"""Samples made of several images (Real-IAD: one object seen by 5 cameras).

A *sample* is a group of images that share a group label. Its score is a reduction of its
images' scores (the maximum, as Real-IAD's sample-level AUROC, or the mean) and its label is
anomalous iff any of its images is. The image-level metrics take ``groups=`` and evaluate the
samples instead of the images, so that sample AUROC is one call.
"""

from __future__ import annotations

from typing import Any, Literal, NamedTuple

import numpy as np
from numpy.typing import NDArray

from ._validation import check_labels, check_scores

__all__ = ["GroupedScores", "group_scores"]

_REDUCE = ("max", "mean")


class GroupedScores(NamedTuple):
    """Per-sample scores and labels (see :func:`group_scores`)."""

    groups: NDArray[Any]  # (G,) group labels, in order of first appearance
    scores: NDArray[np.float64]  # (G,) reduced score of each group
    labels: NDArray[np.bool_] | None  # (G,) any image of the group anomalous; None without labels
    sizes: NDArray[np.int64]  # (G,) images per group


def _group_index(groups: Any, n: int) -> tuple[NDArray[Any], NDArray[np.intp]]:
    """(distinct groups in order of first appearance, group index of each image)."""
    if groups is None:
        raise TypeError("`groups` must be an array-like of group labels, got None.")
    if isinstance(groups, np.ndarray):
        g = groups
    elif isinstance(groups, (str, bytes)) or not hasattr(groups, "__len__"):
        raise TypeError(
            f"`groups` must be a sequence or array of labels, got {type(groups).__name__}."
        )
    else:  # a list of any hashables (tuples included): one object per image
        g = np.empty(len(groups), object)
        g[:] = list(groups)
    if g.ndim != 1:
        raise ValueError(f"`groups` must be 1-D, one label per image ({n}), got shape {g.shape}.")
    if g.size != n:
        raise ValueError(f"`groups` must hold one label per image ({n}), got {g.size} label(s).")
    if g.dtype.kind == "f" and not np.all(np.isfinite(g)):
        raise ValueError("`groups` must not hold NaN or infinite labels.")
    if g.dtype.kind in "iubfUS":
        _, first, inverse = np.unique(g, return_index=True, return_inverse=True)
        order = np.argsort(first, kind="stable")  # groups in order of first appearance
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        return g[first[order]], rank[inverse.reshape(-1)]
    index: dict[Any, int] = {}
    inv = np.empty(n, np.intp)
    for i, label in enumerate(g.tolist()):
        if isinstance(label, float) and not np.isfinite(label):
            raise ValueError("`groups` must not hold NaN or infinite labels.")
        try:
            inv[i] = index.setdefault(label, len(index))
        except TypeError as err:
            raise TypeError(
                f"`groups` must hold hashable labels, got {type(label).__name__} at index {i}."
            ) from err
    out = np.empty(len(index), object)
    out[:] = list(index)
    return out, inv


def _reduce(
    scores: NDArray[Any], inv: NDArray[np.intp], n_groups: int, reduce: str
) -> NDArray[np.float64]:
    s = scores.astype(np.float64, copy=False)
    if reduce == "max":
        out = np.full(n_groups, -np.inf)
        np.maximum.at(out, inv, s)
        return out
    return np.bincount(inv, weights=s, minlength=n_groups) / np.bincount(inv, minlength=n_groups)


def _check_reduce(reduce: Any) -> str:
    if reduce not in _REDUCE:
        raise ValueError(
            f"`reduce` must be one of {', '.join(map(repr, _REDUCE))}, got {reduce!r}."
        )
    return str(reduce)


def group_scores(
    image_scores: Any,
    groups: Any,
    labels: Any = None,
    *,
    reduce: Literal["max", "mean"] = "max",
) -> GroupedScores:
    """Reduce image scores (and labels) to one per sample, a sample being a group of images.

    Parameters
    ----------
    image_scores : array-like of shape (N,)
        One score per image; finite.
    groups : array-like of shape (N,)
        The sample each image belongs to: any hashable labels (ints, strings, tuples...).
    labels : array-like of shape (N,), optional
        Image labels (1 / True anomalous); a sample is anomalous iff any of its images is.
    reduce : {"max", "mean"}, default "max"
        How a sample's score is made from its images' scores (Real-IAD: ``"max"``).

    Returns
    -------
    GroupedScores
        ``groups`` (distinct labels in order of first appearance), ``scores`` (float64),
        ``labels`` (bool, None without `labels`) and ``sizes`` (images per sample).

    Raises
    ------
    TypeError
        Non-numeric scores, unhashable group labels.
    ValueError
        Lengths that differ, non-finite scores, labels not in {0, 1}, an unknown `reduce`.

    Examples
    --------
    >>> import anomaly_metrics as am
    >>> g = am.group_scores([0.1, 0.7, 0.2, 0.3], ["a", "a", "b", "b"], [0, 1, 0, 0])
    >>> g.groups.tolist(), g.scores.tolist(), g.labels.tolist()
    (['a', 'b'], [0.7, 0.3], [True, False])
    >>> am.group_scores([0.25, 0.75, 0.2, 0.3], [5, 5, 2, 2], reduce="mean").scores.tolist()
    [0.5, 0.25]
    """
    mode = _check_reduce(reduce)
    s = check_scores(image_scores, "image_scores").reshape(-1)
    names, inv = _group_index(groups, s.size)
    y = None
    if labels is not None:
        y = check_labels(labels, "labels").reshape(-1)
        if y.size != s.size:
            raise ValueError(
                f"`labels` must hold one label per image ({s.size}), got {y.size} label(s)."
            )
    return _grouped(s, y, names, inv, mode)


def _grouped(
    s: NDArray[Any],
    y: NDArray[np.bool_] | None,
    names: NDArray[Any],
    inv: NDArray[np.intp],
    mode: str,
) -> GroupedScores:
    k = names.size
    sizes = np.bincount(inv, minlength=k).astype(np.int64)
    out_y = None
    if y is not None:
        out_y = np.bincount(inv, weights=y, minlength=k) > 0
    return GroupedScores(names, _reduce(s, inv, k, mode), out_y, sizes)


def _apply_groups(
    scores: Any, labels: Any, groups: Any, scores_name: str = "scores"
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """(sample scores by max, sample labels by any) for the ``groups=`` of the image metrics.

    Validates `scores` and `labels` (same size, flattened) and `groups` (one per score).
    """
    s = check_scores(scores, scores_name).reshape(-1)
    y = check_labels(labels, "labels").reshape(-1)
    if y.size != s.size:
        raise ValueError(
            f"`{scores_name}` and `labels` must have the same shape, got {np.shape(scores)} and "
            f"{np.shape(labels)}."
        )
    names, inv = _group_index(groups, s.size)
    g = _grouped(s, y, names, inv, "max")
    assert g.labels is not None
    return g.scores, g.labels
