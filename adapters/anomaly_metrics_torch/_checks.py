"""Checks of the tensors given to ``update`` (the adapter's input boundary).

Cheap checks (type, dtype, shape) never synchronise with an accelerator. Label and mask values
are checked only when they are not already bool (one reduction), so that a 0/255 mask fails at
the update that brought it, with a hint, instead of at ``compute``. Finiteness of scores is the
core's check, at ``compute``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

__all__ = ["as_labels", "as_maps_and_masks", "as_scores", "as_scores_and_labels"]


def _tensor(x: Any, name: str) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(
            f"`{name}` must be a torch.Tensor, got {type(x).__name__}: wrap it with "
            f"`torch.as_tensor({name})`."
        )
    return x.detach()


def as_scores(x: Any, name: str = "preds") -> Tensor:
    """`x` detached, as given; a TypeError unless it holds real numbers (float, int or bool)."""
    t = _tensor(x, name)
    if t.is_complex() or not (t.is_floating_point() or t.dtype == torch.bool or _is_int(t)):
        raise TypeError(f"`{name}` must hold real numbers (float, int or bool), got {t.dtype}.")
    return t


def _is_int(t: Tensor) -> bool:
    return not t.is_floating_point() and not t.is_complex() and t.dtype != torch.bool


def as_labels(x: Any, name: str = "target") -> Tensor:
    """`x` as a bool tensor; a ValueError unless every value is 0 or 1 (one reduction)."""
    t = _tensor(x, name)
    if t.dtype == torch.bool:
        return t
    if t.is_complex():
        raise TypeError(f"`{name}` must be bool or numbers in {{0, 1}}, got {t.dtype}.")
    bad = (t != 0) & (t != 1)
    if bool(bad.any()):
        values = torch.unique(t[bad])[:5].tolist()
        hint = ""
        if t.numel() and float(t.max()) == 255 and float(t.min()) >= 0:
            hint = f" ({name} look like 0/255 images: pass `{name} > 0`)"
        raise ValueError(f"`{name}` must be bool or all 0 or 1, got value(s) {values}{hint}.")
    return t != 0


def as_scores_and_labels(
    preds: Any,
    target: Any,
    *,
    ignore_index: int | None = None,
    names: tuple[str, str] = ("preds", "target"),
) -> tuple[Tensor, Tensor]:
    """Flat scores (dtype as given) and bool labels of a ranking problem, checked.

    The shapes must match up to size-1 axes (``(B,)`` and ``(B, 1)`` do). With `ignore_index`,
    samples whose target equals it are dropped first (torchmetrics' rule).
    """
    p = as_scores(preds, names[0])
    t = _tensor(target, names[1])
    if p.shape != t.shape and (p.numel() != t.numel() or p.squeeze().shape != t.squeeze().shape):
        raise ValueError(
            f"`{names[1]}` must have the same shape as `{names[0]}`, got {tuple(t.shape)} and "
            f"{tuple(p.shape)}."
        )
    p, t = p.reshape(-1), t.reshape(-1)
    if ignore_index is not None:
        keep = t != ignore_index
        p, t = p[keep], t[keep]
    return p, as_labels(t, names[1])


def as_maps_and_masks(
    maps: Any, masks: Any, *, names: tuple[str, str] = ("preds", "target")
) -> tuple[Tensor, Tensor]:
    """Maps ``(N, H, W)`` (dtype as given) and bool masks ``(N, H, W)``, checked.

    Each accepts ``(N, H, W)``, ``(N, 1, H, W)`` or a single ``(H, W)`` (anomalib's batch rules).
    """
    m = _as_nhw(as_scores(maps, names[0]), names[0])
    k = _as_nhw(_tensor(masks, names[1]), names[1])
    if m.shape != k.shape:
        raise ValueError(
            f"`{names[1]}` must have the same shape as `{names[0]}`, got {tuple(k.shape)} and "
            f"{tuple(m.shape)}."
        )
    return m, as_labels(k, names[1])


def _as_nhw(t: Tensor, name: str) -> Tensor:
    if t.ndim == 3:
        return t
    if t.ndim == 2:
        return t.unsqueeze(0)
    if t.ndim == 4 and t.shape[1] == 1:
        return t.squeeze(1)
    raise ValueError(
        f"`{name}` must have shape (N, H, W), (N, 1, H, W) or (H, W), got {tuple(t.shape)}."
    )
