"""The benchmarks' official tables (``anomaly-metrics evaluate --protocol NAME``).

One function per benchmark reads its folder layout (:mod:`.benchmark_layouts`), loads each
category (:mod:`.readers`) and computes the official metrics with the core functions; the
table, JSON and CSV are written by :mod:`.protocol_output`. ``mvtec-ad`` is the plain
``evaluate`` (:mod:`.evaluate`).

========== =========================================================================
protocol   metrics (per category, then the mean over categories)
========== =========================================================================
mvtec-ad   I-AUROC, I-AUPR, I-F1Max, P-AUROC, P-AUPR, P-F1Max, AU-PRO 0.3, AUPIMO, ...
mvtec-3d   I-AUROC, AU-PRO 0.3 and 0.01 (one count)
mvtec-loco I-AUROC and AU-sPRO 0.01, 0.05, 0.1, 0.3, 1.0 for good + logical, good +
           structural, and their mean
mvtec-ad2  AU-PRO 0.05, I-AUROC, SegF1 (threshold from a rule on normal validation maps,
           or the binarised PNGs)
visa       I-AUROC, P-AUROC, AU-PRO 0.3
real-iad   S-AUROC (max over a sample's views), I-AUROC, I-AP, P-AUROC, P-AP, AU-PRO 0.3
========== =========================================================================
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .. import (
    aupro,
    auroc,
    auspro,
    evaluate,
    loco_saturation_areas,
    seg_f1,
    threshold_f1_max,
    threshold_max_fpr,
    threshold_mean_std,
    threshold_percentile,
)
from .._parallel import get_num_threads, run_tasks
from .benchmark_layouts import (
    DEFAULT_GROUP_PATTERN,
    LOCO_SUBSETS,
    LocoCategory,
    LocoImage,
    ad2_layout,
    binarized_paths,
    loco_layout,
    realiad_layout,
    sample_ids,
    validation_layout,
    visa_csv_layout,
)
from .datasets import CategorySpec, Problem, discover
from .readers import (
    LoadedCategory,
    ReadError,
    _fit,
    load_category,
    read_channel,
    read_map,
    read_mask,
)

__all__ = [
    "HEADERS",
    "LOCO_LIMITS",
    "PROTOCOLS",
    "THRESHOLD_RULES",
    "Protocol",
    "ProtocolOptions",
]

LOCO_LIMITS = (0.01, 0.05, 0.1, 0.3, 1.0)

#: ``--threshold-rule`` -> (core function, its parameter's name, default value).
THRESHOLD_RULES: dict[str, tuple[Callable[..., Any], str | None, float | None]] = {
    "mean-std": (threshold_mean_std, "k", 3.0),
    "percentile": (threshold_percentile, "q", 99.0),
    "max-fpr": (threshold_max_fpr, "max_fpr", 0.01),
    "f1-max": (threshold_f1_max, None, None),
}

#: Column headers of the printed tables.
HEADERS = {
    "image_auroc": "I-AUROC",
    "image_ap": "I-AP",
    "pixel_auroc": "P-AUROC",
    "pixel_ap": "P-AP",
    "sample_auroc": "S-AUROC",
    "seg_f1": "SegF1",
    **{f"aupro_{t:g}": f"AUPRO@{t:g}" for t in (0.3, 0.05, 0.01)},
    **{f"auspro_{t:g}": f"AU-sPRO@{t:g}" for t in LOCO_LIMITS},
}


@dataclass(frozen=True)
class Protocol:
    """A benchmark: what it reads and the metrics of its table (in order)."""

    name: str
    reads: str
    metrics: tuple[str, ...]
    subsets: tuple[str, ...] = ("",)  # LOCO: logical, structural, mean


@dataclass
class ProtocolOptions:
    """The options of ``evaluate --protocol`` besides the two folders."""

    categories: Sequence[str] | None = None
    resize: str | None = None
    threshold_rule: str | None = None
    threshold_param: float | None = None
    validation: Path | None = None
    binarized: Path | None = None
    segf1_average: str = "pooled"
    group_pattern: str = DEFAULT_GROUP_PATTERN
    split: str = "test_public"
    split_csv: Path | None = None
    workers: int | None = None
    progress: bool = True
    skip_invalid: bool = False


Rows = dict[str, dict[str, Any]]  # subset ("" if none) -> {num_images, num_anomalous, metrics}


@dataclass
class Context:
    """What a protocol function needs: the options and the reporter (:mod:`.protocol_output`)."""

    options: ProtocolOptions
    report: Any
    notes: dict[str, Any] = field(default_factory=dict)  # per-category extras for the output

    def problems(self, problems: Sequence[Problem]) -> None:
        for p in problems:
            self.report.problem(p)

    def blocked(self) -> bool:
        """True once a problem stops the evaluation (all files are still read and checked)."""
        return bool(self.report.problems) and not self.options.skip_invalid

    def load(self, spec: CategorySpec, **kwargs: Any) -> LoadedCategory | None:
        if not spec.entries:
            return None
        o = self.options
        cat, bad = load_category(
            spec, workers=o.workers, progress=o.progress, resize=o.resize, **kwargs
        )
        self.problems(bad)
        return None if cat is None or self.blocked() else cat

    def compute(self, name: str, fn: Callable[[], Rows]) -> Rows | None:
        """Run `fn`, its warnings reported as lines naming the category, its errors as problems."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                rows = fn()
            except (ValueError, TypeError, ReadError) as err:
                self.report.problem(Problem(name, str(err)))
                return None
        for w in caught:
            self.report.warning(name, str(w.message))
        return rows


