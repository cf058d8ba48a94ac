"""Distributed sync of the list states: every process gets every process's batches, as stored.

torchmetrics gathers a ``"cat"`` list state by concatenating it on each process and padding
the result to the largest shape, which assumes that every process holds a tensor of the same
dtype and number of dimensions. That fails where processes differ: a process without data
holds an empty float tensor (its masks state is not a 3-d bool tensor), one process holds
float16 maps and another float32 (mixed precision), a process holds batches of different
image sizes. The collectives then disagree on sizes (gloo aborts) or a process reads another
dtype's bytes as its own.

:class:`SyncedMetric` replaces that step for list states. Each process describes its stored
tensors (dtype code and shape of every non-empty one) in a small int64 tensor; the
descriptions are gathered first, so every process knows every tensor's dtype and shape; then
the tensors' bytes travel in one ``uint8`` buffer per process, padded to the longest, and each
process rebuilds every other process's tensors in their own dtype and shape. After the sync a
list state is the list of every process's stored tensors in rank order (this process's own
tensors are not copied): exactly the list one process would hold had it received all the
batches, so ``compute`` makes the same call into the core and returns the same float. Every
collective goes through the metric's ``dist_sync_fn`` (torchmetrics' ``gather_all_tensors`` by
default) on equal-sized tensors, and every process makes the same calls whatever its data.
Tensor states (sums, minima, maxima) are reduced as torchmetrics does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor
from torchmetrics import Metric
from torchmetrics.utilities.data import dim_zero_cat
from torchmetrics.utilities.distributed import gather_all_tensors

__all__ = ["SyncedMetric", "gather_tensor_lists"]

# the dtypes a list state may hold, by code (the same table on every process)
_DTYPES: tuple[torch.dtype, ...] = tuple(
    d
    for d in (
        torch.bool,
        torch.uint8,
        torch.int8,
        torch.int16,
        torch.int32,
        torch.int64,
        torch.float16,
        torch.bfloat16,
        torch.float32,
        torch.float64,
        getattr(torch, "uint16", None),
        getattr(torch, "uint32", None),
        getattr(torch, "uint64", None),
    )
    if d is not None
)
_CODE = {d: i for i, d in enumerate(_DTYPES)}
_ALIGN = 8  # every tensor starts at a multiple of 8 bytes, so its bytes view as its dtype


def _gather(t: Tensor, sync: Callable[..., list[Tensor]], group: Any) -> list[Tensor]:
    """``sync(t)`` of a 1-d tensor whose length may differ by process: pad, gather, trim."""
    n = torch.tensor([t.numel()], dtype=torch.int64, device=t.device)
    sizes = [int(s) for s in sync(n, group=group)]
    longest = max(sizes)
    if longest == 0:  # nothing anywhere: no second collective (the same on every process)
        return [t[:0] for _ in sizes]
    if t.numel() < longest:
        t = torch.cat([t, t.new_zeros(longest - t.numel())])
    return [g[:s] for g, s in zip(sync(t, group=group), sizes)]


def _describe(lists: Sequence[Sequence[Tensor]], device: torch.device) -> Tensor:
    """int64 description: per list, its length, then per tensor: dtype code, ndim, shape."""
    codes: list[int] = []
    for parts in lists:
        codes.append(len(parts))
        for p in parts:
            if p.dtype not in _CODE:
                raise TypeError(
                    f"A list state must hold real numbers (float, int or bool), got {p.dtype}."
                )
            codes += [_CODE[p.dtype], p.ndim, *p.shape]
    return torch.tensor(codes, dtype=torch.int64, device=device)


def _read(description: list[int], count: int) -> list[list[tuple[torch.dtype, list[int]]]]:
    """The (dtype, shape) of every tensor of `count` lists, from `_describe`'s codes."""
    out, i = [], 0
    for _ in range(count):
        length, i = description[i], i + 1
        parts = []
        for _ in range(length):
            ndim = description[i + 1]
            parts.append((_DTYPES[description[i]], description[i + 2 : i + 2 + ndim]))
            i += 2 + ndim
        out.append(parts)
    return out


