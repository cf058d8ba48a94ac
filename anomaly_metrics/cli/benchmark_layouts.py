"""The folder layouts of the benchmarks (``evaluate --protocol``): which files go together.

Like :mod:`.datasets`, nothing is read here (except VisA's split CSV and the list of files) and
nothing raises for a user's mistake: every problem becomes a :class:`~.datasets.Problem`.

``mvtec-loco`` (:func:`loco_layout`)
    maps ``MAPS/<object>/test/<good|logical_anomalies|structural_anomalies>/<id>.tiff``; ground
    truth ``GT/<object>/ground_truth/<logical_anomalies|structural_anomalies>/<id>/NNN.png``
    (one PNG per defect channel, read in file-name order) and ``GT/<object>/defects_config.json``.
``mvtec-ad2`` (:func:`ad2_layout`)
    maps ``MAPS/<object>/<split>/<good|bad>/<name>.tiff`` (the ``anomaly_images`` folder of a
    submission), masks ``GT/<object>/<split>/ground_truth/bad/<name>_mask.png``; optional
    binarised maps ``BIN/<object>/<split>/<good|bad>/<name>.png`` (``anomaly_images_thresholded``).
``visa`` (:func:`visa_csv_layout`)
    VisA's split CSV (``GT/split_csv/1cls.csv``: ``object,split,label,image,mask``): the maps of
    its test rows are ``MAPS/<image path>`` with the extension of a map, masks ``GT/<mask path>``.
    Without the CSV, the MVTec AD layout of :mod:`.datasets` (anomalib's converted VisA).
``real-iad`` (:func:`realiad_layout`)
    maps ``MAPS/<category>/<OK|NG>/.../<name>.tiff`` (the dataset's tree, any depth), masks
    ``GT/<category>/<same folders>/<name>.png`` or ``<name>_mask.png``; a map without a mask is
    a normal view (a view of a defective object may not show the defect). Without ``OK``/``NG``
    folders, the layouts of :mod:`.datasets`.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from .datasets import (
    MAP_SUFFIXES,
    CategorySpec,
    ImageEntry,
    Problem,
    _discover_mvtec_category,
    _files,
    _index_files,
    _rel,
    _subdirs,
)

__all__ = [
    "DEFAULT_GROUP_PATTERN",
    "LOCO_SUBSETS",
    "LocoCategory",
    "LocoImage",
    "ad2_layout",
    "binarized_paths",
    "loco_layout",
    "realiad_layout",
    "sample_ids",
    "validation_layout",
    "visa_csv_layout",
]

LOCO_SUBSETS = ("logical_anomalies", "structural_anomalies")

#: Real-IAD's file names: ``<category>_<sample>_<OK|NG>[_<defect>]_C<camera>_<timestamp>``; the
#: sample id is everything before ``_C<camera>``. Searched in the map's path relative to the
#: maps folder, without extension.
DEFAULT_GROUP_PATTERN = r"([^/]+)_C\d+(?:_[^/_]*)?$"


def _category_dirs(
    maps_root: Path, categories: Sequence[str] | None, *markers: str
) -> tuple[dict[str, Path], list[Problem]] | None:
    """Category folders (those with one of the `markers` sub-folders), or the root itself."""

    def is_category(d: Path) -> bool:
        return any((d / m).is_dir() for m in markers)

    marker = "/ or ".join(markers)
    if is_category(maps_root):
        found = {maps_root.resolve().name: maps_root}
    else:
        found = {d.name: d for d in _subdirs(maps_root) if is_category(d)}
    if not found:
        return None
    if not categories:
        return dict(sorted(found.items())), []
    problems = [
        Problem(
            str(maps_root / c),
            f"category not found (expected a folder with {marker}/ inside; "
            f"found: {', '.join(sorted(found))})",
        )
        for c in categories
        if c not in found
    ]
    return {c: found[c] for c in categories if c in found}, problems


def _gt_category(gt_root: Path, name: str, marker: str) -> Path:
    return gt_root if (gt_root / marker).exists() else gt_root / name


# ------------------------------------------------------------------------------------------
# MVTec LOCO AD


class LocoImage(NamedTuple):
    """One test image of MVTec LOCO AD: its map and its defect channels' PNGs (none if good)."""

    key: str
    subset: str  # "good", "logical_anomalies" or "structural_anomalies"
    map_path: Path
    channel_paths: tuple[Path, ...]


class LocoCategory(NamedTuple):
    """An object of MVTec LOCO AD: its test images and its ``defects_config.json``."""

    name: str
    images: list[LocoImage]
    config_path: Path


