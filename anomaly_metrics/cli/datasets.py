"""Dataset layouts on disk: which anomaly map goes with which ground-truth mask (nothing is read).

Each layout is one function ``(maps_root, gt_root, categories) -> (specs, problems) | None`` that
returns None when the folders do not look like it; :data:`LAYOUTS` lists them in the order
:func:`discover` tries them. A new benchmark's layout is one more such function and entry.

``mvtec``
    maps ``MAPS/<category>/test/<defect>/<name>.(tiff|tif|png|npy)`` and masks
    ``GT/<category>/ground_truth/<defect>/<name>_mask.png``; images of the ``good`` folder have
    no mask file and get an all-zero mask (as the official evaluation script does). ``MAPS`` (and
    ``GT``) may also be a single category's folder (the one that holds ``test/``).
``flat``
    ``MAPS/<name>.(tiff|tif|png|npy)`` and ``GT/<name>[_mask].(png|tif|tiff|npy)``, matched by
    file stem; every map needs a mask (an all-zero one for a normal image).

Nothing here raises for a user's mistake: every problem (a missing file, a mask without a map,
...) becomes a :class:`Problem` that names the file, and the caller decides whether it is fatal.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

__all__ = [
    "LAYOUTS",
    "MAP_SUFFIXES",
    "MASK_SUFFIXES",
    "CategorySpec",
    "ImageEntry",
    "Problem",
    "discover",
    "flat_layout",
    "mvtec_layout",
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
    name: str,
    maps_cat: Path,
    gt_cat: Path,
    maps_root: Path,
    *,
    test_dir: Path | None = None,
    gt_dir: Path | None = None,
) -> tuple[CategorySpec, list[Problem]]:
    """One MVTec-style category: ``test_dir/<defect>/<name>.*`` maps (default
    ``maps_cat/test``) and ``gt_dir/<defect>/<name>[_mask].*`` masks (default
    ``gt_cat/ground_truth``); MVTec AD 2 and VisA reuse it with other folders."""
    problems: list[Problem] = []
    entries: list[ImageEntry] = []
    test_dir = maps_cat / "test" if test_dir is None else test_dir
    gt_dir = gt_cat / "ground_truth" if gt_dir is None else gt_dir
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
                f"(expected {_rel(test_dir, maps_cat.parent)}/<defect>/<name>.tiff)",
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


Found = tuple[list[CategorySpec], list[Problem]]
#: A layout: ``(maps_root, gt_root, categories)`` -> what it found, or None if not this layout.
Layout = Callable[[Path, Path, Sequence[str] | None], Found | None]


def mvtec_layout(maps_root: Path, gt_root: Path, categories: Sequence[str] | None) -> Found | None:
    """The MVTec AD layout: one category folder (with ``test/``) or a folder of them."""
    if (maps_root / "test").is_dir():  # one MVTec category
        name = maps_root.resolve().name
        gt_cat = gt_root if (gt_root / "ground_truth").is_dir() else gt_root / name
        if categories and name not in categories:
            return [], [Problem(str(maps_root), f"category '{name}' is not in --categories")]
        spec, problems = _discover_mvtec_category(name, maps_root, gt_cat, maps_root)
        return [spec], problems
    cat_dirs = {d.name: d for d in _subdirs(maps_root) if (d / "test").is_dir()}
    if not cat_dirs:
        return None
    problems = []
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


def flat_layout(maps_root: Path, gt_root: Path, categories: Sequence[str] | None) -> Found | None:
    """A flat folder of maps and one of masks, matched by file stem (one category)."""
    if not any(p.suffix.lower() in MAP_SUFFIXES for p in _files(maps_root)):
        return None
    if categories:
        return [], [
            Problem(str(maps_root), "--categories needs the MVTec AD layout (a flat folder)")
        ]
    spec, problems = _discover_flat(maps_root, gt_root)
    return [spec], problems


#: The layouts :func:`discover` knows, in the order it tries them.
LAYOUTS: dict[str, Layout] = {"mvtec": mvtec_layout, "flat": flat_layout}


def discover(
    maps_dir: str | os.PathLike[str],
    gt_dir: str | os.PathLike[str],
    categories: Sequence[str] | None = None,
    layout: str | None = None,
) -> Found:
    """Find every (map, mask) pair under the two folders; see the module docstring for layouts.

    `layout` names one entry of :data:`LAYOUTS`; by default each is tried in order and the first
    that recognises the folders is used. Returns the categories (sorted by name, or in the order
    of `categories`) and the problems found. Nothing is read.
    """
    if layout is not None and layout not in LAYOUTS:
        raise ValueError(f"`layout` must be one of {sorted(LAYOUTS)}, got {layout!r}.")
    maps_root = Path(maps_dir)
    gt_root = Path(gt_dir)
    if not maps_root.is_dir():
        return [], [Problem(str(maps_root), "anomaly-maps folder not found")]
    if not gt_root.is_dir():
        return [], [Problem(str(gt_root), "ground-truth folder not found")]
    for name in [layout] if layout is not None else list(LAYOUTS):
        found = LAYOUTS[name](maps_root, gt_root, categories)
        if found is not None:
            return found
    return [], [
        Problem(
            str(maps_root),
            "no anomaly maps found: expected the MVTec AD layout "
            "<category>/test/<defect>/<name>.tiff or a flat folder of .tiff/.tif/.png/.npy files",
        )
    ]
