"""Sources of chunks that can be read more than once, and the pass runner over them.

The out-of-core functions (:mod:`anomaly_metrics.out_of_core`) and the Dask functions
(:mod:`anomaly_metrics.dask`) share their algorithms (:mod:`._chunked_metrics`): each is a few
*passes*, and a pass is a per-chunk function (a *stage*) whose partial results are merged in
chunk order. This module holds the local side: turning what the user passes into a re-iterable
source of ``(values, labels)`` chunks, checking each chunk, and running a pass over it.

Partial results are dicts whose keys say how two of them merge: ``cat_*`` (lists, concatenated
in chunk order), ``sum_*`` (added), ``min_*`` / ``max_*`` and ``set_*`` (frozensets, united).
The merge is associative and keeps chunk order, so a left fold (here) and a tree reduction (Dask)
give the same result.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._spro import _check_channels
from ._validation import check_maps_and_masks, check_scores_and_labels

__all__ = ["ArrayChunks"]

# Default chunk: about this many pixels (16 MiB of float32 maps).
_CHUNK_PIXELS = 1 << 22

_Stage = Callable[..., dict[str, Any]]


def merge_parts(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Merge two partial results of the same stage, ``a`` before ``b`` in chunk order."""
    out: dict[str, Any] = {}
    for key, x in a.items():
        y = b[key]
        if key.startswith("cat_"):
            out[key] = [*x, *y]
        elif key.startswith("sum_"):
            # int64 sums, also of blocks' int32 counts (a block cannot overflow them, a sum can)
            out[key] = np.add(x, y, dtype=np.int64) if _int32(x) or _int32(y) else x + y
        elif key.startswith("min_"):
            out[key] = min(x, y)
        elif key.startswith("max_"):
            out[key] = max(x, y)
        elif key.startswith("set_"):
            out[key] = x | y
        else:  # pragma: no cover - a programming error in a stage
            raise AssertionError(f"partial result key {key!r} has no merge rule")
    return out


def _int32(x: Any) -> bool:
    return isinstance(x, np.ndarray) and x.dtype == np.int32


def check_chunk(kind: str, values: Any, labels: Any) -> tuple[NDArray[Any], NDArray[np.bool_]]:
    """One chunk checked as the in-memory functions check their input.

    ``kind="scores"``: any matching shapes, returned flat; ``kind="maps"``: ``(B, H, W)``,
    ``(B, 1, H, W)`` or one ``(H, W)`` image, returned ``(B, H, W)``.
    """
    if kind == "scores":
        return check_scores_and_labels(values, labels)
    return check_maps_and_masks(values, labels)


def run_stage(kind: str, stage: _Stage, values: Any, labels: Any, *params: Any) -> dict[str, Any]:
    """``stage`` of one raw chunk, checked first (the unit of work of every pass).

    ``kind="channels"`` (AU-sPRO): `labels` is the pair ``(channels, saturation_areas)`` and
    the stage gets the chunk's checked ``_Channels`` alone.
    """
    if kind == "channels":
        return stage(_check_channels(values, *labels), *params)
    v, y = check_chunk(kind, values, labels)
    return stage(v, y, *params)


def unpack_chunk(kind: str, chunk: Any, i: int) -> tuple[Any, Any]:
    """``(values, labels)`` of chunk `i` as `run_stage` takes them, or a precise TypeError."""
    if kind == "channels":
        items = tuple(chunk) if isinstance(chunk, (tuple, list)) else ()
        if len(items) == 2:
            return items[0], (items[1], None)
        if len(items) == 3:
            return items[0], (items[1], items[2])
        raise TypeError(
            "`source` must yield (anomaly_maps, channels) pairs or (anomaly_maps, channels, "
            f"saturation_areas) triples, got {_describe(chunk)} as chunk {i}."
        )
    try:
        values, labels = chunk
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"`source` must yield (anomaly_maps, masks) pairs, got {type(chunk).__name__} "
            f"as chunk {i}."
        ) from err
    return values, labels


def _describe(chunk: Any) -> str:
    if isinstance(chunk, (tuple, list)):
        return f"a {type(chunk).__name__} of {len(chunk)}"
    return type(chunk).__name__


def _is_array_like(x: Any) -> bool:
    return isinstance(x, (str, os.PathLike, np.ndarray))