def _loco_category(
    name: str, maps_cat: Path, gt_cat: Path, maps_root: Path
) -> tuple[LocoCategory, list[Problem]]:
    problems: list[Problem] = []
    config = gt_cat / "defects_config.json"
    if not config.is_file():
        problems.append(
            Problem(
                str(config),
                "defects_config.json not found: MVTec LOCO AD needs it for the saturation "
                "areas (it is in each object's folder of the dataset)",
            )
        )
    images: list[LocoImage] = []
    test_dir, gt_dir = maps_cat / "test", gt_cat / "ground_truth"
    used: set[Path] = set()
    for sub in _subdirs(test_dir):
        if sub.name != "good" and sub.name not in LOCO_SUBSETS:
            problems.append(
                Problem(
                    str(sub),
                    "unknown folder: expected good, logical_anomalies, structural_anomalies",
                )
            )
            continue
        maps, bad = _index_files(_files(sub), MAP_SUFFIXES, "an anomaly map", False)
        problems += bad
        for stem, path in maps.items():
            key = _rel(path.with_suffix(""), maps_root)
            if sub.name == "good":
                images.append(LocoImage(key, "good", path, ()))
                continue
            channel_dir = gt_dir / sub.name / stem
            pngs = (
                tuple(p for p in _files(channel_dir) if p.suffix.lower() == ".png")
                if channel_dir.is_dir()
                else ()
            )
            if not pngs:
                problems.append(
                    Problem(
                        str(path),
                        f"no defect channels (expected {channel_dir}/000.png, one PNG per defect)",
                    )
                )
                continue
            used.add(channel_dir)
            images.append(LocoImage(key, sub.name, path, pngs))
    for subset in LOCO_SUBSETS:
        for d in _subdirs(gt_dir / subset) if (gt_dir / subset).is_dir() else []:
            if d not in used:
                problems.append(
                    Problem(
                        str(d),
                        "ground truth without an anomaly map "
                        f"(expected {test_dir / subset / d.name}.tiff)",
                    )
                )
    if not images and not problems:
        problems.append(Problem(str(maps_cat), "empty category: no anomaly maps found"))
    return LocoCategory(name, images, config), problems


def loco_layout(
    maps_root: Path, gt_root: Path, categories: Sequence[str] | None
) -> tuple[list[LocoCategory], list[Problem]]:
    """The MVTec LOCO AD layout (see the module docstring)."""
    found = _category_dirs(maps_root, categories, "test")
    if found is None:
        return [], [
            Problem(
                str(maps_root),
                "no anomaly maps found: expected <object>/test/<good|logical_anomalies|"
                "structural_anomalies>/<id>.tiff",
            )
        ]
    cats, problems = found
    out = []
    single = (maps_root / "test").is_dir()
    for name, maps_cat in cats.items():
        gt_cat = _gt_category(gt_root, name, "ground_truth") if single else gt_root / name
        cat, bad = _loco_category(name, maps_cat, gt_cat, maps_root)
        out.append(cat)
        problems += bad
    return out, problems


# ------------------------------------------------------------------------------------------
# MVTec AD 2


def ad2_layout(
    maps_root: Path, gt_root: Path, categories: Sequence[str] | None, split: str
) -> tuple[list[CategorySpec], list[Problem]]:
    """The MVTec AD 2 layout for one `split` (``test_public``, ``validation``...)."""
    found = _category_dirs(maps_root, categories, split)
    if found is None:
        return [], [
            Problem(
                str(maps_root),
                f"no anomaly maps found: expected <object>/{split}/<good|bad>/<name>.tiff "
                "(the anomaly_images folder of a submission)",
            )
        ]
    cats, problems = found
    specs = []
    single = (maps_root / split).is_dir()
    for name, maps_cat in cats.items():
        gt_cat = _gt_category(gt_root, name, split) if single else gt_root / name
        spec, bad = _discover_mvtec_category(
            name,
            maps_cat,
            gt_cat,
            maps_root,
            test_dir=maps_cat / split,
            gt_dir=gt_cat / split / "ground_truth",
        )
        specs.append(spec)
        problems += bad
    return specs, problems


def validation_layout(
    val_root: Path, gt_root: Path, name: str
) -> tuple[CategorySpec, list[Problem]]:
    """MVTec AD 2 validation maps of object `name`: ``VAL/<name>/validation/<good|bad>/*``
    (or ``VAL/<name>/<good|bad>/*``); masks of ``bad`` images as in :func:`ad2_layout`."""
    maps_cat = val_root / name
    test_dir = maps_cat / "validation" if (maps_cat / "validation").is_dir() else maps_cat
    if not test_dir.is_dir():
        return CategorySpec(name, []), [
            Problem(str(maps_cat), "validation maps not found (expected <object>/validation/good/)")
        ]
    return _discover_mvtec_category(
        name,
        maps_cat,
        gt_root / name,
        val_root,
        test_dir=test_dir,
        gt_dir=gt_root / name / "validation" / "ground_truth",
    )


def binarized_paths(
    spec: CategorySpec, maps_root: Path, bin_root: Path
) -> tuple[list[Path], list[Problem]]:
    """The binarised PNG of each map of `spec`: same relative path under `bin_root`, ``.png``."""
    paths, problems = [], []
    for e in spec.entries:
        p = bin_root / Path(_rel(e.map_path, maps_root)).with_suffix(".png")
        if not p.is_file():
            problems.append(Problem(str(e.map_path), f"no binarised map (expected {p})"))
        paths.append(p)
    return paths, problems


