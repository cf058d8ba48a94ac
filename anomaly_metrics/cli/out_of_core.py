"""``evaluate --max-memory / --dask-scheduler``: categories larger than memory, read in chunks.

A category whose maps and masks would take more than ``--max-memory`` bytes (default: half of
the machine's memory) is not stacked in memory: its files are read in chunks of images, in
parallel threads, once per pass of :func:`anomaly_metrics.out_of_core.evaluate` (twice), with a
progress bar per pass. With ``--dask-scheduler ADDRESS`` every category is evaluated on that
``dask.distributed`` cluster instead: each task reads its chunk of files (the workers must see
the same paths). The values are those of the in-memory path, bit for bit. Plots and per-image
results need the whole category in memory and are not produced on these paths (a warning says
so).
"""

from __future__ import annotations

import argparse
import os
import re
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .. import out_of_core
from .datasets import CategorySpec, ImageEntry, Problem
from .readers import ReadError, _load_in_windows, _lookup_score, _progress, read_map, read_mask

__all__ = ["default_max_memory", "evaluate_spec", "memory_size", "needs_chunks"]

_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
# Pixels per chunk of files (64 MiB of float32 maps).
_CHUNK_PIXELS = 1 << 24


def memory_size(text: str) -> int:
    """``--max-memory``: bytes, or a number with K/M/G/T (binary units), e.g. ``16G``."""
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([KMGT]?)(i?B)?\s*", text, re.IGNORECASE)
    if match is None or float(match.group(1)) <= 0:
        raise argparse.ArgumentTypeError(
            f"must be a size such as 16G, 512M or a number of bytes, got '{text}'"
        )
    return int(float(match.group(1)) * _UNITS[match.group(2).upper()])


def default_max_memory() -> int:
    """Half of the machine's physical memory."""
    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2


def _first_shape(spec: CategorySpec) -> tuple[tuple[int, ...], np.dtype[Any]] | None:
    for entry in spec.entries:
        try:
            amap = read_map(entry.map_path)
        except Exception:
            continue
        return amap.shape, amap.dtype
    return None


def needs_chunks(spec: CategorySpec, max_memory: int | None, dask_scheduler: str | None) -> bool:
    """Whether the category goes out of core (or to Dask) rather than into memory."""
    if dask_scheduler is not None:
        return True
    found = _first_shape(spec)
    if found is None:
        return False  # let the in-memory path report the unreadable files
    shape, dtype = found
    budget = default_max_memory() if max_memory is None else max_memory
    return len(spec.entries) * int(np.prod(shape)) * (dtype.itemsize + 1) > budget


