"""Finding, reading and checking anomaly maps and ground-truth masks on disk (for the CLI).

Two layouts are understood:

MVTec AD
    maps ``MAPS/<category>/test/<defect>/<name>.(tiff|tif|png|npy)`` and masks
    ``GT/<category>/ground_truth/<defect>/<name>_mask.png``; images of the ``good`` folder have
    no mask file and get an all-zero mask (as the official evaluation script does). ``MAPS`` (and
    ``GT``) may also be a single category's folder (the one that holds ``test/``).
flat
    ``MAPS/<name>.(tiff|tif|png|npy)`` and ``GT/<name>[_mask].(png|tif|tiff|npy)``, matched by
    file stem; every map needs a mask (an all-zero one for a normal image).

Nothing here raises for a user's mistake: every problem (a missing or unreadable file, a shape
mismatch, NaN in a map, a mask that is not 0/1 or 0/255, ...) becomes a :class:`Problem` that
names the file, and the caller decides whether it is fatal. Readers (Pillow, tifffile) and the
progress bar (tqdm) are imported lazily; they come with the ``io`` extra.
"""

from __future__ import annotations

import csv
import importlib
import math
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "MAP_SUFFIXES",
    "MASK_SUFFIXES",
    "CategorySpec",
    "ImageEntry",
    "LoadedCategory",
    "Problem",
    "discover",
    "load_category",
    "read_image_scores",
    "read_map",
    "read_mask",
]

MAP_SUFFIXES = (".tiff", ".tif", ".png", ".npy")
MASK_SUFFIXES = (".png", ".tif", ".tiff", ".npy")
GOOD = "good"


