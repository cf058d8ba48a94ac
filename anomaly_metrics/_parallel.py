"""The one thread policy of the library: how many workers, how work is cut, how chunks run.

Every multi-threaded path (the counting primitive, region labelling, histograms, PIMO, input
checks, the bootstrap) asks this module how many threads it may use and runs its chunks through
:func:`run_tasks`. The kernels release the GIL (``nogil=True``), so plain threads scale.

The cap is, in order of precedence: :func:`set_num_threads`, the environment variable
``ANOMALY_METRICS_NUM_THREADS``, then ``min(os.cpu_count(), 8)``. Counts are integers, so every
result is the same whatever the number of threads (one thread included).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from itertools import pairwise
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "ENV_VAR",
    "chunk_images",
    "cut_at_batches",
    "get_num_threads",
    "num_workers",
    "run_in_spans",
    "run_over_images",
    "run_tasks",
    "set_num_threads",
    "split_range",
    "threads",
]

ENV_VAR = "ANOMALY_METRICS_NUM_THREADS"
# More threads than this rarely pay: the passes are bound by memory bandwidth.
_DEFAULT_MAX = 8

# Work sizes (elements per worker) below which an extra thread does not pay for itself.
SCORES_PER_WORKER = 1 << 21  # counting scores into the gaps of the positives
PIXELS_PER_WORKER = 1 << 20  # per-image passes: labelling, checks, PIMO selection
HISTOGRAM_PER_WORKER = 1 << 22  # streaming histogram updates (each worker owns a histogram)

_T = TypeVar("_T")
_override: int | None = None


def _check_count(n: Any, name: str) -> int:
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"`{name}` must be a positive int, got {n!r}.")
    return int(n)


def get_num_threads() -> int:
    """The most threads any function of the library uses at once.

    Returns
    -------
    int
        The value given to :func:`set_num_threads`, else the environment variable
        ``ANOMALY_METRICS_NUM_THREADS``, else ``min(os.cpu_count(), 8)``.

    Raises
    ------
    ValueError
        If ``ANOMALY_METRICS_NUM_THREADS`` is set to something other than a positive integer.

    Examples
    --------
    >>> import anomaly_metrics as am
    >>> am.get_num_threads() >= 1
    True
    """
    if _override is not None:
        return _override
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        try:
            value = int(env)
        except ValueError:
            value = 0
        if value < 1:
            raise ValueError(f"`{ENV_VAR}` must be a positive integer, got {env!r}.")
        return value
    return max(1, min(os.cpu_count() or 1, _DEFAULT_MAX))


def set_num_threads(n: int | None) -> int | None:
    """Cap the threads every function of the library uses (``None``: back to the default).

    Parameters
    ----------
    n : int or None
        A positive number of threads, or ``None`` to fall back to the environment variable
        ``ANOMALY_METRICS_NUM_THREADS`` or the default ``min(os.cpu_count(), 8)``.

    Returns
    -------
    int or None
        The previous setting (``None`` if there was none), to restore it later.

    Raises
    ------
    ValueError
        If `n` is not a positive int or ``None``.

    Examples
    --------
    >>> import anomaly_metrics as am
    >>> previous = am.set_num_threads(1)
    >>> am.get_num_threads()
    1
    >>> _ = am.set_num_threads(previous)
    """
    global _override
    previous = _override
    _override = None if n is None else _check_count(n, "n")
    return previous


@contextmanager
def threads(n: int | None) -> Iterator[None]:
    """Context manager: :func:`set_num_threads` for the duration of a ``with`` block.

    Examples
    --------
    >>> import anomaly_metrics as am
    >>> with am.threads(1):
    ...     am.get_num_threads()
    1
    """
    previous = set_num_threads(n)
    try:
        yield
    finally:
        set_num_threads(previous)


def num_workers(work: int, per_worker: int, max_tasks: int | None = None) -> int:
    """Workers for ``work`` elements: one per ``per_worker`` of them, within the thread cap.

    >>> with threads(4):
    ...     num_workers(10, 4), num_workers(1 << 30, 4), num_workers(1 << 30, 4, max_tasks=2)
    (2, 4, 2)
    """
    n = min(get_num_threads(), max(1, int(work) // max(1, int(per_worker))))
    if max_tasks is not None:
        n = min(n, max(1, int(max_tasks)))
    return max(1, n)


def split_range(n: int, parts: int) -> NDArray[np.int64]:
    """``parts + 1`` ascending bounds that cut ``range(n)`` into near-equal contiguous pieces.

    >>> split_range(10, 3).tolist()
    [0, 3, 6, 10]
    """
    return np.linspace(0, n, max(1, parts) + 1).astype(np.int64)


def run_tasks(
    fn: Callable[[_T], Any], items: Sequence[_T], workers: int | None = None
) -> list[Any]:
    """``[fn(item) for item in items]``, on a thread pool when there is more than one item.

    At most ``workers`` threads (default: :func:`get_num_threads`) run at once; results keep the
    order of `items`, and the first exception raised by a task is raised here.

    >>> run_tasks(lambda x: x * x, [1, 2, 3])
    [1, 4, 9]
    """
    items = list(items)
    limit = get_num_threads() if workers is None else max(1, int(workers))
    limit = min(limit, len(items))
    if limit <= 1:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(limit) as pool:
        return list(pool.map(fn, items))


def cut_at_batches(cuts: Sequence[int], lengths: Sequence[int]) -> list[list[tuple[int, int, int]]]:
    """Ranges of the concatenation of batches, as pieces of the batches (never concatenated).

    ``cuts`` are ascending positions in the concatenation of batches of ``lengths`` (from 0 to
    ``sum(lengths)``); each range ``[cuts[k], cuts[k + 1])`` becomes the list of
    ``(batch, start, stop)`` pieces (positions within the batch) that cover it, in order. Empty
    pieces are left out.

    >>> cut_at_batches([0, 4, 7], [3, 0, 4])
    [[(0, 0, 3), (2, 0, 1)], [(2, 1, 4)]]
    """
    ends, end = [], 0
    for n in lengths:
        end += n
        ends.append(end)
    out = []
    for lo, hi in pairwise(cuts):
        pieces = []
        for b, (n, stop) in enumerate(zip(lengths, ends)):
            first = stop - n
            a, z = max(lo, first), min(hi, stop)
            if a < z:
                pieces.append((b, int(a - first), int(z - first)))
        out.append(pieces)
    return out


def run_in_spans(n: int, run: Callable[[int, int, bool], None], per_worker: int) -> None:
    """Call ``run(start, stop, first)`` over near-equal contiguous spans of ``range(n)``, in threads.

    One span per ``per_worker`` elements (within the thread cap). The first span
    (``first=True``) may write into the caller's accumulator; the others must write into private
    ones that ``run`` merges itself.

    >>> seen = []
    >>> run_in_spans(10, lambda a, z, first: seen.append((a, z, first)), per_worker=100)
    >>> seen
    [(0, 10, True)]
    """
    bounds = split_range(n, num_workers(n, per_worker))
    run_tasks(lambda c: run(int(bounds[c]), int(bounds[c + 1]), c == 0), range(len(bounds) - 1))


def run_over_images(
    fn: Callable[[NDArray[np.int64]], _T], images: NDArray[np.int64], pixels_per_image: int
) -> list[_T]:
    """``fn`` on interleaved subsets of the image indices ``images``, one per worker thread.

    Interleaving (``images[w::workers]``) balances images of different content across workers.
    One call on all of ``images`` when the work is small (below ``PIXELS_PER_WORKER`` pixels a
    worker).

    >>> import numpy as np
    >>> run_over_images(lambda idx: idx.tolist(), np.arange(3), pixels_per_image=4)
    [[0, 1, 2]]
    """
    total = images.shape[0] * pixels_per_image
    workers = num_workers(total, PIXELS_PER_WORKER, max_tasks=images.shape[0])
    if workers <= 1:
        return [fn(images)]
    return run_tasks(fn, [np.ascontiguousarray(images[w::workers]) for w in range(workers)])


def chunk_images(n_img: int, pixels: int) -> list[tuple[int, int]]:
    """Contiguous ``(start, stop)`` chunks of ``n_img`` images for the thread pool.

    About four chunks per thread (labelling cost varies between images), one chunk when small.

    >>> chunk_images(3, 10)
    [(0, 3)]
    """
    workers = get_num_threads()
    if workers <= 1 or n_img < 2 or n_img * pixels < PIXELS_PER_WORKER:
        return [(0, n_img)]
    bounds = split_range(n_img, min(n_img, 4 * workers))
    return [(int(a), int(b)) for a, b in pairwise(bounds) if b > a]
