"""The one place where tensors become NumPy arrays and results become tensors again.

Every device decision of the package lives here, so the CPU test-suite exercises everything
else: ``state_to_numpy`` brings a metric state to host memory (detach, CPU, a NumPy view of the
same memory where the dtype allows it), ``to_result`` puts a core result on the metric's device.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from torch import Tensor

__all__ = ["state_batches", "state_pairs", "state_to_numpy", "to_result"]

# NumPy has no bfloat16; these are widened (exactly) before the view
_WIDEN = {torch.bfloat16: torch.float32}
# devices without float64 support receive float32 results
_NO_FLOAT64 = ("mps",)


def _host(t: Tensor) -> NDArray[Any]:
    """One tensor as NumPy: detached, on the CPU, a view where the dtype allows it."""
    t = t.detach()
    if t.dtype in _WIDEN:
        t = t.to(_WIDEN[t.dtype])
    if t.device.type != "cpu":
        t = t.cpu()
    return t.numpy()


def state_to_numpy(
    state: Tensor | Sequence[Tensor], *, empty_shape: tuple[int, ...] = (0,)
) -> NDArray[Any]:
    """A metric state (a tensor or a list of tensors, concatenated along dim 0) as a NumPy array.

    Detaches, moves to the CPU (a no-op for CPU tensors) and returns a view of the tensor's
    memory whenever possible: float16/32/64, integer and bool tensors stay in their dtype (the
    core decides about widening; bool masks stay bool), bfloat16 is widened to float32. List
    states on an accelerator are concatenated there and transferred once; on the CPU they are
    concatenated by NumPy (one copy, single-threaded: torch.cat's thread pool only adds
    overhead to a copy). An empty list gives an empty float32 array of `empty_shape`, which
    the core rejects with its own message.
    """
    if isinstance(state, Tensor):
        return _host(state)
    parts = [t for t in state if t.numel()] or list(state[:1])
    if not parts:
        return np.empty(empty_shape, np.float32)
    if len(parts) > 1 and parts[0].device.type != "cpu":
        device = parts[0].device
        parts = [torch.cat([p.to(device) for p in parts])]
    arrays = [_host(p) for p in parts]
    return arrays[0] if len(arrays) == 1 else np.concatenate(arrays)


def state_batches(state: Tensor | Sequence[Tensor]) -> list[NDArray[Any]]:
    """A list state as NumPy arrays, one per non-empty stored tensor, without concatenating.

    For the core functions that take consecutive batches (PRO, PIMO, AUPIMO): on the CPU each
    array is a view of its tensor (see ``_host``), so nothing of the stored data is copied. A
    tensor state (after a distributed sync) is one batch; list states on an accelerator are
    concatenated there and transferred once, as in :func:`state_to_numpy`. No non-empty tensor
    gives an empty list.
    """
    if isinstance(state, Tensor):
        return [_host(state)] if state.numel() else []
    parts = [t for t in state if t.numel()]
    if len(parts) > 1 and parts[0].device.type != "cpu":
        return [state_to_numpy(parts)]
    return [_host(p) for p in parts]


def state_pairs(
    values: Tensor | Sequence[Tensor], labels: Tensor | Sequence[Tensor]
) -> tuple[list[NDArray[Any]], list[NDArray[Any]]]:
    """Two list states of equal length (values, labels) as lists of per-update NumPy arrays.

    For the core's private ``*_batches`` functions, which equal the public function on the
    concatenation without making it (no copy of the stored data on the CPU, see
    :func:`state_batches`). States that do not pair up (no data, or a sync that left one a
    tensor and the other a list) give one concatenated array each, which the core checks,
    and rejects with its own message when empty.
    """
    v, y = state_batches(values), state_batches(labels)
    if not v or len(v) != len(y):
        return [state_to_numpy(values)], [state_to_numpy(labels)]
    return v, y


def to_result(value: Any, device: torch.device | str, dtype: torch.dtype = torch.float64) -> Tensor:
    """A core result (Python number or NumPy array) as a tensor of `dtype` on `device`.

    float64 by default: the core computes in float64 and a float32 result would round it. On
    devices without float64 (Apple MPS) floating results become float32.
    """
    device = torch.device(device)
    if dtype == torch.float64 and device.type in _NO_FLOAT64:
        dtype = torch.float32
    if isinstance(value, np.ndarray):
        out = torch.from_numpy(np.ascontiguousarray(value))
        return out.to(device=device, dtype=dtype)
    return torch.tensor(value, dtype=dtype, device=device)
