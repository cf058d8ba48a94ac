"""MVTec LOCO AD under ``evaluate --protocol mvtec-loco``: defect channels, saturation areas,
AU-sPRO and image AUROC for good + logical, good + structural and their mean.

Each defect channel is one PNG of ``GT/<object>/ground_truth/<subset>/<id>/`` (read in
file-name order, as the official code): its pixels are the non-zero ones, its defect id their
value, whose ``defects_config.json`` entry gives the saturation area
(:func:`anomaly_metrics.loco_saturation_areas`). Channels may overlap and hold several blobs.
The image score is the map maximum; AU-sPRO is exact at the official limits.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .. import auroc, auspro, loco_saturation_areas
from .._parallel import get_num_threads, run_tasks
from .benchmark_layouts import LOCO_SUBSETS, LocoCategory, LocoImage, loco_layout
from .datasets import Problem
from .protocol_context import Context, Rows, counts
from .readers import ReadError, _fit, read_channel, read_map

__all__ = ["LOCO_LIMITS", "run_loco"]

LOCO_LIMITS = (0.01, 0.05, 0.1, 0.3, 1.0)


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
        row: dict[str, Any] = {**counts(labels), "image_auroc": auroc(scores, labels)}
        row.update({f"auspro_{t:g}": float(v) for t, v in zip(LOCO_LIMITS, limits)})
        out[subset] = row
    a, b = (out[s] for s in LOCO_SUBSETS)
    labels = np.array([im.subset != "good" for im in images], bool)
    out["mean"] = {
        **counts(labels),
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
