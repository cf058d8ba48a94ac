"""Exact metrics of data larger than memory, read from disk in chunks (two or more passes).

Each function takes a *re-iterable source* of chunks and returns exactly what the in-memory
function of the same name returns on the concatenation of the chunks, to the last bit, while
holding in memory only the positives (a number per defect pixel) and a chunk or two:

* a list (or any object whose ``__iter__`` starts over each time) of ``(anomaly_maps, masks)``
  chunks: ``(B, H, W)`` / ``(B, 1, H, W)`` maps of one image size (for the ranking metrics:
  ``(scores, labels)`` of any matching shapes);
* a pair ``(maps, masks)`` of arrays, ``np.memmap`` or ``.npy`` paths, or an
  :class:`ArrayChunks` of them, read a chunk of images at a time;
* for :func:`auspro` (MVTec LOCO AD), a re-iterable of ``(anomaly_maps, channels)`` or
  ``(anomaly_maps, channels, saturation_areas)`` chunks, each as
  :func:`anomaly_metrics.auspro` takes its arguments.

The counting primitive does not need the negatives in memory: pass 1 gathers the positives (the
defect pixels), which are sorted; pass 2 counts every chunk's negatives into the gaps between
the positives' distinct scores. AUPIMO reads the normal images once more (linspace) or once per
16-bit digit of the order keys plus once (exact). A generator or an iterator can be read only
once: it is refused with a ``TypeError``; the streaming functions
(:func:`anomaly_metrics.ranking_histogram` & co.) read their input once, with a certified error
bound instead of the exact value.

Chunks are checked one by one as the in-memory functions check their input, so the messages
are the same except that counts (of NaN values, say) are those of the first bad chunk.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from . import _chunked_evaluate, _chunked_metrics, _chunked_pimo
from ._chunked_source import ArrayChunks, LocalRunner
from ._evaluate import _check_metrics
from ._pimo import AupimoResult, PimoCurves, _check_aupimo_options, _check_num_thresholds
from ._pro import _check_fpr_limits
from ._validation import check_fraction, check_real

__all__ = [
    "ArrayChunks",
    "aupimo",
    "aupr",
    "aupro",
    "auroc",
    "auspro",
    "evaluate",
    "f1_adaptive_threshold",
    "f1_max",
    "pimo_curves",
    "pro",
]


def auroc(source: Any, *, max_fpr: float | None = None) -> float:
    """:func:`anomaly_metrics.auroc` of a re-iterable source of ``(scores, labels)`` chunks.

    Parameters
    ----------
    source : re-iterable of (array-like, array-like), or a pair of arrays / .npy paths
        Chunks of scores and labels (or of anomaly maps and masks: pixel AUROC), read twice.
    max_fpr : float in (0, 1], optional
        As in :func:`anomaly_metrics.auroc`.

    Returns
    -------
    float
        ``anomaly_metrics.auroc`` of the concatenated chunks, bit for bit.

    Raises
    ------
    TypeError
        A one-shot iterator or generator (use the streaming functions), chunks that are not
        pairs, or the errors of :func:`anomaly_metrics.auroc`.
    ValueError
        No chunk, or the errors of :func:`anomaly_metrics.auroc` for a chunk.

    Examples
    --------
    >>> import numpy as np
    >>> from anomaly_metrics import out_of_core
    >>> chunks = [(np.array([0.1, 0.9]), np.array([0, 1])), (np.array([0.4]), np.array([1]))]
    >>> out_of_core.auroc(chunks)
    1.0
    """
    if max_fpr is not None:
        max_fpr = check_fraction(max_fpr, "max_fpr", low_open=True)
    return _chunked_metrics.auroc(LocalRunner(source, "scores"), max_fpr)


def aupr(source: Any) -> float:
    """:func:`anomaly_metrics.aupr` of a re-iterable source of chunks (see :func:`auroc`).

    Examples
    --------
    >>> from anomaly_metrics import out_of_core
    >>> out_of_core.aupr([([0.1, 0.9], [0, 1]), ([0.4, 0.3], [1, 0])])
    1.0
    """
    return _chunked_metrics.aupr(LocalRunner(source, "scores"))


def f1_max(source: Any) -> float:
    """:func:`anomaly_metrics.f1_max` of a re-iterable source of chunks (see :func:`auroc`).

    Examples
    --------
    >>> from anomaly_metrics import out_of_core
    >>> out_of_core.f1_max([([0.1, 0.4], [0, 0]), ([0.35, 0.8], [1, 1])])
    0.8
    """
    return _chunked_metrics.f1_max(LocalRunner(source, "scores"))[0]


def f1_adaptive_threshold(source: Any) -> float:
    """:func:`anomaly_metrics.f1_adaptive_threshold` of a re-iterable source of chunks.

    Examples
    --------
    >>> from anomaly_metrics import out_of_core
    >>> out_of_core.f1_adaptive_threshold([([2.3, 1.6, 2.6], [0, 0, 0]), ([7.9, 3.3], [1, 1])])
    3.3
    """
    return _chunked_metrics.f1_adaptive_threshold(LocalRunner(source, "scores"))


def pro(source: Any, threshold: float = 0.5) -> float:
    """:func:`anomaly_metrics.pro` of a re-iterable source of ``(anomaly_maps, masks)`` chunks.

    Regions never cross images, so each chunk is labelled on its own (one read).

    Examples
    --------
    >>> import numpy as np
    >>> from anomaly_metrics import out_of_core
    >>> maps = [np.full((1, 4, 4), 0.2), np.full((2, 4, 4), 0.7)]
    >>> masks = [np.zeros((1, 4, 4), bool), np.ones((2, 4, 4), bool)]
    >>> out_of_core.pro(list(zip(maps, masks)), threshold=0.5)
    1.0
    """
    t = check_real(threshold, "threshold")
    return _chunked_metrics.pro(LocalRunner(source, "maps"), t)


def aupro(source: Any, *, fpr_limit: float | Iterable[float] = 0.3) -> float | tuple[float, ...]:
    """:func:`anomaly_metrics.aupro` of a re-iterable source of ``(anomaly_maps, masks)`` chunks.

    Pass 1 labels each chunk's regions and keeps the region pixels' scores with their region
    (the weight ``1 / region size`` is made after the sort) and a sample of the background;
    pass 2 counts the background into the gaps of the region pixels' distinct scores above
    the sample's floor, as the in-memory function does (when the counts show that floor was
    too high, both passes run again over every region pixel). A sequence of limits gives one
    area per limit from the same reads.

    Examples
    --------
    >>> import numpy as np
    >>> from anomaly_metrics import out_of_core
    >>> masks = np.zeros((2, 8, 8), bool)
    >>> masks[1, 2:5, 2:5] = True
    >>> maps = np.where(masks, 0.9, 0.1) + np.linspace(0, 0.01, 64).reshape(8, 8)
    >>> import anomaly_metrics as am
    >>> out_of_core.aupro([(maps[:1], masks[:1]), (maps[1:], masks[1:])]) == am.aupro(maps, masks)
    True
    """
    limits, one = _check_fpr_limits(fpr_limit)
    return _chunked_metrics.aupro(LocalRunner(source, "maps"), limits, one)


def auspro(source: Any, *, fpr_limit: float | Iterable[float] = 0.05) -> float | tuple[float, ...]:
    """:func:`anomaly_metrics.auspro` of a re-iterable source of chunks of defect channels.

    Parameters
    ----------
    source : re-iterable of (anomaly_maps, channels) or (anomaly_maps, channels, saturation_areas)
        Chunks of images, each as :func:`anomaly_metrics.auspro` takes its arguments: maps
        ``(B, H, W)`` (or a list of ``(H, W)`` maps), a list of ``B`` ``(C_i, H, W)`` bool
        channel stacks (or None), and optionally a list of ``B`` arrays of ``C_i`` saturation
        areas (a pair: each channel's own area). Read twice.
    fpr_limit : float in (0, 1], or a sequence of them, default 0.05
        As in :func:`anomaly_metrics.auspro` (one area per limit from the same two reads).

    Returns
    -------
    float, or tuple of float
        ``anomaly_metrics.auspro`` of the concatenated chunks (their saturation areas
        concatenated likewise), bit for bit.

    Raises
    ------
    TypeError
        A one-shot iterator or generator, a chunk that is not a pair or a triple, or the
        errors of :func:`anomaly_metrics.auspro` for a chunk.
    ValueError
        No chunk, or the errors of :func:`anomaly_metrics.auspro` for a chunk (image indices
        in the messages count from the chunk's first image).

    Warns
    -----
    UndefinedMetricWarning
        No channel in any chunk, or no pixel outside the channels (the result is nan).

    Notes
    -----
    Pass 1 checks each chunk and keeps its channel pixels' scores with their capped weights
    (each channel's pixels ranked within their image, so chunks never split a channel) and a
    sample of the other pixels; pass 2 counts the pixels outside every channel into the gaps
    of the sorted distinct scores above the sample's floor (as :func:`aupro`). There is no
    Dask version: the channels are ragged per-image stacks that a Dask array cannot hold.

    Examples
    --------
    >>> import numpy as np
    >>> import anomaly_metrics as am
    >>> from anomaly_metrics import out_of_core
    >>> maps = np.array([[[0.9, 0.8, 0.1, 0.2]], [[0.3, 0.7, 0.6, 0.1]]])
    >>> channels = [np.array([[[1, 1, 0, 0]]], bool), np.zeros((0, 1, 4), bool)]
    >>> chunks = [(maps[:1], channels[:1], [[1]]), (maps[1:], channels[1:], [[]])]
    >>> out_of_core.auspro(chunks, fpr_limit=1.0)
    1.0
    >>> out_of_core.auspro(chunks, fpr_limit=(0.5, 1.0)) == am.auspro(
    ...     maps, channels, saturation_areas=[[1], []], fpr_limit=(0.5, 1.0))
    True
    """
    limits, one = _check_fpr_limits(fpr_limit)
    return _chunked_metrics.auspro(LocalRunner(source, "channels"), limits, one)


def pimo_curves(source: Any, *, num_thresholds: int | None = 300_000) -> PimoCurves:
    """:func:`anomaly_metrics.pimo_curves` of a re-iterable source of chunks (see :func:`pro`).

    The result holds ``(N, K)`` curves, so it is as large as that; the exact mode also keeps
    every normal score (its thresholds).

    Examples
    --------
    >>> import numpy as np
    >>> from anomaly_metrics import out_of_core
    >>> rng = np.random.default_rng(0)
    >>> maps = rng.random((4, 16, 16))
    >>> masks = np.zeros(maps.shape, bool)
    >>> masks[2:, 4:8, 4:8] = True
    >>> curves = out_of_core.pimo_curves([(maps[:3], masks[:3]), (maps[3:], masks[3:])])
    >>> curves.image_classes.tolist()
    [0, 0, 1, 1]
    """
    k = _check_num_thresholds(num_thresholds)
    return _chunked_pimo.pimo_curves(LocalRunner(source, "maps"), k)


def aupimo(
    source: Any,
    *,
    fpr_bounds: tuple[float, float] = (1e-5, 1e-4),
    num_thresholds: int | None = 300_000,
    force: bool = False,
) -> AupimoResult:
    """:func:`anomaly_metrics.aupimo` of a re-iterable source of ``(anomaly_maps, masks)`` chunks.

    Pass 1 keeps the anomalous images' defect pixels and the normal images' range; linspace
    (default) then reads the normal images once to count them against the thresholds; exact
    (``num_thresholds=None``) reads them once per 16-bit digit of the order keys (radix
    selection of the top normal scores: 2-3 reads for float32, up to 5 for float64).

    Examples
    --------
    >>> import numpy as np
    >>> from anomaly_metrics import out_of_core
    >>> rng = np.random.default_rng(0)
    >>> maps = rng.random((4, 32, 32))
    >>> masks = np.zeros(maps.shape, bool)
    >>> masks[2:, 4:12, 4:12] = True
    >>> maps[masks] += 0.5
    >>> r = out_of_core.aupimo([(maps[:1], masks[:1]), (maps[1:], masks[1:])],
    ...                        fpr_bounds=(1e-2, 1e-1), num_thresholds=None)
    >>> r.image_classes.tolist(), round(r.mean, 3)
    ([0, 0, 1, 1], 0.539)
    """
    k, lo, hi, forced = _check_aupimo_options(fpr_bounds, num_thresholds, force)
    return _chunked_pimo.aupimo(LocalRunner(source, "maps"), lo, hi, k, forced)


def evaluate(
    source: Any,
    *,
    image_scores: Any | None = None,
    metrics: Iterable[str] | None = None,
    fpr_limit: float = 0.3,
    groups: Any | None = None,
    progress: Any = None,
) -> dict[str, float]:
    """:func:`anomaly_metrics.evaluate` of a re-iterable source of chunks, in two reads.

    Parameters
    ----------
    source : re-iterable of (anomaly_maps, masks), or a pair of arrays / .npy paths
        Chunks ``(B, H, W)`` of one image size.
    image_scores, metrics, fpr_limit, groups
        As in :func:`anomaly_metrics.evaluate` (`image_scores`, `groups`: one per image of
        the whole source, in memory).
    progress : callable, optional
        ``progress(name, n_chunks)`` is called at the start of each read and returns a
        callable called after each chunk (the command line's progress bars).

    Returns
    -------
    dict of str to float
        The values of :func:`anomaly_metrics.evaluate`, bit for bit.

    Examples
    --------
    >>> import numpy as np
    >>> from anomaly_metrics import out_of_core
    >>> maps = np.zeros((2, 4, 4), np.float32)
    >>> masks = np.zeros((2, 4, 4), bool)
    >>> masks[1, 1:3, 1:3] = True
    >>> maps[1, 1:3, 1:3] = 0.9
    >>> out_of_core.evaluate((maps, masks), metrics=["image_auroc", "pixel_auroc", "aupro"])
    {'image_auroc': 1.0, 'pixel_auroc': 1.0, 'aupro': 1.0}
    """
    wanted = _check_metrics(metrics)
    limit = check_fraction(fpr_limit, "fpr_limit", low_open=True)
    runner = LocalRunner(source, "maps", on_pass=progress)
    return _chunked_evaluate.evaluate(runner, wanted, limit, image_scores, groups)
