"""The benchmarks' official tables (``anomaly-metrics evaluate --protocol NAME``).

One function per benchmark reads its folder layout (:mod:`.benchmark_layouts`), loads each
category (:mod:`.readers`) and computes the official metrics with the core functions (MVTec
LOCO AD in :mod:`.protocol_loco`; what the runners share in :mod:`.protocol_context`); the
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

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .. import (
    aupro,
    auroc,
    evaluate,
    seg_f1,
    threshold_f1_max,
    threshold_max_fpr,
    threshold_mean_std,
    threshold_percentile,
)
from .._parallel import get_num_threads, run_tasks
from .benchmark_layouts import (
    LOCO_SUBSETS,
    ad2_layout,
    binarized_paths,
    realiad_layout,
    sample_ids,
    validation_layout,
    visa_csv_layout,
)
from .datasets import CategorySpec, Problem, discover
from .protocol_context import Context, ProtocolOptions, Rows, counts, image_labels
from .protocol_loco import LOCO_LIMITS, run_loco
from .readers import LoadedCategory, ReadError, _fit, read_mask

__all__ = [
    "HEADERS",
    "LOCO_LIMITS",
    "PROTOCOLS",
    "THRESHOLD_RULES",
    "Protocol",
    "ProtocolOptions",
]

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
            labels = image_labels(cat.masks)
            a03, a001 = aupro(cat.anomaly_maps, cat.masks, fpr_limit=(0.3, 0.01))
            scores = cat.anomaly_maps.max(axis=(1, 2))
            values = {"image_auroc": auroc(scores, labels), "aupro_0.3": a03, "aupro_0.01": a001}
            return {"": {**counts(labels), **values}}

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
            return {"": {**counts(image_labels(cat.masks)), **values}}

        out = ctx.compute(spec.name, rows)
        if out is not None:
            yield spec.name, out


def check_group_pattern(pattern: str) -> str | None:
    r"""Why `pattern` cannot be a ``--group-pattern`` (None if it can).

    Examples
    --------
    >>> from anomaly_metrics.cli.protocols import check_group_pattern
    >>> check_group_pattern(r"(S\d+)/") is None
    True
    >>> check_group_pattern("C1")
    "--group-pattern 'C1' needs a group (...) that captures the sample id"
    """
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
            labels = image_labels(masks)
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
            return {"": {**counts(labels), "num_samples": len(set(ids)), **values}}

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
    labels = image_labels(val.masks)
    if o.threshold_rule == "f1-max":
        if labels.all() or not labels.any():
            ctx.report.problem(
                Problem(
                    str(o.validation / name),
                    "--threshold-rule f1-max needs normal and anomalous validation maps "
                    "(bad/ with masks under GT/<object>/validation/ground_truth/bad/)",
                )
            )
            return None
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
            labels = image_labels(masks)
            values = {
                "aupro_0.05": aupro(maps, masks, fpr_limit=0.05),
                "image_auroc": auroc(maps.max(axis=(1, 2)), labels),
            }
            if pred is not None:
                values["seg_f1"] = seg_f1(pred, masks, average=o.segf1_average)
            elif threshold is not None:
                values["seg_f1"] = seg_f1(maps, masks, threshold, average=o.segf1_average)
            return {"": {**counts(labels), **values}}

        out = ctx.compute(spec.name, rows)
        if out is None:
            continue
        if how is not None:
            out[""]["segf1_threshold"] = threshold
            out[""]["segf1_source"] = how
        yield spec.name, out


# ------------------------------------------------------------------------------------------
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