class ArrayChunks:
    """A pair of arrays or ``.npy`` files read a chunk of images at a time (re-iterable).

    Parameters
    ----------
    anomaly_maps, masks : ndarray, np.memmap, str or path
        The maps (or scores) and masks (or labels), the same length along the first axis
        (images). A path is a ``.npy`` file opened with ``np.load(path, mmap_mode="r")`` for
        each chunk, so only the chunk being read is in memory.
    images_per_chunk : int, optional
        Images per chunk (default: about 2**22 pixels).

    Examples
    --------
    >>> import numpy as np
    >>> from anomaly_metrics.out_of_core import ArrayChunks
    >>> chunks = ArrayChunks(np.zeros((5, 2, 2)), np.zeros((5, 2, 2), bool), images_per_chunk=2)
    >>> [m.shape[0] for m, _ in chunks]
    [2, 2, 1]
    """

    def __init__(self, anomaly_maps: Any, masks: Any, images_per_chunk: int | None = None) -> None:
        self._maps = anomaly_maps
        self._masks = masks
        maps, gt = self._open(anomaly_maps, "anomaly_maps"), self._open(masks, "masks")
        if maps.ndim == 0 or gt.ndim == 0 or maps.shape[0] != gt.shape[0]:
            raise ValueError(
                "`anomaly_maps` and `masks` must be arrays with the same number of images "
                f"(first axis), got shapes {maps.shape} and {gt.shape}."
            )
        self.n_images = int(maps.shape[0])
        per_image = max(1, int(np.prod(maps.shape[1:], dtype=np.int64)))
        if images_per_chunk is None:
            images_per_chunk = max(1, _CHUNK_PIXELS // per_image)
        if (
            isinstance(images_per_chunk, (bool, np.bool_))
            or not isinstance(images_per_chunk, (int, np.integer))
            or images_per_chunk < 1
        ):
            raise ValueError(f"`images_per_chunk` must be an int >= 1, got {images_per_chunk!r}.")
        self.images_per_chunk = int(images_per_chunk)

    @staticmethod
    def _open(x: Any, name: str) -> NDArray[Any]:
        if isinstance(x, (str, os.PathLike)):
            return np.load(x, mmap_mode="r")
        if not isinstance(x, np.ndarray):
            raise TypeError(
                f"`{name}` must be an ndarray, np.memmap or .npy path, got {type(x).__name__}."
            )
        return x

    def __len__(self) -> int:
        return -(-self.n_images // self.images_per_chunk)

    def __iter__(self) -> Iterator[tuple[NDArray[Any], NDArray[Any]]]:
        for a in range(0, self.n_images, self.images_per_chunk):
            b = a + self.images_per_chunk
            # a fresh map per chunk, copied out and closed before the chunk is used, so that
            # the file's pages are not held while it is processed
            maps = np.array(self._open(self._maps, "anomaly_maps")[a:b])
            gt = np.array(self._open(self._masks, "masks")[a:b])
            yield maps, gt
            del maps, gt


def as_source(source: Any, kind: str = "maps") -> Iterable[tuple[Any, Any]]:
    """`source` as a re-iterable of ``(values, labels)`` chunks, or a precise error."""
    if kind == "channels":  # ragged ground truth: chunks only, never a pair of arrays
        if isinstance(source, (str, os.PathLike, np.ndarray)) or not hasattr(source, "__iter__"):
            raise TypeError(
                "`source` must be a re-iterable of (anomaly_maps, channels) or (anomaly_maps, "
                f"channels, saturation_areas) chunks (a list, ...), got {type(source).__name__}."
            )
    elif isinstance(source, tuple) and len(source) == 2 and all(map(_is_array_like, source)):
        return ArrayChunks(*source)
    elif isinstance(source, (str, os.PathLike, np.ndarray)):
        raise TypeError(
            "`source` must be a re-iterable of (anomaly_maps, masks) chunks or a pair of "
            f"arrays / .npy paths, got a single {type(source).__name__}: pass "
            "`(maps_path, masks_path)`."
        )
    elif not hasattr(source, "__iter__"):
        raise TypeError(
            "`source` must be a re-iterable of (anomaly_maps, masks) chunks (a list, an "
            f"ArrayChunks, ...), got {type(source).__name__}."
        )
    if iter(source) is source:
        raise TypeError(
            "`source` must be re-iterable (it is read two or more times: once for the "
            f"positives, once to count the rest), got a one-shot {type(source).__name__}. Pass "
            "a list or an object whose __iter__ starts over, or use the streaming functions "
            "(`anomaly_metrics.ranking_histogram` & co., `bins=` in the torch classes), which "
            "read their input once."
        )
    return source


class LocalRunner:
    """Runs passes over a local source, one chunk after the other, merging in order.

    ``on_pass(name, n_chunks)`` (optional) is called at the start of each pass and returns a
    callable invoked after each chunk (the CLI's progress bars).
    """

    def __init__(
        self,
        source: Any,
        kind: str,
        on_pass: Callable[[str, int | None], Callable[[], None]] | None = None,
    ) -> None:
        self.source = as_source(source, kind)
        self.kind = kind
        self.on_pass = on_pass
        self.passes = 0

    # stages may count into accumulators passed as parameters (pass 2's GapCounts)
    counts_in_place = True

    def map_reduce(self, name: str, stage: _Stage, *params: Any) -> dict[str, Any]:
        """``stage`` of every chunk, merged in chunk order (one read of the source)."""
        self.passes += 1
        total = len(self.source) if hasattr(self.source, "__len__") else None  # type: ignore[arg-type]
        tick = self.on_pass(name, total) if self.on_pass is not None else None
        merged: dict[str, Any] | None = None
        for i, chunk in enumerate(self.source):
            values, labels = unpack_chunk(self.kind, chunk, i)
            part = run_stage(self.kind, stage, values, labels, *params)
            del chunk, values, labels  # not alive while the next chunk is read
            merged = part if merged is None else merge_parts(merged, part)
            if tick is not None:
                tick()
        if merged is None:
            raise ValueError("`source` must hold at least one chunk, got none.")
        return merged