def _labels(masks: NDArray[np.bool_]) -> NDArray[np.bool_]:
    return masks.reshape(masks.shape[0], -1).any(axis=1)


def _counts(labels: NDArray[np.bool_]) -> dict[str, int]:
    return {"num_images": int(labels.size), "num_anomalous": int(labels.sum())}


def _pairs_specs(ctx: Context, maps_root: Path, gt_root: Path) -> list[CategorySpec]:
    specs, problems = discover(maps_root, gt_root, ctx.options.categories)
    ctx.problems(problems)
    return specs


# ------------------------------------------------------------------------------------------
# MVTec 3D-AD, VisA, Real-IAD: maps and binary masks


def run_mvtec3d(ctx: Context, maps_root: Path, gt_root: Path) -> Iterator[tuple[str, Rows]]:
    for spec in _pairs_specs(ctx, maps_root, gt_root):
        cat = ctx.load(spec)
        if cat is None:
            continue

        def rows(cat: LoadedCategory = cat) -> Rows:
            labels = _labels(cat.masks)
            a03, a001 = aupro(cat.anomaly_maps, cat.masks, fpr_limit=(0.3, 0.01))
            scores = cat.anomaly_maps.max(axis=(1, 2))
            values = {"image_auroc": auroc(scores, labels), "aupro_0.3": a03, "aupro_0.01": a001}
            return {"": {**_counts(labels), **values}}

        out = ctx.compute(spec.name, rows)
        if out is not None:
            yield spec.name, out


def run_visa(ctx: Context, maps_root: Path, gt_root: Path) -> Iterator[tuple[str, Rows]]:
    csv_path = ctx.options.split_csv or gt_root / "split_csv" / "1cls.csv"
    if ctx.options.split_csv is not None or csv_path.is_file():
        specs, problems = visa_csv_layout(maps_root, gt_root, ctx.options.categories, csv_path)
        ctx.problems(problems)
        ctx.notes["split_csv"] = str(csv_path)
    else:
        specs = _pairs_specs(ctx, maps_root, gt_root)
        ctx.notes["split_csv"] = None
    for spec in specs:
        cat = ctx.load(spec, nonzero_masks=True)
        if cat is None:
            continue

        def rows(cat: LoadedCategory = cat) -> Rows:
            v = evaluate(
                cat.anomaly_maps, cat.masks, metrics=["image_auroc", "pixel_auroc", "aupro"]
            )
            values = {
                "image_auroc": v["image_auroc"],
                "pixel_auroc": v["pixel_auroc"],
                "aupro_0.3": v["aupro"],
            }
            return {"": {**_counts(_labels(cat.masks)), **values}}

        out = ctx.compute(spec.name, rows)
        if out is not None:
            yield spec.name, out


def check_group_pattern(pattern: str) -> str | None:
    """Why `pattern` cannot be a ``--group-pattern`` (None if it can)."""
    try:
        rx = re.compile(pattern)
    except re.error as err:
        return f"--group-pattern {pattern!r} is not a valid regular expression ({err})"
    if rx.groups < 1:
        return f"--group-pattern {pattern!r} needs a group (...) that captures the sample id"
    return None