class _FileChunks:
    """The category's readable images, a chunk at a time (re-iterable; same images each pass)."""

    def __init__(self, entries: list[ImageEntry], per_chunk: int, workers: int) -> None:
        self.entries = entries
        self.per_chunk = per_chunk
        self.workers = workers
        self.problems: list[Problem] | None = None  # filled by the first pass
        self.n_images = self.n_anomalous = 0
        self.shape: tuple[int, ...] | None = None

    def __len__(self) -> int:
        return -(-len(self.entries) // self.per_chunk)

    def __iter__(self) -> Iterator[tuple[NDArray[Any], NDArray[np.bool_]]]:
        first = self.problems is None
        problems: list[Problem] = []
        for a in range(0, len(self.entries), self.per_chunk):
            window = self.entries[a : a + self.per_chunk]
            maps, masks = [], []
            for entry, (amap, mask, bad) in zip(window, _load_in_windows(window, self.workers)):
                if bad or amap is None:
                    problems += bad
                    continue
                if self.shape is None:
                    self.shape = amap.shape
                if amap.shape != self.shape:
                    problems.append(
                        Problem(
                            str(entry.map_path),
                            f"shape {amap.shape} differs from the category's other maps "
                            f"{self.shape}",
                        )
                    )
                    continue
                maps.append(amap)
                masks.append(np.zeros(amap.shape, bool) if mask is None else mask)
            if maps:
                gt = np.stack(masks)
                if first:
                    self.n_images += len(maps)
                    self.n_anomalous += int(gt.reshape(len(maps), -1).any(axis=1).sum())
                yield np.stack(maps), gt
        if first:
            self.problems = problems


def _read_chunk(entries: list[ImageEntry], dtype: str) -> tuple[NDArray[Any], NDArray[Any]]:
    """A Dask task: the chunk's maps and masks (a normal image without a mask: all False)."""
    maps = np.stack([read_map(e.map_path) for e in entries]).astype(dtype)
    masks = [
        read_mask(e.mask_path) if e.mask_path is not None else np.zeros(maps.shape[1:], bool)
        for e in entries
    ]
    return maps, np.stack(masks)


def _on_dask(
    spec: CategorySpec, entries: list[ImageEntry], per_chunk: int, address: str, **options: Any
) -> tuple[dict[str, float], int, int]:
    import dask
    import dask.array as da
    from distributed import Client

    from .. import dask as am_dask

    found = _first_shape(spec)
    if found is None:
        raise ValueError("no readable anomaly map")
    shape, dtype = found
    maps_blocks, masks_blocks = [], []
    for a in range(0, len(entries), per_chunk):
        chunk = dask.delayed(_read_chunk)(entries[a : a + per_chunk], dtype.str)
        size = (len(entries[a : a + per_chunk]), *shape)
        maps_blocks.append(da.from_delayed(chunk[0], size, dtype))
        masks_blocks.append(da.from_delayed(chunk[1], size, bool))
    maps, masks = da.concatenate(maps_blocks), da.concatenate(masks_blocks)
    with Client(address) as client:
        values = am_dask.evaluate(maps, masks, scheduler=client, **options)
        labels = client.compute(masks.reshape(masks.shape[0], -1).any(axis=1)).result()
    return values, int(labels.size), int(labels.sum())


def evaluate_spec(
    spec: CategorySpec,
    *,
    metrics: list[str],
    fpr_limit: float,
    image_scores: dict[str, float] | None,
    workers: int,
    progress: bool,
    dask_scheduler: str | None,
    problem: Callable[[Problem], None],
    warning: Callable[[str, str], None],
) -> dict[str, Any] | None:
    """The result row of a category read in chunks, or None after reporting its problems.

    The row holds ``num_images``, ``num_anomalous`` and the metric values; problems go through
    `problem`, the metrics' warnings through ``warning(category, message)``.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            row = _evaluate_spec(
                spec, metrics, fpr_limit, image_scores, workers, progress, dask_scheduler, problem
            )
        except (ValueError, TypeError, ReadError) as err:  # ReadError: a Dask task's file
            problem(Problem(spec.name, str(err)))
            row = None
    for w in caught:
        warning(spec.name, str(w.message))
    return row


def _evaluate_spec(
    spec: CategorySpec,
    metrics: list[str],
    fpr_limit: float,
    image_scores: dict[str, float] | None,
    workers: int,
    progress: bool,
    dask_scheduler: str | None,
    problem: Callable[[Problem], None],
) -> dict[str, Any] | None:
    entries, scores = spec.entries, None
    if image_scores is not None:
        kept = [(e, _lookup_score(image_scores, e)) for e in entries]
        for e, s in kept:
            if s is None:
                problem(Problem(str(e.map_path), f"no image score for '{e.key}' in --image-scores"))
        entries = [e for e, s in kept if s is not None]
        scores = np.array([s for _, s in kept if s is not None], np.float64)
    found = _first_shape(spec)
    pixels = int(np.prod(found[0])) if found is not None else 1
    per_chunk = max(1, _CHUNK_PIXELS // pixels)
    options = {"metrics": metrics, "fpr_limit": fpr_limit, "image_scores": scores}
    if dask_scheduler is not None:
        values, n, n_anomalous = _on_dask(spec, entries, per_chunk, dask_scheduler, **options)
        return {"num_images": n, "num_anomalous": n_anomalous, **values}
    chunks = _FileChunks(entries, per_chunk, workers)
    bars: list[Any] = []

    def on_pass(name: str, total: int | None) -> Callable[[], None]:
        for bar in bars:
            bar.close()
        bars.append(_progress(total or 0, f"{spec.name} ({name})", progress))
        return lambda: bars[-1].update(1)

    try:
        values = out_of_core.evaluate(chunks, progress=on_pass, **options)
    except (ValueError, TypeError):
        if not chunks.problems:
            raise
        values = {}
    finally:
        for bar in bars:
            bar.close()
    for p in chunks.problems or []:
        problem(p)
    if chunks.problems:
        return None
    return {"num_images": chunks.n_images, "num_anomalous": chunks.n_anomalous, **values}