class Problem(NamedTuple):
    """One problem with the input: the file or folder it is about, and what is wrong."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class ImageEntry(NamedTuple):
    """One test image: its map, its mask (None: normal image, all-zero mask) and its name."""

    key: str  # map path relative to the maps root, posix, without extension
    map_path: Path
    mask_path: Path | None


class CategorySpec(NamedTuple):
    """The images found for one category (before reading them)."""

    name: str
    entries: list[ImageEntry]


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


# --------------------------------------------------------------------------------------------
# discovery


def _visible(entries: Iterable[Path]) -> list[Path]:
    return sorted(p for p in entries if not p.name.startswith("."))


def _subdirs(folder: Path) -> list[Path]:
    return [p for p in _visible(folder.iterdir()) if p.is_dir()]


def _files(folder: Path) -> list[Path]:
    return [p for p in _visible(folder.iterdir()) if p.is_file()]


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def _index_files(
    files: Iterable[Path], suffixes: Sequence[str], what: str, strip_mask: bool
) -> tuple[dict[str, Path], list[Problem]]:
    """Map stem -> file (``_mask`` stripped when asked); duplicates and strangers are problems."""
    found: dict[str, Path] = {}
    problems: list[Problem] = []
    for path in files:
        if path.suffix.lower() not in suffixes:
            problems.append(
                Problem(str(path), f"not {what} (expected a {'/'.join(suffixes)} file)")
            )
            continue
        stem = path.stem
        if strip_mask and stem.endswith("_mask"):
            stem = stem[: -len("_mask")]
        if stem in found:
            problems.append(
                Problem(str(path), f"a second {what} for image '{stem}' (also {found[stem].name})")
            )
            continue
        found[stem] = path
    return found, problems


def _discover_mvtec_category(
    name: str, maps_cat: Path, gt_cat: Path, maps_root: Path
) -> tuple[CategorySpec, list[Problem]]:
    problems: list[Problem] = []
    entries: list[ImageEntry] = []
    test_dir = maps_cat / "test"
    gt_dir = gt_cat / "ground_truth"
    has_gt = gt_dir.is_dir()
    needs_gt = False
    matched: set[Path] = set()
    for defect_dir in _subdirs(test_dir) if test_dir.is_dir() else []:
        defect = defect_dir.name
        maps, bad = _index_files(_files(defect_dir), MAP_SUFFIXES, "an anomaly map", False)
        problems += bad
        masks: dict[str, Path] = {}
        if has_gt and (gt_dir / defect).is_dir():
            masks, bad = _index_files(_files(gt_dir / defect), MASK_SUFFIXES, "a mask", True)
            problems += bad
        for stem, map_path in maps.items():
            mask_path = masks.get(stem)
            if mask_path is not None:
                matched.add(mask_path)
            elif defect != GOOD:
                needs_gt = True
                if has_gt:
                    expected = gt_dir / defect / f"{stem}_mask.png"
                    problems.append(
                        Problem(str(map_path), f"no ground-truth mask (expected {expected})")
                    )
                continue
            key = _rel(map_path.with_suffix(""), maps_root)
            entries.append(ImageEntry(key, map_path, mask_path))
    if needs_gt and not has_gt:
        problems.append(
            Problem(
                str(gt_dir),
                f"ground-truth folder not found: the anomalous images of '{name}' have no masks",
            )
        )
    if has_gt:  # masks whose image has no map
        for defect_dir in _subdirs(gt_dir):
            masks, _ = _index_files(_files(defect_dir), MASK_SUFFIXES, "a mask", True)
            for stem, mask_path in masks.items():
                if mask_path not in matched:
                    expected = test_dir / defect_dir.name / f"{stem}.tiff"
                    problems.append(
                        Problem(
                            str(mask_path), f"ground-truth mask without an anomaly map ({expected})"
                        )
                    )
    if not entries and not problems:
        problems.append(
            Problem(
                str(maps_cat),
                "empty category: no anomaly maps found "
                "(expected <category>/test/<defect>/<name>.tiff)",
            )
        )
    return CategorySpec(name, entries), problems


def _discover_flat(maps_dir: Path, gt_dir: Path) -> tuple[CategorySpec, list[Problem]]:
    maps, problems = _index_files(_files(maps_dir), MAP_SUFFIXES, "an anomaly map", False)
    masks: dict[str, Path] = {}
    if gt_dir.is_dir():
        masks, bad = _index_files(_files(gt_dir), MASK_SUFFIXES, "a mask", True)
        problems += bad
    else:
        problems.append(Problem(str(gt_dir), "ground-truth folder not found"))
    entries: list[ImageEntry] = []
    for stem, map_path in maps.items():
        mask_path = masks.get(stem)
        if mask_path is None:
            if gt_dir.is_dir():
                problems.append(
                    Problem(
                        str(map_path),
                        f"no ground-truth mask (expected {gt_dir / stem}.png or "
                        f"{gt_dir / stem}_mask.png)",
                    )
                )
            continue
        entries.append(ImageEntry(_rel(map_path.with_suffix(""), maps_dir), map_path, mask_path))
    for stem, mask_path in masks.items():
        if stem not in maps:
            problems.append(
                Problem(
                    str(mask_path),
                    f"ground-truth mask without an anomaly map (expected {maps_dir / stem}.tiff)",
                )
            )
    if not maps:
        problems.append(Problem(str(maps_dir), "empty category: no anomaly maps found"))
    name = maps_dir.resolve().name or "all"
    return CategorySpec(name, entries), problems


def discover(
    maps_dir: str | os.PathLike[str],
    gt_dir: str | os.PathLike[str],
    categories: Sequence[str] | None = None,
) -> tuple[list[CategorySpec], list[Problem]]:
    """Find every (map, mask) pair under the two folders; see the module docstring for layouts.

    Returns the categories (sorted by name, or in the order of `categories`) and the problems
    found. Nothing is read.
    """
    maps_root = Path(maps_dir)
    gt_root = Path(gt_dir)
    if not maps_root.is_dir():
        return [], [Problem(str(maps_root), "anomaly-maps folder not found")]
    if not gt_root.is_dir():
        return [], [Problem(str(gt_root), "ground-truth folder not found")]
    if (maps_root / "test").is_dir():  # one MVTec category
        name = maps_root.resolve().name
        gt_cat = gt_root if (gt_root / "ground_truth").is_dir() else gt_root / name
        if categories and name not in categories:
            return [], [Problem(str(maps_root), f"category '{name}' is not in --categories")]
        spec, problems = _discover_mvtec_category(name, maps_root, gt_cat, maps_root)
        return [spec], problems
    cat_dirs = {d.name: d for d in _subdirs(maps_root) if (d / "test").is_dir()}
    if cat_dirs:
        problems: list[Problem] = []
        names = list(categories) if categories else sorted(cat_dirs)
        specs: list[CategorySpec] = []
        for name in names:
            if name not in cat_dirs:
                problems.append(
                    Problem(
                        str(maps_root / name),
                        "category not found (expected a folder with test/<defect>/ inside; "
                        f"found: {', '.join(sorted(cat_dirs))})",
                    )
                )
                continue
            spec, bad = _discover_mvtec_category(name, cat_dirs[name], gt_root / name, maps_root)
            specs.append(spec)
            problems += bad
        return specs, problems
    if any(p.suffix.lower() in MAP_SUFFIXES for p in _files(maps_root)):
        if categories:
            return [], [
                Problem(str(maps_root), "--categories needs the MVTec AD layout (a flat folder)")
            ]
        spec, problems = _discover_flat(maps_root, gt_root)
        return [spec], problems
    return [], [
        Problem(
            str(maps_root),
            "no anomaly maps found: expected the MVTec AD layout "
            "<category>/test/<defect>/<name>.tiff or a flat folder of .tiff/.tif/.png/.npy files",
        )
    ]


# --------------------------------------------------------------------------------------------
# readers


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


def read_mask(path: str | os.PathLike[str]) -> NDArray[np.bool_]:
    """Read a ground-truth mask as an (H, W) bool array; values must be 0/255 or 0/1."""
    arr = _as_2d(_read_raw(Path(path)))
    if arr.dtype == np.bool_:
        return arr
    if arr.dtype.kind not in "iuf":
        raise ReadError(f"must hold 0/255 or 0/1 values, got dtype {arr.dtype}")
    values = np.unique(arr)
    ok = values.size <= 2 and (np.isin(values, (0, 1)).all() or np.isin(values, (0, 255)).all())
    if not ok:
        shown = ", ".join(f"{v:g}" for v in values[:6].tolist())
        more = ", ..." if values.size > 6 else ""
        raise ReadError(f"mask values must be 0/255 or 0/1, got values [{shown}{more}]")
    return arr != 0


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


# --------------------------------------------------------------------------------------------
# loading


def _bounded_map(
    pool: ThreadPoolExecutor, fn: Callable[[Any], Any], items: Sequence[Any], window: int
) -> Iterator[Any]:
    """``pool.map`` in order, with at most `window` results in flight (bounds memory)."""
    futures = []
    it = iter(items)
    for item in it:
        futures.append(pool.submit(fn, item))
        if len(futures) >= window:
            break
    head = 0
    for item in it:
        yield futures[head].result()
        futures[head] = None  # type: ignore[call-overload]
        head += 1
        futures.append(pool.submit(fn, item))
    for k in range(head, len(futures)):
        yield futures[k].result()
        futures[k] = None  # type: ignore[call-overload]


def _load_entry(
    entry: ImageEntry,
) -> tuple[NDArray[Any] | None, NDArray[np.bool_] | None, list[Problem]]:
    problems: list[Problem] = []
    amap = mask = None
    try:
        amap = read_map(entry.map_path)
    except ReadError as err:
        problems.append(Problem(str(entry.map_path), str(err)))
    if entry.mask_path is not None:
        try:
            mask = read_mask(entry.mask_path)
        except ReadError as err:
            problems.append(Problem(str(entry.mask_path), str(err)))
    if amap is not None and mask is not None and amap.shape != mask.shape:
        problems.append(
            Problem(
                str(entry.map_path),
                f"shape {amap.shape} differs from its mask's {mask.shape} ({entry.mask_path})",
            )
        )
    return amap, mask, problems


def load_category(
    spec: CategorySpec,
    *,
    image_scores: dict[str, float] | None = None,
    workers: int | None = None,
    progress: bool = True,
) -> tuple[LoadedCategory | None, list[Problem]]:
    """Read a category's maps and masks in parallel threads into one (N, H, W) stack each.

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
    workers = max(1, workers or min(8, os.cpu_count() or 1))
    maps: NDArray[Any] | None = None
    masks: NDArray[np.bool_] | None = None
    keys: list[str] = []
    kept_scores: list[float] = []
    ref_path: Path | None = None
    bar = _progress(n, f"loading {spec.name}", progress)
    try:
        with ThreadPoolExecutor(workers) as pool:
            results = _bounded_map(pool, _load_entry, entries, 4 * workers)
            for i, (amap, mask, bad) in enumerate(results):
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
