"""AU-PRO histograms (background counts and region weights per bin) and their finaliser.

:func:`pro_histogram` is the streaming state of AU-PRO: regions are the connected components of
each image's mask, so a batch knows the size of its regions and adds ``1 / size`` per region
pixel to its bin. :func:`aupro_from_histogram` finalises a (merged) histogram into a value and a
certified bound on its distance to :func:`anomaly_metrics.aupro`.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from numba import njit
from numpy.typing import NDArray

from .._keys import float32_key
from .._validation import check_fraction, check_maps_and_masks
from .._warnings import warn_undefined
from ._bins import _MAX_BITS, _MIN_BITS, DEFAULT_BITS, _as_count, _check_bits, count_in_spans
from ._bounds import BoundedValue, _bounded, _cell_areas

__all__ = ["ProHistogram", "aupro_from_histogram", "pro_histogram"]


class ProHistogram(NamedTuple):
    """Streaming state of AU-PRO (see :func:`pro_histogram`); merge with :func:`merge_histograms`."""

    background: NDArray[np.int64]  # (2**bits,) background pixels per bin
    region_weight: NDArray[np.float64]  # (2**bits,) sum of 1 / region size over region pixels
    num_regions: int  # regions seen


@njit(cache=True, nogil=True)
def _pro_histogram_kernel(
    scores, in_region, ids, inv_sizes, shift, background, weight
):  # pragma: no cover - compiled
    """Count background pixels and add ``1 / |region|`` of region pixels per bin, in one pass.

    ``ids`` holds the region of each region pixel, in the order of ``scores[in_region]``. A
    kernel so that keys and per-pixel weights are never materialised. Inputs are not validated;
    call through `pro_histogram`.
    """
    k = 0
    for i in range(scores.shape[0]):
        b = float32_key(scores[i]) >> shift
        if in_region[i]:
            weight[b] += inv_sizes[ids[k]]
            k += 1
        else:
            background[b] += 1


def pro_histogram(
    anomaly_maps: Any,
    masks: Any,
    *,
    bits: int = DEFAULT_BITS,
    out: ProHistogram | None = None,
) -> ProHistogram:
    """Per-bin background counts and region weights: the streaming state of AU-PRO.

    Parameters
    ----------
    anomaly_maps : array-like of shape (N, H, W), (N, 1, H, W) or (H, W)
        Pixel anomaly scores; finite. Float64 and int are rounded down to float32 to find their bin.
    masks : array-like, same shape as `anomaly_maps`
        Ground truth, bool or 0/1. Regions are the 8-connected components of each image's mask
        (as :func:`aupro`), so a region never spans two batches and its size is known here.
    bits : int in [1, 24], default 20
        ``2**bits`` bins (see :func:`score_bins`).
    out : ProHistogram, optional
        A histogram to add the batch into: its arrays are updated in place, and the returned
        histogram (which carries the new region count) must be used from then on.

    Returns
    -------
    ProHistogram
        ``background[b]``: background pixels (of every image, normal ones included) in bin
        ``b``, int64; ``region_weight[b]``: the sum of ``1 / size(region)`` over the region
        pixels in bin ``b``, float64; ``num_regions``: the number of regions. Histograms add
        (:func:`merge_histograms`); the state has the same size whatever the number of images.

    Raises
    ------
    TypeError, ValueError
        Bad maps or masks (as :func:`aupro`), bad `bits`, or an `out` that does not match.

    See Also
    --------
    aupro_from_histogram : the finaliser.

    Examples
    --------
    >>> import numpy as np
    >>> import anomaly_metrics as am
    >>> maps = np.array([[0.5, 0.9], [0.2, 0.1]])
    >>> masks = np.array([[1, 0], [0, 0]])
    >>> h = am.pro_histogram(maps, masks)
    >>> int(h.background.sum()), float(h.region_weight.sum()), h.num_regions
    (3, 1.0, 1)
    >>> am.aupro_from_histogram(h, fpr_limit=1.0).value == am.aupro(maps, masks, fpr_limit=1.0)
    True
    """
    from .._components import _region_ids

    nbits = _check_bits(bits)
    maps, m = check_maps_and_masks(anomaly_maps, masks)
    nbins = 1 << nbits
    if out is None:
        background = np.zeros(nbins, np.int64)
        weight = np.zeros(nbins, np.float64)
        num_regions = 0
    else:
        background, weight, num_regions = _check_pro_histogram(out, "out")
        if background.shape[0] != nbins:
            raise ValueError(
                f"`out` must have 2**{nbits} bins (bits={nbits}), got {background.shape[0]}."
            )
        if not (background.flags.writeable and weight.flags.writeable):
            raise ValueError("`out` must hold writeable arrays.")
    ids, sizes = _region_ids(m, 8)
    inv_sizes = 1.0 / sizes.astype(np.float64)
    scores = maps.reshape(-1)
    in_region = m.reshape(-1)
    shift = 32 - nbits

    def count(start: int, stop: int, into: tuple[NDArray[Any], ...]) -> None:
        k0 = int(np.count_nonzero(in_region[:start])) if start else 0
        k1 = k0 + int(np.count_nonzero(in_region[start:stop]))
        _pro_histogram_kernel(
            scores[start:stop], in_region[start:stop], ids[k0:k1], inv_sizes, shift, *into
        )

    count_in_spans(scores.shape[0], count, (background, weight))
    return ProHistogram(background, weight, num_regions + int(sizes.shape[0]))


def _check_pro_histogram(
    h: Any, name: str = "histogram"
) -> tuple[NDArray[np.int64], NDArray[np.float64], int]:
    """Return the fields of a valid :class:`ProHistogram`; raise otherwise."""
    if not isinstance(h, tuple) or len(h) != 3:
        raise TypeError(
            f"`{name}` must be a ProHistogram (from `pro_histogram`), got {type(h).__name__}."
        )
    background, weight, num_regions = h
    background = np.asarray(background)
    weight = np.asarray(weight)
    if background.dtype.kind not in "iu" or weight.dtype.kind != "f":
        raise TypeError(
            f"`{name}` must hold integer background counts and float region weights, got "
            f"dtypes {background.dtype} and {weight.dtype}."
        )
    nbins = background.shape[0] if background.ndim == 1 else 0
    bits = nbins.bit_length() - 1
    if background.shape != weight.shape or nbins != 1 << bits or not _MIN_BITS <= bits <= _MAX_BITS:
        raise ValueError(
            f"`{name}` must hold two arrays of shape (2**bits,) with bits in "
            f"[{_MIN_BITS}, {_MAX_BITS}], got shapes {background.shape} and {weight.shape}."
        )
    num = _as_count(num_regions, f"{name}.num_regions")
    return background.astype(np.int64, copy=False), weight.astype(np.float64, copy=False), num


def aupro_from_histogram(histogram: Any, *, fpr_limit: float = 0.3) -> BoundedValue:
    """Streaming AU-PRO of a PRO histogram, with a bound on its distance to the exact :func:`aupro`.

    Parameters
    ----------
    histogram : ProHistogram
        From :func:`pro_histogram` (merged over any number of batches or processes).
    fpr_limit : float in (0, 1], default 0.3
        Integrate the PRO curve over ``FPR <= fpr_limit``; the area is divided by it.

    Returns
    -------
    BoundedValue
        ``value``: the normalised area under the PRO curve drawn through the bin edges (straight
        inside each bin, cut at `fpr_limit` by interpolation); ``error_bound``: a certified bound
        on ``|value - aupro(anomaly_maps, masks, fpr_limit=fpr_limit)|``. nan and nan without
        regions or without background pixels.

    Raises
    ------
    TypeError, ValueError
        Not a ProHistogram, or `fpr_limit` outside (0, 1].

    Warns
    -----
    UndefinedMetricWarning
        No region, or no background pixel.

    Notes
    -----
    At a bin's lower edge the streaming (FPR, PRO) point is a point of the exact curve; between two
    edges the exact curve is monotone inside the box those points span. A bin holding a share
    ``f_b`` of the background and a share ``p_b`` of the mean region overlap can move the area
    by at most ``f_b p_b / 2`` (the half box), so

    ``error_bound = sum_b f_b p_b / (2 fpr_limit)``

    over the bins below the limit (the bin that crosses it counts its clipped part).

    Examples
    --------
    >>> import numpy as np
    >>> import anomaly_metrics as am
    >>> rng = np.random.default_rng(0)
    >>> masks = np.zeros((2, 32, 32), bool)
    >>> masks[0, 4:12, 4:12] = True
    >>> maps = rng.random((2, 32, 32)) + masks
    >>> value, bound = am.aupro_from_histogram(am.pro_histogram(maps, masks))
    >>> abs(value - am.aupro(maps, masks)) <= bound
    True
    """
    limit = check_fraction(fpr_limit, "fpr_limit", low_open=True)
    background, weight, num_regions = _check_pro_histogram(histogram)
    n_bg = int(background.sum())
    if num_regions == 0:
        warn_undefined("No defect regions in the histogram: AU-PRO is undefined (nan).")
        return BoundedValue(float("nan"), float("nan"))
    if n_bg == 0:
        warn_undefined("No background pixels in the histogram: AU-PRO is undefined (nan).")
        return BoundedValue(float("nan"), float("nan"))
    bins = np.flatnonzero((background != 0) | (weight != 0))[::-1]
    x = np.concatenate(([0.0], np.cumsum(background[bins]) / n_bg))
    y = np.concatenate(([0.0], np.cumsum(weight[bins]) / num_regions))
    est, low, high = _cell_areas(x, y, 0.0, limit)
    return _bounded(est / limit, low / limit, high / limit)