def run_realiad(ctx: Context, maps_root: Path, gt_root: Path) -> Iterator[tuple[str, Rows]]:
    found = realiad_layout(maps_root, gt_root, ctx.options.categories)
    if found is None:
        specs = _pairs_specs(ctx, maps_root, gt_root)
    else:
        specs, problems = found
        ctx.problems(problems)
    pattern = ctx.options.group_pattern
    for spec in specs:
        cat = ctx.load(spec)
        if cat is None:
            continue
        rel = [k.split("/", 1)[1] if k.startswith(f"{spec.name}/") else k for k in cat.keys]
        ids, unmatched = sample_ids(rel, pattern)
        if unmatched:
            ctx.report.problem(
                Problem(
                    spec.name,
                    f"{len(unmatched)} map(s) do not match --group-pattern {pattern!r} "
                    f"(e.g. '{unmatched[0]}'); its first group must capture the sample id",
                )
            )
            continue

        def rows(cat: LoadedCategory = cat, ids: list[str] = ids) -> Rows:
            maps, masks = cat.anomaly_maps, cat.masks
            labels = _labels(masks)
            wanted = ["image_auroc", "image_aupr", "pixel_auroc", "pixel_aupr", "aupro"]
            v = evaluate(maps, masks, metrics=wanted)
            values = {
                "sample_auroc": auroc(maps.max(axis=(1, 2)), labels, groups=ids),
                "image_auroc": v["image_auroc"],
                "image_ap": v["image_aupr"],
                "pixel_auroc": v["pixel_auroc"],
                "pixel_ap": v["pixel_aupr"],
                "aupro_0.3": v["aupro"],
            }
            return {"": {**_counts(labels), "num_samples": len(set(ids)), **values}}

        out = ctx.compute(spec.name, rows)
        if out is not None:
            yield spec.name, out


# ------------------------------------------------------------------------------------------
# MVTec AD 2


def _binarized(
    ctx: Context, spec: CategorySpec, cat: LoadedCategory, maps_root: Path
) -> NDArray[np.bool_] | None:
    """The binarised PNGs of the loaded images, as bool (0/255 or 0/1 PNGs)."""
    assert ctx.options.binarized is not None
    by_key = {e.key: e for e in spec.entries}
    entries = [by_key[k] for k in cat.keys]
    paths, problems = binarized_paths(
        CategorySpec(spec.name, entries), maps_root, ctx.options.binarized
    )
    ctx.problems(problems)
    if problems:
        return None

    def read(i: int) -> tuple[NDArray[np.bool_] | None, Problem | None]:
        try:
            pred = read_mask(paths[i])
            if ctx.options.resize is not None and pred.shape != cat.masks.shape[1:]:
                pred = _fit(pred, cat.masks.shape[1:], "nearest")
        except ReadError as err:
            return None, Problem(str(paths[i]), str(err))
        if pred.shape != cat.masks.shape[1:]:
            return None, Problem(
                str(paths[i]), f"shape {pred.shape} differs from its mask's {cat.masks.shape[1:]}"
            )
        return pred, None

    workers = max(1, ctx.options.workers or get_num_threads())
    results = list(run_tasks(read, list(range(len(paths))), workers))
    bad = [p for _, p in results if p is not None]
    ctx.problems(bad)
    if bad:
        return None
    return np.stack([r for r, _ in results if r is not None])


def _threshold(
    ctx: Context, name: str, shape: tuple[int, ...], gt_root: Path
) -> tuple[float, str] | None:
    """The SegF1 threshold of category `name` from its validation maps, and how it was chosen."""
    o = ctx.options
    assert o.validation is not None and o.threshold_rule is not None
    spec, problems = validation_layout(o.validation, gt_root, name)
    ctx.problems(problems)
    val = ctx.load(spec, target=shape) if not problems else None
    if val is None:
        return None
    fn, param, default = THRESHOLD_RULES[o.threshold_rule]
    labels = _labels(val.masks)
    if o.threshold_rule == "f1-max":
        choice = fn(val.anomaly_maps, val.masks)
        used = f"{len(labels)} validation maps"
    else:
        if labels.all():
            ctx.report.problem(Problem(str(o.validation / name), "no normal validation map"))
            return None
        value = default if o.threshold_param is None else o.threshold_param
        choice = fn(val.anomaly_maps[~labels], **{str(param): value})
        used = f"{int((~labels).sum())} normal validation maps"
    params = ", ".join(f"{k}={v:.6g}" for k, v in choice.params.items())
    return choice.threshold, f"{choice.rule} ({params}) on {used}"


