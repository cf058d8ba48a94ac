"""Connected components of binary masks, per image, with 4- or 8-connectivity.

The labelling works on *runs* (maximal horizontal segments of foreground pixels): each row is
scanned once for its runs, every run is joined (union-find) with the runs of the row above that
touch it, and the roots are then numbered in raster order. Defect masks are mostly a few compact
blobs, so there are far fewer runs than pixels and the union-find is tiny; empty images cost one
scan of their bytes. Images are independent, so chunks of images run on threads (the kernels
release the GIL).

Two outputs share the same kernel:

* :func:`connected_components` writes a label image, numbered ``1..K`` over the batch in raster
  order, image 0 first (exactly ``scipy.ndimage.label`` image by image with a running offset);
* :func:`_region_ids` writes, for every foreground pixel in raster order (the order of
  ``scores[masks]``), the 0-based index of its region, plus the region sizes. This is what PRO
  and AU-PRO need, without materialising a label image of every pixel.
"""

from __future__ import annotations

import operator
from typing import Any, Literal

import numpy as np
from numba import njit
from numpy.typing import NDArray

from ._parallel import chunk_images, cut_at_batches, run_tasks
from ._validation import check_labels

__all__ = ["connected_components"]

# Below this many pixels everything runs in the calling thread.
_INT32_MAX = np.iinfo(np.int32).max


@njit(cache=True, nogil=True)
def _find_root_kernel(parent, i):  # pragma: no cover - compiled
    """Root of ``i`` in the union-find forest ``parent``, compressing the path on the way.

    Inputs are not validated; call through `connected_components`.
    """
    root = i
    while parent[root] != root:
        root = parent[root]
    while parent[i] != root:
        nxt = parent[i]
        parent[i] = root
        i = nxt
    return root


@njit(cache=True, nogil=True)
def _label_runs_kernel(
    mask, eight, run_start, run_end, row_ptr, parent, run_label
):  # pragma: no cover
    """Label the foreground runs of one ``(H, W)`` bool image; return ``(n_runs, n_components)``.

    Fills ``run_start`` / ``run_end`` (first and last column, inclusive) of every run in raster
    order, ``row_ptr[r]:row_ptr[r + 1]`` the runs of row ``r``, and ``run_label`` the component of
    each run, numbered ``1..K`` in raster order of the components' first pixels. The buffers must
    hold ``H * ((W + 1) // 2)`` runs. A kernel because run extraction and union-find are
    sequential scans with data-dependent branching that NumPy cannot express.
    Inputs are not validated; call through `connected_components`.
    """
    h, w = mask.shape
    reach = 1 if eight else 0
    # rows of a multiple of 8 pixels are scanned 8 background pixels at a time where a word of
    # the mask is all zero (most of an anomaly mask): 3x faster than one pixel at a time
    aligned = w % 8 == 0
    words = mask.reshape(h * w)[: h * w - (h * w) % 8].view(np.uint64)
    n = 0
    prev_lo = 0  # runs of the previous row: [prev_lo, prev_hi)
    prev_hi = 0
    for r in range(h):
        row_ptr[r] = n
        row = mask[r]
        x = 0
        j = prev_lo
        while x < w:
            if aligned and x & 7 == 0 and words[(r * w + x) >> 3] == 0:
                x += 8
                continue
            if not row[x]:
                x += 1
                continue
            s = x
            while x < w and row[x]:
                x += 1
            e = x - 1
            run_start[n] = s
            run_end[n] = e
            parent[n] = n
            # join with the runs of the row above that touch [s - reach, e + reach]
            while j < prev_hi and run_end[j] < s - reach:
                j += 1
            k = j
            while k < prev_hi and run_start[k] <= e + reach:
                a = _find_root_kernel(parent, k)
                b = _find_root_kernel(parent, n)
                if a < b:
                    parent[b] = a
                elif b < a:
                    parent[a] = b
                k += 1
            n += 1
        prev_lo = row_ptr[r]
        prev_hi = n
    row_ptr[h] = n
    # A root is the first run of its component (unions keep the smaller index), and runs are in
    # raster order, so numbering roots as they come numbers components by their first pixel.
    count = 0
    for i in range(n):
        root = _find_root_kernel(parent, i)
        if root == i:
            count += 1
            run_label[i] = count
        else:
            run_label[i] = run_label[root]
    return n, count


