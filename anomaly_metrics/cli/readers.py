"""Reading anomaly maps, masks and image scores from disk, and loading a category in threads.

Nothing here raises for a user's mistake: every problem (an unreadable file, a shape mismatch,
NaN in a map, a mask that is not 0/1 or 0/255, ...) becomes a :class:`~.datasets.Problem` that
names the file, and the caller decides whether it is fatal. Readers (Pillow, tifffile) and the
progress bar (tqdm) are imported when first needed; they come with the ``io`` extra.
"""

from __future__ import annotations

import csv
import functools
import importlib
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._parallel import get_num_threads, run_tasks
from .datasets import CategorySpec, ImageEntry, Problem
from .resize import resize_map

__all__ = [
    "LoadedCategory",
    "ReadError",
    "load_category",
    "mask_shape",
    "read_channel",
    "read_image_scores",
    "read_map",
    "read_mask",
]


@dataclass
class LoadedCategory:
    """A category's images, read and checked, stacked for :func:`anomaly_metrics.evaluate`."""

    name: str
    keys: list[str]
    anomaly_maps: NDArray[Any]  # (N, H, W) float32 or float64
    masks: NDArray[np.bool_]  # (N, H, W)
    image_scores: NDArray[np.float64] | None = None


class ReadError(Exception):
    """A file could not be used; the message says why (without the path)."""