def run_ad2(ctx: Context, maps_root: Path, gt_root: Path) -> Iterator[tuple[str, Rows]]:
    o = ctx.options
    specs, problems = ad2_layout(maps_root, gt_root, o.categories, o.split)
    ctx.problems(problems)
    for spec in specs:
        cat = ctx.load(spec)
        if cat is None:
            continue
        pred = how = threshold = None
        if o.binarized is not None:
            pred = _binarized(ctx, spec, cat, maps_root)
            if pred is None:
                continue
            how = f"binarised maps of {o.binarized}"
        elif o.threshold_rule is not None:
            chosen = _threshold(ctx, spec.name, cat.masks.shape[1:], gt_root)
            if chosen is None:
                continue
            threshold, how = chosen

        def rows(cat: LoadedCategory = cat, pred: Any = pred, threshold: Any = threshold) -> Rows:
            maps, masks = cat.anomaly_maps, cat.masks
            labels = _labels(masks)
            values = {
                "aupro_0.05": aupro(maps, masks, fpr_limit=0.05),
                "image_auroc": auroc(maps.max(axis=(1, 2)), labels),
            }
            if pred is not None:
                values["seg_f1"] = seg_f1(pred, masks, average=o.segf1_average)
            elif threshold is not None:
                values["seg_f1"] = seg_f1(maps, masks, threshold, average=o.segf1_average)
            return {"": {**_counts(labels), **values}}

        out = ctx.compute(spec.name, rows)
        if out is None:
            continue
        if how is not None:
            out[""]["segf1_threshold"] = threshold
            out[""]["segf1_source"] = how
        yield spec.name, out


# ------------------------------------------------------------------------------------------
# MVTec LOCO AD


def _read_loco_image(
    img: LocoImage, resize: str | None, target: tuple[int, ...] | None
) -> tuple[NDArray[Any] | None, NDArray[np.bool_] | None, list[int], list[Problem]]:
    problems: list[Problem] = []
    stack: list[NDArray[np.bool_]] = []
    ids: list[int] = []
    for p in img.channel_paths:
        try:
            ch, defect_id = read_channel(p)
        except ReadError as err:
            problems.append(Problem(str(p), str(err)))
            continue
        if stack and ch.shape != stack[0].shape:
            problems.append(Problem(str(p), f"shape {ch.shape} differs from {stack[0].shape}"))
            continue
        stack.append(ch)
        ids.append(defect_id)
    try:
        amap = read_map(img.map_path)
        shape = stack[0].shape if stack else target
        if resize is not None and shape is not None:
            amap = _fit(amap, shape, resize)
    except ReadError as err:
        return None, None, ids, [*problems, Problem(str(img.map_path), str(err))]
    if stack and amap.shape != stack[0].shape:
        problems.append(
            Problem(
                str(img.map_path),
                f"shape {amap.shape} differs from its defect channels' {stack[0].shape}"
                + ("" if resize else " (pass --resize-maps nearest|bilinear to upsample maps)"),
            )
        )
    channels = np.stack(stack) if stack else None
    return amap, channels, ids, problems


def _read_defects_config(path: Path) -> tuple[list[dict[str, Any]] | None, Problem | None]:
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        return None, Problem(str(path), f"cannot read defects_config.json ({err})")
    if not isinstance(config, list) or not all(isinstance(e, dict) for e in config):
        return None, Problem(str(path), "defects_config.json must hold a list of defect entries")
    return config, None


def _loco_rows(
    images: list[LocoImage],
    maps: list[NDArray[Any]],
    channels: list[NDArray[np.bool_] | None],
    ids: list[list[int]],
    config: list[dict[str, Any]],
) -> Rows:
    sat = loco_saturation_areas(channels, ids, config)
    out: Rows = {}
    for subset in LOCO_SUBSETS:
        keep = [i for i, im in enumerate(images) if im.subset in ("good", subset)]
        labels = np.array([images[i].subset != "good" for i in keep], bool)
        scores = np.array([float(maps[i].max()) for i in keep])
        limits = auspro(
            [maps[i] for i in keep],
            [channels[i] for i in keep],
            saturation_areas=[sat[i] for i in keep],
            fpr_limit=LOCO_LIMITS,
        )
        row: dict[str, Any] = {**_counts(labels), "image_auroc": auroc(scores, labels)}
        row.update({f"auspro_{t:g}": float(v) for t, v in zip(LOCO_LIMITS, limits)})
        out[subset] = row
    a, b = (out[s] for s in LOCO_SUBSETS)
    labels = np.array([im.subset != "good" for im in images], bool)
    out["mean"] = {
        **_counts(labels),
        **{k: 0.5 * (a[k] + b[k]) for k in a if k not in ("num_images", "num_anomalous")},
    }
    return out