@njit(cache=True, nogil=True)
def _label_chunk_kernel(masks, eight, out):  # pragma: no cover - compiled
    """Write labels of the ``(n, H, W)`` ``masks`` into the zeroed ``out``, numbered over the chunk.

    Returns the number of components of each image. Inputs are not validated; call through
    `connected_components`.
    """
    n_img, h, w = masks.shape
    cap = h * ((w + 1) // 2)
    run_start = np.empty(cap, np.int64)
    run_end = np.empty(cap, np.int64)
    row_ptr = np.empty(h + 1, np.int64)
    parent = np.empty(cap, np.int64)
    run_label = np.empty(cap, np.int64)
    counts = np.zeros(n_img, np.int64)
    offset = 0
    for i in range(n_img):
        _, count = _label_runs_kernel(
            masks[i], eight, run_start, run_end, row_ptr, parent, run_label
        )
        counts[i] = count
        for r in range(h):
            for q in range(row_ptr[r], row_ptr[r + 1]):
                lab = run_label[q] + offset
                for x in range(run_start[q], run_end[q] + 1):
                    out[i, r, x] = lab
        offset += count
    return counts


@njit(cache=True, nogil=True)
def _foreground_per_image_kernel(flat):  # pragma: no cover - compiled
    """Foreground pixels of each row of the C-contiguous ``(N, H * W)`` bool ``flat``.

    ``np.count_nonzero(flat, axis=1)`` measured 4x slower (it sums a cast copy). Inputs are not
    validated.
    """
    out = np.zeros(flat.shape[0], np.int64)
    bytes_ = flat.view(np.uint8)
    for i in range(flat.shape[0]):
        row = bytes_[i]
        c = 0
        for x in range(row.shape[0]):
            c += row[x]
        out[i] = c
    return out


@njit(cache=True, nogil=True)
def _offset_labels_kernel(out, offset):  # pragma: no cover - compiled
    """Add ``offset`` to every non-zero label of ``out`` (flat). Not validated; internal."""
    for i in range(out.shape[0]):
        if out[i] != 0:
            out[i] += offset


@njit(cache=True, nogil=True)
def _region_ids_chunk_kernel(masks, eight, ids, sizes):  # pragma: no cover - compiled
    """Region index (0-based over the chunk) of every foreground pixel of ``masks``, raster order.

    ``ids`` must hold one entry per foreground pixel of the chunk; ``sizes[k]`` receives the
    pixel count of region ``k``. Returns the number of regions, or -1 when ``sizes`` is too
    short for them (the caller then gives a longer one). Inputs are not validated; call
    through `_region_ids`.
    """
    n_img, h, w = masks.shape
    cap = h * ((w + 1) // 2)
    run_start = np.empty(cap, np.int64)
    run_end = np.empty(cap, np.int64)
    row_ptr = np.empty(h + 1, np.int64)
    parent = np.empty(cap, np.int64)
    run_label = np.empty(cap, np.int64)
    offset = 0
    pos = 0
    for i in range(n_img):
        n_runs, count = _label_runs_kernel(
            masks[i], eight, run_start, run_end, row_ptr, parent, run_label
        )
        if offset + count > sizes.shape[0]:
            return -1
        for k in range(offset, offset + count):
            sizes[k] = 0
        for q in range(n_runs):
            lab = run_label[q] - 1 + offset
            length = run_end[q] - run_start[q] + 1
            sizes[lab] += length
            for _ in range(length):
                ids[pos] = lab
                pos += 1
        offset += count
    return offset


def _label_batch(masks: NDArray[np.bool_], connectivity: int) -> NDArray[np.int32]:
    """Label images ``(N, H, W)`` (contiguous bool) with labels 1..K over the batch. Not validated."""
    n_img, h, w = masks.shape
    out = np.zeros(masks.shape, np.int32)
    if masks.size == 0:
        return out
    eight = connectivity == 8
    chunks = chunk_images(n_img, h * w)

    def label(c: int) -> int:
        a, b = chunks[c]
        return int(_label_chunk_kernel(masks[a:b], eight, out[a:b]).sum())

    totals = run_tasks(label, range(len(chunks)))
    if sum(totals) > _INT32_MAX:
        raise ValueError(
            f"`masks` must have at most {_INT32_MAX} components (int32 labels), got {sum(totals)}."
        )
    offsets = np.cumsum([0, *totals[:-1]])

    def shift(c: int) -> None:
        a, b = chunks[c]
        _offset_labels_kernel(out[a:b].reshape(-1), int(offsets[c]))

    if len(chunks) > 1:
        run_tasks(lambda c: shift(c + 1), range(len(chunks) - 1))  # chunk 0 needs no offset
    return out


_REGIONS_FIRST_TRY = 1 << 16  # sizes first allocated per image chunk (512 KiB)


def _region_ids(
    masks: NDArray[np.bool_] | list[NDArray[np.bool_]], connectivity: int = 8
) -> tuple[NDArray[np.int32], NDArray[np.int64]]:
    """Regions of a checked ``(N, H, W)`` bool batch, as needed by PRO / AU-PRO.

    Returns ``ids`` (int32, one per foreground pixel in the order of ``masks.reshape(-1)``'s
    ``True`` entries, i.e. of ``scores[masks]``): the 0-based index of the pixel's region, regions
    numbered over the batch in raster order image by image (``connected_components - 1``); and
    ``sizes`` (int64, one per region): its pixel count. `masks` may also be a list of checked
    ``(B, H, W)`` batches of one image size: the result is that of their concatenation, which is
    never made (one thread pool over the images of all batches). Inputs are not validated.
    """
    batches = [m for m in masks if m.size] if isinstance(masks, list) else [masks]
    if not batches or batches[0].size == 0:
        return np.zeros(0, np.int32), np.zeros(0, np.int64)
    h, w = batches[0].shape[1:]
    eight = connectivity == 8
    sizes_img = [m.shape[0] for m in batches]
    starts = np.cumsum([0, *sizes_img])
    # image chunks of the whole, cut at batch boundaries: (batch, first, stop) within the batch
    bounds = [a for a, _ in chunk_images(int(starts[-1]), h * w)] + [int(starts[-1])]
    pieces = [p for chunk in cut_at_batches(bounds, sizes_img) for p in chunk]
    if len(pieces) == 1:
        fg_bounds = np.array([0, np.count_nonzero(batches[0])], np.int64)
    else:
        per_image = np.concatenate(
            [
                _foreground_per_image_kernel(np.ascontiguousarray(m.reshape(m.shape[0], -1)))
                for m in batches
            ]
        )
        cum = np.concatenate(([0], np.cumsum(per_image, dtype=np.int64)))
        fg_bounds = np.array([cum[starts[b] + a] for b, a, _ in pieces] + [cum[-1]], np.int64)
    n_fg = int(fg_bounds[-1])
    if n_fg > _INT32_MAX:
        raise ValueError(f"`masks` must have at most {_INT32_MAX} foreground pixels, got {n_fg}.")
    ids = np.empty(n_fg, np.int32)

    def run(c: int) -> NDArray[np.int64]:
        b, a, z = pieces[c]
        lo, hi = int(fg_bounds[c]), int(fg_bounds[c + 1])
        # regions are far fewer than foreground pixels: a small array first (an array of one
        # int64 per foreground pixel would be the maps' size with half the pixels in a defect,
        # and its huge pages would be touched even where it is not written), the bound on retry
        for capacity in (min(hi - lo, _REGIONS_FIRST_TRY), hi - lo):
            sizes = np.empty(capacity, np.int64)
            count = int(_region_ids_chunk_kernel(batches[b][a:z], eight, ids[lo:hi], sizes))
            if count >= 0:
                return sizes[:count].copy() if capacity > _REGIONS_FIRST_TRY else sizes[:count]
        raise AssertionError("unreachable: there are at most as many regions as pixels")

    per_piece = run_tasks(run, range(len(pieces)))
    if len(pieces) == 1:
        return ids, per_piece[0]
    offset = 0
    for c, sizes_c in enumerate(per_piece):
        lo, hi = int(fg_bounds[c]), int(fg_bounds[c + 1])
        if offset:
            ids[lo:hi] += offset
        offset += sizes_c.shape[0]
    return ids, np.concatenate(per_piece)


def _check_masks_2d_3d(masks: Any) -> tuple[NDArray[np.bool_], tuple[int, ...]]:
    """Check `masks` for labelling; return a contiguous ``(N, H, W)`` bool view and the shape."""
    m = check_labels(masks, "masks")
    shape = m.shape
    if m.ndim == 2:
        m = m[None]
    elif m.ndim == 4 and m.shape[1] == 1:
        m = m[:, 0]
    elif m.ndim != 3:
        raise ValueError(f"`masks` must have shape (N, H, W), (N, 1, H, W) or (H, W), got {shape}.")
    return np.ascontiguousarray(m), shape


def _check_connectivity(connectivity: Any) -> int:
    if isinstance(connectivity, (bool, np.bool_)) or not isinstance(
        connectivity, (int, np.integer)
    ):
        raise TypeError(f"`connectivity` must be the int 4 or 8, got {connectivity!r}.")
    value = operator.index(connectivity)
    if value not in (4, 8):
        raise ValueError(
            f"`connectivity` must be 4 (edge neighbours) or 8 (edge and corner neighbours), "
            f"got {value}."
        )
    return value


def connected_components(masks: Any, *, connectivity: Literal[4, 8] = 8) -> NDArray[np.int32]:
    """Label the connected foreground regions of each mask, numbered over the whole batch.

    Components are found image by image (never across images) and numbered ``1..K`` in raster
    order of their first pixel, image 0 first; 0 is background. The labels are exactly those of
    ``scipy.ndimage.label`` applied to each image with a running offset.

    Parameters
    ----------
    masks : array-like of shape (N, H, W), (N, 1, H, W) or (H, W)
        Binary masks: bool, or numbers that are all 0 or 1.
    connectivity : {8, 4}, default 8
        Which neighbours join pixels into one region::

            8 (default, MVTec AD / anomalib)     4
                    x x x                          . x .
                    x o x                          x o x
                    x x x                          . x .

    Returns
    -------
    ndarray of int32, same shape as `masks`

    Raises
    ------
    TypeError
        `masks` not numeric / bool, or `connectivity` not an int.
    ValueError
        `masks` not in {0, 1} (0/255 images get the hint ``masks > 0``), a shape other than
        (N, H, W), (N, 1, H, W) or (H, W), or `connectivity` not 4 or 8.

    See Also
    --------
    pro, aupro : per-region overlap metrics built on these regions (8-connectivity).

    Notes
    -----
    A run-based two-pass labelling (union-find over horizontal runs) compiled with Numba; chunks
    of images run in parallel threads.

    Examples
    --------
    >>> import numpy as np
    >>> import anomaly_metrics as am
    >>> masks = np.array([[[1, 0, 0],
    ...                    [0, 1, 0],
    ...                    [0, 0, 1]],
    ...                   [[0, 1, 1],
    ...                    [0, 0, 0],
    ...                    [1, 0, 0]]])
    >>> am.connected_components(masks)
    array([[[1, 0, 0],
            [0, 1, 0],
            [0, 0, 1]],
    <BLANKLINE>
           [[0, 2, 2],
            [0, 0, 0],
            [3, 0, 0]]], dtype=int32)
    >>> am.connected_components(masks[0], connectivity=4)
    array([[1, 0, 0],
           [0, 2, 0],
           [0, 0, 3]], dtype=int32)
    """
    conn = _check_connectivity(connectivity)
    m, shape = _check_masks_2d_3d(masks)
    return _label_batch(m, conn).reshape(shape)