def _nbytes(dtype: torch.dtype, shape: Sequence[int]) -> int:
    n = torch.empty((), dtype=dtype).element_size()
    for s in shape:
        n *= s
    return -(-n // _ALIGN) * _ALIGN


def _pack(lists: Sequence[Sequence[Tensor]], device: torch.device) -> Tensor:
    """The bytes of every tensor, each padded to `_ALIGN`, as one uint8 tensor on `device`."""
    chunks = []
    for parts in lists:
        for p in parts:
            raw = p.detach().to(device).contiguous().reshape(-1).view(torch.uint8)
            chunks.append(raw)
            pad = _nbytes(p.dtype, p.shape) - raw.numel()
            if pad:
                chunks.append(raw.new_zeros(pad))
    if not chunks:
        return torch.zeros(0, dtype=torch.uint8, device=device)
    return torch.cat(chunks)


def gather_tensor_lists(
    lists: Sequence[Sequence[Tensor]],
    device: torch.device,
    dist_sync_fn: Callable[..., list[Tensor]] = gather_all_tensors,
    group: Any = None,
) -> list[list[Tensor]]:
    """Every process's lists of tensors, concatenated in rank order, list by list.

    Parameters
    ----------
    lists : sequence of sequences of Tensor
        This process's lists (the same number on every process); the tensors may differ in
        dtype, shape and number, from list to list and from process to process. Empty tensors
        are left out.
    device : torch.device
        Where the buffers travel (the metric's device).
    dist_sync_fn : callable, default torchmetrics' ``gather_all_tensors``
        ``dist_sync_fn(tensor, group=group)`` returns every process's tensor, in rank order.
    group : process group, optional
        The processes to gather from; None: all.

    Returns
    -------
    list of list of Tensor
        For each list: rank 0's tensors, then rank 1's, ...; this process's own tensors are the
        given ones, the others are views of the received bytes in their own dtype and shape.
    """
    lists = [[p for p in parts if p.numel()] for parts in lists]
    descriptions = [d.tolist() for d in _gather(_describe(lists, device), dist_sync_fn, group)]
    buffers = _gather(_pack(lists, device), dist_sync_fn, group)
    rank = torch.distributed.get_rank(group)
    out: list[list[Tensor]] = [[] for _ in lists]
    for r, (description, buffer) in enumerate(zip(descriptions, buffers)):
        if r == rank:
            for mine, parts in zip(out, lists):
                mine += parts
            continue
        offset = 0
        for received, parts in zip(out, _read(description, len(lists))):
            for dtype, shape in parts:
                size = _nbytes(dtype, shape)
                raw = buffer[offset : offset + size]
                count = 1
                for s in shape:
                    count *= s
                width = torch.empty((), dtype=dtype).element_size()
                received.append(raw[: count * width].view(dtype).reshape(shape))
                offset += size
    return out


class SyncedMetric(Metric):
    """A ``torchmetrics.Metric`` whose ``"cat"`` list states sync with `gather_tensor_lists`.

    After a sync each list state holds every process's stored tensors in rank order, in their
    own dtypes and shapes (see the module docstring); tensor states are gathered with
    ``dist_sync_fn`` and reduced with their ``dist_reduce_fx``, as torchmetrics does. The
    collectives are the same on every process whatever it holds (no data, other dtypes, other
    shapes, another number of batches).
    """

    def _sync_dist(
        self, dist_sync_fn: Callable[..., Any] = gather_all_tensors, process_group: Any = None
    ) -> None:
        group = process_group or self.process_group
        sync = dist_sync_fn or gather_all_tensors
        names = [a for a in self._reductions if isinstance(self._defaults[a], list)]
        for name in names:
            if self._reductions[name] is not dim_zero_cat:
                raise ValueError(
                    f"List state `{name}` of {type(self).__name__} must reduce with 'cat' to "
                    "be synced."
                )
        if names:
            local = []
            for name in names:
                value = getattr(self, name)
                local.append([value] if isinstance(value, Tensor) else list(value))
            for name, gathered in zip(names, gather_tensor_lists(local, self.device, sync, group)):
                if self.compute_on_cpu:  # received on the metric's device: to host memory
                    gathered = [t.cpu() for t in gathered]
                setattr(self, name, gathered)
        for name, reduce in self._reductions.items():
            if name in names:
                continue
            gathered_states = sync(getattr(self, name), group=group)
            stacked = torch.stack(gathered_states)
            setattr(self, name, reduce(stacked) if reduce is not None else stacked)