def run_loco(ctx: Context, maps_root: Path, gt_root: Path) -> Iterator[tuple[str, Rows]]:
    o = ctx.options
    cats, problems = loco_layout(maps_root, gt_root, o.categories)
    ctx.problems(problems)
    for cat in cats:
        yield from _run_loco_category(ctx, cat)


def _run_loco_category(ctx: Context, cat: LocoCategory) -> Iterator[tuple[str, Rows]]:
    o = ctx.options
    if not cat.images or not cat.config_path.is_file():
        return
    config, bad = _read_defects_config(cat.config_path)
    if bad is not None:
        ctx.report.problem(bad)
        return
    target = None
    if o.resize is not None:
        first = next((im for im in cat.images if im.channel_paths), None)
        if first is not None:
            try:
                target = read_channel(first.channel_paths[0])[0].shape
            except ReadError:
                target = None
    workers = max(1, o.workers or get_num_threads())
    results = list(
        run_tasks(lambda im: _read_loco_image(im, o.resize, target), cat.images, workers)
    )
    images, maps, channels, ids = [], [], [], []
    for im, (amap, ch, defect_ids, probs) in zip(cat.images, results):
        ctx.problems(probs)
        if amap is None or probs:
            continue
        images.append(im)
        maps.append(amap)
        channels.append(ch)
        ids.append(defect_ids)
    if ctx.blocked() or not images:
        return
    assert config is not None
    out = ctx.compute(cat.name, lambda: _loco_rows(images, maps, channels, ids, config))
    if out is not None:
        yield cat.name, out


# ------------------------------------------------------------------------------------------

_AD2_METRICS = ("aupro_0.05", "image_auroc", "seg_f1")

#: The protocols of ``evaluate --protocol`` (``mvtec-ad`` runs :mod:`.evaluate`).
PROTOCOLS: dict[str, Protocol] = {
    "mvtec-ad": Protocol(
        "mvtec-ad",
        "MAPS/<category>/test/<defect>/<name>.tiff; GT/<category>/ground_truth/<defect>/"
        "<name>_mask.png (or flat folders)",
        (),
    ),
    "mvtec-3d": Protocol(
        "mvtec-3d",
        "as mvtec-ad: MAPS/<category>/test/<defect>/<name>.tiff; "
        "GT/<category>/ground_truth/<defect>/<name>_mask.png",
        ("image_auroc", "aupro_0.3", "aupro_0.01"),
    ),
    "mvtec-loco": Protocol(
        "mvtec-loco",
        "MAPS/<object>/test/<good|logical_anomalies|structural_anomalies>/<id>.tiff; "
        "GT/<object>/ground_truth/<subset>/<id>/NNN.png and GT/<object>/defects_config.json",
        ("image_auroc", *(f"auspro_{t:g}" for t in LOCO_LIMITS)),
        (*LOCO_SUBSETS, "mean"),
    ),
    "mvtec-ad2": Protocol(
        "mvtec-ad2",
        "MAPS/<object>/<split>/<good|bad>/<name>.tiff (float16); "
        "GT/<object>/<split>/ground_truth/bad/<name>_mask.png",
        _AD2_METRICS,
    ),
    "visa": Protocol(
        "visa",
        "GT/split_csv/1cls.csv (test rows; maps MAPS/<image path>.tiff) or the MVTec AD layout",
        ("image_auroc", "pixel_auroc", "aupro_0.3"),
    ),
    "real-iad": Protocol(
        "real-iad",
        "MAPS/<category>/<OK|NG>/.../<name>.tiff; GT/<category>/<same folders>/<name>.png",
        ("sample_auroc", "image_auroc", "image_ap", "pixel_auroc", "pixel_ap", "aupro_0.3"),
    ),
}

RUNNERS: dict[str, Callable[[Context, Path, Path], Iterator[tuple[str, Rows]]]] = {
    "mvtec-3d": run_mvtec3d,
    "mvtec-loco": run_loco,
    "mvtec-ad2": run_ad2,
    "visa": run_visa,
    "real-iad": run_realiad,
}