# ------------------------------------------------------------------------------------------
# VisA


def _find_map(maps_root: Path, rel: str) -> Path | None:
    base = maps_root / Path(rel).with_suffix("")
    for suffix in MAP_SUFFIXES:
        p = base.with_suffix(suffix)
        if p.is_file():
            return p
    return None


def visa_csv_layout(
    maps_root: Path, gt_root: Path, categories: Sequence[str] | None, csv_path: Path
) -> tuple[list[CategorySpec], list[Problem]]:
    """VisA's split CSV: its ``test`` rows, maps under `maps_root`, masks under `gt_root`."""
    try:
        rows = list(csv.DictReader(csv_path.read_text(encoding="utf-8-sig").splitlines()))
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        return [], [Problem(str(csv_path), f"cannot read the split CSV ({err})")]
    need = {"object", "split", "label", "image", "mask"}
    if not rows or not need.issubset(rows[0]):
        return [], [
            Problem(str(csv_path), f"expected the columns {', '.join(sorted(need))} of VisA's CSV")
        ]
    by_cat: dict[str, list[ImageEntry]] = {}
    problems: list[Problem] = []
    for line, row in enumerate(rows, start=2):
        if row["split"].strip() != "test":
            continue
        cat = row["object"].strip()
        if categories and cat not in categories:
            continue
        image = row["image"].strip()
        amap = _find_map(maps_root, image)
        if amap is None:
            problems.append(
                Problem(
                    f"{csv_path}:{line}",
                    f"no anomaly map for {image} (expected "
                    f"{maps_root / Path(image).with_suffix('.tiff')})",
                )
            )
            continue
        mask = None
        if row["label"].strip() != "normal":
            mask = gt_root / row["mask"].strip()
            if not row["mask"].strip() or not mask.is_file():
                problems.append(Problem(f"{csv_path}:{line}", f"mask not found: {mask}"))
                continue
        by_cat.setdefault(cat, []).append(
            ImageEntry(_rel(amap.with_suffix(""), maps_root), amap, mask)
        )
    for c in categories or []:
        if c not in by_cat:
            problems.append(Problem(str(csv_path), f"no test image of category '{c}'"))
    names = list(categories) if categories else sorted(by_cat)
    return [CategorySpec(c, by_cat[c]) for c in names if c in by_cat], problems


# ------------------------------------------------------------------------------------------
# Real-IAD


def realiad_layout(
    maps_root: Path, gt_root: Path, categories: Sequence[str] | None
) -> tuple[list[CategorySpec], list[Problem]] | None:
    """The Real-IAD tree (``<category>/<OK|NG>/...``); None if the maps are not laid out so."""
    found = _category_dirs(maps_root, categories, "OK", "NG")
    if found is None:
        return None
    cats, problems = found
    single = (maps_root / "OK").is_dir() or (maps_root / "NG").is_dir()
    specs = []
    for name, maps_cat in cats.items():
        gt_cat = gt_root if single and not (gt_root / name).is_dir() else gt_root / name
        entries = []
        for top in ("OK", "NG"):
            for path in sorted((maps_cat / top).rglob("*")) if (maps_cat / top).is_dir() else []:
                if not path.is_file() or path.name.startswith("."):
                    continue
                if path.suffix.lower() not in MAP_SUFFIXES:
                    problems.append(Problem(str(path), "not an anomaly map"))
                    continue
                rel = path.relative_to(maps_cat).with_suffix("")
                mask = None
                for cand in (f"{rel.name}.png", f"{rel.name}_mask.png"):
                    if (gt_cat / rel.parent / cand).is_file():
                        mask = gt_cat / rel.parent / cand
                        break
                entries.append(ImageEntry(_rel(path.with_suffix(""), maps_root), path, mask))
        if not entries:
            problems.append(Problem(str(maps_cat), "empty category: no anomaly maps found"))
        specs.append(CategorySpec(name, entries))
    return specs, problems


def sample_ids(keys: Sequence[str], pattern: str) -> tuple[list[str], list[str]]:
    """Each key's sample id (the first group of `pattern`, searched in the key) and the keys
    that do not match. `pattern` must compile and have a group (checked by the caller).

    Examples
    --------
    >>> from anomaly_metrics.cli.benchmark_layouts import DEFAULT_GROUP_PATTERN, sample_ids
    >>> sample_ids(["NG/AK/S0002/toy_0002_NG_AK_C3_20230917142453", "OK/S1/x"],
    ...            DEFAULT_GROUP_PATTERN)
    (['toy_0002_NG_AK', ''], ['OK/S1/x'])
    """
    rx = re.compile(pattern)
    ids, unmatched = [], []
    for k in keys:
        m = rx.search(k)
        if m is None or m.group(1) is None:
            unmatched.append(k)
            ids.append("")
        else:
            ids.append(m.group(1))
    return ids, unmatched