def _import_reader(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ReadError(
            f"reading this file needs the '{module}' package: pip install 'anomaly-metrics[io]'"
        ) from err


def _read_raw(path: Path) -> NDArray[Any]:
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            arr = np.load(path, allow_pickle=False)
            if not isinstance(arr, np.ndarray):  # pragma: no cover - np.load of .npy
                raise ReadError("not a NumPy array file")
            return arr
        if suffix in (".tif", ".tiff"):
            tifffile = _import_reader("tifffile")
            return np.asarray(tifffile.imread(path))
        image = _import_reader("PIL.Image")
        with image.open(path) as img:
            if img.mode == "P":
                img = img.convert("RGBA" if "transparency" in img.info else "RGB")
            return np.asarray(img)
    except ReadError:
        raise
    except Exception as err:  # any decoder failure is the file's fault
        kind = {".npy": "NumPy"}.get(suffix, suffix.lstrip(".").upper())
        raise ReadError(f"cannot read the {kind} file ({type(err).__name__}: {err})") from err


def _as_2d(arr: NDArray[Any]) -> NDArray[Any]:
    """(H, W) from (H, W), (1, H, W), (H, W, 1) or (H, W, C) with identical channels."""
    if arr.ndim == 3 and arr.shape[-1] in (3, 4) and arr.shape[0] > 1:
        rgb = arr[..., :3]
        if (rgb == rgb[..., :1]).all():
            return arr[..., 0]
        raise ReadError(f"must be a single-channel image, got {arr.shape[-1]} different channels")
    squeezed = arr.reshape([d for d in arr.shape if d != 1]) if arr.ndim > 2 else arr
    if squeezed.ndim != 2 or min(arr.shape) == 0:
        raise ReadError(f"must be a 2-D image (H, W), got an array of shape {arr.shape}")
    return squeezed


def read_map(path: str | os.PathLike[str]) -> NDArray[Any]:
    """Read an anomaly map as a finite (H, W) float32 or float64 array.

    8/16-bit integer images become float32 (exactly); wider integers and float64 become float64.
    Raises :class:`ReadError` with the reason when the file cannot be used.
    """
    arr = _as_2d(_read_raw(Path(path)))
    kind = arr.dtype.kind
    if kind == "f":
        arr = arr.astype(np.float64 if arr.dtype.itemsize > 4 else np.float32, copy=False)
    elif kind in "iu":
        arr = arr.astype(np.float32 if arr.dtype.itemsize <= 2 else np.float64)
    else:
        raise ReadError(f"must hold real numbers, got dtype {arr.dtype}")
    if not np.isfinite(arr).all():
        n_nan = int(np.isnan(arr).sum())
        n_inf = int(np.isinf(arr).sum())
        raise ReadError(f"the map holds {n_nan} NaN and {n_inf} infinite value(s)")
    return arr


def read_mask(path: str | os.PathLike[str], *, nonzero: bool = False) -> NDArray[np.bool_]:
    """Read a ground-truth mask as an (H, W) bool array; values must be 0/255 or 0/1.

    With ``nonzero=True`` any integer values are accepted and every non-zero pixel is a defect
    pixel (VisA's masks hold one value per defect).
    """
    arr = _as_2d(_read_raw(Path(path)))
    if arr.dtype == np.bool_:
        return arr
    if arr.dtype.kind not in "iuf":
        raise ReadError(f"must hold 0/255 or 0/1 values, got dtype {arr.dtype}")
    if nonzero:
        if arr.dtype.kind == "f" and not np.isfinite(arr).all():
            raise ReadError("mask values must be finite")
        return arr != 0
    values = np.unique(arr)
    ok = values.size <= 2 and (np.isin(values, (0, 1)).all() or np.isin(values, (0, 255)).all())
    if not ok:
        shown = ", ".join(f"{v:g}" for v in values[:6].tolist())
        more = ", ..." if values.size > 6 else ""
        raise ReadError(f"mask values must be 0/255 or 0/1, got values [{shown}{more}]")
    return arr != 0


def read_channel(path: str | os.PathLike[str]) -> tuple[NDArray[np.bool_], int]:
    """Read one MVTec LOCO AD defect channel: (its pixels, its defect id).

    The PNG holds 0 (defect-free) and one positive integer, the defect id (the ``pixel_value``
    of its ``defects_config.json`` entry); a PNG without any 0 is a defect over the whole image.
    """
    arr = _as_2d(_read_raw(Path(path)))
    if arr.dtype.kind not in "iu":
        raise ReadError(f"a defect channel must hold integers, got dtype {arr.dtype}")
    values = np.unique(arr)
    positive = values[values > 0]
    if positive.size != 1 or values.size - positive.size > 1 or values.min() < 0:
        shown = ", ".join(str(v) for v in values[:6].tolist())
        raise ReadError(
            f"a defect channel must hold 0 and one positive defect id, got values [{shown}]"
        )
    return arr != 0, int(positive[0])


def read_image_scores(
    path: str | os.PathLike[str],
) -> tuple[dict[str, float], list[Problem]]:
    """Read a CSV of ``name,score`` rows (an optional header is skipped).

    ``name`` is the map's path relative to the anomaly-maps folder, with or without its
    extension (e.g. ``bottle/test/good/000`` or, for a flat folder, ``000.tiff``).
    """
    scores: dict[str, float] = {}
    problems: list[Problem] = []
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        return {}, [Problem(str(p), f"cannot read the image-scores file ({err})")]
    first = True
    for line_no, row in enumerate(csv.reader(text.splitlines()), start=1):
        if not row or not "".join(row).strip():
            continue
        is_first, first = first, False
        if len(row) != 2:
            problems.append(
                Problem(f"{p}:{line_no}", f"expected 2 columns name,score, got {len(row)}")
            )
            continue
        name, value = row[0].strip(), row[1].strip()
        try:
            score = float(value)
        except ValueError:
            if is_first:
                continue  # a header
            problems.append(Problem(f"{p}:{line_no}", f"score '{value}' is not a number"))
            continue
        if not math.isfinite(score):
            problems.append(Problem(f"{p}:{line_no}", f"score of '{name}' is {value}"))
            continue
        key = name.replace("\\", "/").removeprefix("./")
        if key in scores:
            problems.append(Problem(f"{p}:{line_no}", f"a second score for '{name}'"))
            continue
        scores[key] = score
    if not scores and not problems:
        problems.append(Problem(str(p), "no image scores in the file"))
    return scores, problems


def _lookup_score(scores: dict[str, float], entry: ImageEntry) -> float | None:
    ext = entry.map_path.suffix
    for candidate in (entry.key, entry.key + ext):
        if candidate in scores:
            return scores[candidate]
    return None


def _fit(amap: NDArray[Any], shape: tuple[int, ...], resize: str | None) -> NDArray[Any]:
    """`amap` upsampled to `shape` with `resize` (unchanged when None or already that size)."""
    if resize is None or amap.shape == shape:
        return amap
    try:
        return resize_map(amap, (shape[0], shape[1]), resize)
    except ValueError as err:
        raise ReadError(str(err)) from None


def _load_entry(
    entry: ImageEntry,
    resize: str | None = None,
    target: tuple[int, ...] | None = None,
    nonzero_masks: bool = False,
) -> tuple[NDArray[Any] | None, NDArray[np.bool_] | None, list[Problem]]:
    """Read an entry's map and mask; with `resize`, upsample the map to its mask's size (or to
    `target` for an image without a mask file)."""
    problems: list[Problem] = []
    amap = mask = None
    try:
        amap = read_map(entry.map_path)
    except ReadError as err:
        problems.append(Problem(str(entry.map_path), str(err)))
    if entry.mask_path is not None:
        try:
            mask = read_mask(entry.mask_path, nonzero=nonzero_masks)
        except ReadError as err:
            problems.append(Problem(str(entry.mask_path), str(err)))
    if amap is not None and resize is not None:
        shape = mask.shape if mask is not None else target
        if shape is not None:
            try:
                amap = _fit(amap, shape, resize)
            except ReadError as err:
                problems.append(Problem(str(entry.map_path), str(err)))
                amap = None
    if amap is not None and mask is not None and amap.shape != mask.shape:
        hint = (
            " (pass --resize-maps nearest|bilinear to upsample maps to the mask size)"
            if resize is None and amap.shape[0] <= mask.shape[0] and amap.shape[1] <= mask.shape[1]
            else ""
        )
        problems.append(
            Problem(
                str(entry.map_path),
                f"shape {amap.shape} differs from its mask's {mask.shape} ({entry.mask_path})"
                + hint,
            )
        )
    return amap, mask, problems


def mask_shape(entries: list[ImageEntry], nonzero: bool = False) -> tuple[int, ...] | None:
    """The shape of the first readable mask of `entries` (None without one): the size that
    ``--resize-maps`` gives the maps of images without a mask file."""
    for e in entries:
        if e.mask_path is not None:
            try:
                return read_mask(e.mask_path, nonzero=nonzero).shape
            except ReadError:
                continue
    return None


def _load_in_windows(
    entries: list[ImageEntry],
    workers: int,
    resize: str | None = None,
    nonzero_masks: bool = False,
    target: tuple[int, ...] | None = None,
) -> Iterator[tuple[NDArray[Any] | None, NDArray[np.bool_] | None, list[Problem]]]:
    """:func:`_load_entry` of every entry, in order, read ``workers`` at a time in threads.

    Windows of ``4 * workers`` images go through the library's thread runner, so at most one
    window of images is in memory beside the stacks being filled.
    """
    if resize is not None and target is None:
        target = mask_shape(entries, nonzero_masks)
    load = functools.partial(_load_entry, resize=resize, target=target, nonzero_masks=nonzero_masks)
    window = 4 * workers
    for start in range(0, len(entries), window):
        yield from run_tasks(load, entries[start : start + window], workers)


def load_category(
    spec: CategorySpec,
    *,
    image_scores: dict[str, float] | None = None,
    workers: int | None = None,
    progress: bool = True,
    resize: str | None = None,
    nonzero_masks: bool = False,
    target: tuple[int, ...] | None = None,
) -> tuple[LoadedCategory | None, list[Problem]]:
    """Read a category's maps and masks in parallel threads into one (N, H, W) stack each.

    ``workers`` threads read files (default: :func:`anomaly_metrics.get_num_threads`).
    ``resize`` (``"nearest"`` or ``"bilinear"``, see :mod:`.resize`) upsamples each map to its
    mask's size, and the maps of images without a mask file to the size of the category's
    first mask (or to ``target`` when given). ``nonzero_masks`` accepts masks of any integer
    values (non-zero = defect).

    Images with a problem are left out (and reported); the stacks are filled in place, so the
    peak memory is the maps and masks themselves plus a few images in flight. Returns None for
    the category when no valid image is left.
    """
    problems: list[Problem] = []
    entries = spec.entries
    scores: list[float] = []
    if image_scores is not None:
        kept = []
        for e in entries:
            s = _lookup_score(image_scores, e)
            if s is None:
                problems.append(
                    Problem(str(e.map_path), f"no image score for '{e.key}' in --image-scores")
                )
            else:
                kept.append(e)
                scores.append(s)
        entries = kept
    n = len(entries)
    workers = max(1, workers or get_num_threads())
    maps: NDArray[Any] | None = None
    masks: NDArray[np.bool_] | None = None
    keys: list[str] = []
    kept_scores: list[float] = []
    ref_path: Path | None = None
    bar = _progress(n, f"loading {spec.name}", progress)
    try:
        pairs = _load_in_windows(entries, workers, resize, nonzero_masks, target)
        for i, (amap, mask, bad) in enumerate(pairs):
            bar.update(1)
            entry = entries[i]
            if bad or amap is None:
                problems += bad
                continue
            if mask is None:  # a normal image without a mask file
                mask = np.zeros(amap.shape, bool)
            if maps is None or masks is None:
                maps = np.empty((n, *amap.shape), amap.dtype)
                masks = np.empty((n, *amap.shape), bool)
                ref_path = entry.map_path
            elif amap.shape != maps.shape[1:]:
                problems.append(
                    Problem(
                        str(entry.map_path),
                        f"shape {amap.shape} differs from the category's other maps "
                        f"{maps.shape[1:]} (e.g. {ref_path})",
                    )
                )
                continue
            if amap.dtype.itemsize > maps.dtype.itemsize:
                maps = maps.astype(amap.dtype)  # keep float64 maps exact
            j = len(keys)
            maps[j] = amap
            masks[j] = mask
            keys.append(entry.key)
            if image_scores is not None:
                kept_scores.append(scores[i])
    finally:
        bar.close()
    if maps is None or masks is None or not keys:
        if not problems:
            problems.append(Problem(spec.name, "empty category: no images to evaluate"))
        return None, problems
    k = len(keys)
    loaded = LoadedCategory(
        spec.name,
        keys,
        maps[:k],
        masks[:k],
        np.asarray(kept_scores, np.float64) if image_scores is not None else None,
    )
    return loaded, problems


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(total: int, desc: str, enabled: bool) -> Any:
    if not enabled:
        return _NoBar()
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm is in the io extra
        return _NoBar()
    return tqdm(total=total, desc=desc, unit="img", leave=False, disable=None)
